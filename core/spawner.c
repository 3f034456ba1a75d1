/*
 * core/spawner.c - the attempt spawner (see spawner.h): the supervisor's
 * side of the protocol, the spawner's own loop, and the message layout.
 *
 * Two SOCK_SEQPACKET socket pairs, so that every message arrives whole:
 * requests (supervisor to spawner) and their replies on one, the
 * spawner's events on the other. A message is a run of fields, host
 * order (both ends are this binary): u32, i64, f64, and strings as a u32
 * length (NOSTR: NULL) and the bytes. Requests, by their first byte:
 *   'V'  u32 argc, argc strs: gpcheck's arguments once their secrets are
 *        masked (secrets_scrub_argv); the spawner writes them over its
 *        own, so neither it nor an attempt shows what the supervisor no
 *        longer does in /proc/PID/cmdline. No reply.
 *   'L'  u32 id, str name, str path, the plugin file's descriptor
 *        (SCM_RIGHTS): load it (loader_adopt). Reply: i32 0, or -1 when
 *        it did not load (its attempts then fork from the supervisor).
 *   'E'  u32 n, n names: environment variables holding a run's secrets
 *        (secrets_env_find). The spawner takes them out of its own
 *        environment, as the guardian does, so neither it nor an attempt
 *        shows them in /proc/PID/environ. No reply.
 *   'A'  u32 slot, u32 plugin id, the definition, i64 deadline_ms, u32
 *        warmup, u32 number, u32 all_metrics; the result pipe and, with
 *        -v, the stderr pipe (SCM_RIGHTS). No reply: the answer is an
 *        event, so the supervisor goes on while the spawner forks.
 *   'K'  i32 pid: SIGKILL its group, if pid is a child not yet reaped.
 * The definition: str name; u32 n_opts and each option's u32 schema
 * index, u32 set, u32 has, str text, i64 i, f64 pct, u32 n_items and the
 * items, u32 has_names and (if 1) n_items names; u32 n_conds and each
 * condition's metric name; u32 n_metrics (NOSTR: the plugin's own) and
 * the names; u32 n_secrets and the secrets. Only what an attempt reads
 * (child.c, optapi.c, secrets_scrub_environ) travels.
 * Events, three i32 each, in the order they happened:
 *   'S' slot, pid: the attempt of that slot started (pid > 0) or did not
 *       (-errno: of the fork, EMFILE when its pipes did not arrive,
 *       EINVAL for a message the spawner could not read);
 *   'X' pid, wait status: the spawner killed the attempt's group and
 *       reaped it. An attempt's 'S' always comes before its 'X'.
 */
#include "spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "loader.h"
#include "util.h"

extern char **environ;

/* The largest message (well under the socket's send buffer): a larger
 * definition forks from the supervisor. */
#define MAX_MSG (60 * 1024)
#define NOSTR UINT32_MAX
/* How long the supervisor waits for the spawner's reply before it gives
 * the spawner up (and kills it): a fork takes well under a millisecond. */
#define REPLY_TIMEOUT_MS 5000

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */

typedef struct wbuf {
    strbuf sb;
} wbuf;

static void w_raw(wbuf *w, const void *p, size_t n)
{
    sb_appendn(&w->sb, p, n);
}

static void w_u32(wbuf *w, uint32_t v)
{
    w_raw(w, &v, sizeof v);
}

static void w_i64(wbuf *w, int64_t v)
{
    w_raw(w, &v, sizeof v);
}

static void w_f64(wbuf *w, double v)
{
    w_raw(w, &v, sizeof v);
}

static void w_str(wbuf *w, const char *s)
{
    if (!s) {
        w_u32(w, NOSTR);
        return;
    }
    size_t n = strlen(s);
    w_u32(w, (uint32_t)n);
    w_raw(w, s, n);
}

typedef struct rbuf {
    const char *p, *end;
    int bad; /* read past the end, or a length that does not fit */
} rbuf;

static int r_raw(rbuf *r, void *out, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        memset(out, 0, n);
        return -1;
    }
    memcpy(out, r->p, n);
    r->p += n;
    return 0;
}

static uint32_t r_u32(rbuf *r)
{
    uint32_t v;
    r_raw(r, &v, sizeof v);
    return v;
}

static int64_t r_i64(rbuf *r)
{
    int64_t v;
    r_raw(r, &v, sizeof v);
    return v;
}

static double r_f64(rbuf *r)
{
    double v;
    r_raw(r, &v, sizeof v);
    return v;
}

/* A count of things of at least `each` bytes: never more than is left. */
static size_t r_count(rbuf *r, size_t each)
{
    uint32_t n = r_u32(r);
    if (r->bad || n == NOSTR || (size_t)(r->end - r->p) / each < n) {
        r->bad = 1;
        return 0;
    }
    return n;
}

/* Newly allocated, or NULL (NOSTR or a bad message). */
static char *r_str(rbuf *r)
{
    uint32_t n = r_u32(r);
    if (r->bad || n == NOSTR)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    char *s = xstrndup(r->p, n);
    r->p += n;
    return s;
}

static char **r_strs(rbuf *r, size_t n)
{
    char **v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = r_str(r)))
            v[i] = xstrdup("");
    return v;
}

/* Send one message with up to two descriptors (-1: none). */
static int send_fds(int sock, const strbuf *m, int fd1, int fd2)
{
    struct iovec iov = {.iov_base = m->buf, .iov_len = m->len};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(2 * sizeof(int))];
    } c;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    int fds[2], n = 0;
    if (fd1 >= 0)
        fds[n++] = fd1;
    if (fd2 >= 0)
        fds[n++] = fd2;
    if (n) {
        memset(&c, 0, sizeof c);
        msg.msg_control = c.buf;
        msg.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
        struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
        memcpy(CMSG_DATA(h), fds, (size_t)n * sizeof(int));
    }
    ssize_t w;
    while ((w = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return w == (ssize_t)m->len ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* The supervisor's side                                                     */

static _Noreturn void spawner_main(pid_t parent, int req, int ev, int argc,
                                   char **argv);

int spawner_start(spawner *sp, int argc, char **argv)
{
    int req[2], ev[2];
    *sp = (spawner){.req_fd = -1, .ev_fd = -1};
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, req) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ev) < 0) {
        int e = errno;
        close(req[0]);
        close(req[1]);
        errno = e;
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(req[0]);
        close(ev[0]);
        spawner_main(parent, req[1], ev[1], argc, argv);
    }
    int e = errno;
    close(req[1]);
    close(ev[1]);
    if (pid < 0) {
        close(req[0]);
        close(ev[0]);
        errno = e;
        return -1;
    }
    fcntl(ev[0], F_SETFL, O_NONBLOCK);
    sp->pid = pid;
    sp->req_fd = req[0];
    sp->ev_fd = ev[0];
    return 0;
}

int spawner_usable(const spawner *sp)
{
    return sp && sp->pid > 0 && sp->req_fd >= 0;
}

void spawner_abandon(spawner *sp)
{
    if (sp->pid > 0)
        kill(sp->pid, SIGKILL);
    if (sp->req_fd >= 0)
        close(sp->req_fd);
    sp->req_fd = -1;
}

void spawner_set_argv(spawner *sp, int argc, char **argv)
{
    if (!spawner_usable(sp))
        return;
    wbuf w = {0};
    w_raw(&w, "V", 1);
    w_u32(&w, (uint32_t)argc);
    for (int i = 0; i < argc; i++)
        w_str(&w, argv[i]);
    if (w.sb.len > MAX_MSG || send_fds(sp->req_fd, &w.sb, -1, -1) < 0)
        spawner_abandon(sp);
    sb_free(&w.sb);
}

/* Wait for a reply on the request socket; -1: none in time, or the
 * spawner gone. */
static int read_reply(spawner *sp, int32_t *v)
{
    struct pollfd p = {.fd = sp->req_fd, .events = POLLIN};
    int64_t until = now_ms() + REPLY_TIMEOUT_MS;
    for (;;) {
        int64_t left = until - now_ms();
        int rc = poll(&p, 1, left > 0 ? (int)left : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t n = recv(sp->req_fd, v, sizeof *v, 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n == (ssize_t)sizeof *v ? 0 : -1;
    }
}

void spawner_offer(spawner *sp, const plugin *p)
{
    if (!spawner_usable(sp) || !p || !p->handle || p->fd < 0)
        return;
    for (size_t i = 0; i < sp->n_sent; i++)
        if (sp->sent[i].p == p)
            return;
    wbuf w = {0};
    w_raw(&w, "L", 1);
    w_u32(&w, (uint32_t)sp->n_sent);
    w_str(&w, p->name);
    w_str(&w, p->path);
    int rc = send_fds(sp->req_fd, &w.sb, p->fd, -1);
    sb_free(&w.sb);
    if (rc < 0) {
        spawner_abandon(sp);
        return;
    }
    xgrow(&sp->sent, &sp->cap_sent, sp->n_sent + 1, sizeof *sp->sent);
    sp->sent[sp->n_sent++] = (spawner_sent){.p = p, .ok = 0};
}

/* The plugin's id once the spawner has said it loaded it (the replies
 * come in order: read up to its own); -1: it does not have it (a built-in
 * test fake, a load that failed there, no spawner). */
static long plugin_id(spawner *sp, const plugin *p)
{
    spawner_offer(sp, p);
    size_t i = 0;
    while (i < sp->n_sent && sp->sent[i].p != p)
        i++;
    while (spawner_usable(sp) && i < sp->n_sent && sp->n_replied <= i) {
        int32_t v = -1;
        if (read_reply(sp, &v) < 0) {
            spawner_abandon(sp);
            return -1;
        }
        sp->sent[sp->n_replied++].ok = v == 0;
    }
    return spawner_usable(sp) && i < sp->n_sent && sp->sent[i].ok ? (long)i
                                                                  : -1;
}

void spawner_scrub(spawner *sp, const secrets_env *e)
{
    if (!spawner_usable(sp) || e->n == 0)
        return;
    wbuf w = {0};
    w_raw(&w, "E", 1);
    w_u32(&w, (uint32_t)e->n);
    for (size_t i = 0; i < e->n; i++) {
        const char *eq = strchr(e->hits[i], '=');
        char *name = xstrndup(e->hits[i], eq ? (size_t)(eq - e->hits[i])
                                             : strlen(e->hits[i]));
        w_str(&w, name);
        free(name);
    }
    /* Unmasked, the spawner must not stay. */
    if (w.sb.len > MAX_MSG || send_fds(sp->req_fd, &w.sb, -1, -1) < 0)
        spawner_abandon(sp);
    sb_free(&w.sb);
}

void spawner_preload(spawner *sp, const probe_set *ps)
{
    for (size_t i = 0; i < ps->n && spawner_usable(sp); i++)
        spawner_offer(sp, ps->probes[i].plugin);
}

static void w_def(wbuf *w, const probe_def *d)
{
    w_str(w, d->name);
    w_u32(w, (uint32_t)d->n_opts);
    for (size_t i = 0; i < d->n_opts; i++) {
        const opt_value *o = &d->opts[i];
        w_u32(w, (uint32_t)(o->decl - d->plugin->desc->options));
        w_u32(w, (uint32_t)o->set);
        w_u32(w, (uint32_t)o->has);
        w_str(w, o->text);
        w_i64(w, o->i);
        w_f64(w, o->pct);
        w_u32(w, (uint32_t)o->n_items);
        for (size_t k = 0; k < o->n_items; k++)
            w_str(w, o->items[k]);
        w_u32(w, o->names != NULL);
        for (size_t k = 0; o->names && k < o->n_items; k++)
            w_str(w, o->names[k]);
    }
    w_u32(w, (uint32_t)d->n_conds);
    for (size_t i = 0; i < d->n_conds; i++)
        w_str(w, d->conds[i].metric->name);
    w_u32(w, d->metrics ? (uint32_t)d->n_metrics : NOSTR);
    for (size_t i = 0; d->metrics && i < d->n_metrics; i++)
        w_str(w, d->metrics[i].name);
    w_u32(w, (uint32_t)d->n_secrets);
    for (size_t i = 0; i < d->n_secrets; i++)
        w_str(w, d->secrets[i]);
}

int spawner_spawn(spawner *sp, const spawner_attempt *a)
{
    if (!spawner_usable(sp))
        return -1;
    long id = plugin_id(sp, a->def->plugin);
    if (id < 0)
        return -1;
    wbuf w = {0};
    w_raw(&w, "A", 1);
    w_u32(&w, a->slot);
    w_u32(&w, (uint32_t)id);
    w_def(&w, a->def);
    w_i64(&w, a->deadline_ms);
    w_u32(&w, (uint32_t)a->warmup);
    w_u32(&w, a->number);
    w_u32(&w, (uint32_t)a->all_metrics);
    if (w.sb.len > MAX_MSG) {
        sb_free(&w.sb);
        return -1;
    }
    int rc = send_fds(sp->req_fd, &w.sb, a->wfd, a->efd);
    sb_free(&w.sb);
    if (rc < 0 && errno != EMSGSIZE && errno != ENOBUFS && errno != ENOMEM)
        spawner_abandon(sp);
    return rc;
}

void spawner_kill(spawner *sp, pid_t pid)
{
    if (!spawner_usable(sp))
        return;
    wbuf w = {0};
    w_raw(&w, "K", 1);
    w_u32(&w, (uint32_t)pid);
    if (send_fds(sp->req_fd, &w.sb, -1, -1) < 0)
        spawner_abandon(sp);
    sb_free(&w.sb);
}

int spawner_next(spawner *sp, int timeout_ms, spawner_event *ev)
{
    if (!sp || sp->ev_fd < 0)
        return -1;
    for (;;) {
        int32_t m[3];
        ssize_t n = recv(sp->ev_fd, m, sizeof m, 0);
        if (n == (ssize_t)sizeof m && (m[0] == 'S' || m[0] == 'X')) {
            ev->started = m[0] == 'S';
            ev->slot = m[0] == 'S' ? (unsigned)m[1] : 0;
            ev->pid = m[0] == 'S' ? m[2] : m[1];
            ev->wstatus = m[0] == 'X' ? m[2] : 0;
            return 1;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return -1;
        if (n > 0 || timeout_ms <= 0)
            return n > 0 ? -1 : 0;
        struct pollfd p = {.fd = sp->ev_fd, .events = POLLIN};
        int rc = poll(&p, 1, timeout_ms);
        if (rc == 0)
            return 0;
        timeout_ms = 0; /* one wait, then what is there */
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

void spawner_lost(spawner *sp)
{
    if (sp->req_fd >= 0)
        close(sp->req_fd);
    if (sp->ev_fd >= 0)
        close(sp->ev_fd);
    sp->req_fd = sp->ev_fd = -1;
    sp->pid = 0;
}

void spawner_dismiss(spawner *sp)
{
    if (sp->pid > 0)
        kill(sp->pid, SIGKILL);
    free(sp->sent);
    spawner_lost(sp);
    *sp = (spawner){.req_fd = -1, .ev_fd = -1};
}

void spawner_stop(spawner *sp)
{
    pid_t pid = sp->pid;
    spawner_lost(sp); /* EOF: the spawner ends what it still runs */
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    free(sp->sent);
    *sp = (spawner){.req_fd = -1, .ev_fd = -1};
}

/* ------------------------------------------------------------------------ */
/* The spawner                                                               */

/* Messages waiting for room on a socket, in order. */
typedef struct sp_queue {
    int32_t *v; /* owned */
    size_t n, cap;
} sp_queue;

typedef struct sp_state {
    pid_t self;
    int req, ev, sfd, devnull;
    int argc;
    char **argv; /* gpcheck's own, written over by 'V' */
    loader l;
    const plugin **by_id; /* owned array; by the supervisor's ids */
    size_t n_ids, cap_ids;
    unsigned warmed; /* loader_warm(): what is set up (LOADER_WARM_*) */
    pid_t *live;     /* owned; children not yet reaped */
    size_t n_live, cap_live;
    sp_queue events;  /* what ev had no room for: 'S' and 'X' triples */
    sp_queue replies; /* what req had no room for: replies to 'L' */
} sp_state;

static void on_argv(sp_state *s, rbuf *r)
{
    size_t n = r_count(r, sizeof(uint32_t));
    for (size_t i = 0; i < n && (int)i < s->argc; i++) {
        char *a = r_str(r);
        /* In place and never longer: /proc/PID/cmdline reads that memory. */
        if (a && s->argv[i] && strlen(a) == strlen(s->argv[i]))
            memcpy(s->argv[i], a, strlen(a));
        free(a);
    }
}

/* Send the queue's records (of k int32 each) while sock takes them; what
 * it has no room for waits for the next call. Never blocking: the
 * supervisor reads them when it is ready, and may meanwhile be blocked
 * sending us more requests. */
static void flush(int sock, sp_queue *q, size_t k)
{
    size_t done = 0;
    while (done < q->n) {
        ssize_t n = send(sock, &q->v[done], k * sizeof *q->v,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
            break;
        if (n < 0)
            _exit(0); /* the supervisor is gone */
        done += k;
    }
    memmove(q->v, q->v + done, (q->n - done) * sizeof *q->v);
    q->n -= done;
}

static void push(sp_queue *q, const int32_t *v, size_t k)
{
    xgrow(&q->v, &q->cap, q->n + k, sizeof *q->v);
    memcpy(q->v + q->n, v, k * sizeof *v);
    q->n += k;
}

/* A reply to 'L'. */
static void reply(sp_state *s, int32_t v)
{
    push(&s->replies, &v, 1);
    flush(s->req, &s->replies, 1);
}

/* Queue an event and send what the socket takes. */
static void event(sp_state *s, int32_t kind, int32_t a, int32_t b)
{
    int32_t v[3] = {kind, a, b};
    push(&s->events, v, 3);
    flush(s->ev, &s->events, 3);
}

static void on_load(sp_state *s, rbuf *r, int fd)
{
    uint32_t id = r_u32(r);
    char *name = r_str(r), *path = r_str(r);
    char err[512];
    const plugin *p = NULL;
    if (!r->bad && name && path && fd >= 0 && id == s->n_ids) {
        p = loader_adopt(&s->l, fd, path, name, err, sizeof err);
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    free(name);
    free(path);
    /* An id stays taken even when its plugin did not load: its attempts
     * then fork from the supervisor. */
    xgrow(&s->by_id, &s->cap_ids, s->n_ids + 1, sizeof *s->by_id);
    s->by_id[s->n_ids++] = p;
    reply(s, p ? 0 : -1);
    /* What main.c's run does for the supervisor (see there): OpenSSL's
     * and libcurl's global set-up once, before attempts fork. */
    if (p && !(s->warmed & LOADER_WARM_CURL))
        s->warmed |= loader_warm(&p, 1);
}

/* A definition rebuilt from its message, in the spawner's heap (the
 * attempt inherits it; the spawner frees it once the attempt is forked). */
typedef struct sp_def {
    probe_def d;
    threshold *conds;
    gp_metric *cond_metrics;
} sp_def;

static void free_def(sp_def *x)
{
    probe_def *d = &x->d;
    free(d->name);
    for (size_t i = 0; i < d->n_opts; i++) {
        free(d->opts[i].text);
        strv_free(d->opts[i].items, d->opts[i].n_items);
        if (d->opts[i].names)
            strv_free(d->opts[i].names, d->opts[i].n_items);
    }
    free(d->opts);
    for (size_t i = 0; i < d->n_conds; i++)
        free((char *)x->cond_metrics[i].name);
    free(x->cond_metrics);
    free(x->conds);
    for (size_t i = 0; d->metrics && i < d->n_metrics; i++)
        free((char *)d->metrics[i].name);
    free(d->metrics);
    strv_free(d->secrets, d->n_secrets);
}

static int r_def(rbuf *r, const plugin *p, sp_def *x)
{
    probe_def *d = &x->d;
    memset(x, 0, sizeof *x);
    d->plugin = p;
    d->name = r_str(r);
    d->n_opts = r_count(r, 6 * sizeof(uint32_t));
    d->opts = xcalloc(d->n_opts + 1, sizeof *d->opts);
    for (size_t i = 0; i < d->n_opts && !r->bad; i++) {
        opt_value *o = &d->opts[i];
        uint32_t k = r_u32(r);
        if (k >= p->n_options) {
            r->bad = 1;
            break;
        }
        o->decl = &p->desc->options[k];
        o->set = (int)r_u32(r);
        o->has = (int)r_u32(r);
        o->text = r_str(r);
        o->i = r_i64(r);
        o->pct = r_f64(r);
        o->n_items = r_count(r, sizeof(uint32_t));
        o->items = r_strs(r, o->n_items);
        if (r_u32(r))
            o->names = r_strs(r, o->n_items);
    }
    d->n_conds = r_count(r, sizeof(uint32_t));
    x->conds = xcalloc(d->n_conds + 1, sizeof *x->conds);
    x->cond_metrics = xcalloc(d->n_conds + 1, sizeof *x->cond_metrics);
    for (size_t i = 0; i < d->n_conds; i++) {
        char *m = r_str(r);
        x->cond_metrics[i].name = m ? m : xstrdup("");
        x->conds[i].metric = &x->cond_metrics[i];
    }
    d->conds = x->conds;
    uint32_t nm = r_u32(r);
    if (nm != NOSTR) {
        if ((size_t)(r->end - r->p) / sizeof(uint32_t) < nm)
            r->bad = 1;
        d->n_metrics = r->bad ? 0 : nm;
        d->metrics = xcalloc(d->n_metrics + 1, sizeof *d->metrics);
        for (size_t i = 0; i < d->n_metrics; i++) {
            char *m = r_str(r);
            d->metrics[i].name = m ? m : xstrdup("");
        }
    }
    d->n_secrets = r_count(r, sizeof(uint32_t));
    d->secrets = r_strs(r, d->n_secrets);
    if (!d->name)
        d->name = xstrdup("");
    return r->bad ? -1 : 0;
}

/* The run's secret-holding variables by name, as entries of our environ. */
static void r_env(rbuf *r, secrets_env *e)
{
    size_t n = r_count(r, sizeof(uint32_t)), cap = 0;
    *e = (secrets_env){0};
    for (size_t k = 0; k < n; k++) {
        char *name = r_str(r);
        size_t len = name ? strlen(name) : 0;
        for (size_t i = 0; name && environ && environ[i]; i++) {
            if (strncmp(environ[i], name, len) == 0 && environ[i][len] == '=') {
                xgrow(&e->hits, &cap, e->n + 1, sizeof *e->hits);
                e->hits[e->n++] = environ[i];
                break;
            }
        }
        free(name);
    }
}

static void on_attempt(sp_state *s, rbuf *r, int wfd, int efd)
{
    uint32_t slot = r_u32(r), id = r_u32(r);
    const plugin *p = id < s->n_ids ? s->by_id[id] : NULL;
    if (r->bad)
        return; /* no slot to answer for: cannot happen (our own peer) */
    if (!p || wfd < 0) {
        event(s, 'S', (int32_t)slot, p ? -EMFILE : -EINVAL);
        return;
    }
    sp_def x;
    int bad = r_def(r, p, &x) < 0;
    int64_t deadline_ms = r_i64(r);
    int warmup = (int)r_u32(r);
    unsigned number = r_u32(r);
    int all_metrics = (int)r_u32(r);
    if (bad || r->bad) {
        free_def(&x);
        event(s, 'S', (int32_t)slot, -EINVAL);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        child_enter(s->self, s->devnull, wfd, efd);
        /* The run's secret variables are gone from our environment
         * ('E'): the child drops those holding its own secrets. */
        child_attempt a = {.def = &x.d,
                           .env = NULL,
                           .deadline_ms = deadline_ms,
                           .warmup = warmup,
                           .number = number,
                           .all_metrics = all_metrics,
                           .fd = 3};
        child_run(&a);
    }
    int e = errno;
    free_def(&x);
    if (pid < 0) {
        event(s, 'S', (int32_t)slot, -(int32_t)(e ? e : EAGAIN));
        return;
    }
    /* Also here, so the group exists before anyone signals it. */
    setpgid(pid, pid);
    xgrow(&s->live, &s->cap_live, s->n_live + 1, sizeof *s->live);
    s->live[s->n_live++] = pid;
    event(s, 'S', (int32_t)slot, (int32_t)pid);
}

static size_t live_index(const sp_state *s, pid_t pid)
{
    for (size_t i = 0; i < s->n_live; i++)
        if (s->live[i] == pid)
            return i;
    return (size_t)-1;
}

/* Reap every exited child: its group killed first, while the zombie
 * still holds the id, then the event queued. */
static void reap_all(sp_state *s)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            si.si_pid == 0)
            break;
        kill(-si.si_pid, SIGKILL);
        int ws = 0;
        while (waitpid(si.si_pid, &ws, 0) < 0 && errno == EINTR)
            ;
        size_t i = live_index(s, si.si_pid);
        if (i != (size_t)-1)
            s->live[i] = s->live[--s->n_live];
        event(s, 'X', (int32_t)si.si_pid, ws);
    }
}

/* EOF from the supervisor: end what still runs, and go. */
static _Noreturn void finish(sp_state *s)
{
    for (size_t i = 0; i < s->n_live; i++)
        kill(-s->live[i], SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    _exit(0);
}

static void on_request(sp_state *s, char *buf)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } c;
    struct iovec iov = {.iov_base = buf, .iov_len = MAX_MSG};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = c.buf,
                         .msg_controllen = sizeof c.buf};
    ssize_t n = recvmsg(s->req, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0)
        finish(s);
    int fds[4] = {-1, -1, -1, -1};
    size_t nfd = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k && nfd < 4; i++)
            memcpy(&fds[nfd++], CMSG_DATA(h) + i * sizeof(int), sizeof(int));
    }
    rbuf r = {.p = buf + 1, .end = buf + n};
    /* Never sent (the supervisor keeps to MAX_MSG and two fds): refused. */
    int truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
    switch (truncated ? '?' : buf[0]) {
    case 'V': on_argv(s, &r); break;
    case 'E': {
        secrets_env env;
        r_env(&r, &env);
        secrets_scrub_environ(&env, NULL);
        secrets_env_free(&env);
        break;
    }
    case 'L':
        on_load(s, &r, fds[0]);
        fds[0] = -1;
        break;
    case 'A': on_attempt(s, &r, fds[0], nfd > 1 ? fds[1] : -1); break;
    case 'K': {
        pid_t pid = (pid_t)r_u32(&r);
        if (!r.bad && pid > 0 && live_index(s, pid) != (size_t)-1)
            kill(-pid, SIGKILL);
        break;
    }
    default:
        if (buf[0] == 'L')
            reply(s, -1); /* an answer is awaited */
        break;
    }
    for (size_t i = 0; i < nfd; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static _Noreturn void spawner_main(pid_t parent, int req, int ev, int argc,
                                   char **argv)
{
    /* It is the guardian of what it forks: when the supervisor is gone
     * (EOF on req, however it went: a SIGKILL too), finish() kills every
     * attempt's group still running, then it exits. So no
     * PR_SET_PDEATHSIG here, and a process group of its own, so that a
     * SIGKILL of gpcheck's whole group (a CI job cancelled) does not end
     * it before that; the signals it could get otherwise are blocked
     * below. Its attempts die with it (theirs). */
    setpgid(0, 0);
    if (getppid() != parent)
        _exit(0);
    /* Ctrl-C and the like are the supervisor's to act on: it asks for
     * the kills it wants. SIGCHLD comes through the signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sp_state s = {.self = getpid(), .req = req, .ev = ev};
    s.sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    s.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s.sfd < 0 || s.devnull < 0)
        _exit(1); /* the supervisor forks its attempts itself */
    child_warm(s.devnull);
    s.argc = argc;
    s.argv = argv;
    char *buf = xmalloc(MAX_MSG);
    for (;;) {
        /* ev only while events wait for room on it */
        struct pollfd p[3] = {
            {.fd = req, .events = POLLIN | (s.replies.n ? POLLOUT : 0)},
            {.fd = s.sfd, .events = POLLIN},
            {.fd = ev, .events = POLLOUT}};
        int rc = poll(p, s.events.n ? 3 : 2, -1);
        if (rc < 0 && errno != EINTR)
            _exit(1);
        if (rc < 0)
            continue;
        if (s.events.n && p[2].revents)
            flush(ev, &s.events, 3);
        if (s.replies.n && (p[0].revents & POLLOUT))
            flush(req, &s.replies, 1);
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(s.sfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
            reap_all(&s);
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
            on_request(&s, buf);
    }
}
