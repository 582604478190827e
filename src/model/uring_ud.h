/*
 * uring_ud.h - what an io_uring completion is about, in its user_data: an
 * operation in the low bits and, for a connection's receive or send, the
 * connection's address in the rest (as liburing's examples/proxy.c does
 * with encode_userdata / cqe_to_op / cqe_to_conn). Connections are at least
 * 8-byte aligned, so three low bits are free. Pure: unit-tested without a
 * ring.
 */
#ifndef SOCKIT_MODEL_URING_UD_H
#define SOCKIT_MODEL_URING_UD_H

#include <stdint.h>

enum sk__ud_op {
    SK_UD_IGNORE = 0, /* a cancellation's own completion: nothing to do */
    SK_UD_RECV,       /* a connection's receive */
    SK_UD_SEND,       /* a connection's send */
    SK_UD_LISTEN,     /* the loop's poll on the listener */
    SK_UD_STOP,       /* ... on the server's stop eventfd */
    SK_UD_WAKE,       /* ... on the loop's hub wake-up eventfd */
    SK_UD_STDIN,      /* ... on a terminal stdin */
    SK_UD_UPPOLL,     /* a poll on a connection's upstream descriptor (its slot's address) */
    SK_UD_OPS
};

#define SK_UD_OP_MASK 7u

_Static_assert(SK_UD_OPS <= SK_UD_OP_MASK + 1, "every operation fits the low bits");

/* user_data for op on conn (NULL for the loop's own polls). conn must be
 * 8-byte aligned. */
static inline uint64_t sk__ud_encode(const void *conn, enum sk__ud_op op)
{
    return (uint64_t)(uintptr_t)conn | (uint64_t)op;
}

static inline enum sk__ud_op sk__ud_op(uint64_t ud)
{
    return (enum sk__ud_op)(ud & SK_UD_OP_MASK);
}

/* The connection of a receive or send (NULL for the loop's own polls). */
static inline void *sk__ud_conn(uint64_t ud)
{
    return (void *)(uintptr_t)(ud & ~(uint64_t)SK_UD_OP_MASK);
}

#endif
