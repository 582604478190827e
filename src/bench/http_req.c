/*
 * http_req.c - the head of the HTTP request `sockit bench http` sends: the
 * method, the target, the default headers and the user's (-H), Content-Length
 * for a body (--body), Connection: close for --no-keepalive. Pure: it only
 * formats into the caller's buffer.
 */
#include "sockit/bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "Name: value" with a token name and no CR, LF or NUL anywhere. */
static int header_ok(const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h)
        return 0;
    for (const char *p = h; p < colon; p++)
        if (!is_tchar((unsigned char)*p))
            return 0;
    return strpbrk(h, "\r\n") == NULL;
}

/* Did the user give a header of this name? */
static int user_has(const struct sk_bench_cfg *cfg, const char *name)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < cfg->http_nheaders; i++)
        if (strncasecmp(cfg->http_headers[i], name, n) == 0 && cfg->http_headers[i][n] == ':')
            return 1;
    return 0;
}

struct out {
    char *p;
    size_t cap, len;
    int over;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0 || o->len + (size_t)n >= o->cap)
        o->over = 1;
    else
        o->len += (size_t)n;
}

long sk_bench_http_head(const struct sk_bench_cfg *cfg, const char *path, char *buf, size_t cap)
{
    const char *method = cfg->http_method ? cfg->http_method : cfg->http_body ? "POST" : "GET";
    if (!*method)
        return -EINVAL;
    for (const char *p = method; *p; p++)
        if (!is_tchar((unsigned char)*p))
            return -EINVAL;
    if (!path || !*path || strpbrk(path, " \r\n"))
        return -EINVAL;
    for (unsigned i = 0; i < cfg->http_nheaders; i++)
        if (!header_ok(cfg->http_headers[i]))
            return -EINVAL;
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "%s %s HTTP/1.1\r\n", method, path);
    if (!user_has(cfg, "Host"))
        put(&o, "Host: %s\r\n", cfg->http_host ? cfg->http_host : "localhost");
    if (!user_has(cfg, "User-Agent"))
        put(&o, "User-Agent: sockit-bench/1\r\n");
    if (!user_has(cfg, "Accept"))
        put(&o, "Accept: */*\r\n");
    for (unsigned i = 0; i < cfg->http_nheaders; i++)
        put(&o, "%s\r\n", cfg->http_headers[i]);
    if (cfg->http_body && !user_has(cfg, "Content-Length"))
        put(&o, "Content-Length: %zu\r\n", cfg->http_body_len);
    if (cfg->http_close && !user_has(cfg, "Connection"))
        put(&o, "Connection: close\r\n");
    put(&o, "\r\n");
    return o.over ? -EMSGSIZE : (long)o.len;
}
