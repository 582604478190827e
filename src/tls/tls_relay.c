/*
 * tls_relay.c - TLS as the relay's transport (sk_tls_relay_io): the net
 * core's sk_relay() moves plaintext through these and knows nothing of TLS.
 */
#include "sockit/relay.h"
#include "sockit/tls.h"

static ssize_t tls_read(void *t, void *buf, size_t n)
{
    return sk_tls_read(t, buf, n);
}

static ssize_t tls_write(void *t, const void *buf, size_t n)
{
    return sk_tls_write(t, buf, n);
}

static int tls_shutdown(void *t)
{
    return sk_tls_shutdown(t);
}

static short tls_want(const void *t)
{
    return sk_tls_want(t);
}

static size_t tls_pending(const void *t)
{
    return sk_tls_pending(t);
}

const struct sk_relay_io sk_tls_relay_io = {
    .read = tls_read,
    .write = tls_write,
    .shutdown = tls_shutdown,
    .want = tls_want,
    .pending = tls_pending,
};
