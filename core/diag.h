/*
 * core/diag.h - collecting configuration and usage errors.
 *
 * Loading and validating a configuration reports every problem it finds,
 * not just the first, as "FILE:LINE: message"; the caller prints them all
 * and exits with status 2 without probing anything.
 */
#ifndef GP_CORE_DIAG_H
#define GP_CORE_DIAG_H

#include <stdio.h>

#include "util.h"

typedef struct diag_item {
    char *file; /* owned; NULL when the problem has no file (an option) */
    int line;   /* 0 when unknown */
    char *msg;  /* owned */
} diag_item;

typedef struct diag {
    diag_item *items; /* errors: any one means exit 2 */
    size_t n, cap;
    diag_item *warns; /* warnings: printed, never fatal */
    size_t n_warns, cap_warns;
} diag;

/* Record one error. `file` may be NULL; `line` 0 for "the whole file". */
void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
    UTIL_PRINTF(4, 5);
/* Record one warning, the same way: something that works but probably
 * not as the user meant (it does not count in d->n). */
void diag_warn(diag *d, const char *file, int line, const char *fmt, ...)
    UTIL_PRINTF(4, 5);
/* Print every warning, then every error, one per line: "FILE:LINE: msg",
 * "FILE: msg" or "gpcheck: msg" (warnings with "warning: " before msg). */
void diag_print(const diag *d, FILE *out);
/* One item as diag_print() prints it, without "warning: " and the
 * newline, sanitized to one line: "FILE:LINE: msg", "FILE: msg" or
 * "gpcheck: msg". Newly allocated. */
char *diag_item_text(const diag_item *it);
/* The k-th of every error then every warning (what the reports list),
 * with *warning set; NULL past the end. */
const diag_item *diag_nth(const diag *d, size_t k, int *warning);
void diag_free(diag *d);

#endif
