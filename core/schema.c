/* core/schema.c - declared-schema checks; see schema.h. Shared code. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The reserved keys of plugin.h as a table, kept in that one place. */
static const struct reserved {
    const char *key;
    int since;
} reserved[] = {
#define SCHEMA_RESERVED(key, minor) {key, minor},
    GP_RESERVED_KEYS(SCHEMA_RESERVED)
#undef SCHEMA_RESERVED
};

/* The metrics the core measures (plugin.h), with the minor of each. */
static const struct reserved core_metrics[] = {
#define SCHEMA_CORE_METRIC(name, unit, minor, help) {name, minor},
    GP_CORE_METRICS(SCHEMA_CORE_METRIC)
#undef SCHEMA_CORE_METRIC
};

int schema_core_metric_since(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_LEN(core_metrics); i++)
        if (strcmp(name, core_metrics[i].key) == 0)
            return core_metrics[i].since;
    return -1;
}

/* 1 when s matches [a-z][a-z0-9_]* (option keys, metric names). */
static int valid_ident(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

int schema_valid_ident(const char *s)
{
    return valid_ident(s);
}

int schema_valid_plugin_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

size_t schema_desc_size(unsigned minor)
{
    if (minor >= 3)
        return offsetof(gp_plugin, urls) + sizeof(const gp_url_map *);
    if (minor >= 2)
        return offsetof(gp_plugin, validate) + sizeof(gp_validate_fn);
    /* 1.0 and 1.1 share a descriptor: 1.1 only added a flag. */
    return offsetof(gp_plugin, check) + sizeof(gp_check_fn);
}

int schema_reserved_since(const char *key)
{
    for (size_t i = 0; key && i < ARRAY_LEN(reserved); i++)
        if (strcmp(key, reserved[i].key) == 0)
            return reserved[i].since;
    return -1;
}

gp_validate_fn schema_validate_fn(const gp_plugin *d)
{
    if (d->abi_minor < 2 || d->size < schema_desc_size(2))
        return NULL;
    return d->validate;
}

const gp_url_map *schema_url_maps(const gp_plugin *d)
{
    if (d->abi_minor < 3 || d->size < schema_desc_size(3))
        return NULL;
    return d->urls;
}

/* The flags an option of this type may carry. */
static unsigned flags_for(gp_type type)
{
    unsigned f = GP_OPT_REQUIRED | GP_OPT_SECRET;
    if (type == GP_TYPE_STRING)
        f |= GP_OPT_FILE | GP_OPT_CONNINFO | GP_OPT_FAMILY;
    if (type == GP_TYPE_LIST)
        f |= GP_OPT_METRICS;
    return f;
}

static const char *flag_name(unsigned bit)
{
    switch (bit) {
    case GP_OPT_FILE: return "GP_OPT_FILE needs a string";
    case GP_OPT_CONNINFO: return "GP_OPT_CONNINFO needs a string";
    case GP_OPT_METRICS: return "GP_OPT_METRICS needs a list";
    case GP_OPT_FAMILY: return "GP_OPT_FAMILY needs a string";
    }
    return "flag not allowed";
}

static int check_option(const gp_plugin *d, const gp_option *o, size_t i,
                        char *err, size_t errlen)
{
    if (!valid_ident(o->key)) {
        snprintf(err, errlen,
                 "option %zu: invalid key '%s' (want [a-z][a-z0-9_]*)", i,
                 o->key);
        return -1;
    }
    int since = schema_reserved_since(o->key);
    if (since >= 0 && since <= (int)d->abi_minor) {
        snprintf(err, errlen,
                 "option '%s' clashes with a key the core reserves (since "
                 "ABI %d.%d)",
                 o->key, GP_ABI_MAJOR, since);
        return -1;
    }
    if (o->type < GP_TYPE_STRING || o->type > GP_TYPE_LIST) {
        snprintf(err, errlen, "option '%s': invalid type %d", o->key,
                 (int)o->type);
        return -1;
    }
    if (o->flags & ~GP_OPT_ALL_FLAGS) {
        snprintf(err, errlen, "option '%s': unknown flags 0x%x", o->key,
                 o->flags & ~GP_OPT_ALL_FLAGS);
        return -1;
    }
    unsigned wrong = o->flags & ~flags_for(o->type);
    if (wrong) {
        snprintf(err, errlen, "option '%s': %s", o->key,
                 flag_name(wrong & (~wrong + 1u)));
        return -1;
    }
    if ((o->flags & GP_OPT_FAMILY) &&
        (o->flags & ~(GP_OPT_FAMILY | GP_OPT_REQUIRED))) {
        snprintf(err, errlen,
                 "option '%s': GP_OPT_FAMILY combines with GP_OPT_REQUIRED "
                 "only",
                 o->key);
        return -1;
    }
    if ((o->flags & GP_OPT_FAMILY) && o->def) {
        snprintf(err, errlen, "option '%s': a GP_OPT_FAMILY has no default",
                 o->key);
        return -1;
    }
    return 0;
}

static int check_options(const gp_plugin *d, size_t *n, char *err,
                         size_t errlen)
{
    const gp_option *o = d->options;
    const char *metrics_key = NULL;
    size_t i = 0;
    for (; o && o[i].key; i++) {
        if (check_option(d, &o[i], i, err, errlen) < 0)
            return -1;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(o[k].key, o[i].key) == 0) {
                snprintf(err, errlen, "option '%s' declared twice", o[i].key);
                return -1;
            }
        }
        if (o[i].flags & GP_OPT_METRICS) {
            if (metrics_key) {
                snprintf(err, errlen,
                         "options '%s' and '%s' both carry GP_OPT_METRICS "
                         "(one may)",
                         metrics_key, o[i].key);
                return -1;
            }
            metrics_key = o[i].key;
        }
    }
    *n = i;
    return 0;
}

static int check_metrics(const gp_plugin *d, size_t *n, char *err,
                         size_t errlen)
{
    const gp_metric *m = d->metrics;
    size_t i = 0;
    for (; m && m[i].name; i++) {
        if (!valid_ident(m[i].name)) {
            snprintf(err, errlen, "metric %zu: invalid name '%s'", i,
                     m[i].name);
            return -1;
        }
        int since = schema_core_metric_since(m[i].name);
        if (since >= 0 && since <= (int)d->abi_minor) {
            snprintf(err, errlen,
                     "metric '%s' clashes with a metric the core measures "
                     "(since ABI %d.%d)",
                     m[i].name, GP_ABI_MAJOR, since);
            return -1;
        }
        if (m[i].unit > GP_UNIT_BYTES) {
            snprintf(err, errlen, "metric '%s': invalid unit %d", m[i].name,
                     (int)m[i].unit);
            return -1;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(m[k].name, m[i].name) == 0) {
                snprintf(err, errlen, "metric '%s' declared twice", m[i].name);
                return -1;
            }
        }
    }
    *n = i;
    return 0;
}

static const gp_option *find_option(const gp_plugin *d, const char *key)
{
    for (const gp_option *o = d->options; o && o->key; o++)
        if (strcmp(o->key, key) == 0)
            return o;
    return NULL;
}

/* One part of a URL map names a declared option of a type that fits. */
static int check_url_part(const gp_plugin *d, const char *scheme,
                          const char *part, const char *key, unsigned types,
                          char *err, size_t errlen)
{
    if (!key)
        return 0;
    const gp_option *o = find_option(d, key);
    if (!o) {
        snprintf(err, errlen, "URL map '%s': %s goes to undeclared option '%s'",
                 scheme, part, key);
        return -1;
    }
    int secret = strcmp(part, "password") == 0;
    if (!(types & (1u << o->type)) || (secret && !(o->flags & GP_OPT_SECRET))) {
        snprintf(err, errlen, "URL map '%s': %s cannot go to option '%s' (%s)",
                 scheme, part, key,
                 secret ? "a password needs a GP_OPT_SECRET string"
                        : "wrong type");
        return -1;
    }
    return 0;
}

/* 1 when s is [a-z][a-z0-9+.-]* up to len bytes (a URL scheme). */
static int valid_scheme(const char *s, size_t len)
{
    if (len == 0 || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '+' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

/* 1 when scheme (len bytes) is one of the '|'-separated list (list_len
 * bytes). */
static int scheme_in(const char *scheme, size_t len, const char *list,
                     size_t list_len)
{
    for (size_t at = 0; at < list_len;) {
        size_t n = strcspn(list + at, "|");
        if (n > list_len - at)
            n = list_len - at;
        if (n == len && strncmp(list + at, scheme, len) == 0)
            return 1;
        at += n + 1;
    }
    return 0;
}

#define T(type) (1u << (type))

static int check_url_map(const gp_plugin *d, size_t i, char *err, size_t errlen)
{
    const gp_url_map *m = &d->urls[i];
    const char *s = m->schemes;
    if (m->flags & ~GP_URL_QUERY_OPTIONS) {
        snprintf(err, errlen, "URL map '%s': unknown flags 0x%x", s,
                 m->flags & ~GP_URL_QUERY_OPTIONS);
        return -1;
    }
    if (!m->url && !m->host) {
        snprintf(err, errlen,
                 "URL map '%s': neither url nor host goes to an option", s);
        return -1;
    }
    for (const char *p = s;; p++) {
        size_t n = strcspn(p, "|");
        if (!valid_scheme(p, n)) {
            snprintf(err, errlen,
                     "URL map %zu: invalid scheme list '%s' (want "
                     "[a-z][a-z0-9+.-]*, '|'-separated)",
                     i, s);
            return -1;
        }
        /* Every scheme before this one: earlier maps', and this map's. */
        int dup = scheme_in(p, n, s, (size_t)(p - s));
        for (size_t k = 0; k < i && !dup; k++)
            dup =
                scheme_in(p, n, d->urls[k].schemes, strlen(d->urls[k].schemes));
        if (dup) {
            snprintf(err, errlen, "URL scheme '%.*s' mapped twice", (int)n, p);
            return -1;
        }
        p += n;
        if (!*p)
            break;
    }
    const unsigned str = T(GP_TYPE_STRING), num = T(GP_TYPE_INTEGER),
                   list = T(GP_TYPE_LIST);
    /* host and port into one option: HOST:PORT, a string or a list item */
    int joined = m->host && m->port && strcmp(m->host, m->port) == 0;
    const struct {
        const char *part, *key;
        unsigned types;
    } parts[] = {
        {"url", m->url, str},
        {"host", m->host, joined ? str | list : str},
        {"port", m->port, joined ? str | list : str | num},
        {"user", m->user, str},
        {"password", m->password, str},
        {"path", m->path, str | num | list},
    };
    for (size_t k = 0; k < ARRAY_LEN(parts); k++)
        if (check_url_part(d, s, parts[k].part, parts[k].key, parts[k].types,
                           err, errlen) < 0)
            return -1;
    return 0;
}

#undef T

static int check_url_maps(const gp_plugin *d, char *err, size_t errlen)
{
    const gp_url_map *m = schema_url_maps(d);
    for (size_t i = 0; m && m[i].schemes; i++)
        if (check_url_map(d, i, err, errlen) < 0)
            return -1;
    return 0;
}

int schema_check_desc(const gp_plugin *d, const char *expect_name,
                      size_t *n_options, size_t *n_metrics, char *err,
                      size_t errlen)
{
    if (!d) {
        snprintf(err, errlen, "%s() returned NULL", GP_PLUGIN_SYMBOL);
        return -1;
    }
    if (d->abi_major != GP_ABI_MAJOR || d->abi_minor > GP_ABI_MINOR) {
        snprintf(err, errlen,
                 "plugin ABI %u.%u is not supported by this gpcheck "
                 "(ABI %d.%d: major must match, minor at most %d)",
                 d->abi_major, d->abi_minor, GP_ABI_MAJOR, GP_ABI_MINOR,
                 GP_ABI_MINOR);
        return -1;
    }
    if (d->size < schema_desc_size(d->abi_minor)) {
        snprintf(err, errlen,
                 "plugin descriptor size %u is smaller than ABI %u.%u's "
                 "%zu bytes",
                 d->size, d->abi_major, d->abi_minor,
                 schema_desc_size(d->abi_minor));
        return -1;
    }
    if (!d->name || (expect_name && strcmp(d->name, expect_name) != 0)) {
        snprintf(err, errlen, "plugin calls itself '%s', expected '%s'",
                 d->name ? d->name : "(null)", expect_name ? expect_name : "");
        return -1;
    }
    if (!schema_valid_plugin_name(d->name)) {
        snprintf(err, errlen, "invalid plugin name '%s'", d->name);
        return -1;
    }
    if (!d->check) {
        snprintf(err, errlen, "no check function");
        return -1;
    }
    size_t no = 0, nm = 0;
    if (check_options(d, &no, err, errlen) < 0 ||
        check_metrics(d, &nm, err, errlen) < 0 ||
        check_url_maps(d, err, errlen) < 0)
        return -1;
    *n_options = no;
    *n_metrics = nm;
    return 0;
}

static gp_unit unit_of(const char *u, int *ok)
{
    static const struct {
        const char *name;
        gp_unit unit;
    } units[] = {{"ms", GP_UNIT_MS},
                 {"%", GP_UNIT_PERCENT},
                 {"count", GP_UNIT_COUNT},
                 {"bytes", GP_UNIT_BYTES},
                 {"none", GP_UNIT_NONE}};
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (strcmp(u, units[i].name) == 0) {
            *ok = 1;
            return units[i].unit;
        }
    }
    *ok = 0;
    return GP_UNIT_NONE;
}

int schema_metric_item(const char *item, char **name, gp_unit *unit, char *err,
                       size_t errlen)
{
    char *copy = xstrdup(item ? item : "");
    char *colon = strchr(copy, ':');
    const char *u = "none";
    int ok;
    if (colon) {
        *colon = '\0';
        u = str_trim(colon + 1);
    }
    const char *n = str_trim(copy);
    if (!valid_ident(n)) {
        snprintf(err, errlen,
                 "invalid metric name '%s' (want [a-z][a-z0-9_]*; a "
                 "perfdata label 'Time Used' becomes time_used)",
                 n);
        free(copy);
        return -1;
    }
    *unit = unit_of(u, &ok);
    if (!ok) {
        snprintf(err, errlen,
                 "metric '%s': unknown unit '%s' (ms, %%, count, bytes or "
                 "none)",
                 n, u);
        free(copy);
        return -1;
    }
    *name = xstrdup(n);
    free(copy);
    return 0;
}
