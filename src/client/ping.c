/*
 * ping.c - ICMP echo over IPv4 and IPv6, as ping(8) does it: an
 * unprivileged ICMP datagram socket (SOCK_DGRAM, IPPROTO_ICMP[V6]) where
 * net.ipv4.ping_group_range admits our group, otherwise a raw socket when the
 * process may open one (CAP_NET_RAW).
 *
 * The two kinds differ in what the kernel does for us. A datagram socket
 * fills in the identifier (it is the socket's local "port"), computes the
 * checksum and hands us only the replies meant for this socket, without the
 * IPv4 header. A raw socket sees every ICMP message of the host, so we set
 * our own identifier, compute the IPv4 checksum (the kernel does it for
 * ICMPv6), filter by type in the kernel (ICMP_FILTER / ICMP6_FILTER) and by
 * identifier and source here, and skip the IPv4 header it prepends.
 * Either way every reply's identifier, sequence number and payload are
 * checked against what was sent.
 */
#include "sockit/client.h"

#include "sockit/util.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/icmp.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define ECHO_REQUEST4 8
#define ECHO_REPLY4 0
#define HDR 8 /* ICMP echo header: type, code, checksum, id, seq */
#define RXBUF (65536 + 128)

int sk_ping_open(int family, int kind, int *kind_used, char *why, size_t whylen)
{
    int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int derr = 0, fd;

    if (kind != SK_PING_RAW) {
        fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
        if (fd >= 0) {
            *kind_used = SK_PING_DGRAM;
            return fd;
        }
        derr = -errno;
        if (kind == SK_PING_DGRAM)
            goto refused;
    }
    fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
    if (fd >= 0) {
        *kind_used = SK_PING_RAW;
        return fd;
    }
    int rerr = -errno;
    if (kind == SK_PING_RAW) {
        snprintf(why, whylen, "cannot open a raw ICMP socket: %s (it needs CAP_NET_RAW)",
                 strerror(-rerr));
        return rerr;
    }
refused:;
    char range[64] = "?";
    FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "r");
    if (f) {
        unsigned long lo, hi;
        if (fscanf(f, "%lu %lu", &lo, &hi) == 2)
            snprintf(range, sizeof(range), "%lu %lu", lo, hi);
        fclose(f);
    }
    if (kind == SK_PING_DGRAM)
        snprintf(why, whylen,
                 "cannot open an unprivileged ICMP socket: %s (net.ipv4.ping_group_range is "
                 "\"%s\" and our group is %u)",
                 strerror(-derr), range, (unsigned)getegid());
    else
        snprintf(why, whylen,
                 "neither socket kind is allowed: an unprivileged ICMP socket is refused "
                 "(%s: net.ipv4.ping_group_range is \"%s\", our group is %u) and a raw "
                 "socket needs CAP_NET_RAW (%s)",
                 strerror(-derr), range, (unsigned)getegid(), strerror(-rerr));
    return derr;
}

static uint16_t checksum(const unsigned char *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* The data bytes of echo request seq: a pattern that differs per sequence
 * number, so a reply carrying another request's data is caught. */
static unsigned char pattern(uint16_t seq, size_t i)
{
    return (unsigned char)(seq * 31u + i);
}

struct pinger {
    int fd, kind, family;
    const struct sk_addr *dst;
    const struct sk_ping_opts *o;
    FILE *out;
    struct sk_ping_stats *st;
    uint16_t id;        /* our identifier (network order on the wire) */
    int id_known;       /* datagram sockets: learnt from the bound "port" */
    int64_t *sent_ns;   /* by 16-bit sequence number; 0: not outstanding */
    unsigned char *got; /* replies seen per sequence number */
    unsigned char *pkt, *rx;
    char addr[SK_ADDR_STRLEN];
};

static int send_one(struct pinger *p, uint16_t seq)
{
    size_t n = HDR + p->o->size;
    unsigned char *k = p->pkt;

    k[0] = p->family == AF_INET6 ? ICMP6_ECHO_REQUEST : ECHO_REQUEST4;
    k[1] = 0;
    k[2] = k[3] = 0;
    k[4] = (unsigned char)(p->id >> 8);
    k[5] = (unsigned char)p->id;
    k[6] = (unsigned char)(seq >> 8);
    k[7] = (unsigned char)seq;
    for (size_t i = 0; i < p->o->size; i++)
        k[HDR + i] = pattern(seq, i);
    if (p->family == AF_INET) {
        uint16_t c = checksum(k, n);
        k[2] = (unsigned char)(c >> 8);
        k[3] = (unsigned char)c;
    }
    p->sent_ns[seq] = sk_now_ns();
    p->got[seq] = 0;
    p->st->transmitted++;
    ssize_t w;
    do {
        w = sendto(p->fd, k, n, 0, &p->dst->u.sa, p->dst->len);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        int e = errno;
        fprintf(stderr, "sockit: ping: sendto %s: %s\n", p->addr, strerror(e));
        return -e;
    }
    if (p->kind == SK_PING_DGRAM && !p->id_known) {
        struct sk_addr me;
        memset(&me, 0, sizeof(me));
        me.len = sizeof(me.u);
        if (getsockname(p->fd, &me.u.sa, &me.len) == 0) {
            p->id = sk_addr_port(&me);
            p->id_known = 1;
        }
    }
    return 0;
}

static void rtt_add(struct sk_ping_stats *st, double ms)
{
    if (st->received == 1 || ms < st->rtt_min)
        st->rtt_min = ms;
    if (st->received == 1 || ms > st->rtt_max)
        st->rtt_max = ms;
    st->rtt_sum += ms;
    st->rtt_sum2 += ms * ms;
}

static int same_host(const struct sk_addr *a, const struct sk_addr *b)
{
    if (sk_addr_family(a) != sk_addr_family(b))
        return 0;
    if (sk_addr_family(a) == AF_INET)
        return a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* Take one message from the socket; print and count it when it is a reply
 * to us. */
static void receive_one(struct pinger *p)
{
    struct sk_addr from;
    char ctl[256];
    struct iovec iov = {.iov_base = p->rx, .iov_len = RXBUF};
    struct msghdr mh = {
        .msg_name = &from.u.sa,
        .msg_namelen = sizeof(from.u),
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl,
        .msg_controllen = sizeof(ctl),
    };
    memset(&from, 0, sizeof(from));
    ssize_t got = recvmsg(p->fd, &mh, MSG_DONTWAIT);
    int64_t now = sk_now_ns();
    if (got < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "sockit: ping: from %s: %s\n", p->addr, strerror(errno));
        }
        return;
    }
    from.len = mh.msg_namelen;
    const unsigned char *m = p->rx;
    size_t n = (size_t)got;
    int ttl = -1;

    if (p->family == AF_INET && p->kind == SK_PING_RAW) {
        /* A raw IPv4 socket hands us the IP header too. */
        if (n < 20 || (m[0] >> 4) != 4 || (size_t)(m[0] & 0x0f) * 4 > n)
            return;
        size_t ihl = (size_t)(m[0] & 0x0f) * 4;
        ttl = m[8];
        m += ihl;
        n -= ihl;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof(v));
            ttl = v;
        }
    }
    if (n < HDR)
        return;
    int reply_type = p->family == AF_INET6 ? ICMP6_ECHO_REPLY : ECHO_REPLY4;
    if (m[0] != reply_type || m[1] != 0)
        return; /* not an echo reply (raw sockets see all ICMP) */
    uint16_t id = (uint16_t)(m[4] << 8 | m[5]), seq = (uint16_t)(m[6] << 8 | m[7]);
    if (p->kind == SK_PING_RAW && (id != p->id || !same_host(&from, p->dst)))
        return; /* another process's ping, or another host */
    if (p->kind == SK_PING_DGRAM && p->id_known && id != p->id)
        return;
    if (!p->sent_ns[seq])
        return; /* nothing of ours was sent with this number */
    double ms = (double)(now - p->sent_ns[seq]) / 1e6;
    char host[SK_ADDR_STRLEN];
    sk_addr_format_host(&from, host, sizeof(host));
    int dup = p->got[seq] != 0;
    if (p->got[seq] < 255)
        p->got[seq]++;
    if (dup) {
        p->st->duplicates++;
    } else {
        p->st->received++;
        rtt_add(p->st, ms);
    }
    if (p->o->quiet)
        return;
    fprintf(p->out, "%zu bytes from %s: icmp_seq=%u", n, host, (unsigned)seq);
    if (ttl >= 0)
        fprintf(p->out, " ttl=%d", ttl);
    fprintf(p->out, " time=%.3f ms%s\n", ms, dup ? " (DUP!)" : "");
    size_t data = n - HDR;
    if (data != p->o->size) {
        p->st->corrupted++;
        fprintf(p->out, "wrong data length: %zu byte%s, %zu sent\n", data, data == 1 ? "" : "s",
                p->o->size);
    } else {
        for (size_t i = 0; i < data; i++) {
            if (m[HDR + i] != pattern(seq, i)) {
                p->st->corrupted++;
                fprintf(p->out, "wrong data byte #%zu should be 0x%02x but was 0x%02x\n", i,
                        pattern(seq, i), m[HDR + i]);
                break;
            }
        }
    }
    fflush(p->out);
}

static void set_int(int fd, int level, int name, int v)
{
    setsockopt(fd, level, name, &v, sizeof(v));
}

int sk_ping_run(int fd, int kind, const struct sk_addr *dst, const char *name,
                const struct sk_ping_opts *o, FILE *out, struct sk_ping_stats *st)
{
    struct pinger p = {
        .fd = fd,
        .kind = kind,
        .family = sk_addr_family(dst),
        .dst = dst,
        .o = o,
        .out = out,
        .st = st,
    };
    int r = 0;

    memset(st, 0, sizeof(*st));
    sk_addr_format_host(dst, p.addr, sizeof(p.addr));
    p.sent_ns = calloc(65536, sizeof(*p.sent_ns));
    p.got = calloc(65536, 1);
    p.pkt = malloc(HDR + o->size);
    p.rx = malloc(RXBUF);
    if (!p.sent_ns || !p.got || !p.pkt || !p.rx) {
        r = -ENOMEM;
        goto out;
    }
    if (getrandom(&p.id, sizeof(p.id), 0) != sizeof(p.id))
        p.id = (uint16_t)getpid();
    if (p.family == AF_INET) {
        set_int(fd, IPPROTO_IP, IP_RECVTTL, 1);
        if (kind == SK_PING_RAW) {
            struct icmp_filter f = {.data = ~(1u << ECHO_REPLY4)};
            setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
        }
    } else {
        set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
        if (kind == SK_PING_RAW) {
            struct icmp6_filter f;
            ICMP6_FILTER_SETBLOCKALL(&f);
            ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
            setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
        }
    }
    /* Big payloads: make room for a few replies in the receive buffer. */
    set_int(fd, SOL_SOCKET, SO_RCVBUF, (int)SK_MAX(65536, 4 * (HDR + o->size + 64)));

    fprintf(out, "PING %s (%s) %zu(%zu) bytes of data, %s socket.\n", name, p.addr, o->size,
            o->size + HDR + (p.family == AF_INET ? 20 : 40),
            kind == SK_PING_RAW ? "raw ICMP" : "ICMP datagram");
    fflush(out);

    int64_t start = sk_now_ns(), next = start, end = 0;
    uint64_t sent = 0;
    uint16_t seq = 0;
    for (;;) {
        if (o->stop && *o->stop)
            break;
        int64_t now = sk_now_ns();
        if (!end && now >= next) {
            seq++;
            int e = send_one(&p, seq);
            if (e < 0 && e != -ENETUNREACH && e != -EHOSTUNREACH && e != -ENOBUFS && e != -EAGAIN &&
                e != -ECONNREFUSED) {
                r = e;
                break;
            }
            sent++;
            next += (int64_t)o->interval_ms * 1000000;
            if (o->count && sent >= o->count)
                end = now + (int64_t)o->timeout_ms * 1000000;
            continue;
        }
        if (end && (now >= end || st->received >= o->count))
            break;
        int64_t until = end ? end : next;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)((until - now + 999999) / 1000000));
        if (n < 0 && errno != EINTR) {
            r = -errno;
            break;
        }
        if (n > 0)
            receive_one(&p);
    }
    st->elapsed_ms = (sk_now_ns() - start) / 1000000;

    fprintf(out, "\n--- %s ping statistics ---\n", name);
    fprintf(out, "%" PRIu64 " packets transmitted, %" PRIu64 " received", st->transmitted,
            st->received);
    if (st->duplicates)
        fprintf(out, ", +%" PRIu64 " duplicates", st->duplicates);
    if (st->corrupted)
        fprintf(out, ", %" PRIu64 " corrupted", st->corrupted);
    double loss = st->transmitted
                      ? 100.0 * (double)(st->transmitted - st->received) / (double)st->transmitted
                      : 0.0;
    fprintf(out, ", %g%% packet loss, time %" PRId64 "ms\n", loss, st->elapsed_ms);
    if (st->received) {
        double cnt = (double)st->received, avg = st->rtt_sum / cnt;
        double var = st->rtt_sum2 / cnt - avg * avg;
        fprintf(out, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", st->rtt_min, avg,
                st->rtt_max, var > 0 ? sqrt(var) : 0.0);
    }
    fflush(out);
out:
    free(p.sent_ns);
    free(p.got);
    free(p.pkt);
    free(p.rx);
    return r;
}
