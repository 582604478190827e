/*
 * timer.c - the event loops' deadline heap (see timer.h).
 */
#include "timer.h"

#include <errno.h>
#include <stdlib.h>

void sk__timer_heap_init(struct sk_timer_heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

void sk__timer_heap_free(struct sk_timer_heap *h)
{
    for (size_t i = 1; i <= h->n; i++)
        h->v[i]->idx = 0;
    free(h->v);
    sk__timer_heap_init(h);
}

static void place(struct sk_timer_heap *h, size_t i, struct sk_timer *t)
{
    h->v[i] = t;
    t->idx = i;
}

static void sift_up(struct sk_timer_heap *h, size_t i)
{
    struct sk_timer *t = h->v[i];
    while (i > 1 && h->v[i / 2]->at > t->at) {
        place(h, i, h->v[i / 2]);
        i /= 2;
    }
    place(h, i, t);
}

static void sift_down(struct sk_timer_heap *h, size_t i)
{
    struct sk_timer *t = h->v[i];
    for (;;) {
        size_t c = 2 * i;
        if (c > h->n)
            break;
        if (c < h->n && h->v[c + 1]->at < h->v[c]->at)
            c++;
        if (h->v[c]->at >= t->at)
            break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, t);
}

int sk__timer_set(struct sk_timer_heap *h, struct sk_timer *t, int64_t at)
{
    if (t->idx) {
        int64_t old = t->at;
        t->at = at;
        if (at < old)
            sift_up(h, t->idx);
        else if (at > old)
            sift_down(h, t->idx);
        return 0;
    }
    if (h->n + 1 >= h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct sk_timer **v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    t->at = at;
    h->n++;
    place(h, h->n, t);
    sift_up(h, h->n);
    return 0;
}

void sk__timer_del(struct sk_timer_heap *h, struct sk_timer *t)
{
    size_t i = t->idx;
    if (!i)
        return;
    t->idx = 0;
    struct sk_timer *last = h->v[h->n--];
    if (last == t)
        return;
    place(h, i, last);
    if (i > 1 && h->v[i / 2]->at > last->at)
        sift_up(h, i);
    else
        sift_down(h, i);
}

int sk__timer_wait_ms(const struct sk_timer_heap *h, int64_t now, int cap_ms)
{
    const struct sk_timer *t = sk__timer_top(h);
    if (!t)
        return cap_ms;
    int64_t d = t->at - now;
    if (d < 0)
        d = 0;
    if (cap_ms >= 0 && d > cap_ms)
        d = cap_ms;
    return d > 24 * 3600 * 1000 ? 24 * 3600 * 1000 : (int)d;
}
