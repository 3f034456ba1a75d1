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

/* What fd_drain_lines() asks of its caller; arg is handed to each hook. */
typedef struct line_sink {
    /* n bytes were just read; nonzero drops them unkept (the stream is
     * condemned: it is only emptied from now on). NULL: keep every byte. */
    int (*chunk)(void *arg, size_t n);
    /* One complete line, without its '\n' and not NUL-terminated; it points
     * into the buffer and is valid until the hook returns. Nonzero stops the
     * splitting (the stream is condemned): the rest stays in the buffer. */
    int (*line)(void *arg, const char *line, size_t len);
    /* After each read's lines are handed on: in holds the partial line.
     * NULL: nothing to check. */
    void (*rest)(void *arg, const strbuf *in);
    void *arg; /* not owned */
} line_sink;

/* Reads the non-blocking *fd until it would block (returns 0) or reaches
 * EOF or an error (closes it, sets *fd to -1, returns 1), keeping the
 * partial line in in (the caller's; it stays owned by the caller). */
int fd_drain_lines(int *fd, strbuf *in, const line_sink *sink);

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

/*
 * A hash index over names that live in the caller's array: it maps a name
 * to its position there, so that lookups by name stay O(1) however many
 * sections, probes or keys a configuration has. It stores only hashes and
 * positions; name_at(owner, pos) gives the name back for comparison, so
 * the owner may move its array (realloc) as long as positions hold.
 */
typedef struct strindex {
    uint64_t *slot; /* owned; 0 empty, else hash << 32 | (pos + 1) */
    size_t cap;     /* a power of two, or 0 */
    size_t n;
} strindex;
typedef const char *(*strindex_name_fn)(const void *owner, size_t pos);

/* The position of name, or SIZE_MAX when it is not in the index. */
size_t strindex_find(const strindex *ix, const char *name,
                     strindex_name_fn name_at, const void *owner);
/* Add name at pos (the caller has checked that it is not there yet). */
void strindex_put(strindex *ix, const char *name, size_t pos);
/* Forget every name; the index can be filled again. */
void strindex_free(strindex *ix);
/* Forget every name but keep the slots: for an index emptied and filled
 * again many times (a section's keys), without an allocation each time. */
void strindex_clear(strindex *ix);

/*
 * A bump allocator for many small strings that die together (the names,
 * keys and values of a configuration's sections): one malloc per 64 KiB
 * instead of one per string, no per-string header, and one free for all.
 * What it hands out lives until arena_free(); nothing is freed alone.
 */
typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head; /* owned; the block being filled, then older ones */
} arena;

/* n bytes aligned for any type (n may be 0); never NULL (exits on OOM). */
void *arena_alloc(arena *a, size_t n);
/* Copies of s (NUL-terminated), of its first n bytes + NUL. */
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
/* Free every block; the arena can be used again. */
void arena_free(arena *a);
#endif
