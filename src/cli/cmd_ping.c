/*
 * cmd_ping.c - `sockit ping HOST`: argument parsing, resolving, choosing
 * the socket kind, and the exit status (0 when any reply came, like ping).
 */
#include "cli.h"

#include "sockit/client.h"
#include "sockit/error.h"
#include "sockit/resolve.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void help(void)
{
    printf("Usage: sockit ping [OPTIONS] HOST\n"
           "Send ICMP echo requests to HOST (IPv4 or IPv6) and print each reply's sequence\n"
           "number, TTL (hop limit) and round-trip time, then the statistics. Uses an\n"
           "unprivileged ICMP datagram socket where net.ipv4.ping_group_range admits the\n"
           "process's group, else a raw socket when the process may open one (CAP_NET_RAW).\n"
           "Each reply's identifier, sequence number and data are checked.\n\n"
           "Options:\n"
           "  -c, --count N        stop after N requests (default: until interrupted)\n"
           "  -i, --interval SECS  time between requests (default 1; at least 0.01)\n"
           "  -s, --size BYTES     data bytes per request (default 56)\n"
           "  -W, --timeout SECS   after the last request, wait this long for replies\n"
           "                       (default 10; ends sooner once every reply is in)\n"
           "  -4, -6               IPv4 or IPv6 only\n"
           "  --dgram              only the unprivileged datagram socket\n"
           "  --raw                only a raw socket\n"
           "  -q, --quiet          print only the first line and the statistics\n"
           "  --json               no lines as replies come; the statistics as one JSON\n"
           "                       object at the end\n"
           "  -h, --help           this text\n\n"
           "Exit status: 0 at least one reply, 1 no reply or the socket could not be\n"
           "opened (the reason is one line), 2 bad arguments.\n");
}

enum { OPT_DGRAM = 256, OPT_RAW, OPT_JSON };

static void json_report(const char *host, const struct sk_addr *dst, int kind,
                        const struct sk_ping_stats *st)
{
    char a[SK_ADDR_STRLEN];
    sk_addr_format_host(dst, a, sizeof(a));
    fputs("{\"host\": ", stdout);
    sk_json_str(stdout, host);
    fputs(", \"address\": ", stdout);
    sk_json_str(stdout, a);
    double loss = st->transmitted
                      ? 100.0 * (double)(st->transmitted - st->received) / (double)st->transmitted
                      : 0.0;
    printf(", \"socket\": \"%s\", \"transmitted\": %" PRIu64 ", \"received\": %" PRIu64
           ", \"duplicates\": %" PRIu64 ", \"corrupted\": %" PRIu64
           ", \"loss_percent\": %.3f, \"time_ms\": %" PRId64,
           kind == SK_PING_RAW ? "raw" : "dgram", st->transmitted, st->received, st->duplicates,
           st->corrupted, loss, st->elapsed_ms);
    if (st->received) {
        double n = (double)st->received, avg = st->rtt_sum / n, var = st->rtt_sum2 / n - avg * avg;
        printf(", \"rtt_ms\": {\"min\": %.3f, \"avg\": %.3f, \"max\": %.3f, \"mdev\": %.3f}}\n",
               st->rtt_min, avg, st->rtt_max, var > 0 ? sqrt(var) : 0.0);
    } else {
        printf(", \"rtt_ms\": null}\n");
    }
}

static const struct option ping_longs[] = {
    {"count", required_argument, NULL, 'c'}, {"interval", required_argument, NULL, 'i'},
    {"size", required_argument, NULL, 's'},  {"timeout", required_argument, NULL, 'W'},
    {"dgram", no_argument, NULL, OPT_DGRAM}, {"raw", no_argument, NULL, OPT_RAW},
    {"quiet", no_argument, NULL, 'q'},       {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_ping = {":c:i:s:W:46qh", ping_longs, 0};

int cmd_ping(int argc, char **argv)
{
    const char *cmd = "ping";
    int family = AF_UNSPEC, json = 0, c;
    int64_t v;
    uint64_t sz;
    struct sk_ping_opts o = {
        .kind = SK_PING_AUTO,
        .interval_ms = 1000,
        .size = 56,
        .timeout_ms = 10000,
        .stop = &stop_flag,
    };

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_ping.shorts, sk_cli_opts_ping.longs, NULL)) !=
           -1) {
        switch (c) {
        case 'c':
            if (sk_parse_i64(optarg, 1, INT64_MAX, &v) < 0)
                return sk_cli_usage(cmd, "-c: '%s' is not a positive number", optarg);
            o.count = (uint64_t)v;
            break;
        case 'i':
            if (sk_parse_duration_ms(optarg, &v) < 0 || v < 10 || v > 3600000)
                return sk_cli_usage(cmd, "-i: '%s' is not an interval from 0.01 to 3600 s", optarg);
            o.interval_ms = (int)v;
            break;
        case 's':
            if (sk_parse_size(optarg, 65527, &sz) < 0)
                return sk_cli_usage(cmd, "-s: '%s' is not a size from 0 to 65527", optarg);
            o.size = (size_t)sz;
            break;
        case 'W':
            if (sk_parse_duration_ms(optarg, &v) < 0 || v < 1 || v > 3600000)
                return sk_cli_usage(cmd, "-W: '%s' is not a duration up to 3600 s", optarg);
            o.timeout_ms = (int)v;
            break;
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case OPT_DGRAM: o.kind = SK_PING_DGRAM; break;
        case OPT_RAW: o.kind = SK_PING_RAW; break;
        case 'q': o.quiet = 1; break;
        case OPT_JSON: json = 1; break;
        case 'h': help(); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (argc - optind != 1)
        return sk_cli_usage(cmd, "expected one HOST");
    const char *host = argv[optind];
    struct sk_addr dst;
    int r = sk_resolve_one(host, NULL, family, SOCK_RAW, 0, &dst);
    if (r < 0)
        return sk_cli_fail(cmd, "%s: %s", host, sk_strerror(r));
    if (sk_addr_family(&dst) == AF_INET && o.size > 65507)
        return sk_cli_usage(cmd, "-s: IPv4 carries at most 65507 data bytes");
    sk_addr_set_port(&dst, 0);

    char why[512] = "";
    int kind;
    int fd = sk_ping_open(sk_addr_family(&dst), o.kind, &kind, why, sizeof(why));
    if (fd < 0)
        return sk_cli_fail(cmd, "%s", why);

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct sk_ping_stats st;
    FILE *out = json ? fopen("/dev/null", "w") : stdout; /* JSON: only the object at the end */
    if (!out) {
        close(fd);
        return sk_cli_fail(cmd, "/dev/null: %s", sk_strerror(-errno));
    }
    r = sk_ping_run(fd, kind, &dst, host, &o, out, &st);
    close(fd);
    if (json) {
        fclose(out);
        if (r == 0)
            json_report(host, &dst, kind, &st);
    }
    if (r < 0)
        return sk_cli_fail(cmd, "%s: %s", host, sk_strerror(r));
    return st.received > 0 ? SK_EXIT_OK : SK_EXIT_FAIL;
}
