/*
 * nc_args.c - `sockit nc`: OpenBSD netcat's command line (as Debian's
 * netcat-openbsd takes it) mapped onto a struct of sockit options. Pure: no
 * getopt state, no I/O, no allocation; the command turns the result into a
 * `connect` or `listen` run.
 */
#include "sockit/client.h"

#include <errno.h>
#include <string.h>

/* nc's flags that take a value, and those sockit does not carry. */
static const char with_value[] = "IiMmOPpqsTVWwXxZ";
static const char unsupported[] = "bDFIMmOPrSTtVWZce";

static int seconds(const char *v, int *ms)
{
    long n = 0;
    int neg = v[0] == '-';
    const char *p = v + neg;
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 6)
        return -EINVAL;
    for (; *p; p++)
        n = n * 10 + (*p - '0');
    *ms = neg ? -1 : (int)(n * 1000);
    return 0;
}

static int set(struct sk_nc_opts *o, char f, const char *v)
{
    switch (f) {
    case '4': o->family = 4; break;
    case '6': o->family = 6; break;
    case 'C': o->crlf = 1; break;
    case 'd': o->no_stdin = 1; break;
    case 'h': o->help = 1; break;
    case 'k': o->keep = 1; break;
    case 'l': o->listen = 1; break;
    case 'N': o->shutdown = 1; break;
    case 'n': o->numeric = 1; break;
    case 'U': o->unix_sock = 1; break;
    case 'u': o->udp = 1; break;
    case 'v': o->verbose = 1; break;
    case 'z': o->zero = 1; break;
    case 'p': o->port = v; break;
    case 's': o->source = v; break;
    case 'w':
        if (seconds(v, &o->wait_ms) < 0 || o->wait_ms < 0)
            return -EINVAL;
        break;
    case 'q':
        if (seconds(v, &o->quit_ms) < 0)
            return -EINVAL;
        break;
    case 'i':
        if (seconds(v, &o->interval_ms) < 0 || o->interval_ms < 0)
            return -EINVAL;
        break;
    case 'X':
        if (strcmp(v, "5") == 0)
            o->proxy_kind = SK_PROXY_SOCKS5;
        else if (strcmp(v, "connect") == 0)
            o->proxy_kind = SK_PROXY_HTTP;
        else if (strcmp(v, "4") == 0)
            return -ENOTSUP; /* SOCKS4 */
        else
            return -EINVAL;
        break;
    case 'x': o->proxy = v; break;
    default: return -EINVAL;
    }
    return 0;
}

int sk_nc_parse(int argc, char *const *argv, struct sk_nc_opts *o, char *bad, size_t badlen)
{
    int i = 1, n = 0, r;

    memset(o, 0, sizeof(*o));
    o->wait_ms = -1;
    o->quit_ms = -1;
    if (badlen)
        bad[0] = '\0';
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (n < SK_NC_MAX_OPERANDS)
                o->operands[n] = a;
            n++;
            continue;
        }
        for (const char *f = a + 1; *f; f++) {
            if (strchr(unsupported, *f) && *f) {
                if (badlen > 2) {
                    bad[0] = '-';
                    bad[1] = *f;
                    bad[2] = '\0';
                }
                return -ENOTSUP;
            }
            const char *v = NULL;
            if (strchr(with_value, *f)) {
                if (f[1]) {
                    v = f + 1;
                } else if (i + 1 < argc) {
                    v = argv[++i];
                } else {
                    if (badlen > 2) {
                        bad[0] = '-';
                        bad[1] = *f;
                        bad[2] = '\0';
                    }
                    return -EINVAL;
                }
            }
            if ((r = set(o, *f, v)) < 0) {
                if (badlen > 2) {
                    bad[0] = '-';
                    bad[1] = *f;
                    bad[2] = '\0';
                }
                return r;
            }
            if (v)
                break;
        }
    }
    for (; i < argc; i++) {
        if (n < SK_NC_MAX_OPERANDS)
            o->operands[n] = argv[i];
        n++;
    }
    if (n > SK_NC_MAX_OPERANDS)
        return -E2BIG;
    o->noperands = n;
    if (o->help)
        return 0;
    if (o->proxy && !o->proxy_kind)
        o->proxy_kind = SK_PROXY_SOCKS5; /* nc's default with -x */
    /* The shapes nc accepts. */
    if (o->listen) {
        if (o->zero || o->proxy)
            return -EINVAL;
        if (o->unix_sock)
            return n == 1 ? 0 : -EINVAL;
        /* nc -l [host] port, or nc -l -p port [host] */
        if (o->port ? n > 1 : (n < 1 || n > 2))
            return -EINVAL;
        return 0;
    }
    if (o->keep)
        return -EINVAL; /* -k goes with -l */
    if (o->unix_sock)
        return n == 1 ? 0 : -EINVAL;
    if (n < 2 || (!o->zero && n > 2))
        return -EINVAL;
    return 0;
}
