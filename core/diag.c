/* core/diag.c - the error list behind "FILE:LINE: message" reports. */
#include "diag.h"

#include <stdlib.h>

void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
{
    xgrow(&d->items, &d->cap, d->n + 1, sizeof *d->items);
    diag_item *it = &d->items[d->n++];
    it->file = file ? xstrdup(file) : NULL;
    it->line = line;
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    it->msg = sb_take(&sb);
}

/*
 * Messages quote keys, values and variables from the files, and file names
 * come from a folder listing: a newline there would forge a "FILE:LINE:"
 * line of its own, an escape sequence would drive the terminal. Printed
 * sanitized; the items keep the real names (config.c compares them).
 */
void diag_print(const diag *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++) {
        const diag_item *it = &d->items[i];
        char *file = it->file ? str_sanitize(it->file) : NULL;
        char *msg = str_sanitize(it->msg);
        if (file && it->line > 0)
            fprintf(out, "%s:%d: %s\n", file, it->line, msg);
        else if (file)
            fprintf(out, "%s: %s\n", file, msg);
        else
            fprintf(out, "gpcheck: %s\n", msg);
        free(file);
        free(msg);
    }
}

void diag_free(diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
    }
    free(d->items);
    d->items = NULL;
    d->n = d->cap = 0;
}
