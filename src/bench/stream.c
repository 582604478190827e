/*
 * stream.c - `sockit bench stream`: bulk throughput over N streams at once,
 * iperf-style, against serve discard (send), chargen (recv) or echo (both).
 *
 * One epoll loop over all the streams. TCP and Unix streams write a fixed
 * buffer as fast as the socket takes it and read everything that arrives;
 * at the end each TCP stream's TCP_INFO gives its round-trip time and
 * retransmits. UDP streams send datagrams that start with an 8-byte sequence
 * number: against echo the replies tell lost, reordered and duplicated
 * datagrams apart (a per-stream bitmap of the sequence numbers seen). Each
 * stream gets a bounded number of writes per event so that no stream (and
 * not the deadline) waits on another.
 */
#include "sockit/bench.h"

#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SEQ_LEN 8
#define MAX_EVENTS 256
#define WRITES_PER_EVENT 16
#define UDP_DRAIN_NS (200 * 1000000LL)
#define SEEN_MAX_BITS (64ull << 20) /* sequence numbers tracked per stream */

struct stream {
    int fd;
    uint64_t highest; /* UDP: the highest sequence number echoed so far */
    int any;          /* UDP: something came back */
    uint8_t *seen;    /* UDP --both: one bit per sequence number echoed */
    size_t seen_bytes;
};

double sk_jain_index(const double *x, size_t n)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        sq += x[i] * x[i];
    }
    if (n == 0 || sq == 0)
        return 1.0;
    return sum * sum / ((double)n * sq);
}

/* A blocking connect bounded by a 5 s send timeout, then nonblocking. */
static int open_stream(const struct sk_stream_cfg *cfg)
{
    int type = cfg->udp ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(sk_addr_family(&cfg->addr), type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, &cfg->addr.u.sa, cfg->addr.len) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static void put_seq(char *d, uint64_t seq)
{
    for (int i = 0; i < SEQ_LEN; i++)
        d[i] = (char)(seq >> (8 * i));
}

static uint64_t get_seq(const char *d)
{
    uint64_t v = 0;
    for (int i = 0; i < SEQ_LEN; i++)
        v |= (uint64_t)(unsigned char)d[i] << (8 * i);
    return v;
}

/* UDP: account for one echoed datagram. */
static void udp_seen(struct stream *s, struct sk_stream_conn *pc, const char *d, size_t len)
{
    if (len < SEQ_LEN)
        return;
    uint64_t seq = get_seq(d);
    if (seq >= pc->dg_sent)
        return; /* not one of ours */
    if (seq < SEEN_MAX_BITS) {
        size_t byte = (size_t)(seq / 8);
        if (byte >= s->seen_bytes) {
            size_t n = s->seen_bytes ? s->seen_bytes : 4096;
            while (n <= byte)
                n *= 2;
            uint8_t *nb = realloc(s->seen, n);
            if (nb) {
                memset(nb + s->seen_bytes, 0, n - s->seen_bytes);
                s->seen = nb;
                s->seen_bytes = n;
            }
        }
        if (byte < s->seen_bytes) {
            uint8_t bit = (uint8_t)(1u << (seq % 8));
            if (s->seen[byte] & bit) {
                pc->dg_dup++;
                return;
            }
            s->seen[byte] |= bit;
        }
    }
    pc->dg_recv++;
    if (s->any && seq < s->highest)
        pc->dg_reordered++;
    else
        s->highest = seq;
    s->any = 1;
}

static void on_read(const struct sk_stream_cfg *cfg, struct stream *s, struct sk_stream_conn *pc,
                    char *buf, size_t cap)
{
    for (int i = 0; i < WRITES_PER_EVENT * 4; i++) {
        ssize_t r = recv(s->fd, buf, cap, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && !cfg->udp) {
                close(s->fd);
                s->fd = -1;
            }
            return;
        }
        if (r == 0 && !cfg->udp) {
            close(s->fd);
            s->fd = -1;
            return;
        }
        pc->bytes_recv += (uint64_t)r;
        if (cfg->udp)
            udp_seen(s, pc, buf, (size_t)r);
    }
}

static void on_write(const struct sk_stream_cfg *cfg, struct stream *s, struct sk_stream_conn *pc,
                     char *out)
{
    for (int i = 0; i < WRITES_PER_EVENT; i++) {
        if (cfg->udp)
            put_seq(out, pc->dg_sent);
        ssize_t r = send(s->fd, out, cfg->size, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == ENOBUFS || (cfg->udp && errno == ECONNREFUSED))
                return;
            close(s->fd);
            s->fd = -1;
            return;
        }
        pc->bytes_sent += (uint64_t)r;
        if (cfg->udp)
            pc->dg_sent++;
    }
}

static void tcp_info(const struct sk_stream_cfg *cfg, struct stream *s, struct sk_stream_conn *pc)
{
    if (cfg->udp || s->fd < 0 || sk_addr_family(&cfg->addr) == AF_UNIX)
        return;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
        pc->rtt_us = ti.tcpi_rtt;
        pc->rttvar_us = ti.tcpi_rttvar;
        pc->retrans = ti.tcpi_total_retrans;
    }
}

int sk_stream_run(const struct sk_stream_cfg *cfg, struct sk_stream_result *res)
{
    memset(res, 0, sizeof(*res));
    if (cfg->conns == 0 || cfg->size == 0 || (cfg->udp && cfg->size < SEQ_LEN) ||
        (cfg->udp && cfg->size > 65507) || (cfg->udp && cfg->dir == SK_STREAM_RECV))
        return -EINVAL;
    size_t cap = cfg->size > 65536 ? cfg->size : 65536;
    struct stream *st = calloc(cfg->conns, sizeof(*st));
    res->per = calloc(cfg->conns, sizeof(*res->per));
    char *out = malloc(cfg->size), *in = malloc(cap);
    int ep = epoll_create1(EPOLL_CLOEXEC), rc = 0;
    if (!st || !res->per || !out || !in || ep < 0) {
        rc = ep < 0 ? -errno : -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < cfg->size; i++)
        out[i] = (char)('a' + i % 26);
    sk_bench_raise_nofile((uint64_t)cfg->conns + 64);
    uint32_t ev_mask = cfg->dir == SK_STREAM_SEND   ? EPOLLOUT | EPOLLIN
                       : cfg->dir == SK_STREAM_RECV ? EPOLLIN
                                                    : EPOLLIN | EPOLLOUT;
    for (unsigned i = 0; i < cfg->conns; i++) {
        st[i].fd = open_stream(cfg);
        if (st[i].fd < 0) {
            st[i].fd = -1;
            continue;
        }
        struct epoll_event ev = {.events = ev_mask, .data.u32 = i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, st[i].fd, &ev) < 0) {
            close(st[i].fd);
            st[i].fd = -1;
            continue;
        }
        res->per[i].ok = 1;
        res->connected++;
    }
    if (res->connected == 0) {
        rc = -ECONNREFUSED;
        goto done;
    }
    int64_t t0 = sk_now_ns(), end = t0 + cfg->duration_ms * 1000000LL, stop = end;
    if (cfg->udp && cfg->dir == SK_STREAM_BOTH)
        stop = end + UDP_DRAIN_NS;
    int sending = 1;
    struct epoll_event evs[MAX_EVENTS];
    for (int64_t now = t0; now < stop && !sk_bench_interrupted(); now = sk_now_ns()) {
        if (sending && now >= end) {
            /* Time is up: keep only reading (the UDP echoes still on their way). */
            sending = 0;
            for (unsigned i = 0; i < cfg->conns; i++) {
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
                if (st[i].fd >= 0)
                    epoll_ctl(ep, EPOLL_CTL_MOD, st[i].fd, &ev);
            }
            res->elapsed_s = (double)(now - t0) / 1e9;
        }
        int64_t left = (sending ? end : stop) - now;
        int n = epoll_wait(ep, evs, MAX_EVENTS, (int)(left / 1000000) + 1);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        for (int k = 0; k < n; k++) {
            unsigned i = evs[k].data.u32;
            struct stream *s = &st[i];
            if (s->fd < 0)
                continue;
            if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_read(cfg, s, &res->per[i], in, cap);
            if (sending && s->fd >= 0 && (evs[k].events & EPOLLOUT))
                on_write(cfg, s, &res->per[i], out);
        }
    }
    if (res->elapsed_s == 0)
        res->elapsed_s = (double)(sk_now_ns() - t0) / 1e9;
    for (unsigned i = 0; i < cfg->conns; i++) {
        struct sk_stream_conn *pc = &res->per[i];
        tcp_info(cfg, &st[i], pc);
        if (cfg->udp && cfg->dir == SK_STREAM_BOTH)
            pc->dg_lost = pc->dg_sent - pc->dg_recv;
        res->bytes_sent += pc->bytes_sent;
        res->bytes_recv += pc->bytes_recv;
    }
    double *x = malloc(sizeof(*x) * cfg->conns);
    if (x) {
        size_t m = 0;
        for (unsigned i = 0; i < cfg->conns; i++)
            if (res->per[i].ok)
                x[m++] = (double)(cfg->dir == SK_STREAM_SEND ? res->per[i].bytes_sent
                                                             : res->per[i].bytes_recv);
        res->fairness = sk_jain_index(x, m);
        free(x);
    }
done:
    if (st)
        for (unsigned i = 0; i < cfg->conns; i++) {
            if (st[i].fd >= 0)
                close(st[i].fd);
            free(st[i].seen);
        }
    if (ep >= 0)
        close(ep);
    free(st);
    free(out);
    free(in);
    if (rc < 0) {
        free(res->per);
        res->per = NULL;
    }
    return rc;
}
