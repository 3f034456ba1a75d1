/*
 * core/schema.h - the one check of a plugin's declared schema: ABI version
 * and descriptor size, plugin name, check(), option keys, types and flags,
 * metric names and units, and the reserved keys of a probe section.
 *
 * Shared code: compiled into the core (used by the loader and the config
 * resolver) and into libgpcheck-testing.a (gp_test_new()), so the SDK
 * harness refuses exactly what gpcheck refuses. It depends on
 * gpcheck/plugin.h and core/util.h only: no loader, runner or config.
 */
#ifndef GP_CORE_SCHEMA_H
#define GP_CORE_SCHEMA_H

#include <stddef.h>

#include "gpcheck/plugin.h"

/* 1 when s matches [a-z][a-z0-9_]*: an option key, a metric name, the
 * NAME of a GP_OPT_FAMILY member. */
int schema_valid_ident(const char *s);

/* The minor that made `name` a metric the core measures (GP_CORE_METRICS),
 * or -1. */
int schema_core_metric_since(const char *name);

/* 1 when s is a bare plugin name: one or more of [a-z0-9_-]. */
int schema_valid_plugin_name(const char *s);

/* sizeof(gp_plugin) at ABI 1.minor: the bytes a descriptor must have. */
size_t schema_desc_size(unsigned minor);

/* The minor that reserved key (>= 0), or -1 when the core does not reserve
 * it. See GP_RESERVED_KEYS in plugin.h. */
int schema_reserved_since(const char *key);

/*
 * Check a descriptor as the loader does, in this order: ABI version,
 * size, name (equal to expect_name unless that is NULL), check(), options,
 * metrics, URL maps (1.3: each scheme once, each part to a declared option
 * of a fitting type). On success returns 0 and sets *n_options and *n_metrics
 * (the entries before the terminators). On failure returns -1 with the reason
 * in err (one line, without a file name).
 */
int schema_check_desc(const gp_plugin *d, const char *expect_name,
                      size_t *n_options, size_t *n_metrics, char *err,
                      size_t errlen);

/* d->urls when the descriptor has it (ABI 1.3 and later), or NULL. */
const gp_url_map *schema_url_maps(const gp_plugin *d);

/* d->validate when the descriptor has one (ABI 1.2 and later), or NULL. */
gp_validate_fn schema_validate_fn(const gp_plugin *d);

/*
 * One item of a GP_OPT_METRICS list: NAME or NAME:UNIT, with white space
 * around either part ignored. On success returns 0, *name (newly
 * allocated) and *unit. Returns -1 with a reason in err otherwise.
 */
int schema_metric_item(const char *item, char **name, gp_unit *unit, char *err,
                       size_t errlen);

#endif
