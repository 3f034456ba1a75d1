/*
 * core/util.h - small helpers shared by the core: allocation that never
 * returns NULL, the monotonic clock, growable string buffers.
 *
 * Out of memory is not a condition gpcheck tries to survive: the x*()
 * allocators print one line and exit with status 70 (EX_SOFTWARE-like).
 */
#ifndef GP_CORE_UTIL_H
#define GP_CORE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define UTIL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define UTIL_PRINTF(a, b)
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) UTIL_PRINTF(1, 2);

/* Grow *items (of *cap elements of `size` bytes) to hold at least `need`. */
void xgrow(void *items_ptr, size_t *cap, size_t need, size_t size);

/* CLOCK_MONOTONIC in nanoseconds / milliseconds. */
int64_t now_ns(void);
int64_t now_ms(void);
/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t wall_ms(void);

#define NS_PER_MS INT64_C(1000000)

/* A duration for people: "350ms", "1.2s", "45s", "2m05s", "1h02m". */
void fmt_duration(char *buf, size_t n, int64_t ms);

/* A growable NUL-terminated string. Zero-initialise before use. */
typedef struct strbuf {
    char *buf; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} strbuf;

void sb_append(strbuf *sb, const char *s);
void sb_appendn(strbuf *sb, const char *s, size_t n);
void sb_appendf(strbuf *sb, const char *fmt, ...) UTIL_PRINTF(2, 3);
void sb_vappendf(strbuf *sb, const char *fmt, va_list ap);
/* Returns the string (never NULL; "" when empty) and keeps ownership. */
const char *sb_str(strbuf *sb);
/* Hands the string to the caller (never NULL) and resets the buffer. */
char *sb_take(strbuf *sb);
void sb_free(strbuf *sb);

/* The folder part of path: "." when it has none, "/" for "/x"; newly
 * allocated. */
char *path_dir(const char *path);

/* Trim ASCII white space at both ends, in place; returns s. */
char *str_trim(char *s);
/* Free a NULL-terminated or counted array of strings and the array. */
void strv_free(char **v, size_t n);

/* Edit distance (Levenshtein, with a swap of two adjacent characters
 * counting as one edit), capped at `cap` (returns cap when larger). */
size_t str_distance(const char *a, const char *b, size_t cap);

/*
 * A copy of s fit for a one-line message: invalid UTF-8 bytes become '?',
 * control characters (newlines, tabs, ESC) become ' ', so that a plugin's
 * or server's text can neither break JSON nor drive the terminal.
 */
char *str_sanitize(const char *s);
#endif
