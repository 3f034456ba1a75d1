/*
 * core/option.h - parsing one option value as its plugin's schema declares
 * it: type, range, choices. Shared by config resolution and the SDK's
 * in-process test harness, so a probe's unit tests accept exactly what
 * gpcheck accepts.
 */
#ifndef GP_CORE_OPTION_H
#define GP_CORE_OPTION_H

#include <stddef.h>

#include "probe.h"

/*
 * Parse text as decl says into ov (i, pct, items/n_items; text is not
 * copied). Returns 0, or -1 with a reason in err that never shows a
 * secret's value. Items are newly allocated (strv_free).
 */
int option_parse(const gp_option *decl, const char *text, opt_value *ov,
                 char *err, size_t errlen);

#endif
