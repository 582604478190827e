/*
 * udp.c - the part every datagram model shares: workers on each address's
 * socket (more workers on duplicates of it), waiting for input or a stop,
 * and one datagram -> the service's datagram callback -> its reply, with
 * truncated datagrams detected, logged and dropped, and replies only where
 * udp_guard.c allows them; for a relay service, the datagram to its
 * source's flow instead (udp_relay.c).
 */
#include "udp.h"

#include "sockit/error.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct worker {
    struct sk_server *srv;
    sk__udp_loop_fn loop;
    int fd;
    int rc;
    pthread_t th;
};

/* Tell every loop to end. Worker threads never touch srv->stop (a plain
 * flag the signal handler writes): they learn of a stop from srv->stop_fd,
 * which stays readable once written. */
static void wake_all(struct sk_server *srv)
{
    uint64_t one = 1;
    ssize_t w = write(srv->stop_fd, &one, sizeof(one));
    (void)w;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->rc = w->loop(w->srv, w->fd, 0);
    if (w->rc < 0) {
        sk_log(SK_LOG_ERROR, "udp worker: %s", sk_strerror(w->rc));
        wake_all(w->srv);
    }
    return NULL;
}

int sk__udp_run(struct sk_server *srv, sk__udp_loop_fn loop)
{
    /* --workers loops on each address's socket; the first ones use the
     * sockets themselves, the others duplicates (one receive queue each). */
    unsigned nl = srv->nlfd ? srv->nlfd : 1;
    unsigned n = (srv->workers ? srv->workers : 1) * nl, started = 0;
    int r = 0;
    struct worker *w = calloc(n, sizeof(*w));
    if (!w)
        return -ENOMEM;
    struct sk_addr self[SK_SERVER_MAX_ADDRS];
    size_t nself = 0;
    self[nself++] = srv->addr;
    for (unsigned i = 0; i < srv->nmore && nself < SK_SERVER_MAX_ADDRS; i++) {
        self[nself] = srv->more[i];
        sk_addr_set_port(&self[nself++], sk_addr_port(&srv->addr));
    }
    if ((r = sk__udp_guard_new(self, nself, srv->lim.udp_rate, &srv->udp_guard)) < 0) {
        free(w);
        return r;
    }
    if (srv->svc->dgram_route && (r = sk__udp_flows_new(srv, &srv->udp_flows)) < 0) {
        sk__udp_guard_free(srv->udp_guard);
        srv->udp_guard = NULL;
        free(w);
        return r;
    }
    for (unsigned i = 0; i < n; i++) {
        w[i].srv = srv;
        w[i].loop = loop;
        w[i].fd = i < nl ? srv->lfds[i] : fcntl(srv->lfds[i % nl], F_DUPFD_CLOEXEC, 0);
        if (w[i].fd < 0) {
            r = -errno;
            n = i;
            goto out;
        }
    }
    /* Worker threads never take SIGINT/SIGTERM: the main thread does. */
    sigset_t all, old;
    sigemptyset(&all);
    sigaddset(&all, SIGINT);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 1; i < n; i++) {
        if ((r = -pthread_create(&w[i].th, NULL, worker_main, &w[i])) < 0)
            break;
        started = i;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r == 0)
        r = loop(srv, srv->lfd, 1);
    wake_all(srv);
    for (unsigned i = 1; i <= started; i++) {
        pthread_join(w[i].th, NULL);
        if (r == 0 && w[i].rc < 0)
            r = w[i].rc;
    }
out:
    for (unsigned i = nl; i < n; i++)
        close(w[i].fd);
    free(w);
    sk__udp_flows_free(srv, srv->udp_flows);
    srv->udp_flows = NULL;
    sk__udp_guard_free(srv->udp_guard);
    srv->udp_guard = NULL;
    return r;
}

int sk__udp_wait(struct sk_server *srv, int fd, int first)
{
    if (srv->udp_flows)
        return sk__udp_wait_flows(srv, fd, first);
    return sk__wait_listener_ex(srv, fd, first ? SK_WAIT_STDIN : 0, NULL);
}

size_t sk__udp_bufsize(const struct sk_server *srv)
{
    return srv->lim.in_max ? srv->lim.in_max : SK_UDP_MAX;
}

/* Is one more datagram for from's address over --udp-rate? Counted and
 * logged (what: "replies to") at most once a second when it is. */
static int over_rate(struct sk_server *srv, const struct sk_addr *from, const char *what)
{
    static struct sk__ratelimit rate_rl;
    uint64_t skipped;
    char a[SK_ADDR_STRLEN];

    if (!srv->udp_guard || sk__udp_guard_allow(srv->udp_guard, from, sk_now_ms()))
        return 0;
    atomic_fetch_add(&srv->st->rejected, 1);
    if (sk__rate_ok(&rate_rl, &skipped)) {
        sk_addr_format_host(from, a, sizeof(a));
        sk_log(SK_LOG_WARN, "%s %s over --udp-rate %u/s: dropped%s", what, a, srv->lim.udp_rate,
               skipped ? " (more since the last line)" : "");
    }
    return 1;
}

ssize_t sk__udp_handle(struct sk_server *srv, int fd, const struct sk_addr *from, const char *in,
                       size_t n, size_t len, int truncated, char *out, size_t outmax)
{
    static struct sk__ratelimit trunc_rl, err_rl, bad_rl;
    uint64_t skipped;
    char a[SK_ADDR_STRLEN];

    if (sk_acl_active(&srv->acl) && !sk__server_admit(srv, from))
        return -1; /* a denied source gets no reply */
    atomic_fetch_add(&srv->st->accepted, 1);
    atomic_fetch_add_explicit(&srv->st->bytes_in, len > n ? len : n, memory_order_relaxed);
    if (truncated || len > n) {
        atomic_fetch_add(&srv->st->errors, 1);
        if (sk__rate_ok(&trunc_rl, &skipped)) {
            sk_addr_format(from, a, sizeof(a));
            sk_log(SK_LOG_WARN,
                   "datagram from %s truncated: %zu bytes do not fit the %zu-byte buffer "
                   "(dropped, not answered; see --max-input)%s",
                   a, len > n ? len : n, n, skipped ? " (more since the last line)" : "");
        }
        return -1;
    }
    const char *why = srv->udp_guard ? sk__udp_guard_refuse(srv->udp_guard, from) : NULL;
    if (why) {
        /* A forged source would make us a reflector or start a loop. */
        atomic_fetch_add(&srv->st->rejected, 1);
        if (sk__rate_ok(&bad_rl, &skipped)) {
            sk_addr_format(from, a, sizeof(a));
            sk_log(SK_LOG_WARN, "datagram from %s not answered: %s%s", a, why,
                   skipped ? " (more since the last line)" : "");
        }
        return -1;
    }
    if (srv->udp_flows) {
        /* A relay: --udp-rate bounds what one source has forwarded. */
        if (over_rate(srv, from, "datagrams from"))
            return -1;
        sk__udp_flows_forward(srv, fd, from, in, n);
        return -1;
    }
    ssize_t r = srv->svc->datagram(srv->svc_state, from, in, n, out, outmax);
    if (r == SK_NO_REPLY)
        return -1;
    if (r >= 0 && over_rate(srv, from, "replies to"))
        return -1;
    if (r < 0) {
        atomic_fetch_add(&srv->st->errors, 1);
        if (sk__rate_ok(&err_rl, &skipped)) {
            sk_addr_format(from, a, sizeof(a));
            sk_log(SK_LOG_WARN, "datagram from %s: %s: %s", a, srv->svc->name, sk_strerror((int)r));
        }
        return -1;
    }
    return r;
}

void sk__udp_sent(struct sk_server *srv, size_t n)
{
    atomic_fetch_add_explicit(&srv->st->bytes_out, n, memory_order_relaxed);
}

void sk__udp_send_failed(struct sk_server *srv, const struct sk_addr *to, int err)
{
    static struct sk__ratelimit rl;

    atomic_fetch_add(&srv->st->errors, 1);
    if (sk__rate_ok(&rl, NULL)) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(to, a, sizeof(a));
        sk_log(SK_LOG_WARN, "reply to %s not sent: %s", a, sk_strerror(err));
    }
}
