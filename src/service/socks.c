/*
 * socks.c - `serve socks`: a SOCKS5 server (RFC 1928). CONNECT to an IPv4
 * or IPv6 address or a name; no authentication, or with --auth USER:PASS
 * username/password (RFC 1929) and nothing else. BIND and UDP ASSOCIATE
 * get reply 7 (command not supported), an address type RFC 1928 does not
 * have reply 8. Destinations outside --allow-dest get reply 2 (not allowed
 * by ruleset); failures to connect map to 3, 4, 5 (sk_socks5_rep_of()). The
 * parsing is the net core's (src/net/proxy.c); reaching the destination is
 * proxy_dest.c's; once connected, the model pipes the tunnel itself.
 *
 * The reply's BND.ADDR is 0.0.0.0:0: the upstream's local address is the
 * core's, and CONNECT clients do not use it (curl, Firefox, OpenSSH's
 * ProxyCommand nc -X 5 read and skip it).
 */
#include "proxy_dest.h"

#include "sockit/error.h"
#include "sockit/proxy.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct socks {
    struct sk__dest_rules rules; /* first: the option hooks find it */
    char *auth;                  /* --auth USER:PASS, NULL: none */
    size_t user_len;             /* USER's length in auth */
};

enum { GREETING, AUTH, REQUEST, CONNECTING, TUNNEL, DONE };

struct socks_conn {
    int stage;
    struct sk__dest dest;
};

static int socks_create(void **state)
{
    struct socks *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    sk__dest_rules_init(&s->rules);
    *state = s;
    return 0;
}

static void socks_destroy(void *state)
{
    struct socks *s = state;
    sk__dest_rules_free(&s->rules);
    free(s->auth);
    free(s);
}

static int check_auth(const char *value, char *why, size_t len)
{
    const char *colon = strchr(value, ':');
    if (!colon || colon == value) {
        snprintf(why, len, "give USER:PASS (a user of 1 to 255 bytes, a colon, a password)");
        return -1;
    }
    if ((size_t)(colon - value) > 255 || strlen(colon + 1) > 255) {
        snprintf(why, len, "the user and the password are at most 255 bytes each");
        return -1;
    }
    return 0;
}

static void auth_set(void *state)
{
    struct socks *s = state;
    s->user_len = (size_t)(strchr(s->auth, ':') - s->auth);
}

static int socks_start(void *state, struct sk_service_env *env, char *err, size_t errlen)
{
    struct socks *s = state;
    (void)env;
    if (s->rules.bad) {
        snprintf(err, errlen, "--allow-dest: %s", sk_strerror(s->rules.bad));
        return s->rules.bad;
    }
    return 0;
}

/* Compare without stopping at the first difference. */
static int same(const uint8_t *a, size_t an, const char *b, size_t bn)
{
    unsigned diff = an != bn;
    for (size_t i = 0; i < an && i < bn; i++)
        diff |= (unsigned)(a[i] ^ (uint8_t)b[i]);
    return diff == 0;
}

/* Answer the request with code rep (BND.ADDR 0.0.0.0:0). */
static void reply(struct sk_conn *c, int rep)
{
    struct sk_socks5_msg m = {.code = (uint8_t)rep, .atyp = SK_SOCKS5_IP4};
    uint8_t out[SK_SOCKS5_MSG_MAX];
    ssize_t k = sk_socks5_msg_encode(&m, out, sizeof(out));
    if (k > 0)
        sk_conn_write(c, out, (size_t)k);
}

/* The destination cannot be reached: say why and end. */
static void refuse(struct sk_conn *c, int err)
{
    struct socks_conn *sc = c->ctx;
    sk__dest_log(c, &sc->dest, "socks", "refused", err);
    reply(c, sk_socks5_rep_of(err));
    sc->stage = DONE;
    sk_conn_end(c);
}

static int greeting(struct sk_conn *c, const uint8_t *p, size_t n)
{
    const struct socks *s = sk_conn_service_state(c);
    struct socks_conn *sc = c->ctx;
    unsigned offers;
    int r = sk_socks5_greeting_parse(p, n, &offers);
    if (r <= 0)
        return r;
    uint8_t method = SK_SOCKS5_METHOD_REFUSED;
    if (s->auth && (offers & SK_SOCKS5_OFFERS_USERPASS))
        method = SK_SOCKS5_METHOD_USERPASS;
    else if (!s->auth && (offers & SK_SOCKS5_OFFERS_NONE))
        method = SK_SOCKS5_METHOD_NONE;
    uint8_t ans[2] = {5, method};
    sk_conn_write(c, ans, 2);
    if (method == SK_SOCKS5_METHOD_REFUSED) {
        sc->stage = DONE;
        sk_conn_end(c);
    } else {
        sc->stage = method == SK_SOCKS5_METHOD_USERPASS ? AUTH : REQUEST;
    }
    return r;
}

static int auth(struct sk_conn *c, const uint8_t *p, size_t n)
{
    const struct socks *s = sk_conn_service_state(c);
    struct socks_conn *sc = c->ctx;
    struct sk_socks5_auth a;
    int r = sk_socks5_auth_parse(p, n, &a);
    if (r <= 0)
        return r;
    const char *pass = s->auth + s->user_len + 1;
    int ok = same(a.user, a.user_len, s->auth, s->user_len) &
             same(a.pass, a.pass_len, pass, strlen(pass));
    uint8_t ans[2] = {1, ok ? 0 : 1};
    sk_conn_write(c, ans, 2);
    if (ok) {
        sc->stage = REQUEST;
    } else {
        sk_log(SK_LOG_DEBUG, "socks: a wrong user or password");
        sc->stage = DONE;
        sk_conn_end(c);
    }
    return r;
}

static int request(struct sk_conn *c, const uint8_t *p, size_t n)
{
    const struct socks *s = sk_conn_service_state(c);
    struct socks_conn *sc = c->ctx;
    struct sk_socks5_msg m;
    char host[256];
    int r = sk_socks5_msg_parse(p, n, &m);
    if (r == -EAFNOSUPPORT) {
        reply(c, SK_SOCKS5_BAD_ADDRESS_TYPE);
        sc->stage = DONE;
        sk_conn_end(c);
        return (int)n;
    }
    if (r <= 0)
        return r;
    if (m.code != SK_SOCKS5_CONNECT) {
        reply(c, SK_SOCKS5_BAD_COMMAND);
        sc->stage = DONE;
        sk_conn_end(c);
        return r;
    }
    sc->stage = CONNECTING;
    if (sk_socks5_msg_host(&m, host, sizeof(host)) < 0) {
        refuse(c, -EHOSTUNREACH); /* an empty name, or one with a NUL byte */
        return r;
    }
    int e = sk__dest_go(c, &sc->dest, &s->rules, host, m.port);
    if (e < 0)
        refuse(c, e);
    return r;
}

static ssize_t socks_data(struct sk_conn *c, const char *buf, size_t n)
{
    struct socks_conn *sc = c->ctx;
    const uint8_t *p = (const uint8_t *)buf;
    size_t used = 0;

    while (used < n) {
        int r;
        switch (sc->stage) {
        case GREETING: r = greeting(c, p + used, n - used); break;
        case AUTH: r = auth(c, p + used, n - used); break;
        case REQUEST: r = request(c, p + used, n - used); break;
        case CONNECTING: return (ssize_t)used; /* early tunnel bytes wait for the pipe */
        default: return (ssize_t)n;            /* after a refusal: nothing more is read */
        }
        if (r == -EAGAIN)
            break;
        if (r < 0) {
            /* Not SOCKS5 (another version, garbage): nothing can be answered. */
            sc->stage = DONE;
            sk_conn_abort(c);
            return (ssize_t)n;
        }
        used += (size_t)r;
    }
    return (ssize_t)used;
}

static ssize_t socks_timeout(struct sk_conn *c, const char *p, size_t n)
{
    const struct socks *s = sk_conn_service_state(c);
    struct socks_conn *sc = c->ctx;
    (void)p;
    (void)n;
    if (sc->stage == CONNECTING) {
        int e = sk__dest_timeout(c, &sc->dest, &s->rules);
        if (e < 0)
            refuse(c, e);
    }
    return 0;
}

static int socks_up_connected(struct sk_conn *c, int err)
{
    const struct socks *s = sk_conn_service_state(c);
    struct socks_conn *sc = c->ctx;
    if (err < 0) {
        int e = sk__dest_failed(c, &sc->dest, &s->rules, err);
        if (e < 0)
            refuse(c, e);
        return 0;
    }
    sk__dest_log(c, &sc->dest, "socks", "connected", 0);
    reply(c, SK_SOCKS5_OK);
    sc->stage = TUNNEL;
    return sk_conn_upstream_pipe(c);
}

static void socks_close(struct sk_conn *c)
{
    struct socks_conn *sc = c->ctx;
    sk__dest_close(&sc->dest);
}

static const struct sk_service_opt socks_opts[] = {
    {.name = "auth",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct socks, auth),
     .arg = "USER:PASS",
     .help = "require this username and password (RFC 1929); default: no authentication",
     .check = check_auth,
     .post = auth_set},
    SK__DEST_OPTS(struct socks),
    {0},
};

const struct sk_service sk_service_socks = {
    .name = "socks",
    .summary = "SOCKS5 proxy (CONNECT; IPv4, IPv6, names; --auth USER:PASS)",
    .flags = SK_SVC_STREAM,
    .opts = socks_opts,
    .conn_size = sizeof(struct socks_conn),
    .create = socks_create,
    .start = socks_start,
    .destroy = socks_destroy,
    .data = socks_data,
    .timeout = socks_timeout,
    .close = socks_close,
    .up_connected = socks_up_connected,
};
