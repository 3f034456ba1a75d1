/* core/diag.c - the error list behind "FILE:LINE: message" reports. */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

static void add_item(diag_item **items, size_t *n, size_t *cap,
                     const char *file, int line, const char *fmt, va_list ap)
{
    xgrow(items, cap, *n + 1, sizeof **items);
    diag_item *it = &(*items)[(*n)++];
    it->file = file ? xstrdup(file) : NULL;
    it->line = line;
    strbuf sb = {0};
    sb_vappendf(&sb, fmt, ap);
    it->msg = sb_take(&sb);
}

void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_item(&d->items, &d->n, &d->cap, file, line, fmt, ap);
    va_end(ap);
}

void diag_warn(diag *d, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_item(&d->warns, &d->n_warns, &d->cap_warns, file, line, fmt, ap);
    va_end(ap);
}

char *diag_item_text(const diag_item *it)
{
    /* One line each, whatever a file name, key or value held: a
     * newline would forge a line, an escape sequence drive the
     * terminal (found by tests/fuzz/fuzz_config). */
    char *file = it->file ? str_sanitize(it->file) : NULL;
    char *msg = str_sanitize(it->msg);
    char *text = file && it->line > 0
                     ? xasprintf("%s:%d: %s", file, it->line, msg)
                 : file ? xasprintf("%s: %s", file, msg)
                        : xasprintf("gpcheck: %s", msg);
    free(file);
    free(msg);
    return text;
}

const diag_item *diag_nth(const diag *d, size_t k, int *warning)
{
    *warning = k >= d->n;
    if (k < d->n)
        return &d->items[k];
    return k - d->n < d->n_warns ? &d->warns[k - d->n] : NULL;
}

static void print_items(const diag_item *items, size_t n, const char *kind,
                        FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        /* "warning: " goes after the place, before the message: the
         * text ends with the sanitized message */
        char *text = diag_item_text(&items[i]);
        char *msg = str_sanitize(items[i].msg);
        size_t at = strlen(text) - strlen(msg);
        fprintf(out, "%.*s%s%s\n", (int)at, text, kind, text + at);
        free(msg);
        free(text);
    }
}

/*
 * Messages quote keys, values and variables from the files, and file names
 * come from a folder listing: a newline there would forge a "FILE:LINE:"
 * line of its own, an escape sequence would drive the terminal. Printed
 * sanitized; the items keep the real names (config.c compares them).
 */
void diag_print(const diag *d, FILE *out)
{
    print_items(d->warns, d->n_warns, "warning: ", out);
    print_items(d->items, d->n, "", out);
}

static void free_items(diag_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].file);
        free(items[i].msg);
    }
    free(items);
}

void diag_free(diag *d)
{
    free_items(d->items, d->n);
    free_items(d->warns, d->n_warns);
    memset(d, 0, sizeof *d);
}
