/*
 * cmd_bench_chat.c - `sockit bench chat`: argument parsing and the report of
 * the chat load generator; the work is in src/bench/chat.c.
 */
#include "cli.h"

#include "sockit/bench.h"
#include "sockit/chatbench.h"
#include "sockit/error.h"
#include "sockit/resolve.h"
#include "sockit/util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum {
    OPT_MEMBERS = 256,
    OPT_SENDERS,
    OPT_RATE,
    OPT_IRC,
    OPT_CHANNEL,
    OPT_JOIN_TIMEOUT,
    OPT_JOINING,
    OPT_DRAIN,
    OPT_PAD,
    OPT_NICK_PREFIX,
    OPT_JSON,
};

static const struct option chat_longs[] = {
    {"members", required_argument, NULL, OPT_MEMBERS},
    {"senders", required_argument, NULL, OPT_SENDERS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"duration", required_argument, NULL, 'd'},
    {"irc", no_argument, NULL, OPT_IRC},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"join-timeout", required_argument, NULL, OPT_JOIN_TIMEOUT},
    {"joining", required_argument, NULL, OPT_JOINING},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"pad", required_argument, NULL, OPT_PAD},
    {"nick-prefix", required_argument, NULL, OPT_NICK_PREFIX},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void chat_help(void)
{
    printf("Usage: sockit bench chat HOST PORT --members N --senders M --rate R [OPTIONS]\n"
           "N members join one room; M of them send R messages a second in all (each\n"
           "R/M a second, their phases spread), each message carrying its sender, a\n"
           "sequence number and its intended send time; every member accounts for\n"
           "what it receives.\n\n"
           "  --members N          members in the room (default 10)\n"
           "  --senders M          of which send (default 2; at most N)\n"
           "  --rate R             messages a second, all senders together (default 100)\n"
           "  -d, --duration DUR   send this long (default 5s)\n"
           "  --irc                speak IRC: NICK/USER, JOIN, PRIVMSG to one channel,\n"
           "                       PING answered (default: sockit chat's line protocol)\n"
           "  --channel NAME       the IRC channel (default #bench)\n"
           "  --join-timeout DUR   every member joined within this (default 30s)\n"
           "  --joining N          members joining at once (default 8; the server's listen\n"
           "                       backlog is not the test)\n"
           "  --drain DUR          after sending, wait this long at most for the last\n"
           "                       deliveries (default 2s)\n"
           "  --pad N              padding bytes per message (default 0)\n"
           "  --nick-prefix P      nicknames are P0, P1, ... (default b; a letter, then\n"
           "                       letters and digits, at most 16)\n"
           "  -4, -6               IPv4 or IPv6 only when resolving HOST\n"
           "  --json               one JSON object\n"
           "  -q, --quiet          the summary line only\n\n"
           "Reports deliveries a second within the sending window, delivery latency\n"
           "percentiles (from each message's intended send time to its receipt), and\n"
           "missing, duplicated and out-of-order deliveries per sender and receiver.\n"
           "The server's flood limits are the server's: start sockit chat with\n"
           "--flood-lines 0 --flood-bytes 0 (and --max-clients above N) to measure\n"
           "delivery rather than the limits.\n"
           "Exit status: 0 messages were delivered; 1 not every member joined, or\n"
           "nothing was delivered; 2 bad arguments.\n");
}

static void on_signal(int sig)
{
    (void)sig;
    sk_bench_interrupt();
}

static void report(const struct sk_chatb_cfg *cfg, const struct sk_chatb_result *res,
                   const char *label, int json, int quiet)
{
    static const double pcts[] = {50, 90, 99, 99.9};
    double el = res->elapsed_s > 0 ? res->elapsed_s : 1;
    double dps = (double)res->in_window / el;
    const struct sk_hist *h = &res->hist;
    if (json) {
        printf("{\"kind\": \"chat\", \"target\": ");
        sk_json_str(stdout, label);
        printf(", \"protocol\": \"%s\", \"members\": %u, \"senders\": %u, \"rate\": %.3f, "
               "\"joined\": %u, \"join_s\": %.6f, \"elapsed_s\": %.6f, \"sent\": %llu, "
               "\"backlog\": %llu, \"expected\": %llu, \"delivered\": %llu, \"in_window\": %llu, "
               "\"deliveries_per_s\": %.3f, \"missing\": %llu, \"duplicated\": %llu, "
               "\"reordered\": %llu, \"foreign\": %llu, \"refused\": %llu, \"closed\": %llu, "
               "\"latency_ns\": {\"min\": %lld, \"mean\": %.0f",
               cfg->irc ? "irc" : "chat", cfg->members, cfg->senders, cfg->rate, res->joined,
               res->join_s, res->elapsed_s, (unsigned long long)res->sent,
               (unsigned long long)res->backlog, (unsigned long long)res->expected,
               (unsigned long long)res->delivered, (unsigned long long)res->in_window, dps,
               (unsigned long long)res->missing, (unsigned long long)res->duplicated,
               (unsigned long long)res->reordered, (unsigned long long)res->foreign,
               (unsigned long long)res->refused, (unsigned long long)res->closed,
               (long long)(h->count ? h->min : 0), sk_hist_mean(h));
        for (size_t i = 0; i < SK_ARRAY_LEN(pcts); i++)
            printf(", \"p%g\": %lld", pcts[i], (long long)sk_hist_percentile(h, pcts[i]));
        printf(", \"max\": %lld}, \"note\": ", (long long)(h->count ? h->max : 0));
        sk_json_str(stdout, res->why);
        printf("}\n");
        return;
    }
    char b[4][32];
    printf("%.0f deliveries/s, p99 %s, missing %llu, duplicated %llu, out-of-order %llu\n", dps,
           sk_bench_fmt_ns(sk_hist_percentile(h, 99), b[0], sizeof(b[0])),
           (unsigned long long)res->missing, (unsigned long long)res->duplicated,
           (unsigned long long)res->reordered);
    if (quiet)
        return;
    printf("sockit bench chat %s (%s, %u members, %u senders, %.0f msg/s, %.2f s)\n", label,
           cfg->irc ? "irc" : "chat", cfg->members, cfg->senders, cfg->rate, res->elapsed_s);
    printf("  joined       %u members in %.2f s\n", res->joined, res->join_s);
    printf("  sent         %llu messages (%.1f/s)", (unsigned long long)res->sent,
           (double)res->sent / el);
    if (res->backlog)
        printf(", %llu not written (the sender's queue was full)",
               (unsigned long long)res->backlog);
    printf("\n  delivered    %llu of %llu expected, %llu within the window (%.0f/s)\n",
           (unsigned long long)res->delivered, (unsigned long long)res->expected,
           (unsigned long long)res->in_window, dps);
    printf("  missing %llu, duplicated %llu, out-of-order %llu, foreign %llu, refused %llu, "
           "closed %llu\n",
           (unsigned long long)res->missing, (unsigned long long)res->duplicated,
           (unsigned long long)res->reordered, (unsigned long long)res->foreign,
           (unsigned long long)res->refused, (unsigned long long)res->closed);
    printf("  latency      p50 %s  p90 %s  p99 %s  p99.9 %s",
           sk_bench_fmt_ns(sk_hist_percentile(h, 50), b[0], sizeof(b[0])),
           sk_bench_fmt_ns(sk_hist_percentile(h, 90), b[1], sizeof(b[1])),
           sk_bench_fmt_ns(sk_hist_percentile(h, 99), b[2], sizeof(b[2])),
           sk_bench_fmt_ns(sk_hist_percentile(h, 99.9), b[3], sizeof(b[3])));
    printf("  max %s (from the intended send time)\n",
           sk_bench_fmt_ns(h->count ? h->max : 0, b[0], sizeof(b[0])));
    if (res->why[0])
        printf("  note         %s\n", res->why);
}

/* optarg as a whole number in [min, max] into *v; else the usage line. */
static int num_arg(const char *cmd, const char *opt, int64_t min, int64_t max, int64_t *v)
{
    if (sk_parse_i64(optarg, min, max, v) == 0)
        return 0;
    sk_cli_usage(cmd, "%s: '%s' is not a number in %lld..%lld", opt, optarg, (long long)min,
                 (long long)max);
    return -1;
}

/* optarg as a duration in [min_ms, max_ms] (max given as words for the
 * message) into *v; else the usage line. */
static int dur_arg(const char *cmd, const char *opt, int64_t min_ms, int64_t max_ms,
                   const char *max_words, int64_t *v)
{
    if (sk_parse_duration_ms(optarg, v) == 0 && *v >= min_ms && *v <= max_ms)
        return 0;
    sk_cli_usage(cmd, "%s: '%s' is not a duration up to %s (e.g. 5s)", opt, optarg, max_words);
    return -1;
}

int sk_cli_bench_chat(const char *cmd, int argc, char **argv)
{
    struct sk_chatb_cfg cfg;
    sk_chatb_cfg_init(&cfg);
    int json = 0, quiet = 0, family = 0, c;
    int64_t v;
    const char *why = "";

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:46qh", chat_longs, NULL)) != -1) {
        switch (c) {
        case OPT_MEMBERS:
            if (num_arg(cmd, "--members", 2, 100000, &v) < 0)
                return SK_EXIT_USAGE;
            cfg.members = (unsigned)v;
            break;
        case OPT_SENDERS:
            if (num_arg(cmd, "--senders", 1, 100000, &v) < 0)
                return SK_EXIT_USAGE;
            cfg.senders = (unsigned)v;
            break;
        case OPT_RATE: {
            char *end;
            errno = 0;
            double r = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(r > 0) || r > 1e7)
                return sk_cli_usage(cmd, "--rate: '%s' is not a rate in messages/s (up to 1e7)",
                                    optarg);
            cfg.rate = r;
            break;
        }
        case 'd':
            if (dur_arg(cmd, "-d", 1, 3600 * 1000, "1h", &v) < 0)
                return SK_EXIT_USAGE;
            cfg.duration_ms = v;
            break;
        case OPT_JOIN_TIMEOUT:
            if (dur_arg(cmd, "--join-timeout", 1, 3600 * 1000, "1h", &v) < 0)
                return SK_EXIT_USAGE;
            cfg.join_ms = v;
            break;
        case OPT_JOINING:
            if (num_arg(cmd, "--joining", 1, 10000, &v) < 0)
                return SK_EXIT_USAGE;
            cfg.joining = (unsigned)v;
            break;
        case OPT_DRAIN:
            if (dur_arg(cmd, "--drain", 0, 600 * 1000, "10m", &v) < 0)
                return SK_EXIT_USAGE;
            cfg.drain_ms = v;
            break;
        case OPT_PAD:
            if (num_arg(cmd, "--pad", 0, 3000, &v) < 0)
                return SK_EXIT_USAGE;
            cfg.pad = (size_t)v;
            break;
        case OPT_NICK_PREFIX: {
            size_t k = strlen(optarg), ok = k >= 1 && k <= 16 && isalpha((unsigned char)optarg[0]);
            for (size_t i = 1; ok && i < k; i++)
                ok = isalnum((unsigned char)optarg[i]) != 0;
            if (!ok)
                return sk_cli_usage(cmd,
                                    "--nick-prefix: '%s' is not a letter followed by at most "
                                    "15 letters and digits",
                                    optarg);
            cfg.nick_prefix = optarg;
            break;
        }
        case OPT_IRC: cfg.irc = 1; break;
        case OPT_CHANNEL:
            if (!strchr("#&", optarg[0]) || optarg[0] == '\0' || strlen(optarg) > 50 ||
                strpbrk(optarg, " ,\a\r\n"))
                return sk_cli_usage(cmd, "--channel: '%s' is not an IRC channel (#name)", optarg);
            cfg.channel = optarg;
            break;
        case OPT_JSON: json = 1; break;
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 'q': quiet = 1; break;
        case 'h': chat_help(); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (cfg.senders > cfg.members)
        return sk_cli_usage(cmd, "--senders %u: more than the %u members", cfg.senders,
                            cfg.members);
    if (cfg.irc && cfg.pad > 400)
        return sk_cli_usage(cmd, "--pad %zu: an IRC line holds 512 bytes (at most 400 with --irc)",
                            cfg.pad);
    if (argc - optind != 2)
        return sk_cli_usage(cmd, "HOST and PORT, please");
    uint16_t pn = 0;
    if (sk_port_parse(argv[optind + 1], &pn, &why) < 0 || pn == 0)
        return sk_cli_usage(cmd, "port '%s': %s", argv[optind + 1], pn == 0 ? "port 0" : why);
    int r = sk_resolve_one(argv[optind], argv[optind + 1], family, SOCK_STREAM, 0, &cfg.addr);
    if (r < 0)
        return sk_cli_fail(cmd, "%s port %s: %s", argv[optind], argv[optind + 1], sk_strerror(r));
    char label[SK_ADDR_STRLEN];
    sk_addr_format(&cfg.addr, label, sizeof(label));

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct sk_chatb_result *res = malloc(sizeof(*res));
    if (!res)
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    r = sk_chatb_run(&cfg, res);
    int rc = SK_EXIT_OK;
    if (r == -ETIMEDOUT)
        rc = sk_cli_fail(cmd, "%u of %u members joined in %.1f s: %s", res->joined, cfg.members,
                         res->join_s, res->why[0] ? res->why : "no answer");
    else if (r == -E2BIG)
        rc = sk_cli_fail(cmd,
                         "%.0f messages/s for %.1f s to %u members is more receipts than "
                         "1 GiB can track: shorten -d or lower --rate",
                         cfg.rate, (double)cfg.duration_ms / 1000, cfg.members);
    else if (r == -EINTR && res->joined < cfg.members)
        rc = sk_cli_fail(cmd, "interrupted while joining (%u of %u members)", res->joined,
                         cfg.members);
    else if (r < 0)
        rc = sk_cli_fail(cmd, "%s", sk_strerror(r));
    if (rc == SK_EXIT_OK) {
        report(&cfg, res, label, json, quiet);
        fflush(stdout);
        if (res->delivered == 0)
            rc = sk_cli_fail(cmd, "nothing was delivered");
    }
    free(res);
    return rc;
}
