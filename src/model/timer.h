/*
 * timer.h - a binary min-heap of deadlines for the event loops.
 *
 * Each connection embeds one struct sk_timer. The loops use it lazily: a
 * timer is armed for the earliest moment something might be due (idle
 * timeout or service deadline) and only moved earlier eagerly; when it fires
 * the loop recomputes the real deadline and re-arms if nothing is due yet.
 * So a busy connection costs nothing per message, and a loop iteration costs
 * O(log n) per timer that fires, never O(connections).
 * Not thread-safe: one heap per event loop.
 */
#ifndef SOCKIT_MODEL_TIMER_H
#define SOCKIT_MODEL_TIMER_H

#include <stddef.h>
#include <stdint.h>

struct sk_timer {
    int64_t at; /* monotonic ms when due */
    size_t idx; /* 1-based slot in the heap; 0 = not armed */
};

struct sk_timer_heap {
    struct sk_timer **v; /* v[0] unused: slots are 1-based */
    size_t n, cap;
};

void sk__timer_heap_init(struct sk_timer_heap *h);
void sk__timer_heap_free(struct sk_timer_heap *h);

/* Arm t at `at`, or move it there when already armed. Returns 0 or -ENOMEM
 * (t is then unchanged). */
int sk__timer_set(struct sk_timer_heap *h, struct sk_timer *t, int64_t at);

/* Disarm t (no-op when not armed). */
void sk__timer_del(struct sk_timer_heap *h, struct sk_timer *t);

/* The earliest timer, or NULL when none is armed. */
static inline struct sk_timer *sk__timer_top(const struct sk_timer_heap *h)
{
    return h->n ? h->v[1] : NULL;
}

static inline int sk__timer_armed(const struct sk_timer *t)
{
    return t->idx != 0;
}

/* Milliseconds from now until the earliest timer (0 when overdue), capped at
 * cap_ms; -1 when none is armed and cap_ms < 0. */
int sk__timer_wait_ms(const struct sk_timer_heap *h, int64_t now, int cap_ms);

#endif
