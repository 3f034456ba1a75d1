/*
 * core/util.c - allocation, clocks and string buffers for the core.
 *
 * Shared code: compiled into the core and into the SDK's test harness
 * (libgpcheck-testing.a, sdk/CMakeLists.txt). It may use only libc, the
 * public headers and the other shared files (util, value, option, optapi,
 * schema);
 * never the loader, the config reader, the runner or the reports.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
    fputs("gpcheck: out of memory\n", stderr);
    _Exit(70);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    return sb_take(&sb);
}

void xgrow(void *items_ptr, size_t *cap, size_t need, size_t size)
{
    void **items = items_ptr;
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    *items = xrealloc(*items, ncap * size);
    *cap = ncap;
}

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t now_ms(void)
{
    return now_ns() / NS_PER_MS;
}

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

static void sb_reserve(strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 > sb->cap) {
        size_t ncap = sb->cap ? sb->cap : 64;
        while (ncap < sb->len + extra + 1)
            ncap *= 2;
        sb->buf = xrealloc(sb->buf, ncap);
        sb->cap = ncap;
    }
}

void sb_appendn(strbuf *sb, const char *s, size_t n)
{
    sb_reserve(sb, n);
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

int fd_drain_lines(int *fd, strbuf *in, const line_sink *sink)
{
    char buf[65536];
    while (*fd >= 0) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            close(*fd);
            *fd = -1;
            return 1;
        }
        if (sink->chunk && sink->chunk(sink->arg, (size_t)n))
            continue; /* condemned: just empty the pipe */
        sb_appendn(in, buf, (size_t)n);
        char *start = in->buf, *nl;
        while (
            (nl = memchr(start, '\n', in->len - (size_t)(start - in->buf)))) {
            int stop = sink->line(sink->arg, start, (size_t)(nl - start));
            start = nl + 1;
            if (stop)
                break;
        }
        size_t rest = in->len - (size_t)(start - in->buf);
        memmove(in->buf, start, rest);
        in->len = rest;
        in->buf[rest] = '\0';
        if (sink->rest)
            sink->rest(sink->arg, in);
    }
    return 1;
}

void sb_append(strbuf *sb, const char *s)
{
    sb_appendn(sb, s, strlen(s));
}

void sb_vappendf(strbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    sb_reserve(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sb_appendf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(sb, fmt, ap);
    va_end(ap);
}

const char *sb_str(strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

char *sb_take(strbuf *sb)
{
    char *s = sb->buf ? sb->buf : xstrdup("");
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return s;
}

void sb_free(strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

char *str_trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
    return s;
}

void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

size_t str_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap;
    /* Optimal string alignment: Levenshtein plus the swap of two adjacent
     * characters as one edit, so "hots" is one edit from "host". Rows i-2,
     * i-1 and i of the table. */
    size_t rows[3][65];
    size_t *two = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && two[j - 2] + 1 < best)
                best = two[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = two;
        two = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] < cap ? prev[lb] : cap;
}

/* Length of the valid UTF-8 sequence at s, or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2, min = 0x80, cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, min = 0x800, cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

char *str_sanitize(const char *s)
{
    strbuf sb = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            sb_append(&sb, "?");
            p++;
        } else if (n == 1 && (*p < 0x20 || *p == 0x7F)) {
            sb_append(&sb, " ");
            p++;
        } else {
            sb_appendn(&sb, (const char *)p, n);
            p += n;
        }
    }
    return sb_take(&sb);
}

void fmt_duration(char *buf, size_t n, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        snprintf(buf, n, "%" PRId64 "ms", ms);
    else if (ms < 10000 && ms % 1000)
        snprintf(buf, n, "%.1fs", (double)ms / 1000.0);
    else if (ms < 60000)
        snprintf(buf, n, "%" PRId64 "s", ms / 1000);
    else if (ms < 3600000)
        snprintf(buf, n, "%" PRId64 "m%02" PRId64 "s", ms / 60000,
                 (ms / 1000) % 60);
    else
        snprintf(buf, n, "%" PRId64 "h%02" PRId64 "m", ms / 3600000,
                 (ms / 60000) % 60);
}

char *path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

/* FNV-1a: short names, no adversary worth a keyed hash (the names come
 * from the user's own files), and cheap. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

size_t strindex_find(const strindex *ix, const char *name,
                     strindex_name_fn name_at, const void *owner)
{
    if (!ix->cap)
        return SIZE_MAX;
    uint32_t h = name_hash(name);
    for (size_t i = h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        uint64_t v = ix->slot[i];
        if (!v)
            return SIZE_MAX;
        size_t pos = (size_t)(uint32_t)v - 1;
        if ((uint32_t)(v >> 32) == h && strcmp(name_at(owner, pos), name) == 0)
            return pos;
    }
}

static void slot_put(uint64_t *slot, size_t cap, uint64_t v)
{
    size_t i = (size_t)(v >> 32) & (cap - 1);
    while (slot[i])
        i = (i + 1) & (cap - 1);
    slot[i] = v;
}

void strindex_put(strindex *ix, const char *name, size_t pos)
{
    if (pos >= UINT32_MAX)
        abort(); /* positions are array indexes of a config: never near */
    if ((ix->n + 1) * 2 > ix->cap) { /* at most half full */
        size_t cap = ix->cap ? ix->cap * 2 : 16;
        uint64_t *slot = xcalloc(cap, sizeof *slot);
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slot[i])
                slot_put(slot, cap, ix->slot[i]);
        free(ix->slot);
        ix->slot = slot;
        ix->cap = cap;
    }
    slot_put(ix->slot, ix->cap, (uint64_t)name_hash(name) << 32 | (pos + 1));
    ix->n++;
}

void strindex_free(strindex *ix)
{
    free(ix->slot);
    *ix = (strindex){0};
}

void strindex_clear(strindex *ix)
{
    if (ix->n)
        memset(ix->slot, 0, ix->cap * sizeof *ix->slot);
    ix->n = 0;
}

/* ------------------------------------------------------------------------ */
/* arena                                                                     */

/* What the arena asks malloc for at a time; larger requests get a block of
 * their own. Big enough that a 10,000-probe config takes ~30 blocks. */
#define ARENA_BLOCK (64 * 1024)
#define ARENA_ALIGN _Alignof(max_align_t)

struct arena_block {
    arena_block *next; /* owned; the block filled before this one */
    size_t used, cap;  /* bytes of data[] */
    _Alignas(max_align_t) unsigned char data[];
};

static arena_block *arena_block_new(size_t cap, arena_block *next)
{
    arena_block *b = xmalloc(sizeof *b + cap);
    b->next = next;
    b->used = 0;
    b->cap = cap;
    return b;
}

void *arena_alloc(arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < n)
        oom();
    arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        if (need > ARENA_BLOCK / 4) {
            /* A block of its own, behind the current one, so that the
             * current one's free room is not given up for it. */
            arena_block *big = arena_block_new(need, b ? b->next : NULL);
            if (b)
                b->next = big;
            else
                a->head = big;
            big->used = need;
            return big->data;
        }
        b = a->head = arena_block_new(ARENA_BLOCK, b);
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

void arena_free(arena *a)
{
    while (a->head) {
        arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}
