/*
 * sockopt.c - socket options by name, for `sockit sockopt`: a table of the
 * options worth knowing (buffers, Nagle, keepalive, reuse, timeouts, TTL,
 * blocking mode), parsing a value for each, and reading or setting one on a
 * descriptor so the caller can show what the kernel actually keeps.
 */
#include "sockit/tool.h"

#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#define TCP_ONLY (SK_OPT_TCP | SK_OPT_V4 | SK_OPT_V6)
#define BOTH (SK_OPT_TCP | SK_OPT_UDP | SK_OPT_V4 | SK_OPT_V6)

static const struct sk_sockopt table[] = {
    {"O_NONBLOCK", 0, 0, SK_OPT_NONBLOCK, BOTH, "non-blocking mode (fcntl), off = blocking"},
    {"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, SK_OPT_SIZE, BOTH, "receive buffer size (bytes)"},
    {"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, SK_OPT_SIZE, BOTH, "send buffer size (bytes)"},
    {"SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, SK_OPT_INT, BOTH, "bytes before a read wakes up"},
    {"SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, SK_OPT_TIME, BOTH, "receive timeout (0 = none)"},
    {"SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, SK_OPT_TIME, BOTH, "send timeout (0 = none)"},
    {"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, SK_OPT_BOOL, BOTH, "TCP keepalive probes"},
    {"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, SK_OPT_BOOL, BOTH,
     "bind over TIME_WAIT connections"},
    {"SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, SK_OPT_BOOL, BOTH, "several sockets share one port"},
    {"SO_BROADCAST", SOL_SOCKET, SO_BROADCAST, SK_OPT_BOOL, BOTH, "may send to broadcast"},
    {"SO_LINGER", SOL_SOCKET, SO_LINGER, SK_OPT_LINGER, BOTH,
     "close() waits to send (seconds, off)"},
    {"SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, SK_OPT_INT, BOTH, "queueing priority 0..6"},
    {"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, SK_OPT_BOOL, TCP_ONLY,
     "Nagle's algorithm off (send small segments at once)"},
    {"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, SK_OPT_INT, TCP_ONLY, "maximum segment size"},
    {"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, SK_OPT_INT, TCP_ONLY,
     "idle seconds before keepalive probes"},
    {"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, SK_OPT_INT, TCP_ONLY,
     "seconds between keepalive probes"},
    {"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, SK_OPT_INT, TCP_ONLY,
     "probes before the connection is dropped"},
    {"TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION, SK_OPT_STRING, TCP_ONLY,
     "congestion control algorithm"},
    {"IP_TTL", IPPROTO_IP, IP_TTL, SK_OPT_INT, SK_OPT_TCP | SK_OPT_UDP | SK_OPT_V4,
     "time to live of outgoing packets"},
    {"IP_TOS", IPPROTO_IP, IP_TOS, SK_OPT_INT, SK_OPT_TCP | SK_OPT_UDP | SK_OPT_V4,
     "type of service / DSCP byte"},
    {"IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, SK_OPT_INT,
     SK_OPT_TCP | SK_OPT_UDP | SK_OPT_V6, "hop limit of outgoing packets"},
    {"IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, SK_OPT_BOOL, SK_OPT_TCP | SK_OPT_UDP | SK_OPT_V6,
     "IPv6 only (no IPv4-mapped peers)"},
};

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -EINVAL;
}

const struct sk_sockopt *sk_sockopt_table(size_t *n)
{
    *n = SK_ARRAY_LEN(table);
    return table;
}

const struct sk_sockopt *sk_sockopt_find(const char *name)
{
    static const char *const prefixes[] = {"SO_", "TCP_", "IPV6_", "IP_", "O_"};

    if (!name || !*name)
        return NULL;
    if (strcasecmp(name, "nonblock") == 0 || strcasecmp(name, "nonblocking") == 0)
        return &table[0];
    for (size_t i = 0; i < SK_ARRAY_LEN(table); i++)
        if (strcasecmp(name, table[i].name) == 0)
            return &table[i];
    /* Without its prefix: "rcvbuf", "nodelay", "ttl". */
    for (size_t i = 0; i < SK_ARRAY_LEN(table); i++) {
        for (size_t k = 0; k < SK_ARRAY_LEN(prefixes); k++) {
            size_t pl = strlen(prefixes[k]);
            if (strncmp(table[i].name, prefixes[k], pl) == 0 &&
                strcasecmp(name, table[i].name + pl) == 0)
                return &table[i];
        }
    }
    return NULL;
}

int sk_sockopt_applies(const struct sk_sockopt *o, int family, int type)
{
    unsigned t = type == SOCK_STREAM ? SK_OPT_TCP : type == SOCK_DGRAM ? SK_OPT_UDP : 0;
    unsigned f = family == AF_INET ? SK_OPT_V4 : family == AF_INET6 ? SK_OPT_V6 : 0;
    return t && f && (o->applies & t) && (o->applies & f);
}

static int parse_bool(const char *s, int64_t *out)
{
    static const char *const yes[] = {"1", "on", "yes", "true"};
    static const char *const no[] = {"0", "off", "no", "false"};
    for (size_t i = 0; i < SK_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -EINVAL;
}

int sk_optval_parse(const struct sk_sockopt *o, const char *s, struct sk_optval *v,
                    const char **why)
{
    memset(v, 0, sizeof(*v));
    if (!s || !*s)
        return fail(why, "empty value");
    switch (o->kind) {
    case SK_OPT_BOOL:
    case SK_OPT_NONBLOCK:
        if (parse_bool(s, &v->i) < 0)
            return fail(why, "not a boolean (0/1, on/off, yes/no, true/false)");
        return 0;
    case SK_OPT_INT: {
        int r = sk_parse_i64(s, 0, INT32_MAX, &v->i);
        if (r == -ERANGE)
            return fail(why, "value out of range 0..2147483647");
        if (r < 0)
            return fail(why, "not a non-negative integer");
        return 0;
    }
    case SK_OPT_SIZE: {
        uint64_t n;
        int r = sk_parse_size(s, INT32_MAX, &n);
        if (r == -ERANGE)
            return fail(why, "size out of range (at most 2147483647 bytes)");
        if (r < 0)
            return fail(why, "not a size (bytes, or with k, M, G)");
        v->i = (int64_t)n;
        return 0;
    }
    case SK_OPT_TIME: {
        int64_t ms;
        if (strcasecmp(s, "none") == 0 || strcasecmp(s, "off") == 0)
            return v->i = 0, 0;
        int r = sk_parse_duration_ms(s, &ms);
        if (r < 0)
            return fail(why, "not a duration (seconds, or 250ms, 2s, 1m; 0 = none)");
        if (ms > (int64_t)INT32_MAX * 1000)
            return fail(why, "duration too long");
        v->i = ms * 1000;
        return 0;
    }
    case SK_OPT_LINGER: {
        if (strcasecmp(s, "off") == 0 || strcasecmp(s, "none") == 0)
            return v->i = -1, 0;
        int r = sk_parse_i64(s, 0, INT32_MAX, &v->i);
        if (r < 0)
            return fail(why, "not a linger time (seconds, or off)");
        return 0;
    }
    case SK_OPT_STRING: {
        size_t n = strlen(s);
        if (n >= sizeof(v->s))
            return fail(why, "name too long");
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_'))
                return fail(why, "bad character in name");
        }
        memcpy(v->s, s, n + 1);
        return 0;
    }
    }
    return fail(why, "unknown option kind");
}

int sk_sockopt_get(int fd, const struct sk_sockopt *o, struct sk_optval *v)
{
    memset(v, 0, sizeof(*v));
    switch (o->kind) {
    case SK_OPT_NONBLOCK: {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
            return -errno;
        v->i = (fl & O_NONBLOCK) != 0;
        return 0;
    }
    case SK_OPT_BOOL:
    case SK_OPT_INT:
    case SK_OPT_SIZE: {
        int x = 0;
        socklen_t len = sizeof(x);
        if (getsockopt(fd, o->level, o->optname, &x, &len) < 0)
            return -errno;
        v->i = o->kind == SK_OPT_BOOL ? x != 0 : x;
        return 0;
    }
    case SK_OPT_TIME: {
        struct timeval tv = {0};
        socklen_t len = sizeof(tv);
        if (getsockopt(fd, o->level, o->optname, &tv, &len) < 0)
            return -errno;
        v->i = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
        return 0;
    }
    case SK_OPT_LINGER: {
        struct linger l = {0};
        socklen_t len = sizeof(l);
        if (getsockopt(fd, o->level, o->optname, &l, &len) < 0)
            return -errno;
        v->i = l.l_onoff ? l.l_linger : -1;
        return 0;
    }
    case SK_OPT_STRING: {
        socklen_t len = sizeof(v->s) - 1;
        if (getsockopt(fd, o->level, o->optname, v->s, &len) < 0)
            return -errno;
        v->s[len < sizeof(v->s) ? len : sizeof(v->s) - 1] = '\0';
        return 0;
    }
    }
    return -EINVAL;
}

int sk_sockopt_set(int fd, const struct sk_sockopt *o, const struct sk_optval *v)
{
    int r = 0;

    switch (o->kind) {
    case SK_OPT_NONBLOCK: {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
            return -errno;
        fl = v->i ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
        r = fcntl(fd, F_SETFL, fl);
        break;
    }
    case SK_OPT_BOOL:
    case SK_OPT_INT:
    case SK_OPT_SIZE: {
        int x = (int)v->i;
        r = setsockopt(fd, o->level, o->optname, &x, sizeof(x));
        break;
    }
    case SK_OPT_TIME: {
        struct timeval tv = {.tv_sec = (time_t)(v->i / 1000000),
                             .tv_usec = (suseconds_t)(v->i % 1000000)};
        r = setsockopt(fd, o->level, o->optname, &tv, sizeof(tv));
        break;
    }
    case SK_OPT_LINGER: {
        struct linger l = {.l_onoff = v->i >= 0, .l_linger = v->i >= 0 ? (int)v->i : 0};
        r = setsockopt(fd, o->level, o->optname, &l, sizeof(l));
        break;
    }
    case SK_OPT_STRING:
        r = setsockopt(fd, o->level, o->optname, v->s, (socklen_t)strlen(v->s));
        break;
    default: return -EINVAL;
    }
    return r < 0 ? -errno : 0;
}

int sk_optval_format(const struct sk_sockopt *o, const struct sk_optval *v, char *buf, size_t size)
{
    int n;

    switch (o->kind) {
    case SK_OPT_NONBLOCK: n = snprintf(buf, size, "%s", v->i ? "non-blocking" : "blocking"); break;
    case SK_OPT_BOOL: n = snprintf(buf, size, "%s", v->i ? "on" : "off"); break;
    case SK_OPT_TIME:
        if (v->i == 0)
            n = snprintf(buf, size, "none");
        else if (v->i % 1000000 == 0)
            n = snprintf(buf, size, "%llds", (long long)(v->i / 1000000));
        else if (v->i % 1000 == 0)
            n = snprintf(buf, size, "%lldms", (long long)(v->i / 1000));
        else
            n = snprintf(buf, size, "%lldus", (long long)v->i);
        break;
    case SK_OPT_LINGER:
        if (v->i < 0)
            n = snprintf(buf, size, "off");
        else
            n = snprintf(buf, size, "%llds", (long long)v->i);
        break;
    case SK_OPT_STRING: n = snprintf(buf, size, "%s", v->s); break;
    default: n = snprintf(buf, size, "%lld", (long long)v->i); break;
    }
    if (n < 0 || (size_t)n >= size)
        return -ENOSPC;
    return n;
}
