/*
 * http_proxy.c - `serve http-proxy`: HTTP CONNECT tunnels (RFC 9110 9.3.6).
 * "CONNECT host:port HTTP/1.1" (a name, an IPv4 address or a bracketed
 * IPv6 one) opens a tunnel: "200 Connection established", then the model
 * pipes the bytes both ways. The head is read by the HTTP service's
 * resumable parser (http_parse.c), the target by the net core's
 * sk_authority_parse(); reaching the destination is proxy_dest.c's.
 *
 * Answers, each with Connection: close and the connection ended after it:
 * any other method 405 Method Not Allowed with "Allow: CONNECT" (this is a
 * tunnel, not a forwarding proxy: a method is refused for what the server
 * is, and 405 says what it does take, where 501 would say the method is
 * unknown); a malformed head or target 400 (414, 431, 505 as the parser
 * says); a destination outside --allow-dest 403; a lookup or connect that
 * failed 502 Bad Gateway, one that timed out 504 Gateway Timeout; too many
 * lookups at once 503.
 */
#include "proxy_dest.h"

#include "sockit/error.h"
#include "sockit/http.h"
#include "sockit/proxy.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 8192
#define MAX_HEAD 16384
#define MAX_HEADERS 100

struct hproxy {
    struct sk__dest_rules rules; /* first: the option hooks find it */
    struct sk_http_limits lim;
};

enum { HEAD, CONNECTING, TUNNEL, DONE };

struct hproxy_conn {
    int stage;
    struct sk_http_parse_state ps;
    struct sk__dest dest;
};

static int hproxy_create(void **state)
{
    struct hproxy *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    sk__dest_rules_init(&h->rules);
    *state = h;
    return 0;
}

static void hproxy_destroy(void *state)
{
    struct hproxy *h = state;
    sk__dest_rules_free(&h->rules);
    free(h);
}

static int hproxy_start(void *state, struct sk_service_env *env, char *err, size_t errlen)
{
    struct hproxy *h = state;
    if (h->rules.bad) {
        snprintf(err, errlen, "--allow-dest: %s", sk_strerror(h->rules.bad));
        return h->rules.bad;
    }
    h->lim.max_head = SK_MIN((size_t)MAX_HEAD, env->in_max);
    h->lim.max_line = SK_MIN((size_t)MAX_LINE, h->lim.max_head);
    h->lim.max_headers = MAX_HEADERS;
    return 0;
}

/* Answer status with a one-line body and end. */
static void answer(struct sk_conn *c, int status)
{
    struct hproxy_conn *hc = c->ctx;
    const char *reason = sk_http_reason(status);
    sk_conn_printf(c,
                   "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%s\n",
                   status, reason, status == 405 ? "Allow: CONNECT\r\n" : "", strlen(reason) + 1,
                   reason);
    hc->stage = DONE;
    sk_conn_end(c);
}

/* The status for a destination that cannot be reached. */
static int status_of(int err)
{
    switch (err) {
    case -EACCES:
    case -EPERM: return 403;
    case -ETIMEDOUT: return 504;
    case -EAGAIN: return 503;
    default: return 502;
    }
}

static void refuse(struct sk_conn *c, int err)
{
    struct hproxy_conn *hc = c->ctx;
    sk__dest_log(c, &hc->dest, "http-proxy", "refused", err);
    answer(c, status_of(err));
}

static ssize_t hproxy_data(struct sk_conn *c, const char *p, size_t n)
{
    const struct hproxy *h = sk_conn_service_state(c);
    struct hproxy_conn *hc = c->ctx;
    struct sk_http_req req;
    char host[256];
    uint16_t port;

    if (hc->stage == CONNECTING)
        return 0; /* early tunnel bytes wait for the pipe */
    if (hc->stage != HEAD)
        return (ssize_t)n;
    ssize_t r = sk_http_parse_resume(p, n, &h->lim, &req, &hc->ps);
    if (r == 0)
        return 0;
    if (r < 0) {
        answer(c, (int)-r);
        return (ssize_t)n;
    }
    if (req.method != SK_HTTP_CONNECT) {
        answer(c, 405);
        return (ssize_t)n;
    }
    if (sk_authority_parse(req.target.p, req.target.n, host, sizeof(host), &port) < 0) {
        answer(c, 400);
        return (ssize_t)n;
    }
    hc->stage = CONNECTING;
    int e = sk__dest_go(c, &hc->dest, &h->rules, host, port);
    if (e < 0)
        refuse(c, e);
    return r;
}

static ssize_t hproxy_timeout(struct sk_conn *c, const char *p, size_t n)
{
    const struct hproxy *h = sk_conn_service_state(c);
    struct hproxy_conn *hc = c->ctx;
    (void)p;
    (void)n;
    if (hc->stage == CONNECTING) {
        int e = sk__dest_timeout(c, &hc->dest, &h->rules);
        if (e < 0)
            refuse(c, e);
    }
    return 0;
}

static int hproxy_up_connected(struct sk_conn *c, int err)
{
    const struct hproxy *h = sk_conn_service_state(c);
    struct hproxy_conn *hc = c->ctx;
    if (err < 0) {
        int e = sk__dest_failed(c, &hc->dest, &h->rules, err);
        if (e < 0)
            refuse(c, e);
        return 0;
    }
    sk__dest_log(c, &hc->dest, "http-proxy", "connected", 0);
    sk_conn_printf(c, "HTTP/1.1 200 Connection established\r\n\r\n");
    hc->stage = TUNNEL;
    return sk_conn_upstream_pipe(c);
}

static void hproxy_close(struct sk_conn *c)
{
    struct hproxy_conn *hc = c->ctx;
    sk__dest_close(&hc->dest);
}

static const struct sk_service_opt hproxy_opts[] = {
    SK__DEST_OPTS(struct hproxy),
    {0},
};

const struct sk_service sk_service_http_proxy = {
    .name = "http-proxy",
    .summary = "HTTP CONNECT tunnels (other methods 405)",
    .flags = SK_SVC_STREAM,
    .opts = hproxy_opts,
    .conn_size = sizeof(struct hproxy_conn),
    .create = hproxy_create,
    .start = hproxy_start,
    .destroy = hproxy_destroy,
    .data = hproxy_data,
    .timeout = hproxy_timeout,
    .close = hproxy_close,
    .up_connected = hproxy_up_connected,
};
