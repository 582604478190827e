/*
 * udp_relay.c - the datagram relay every UDP model shares (`serve relay
 * --udp`): a flow per client address, each with its own socket connected
 * to the upstream the service names (svc->dgram_route), opened on the
 * client's first datagram. The client's datagrams go out on it one for one;
 * what comes back on it (the kernel passes only the connected upstream's)
 * goes to the client from the listening socket it wrote to, so datagram
 * boundaries hold both ways. A flow closes when idle for the idle timeout
 * (--idle-timeout, default SK_UDP_FLOW_IDLE_MS) or when its upstream
 * refuses (ICMP port unreachable: ECONNREFUSED on its socket; the client's
 * next datagram opens a flow to the service's next choice). At --max-conns
 * flows (SK_UDP_FLOWS_MAX without one) the least recently active flow is
 * evicted for a new one, as when descriptors run out; both logged at most
 * once a second.
 *
 * The models only wait: every upstream socket sits in one epoll set, which
 * the plain and batch loops poll beside their listening socket and the
 * uring loop watches with a poll operation (a readiness wait inside the
 * ring, not completions per upstream socket); whichever worker sees it
 * readable serves the flows under the table's lock, with nonblocking
 * system calls.
 */
#include "udp.h"

#include "sockit/error.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENTS 64 /* ready upstream sockets taken at once */
#define ROUNDS 16 /* datagrams read from one upstream socket at once (recvmmsg) */

struct sk__udp_flows {
    pthread_mutex_t lock;
    struct sk__flowtab tab;
    int ep;
    int idle_ms; /* 0: flows never expire (the bound still holds) */
    char *buf;   /* ROUNDS datagrams of SK_UDP_MAX bytes (pages touched as used) */
    struct iovec riov[ROUNDS], siov[ROUNDS];
    struct mmsghdr rmsg[ROUNDS], smsg[ROUNDS];
};

static struct sk__ratelimit full_rl, refused_rl, fail_rl;

int sk__udp_flows_new(struct sk_server *srv, struct sk__udp_flows **out)
{
    struct sk__udp_flows *F = calloc(1, sizeof(*F));
    int r;
    if (!F || !(F->buf = malloc((size_t)ROUNDS * SK_UDP_MAX))) {
        free(F);
        return -ENOMEM;
    }
    uint32_t cap = srv->lim.max_conns && srv->lim.max_conns < SK_UDP_FLOWS_MAX ? srv->lim.max_conns
                                                                               : SK_UDP_FLOWS_MAX;
    if ((r = sk__flows_init(&F->tab, cap)) < 0) {
        free(F->buf);
        free(F);
        return r;
    }
    F->ep = epoll_create1(EPOLL_CLOEXEC);
    if (F->ep < 0) {
        r = -errno;
        sk__flows_fini(&F->tab);
        free(F->buf);
        free(F);
        return r;
    }
    F->idle_ms = srv->idle_set ? srv->lim.idle_timeout_ms : SK_UDP_FLOW_IDLE_MS;
    pthread_mutex_init(&F->lock, NULL);
    sk_log(SK_LOG_DEBUG, "relay: at most %u flows, idle timeout %d ms%s", cap, F->idle_ms,
           srv->idle_set ? "" : " (the UDP relay's default)");
    *out = F;
    return 0;
}

/* Close flow i; why (NULL at the stop) goes into the -v line. */
static void flow_close(struct sk_server *srv, struct sk__udp_flows *F, int32_t i, const char *why)
{
    struct sk__flow *f = &F->tab.f[i];
    if (why && sk_log_level >= SK_LOG_DEBUG) {
        char a[SK_ADDR_STRLEN], u[SK_ADDR_STRLEN];
        sk_addr_format(&f->peer, a, sizeof(a));
        sk_addr_format(&f->up, u, sizeof(u));
        sk_log(SK_LOG_DEBUG, "flow %s -> %s closed (%s) after %lld ms, %llu datagrams in, %llu out",
               a, u, why, (long long)(sk_now_ms() - f->opened_ms), (unsigned long long)f->dgrams_in,
               (unsigned long long)f->dgrams_out);
    }
    close(f->fd); /* leaves the epoll set with it */
    sk__flows_del(&F->tab, i);
    atomic_fetch_sub(&srv->st->active, 1);
}

void sk__udp_flows_free(struct sk_server *srv, struct sk__udp_flows *F)
{
    if (!F)
        return;
    int32_t i;
    while ((i = sk__flows_oldest(&F->tab)) >= 0)
        flow_close(srv, F, i, NULL);
    close(F->ep);
    sk__flows_fini(&F->tab);
    pthread_mutex_destroy(&F->lock);
    free(F->buf);
    free(F);
}

int sk__udp_flows_fd(const struct sk__udp_flows *F)
{
    return F->ep;
}

int sk__udp_flows_due_ms(struct sk__udp_flows *F)
{
    int ms = -1;
    pthread_mutex_lock(&F->lock);
    int32_t i = sk__flows_oldest(&F->tab);
    if (i >= 0 && F->idle_ms > 0) {
        int64_t left = F->tab.f[i].last_ms + F->idle_ms - sk_now_ms();
        ms = left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
    }
    pthread_mutex_unlock(&F->lock);
    return ms;
}

/* Make room for one more flow: close the least recently active one. */
static void evict(struct sk_server *srv, struct sk__udp_flows *F, const struct sk_addr *for_whom,
                  const char *because)
{
    uint64_t skipped;
    int32_t i = sk__flows_oldest(&F->tab);
    if (i < 0)
        return;
    if (sk__rate_ok(&full_rl, &skipped)) {
        char a[SK_ADDR_STRLEN], b[SK_ADDR_STRLEN];
        sk_addr_format(&F->tab.f[i].peer, a, sizeof(a));
        sk_addr_format(for_whom, b, sizeof(b));
        sk_log(SK_LOG_WARN, "relay: %s: the least recently active flow (%s) closed for %s%s",
               because, a, b, skipped ? " (more since the last line)" : "");
    }
    atomic_fetch_add(&srv->st->rejected, 1);
    flow_close(srv, F, i, "evicted");
}

/* A new flow for from, received on lfd: its index, or a negative errno
 * (logged) when the datagram must be dropped. */
static int32_t flow_open(struct sk_server *srv, struct sk__udp_flows *F, int lfd,
                         const struct sk_addr *from, int64_t now)
{
    static struct sk__ratelimit open_rl;
    struct sk_addr to;
    int r = srv->svc->dgram_route(srv->svc_state, from, &to);
    if (r < 0)
        return r;
    if (F->tab.count == F->tab.cap) {
        char because[64];
        snprintf(because, sizeof(because), "%u flows (--max-conns)", F->tab.cap);
        evict(srv, F, from, because);
    }
    int fd = socket(to.u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && F->tab.count > 0) {
        evict(srv, F, from, "out of descriptors");
        fd = socket(to.u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0 || connect(fd, &to.u.sa, to.len) < 0) {
        r = -errno;
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    int32_t i = sk__flows_add(&F->tab, from, now);
    if (i < 0) {
        r = i;
        close(fd);
        goto fail;
    }
    struct sk__flow *f = &F->tab.f[i];
    f->fd = fd;
    f->lfd = lfd;
    f->up = to;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = sk__flows_mkref(&F->tab, i)};
    if (epoll_ctl(F->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        r = -errno;
        close(fd);
        sk__flows_del(&F->tab, i);
        goto fail;
    }
    atomic_fetch_add(&srv->st->active, 1);
    if (sk_log_level >= SK_LOG_DEBUG) {
        char a[SK_ADDR_STRLEN], u[SK_ADDR_STRLEN];
        sk_addr_format(from, a, sizeof(a));
        sk_addr_format(&to, u, sizeof(u));
        sk_log(SK_LOG_DEBUG, "flow %s -> %s opened (%u flows)", a, u, F->tab.count);
    }
    return i;
fail:
    atomic_fetch_add(&srv->st->errors, 1);
    uint64_t skipped;
    if (sk__rate_ok(&open_rl, &skipped)) {
        char a[SK_ADDR_STRLEN], u[SK_ADDR_STRLEN];
        sk_addr_format(from, a, sizeof(a));
        sk_addr_format(&to, u, sizeof(u));
        sk_log(SK_LOG_WARN, "relay: no flow for %s to %s: %s (datagram dropped)%s", a, u,
               sk_strerror(r), skipped ? " (more since the last line)" : "");
    }
    return r;
}

/* The upstream of flow i refused (or failed with err): close it. */
static void flow_failed(struct sk_server *srv, struct sk__udp_flows *F, int32_t i, int err)
{
    uint64_t skipped;
    if (sk__rate_ok(err == -ECONNREFUSED ? &refused_rl : &fail_rl, &skipped)) {
        char a[SK_ADDR_STRLEN], u[SK_ADDR_STRLEN];
        sk_addr_format(&F->tab.f[i].peer, a, sizeof(a));
        sk_addr_format(&F->tab.f[i].up, u, sizeof(u));
        sk_log(SK_LOG_WARN, "relay: upstream %s for %s: %s: flow closed%s", u, a, sk_strerror(err),
               skipped ? " (more since the last line)" : "");
    }
    atomic_fetch_add(&srv->st->errors, 1);
    flow_close(srv, F, i, err == -ECONNREFUSED ? "refused" : "failed");
}

void sk__udp_flows_forward(struct sk_server *srv, int lfd, const struct sk_addr *from,
                           const char *p, size_t n)
{
    struct sk__udp_flows *F = srv->udp_flows;
    int64_t now = sk_now_ms();

    pthread_mutex_lock(&F->lock);
    int32_t i = sk__flows_find(&F->tab, from);
    /* Twice at most: a send refused (the ICMP answer to an earlier datagram)
     * closes the flow, and this datagram goes to the service's next choice. */
    for (int tries = 0; tries < 2; tries++) {
        if (i < 0 && (i = flow_open(srv, F, lfd, from, now)) < 0)
            break;
        struct sk__flow *f = &F->tab.f[i];
        ssize_t w;
        do {
            w = send(f->fd, p, n, MSG_DONTWAIT);
        } while (w < 0 && errno == EINTR);
        if (w >= 0) {
            f->dgrams_in++;
            sk__flows_touch(&F->tab, i, now);
            break;
        }
        int err = -errno;
        if (err == -EAGAIN || err == -ENOBUFS) {
            atomic_fetch_add(&srv->st->errors, 1); /* a full socket buffer: UDP drops */
            break;
        }
        flow_failed(srv, F, i, err);
        i = -1;
        if (err != -ECONNREFUSED)
            break;
    }
    pthread_mutex_unlock(&F->lock);
}

/* Read what flow i's upstream sent and pass it to the client: at most
 * ROUNDS datagrams, taken with one recvmmsg() and sent with sendmmsg(). */
static void pump(struct sk_server *srv, struct sk__udp_flows *F, int32_t i, int64_t now)
{
    struct sk__flow *f = &F->tab.f[i];
    for (unsigned k = 0; k < ROUNDS; k++) {
        F->riov[k] =
            (struct iovec){.iov_base = F->buf + (size_t)k * SK_UDP_MAX, .iov_len = SK_UDP_MAX};
        memset(&F->rmsg[k], 0, sizeof(F->rmsg[k]));
        F->rmsg[k].msg_hdr.msg_iov = &F->riov[k];
        F->rmsg[k].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(f->fd, F->rmsg, ROUNDS, MSG_DONTWAIT, NULL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            flow_failed(srv, F, i, -errno);
        return;
    }
    f->dgrams_out += (unsigned)n;
    sk__flows_touch(&F->tab, i, now);
    for (int k = 0; k < n; k++) {
        F->siov[k] = (struct iovec){.iov_base = F->riov[k].iov_base, .iov_len = F->rmsg[k].msg_len};
        memset(&F->smsg[k], 0, sizeof(F->smsg[k]));
        F->smsg[k].msg_hdr.msg_name = &f->peer.u.sa;
        F->smsg[k].msg_hdr.msg_namelen = f->peer.len;
        F->smsg[k].msg_hdr.msg_iov = &F->siov[k];
        F->smsg[k].msg_hdr.msg_iovlen = 1;
    }
    for (int done = 0; done < n;) {
        int w = sendmmsg(f->lfd, F->smsg + done, (unsigned)(n - done), MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            sk__udp_send_failed(srv, &f->peer, -errno); /* this one is lost; on with the rest */
            done++;
            continue;
        }
        for (int k = 0; k < w; k++)
            sk__udp_sent(srv, F->smsg[done + k].msg_len);
        done += w;
    }
}

void sk__udp_flows_run(struct sk_server *srv)
{
    struct sk__udp_flows *F = srv->udp_flows;
    struct epoll_event ev[EVENTS];

    pthread_mutex_lock(&F->lock);
    int64_t now = sk_now_ms();
    int n = epoll_wait(F->ep, ev, EVENTS, 0);
    for (int k = 0; k < n; k++) {
        int32_t i = sk__flows_ref(&F->tab, ev[k].data.u64);
        if (i >= 0)
            pump(srv, F, i, now);
    }
    int32_t i;
    while (F->idle_ms > 0 && (i = sk__flows_oldest(&F->tab)) >= 0 &&
           F->tab.f[i].last_ms + F->idle_ms <= now)
        flow_close(srv, F, i, "idle");
    pthread_mutex_unlock(&F->lock);
}

int sk__udp_wait_flows(struct sk_server *srv, int fd, int first)
{
    struct sk__udp_flows *F = srv->udp_flows;
    for (;;) {
        if (srv->stop)
            return 0;
        int watch_stdin = srv->stdin_stop && first;
        struct pollfd p[4] = {
            {.fd = fd, .events = POLLIN},
            {.fd = F->ep, .events = POLLIN},
            {.fd = srv->stop_fd, .events = POLLIN},
            {.fd = watch_stdin ? STDIN_FILENO : -1, .events = POLLIN},
        };
        int ms = sk__udp_flows_due_ms(F);
        int n = poll(p, 4, ms < 0 || ms > 1000 ? 1000 : ms);
        if (n < 0 && errno != EINTR) {
            sk_log(SK_LOG_ERROR, "waiting for datagrams: %s: stopping", sk_strerror(-errno));
            sk_server_stop(srv);
            return 0;
        }
        if (n < 0)
            continue;
        if (p[3].revents && sk__server_terminal_line(srv))
            return 0;
        if (p[2].revents)
            return 0;
        sk__udp_flows_run(srv); /* replies, and flows that expired */
        if (p[0].revents)
            return 1;
    }
}
