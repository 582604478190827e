/*
 * cmd_tools.c - the name lookups: `sockit hostname`, `resolve`, `reverse`
 * and `addrinfo`. Argument parsing and printing only; the logic is in
 * src/tool/lookup.c and ifaces.c.
 *
 * Exit status: 0 when every operand was answered, 1 when a lookup failed or
 * an operand was malformed (its reason is one line on stderr and the other
 * operands are still answered), 2 for bad options or a missing operand.
 */
#include "cli.h"

#include "sockit/error.h"
#include "sockit/tool.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hostname ---- */

static const char hostname_help[] =
    "Usage: sockit hostname [-4|-6] [--json]\n"
    "Show this host's name (gethostname), its fully qualified name (what the\n"
    "resolver gives as canonical name for it), the addresses the name resolves\n"
    "to, and every local address, IPv4 and IPv6, per interface with its prefix\n"
    "length.\n"
    "\n"
    "Options:\n"
    "  -4, -6       only IPv4 or only IPv6 addresses\n"
    "  -j, --json   one JSON object\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 shown (an unknown FQDN is reported, not an error), 1 the\n"
    "host name or the interfaces could not be read, 2 bad options.\n";

static const struct option hostname_longs[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_hostname = {":46jh", hostname_longs, 0};

int cmd_hostname(int argc, char **argv)
{
    const char *cmd = argv[0];
    int json = 0, family = AF_UNSPEC, c, fqdn_err = 0;
    char name[256], fqdn[NI_MAXHOST];
    struct sk_iface *v = NULL;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_hostname.shorts, sk_cli_opts_hostname.longs,
                            NULL)) != -1) {
        switch (c) {
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 'j': json = 1; break;
        case 'h': fputs(hostname_help, stdout); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc)
        return sk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    int r = sk_tool_hostname(name, sizeof(name), fqdn, sizeof(fqdn), &fqdn_err);
    if (r < 0)
        return sk_cli_fail(cmd, "gethostname: %s", sk_strerror(r));
    int n = sk_ifaces(&v);
    if (n < 0)
        return sk_cli_fail(cmd, "getifaddrs: %s", sk_strerror(n));
    /* What the seed's gethostbyname(gethostname()) answers. */
    struct sk_addr *res = NULL;
    char canon[NI_MAXHOST];
    int nres = sk_tool_resolve(name, family, &res, canon, sizeof(canon));
    if (json) {
        fputs("{\"hostname\": ", stdout);
        sk_json_str(stdout, name);
        fputs(", \"fqdn\": ", stdout);
        if (fqdn_err)
            fputs("null, \"fqdn_error\": ", stdout);
        sk_json_str(stdout, fqdn_err ? sk_strerror(fqdn_err) : fqdn);
        fputs(", \"resolves_to\": [", stdout);
        for (int i = 0; i < nres; i++) {
            char host[SK_ADDR_STRLEN];
            sk_addr_format_host(&res[i], host, sizeof(host));
            fputs(i ? ", " : "", stdout);
            sk_json_str(stdout, host);
        }
        fputs("], \"addresses\": [", stdout);
    } else {
        printf("hostname     %s\n", name);
        if (fqdn_err)
            printf("fqdn         unknown (%s)\n", sk_strerror(fqdn_err));
        else
            printf("fqdn         %s\n", fqdn);
        printf("resolves to ");
        if (nres < 0)
            printf(" nothing (%s)", sk_strerror(nres));
        for (int i = 0; i < nres; i++) {
            char host[SK_ADDR_STRLEN];
            sk_addr_format_host(&res[i], host, sizeof(host));
            printf(" %s", host);
        }
        printf("\naddresses\n");
    }
    free(res);
    int first = 1;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < v[i].naddr; k++) {
            const struct sk_iface_addr *a = &v[i].addrs[k];
            if (family != AF_UNSPEC && a->family != family)
                continue;
            if (json) {
                sk_cli_json_sep(&first);
                fputs("{\"interface\": ", stdout);
                sk_json_str(stdout, v[i].name);
                printf(", \"family\": \"%s\", \"address\": ", sk_family_name(a->family));
                sk_json_str(stdout, a->addr);
                if (a->prefix >= 0)
                    printf(", \"prefix\": %d}", a->prefix);
                else
                    fputs(", \"prefix\": null}", stdout);
                continue;
            }
            printf("  %-10s %-5s %s", v[i].name, a->family == AF_INET ? "inet" : "inet6", a->addr);
            if (a->prefix >= 0)
                printf("/%d", a->prefix);
            fputc('\n', stdout);
        }
    }
    if (json)
        fputs("]}\n", stdout);
    sk_ifaces_free(v, n);
    return SK_EXIT_OK;
}

/* ---- resolve ---- */

static const char resolve_help[] =
    "Usage: sockit resolve [-4|-6] [--short] [--json] NAME...\n"
    "Resolve each NAME with getaddrinfo() (the system resolver: /etc/hosts, DNS,\n"
    "... as nsswitch.conf says) and show its canonical name and every distinct\n"
    "IPv4 and IPv6 address. A name that does not resolve is one line on stderr\n"
    "with the resolver's own reason (gai_strerror); the other names are still\n"
    "answered.\n"
    "\n"
    "Options:\n"
    "  -4, -6        only IPv4 (A) or only IPv6 (AAAA) addresses\n"
    "  -s, --short   only the addresses, one per line\n"
    "  -j, --json    one JSON array of records\n"
    "  -h, --help    this text\n"
    "\n"
    "Exit status: 0 every name resolved, 1 some did not, 2 bad options or no name.\n";

static const struct option resolve_longs[] = {
    {"short", no_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_resolve = {":46sjh", resolve_longs, 0};

int cmd_resolve(int argc, char **argv)
{
    const char *cmd = argv[0];
    int json = 0, brief = 0, family = AF_UNSPEC, c, rc = SK_EXIT_OK, first = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_resolve.shorts, sk_cli_opts_resolve.longs,
                            NULL)) != -1) {
        switch (c) {
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 's': brief = 1; break;
        case 'j': json = 1; break;
        case 'h': fputs(resolve_help, stdout); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc)
        return sk_cli_usage(cmd, "which name? (e.g. sockit resolve localhost)");
    if (json)
        fputs("[", stdout);
    for (int i = optind; i < argc; i++) {
        struct sk_addr *addrs;
        char canon[NI_MAXHOST];
        fflush(stdout); /* keep stdout and stderr lines in order on a terminal */
        int n = sk_tool_resolve(argv[i], family, &addrs, canon, sizeof(canon));
        if (n < 0) {
            sk_cli_fail(cmd, "%s: %s", argv[i], sk_strerror(n));
            rc = SK_EXIT_FAIL;
            if (json)
                sk_cli_json_error("name", argv[i], sk_strerror(n), &first);
            continue;
        }
        if (json) {
            sk_cli_json_sep(&first);
            fputs("{\"name\": ", stdout);
            sk_json_str(stdout, argv[i]);
            fputs(", \"canonical\": ", stdout);
            sk_json_str(stdout, canon[0] ? canon : argv[i]);
            fputs(", \"addresses\": [", stdout);
        } else if (!brief) {
            if (canon[0] && strcmp(canon, argv[i]) != 0)
                printf("%s (canonical name %s)\n", argv[i], canon);
            else
                printf("%s\n", argv[i]);
        }
        for (int k = 0; k < n; k++) {
            char host[SK_ADDR_STRLEN];
            int fam = sk_addr_family(&addrs[k]);
            sk_addr_format_host(&addrs[k], host, sizeof(host));
            if (json) {
                printf("%s{\"family\": \"%s\", \"address\": ", k ? ", " : "", sk_family_name(fam));
                sk_json_str(stdout, host);
                fputs("}", stdout);
            } else if (brief) {
                printf("%s\n", host);
            } else {
                printf("  %-5s %s\n", fam == AF_INET ? "IPv4" : "IPv6", host);
            }
        }
        if (json)
            fputs("]}", stdout);
        free(addrs);
    }
    if (json)
        fputs("]\n", stdout);
    return rc;
}

/* ---- reverse ---- */

static const char reverse_help[] =
    "Usage: sockit reverse [--json] ADDR...\n"
    "Find the name of each numeric IPv4 or IPv6 address with getnameinfo()\n"
    "(NI_NAMEREQD: /etc/hosts, then DNS PTR records, as nsswitch.conf says).\n"
    "IPv4 must be a strict dotted quad; IPv6 may carry a %ZONE.\n"
    "\n"
    "Options:\n"
    "  -j, --json   one JSON array of records\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 every address has a name, 1 some address is malformed or\n"
    "has no name (one line each on stderr; the others are still answered),\n"
    "2 bad options or no address.\n";

static const struct option reverse_longs[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_reverse = {":jh", reverse_longs, 0};

int cmd_reverse(int argc, char **argv)
{
    const char *cmd = argv[0];
    int json = 0, c, rc = SK_EXIT_OK, first = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_reverse.shorts, sk_cli_opts_reverse.longs,
                            NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': fputs(reverse_help, stdout); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc)
        return sk_cli_usage(cmd, "which address? (e.g. sockit reverse 127.0.0.1)");
    if (json)
        fputs("[", stdout);
    for (int i = optind; i < argc; i++) {
        char name[NI_MAXHOST];
        const char *why = NULL;
        fflush(stdout);
        int r = sk_tool_reverse(argv[i], name, sizeof(name), &why);
        if (r < 0) {
            const char *reason = r == -EINVAL && why ? why : sk_strerror(r);
            sk_cli_fail(cmd, "%s: %s", argv[i], reason);
            rc = SK_EXIT_FAIL;
            if (json)
                sk_cli_json_error("address", argv[i], reason, &first);
            continue;
        }
        if (json) {
            sk_cli_json_sep(&first);
            fputs("{\"address\": ", stdout);
            sk_json_str(stdout, argv[i]);
            fputs(", \"name\": ", stdout);
            sk_json_str(stdout, name);
            fputs("}", stdout);
        } else {
            printf("%-24s %s\n", argv[i], name);
        }
    }
    if (json)
        fputs("]\n", stdout);
    return rc;
}

/* ---- addrinfo ---- */

static const char addrinfo_help[] =
    "Usage: sockit addrinfo [-4|-6] [--tcp|--udp] [--json] HOST [SERVICE]\n"
    "Show every tuple getaddrinfo(HOST, SERVICE) returns, in its order: family,\n"
    "socket type, protocol, address, port and canonical name (AI_CANONNAME; the\n"
    "resolver puts it on the first tuple). SERVICE is a port number or a name\n"
    "from /etc/services (http).\n"
    "\n"
    "Options:\n"
    "  -4, -6          only AF_INET or only AF_INET6\n"
    "  -t, --tcp       only SOCK_STREAM\n"
    "  -u, --udp       only SOCK_DGRAM\n"
    "  -j, --json      one JSON array of tuples\n"
    "  -h, --help      this text\n"
    "\n"
    "Exit status: 0 shown, 1 the lookup failed (the resolver's reason on one\n"
    "line), 2 bad options or arguments.\n";

static const struct option addrinfo_longs[] = {
    {"tcp", no_argument, NULL, 't'},
    {"udp", no_argument, NULL, 'u'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_addrinfo = {":46tujh", addrinfo_longs, 0};

int cmd_addrinfo(int argc, char **argv)
{
    const char *cmd = argv[0];
    int json = 0, family = AF_UNSPEC, socktype = 0, c;
    struct sk_ai_row *rows;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_addrinfo.shorts, sk_cli_opts_addrinfo.longs,
                            NULL)) != -1) {
        switch (c) {
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 't': socktype = SOCK_STREAM; break;
        case 'u': socktype = SOCK_DGRAM; break;
        case 'j': json = 1; break;
        case 'h': fputs(addrinfo_help, stdout); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc)
        return sk_cli_usage(cmd, "which host? (e.g. sockit addrinfo localhost http)");
    if (argc - optind > 2)
        return sk_cli_usage(cmd, "unexpected argument '%s'", argv[optind + 2]);
    const char *host = argv[optind], *service = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (!*host)
        return sk_cli_usage(cmd, "empty host");
    int n = sk_tool_addrinfo(host, service, family, socktype, &rows);
    if (n < 0) {
        if (service)
            return sk_cli_fail(cmd, "%s %s: %s", host, service, sk_strerror(n));
        return sk_cli_fail(cmd, "%s: %s", host, sk_strerror(n));
    }
    if (json)
        fputs("[", stdout);
    else
        printf("%-7s %-9s %-8s %-26s %-6s %s\n", "family", "socktype", "protocol", "address",
               "port", "canonname");
    for (int i = 0; i < n; i++) {
        char addr[SK_ADDR_STRLEN], pbuf[16];
        const char *proto = sk_protocol_name(rows[i].protocol, pbuf, sizeof(pbuf));
        sk_addr_format_host(&rows[i].addr, addr, sizeof(addr));
        unsigned port = sk_addr_port(&rows[i].addr);
        if (json) {
            printf("%s{\"family\": \"%s\", \"socktype\": \"%s\", \"protocol\": \"%s\", "
                   "\"protocol_number\": %d, \"address\": ",
                   i ? ",\n " : "", sk_family_name(rows[i].family),
                   sk_socktype_name(rows[i].socktype), proto, rows[i].protocol);
            sk_json_str(stdout, addr);
            printf(", \"port\": %u, \"canonname\": ", port);
            if (rows[i].canon[0])
                sk_json_str(stdout, rows[i].canon);
            else
                fputs("null", stdout);
            fputs("}", stdout);
            continue;
        }
        if (rows[i].canon[0])
            printf("%-7s %-9s %-8s %-26s %-6u %s\n", sk_family_name(rows[i].family),
                   sk_socktype_name(rows[i].socktype), proto, addr, port, rows[i].canon);
        else
            printf("%-7s %-9s %-8s %-26s %u\n", sk_family_name(rows[i].family),
                   sk_socktype_name(rows[i].socktype), proto, addr, port);
    }
    if (json)
        fputs("]\n", stdout);
    free(rows);
    return SK_EXIT_OK;
}
