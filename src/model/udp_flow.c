/*
 * udp_flow.c - the client table of the datagram relay (udp_relay.c), pure:
 * no I/O, no clock, no lock (the caller holds one). One entry per client
 * address, found through a hash of the address, kept on a list from the
 * least to the most recently active (so expiry and eviction look only at
 * its head), in one array that grows by doubling up to a fixed capacity.
 * Entries are named by index; a generation counter per entry, bumped when
 * it is removed, tells a stale reference (an event for a closed flow) from
 * a live one.
 */
#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NIL (-1)

/* The address bytes that make the key: family, port, address (and the
 * IPv6 scope). */
static size_t key_of(const struct sk_addr *a, unsigned char *k)
{
    size_t n = 0;
    k[n++] = (unsigned char)a->u.sa.sa_family;
    if (a->u.sa.sa_family == AF_INET) {
        memcpy(k + n, &a->u.in4.sin_port, 2);
        memcpy(k + n + 2, &a->u.in4.sin_addr, 4);
        return n + 6;
    }
    if (a->u.sa.sa_family == AF_INET6) {
        memcpy(k + n, &a->u.in6.sin6_port, 2);
        memcpy(k + n + 2, &a->u.in6.sin6_addr, 16);
        memcpy(k + n + 18, &a->u.in6.sin6_scope_id, 4);
        return n + 22;
    }
    size_t l = a->len < sizeof(a->u) ? a->len : sizeof(a->u);
    memcpy(k + n, &a->u, l < 32 ? l : 32);
    return n + (l < 32 ? l : 32);
}

static int key_eq(const struct sk_addr *a, const struct sk_addr *b)
{
    unsigned char ka[40], kb[40];
    size_t na = key_of(a, ka), nb = key_of(b, kb);
    return na == nb && memcmp(ka, kb, na) == 0;
}

static uint32_t hash(const struct sk_addr *a)
{
    unsigned char k[40];
    size_t n = key_of(a, k);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 16777619u;
    return h ^ (h >> 15);
}

int sk__flows_init(struct sk__flowtab *t, uint32_t cap)
{
    memset(t, 0, sizeof(*t));
    if (cap == 0)
        return -EINVAL;
    uint32_t nb = 64;
    while (nb < cap && nb < (1u << 16))
        nb <<= 1;
    t->bucket = malloc(nb * sizeof(*t->bucket));
    if (!t->bucket)
        return -ENOMEM;
    for (uint32_t i = 0; i < nb; i++)
        t->bucket[i] = NIL;
    t->mask = nb - 1;
    t->cap = cap;
    t->head = t->tail = t->free = NIL;
    return 0;
}

void sk__flows_fini(struct sk__flowtab *t)
{
    free(t->f);
    free(t->bucket);
    memset(t, 0, sizeof(*t));
}

int32_t sk__flows_find(const struct sk__flowtab *t, const struct sk_addr *peer)
{
    for (int32_t i = t->bucket[hash(peer) & t->mask]; i != NIL; i = t->f[i].hnext)
        if (key_eq(&t->f[i].peer, peer))
            return i;
    return NIL;
}

static void lru_unlink(struct sk__flowtab *t, int32_t i)
{
    struct sk__flow *f = &t->f[i];
    if (f->prev != NIL)
        t->f[f->prev].next = f->next;
    else
        t->head = f->next;
    if (f->next != NIL)
        t->f[f->next].prev = f->prev;
    else
        t->tail = f->prev;
}

static void lru_append(struct sk__flowtab *t, int32_t i)
{
    struct sk__flow *f = &t->f[i];
    f->prev = t->tail;
    f->next = NIL;
    if (t->tail != NIL)
        t->f[t->tail].next = i;
    else
        t->head = i;
    t->tail = i;
}

int32_t sk__flows_add(struct sk__flowtab *t, const struct sk_addr *peer, int64_t now_ms)
{
    if (t->count == t->cap)
        return -ENOSPC;
    if (t->free == NIL) {
        /* Grow by doubling, never past the capacity. */
        uint32_t n = t->nf ? t->nf * 2 : 16;
        if (n > t->cap)
            n = t->cap;
        struct sk__flow *f = realloc(t->f, n * sizeof(*f));
        if (!f)
            return -ENOMEM;
        for (uint32_t i = t->nf; i < n; i++) {
            memset(&f[i], 0, sizeof(f[i]));
            f[i].fd = -1;
            f[i].next = i + 1 < n ? (int32_t)(i + 1) : t->free;
        }
        t->free = (int32_t)t->nf;
        t->f = f;
        t->nf = n;
    }
    int32_t i = t->free;
    struct sk__flow *f = &t->f[i];
    t->free = f->next;
    uint32_t gen = f->gen;
    memset(f, 0, sizeof(*f));
    f->gen = gen;
    f->fd = f->lfd = -1;
    f->peer = *peer;
    f->opened_ms = f->last_ms = now_ms;
    uint32_t b = hash(peer) & t->mask;
    f->hnext = t->bucket[b];
    t->bucket[b] = i;
    lru_append(t, i);
    t->count++;
    return i;
}

void sk__flows_touch(struct sk__flowtab *t, int32_t i, int64_t now_ms)
{
    t->f[i].last_ms = now_ms;
    if (t->tail != i) {
        lru_unlink(t, i);
        lru_append(t, i);
    }
}

void sk__flows_del(struct sk__flowtab *t, int32_t i)
{
    struct sk__flow *f = &t->f[i];
    int32_t *p = &t->bucket[hash(&f->peer) & t->mask];
    while (*p != i)
        p = &t->f[*p].hnext;
    *p = f->hnext;
    lru_unlink(t, i);
    f->gen++;
    f->fd = f->lfd = -1;
    f->next = t->free;
    t->free = i;
    t->count--;
}

int32_t sk__flows_oldest(const struct sk__flowtab *t)
{
    return t->head;
}

int32_t sk__flows_ref(const struct sk__flowtab *t, uint64_t ref)
{
    uint32_t i = (uint32_t)(ref & 0xffffffffu), gen = (uint32_t)(ref >> 32);
    if (i >= t->nf || t->f[i].gen != gen || t->f[i].fd < 0)
        return NIL;
    return (int32_t)i;
}
