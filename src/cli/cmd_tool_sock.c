/*
 * cmd_tool_sock.c - `sockit sockopt` and `sockit ifaces`: argument parsing
 * and printing only; the logic is in src/tool/sockopt.c and ifaces.c.
 */
#include "cli.h"

#include "sockit/error.h"
#include "sockit/tool.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- sockopt ---- */

#define MAX_SETS 32

struct set_req {
    const struct sk_sockopt *opt;
    struct sk_optval want;
    const char *text; /* "SO_RCVBUF=65536" as given */
    struct sk_optval before[2], kept[2];
    int before_err[2], kept_err[2], set_err[2], applies[2];
};

/* Which sockets an option is shown for, in --help. */
static const char *applies_name(unsigned a)
{
    if (!(a & SK_OPT_UDP))
        return "tcp";
    if (!(a & SK_OPT_V6))
        return "IPv4";
    if (!(a & SK_OPT_V4))
        return "IPv6";
    return "all";
}

static void sockopt_help(void)
{
    size_t n;
    const struct sk_sockopt *t = sk_sockopt_table(&n);

    printf("Usage: sockit sockopt [-4|-6] [--tcp|--udp] [--set NAME=VALUE]... [--json]\n"
           "Show the options of a fresh TCP and UDP socket (the kernel's defaults), or,\n"
           "with --set, the value the kernel keeps for what was asked (Linux, e.g.,\n"
           "doubles SO_RCVBUF and SO_SNDBUF, and clamps them to its limits).\n"
           "\n"
           "Options:\n"
           "  -4, -6                IPv4 (default) or IPv6 sockets\n"
           "  -t, --tcp, -u, --udp  only the TCP or only the UDP socket\n"
           "  -s, --set NAME=VALUE  set an option first (repeatable); shows requested,\n"
           "                        default and kept values\n"
           "  -j, --json            one JSON object\n"
           "  -h, --help            this text\n"
           "\n"
           "Values: booleans 0/1/on/off/yes/no/true/false; sizes in bytes or with k, M;\n"
           "timeouts as seconds, 250ms, 2s (0 = none); SO_LINGER as seconds or off.\n"
           "Names are case-insensitive and may drop their prefix (rcvbuf, nodelay).\n"
           "\n"
           "Options known:\n");
    for (size_t i = 0; i < n; i++)
        printf("  %-18s %-8s %s\n", t[i].name, applies_name(t[i].applies), t[i].what);
    printf("\nExit status: 0 shown, 1 the kernel refused a --set (one line on stderr),\n"
           "2 bad options, unknown option names or bad values.\n");
}

static void json_value(const struct sk_sockopt *o, const struct sk_optval *v)
{
    switch (o->kind) {
    case SK_OPT_BOOL:
    case SK_OPT_NONBLOCK: fputs(v->i ? "true" : "false", stdout); break;
    case SK_OPT_TIME: printf("%.6f", (double)v->i / 1e6); break;
    case SK_OPT_LINGER:
        if (v->i < 0)
            fputs("null", stdout);
        else
            printf("%lld", (long long)v->i);
        break;
    case SK_OPT_STRING: sk_json_str(stdout, v->s); break;
    default: printf("%lld", (long long)v->i); break;
    }
}

static const char *type_name(int k)
{
    return k == 0 ? "tcp" : "udp";
}

static const struct option sockopt_longs[] = {
    {"tcp", no_argument, NULL, 't'},       {"udp", no_argument, NULL, 'u'},
    {"set", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_sockopt = {":46tus:jh", sockopt_longs, 0};

int cmd_sockopt(int argc, char **argv)
{
    static const int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    const char *cmd = argv[0];
    struct set_req sets[MAX_SETS];
    size_t nsets = 0, ntab;
    int json = 0, family = AF_INET, want[2] = {1, 1}, c, rc = SK_EXIT_OK;
    int fds[2] = {-1, -1};
    const struct sk_sockopt *tab = sk_sockopt_table(&ntab);

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_sockopt.shorts, sk_cli_opts_sockopt.longs,
                            NULL)) != -1) {
        switch (c) {
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 't': want[0] = 1, want[1] = 0; break;
        case 'u': want[0] = 0, want[1] = 1; break;
        case 'j': json = 1; break;
        case 'h': sockopt_help(); return SK_EXIT_OK;
        case 's': {
            if (nsets == MAX_SETS)
                return sk_cli_usage(cmd, "at most %d --set options", MAX_SETS);
            char name[64];
            const char *eq = strchr(optarg, '=');
            const char *why = "bad value";
            if (!eq)
                return sk_cli_usage(cmd, "--set %s: expected NAME=VALUE", optarg);
            size_t nl = (size_t)(eq - optarg);
            if (nl == 0 || nl >= sizeof(name))
                return sk_cli_usage(cmd, "--set %s: expected NAME=VALUE", optarg);
            memcpy(name, optarg, nl);
            name[nl] = '\0';
            struct set_req *s = &sets[nsets];
            memset(s, 0, sizeof(*s));
            s->text = optarg;
            s->opt = sk_sockopt_find(name);
            if (!s->opt)
                return sk_cli_usage(cmd, "unknown socket option '%s' (see --help for the list)",
                                    name);
            if (sk_optval_parse(s->opt, eq + 1, &s->want, &why) < 0)
                return sk_cli_usage(cmd, "%s: '%s': %s", s->opt->name, eq + 1, why);
            nsets++;
            break;
        }
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc)
        return sk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    for (size_t i = 0; i < nsets; i++) {
        int any = 0;
        for (int k = 0; k < 2; k++) {
            sets[i].applies[k] = want[k] && sk_sockopt_applies(sets[i].opt, family, types[k]);
            any |= sets[i].applies[k];
        }
        if (!any)
            return sk_cli_usage(cmd, "%s does not apply to the %s%s socket%s", sets[i].opt->name,
                                want[0] && want[1] ? ""
                                : want[0]          ? "tcp "
                                                   : "udp ",
                                family == AF_INET ? "IPv4" : "IPv6", want[0] && want[1] ? "s" : "");
    }
    for (int k = 0; k < 2; k++) {
        if (!want[k])
            continue;
        fds[k] = socket(family, types[k] | SOCK_CLOEXEC, 0);
        if (fds[k] < 0) {
            rc = sk_cli_fail(cmd, "%s socket: %s", type_name(k), sk_strerror(-errno));
            goto out;
        }
    }
    /* Set in order, then read back what the kernel keeps. */
    for (size_t i = 0; i < nsets; i++) {
        struct set_req *s = &sets[i];
        for (int k = 0; k < 2; k++) {
            if (!s->applies[k])
                continue;
            s->before_err[k] = sk_sockopt_get(fds[k], s->opt, &s->before[k]);
            s->set_err[k] = sk_sockopt_set(fds[k], s->opt, &s->want);
            if (s->set_err[k] < 0) {
                sk_cli_fail(cmd, "%s on the %s socket: %s", s->text, type_name(k),
                            sk_strerror(s->set_err[k]));
                rc = SK_EXIT_FAIL;
            }
        }
    }
    for (size_t i = 0; i < nsets; i++)
        for (int k = 0; k < 2; k++)
            if (sets[i].applies[k])
                sets[i].kept_err[k] = sk_sockopt_get(fds[k], sets[i].opt, &sets[i].kept[k]);

    if (json) {
        printf("{\"family\": \"%s\"", family == AF_INET ? "inet" : "inet6");
        for (int k = 0; k < 2; k++) {
            if (!want[k])
                continue;
            printf(", \"%s\": {", type_name(k));
            int first = 1;
            for (size_t i = 0; i < ntab; i++) {
                struct sk_optval v;
                if (!sk_sockopt_applies(&tab[i], family, types[k]))
                    continue;
                printf("%s\"%s\": ", first ? "" : ", ", tab[i].name);
                first = 0;
                if (sk_sockopt_get(fds[k], &tab[i], &v) < 0)
                    fputs("null", stdout);
                else
                    json_value(&tab[i], &v);
            }
            fputs("}", stdout);
        }
        fputs(", \"set\": [", stdout);
        for (size_t i = 0; i < nsets; i++) {
            struct set_req *s = &sets[i];
            printf("%s{\"option\": \"%s\", \"requested\": ", i ? ", " : "", s->opt->name);
            json_value(s->opt, &s->want);
            for (int k = 0; k < 2; k++) {
                if (!s->applies[k])
                    continue;
                printf(", \"%s\": {\"default\": ", type_name(k));
                if (s->before_err[k] < 0)
                    fputs("null", stdout);
                else
                    json_value(s->opt, &s->before[k]);
                fputs(", \"kept\": ", stdout);
                if (s->kept_err[k] < 0)
                    fputs("null", stdout);
                else
                    json_value(s->opt, &s->kept[k]);
                fputs(", \"error\": ", stdout);
                if (s->set_err[k] < 0)
                    sk_json_str(stdout, sk_strerror(s->set_err[k]));
                else
                    fputs("null", stdout);
                fputs("}", stdout);
            }
            fputs("}", stdout);
        }
        fputs("]}\n", stdout);
        goto out;
    }

    const char *head = family == AF_INET ? "option (IPv4)" : "option (IPv6)";
    if (want[0] && want[1])
        printf("%-18s %-16s %s\n", head, type_name(0), type_name(1));
    else
        printf("%-18s %s\n", head, type_name(want[0] ? 0 : 1));
    for (size_t i = 0; i < ntab; i++) {
        int shown = 0;
        char line[128];
        int len = snprintf(line, sizeof(line), "%-18s", tab[i].name);
        for (int k = 0; k < 2; k++) {
            if (!want[k])
                continue;
            char cell[40] = "-";
            struct sk_optval v;
            if (sk_sockopt_applies(&tab[i], family, types[k])) {
                shown = 1;
                if (sk_sockopt_get(fds[k], &tab[i], &v) < 0)
                    snprintf(cell, sizeof(cell), "n/a");
                else
                    sk_optval_format(&tab[i], &v, cell, sizeof(cell));
                for (size_t s = 0; s < nsets; s++)
                    if (sets[s].opt == &tab[i] && sets[s].applies[k] && sets[s].set_err[k] == 0) {
                        size_t cl = strlen(cell);
                        snprintf(cell + cl, sizeof(cell) - cl, " *");
                    }
            }
            len += snprintf(line + len, sizeof(line) - (size_t)len, " %-16s", cell);
        }
        while (len > 0 && line[len - 1] == ' ')
            line[--len] = '\0';
        if (shown)
            printf("%s\n", line);
    }
    if (nsets)
        printf("\n* set with --set: requested -> kept (default)\n");
    for (size_t i = 0; i < nsets; i++) {
        struct set_req *s = &sets[i];
        char want_s[40];
        sk_optval_format(s->opt, &s->want, want_s, sizeof(want_s));
        printf("%s = %s:", s->opt->name, want_s);
        for (int k = 0; k < 2; k++) {
            char kept[40] = "n/a", before[40] = "n/a";
            if (!s->applies[k])
                continue;
            if (s->kept_err[k] == 0)
                sk_optval_format(s->opt, &s->kept[k], kept, sizeof(kept));
            if (s->before_err[k] == 0)
                sk_optval_format(s->opt, &s->before[k], before, sizeof(before));
            if (s->set_err[k] < 0)
                printf("  %s refused (%s), keeps %s", type_name(k), sk_strerror(s->set_err[k]),
                       kept);
            else
                printf("  %s keeps %s (default %s)", type_name(k), kept, before);
        }
        fputc('\n', stdout);
    }
out:
    for (int k = 0; k < 2; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    return rc;
}

/* ---- ifaces ---- */

static const char ifaces_help[] =
    "Usage: sockit ifaces [-4|-6] [--up] [--json] [NAME...]\n"
    "List the network interfaces (getifaddrs): index, name, flags, MTU, hardware\n"
    "address, and each IPv4/IPv6 address with its prefix length, broadcast or\n"
    "peer address. NAME... shows only those interfaces.\n"
    "\n"
    "Options:\n"
    "  -4, -6       only IPv4 or only IPv6 addresses\n"
    "      --up     only interfaces that are up\n"
    "  -j, --json   one JSON array of interfaces\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 listed, 1 getifaddrs failed or a NAME is no interface,\n"
    "2 bad options.\n";

static int wanted(const char *name, int argc, char **argv, int from)
{
    if (from >= argc)
        return 1;
    for (int i = from; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

static const struct option ifaces_longs[] = {
    {"up", no_argument, NULL, 'U'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_ifaces = {":46jh", ifaces_longs, 0};

int cmd_ifaces(int argc, char **argv)
{
    const char *cmd = argv[0];
    int json = 0, family = AF_UNSPEC, up_only = 0, c, rc = SK_EXIT_OK, first = 1;
    struct sk_iface *v = NULL;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_ifaces.shorts, sk_cli_opts_ifaces.longs,
                            NULL)) != -1) {
        switch (c) {
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 'U': up_only = 1; break;
        case 'j': json = 1; break;
        case 'h': fputs(ifaces_help, stdout); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    int n = sk_ifaces(&v);
    if (n < 0)
        return sk_cli_fail(cmd, "getifaddrs: %s", sk_strerror(n));
    for (int i = optind; i < argc; i++) {
        int found = 0;
        for (int k = 0; k < n && !found; k++)
            found = strcmp(v[k].name, argv[i]) == 0;
        if (!found)
            rc = sk_cli_fail(cmd, "%s: no such interface", argv[i]);
    }
    if (json)
        fputs("[", stdout);
    for (int i = 0; i < n; i++) {
        struct sk_iface *f = &v[i];
        char flags[160];
        if (!wanted(f->name, argc, argv, optind) || (up_only && !(f->flags & IFF_UP)))
            continue;
        if (sk_iface_flags_format(f->flags, flags, sizeof(flags)) < 0)
            flags[0] = '\0';
        if (json) {
            fputs(first ? "" : ",\n ", stdout);
            first = 0;
            fputs("{\"name\": ", stdout);
            sk_json_str(stdout, f->name);
            printf(", \"index\": %u, \"flags\": [", f->index);
            for (char *p = flags; *p;) {
                size_t len = strcspn(p, ",");
                printf("%s\"%.*s\"", p == flags ? "" : ", ", (int)len, p);
                p += len;
                p += *p == ',';
            }
            printf("], \"mtu\": ");
            if (f->mtu >= 0)
                printf("%d", f->mtu);
            else
                fputs("null", stdout);
            fputs(", \"mac\": ", stdout);
            if (f->mac[0])
                sk_json_str(stdout, f->mac);
            else
                fputs("null", stdout);
            fputs(", \"addresses\": [", stdout);
        } else {
            printf("%u: %s <%s>", f->index, f->name, flags);
            if (f->mtu >= 0)
                printf(" mtu %d", f->mtu);
            if (f->mac[0])
                printf(" ether %s", f->mac);
            fputc('\n', stdout);
        }
        int afirst = 1;
        for (size_t k = 0; k < f->naddr; k++) {
            const struct sk_iface_addr *a = &f->addrs[k];
            if (family != AF_UNSPEC && a->family != family)
                continue;
            if (json) {
                printf("%s{\"family\": \"%s\", \"address\": ", afirst ? "" : ", ",
                       sk_family_name(a->family));
                afirst = 0;
                sk_json_str(stdout, a->addr);
                fputs(", \"prefix\": ", stdout);
                if (a->prefix >= 0)
                    printf("%d", a->prefix);
                else
                    fputs("null", stdout);
                if (a->broadcast[0])
                    printf(", \"broadcast\": \"%s\"", a->broadcast);
                if (a->peer[0])
                    printf(", \"peer\": \"%s\"", a->peer);
                fputs("}", stdout);
                continue;
            }
            printf("    %-5s %s", a->family == AF_INET ? "inet" : "inet6", a->addr);
            if (a->prefix >= 0)
                printf("/%d", a->prefix);
            if (a->broadcast[0])
                printf(" brd %s", a->broadcast);
            if (a->peer[0])
                printf(" peer %s", a->peer);
            fputc('\n', stdout);
        }
        if (json)
            fputs("]}", stdout);
    }
    if (json)
        fputs("]\n", stdout);
    sk_ifaces_free(v, n);
    return rc;
}
