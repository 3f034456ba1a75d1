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

void diag_print(const diag *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++) {
        const diag_item *it = &d->items[i];
        if (it->file && it->line > 0)
            fprintf(out, "%s:%d: %s\n", it->file, it->line, it->msg);
        else if (it->file)
            fprintf(out, "%s: %s\n", it->file, it->msg);
        else
            fprintf(out, "gpcheck: %s\n", it->msg);
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
