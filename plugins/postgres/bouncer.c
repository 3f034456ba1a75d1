/*
 * plugins/postgres/bouncer.c - see bouncer.h: PgBouncer's admin console
 * rows to one pool's numbers, and what a failure through the pooler means.
 */
#include "bouncer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pg_bouncer_col(const pg_bouncer_row *row, const char *name)
{
    for (int i = 0; i < row->n; i++)
        if (strcmp(row->names[i], name) == 0)
            return row->values[i];
    return NULL;
}

/* A whole number >= 0 from column name; -1 when missing or not one. */
static long long count(const pg_bouncer_row *row, const char *name)
{
    const char *s = pg_bouncer_col(row, name);
    char *end;
    long long v;

    if (!s)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    return v;
}

int pg_bouncer_pools_row(const pg_bouncer_row *row, pg_bouncer_pool *bp)
{
    long long *const fields[] = {
        &bp->cl_active, &bp->cl_waiting, &bp->sv_active, &bp->sv_idle,
        &bp->sv_used,   &bp->sv_tested,  &bp->sv_login};
    static const char *const names[] = {"cl_active", "cl_waiting", "sv_active",
                                        "sv_idle",   "sv_used",    "sv_tested",
                                        "sv_login"};
    long long wait_s = count(row, "maxwait");
    long long wait_us = count(row, "maxwait_us"); /* 1.8 and later */

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *fields[i] = count(row, names[i]);
        if (*fields[i] < 0)
            return -1;
    }
    if (wait_s < 0)
        return -1;
    bp->maxwait_ms =
        (double)wait_s * 1000.0 + (wait_us > 0 ? (double)wait_us / 1000.0 : 0);
    bp->found = 1;
    return 0;
}

int pg_bouncer_databases_row(const pg_bouncer_row *row, pg_bouncer_pool *bp)
{
    long long size = count(row, "pool_size");

    if (size < 0)
        return -1;
    bp->pool_size = size;
    return 0;
}

void pg_bouncer_stats_row(const pg_bouncer_row *row, pg_bouncer_pool *bp)
{
    long long us = count(row, "avg_wait_time");

    if (us < 0)
        return;
    bp->has_avg_wait = 1;
    bp->avg_wait_ms = (double)us / 1000.0;
}

long long pg_bouncer_servers(const pg_bouncer_pool *bp)
{
    return bp->sv_active + bp->sv_idle + bp->sv_used + bp->sv_tested +
           bp->sv_login;
}

void pg_bouncer_summary(const pg_bouncer_pool *bp, const char *pool, char *out,
                        size_t cap)
{
    char size[32] = "?";

    if (bp->pool_size > 0)
        snprintf(size, sizeof size, "%lld", bp->pool_size);
    snprintf(out, cap,
             "PgBouncer pool %s: %lld clients active, %lld waiting (maxwait "
             "%.1f s), %lld of %s server connections busy, %lld idle",
             pool, bp->cl_active, bp->cl_waiting, bp->maxwait_ms / 1000.0,
             bp->sv_active, size, bp->sv_idle + bp->sv_used + bp->sv_tested);
}

void pg_bouncer_explain(const pg_bouncer_pool *bp, const char *pool, char *out,
                        size_t cap)
{
    char nums[300];

    pg_bouncer_summary(bp, pool, nums, sizeof nums);
    if (bp->sv_active + bp->sv_idle + bp->sv_used + bp->sv_tested == 0)
        snprintf(out, cap,
                 "PgBouncer answers but holds no server connection for pool "
                 "%s (%lld logging in, %lld clients waiting): the database "
                 "behind it is down or refuses PgBouncer's login",
                 pool, bp->sv_login, bp->cl_waiting);
    else if (bp->pool_size > 0 && bp->sv_active >= bp->pool_size &&
             bp->cl_waiting > 0)
        snprintf(out, cap, "the pool is saturated: %s", nums);
    else
        snprintf(out, cap, "%s", nums);
}
