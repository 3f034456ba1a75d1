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
    diag_item *items;
    size_t n, cap;
} diag;

/* Record one error. `file` may be NULL; `line` 0 for "the whole file". */
void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
    UTIL_PRINTF(4, 5);
/* Print every error, one per line: "FILE:LINE: msg", "FILE: msg" or
 * "gpcheck: msg". */
void diag_print(const diag *d, FILE *out);
void diag_free(diag *d);

#endif
