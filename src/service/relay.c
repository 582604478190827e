/*
 * relay.c - `sockit serve relay --to ADDR [--to ADDR]...`: a port forwarder.
 * Each connection gets an upstream (conn.h) connected to one of the --to
 * addresses (TCP host:port, [v6]:port, unix:PATH), taken round-robin; the
 * tunnel is piped from the start, so the model moves the bytes both ways
 * with backpressure and passes each half-close on. An address that refuses
 * (or does not answer within --connect-timeout) is skipped for the next one;
 * when every one refused, the client is closed and a line is logged (at most
 * one a second). What the client sends meanwhile waits, bounded, and goes to
 * whichever upstream accepts.
 *
 * With --udp the model relays (udp_relay.c): each client address gets a
 * flow with its own socket connected to the next --to (dgram_route(),
 * round-robin; no unix:), closed when idle (--idle-timeout, default 60 s)
 * or refused, so the client's next datagram goes to the next address.
 */
#include "sockit/error.h"
#include "sockit/resolve.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELAY_MAX_TO 16
#define RELAY_CONNECT_MS 5000

struct relay {
    char *to_arg; /* the --to just given (the option's field); post() files it */
    char *to_text[RELAY_MAX_TO];
    unsigned nto;
    int too_many;
    int connect_ms; /* --connect-timeout */
    struct sk_addr to[RELAY_MAX_TO];
    atomic_uint next;       /* round-robin: the address the next connection tries first */
    _Atomic int64_t logged; /* the last "every upstream refused" line (ms) */
    atomic_uint unlogged;   /* refused since */
};

struct relay_conn {
    unsigned first, tried;
};

static int relay_create(void **state)
{
    struct relay *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->connect_ms = RELAY_CONNECT_MS;
    *state = r;
    return 0;
}

static void relay_destroy(void *state)
{
    struct relay *r = state;
    free(r->to_arg);
    for (unsigned i = 0; i < r->nto; i++)
        free(r->to_text[i]);
    free(r);
}

/* --to is repeatable: each value is filed in the list as it comes. */
static void to_add(void *state)
{
    struct relay *r = state;
    if (r->nto == RELAY_MAX_TO) {
        r->too_many = 1;
        return;
    }
    r->to_text[r->nto++] = r->to_arg;
    r->to_arg = NULL;
}

/* ADDR as --to takes it: unix:PATH, /PATH, IPv4:PORT, [IPv6]:PORT, or
 * NAME:PORT (resolved once, at start). 0 or -errno with the reason. */
static int to_parse(const char *s, int socktype, struct sk_addr *out, char *why, size_t len)
{
    const char *w = NULL;
    if (strncmp(s, "unix:", 5) == 0 || s[0] == '/') {
        if (socktype == SOCK_DGRAM) {
            snprintf(why, len, "'%s': a UDP relay forwards to HOST:PORT or [IPv6]:PORT", s);
            return -EPROTOTYPE;
        }
        if (sk_addr_parse(s, 0, out, &w) < 0) {
            snprintf(why, len, "'%s': %s", s, w ? w : "not a Unix socket path");
            return -EINVAL;
        }
        return 0;
    }
    if (sk_addr_parse(s, 0, out, &w) == 0) {
        if (sk_addr_port(out) == 0) {
            snprintf(why, len, "'%s': a port is needed (HOST:PORT)", s);
            return -EINVAL;
        }
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1] || s[0] == '[') {
        snprintf(why, len, "'%s' is not HOST:PORT, [IPv6]:PORT or unix:PATH", s);
        return -EINVAL;
    }
    char host[256];
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof(host)) {
        snprintf(why, len, "'%s': the host name is too long", s);
        return -EINVAL;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    int r = sk_resolve_one(host, colon + 1, 0, socktype, 0, out);
    if (r < 0) {
        snprintf(why, len, "'%s': %s", s, sk_strerror(r));
        return r;
    }
    if (sk_addr_port(out) == 0) {
        snprintf(why, len, "'%s': a port is needed (HOST:PORT)", s);
        return -EINVAL;
    }
    return 0;
}

static int relay_start(void *state, struct sk_service_env *env, char *err, size_t errlen)
{
    struct relay *r = state;
    if (r->too_many) {
        snprintf(err, errlen, "--to: at most %d addresses", RELAY_MAX_TO);
        return -EINVAL;
    }
    if (r->nto == 0) {
        snprintf(err, errlen, "relay needs --to ADDR (HOST:PORT, [IPv6]:PORT or unix:PATH)");
        return -EINVAL;
    }
    for (unsigned i = 0; i < r->nto; i++) {
        char why[300];
        int e = to_parse(r->to_text[i], env->socktype, &r->to[i], why, sizeof(why));
        if (e < 0) {
            snprintf(err, errlen, "--to %s", why);
            return e == -EPROTOTYPE ? -ERANGE : -EINVAL; /* a usage error: exit 2 */
        }
        if (env->socktype == SOCK_DGRAM && sk_addr_equal(&r->to[i], env->addr)) {
            snprintf(err, errlen, "--to %s: that is this relay itself (a loop)", r->to_text[i]);
            return -ERANGE;
        }
    }
    return 0;
}

/* --udp: the upstream of a new flow, round-robin. */
static int relay_route(void *state, const struct sk_addr *from, struct sk_addr *to)
{
    struct relay *r = state;
    (void)from;
    *to = r->to[atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed) % r->nto];
    return 0;
}

/* Connect to the next address not tried yet. 0, or the error of the last. */
static int try_next(struct sk_conn *c, int err)
{
    struct relay *r = sk_conn_service_state(c);
    struct relay_conn *rc = c->ctx;

    while (rc->tried < r->nto) {
        unsigned i = (rc->first + rc->tried++) % r->nto;
        int e = sk_conn_upstream_connect(c, &r->to[i], r->connect_ms);
        if (e == 0)
            return 0;
        err = e;
    }
    return err;
}

static int relay_open(struct sk_conn *c)
{
    struct relay *r = sk_conn_service_state(c);
    struct relay_conn *rc = c->ctx;

    rc->first = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed) % r->nto;
    int e = try_next(c, -ECONNREFUSED);
    if (e < 0)
        return e;
    return sk_conn_upstream_pipe(c);
}

/* Never called: the tunnel is piped from open() on, so the model hands
 * the client's bytes to the upstream, not here. */
static ssize_t relay_data(struct sk_conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    (void)n;
    return -ENOTCONN;
}

static int relay_connected(struct sk_conn *c, int err)
{
    struct relay *r = sk_conn_service_state(c);
    struct relay_conn *rc = c->ctx;

    if (err == 0)
        return 0;
    if (try_next(c, err) == 0)
        return 0; /* fail over to the next address */
    /* Every address refused: one line a second, with the count between. */
    int64_t now = sk_now_ms(), last = atomic_load(&r->logged);
    if (now - last >= 1000 && atomic_compare_exchange_strong(&r->logged, &last, now)) {
        char peer[SK_ADDR_STRLEN], to[SK_ADDR_STRLEN];
        unsigned more = atomic_exchange(&r->unlogged, 0);
        sk_addr_format(sk_conn_peer(c), peer, sizeof(peer));
        sk_addr_format(&r->to[(rc->first + rc->tried - 1) % r->nto], to, sizeof(to));
        sk_log(SK_LOG_WARN, "relay: no upstream accepts (last %s: %s): closing %s%s", to,
               sk_strerror(err), peer, more ? " (and others since the last line)" : "");
    } else {
        atomic_fetch_add(&r->unlogged, 1);
    }
    return err;
}

static const struct sk_service_opt relay_opts[] = {
    {.name = "to",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct relay, to_arg),
     .arg = "ADDR",
     .help = "forward to ADDR: HOST:PORT, [IPv6]:PORT or unix:PATH (repeatable: round-robin, "
             "next on refusal). With --udp: a flow per client, its own socket to the next ADDR, "
             "closed after --idle-timeout (default 60 s here) or a refusal; at most --max-conns "
             "flows (the least recently active is evicted)",
     .post = to_add},
    {.name = "connect-timeout",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct relay, connect_ms),
     .min = 1,
     .max = 600 * 1000,
     .arg = "SECS",
     .help = "give up on an upstream that does not accept within SECS (default 5)"},
    {0},
};

const struct sk_service sk_service_relay = {
    .name = "relay",
    .summary = "forward each connection (or UDP flow) to --to ADDR (round-robin, failover, "
               "half-close)",
    .flags = SK_SVC_STREAM | SK_SVC_DGRAM,
    .opts = relay_opts,
    .conn_size = sizeof(struct relay_conn),
    .create = relay_create,
    .start = relay_start,
    .destroy = relay_destroy,
    .open = relay_open,
    .data = relay_data,
    .up_connected = relay_connected,
    .dgram_route = relay_route,
};
