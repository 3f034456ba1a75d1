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

static void print_items(const diag_item *items, size_t n, const char *kind,
                        FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const diag_item *it = &items[i];
        /* One line each, whatever a file name, key or value held: a
         * newline would forge a line, an escape sequence drive the
         * terminal (found by tests/fuzz/fuzz_config). */
        char *file = it->file ? str_sanitize(it->file) : NULL;
        char *msg = str_sanitize(it->msg);
        if (file && it->line > 0)
            fprintf(out, "%s:%d: %s%s\n", file, it->line, kind, msg);
        else if (file)
            fprintf(out, "%s: %s%s\n", file, kind, msg);
        else
            fprintf(out, "gpcheck: %s%s\n", kind, msg);
        free(file);
        free(msg);
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
