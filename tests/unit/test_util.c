/* tests/unit/test_util.c - core/util.c's fd_drain_lines(), the result-pipe
 * reader the runner and the validator share, on a real non-blocking pipe. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "util.h"

/* What the hooks saw, and when they condemn the stream. */
typedef struct seen {
    strbuf lines;        /* owned; each line followed by '|' */
    size_t bytes;        /* what chunk() was told */
    size_t rests;        /* how often rest() ran */
    size_t last_rest;    /* the partial line's length at the last rest() */
    const char *stop_at; /* not owned; line() condemns after this line */
    int condemned;
} seen;

static int on_chunk(void *arg, size_t n)
{
    seen *w = arg;
    w->bytes += n;
    return w->condemned;
}

static int on_line(void *arg, const char *line, size_t len)
{
    seen *w = arg;
    sb_appendn(&w->lines, line, len);
    sb_append(&w->lines, "|");
    if (w->stop_at && strlen(w->stop_at) == len &&
        memcmp(w->stop_at, line, len) == 0)
        w->condemned = 1;
    return w->condemned;
}

static void on_rest(void *arg, const strbuf *in)
{
    seen *w = arg;
    w->rests++;
    w->last_rest = in->len;
}

static void put(int fd, const char *s)
{
    ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

START_TEST(lines_across_reads_and_eof)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    seen w = {0};
    strbuf in = {0};
    line_sink ls = {on_chunk, on_line, on_rest, &w};

    put(p[1], "ab\ncd");
    ck_assert_int_eq(fd_drain_lines(&p[0], &in, &ls), 0); /* would block */
    ck_assert_int_ge(p[0], 0);
    ck_assert_str_eq(sb_str(&w.lines), "ab|");
    ck_assert_str_eq(sb_str(&in), "cd");
    ck_assert_uint_eq(w.last_rest, 2);

    put(p[1], "e\n\nf");
    close(p[1]);
    ck_assert_int_eq(fd_drain_lines(&p[0], &in, &ls), 1); /* EOF */
    ck_assert_int_eq(p[0], -1);
    ck_assert_str_eq(sb_str(&w.lines), "ab|cde||");
    ck_assert_str_eq(sb_str(&in), "f"); /* the caller's: kept, not a line */
    ck_assert_uint_eq(w.bytes, 9);
    ck_assert_uint_eq(w.rests, 2);
    ck_assert_int_eq(fd_drain_lines(&p[0], &in, &ls), 1); /* closed stays */
    sb_free(&in);
    sb_free(&w.lines);
}
END_TEST

START_TEST(condemned_stops_lines_and_drops_bytes)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    seen w = {.stop_at = "b"};
    strbuf in = {0};
    line_sink ls = {on_chunk, on_line, NULL, &w};

    put(p[1], "a\nb\nc\nd");
    ck_assert_int_eq(fd_drain_lines(&p[0], &in, &ls), 0);
    ck_assert_str_eq(sb_str(&w.lines), "a|b|");
    ck_assert_str_eq(sb_str(&in), "c\nd"); /* not split once condemned */

    /* From now on the pipe is only emptied: read, counted, not kept. */
    put(p[1], "e\nf\n");
    close(p[1]);
    ck_assert_int_eq(fd_drain_lines(&p[0], &in, &ls), 1);
    ck_assert_str_eq(sb_str(&w.lines), "a|b|");
    ck_assert_str_eq(sb_str(&in), "c\nd");
    ck_assert_uint_eq(w.bytes, 11);
    sb_free(&in);
    sb_free(&w.lines);
}
END_TEST

START_TEST(null_chunk_keeps_every_byte)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    seen w = {0};
    strbuf in = {0};
    line_sink ls = {NULL, on_line, NULL, &w};

    /* More than one read's worth (64 KiB) in one line, then its end. */
    char big[100000];
    memset(big, 'x', sizeof big);
    size_t off = 0;
    int rounds = 0;
    while (off < sizeof big && rounds++ < 1000) {
        ssize_t n = write(p[1], big + off, sizeof big - off);
        if (n > 0)
            off += (size_t)n;
        ck_assert_int_eq(fd_drain_lines(&p[0], &in, &ls), 0);
    }
    ck_assert_uint_eq(off, sizeof big);
    ck_assert_uint_eq(in.len, sizeof big);
    ck_assert_uint_eq(w.lines.len, 0);
    put(p[1], "\n");
    close(p[1]);
    ck_assert_int_eq(fd_drain_lines(&p[0], &in, &ls), 1);
    ck_assert_uint_eq(w.lines.len, sizeof big + 1);
    ck_assert_uint_eq(in.len, 0);
    sb_free(&in);
    sb_free(&w.lines);
}
END_TEST

/* The names live in the caller's array, which moves as it grows. */
typedef struct names {
    char **v;
    size_t n, cap;
} names;

static const char *name_at(const void *owner, size_t pos)
{
    return ((const names *)owner)->v[pos];
}

START_TEST(strindex_finds_every_name_and_no_other)
{
    names nm = {0};
    strindex ix = {0};
    enum { N = 3000 };
    for (size_t i = 0; i < N; i++) {
        xgrow(&nm.v, &nm.cap, nm.n + 1, sizeof *nm.v);
        nm.v[nm.n] = xasprintf("probe-%zu", i);
        ck_assert_uint_eq(strindex_find(&ix, nm.v[nm.n], name_at, &nm),
                          SIZE_MAX);
        strindex_put(&ix, nm.v[nm.n], nm.n);
        nm.n++;
    }
    ck_assert_uint_eq(ix.n, N);
    ck_assert_uint_le(ix.n * 2, ix.cap); /* never more than half full */
    for (size_t i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "probe-%zu", i);
        ck_assert_uint_eq(strindex_find(&ix, key, name_at, &nm), i);
    }
    ck_assert_uint_eq(strindex_find(&ix, "probe-", name_at, &nm), SIZE_MAX);
    ck_assert_uint_eq(strindex_find(&ix, "probe-3000", name_at, &nm), SIZE_MAX);
    ck_assert_uint_eq(strindex_find(&ix, "", name_at, &nm), SIZE_MAX);

    strindex_free(&ix);
    ck_assert_uint_eq(strindex_find(&ix, "probe-1", name_at, &nm), SIZE_MAX);
    strindex_put(&ix, nm.v[7], 7); /* usable again after free */
    ck_assert_uint_eq(strindex_find(&ix, "probe-7", name_at, &nm), 7);
    strindex_free(&ix);
    strv_free(nm.v, nm.n);
}
END_TEST

/* The arena against the simple version (a malloc per string): every copy
 * keeps its bytes however many blocks follow it, small and large strings
 * mixed, and every pointer is aligned for any type. */
START_TEST(arena_copies_match_strdup)
{
    arena a = {0};
    enum { N = 20000 };
    char **mine = xcalloc(N, sizeof *mine);
    char **simple = xcalloc(N, sizeof *simple);
    unsigned seed = 7;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        /* mostly short, sometimes past a quarter block (its own block) */
        size_t len = i % 997 == 0 ? 20000 + seed % 50000 : seed % 80;
        char *s = xmalloc(len + 1);
        for (size_t k = 0; k < len; k++)
            s[k] = (char)('a' + (seed + k * 31) % 26);
        s[len] = '\0';
        simple[i] = s;
        mine[i] = i % 2 ? arena_strdup(&a, s) : arena_strndup(&a, s, len);
        ck_assert_uint_eq((uintptr_t)mine[i] % _Alignof(max_align_t), 0);
    }
    for (size_t i = 0; i < N; i++)
        ck_assert_str_eq(mine[i], simple[i]);
    char *cut = arena_strndup(&a, "abcdef", 3);
    ck_assert_str_eq(cut, "abc");
    ck_assert_ptr_nonnull(arena_alloc(&a, 0));
    arena_free(&a);
    ck_assert_ptr_null(a.head);
    ck_assert_str_eq(arena_strdup(&a, "again"), "again"); /* usable again */
    arena_free(&a);
    for (size_t i = 0; i < N; i++)
        free(simple[i]);
    free(simple);
    free(mine);
}
END_TEST

/* strindex_clear forgets every name and the index fills again as before. */
START_TEST(strindex_clear_forgets_and_refills)
{
    names nm = {0};
    strindex ix = {0};
    for (size_t i = 0; i < 40; i++) {
        xgrow(&nm.v, &nm.cap, nm.n + 1, sizeof *nm.v);
        nm.v[nm.n] = xasprintf("key-%zu", i);
        strindex_put(&ix, nm.v[nm.n], nm.n);
        nm.n++;
    }
    size_t cap = ix.cap;
    strindex_clear(&ix);
    ck_assert_uint_eq(ix.n, 0);
    ck_assert_uint_eq(ix.cap, cap); /* the slots are kept */
    for (size_t i = 0; i < 40; i++)
        ck_assert_uint_eq(strindex_find(&ix, nm.v[i], name_at, &nm), SIZE_MAX);
    strindex_put(&ix, nm.v[3], 3);
    ck_assert_uint_eq(strindex_find(&ix, "key-3", name_at, &nm), 3);
    ck_assert_uint_eq(strindex_find(&ix, "key-4", name_at, &nm), SIZE_MAX);
    strindex_free(&ix);
    strindex_clear(&ix); /* an empty index, never filled */
    strv_free(nm.v, nm.n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("fd_drain_lines");
    tcase_add_test(tc, lines_across_reads_and_eof);
    tcase_add_test(tc, condemned_stops_lines_and_drops_bytes);
    tcase_add_test(tc, null_chunk_keeps_every_byte);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("strindex");
    tcase_add_test(ti, strindex_finds_every_name_and_no_other);
    tcase_add_test(ti, strindex_clear_forgets_and_refills);
    suite_add_tcase(s, ti);
    TCase *ta = tcase_create("arena");
    tcase_add_test(ta, arena_copies_match_strdup);
    suite_add_tcase(s, ta);
    return unit_run(s);
}
