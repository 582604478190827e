/*
 * list.h - the one intrusive list of the models: a circular doubly linked
 * list through a struct sk__list embedded in each element (libuv's
 * uv__queue, the kernel's list_head). Insertion and removal are O(1) and
 * never allocate; an element not on any list points to itself, so
 * sk__list_linked() tells whether it is on one. Not thread-safe: whoever
 * owns the list (a loop, or a lock) guards it.
 */
#ifndef SOCKIT_MODEL_LIST_H
#define SOCKIT_MODEL_LIST_H

#include <stddef.h>

struct sk__list {
    struct sk__list *next, *prev;
};

/* The element of type `type` whose member `member` is at p. */
#define SK_LIST_ENTRY(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

/* An empty list head, or an element that is on no list. */
static inline void sk__list_init(struct sk__list *h)
{
    h->next = h->prev = h;
}

static inline int sk__list_empty(const struct sk__list *h)
{
    return h->next == h;
}

/* Is element n on a list? (n was initialised with sk__list_init.) */
static inline int sk__list_linked(const struct sk__list *n)
{
    return n->next != n;
}

/* Append n (on no list) at the end of h. */
static inline void sk__list_push(struct sk__list *h, struct sk__list *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

/* Take n off its list (no-op when on none); n is then on no list. */
static inline void sk__list_remove(struct sk__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* The first element, or NULL when h is empty. */
static inline struct sk__list *sk__list_first(const struct sk__list *h)
{
    return sk__list_empty(h) ? NULL : h->next;
}

/* Move every element of from to the end of to; from is then empty. */
static inline void sk__list_splice(struct sk__list *to, struct sk__list *from)
{
    if (sk__list_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    sk__list_init(from);
}

/* Walk h; n may be removed (and freed) inside the body, tmp holds the next. */
#define SK_LIST_EACH_SAFE(n, tmp, h)                                                               \
    for ((n) = (h)->next, (tmp) = (n)->next; (n) != (h); (n) = (tmp), (tmp) = (n)->next)

#endif
