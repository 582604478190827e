/*
 * discard.c - the discard service (RFC 863): every byte received is thrown
 * away and nothing is ever sent; the connection lasts until the client
 * closes it (or the idle timeout). Over UDP a datagram gets no reply.
 */
#include "sockit/service.h"

static int discard_create(void **state)
{
    *state = NULL; /* no configuration */
    return 0;
}

static ssize_t discard_data(struct sk_conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    return (ssize_t)n;
}

static ssize_t discard_datagram(void *state, const struct sk_addr *from, const char *in, size_t n,
                                char *out, size_t outmax)
{
    (void)state;
    (void)from;
    (void)in;
    (void)n;
    (void)out;
    (void)outmax;
    return SK_NO_REPLY;
}

const struct sk_service sk_service_discard = {
    .name = "discard",
    .summary = "read and throw away everything (RFC 863)",
    .flags = SK_SVC_STREAM | SK_SVC_DGRAM,
    .create = discard_create,
    .data = discard_data,
    .datagram = discard_datagram,
};
