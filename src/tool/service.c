/*
 * service.c - service names and ports (the services database, usually
 * /etc/services) in both directions, for `sockit service`, through the
 * reentrant getservbyport_r()/getservbyname_r().
 */
#include "sockit/tool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -EINVAL;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '+';
}

int sk_servq_parse(const char *s, struct sk_servq *q, const char **why)
{
    const char *slash;
    size_t n;

    memset(q, 0, sizeof(*q));
    if (!s || !*s)
        return fail(why, "empty service");
    slash = strchr(s, '/');
    n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0)
        return fail(why, "empty service before '/'");
    if (slash) {
        const char *p = slash + 1;
        size_t pn = strlen(p);
        if (pn == 0)
            return fail(why, "empty protocol after '/'");
        if (pn >= sizeof(q->proto))
            return fail(why, "protocol name too long");
        for (size_t i = 0; i < pn; i++)
            if (!name_char(p[i]))
                return fail(why, "bad character in protocol name");
        memcpy(q->proto, p, pn + 1);
    }
    int digits = 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            digits = 0;
    if (digits) {
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
            v = v * 10 + (unsigned)(s[i] - '0');
            if (v > 65535)
                return fail(why, "port out of range 0..65535");
        }
        q->by_port = 1;
        q->port = (uint16_t)v;
        return 0;
    }
    if (n >= sizeof(q->name))
        return fail(why, "service name too long");
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]))
            return fail(why, "bad character in service name");
    memcpy(q->name, s, n);
    q->name[n] = '\0';
    return 0;
}

static int copy_entry(const struct servent *e, struct sk_serv *out)
{
    size_t used = 0;

    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", e->s_name);
    snprintf(out->proto, sizeof(out->proto), "%s", e->s_proto);
    out->port = ntohs((uint16_t)e->s_port);
    for (char **a = e->s_aliases; a && *a; a++) {
        int w =
            snprintf(out->aliases + used, sizeof(out->aliases) - used, "%s%s", used ? " " : "", *a);
        if (w < 0 || (size_t)w >= sizeof(out->aliases) - used) {
            out->aliases[used] = '\0'; /* drop an alias that does not fit whole */
            break;
        }
        used += (size_t)w;
    }
    return 0;
}

int sk_serv_by_port(uint16_t port, const char *proto, struct sk_serv *out)
{
    struct servent e, *r = NULL;
    char buf[4096];

    int err = getservbyport_r((int)htons(port), proto, &e, buf, sizeof(buf), &r);
    if (err)
        return -err;
    if (!r)
        return -ENOENT;
    return copy_entry(r, out);
}

int sk_serv_by_name(const char *name, const char *proto, struct sk_serv *out)
{
    struct servent e, *r = NULL;
    char buf[4096];

    int err = getservbyname_r(name, proto, &e, buf, sizeof(buf), &r);
    if (err)
        return -err;
    if (!r)
        return -ENOENT;
    return copy_entry(r, out);
}
