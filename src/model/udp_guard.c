/*
 * udp_guard.c - which datagrams a UDP service may answer. A reply goes to
 * whatever source address the datagram claims, so a forged source turns a
 * server into a reflector, or two servers into an endless loop (echo and
 * chargen answering each other). The rules are OpenBSD inetd's dg_badinput():
 * no reply to an unspecified, broadcast or multicast address, nor to a
 * privileged source port (below 1024: the UDP services themselves, echo 7,
 * discard 9, daytime 13, chargen 19, and every other well-known service that
 * might answer back) or NFS's 2049; and none to the server's own address and
 * port. On top of that, --udp-rate bounds the replies per second to one
 * source address: a token bucket per address in a fixed-size table
 * (set-associative, the least recently seen entry of a set is replaced), so
 * no number of sources grows it.
 */
#include "udp.h"

#include "sockit/util.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SETS 1024
#define WAYS 4

struct bucket {
    uint8_t used;
    uint8_t key[16]; /* IPv4 (mapped) or IPv6 address */
    int64_t seen_ms; /* last refill */
    int64_t milli;   /* tokens in thousandths of a reply */
};

struct sk__udp_guard {
    struct sk_addr self[SK_SERVER_MAX_ADDRS]; /* the bound addresses and port */
    int self_any[SK_SERVER_MAX_ADDRS];        /* a wildcard: any local address is ours */
    size_t nself;
    struct sk_addr *local;
    size_t nlocal;
    struct in_addr *bcast; /* IPv4 broadcast addresses of the interfaces */
    size_t nbcast;
    unsigned rate; /* replies per second per source; 0: no limit */
    pthread_mutex_t lock;
    struct bucket *tab; /* SETS * WAYS, when rate */
};

int sk__udp_guard_new(const struct sk_addr *self, size_t nself, unsigned rate,
                      struct sk__udp_guard **out)
{
    struct sk__udp_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->nself = nself < SK_SERVER_MAX_ADDRS ? nself : SK_SERVER_MAX_ADDRS;
    for (size_t i = 0; i < g->nself; i++) {
        const struct sk_addr *a = &self[i];
        g->self[i] = *a;
        g->self_any[i] =
            (sk_addr_family(a) == AF_INET && a->u.in4.sin_addr.s_addr == htonl(INADDR_ANY)) ||
            (sk_addr_family(a) == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr));
    }
    g->rate = rate;
    pthread_mutex_init(&g->lock, NULL);
    if (rate && !(g->tab = calloc((size_t)SETS * WAYS, sizeof(*g->tab)))) {
        sk__udp_guard_free(g);
        return -ENOMEM;
    }
    int fam = nself ? sk_addr_family(&self[0]) : AF_UNIX;
    struct ifaddrs *ifa = NULL;
    if (fam != AF_UNIX && getifaddrs(&ifa) == 0) {
        size_t n = 0;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
            n++;
        g->local = calloc(n ? n : 1, sizeof(*g->local));
        g->bcast = calloc(n ? n : 1, sizeof(*g->bcast));
        for (struct ifaddrs *i = ifa; i && g->local && g->bcast; i = i->ifa_next) {
            if (!i->ifa_addr)
                continue;
            if (i->ifa_addr->sa_family == AF_INET) {
                struct sk_addr *a = &g->local[g->nlocal++];
                memcpy(&a->u.in4, i->ifa_addr, sizeof(a->u.in4));
                a->len = sizeof(a->u.in4);
                if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr)
                    g->bcast[g->nbcast++] =
                        ((const struct sockaddr_in *)(const void *)i->ifa_broadaddr)->sin_addr;
            } else if (i->ifa_addr->sa_family == AF_INET6) {
                struct sk_addr *a = &g->local[g->nlocal++];
                memcpy(&a->u.in6, i->ifa_addr, sizeof(a->u.in6));
                a->len = sizeof(a->u.in6);
            }
        }
        freeifaddrs(ifa);
    }
    *out = g;
    return 0;
}

void sk__udp_guard_free(struct sk__udp_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g->tab);
    free(g->local);
    free(g->bcast);
    free(g);
}

/* The address as 16 bytes (IPv4 as IPv4-mapped IPv6) and its port; 0 for a
 * family without one. */
static int key_of(const struct sk_addr *a, uint8_t key[16], uint16_t *port)
{
    if (sk_addr_family(a) == AF_INET) {
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &a->u.in4.sin_addr, 4);
        *port = ntohs(a->u.in4.sin_port);
        return 1;
    }
    if (sk_addr_family(a) == AF_INET6) {
        memcpy(key, &a->u.in6.sin6_addr, 16);
        *port = ntohs(a->u.in6.sin6_port);
        return 1;
    }
    return 0;
}

static int is_v4(const uint8_t k[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(k, mapped, 12) == 0;
}

/* Is the address k one of ours (for a wildcard-bound server)? */
static int is_local(const struct sk__udp_guard *g, const uint8_t k[16])
{
    for (size_t i = 0; i < g->nlocal; i++) {
        uint8_t lk[16];
        uint16_t p;
        if (key_of(&g->local[i], lk, &p) && memcmp(lk, k, 16) == 0)
            return 1;
    }
    return 0;
}

const char *sk__udp_guard_refuse(const struct sk__udp_guard *g, const struct sk_addr *from)
{
    uint8_t k[16], sk[16];
    uint16_t port, sport;

    if (!key_of(from, k, &port))
        return NULL; /* a Unix datagram socket: a local peer with a path */
    if (is_v4(k)) {
        uint32_t a = ntohl(*(const uint32_t *)(const void *)(k + 12));
        if ((a >> 24) == 0)
            return "an unspecified (0.0.0.0/8) source";
        if ((a >> 28) == 0xe)
            return "a multicast source";
        if ((a >> 24) == 255)
            return "a broadcast source";
        for (size_t i = 0; i < g->nbcast; i++)
            if (g->bcast[i].s_addr == htonl(a))
                return "a broadcast source";
    } else {
        struct in6_addr a6;
        memcpy(&a6, k, 16);
        if (IN6_IS_ADDR_UNSPECIFIED(&a6))
            return "an unspecified (::) source";
        if (IN6_IS_ADDR_MULTICAST(&a6))
            return "a multicast source";
    }
    if (port < 1024)
        return "a privileged source port (a service that might answer back)";
    if (port == 2049)
        return "the NFS port";
    for (size_t i = 0; i < g->nself; i++)
        if (key_of(&g->self[i], sk, &sport) && port == sport &&
            (memcmp(k, sk, 16) == 0 || (g->self_any[i] && is_local(g, k))))
            return "the server's own address";
    return NULL;
}

int sk__udp_guard_allow(struct sk__udp_guard *g, const struct sk_addr *from, int64_t now_ms)
{
    uint8_t k[16];
    uint16_t port;

    if (!g->rate || !key_of(from, k, &port))
        return 1;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of the address */
    for (int i = 0; i < 16; i++)
        h = (h ^ k[i]) * 1099511628211ULL;
    struct bucket *set = g->tab + (size_t)(h % SETS) * WAYS, *b = NULL, *old = set;
    int64_t cap = (int64_t)g->rate * 1000;
    int ok;

    pthread_mutex_lock(&g->lock);
    for (int w = 0; w < WAYS; w++) {
        if (set[w].used && memcmp(set[w].key, k, 16) == 0) {
            b = &set[w];
            break;
        }
        if (!set[w].used || (old->used && set[w].seen_ms < old->seen_ms))
            old = &set[w];
    }
    if (!b) { /* a new source: the least recently seen entry of the set goes */
        b = old;
        b->used = 1;
        memcpy(b->key, k, 16);
        b->seen_ms = now_ms;
        b->milli = cap;
    }
    int64_t dt = now_ms - b->seen_ms;
    if (dt > 0) {
        b->milli = b->milli + dt * (int64_t)g->rate > cap ? cap : b->milli + dt * (int64_t)g->rate;
        b->seen_ms = now_ms;
    }
    ok = b->milli >= 1000;
    if (ok)
        b->milli -= 1000;
    pthread_mutex_unlock(&g->lock);
    return ok;
}
