/*
 * core/validate.h - runs the plugins' validate() hooks (ABI 1.2) over
 * resolved probes, isolated as attempts are: a forked child per plugin,
 * in its own process group, that validates all of that plugin's probes in
 * turn (core/child.c, child_validate) and streams the results back over a
 * pipe as JSON lines, under one deadline; killed, with everything it
 * started, when the deadline passes. So validating 5,000 probes costs one
 * fork per plugin, and a plugin that crashes or hangs there cannot take
 * the supervisor with it.
 */
#ifndef GP_CORE_VALIDATE_H
#define GP_CORE_VALIDATE_H

#include <stdint.h>

#include "diag.h"
#include "probe.h"

/*
 * Validate defs (n of them, not owned; probes of plugins without a
 * validate() are skipped). Every invalid() becomes a diag at the option's
 * FILE:LINE (the probe section's when the value is a default); a crash,
 * a timeout after timeout_ms, garbage on the pipe or an API misuse
 * becomes a diag naming the plugin and the probe. Secrets the plugin
 * declares are added to each probe's secrets. Returns the number of diags
 * added.
 */
size_t validate_probes(probe_def *const *defs, size_t n, int64_t timeout_ms,
                       diag *d);

#endif
