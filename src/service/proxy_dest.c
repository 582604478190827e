/*
 * proxy_dest.c - reaching a proxy client's destination, for `serve socks`
 * and `serve http-proxy`: --allow-dest (an allow list of CIDR prefixes,
 * checked on every address actually connected to, so a name cannot lead
 * around it), the lookup of a name on a thread of its own
 * (sk_resolve_start(): getaddrinfo() blocks, and an event loop serving
 * other clients must not; the service polls it from a short deadline,
 * 1 ms doubling to 50 ms), and the upstream connect in the core with
 * failover over the name's addresses.
 */
#include "proxy_dest.h"

#include "sockit/error.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_FIRST_MS 1
#define POLL_MAX_MS 50

int sk__dest_check_cidr(const char *value, char *why, size_t len)
{
    struct sk_cidr cidr;
    const char *reason = NULL;
    if (sk_cidr_parse(value, &cidr, &reason) == 0)
        return 0;
    snprintf(why, len, "'%s': %s", value, reason);
    return -1;
}

void sk__dest_add_cidr(void *state)
{
    struct sk__dest_rules *r = state;
    if (sk_acl_add(&r->allow, 1, r->allow_arg, NULL) < 0)
        r->bad = -ENOMEM;
    free(r->allow_arg);
    r->allow_arg = NULL;
}

void sk__dest_rules_init(struct sk__dest_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->connect_timeout_ms = 10000;
}

void sk__dest_rules_free(struct sk__dest_rules *r)
{
    sk_acl_free(&r->allow);
    free(r->allow_arg);
}

static int permitted(const struct sk__dest_rules *r, const struct sk_addr *a)
{
    return r->allow.nallow == 0 || sk_acl_permits(&r->allow, a);
}

/* Connect to the next permitted address. */
static int connect_next(struct sk_conn *c, struct sk__dest *d, const struct sk__dest_rules *r)
{
    while (d->next < d->n) {
        struct sk_addr *a = &d->addr[d->next++];
        if (!permitted(r, a)) {
            d->denied = 1;
            continue;
        }
        sk_addr_set_port(a, d->port);
        int e = sk_conn_upstream_connect(c, a, r->connect_timeout_ms);
        if (e == 0)
            return 0;
        d->err = e;
    }
    if (d->err)
        return d->err;
    return d->denied ? -EACCES : -EHOSTUNREACH;
}

int sk__dest_go(struct sk_conn *c, struct sk__dest *d, const struct sk__dest_rules *r,
                const char *host, uint16_t port)
{
    snprintf(d->host, sizeof(d->host), "%s", host);
    d->port = port;
    if (sk_addr_from_ip(host, port, &d->addr[0], NULL) == 0) {
        d->n = 1;
        return connect_next(c, d, r);
    }
    int e = sk_resolve_start(host, port, &d->job);
    if (e < 0)
        return e;
    d->started_ms = sk_now_ms();
    d->wait_ms = POLL_FIRST_MS;
    /* The armed deadline also keeps the connection open after the client's
     * EOF (a request, its bytes and a half-close sent in one go). */
    sk_conn_set_deadline(c, d->wait_ms);
    return 0;
}

int sk__dest_timeout(struct sk_conn *c, struct sk__dest *d, const struct sk__dest_rules *r)
{
    if (!d->job)
        return 0;
    int n = sk_resolve_result(d->job, d->addr, SK__DEST_ADDRS);
    if (n == -EAGAIN) {
        if (sk_now_ms() - d->started_ms >= r->connect_timeout_ms)
            return -ETIMEDOUT;
        d->wait_ms = d->wait_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : d->wait_ms * 2;
        sk_conn_set_deadline(c, d->wait_ms);
        return 0;
    }
    sk_resolve_drop(d->job);
    d->job = NULL;
    if (n < 0)
        return n;
    d->n = n > SK__DEST_ADDRS ? SK__DEST_ADDRS : (unsigned)n;
    d->next = 0;
    return connect_next(c, d, r);
}

int sk__dest_failed(struct sk_conn *c, struct sk__dest *d, const struct sk__dest_rules *r, int err)
{
    d->err = err;
    return connect_next(c, d, r);
}

void sk__dest_log(const struct sk_conn *c, const struct sk__dest *d, const char *svc,
                  const char *what, int err)
{
    char peer[SK_ADDR_STRLEN];
    if (sk_log_level < SK_LOG_DEBUG)
        return;
    sk_addr_format(sk_conn_peer(c), peer, sizeof(peer));
    int v6 = strchr(d->host, ':') != NULL;
    sk_log(SK_LOG_DEBUG, "%s: %s -> %s%s%s:%u: %s%s%s", svc, peer, v6 ? "[" : "", d->host,
           v6 ? "]" : "", d->port, what, err ? ": " : "", err ? sk_strerror(err) : "");
}

void sk__dest_close(struct sk__dest *d)
{
    sk_resolve_drop(d->job);
    d->job = NULL;
}
