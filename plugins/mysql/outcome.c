/*
 * plugins/mysql/outcome.c - error numbers to outcomes, mysql_stat()'s
 * thread count, and a replica's status judged (see outcome.h).
 *
 * The numbers are the server's (ER_*, mysqld_error.h, shared by MariaDB
 * and MySQL below 2000 and partly above) and libmariadb's own (CR_*,
 * errmsg.h, 2000-2999 and 5000+). MySQL-only numbers that a MariaDB
 * header does not define are written as numbers, with their MySQL name.
 */
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "outcome.h"

/* MySQL 5.7+/8.0 numbers MariaDB's header lacks. */
#define MYSQL_ER_QUERY_TIMEOUT 3024       /* max_execution_time exceeded */
#define MYSQL_ER_SERVER_OFFLINE_MODE 3032 /* offline_mode: maintenance */
#define MYSQL_ER_ACCOUNT_HAS_BEEN_LOCKED 3118
#define MYSQL_ER_CLIENT_INTERACTION_TIMEOUT 4031

gp_outcome my_error_outcome(unsigned code)
{
    switch (code) {
    /* The server is not (yet, any more) taking this connection. */
    case ER_CON_COUNT_ERROR:           /* 1040 too many connections */
    case ER_TOO_MANY_USER_CONNECTIONS: /* 1203 max_user_connections */
    case ER_OUT_OF_RESOURCES:          /* 1041 */
    case ER_OUTOFMEMORY:               /* 1037 */
    case ER_CANT_CREATE_THREAD:        /* 1135 */
    case ER_HANDSHAKE_ERROR:           /* 1043 a handshake cut short */
    case ER_SERVER_SHUTDOWN:           /* 1053 shutdown in progress */
    case ER_NORMAL_SHUTDOWN:           /* 1077 */
    case ER_ABORTING_CONNECTION:       /* 1152 */
    case ER_NEW_ABORTING_CONNECTION:   /* 1184 */
    case ER_CONNECTION_KILLED:         /* 1927 killed during shutdown */
    case MYSQL_ER_SERVER_OFFLINE_MODE:
    case MYSQL_ER_CLIENT_INTERACTION_TIMEOUT:
    /* A query that may pass next time. */
    case ER_LOCK_WAIT_TIMEOUT: /* 1205 */
    case ER_LOCK_DEADLOCK:     /* 1213 */
    case ER_QUERY_INTERRUPTED: /* 1317 */
    case ER_STATEMENT_TIMEOUT: /* 1969 max_statement_time */
    case MYSQL_ER_QUERY_TIMEOUT:
    /* libmariadb: nobody listens yet, the server went away. */
    case CR_CONNECTION_ERROR: /* 2002 socket: refused, no such file */
    case CR_CONN_HOST_ERROR:  /* 2003 TCP: refused, unreachable */
    case CR_IPSOCK_ERROR:     /* 2004 */
    case CR_SOCKET_CREATE_ERROR:
    case CR_SERVER_GONE_ERROR: /* 2006 */
    case CR_SERVER_LOST:       /* 2013 closed during the handshake */
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case CR_OUT_OF_MEMORY: return GP_TRANSIENT;
    default:
        /* 1045 access denied, 1044 no access to the database, 1049
         * unknown database, 1130 host not allowed, 1129 host blocked,
         * 1862 expired password, locked accounts, 2005 unknown host,
         * 2026 TLS, 2027 not a MySQL server, 2059 auth plugin, every
         * syntax and schema error of a query: said again next time. */
        return GP_FATAL;
    }
}

const char *my_error_hint(unsigned code)
{
    switch (code) {
    case ER_HOST_IS_BLOCKED:
        return " (the server blocked this host after too many failed "
               "connects: FLUSH HOSTS, or raise max_connect_errors)";
    case ER_HOST_NOT_PRIVILEGED:
        return " (no account for this user at this client address: CREATE "
               "USER 'u'@'host' ...)";
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:
        return " (role checks need the REPLICATION CLIENT or SLAVE MONITOR "
               "privilege)";
    case CR_SSL_CONNECTION_ERROR:
        return " (TLS: check tls, tls_ca and the server's certificate)";
    case CR_MALFORMED_PACKET:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_VERSION_ERROR: return " (is this a MySQL or MariaDB server?)";
    default: return "";
    }
}

double my_stat_threads(const char *stat)
{
    const char *p = stat ? strstr(stat, "Threads: ") : NULL;
    char *end;

    if (!p)
        return -1;
    p += strlen("Threads: ");
    if (*p < '0' || *p > '9')
        return -1;
    unsigned long long n = strtoull(p, &end, 10);
    return end == p ? -1 : (double)n;
}

static void copy(char *out, size_t outlen, const char *value)
{
    snprintf(out, outlen, "%s", value ? value : "");
}

void my_replica_init(my_replica *r)
{
    memset(r, 0, sizeof *r);
    r->lag = -1;
}

void my_replica_column(my_replica *r, const char *name, const char *value)
{
    r->found = 1;
    if (!strcasecmp(name, "Slave_IO_Running") ||
        !strcasecmp(name, "Replica_IO_Running")) {
        copy(r->io, sizeof r->io, value);
    } else if (!strcasecmp(name, "Slave_SQL_Running") ||
               !strcasecmp(name, "Replica_SQL_Running")) {
        copy(r->sql, sizeof r->sql, value);
    } else if (!strcasecmp(name, "Seconds_Behind_Master") ||
               !strcasecmp(name, "Seconds_Behind_Source")) {
        char *end;

        r->lag = -1;
        if (value && *value >= '0' && *value <= '9') {
            long long n = strtoll(value, &end, 10);

            if (!*end)
                r->lag = n;
        }
    } else if ((!strcasecmp(name, "Last_IO_Error") ||
                !strcasecmp(name, "Last_SQL_Error")) &&
               value && *value && !r->error[0]) {
        copy(r->error, sizeof r->error, value);
    }
}

gp_outcome my_replica_judge(const my_replica *r, long long max_lag_ms,
                            char *why, size_t whylen)
{
    if (!r->found) {
        snprintf(why, whylen, "not a replica (SHOW REPLICA STATUS is empty)");
        return GP_FATAL;
    }
    if (strcmp(r->io, "Yes") != 0 || strcmp(r->sql, "Yes") != 0) {
        snprintf(why, whylen,
                 "replication is not running (IO thread: %s, SQL thread: "
                 "%s)%s%s",
                 r->io[0] ? r->io : "?", r->sql[0] ? r->sql : "?",
                 r->error[0] ? ": " : "", r->error);
        return GP_TRANSIENT;
    }
    if (r->lag < 0) {
        snprintf(why, whylen,
                 "replica lag is unknown (Seconds_Behind_Master "
                 "is NULL)");
        return GP_TRANSIENT;
    }
    if (max_lag_ms >= 0 && r->lag * 1000 > max_lag_ms) {
        snprintf(why, whylen,
                 "replica is %lld s behind, more than max_lag "
                 "%lld ms",
                 r->lag, max_lag_ms);
        return GP_TRANSIENT;
    }
    snprintf(why, whylen, "replica %lld s behind", r->lag);
    return GP_READY;
}
