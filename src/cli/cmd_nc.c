/*
 * cmd_nc.c - `sockit nc ARGS...`: netcat-openbsd's command line
 * (sk_nc_parse()) run as `sockit connect` or `sockit listen`, with nc's exit
 * codes (0, or 1 for any failure, usage errors included); a flag of nc that
 * sockit does not carry is one line and exit 2.
 */
#include "cli.h"

#include "sockit/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NC_ARGV_MAX (2 * SK_NC_MAX_OPERANDS + 48)

static void nc_help(void)
{
    printf("Usage: sockit nc [-46CdhklNnUuvz] [-i SECS] [-p PORT] [-q SECS] [-s ADDR]\n"
           "                 [-w SECS] [-X 5|connect] [-x ADDR[:PORT]] [HOST] [PORT[-PORT]...]\n"
           "OpenBSD netcat's command line on sockit: the same flags, operands and exit\n"
           "codes (0 success, 1 failure), so a script can change `nc` to `sockit nc`.\n"
           "As in nc, standard input's end does not shut the socket's sending side down\n"
           "unless -N; -l without an address listens on every IPv4 address (0.0.0.0;\n"
           "-6: ::). Flags of nc that sockit does not carry (-b -D -F -I -M -m -O -P\n"
           "-r -S -T -t -V -W -Z, -X 4, -i with -z) are refused with one line and\n"
           "exit 2.\n"
           "  -h, --help         this text\n");
}

/* The number of seconds of ms as connect/listen take it. */
static const char *secs(char *buf, size_t n, int ms)
{
    snprintf(buf, n, "%d.%03d", ms / 1000, ms % 1000);
    return buf;
}

static int numeric(const char *h)
{
    unsigned char b[16];
    return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

int cmd_nc(int argc, char **argv)
{
    const char *cmd = "nc";
    struct sk_nc_opts o;
    char bad[8], w[24], q[24], iv[24], url[300];
    char *av[NC_ARGV_MAX];
    int n = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            nc_help();
            return SK_EXIT_OK;
        }
    }
    int r = sk_nc_parse(argc, argv, &o, bad, sizeof(bad));
    if (r == -ENOTSUP) {
        fprintf(stderr, "sockit: nc: %s is not supported by sockit nc\n", bad);
        return SK_EXIT_USAGE;
    }
    if (r < 0) {
        if (bad[0])
            fprintf(stderr, "sockit: nc: %s: a missing or bad value\n", bad);
        else
            fprintf(stderr, "sockit: nc: %s (see 'sockit nc -h')\n",
                    r == -E2BIG ? "too many operands" : "wrong operands for this mode");
        return SK_EXIT_FAIL; /* nc's usage exit */
    }
    if (o.help) {
        nc_help();
        return SK_EXIT_OK;
    }
    if (o.interval_ms && o.zero) {
        fprintf(stderr, "sockit: nc: -i with -z is not supported by sockit nc\n");
        return SK_EXIT_USAGE;
    }
    const char *host = o.noperands ? o.operands[0] : NULL;
    if (o.numeric && !o.unix_sock) {
        const char *h = o.listen ? (o.noperands == 2 || o.port ? host : o.source) : host;
        if (h && !numeric(h)) {
            fprintf(stderr, "sockit: nc: -n: %s is not a numeric address\n", h);
            return SK_EXIT_FAIL;
        }
    }
    if (o.zero) {
        return sk_cli_scan(cmd, (char **)o.operands, o.noperands,
                           o.family == 4   ? AF_INET
                           : o.family == 6 ? AF_INET6
                                           : AF_UNSPEC,
                           o.wait_ms, o.verbose, 0, 1) == SK_EXIT_OK
                   ? SK_EXIT_OK
                   : SK_EXIT_FAIL;
    }

    av[n++] = o.listen ? "listen" : "connect";
    if (o.family)
        av[n++] = o.family == 4 ? "-4" : "-6";
    if (o.udp)
        av[n++] = "-u";
    if (o.crlf)
        av[n++] = "-C";
    if (o.no_stdin)
        av[n++] = "--recv-only";
    if (!o.shutdown)
        av[n++] = "--no-shutdown";
    if (o.quit_ms >= 0) {
        av[n++] = "--quit-after";
        av[n++] = (char *)secs(q, sizeof(q), o.quit_ms);
    }
    if (o.interval_ms) {
        av[n++] = "--interval";
        av[n++] = (char *)secs(iv, sizeof(iv), o.interval_ms);
    }
    if (o.verbose)
        av[n++] = "-v";
    /* nc sends its input on after the peer's end-of-file until the input
     * ends (or -q); sockit's --eof-wait would stop after a 0.5 s stall. */
    av[n++] = "-t";
    av[n++] = "86400";
    if (o.listen) {
        if (o.keep)
            av[n++] = "-k";
        if (o.wait_ms > 0) {
            av[n++] = "-i";
            av[n++] = (char *)secs(w, sizeof(w), o.wait_ms);
        }
        if (o.unix_sock) {
            av[n++] = "--unix";
            av[n++] = (char *)host;
        } else {
            /* nc -l [host] port | nc -l -p port [host]; -s ADDR also binds */
            const char *port = o.port ? o.port : o.operands[o.noperands - 1];
            const char *bind = o.port ? host : (o.noperands == 2 ? host : NULL);
            if (!bind)
                bind = o.source ? o.source : o.family == 6 ? "::" : "0.0.0.0";
            av[n++] = "-b";
            av[n++] = (char *)bind;
            av[n++] = "-p";
            av[n++] = (char *)port;
        }
    } else {
        if (o.wait_ms > 0) {
            av[n++] = "-w";
            av[n++] = (char *)secs(w, sizeof(w), o.wait_ms);
            if (!o.udp) {
                av[n++] = "-i";
                av[n++] = w;
            }
        }
        if (o.source) {
            av[n++] = "-s";
            av[n++] = (char *)o.source;
        }
        if (o.port) {
            av[n++] = "--source-port";
            av[n++] = (char *)o.port;
        }
        if (o.proxy) {
            /* -x ADDR[:PORT]: nc's default ports are 1080 (SOCKS) and 3128 */
            const char *scheme = o.proxy_kind == SK_PROXY_HTTP ? "http" : "socks5";
            const char *c = strrchr(o.proxy, ':'), *rb = strrchr(o.proxy, ']');
            int has_port = c && (o.proxy[0] == '[' ? rb && c > rb : strchr(o.proxy, ':') == c);
            int v6 = !has_port && strchr(o.proxy, ':') && o.proxy[0] != '[';
            snprintf(url, sizeof(url), "%s://%s%s%s%s", scheme, v6 ? "[" : "", o.proxy,
                     v6 ? "]" : "",
                     has_port                        ? ""
                     : o.proxy_kind == SK_PROXY_HTTP ? ":3128"
                                                     : ":1080");
            av[n++] = "--proxy";
            av[n++] = url;
        }
        if (o.unix_sock) {
            av[n++] = "--unix";
            av[n++] = (char *)host;
        } else {
            av[n++] = (char *)host;
            av[n++] = (char *)o.operands[1];
        }
    }
    av[n] = NULL;
    optind = 0; /* the next getopt_long() starts afresh */
    r = o.listen ? cmd_listen(n, av) : cmd_connect(n, av);
    return r == SK_EXIT_OK ? SK_EXIT_OK : r == 130 ? 130 : SK_EXIT_FAIL;
}
