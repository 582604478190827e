/*
 * perip.c - per source address limits (--max-per-ip, --accept-rate): a
 * bounded hash table of source addresses in shared memory (forked workers
 * see the same counts), each with its open connections and a token bucket
 * of new ones, under one process-shared robust mutex.
 *
 * Bounded: an address lives within PROBE slots of its home slot; an entry
 * with no connection open and a full bucket is free for reuse. When the
 * PROBE slots of a new address are all taken by live entries the connection
 * is refused (the table is sized at twice --max-conns, so that takes that
 * many sources at once, each holding a connection).
 */
#include "internal.h"

#include "sockit/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PROBE 64

struct entry {
    uint8_t key[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    uint8_t used;
    uint32_t open;    /* connections open now */
    int64_t tokens_m; /* accept-rate bucket, in thousandths of a connection */
    int64_t last_ms;  /* when the bucket was last filled */
};

struct sk__perip {
    pthread_mutex_t lock; /* process-shared, robust: a worker may die holding it */
    size_t size;          /* slots, a power of two */
    size_t bytes;         /* of the mapping */
    struct entry slot[];
};

static int key_of(const struct sk_addr *a, uint8_t key[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sk_addr_family(a) == AF_INET) {
        memcpy(key, mapped, 12);
        memcpy(key + 12, &a->u.in4.sin_addr, 4);
        return 1;
    }
    if (sk_addr_family(a) == AF_INET6) {
        memcpy(key, &a->u.in6.sin6_addr, 16);
        return 1;
    }
    return 0; /* Unix peers have no address: not limited */
}

static size_t hash(const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

int sk__perip_init(struct sk_server *srv)
{
    if (srv->perip || (!srv->lim.max_per_ip && !srv->lim.ip_rate))
        return 0;
    size_t want = srv->lim.max_conns ? 2 * (size_t)srv->lim.max_conns : 65536, size = 1024;
    while (size < want && size < ((size_t)1 << 20))
        size <<= 1;
    size_t bytes = sizeof(struct sk__perip) + size * sizeof(struct entry);
    struct sk__perip *t =
        mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return -errno;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&t->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    t->size = size;
    t->bytes = bytes;
    srv->perip = t;
    return 0;
}

void sk__perip_free(struct sk_server *srv)
{
    if (srv->perip)
        munmap(srv->perip, srv->perip->bytes);
    srv->perip = NULL;
}

static void lock(struct sk__perip *t)
{
    if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&t->lock); /* the counts stay as they were */
}

/* Fill e's bucket up to now (rate per second, as many in a burst). */
static void refill(struct entry *e, unsigned rate, int64_t now)
{
    int64_t full = (int64_t)rate * 1000;
    if (!rate)
        return;
    e->tokens_m += (now - e->last_ms) * (int64_t)rate;
    if (e->tokens_m > full)
        e->tokens_m = full;
    e->last_ms = now;
}

/* The entry of key, or a free one for it (used set, counts fresh), or NULL
 * when its probe window is full of live entries. */
static struct entry *find(struct sk__perip *t, const uint8_t key[16], unsigned rate, int64_t now,
                          int create)
{
    struct entry *spare = NULL;
    size_t h = hash(key);
    for (size_t i = 0; i < PROBE && i < t->size; i++) {
        struct entry *e = &t->slot[(h + i) & (t->size - 1)];
        if (e->used && memcmp(e->key, key, 16) == 0)
            return e;
        if (!spare && create) {
            if (!e->used) {
                spare = e;
            } else if (e->open == 0) {
                refill(e, rate, now);
                if (!rate || e->tokens_m >= (int64_t)rate * 1000)
                    spare = e; /* nothing left to remember about it */
            }
        }
    }
    if (spare) {
        memcpy(spare->key, key, 16);
        spare->used = 1;
        spare->open = 0;
        spare->tokens_m = (int64_t)rate * 1000;
        spare->last_ms = now;
    }
    return spare;
}

int sk__perip_admit(struct sk_server *srv, const struct sk_addr *peer)
{
    struct sk__perip *t = srv->perip;
    uint8_t key[16];
    unsigned rate = srv->lim.ip_rate, max = srv->lim.max_per_ip;
    int r = SK_PERIP_OK;

    if (!t || !key_of(peer, key))
        return SK_PERIP_OK;
    int64_t now = sk_now_ms();
    lock(t);
    struct entry *e = find(t, key, rate, now, 1);
    if (!e) {
        r = SK_PERIP_FULL;
    } else {
        refill(e, rate, now);
        if (max && e->open >= max)
            r = SK_PERIP_MAX;
        else if (rate && e->tokens_m < 1000)
            r = SK_PERIP_RATE;
        else {
            e->open++;
            if (rate)
                e->tokens_m -= 1000;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

void sk__perip_release(struct sk_server *srv, const struct sk_addr *peer)
{
    struct sk__perip *t = srv->perip;
    uint8_t key[16];

    if (!t || !key_of(peer, key))
        return;
    lock(t);
    struct entry *e = find(t, key, 0, 0, 0);
    if (e && e->open > 0)
        e->open--;
    pthread_mutex_unlock(&t->lock);
}
