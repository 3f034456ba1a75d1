/*
 * plugins/exec/metrics.c - the exec probe's perfdata turned into metrics:
 * the fixed slots per unit class of ABI 1.0 (deprecated; filled in output
 * order or as the `perfdata` option maps labels to them) and the metrics
 * the `metrics` option names (ABI 1.2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

/* Each perfdata unit class (perfdata.h) owns EXEC_SLOTS consecutive
 * metrics. */

/* The EXEC_SLOTS (4) metrics of one class: base, base2, base3, base4. */
/* clang-format off */
#define SLOT_METRICS(base, u, what)                                            \
    {.name = base, .unit = u, .help = "1st perfdata item " what},              \
    {.name = base "2", .unit = u, .help = "2nd perfdata item " what},          \
    {.name = base "3", .unit = u, .help = "3rd perfdata item " what},          \
    {.name = base "4", .unit = u, .help = "4th perfdata item " what}
/* clang-format on */

/* Index 0 is run_time; slot k of class c is 1 + c * EXEC_SLOTS + k. The
 * order here must follow enum perf_class. */
const gp_metric exec_metrics[] = {
    {.name = "run_time",
     .unit = GP_UNIT_MS,
     .help = "how long the command ran, from fork to exit"},
    SLOT_METRICS("time", GP_UNIT_MS, "in s, ms, us or ns (as ms)"),
    SLOT_METRICS("percent", GP_UNIT_PERCENT, "in %"),
    SLOT_METRICS("bytes", GP_UNIT_BYTES,
                 "in B, KB, MB, GB, TB (x1000) or KiB..TiB (x1024)"),
    SLOT_METRICS("count", GP_UNIT_COUNT, "in c (a counter)"),
    SLOT_METRICS("value", GP_UNIT_NONE, "without a unit (or an unknown one)"),
    {.name = NULL},
};

_Static_assert(sizeof exec_metrics / sizeof exec_metrics[0] ==
                   EXEC_N_METRICS + 1,
               "SLOT_METRICS must declare EXEC_SLOTS metrics per class");

static const char *const class_unit_name[PC_N] = {
    "a time", "a percentage", "a byte size", "a counter", "a plain number"};

/* The metric index of a slot name ("time", "bytes2", ...), or -1. */
static int slot_index(const char *name)
{
    for (int i = 1; i < EXEC_N_METRICS; i++)
        if (strcmp(exec_metrics[i].name, name) == 0)
            return i;
    return -1;
}

static enum perf_class slot_class(int slot)
{
    return (enum perf_class)((slot - 1) / EXEC_SLOTS);
}

/*
 * `perfdata` items: LABEL:METRIC or LABEL. The METRIC after the last ':'
 * must be a slot name (a label with a ':' of its own needs an explicit
 * metric). Fills j->maps; returns -1 with a reason in why. validate()
 * reports the same reasons at config time.
 */
int exec_parse_maps(const char *const *items, size_t n, job *j, char *why,
                    size_t cap)
{
    const char *bad = NULL;

    j->maps = calloc(n + 1, sizeof(perf_map));
    if (!j->maps) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char *label = exec_decode_item(items[i], &bad);
        char *colon;
        int slot = -1;

        if (!label) {
            snprintf(why, cap, "item %zu: %s", i + 1, bad);
            return -1;
        }
        j->maps[j->n_maps++].label = label;
        colon = strrchr(label, ':');
        if (colon) {
            *colon = '\0';
            slot = slot_index(colon + 1);
            if (slot < 0) {
                snprintf(why, cap,
                         "'%s' is not a metric of exec (time, time2 .. "
                         "time%d, percent.., bytes.., count.., value..)",
                         colon + 1, EXEC_SLOTS);
                return -1;
            }
        }
        if (!*label) {
            snprintf(why, cap, "item %zu: empty label", i + 1);
            return -1;
        }
        j->maps[j->n_maps - 1].slot = slot;
        for (size_t k = 0; k + 1 < j->n_maps; k++) {
            if (strcmp(j->maps[k].label, label) == 0) {
                snprintf(why, cap, "label '%s' listed twice", label);
                return -1;
            }
            if (slot >= 0 && j->maps[k].slot == slot) {
                snprintf(why, cap, "metric '%s' fed by two labels",
                         exec_metrics[slot].name);
                return -1;
            }
        }
    }
    return 0;
}

int exec_build_maps(gp_ctx *ctx, const gp_api *api, job *j)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "perfdata", &items);
    char why[256];

    if (exec_parse_maps(items, n, j, why, sizeof why) < 0) {
        api->message(ctx, "option perfdata: %s", why);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Performance data                                                          */

static int first_free(const char *used, enum perf_class cls)
{
    for (int k = 0; k < EXEC_SLOTS; k++) {
        int slot = 1 + (int)cls * EXEC_SLOTS + k;

        if (!used[slot])
            return slot;
    }
    return -1;
}

static const perf_item *find_label(const perf_output *pl, const char *label)
{
    for (size_t i = 0; i < pl->n; i++)
        if (strcmp(pl->items[i].label, label) == 0)
            return &pl->items[i];
    return NULL;
}

static void report(gp_ctx *ctx, const gp_api *api, const perf_item *it,
                   int slot)
{
    api->metric(ctx, exec_metrics[slot].name, it->value);
    api->log(ctx, GP_LOG_DEBUG, "perfdata: '%s' = %g%s -> %s = %g", it->label,
             it->raw, it->uom, exec_metrics[slot].name, it->value);
}

/* Report it in `slot`, or (slot < 0) in the first free slot of its class;
 * with none free, log at `level` why it is not reported (`hint` says what
 * to do). */
static void take_slot(gp_ctx *ctx, const gp_api *api, char *used,
                      const perf_item *it, int slot, gp_log_level level,
                      const char *hint)
{
    if (slot < 0)
        slot = first_free(used, it->cls);
    if (slot < 0) {
        api->log(ctx, level,
                 "perfdata: '%s' not reported: all %d metrics for %s are "
                 "taken%s",
                 it->label, EXEC_SLOTS, class_unit_name[it->cls], hint);
        return;
    }
    used[slot] = 1;
    report(ctx, api, it, slot);
}

/*
 * Perfdata to metrics. Without a mapping, items fill the free slots of
 * their class in output order (a label seen twice counts once). With one,
 * only the listed labels are reported, in the option's order, so the
 * result does not depend on the order the command prints them in.
 * Returns -1 (with a message) when a mapping contradicts the output.
 */
int exec_map_metrics(gp_ctx *ctx, const gp_api *api, const job *j,
                     const perf_output *pl)
{
    char used[EXEC_N_METRICS] = {0};

    if (j->n_maps == 0) {
        for (size_t i = 0; i < pl->n; i++) {
            const perf_item *it = &pl->items[i];

            if (find_label(pl, it->label) == it)
                take_slot(ctx, api, used, it, -1, GP_LOG_DEBUG,
                          " (map it with the perfdata option)");
        }
        return 0;
    }
    for (size_t m = 0; m < j->n_maps; m++)
        if (j->maps[m].slot >= 0)
            used[j->maps[m].slot] = 1;
    for (size_t m = 0; m < j->n_maps; m++) {
        const perf_item *it = find_label(pl, j->maps[m].label);
        int slot = j->maps[m].slot;

        if (!it) {
            api->log(ctx, GP_LOG_INFO,
                     "perfdata: label '%s' not in the command's output",
                     j->maps[m].label);
            continue;
        }
        if (slot >= 0 && slot_class(slot) != it->cls) {
            api->message(ctx,
                         "perfdata '%s' is %s (unit '%s') but metric '%s' "
                         "takes %s: fix the perfdata option",
                         it->label, class_unit_name[it->cls], it->uom,
                         exec_metrics[slot].name,
                         class_unit_name[slot_class(slot)]);
            return -1;
        }
        take_slot(ctx, api, used, it, slot, GP_LOG_WARNING, "");
    }
    return 0;
}

/* The class a configured metric's unit takes; PC_N: any (unit none). */
static enum perf_class unit_class(const char *unit, int *also_value)
{
    *also_value = 0;
    if (strcmp(unit, "ms") == 0)
        return PC_TIME;
    if (strcmp(unit, "%") == 0)
        return PC_PERCENT;
    if (strcmp(unit, "bytes") == 0)
        return PC_BYTES;
    if (strcmp(unit, "count") == 0) {
        *also_value = 1; /* procs=5 carries no "c", yet counts */
        return PC_COUNT;
    }
    return PC_N;
}

/*
 * The `metrics` option (ABI 1.2 GP_OPT_METRICS): each NAME[:UNIT] the core
 * checked at config time takes the value of the first perfdata item whose
 * label maps to NAME (perf_metric_name). A metric the output lacks is not
 * reported (a threshold on it does not fire); one whose unit contradicts
 * the output is a configuration error, as for `perfdata`.
 */
int exec_named_metrics(gp_ctx *ctx, const gp_api *api, const perf_output *pl)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "metrics", &items);

    for (size_t i = 0; i < n; i++) {
        char nbuf[PERF_MAX_LABEL], ubuf[16] = "none", label[PERF_MAX_LABEL];
        const char *colon = strchr(items[i], ':');
        const perf_item *it = NULL;
        int also_value;

        /* NAME[:UNIT], already checked by the core (GP_OPT_METRICS) */
        snprintf(nbuf, sizeof nbuf, "%.*s",
                 (int)(colon ? (size_t)(colon - items[i]) : strlen(items[i])),
                 items[i]);
        if (colon)
            snprintf(ubuf, sizeof ubuf, "%s", colon + 1);
        const char *name = perf_trim(nbuf), *unit = perf_trim(ubuf);
        for (size_t k = 0; k < pl->n && !it; k++) {
            perf_metric_name(pl->items[k].label, label, sizeof label);
            if (strcmp(label, name) == 0)
                it = &pl->items[k];
        }
        if (!it) {
            api->log(ctx, GP_LOG_INFO,
                     "metrics: no perfdata label for '%s' in the command's "
                     "output",
                     name);
            continue;
        }
        enum perf_class want = unit_class(unit, &also_value);
        if (want != PC_N && it->cls != want &&
            !(also_value && it->cls == PC_VALUE)) {
            api->message(ctx,
                         "perfdata '%s' is %s (unit '%s') but metric '%s' is "
                         "declared %s: fix the metrics option",
                         it->label, class_unit_name[it->cls], it->uom, name,
                         unit);
            return -1;
        }
        api->metric(ctx, name, it->value);
        api->log(ctx, GP_LOG_DEBUG, "perfdata: '%s' = %g%s -> %s = %g",
                 it->label, it->raw, it->uom, name, it->value);
    }
    return 0;
}
