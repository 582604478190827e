/*
 * cmd_client.c - `sockit connect` (netcat-style relay) and
 * `sockit echo-client` (interactive or scripted echo client): argument
 * parsing, connecting, and the one-line errors.
 */
#include "cli.h"

#include "sockit/client.h"
#include "sockit/error.h"
#include "sockit/resolve.h"
#include "sockit/sock.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void catch_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int parse_secs(const char *cmd, const char *opt, const char *v, int64_t min_ms, int *out_ms)
{
    int64_t ms;
    if (sk_parse_duration_ms(v, &ms) < 0)
        return sk_cli_usage(cmd, "%s: '%s' is not a duration (e.g. 2, 1.5, 500ms)", opt, v);
    if (ms < min_ms) /* a duration, but zero where zero means nothing */
        return sk_cli_usage(cmd, "%s: the time must be more than 0 (e.g. 2, 1.5, 500ms)", opt);
    if (ms > 86400000LL)
        return sk_cli_usage(cmd, "%s: '%s' is more than a day", opt, v);
    *out_ms = (int)ms;
    return 0;
}

/* The target as words for error lines: "HOST port PORT" or "unix:PATH". */
static void target_name(char *buf, size_t n, const char *host, const char *port, const char *path)
{
    if (path)
        snprintf(buf, n, "unix:%s", path);
    else
        snprintf(buf, n, "%s port %s", host, port);
}

/* PORT is a number 1..65535 or a service name (resolved with the host). */
static int check_port(const char *cmd, const char *port)
{
    uint16_t p;
    const char *why;
    if (port[0] >= '0' && port[0] <= '9') {
        if (sk_port_parse(port, &p, &why) < 0)
            return sk_cli_usage(cmd, "port %s: %s", port, why);
        if (p == 0)
            return sk_cli_usage(cmd, "port 0 cannot be connected to");
    } else if (!*port) {
        return sk_cli_usage(cmd, "empty port");
    }
    return 0;
}

/* ---- connect ---- */

static void connect_help(void)
{
    printf("Usage: sockit connect [OPTIONS] HOST PORT\n"
           "       sockit connect [OPTIONS] --unix PATH\n"
           "Netcat-style client: standard input goes to the socket, what the socket\n"
           "receives goes to standard output. When standard input ends, the sending side\n"
           "is shut down (the peer sees end-of-file) and sockit keeps printing until the\n"
           "peer closes; then it exits 0 (see --eof-wait for input still flowing then).\n\n"
           "Options:\n"
           "  -u, --udp          UDP: each read of standard input (a line from a terminal,\n"
           "                     a chunk from a pipe) is one datagram; replies are printed.\n"
           "                     After input ends, replies are awaited for -w (default 1 s)\n"
           "  -4, -6             IPv4 or IPv6 only\n"
           "  --unix PATH        connect to a Unix socket ('@name': abstract namespace)\n"
           "  -w, --wait SECS    connect timeout (TCP); reply wait after input ends (UDP)\n"
           "  --idle SECS        end when nothing moved either way for SECS (default never)\n"
           "  --eof-wait SECS    after the peer ends its side, input still flowing is sent\n"
           "                     on until it ends or stalls this long (default 0.5)\n"
           "  -v, --verbose      report the connect time and the bytes sent/received on stderr\n"
           "  --json             those reports as JSON objects, one a line (implies "
           "-v)\n" SK_CLI_TLS_HELP "  -h, --help         this text\n"
           "Old spellings still accepted: -i for --idle, -t for --eof-wait.\n\n"
           "With TLS nothing is sent before the server's certificate is verified; when\n"
           "standard input ends, close_notify is sent, then the TCP half-close.\n"
           "Exit status: 0 the peer closed (or UDP input ended), 1 connection refused,\n"
           "unresolvable host, reset or another failure, 2 bad arguments.\n");
}

static const struct option connect_longs[] = {
    {"udp", no_argument, NULL, 'u'},
    {"unix", required_argument, NULL, 'U'},
    {"wait", required_argument, NULL, 'w'},
    {"idle", required_argument, NULL, 'i'},
    {"eof-wait", required_argument, NULL, 't'},
    {"verbose", no_argument, NULL, 'v'},
    {"json", no_argument, NULL, 'J'},
    {"help", no_argument, NULL, 'h'},
    SK_CLI_TLS_OPTIONS,
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_connect = {":u46w:i:t:vh", connect_longs, 0};

int cmd_connect(int argc, char **argv)
{
    const char *cmd = "connect", *unix_path = NULL;
    int socktype = SOCK_STREAM, family = AF_UNSPEC, verbose = 0, json = 0, c;
    int wait_ms = -1, idle_ms = 0, eof_wait_ms = 500;
    struct sk_cli_tls tlo = {0};

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_connect.shorts, sk_cli_opts_connect.longs,
                            NULL)) != -1) {
        if (sk_cli_tls_opt(&tlo, c, optarg))
            continue;
        switch (c) {
        case 'u': socktype = SOCK_DGRAM; break;
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 'U': unix_path = optarg; break;
        case 'w':
            if (parse_secs(cmd, "-w", optarg, 1, &wait_ms))
                return SK_EXIT_USAGE;
            break;
        case 'i':
            if (parse_secs(cmd, "--idle", optarg, 1, &idle_ms))
                return SK_EXIT_USAGE;
            break;
        case 't':
            if (parse_secs(cmd, "--eof-wait", optarg, 0, &eof_wait_ms))
                return SK_EXIT_USAGE;
            break;
        case 'v': verbose = 1; break;
        case 'J': json = verbose = 1; break;
        case 'h': connect_help(); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    int nargs = argc - optind;
    if (unix_path ? nargs != 0 : nargs != 2)
        return sk_cli_usage(cmd, unix_path ? "--unix takes no HOST PORT" : "expected HOST PORT");
    const char *host = unix_path ? NULL : argv[optind], *port = unix_path ? NULL : argv[optind + 1];
    if (!unix_path && check_port(cmd, port))
        return SK_EXIT_USAGE;
    if (sk_cli_tls_check(cmd, &tlo))
        return SK_EXIT_USAGE;
    if (tlo.on && socktype == SOCK_DGRAM)
        return sk_cli_usage(cmd, "--tls is for streams (no DTLS): drop -u");
    if (tlo.on && unix_path && !tlo.sni && !tlo.pin && !tlo.insecure)
        return sk_cli_usage(cmd, "TLS over --unix needs the server's name (--sni), --pin or "
                                 "--insecure");

    char target[300];
    target_name(target, sizeof(target), host, port, unix_path);
    struct sk_addr peer;
    int64_t t0 = sk_now_ns();
    int fd = unix_path ? sk_client_connect_unix(unix_path, socktype, &peer)
                       : sk_client_connect(host, port, family, socktype,
                                           socktype == SOCK_STREAM ? wait_ms : -1, &peer);
    if (fd < 0)
        return sk_cli_fail(cmd, "%s: %s", target, sk_strerror(fd));
    int64_t t1 = sk_now_ns();
    char a[SK_ADDR_STRLEN];
    sk_addr_format(&peer, a, sizeof(a));
    const char *transport =
        socktype == SOCK_DGRAM ? (unix_path ? "unix-dgram" : "udp") : (unix_path ? "unix" : "tcp");
    if (json) {
        fputs("{\"event\": \"connected\", \"peer\": ", stderr);
        sk_json_str(stderr, a);
        fprintf(stderr, ", \"transport\": \"%s\", \"connect_ms\": %.3f}\n", transport,
                (double)(t1 - t0) / 1e6);
    } else if (verbose) {
        fprintf(stderr, "sockit: connect: connected to %s (%s) in %.3f ms\n", a, transport,
                (double)(t1 - t0) / 1e6);
    }

    struct sk_tls_ctx *tctx = NULL;
    struct sk_tls *tls = NULL;
    if (tlo.on) {
        int e = sk_cli_tls_start(cmd, target, &tlo, fd, host, wait_ms > 0 ? wait_ms : 10000,
                                 verbose && !json, &tctx, &tls);
        if (e) {
            sk_tls_free(tls);
            sk_tls_ctx_free(tctx);
            close(fd);
            return e;
        }
    }

    catch_signals();
    struct sk_relay_opts ro = {
        .in_fd = STDIN_FILENO,
        .out_fd = STDOUT_FILENO,
        .socktype = socktype,
        .idle_timeout_ms = idle_ms,
        .linger_ms = wait_ms > 0 ? wait_ms : 1000,
        .eof_wait_ms = eof_wait_ms,
        .stop = &stop_flag,
        .tls = tls,
    };
    struct sk_relay_stats st;
    int r = sk_relay(fd, &ro, &st);
    char tls_why[400] = "";
    if (tls && r < 0)
        snprintf(tls_why, sizeof(tls_why), "%s", sk_tls_why(tls));
    int truncated = tls && sk_tls_truncated(tls);
    sk_tls_free(tls);
    sk_tls_ctx_free(tctx);
    close(fd);
    const char *why = r < 0             ? "error"
                      : stop_flag       ? "interrupted"
                      : st.peer_closed  ? "peer closed"
                      : st.idle_timeout ? "idle timeout"
                                        : "input ended";
    if (json) {
        fprintf(stderr, "{\"event\": \"closed\", \"sent\": %" PRIu64 ", \"received\": %" PRIu64,
                st.sent, st.received);
        if (socktype == SOCK_DGRAM)
            fprintf(stderr, ", \"datagrams_sent\": %" PRIu64 ", \"datagrams_received\": %" PRIu64,
                    st.dgrams_sent, st.dgrams_received);
        fprintf(stderr, ", \"seconds\": %.3f, \"reason\": \"%s\"", (double)(sk_now_ns() - t1) / 1e9,
                why);
        if (tlo.on)
            fprintf(stderr, ", \"tls\": true, \"tls_close_notify\": %s",
                    truncated ? "false" : "true");
        if (r < 0) {
            fputs(", \"error\": ", stderr);
            sk_json_str(stderr, sk_is_tls_error(r) ? tls_why : sk_strerror(r));
        }
        fputs("}\n", stderr);
    } else if (verbose) {
        fprintf(stderr, "sockit: connect: sent %" PRIu64 " byte%s, received %" PRIu64 " byte%s",
                st.sent, SK_CLI_S(st.sent), st.received, SK_CLI_S(st.received));
        if (socktype == SOCK_DGRAM)
            fprintf(stderr, " (%" PRIu64 " datagram%s sent, %" PRIu64 " received)", st.dgrams_sent,
                    SK_CLI_S(st.dgrams_sent), st.dgrams_received);
        fprintf(stderr, " in %.3f s%s%s\n", (double)(sk_now_ns() - t1) / 1e9,
                st.peer_closed    ? ", closed by the peer"
                : st.idle_timeout ? ", idle timeout"
                                  : "",
                truncated ? " (without TLS close_notify)" : "");
    }
    if (r < 0)
        return sk_cli_fail(cmd, "%s: %s", target, sk_is_tls_error(r) ? tls_why : sk_strerror(r));
    return stop_flag ? 130 : SK_EXIT_OK;
}

/* ---- echo-client ---- */

static void echo_help(void)
{
    printf(
        "Usage: sockit echo-client [OPTIONS] HOST PORT\n"
        "       sockit echo-client [OPTIONS] --unix PATH\n"
        "Echo client. Interactive (no -m/--count): each line typed is sent and its reply\n"
        "printed; end of input, the --quit word or (at a terminal) an empty line ends the\n"
        "session. A reply shown on a terminal has its control and escape sequences\n"
        "escaped (\\xNN); into a pipe it is written byte for byte.\n"
        "Scripted: each message is sent in turn and its reply printed with the round-trip\n"
        "time, then min/avg/max/mdev.\n\n"
        "A TCP reply is complete when what came back ends with the message sent (an echo,\n"
        "or an echo behind a prefix like the seeds' \"You Send:\"), or when nothing more\n"
        "arrives for --pause after its first byte (servers answering something else).\n\n"
        "Options:\n"
        "  -m, --message MSG  send MSG (repeatable, in order)\n"
        "  -c, --count N      send N generated messages of --size bytes; each carries a\n"
        "                     nonce, its sequence number and try, and is checked byte for byte\n"
        "  -s, --size S       size of generated messages with the newline (default 64)\n"
        "  -i, --interval SECS  pause between scripted messages (default 0)\n"
        "  --no-newline       send messages bare, without '\\n' (the seeds' clients did)\n"
        "  --quit WORD        typing WORD (any case) ends the session; WORD is sent first so\n"
        "                     the server may close too (scripted: sent after the last one)\n"
        "  --prompt TEXT      interactive prompt (default \"> \" on a terminal, none otherwise)\n"
        "  -w, --timeout SECS wait for a reply, all of it (TCP default 5 s: a reply still\n"
        "                     coming then is cut off; UDP default 1 s per try)\n"
        "  -r, --retries N    UDP: resend an unanswered request N times (default 0)\n"
        "  --pause SECS       TCP: quiet time that ends a reply that is not an echo (0.2 s)\n"
        "  --linger SECS      UDP scripted: after the last request, keep counting late and\n"
        "                     duplicate replies this long (default 0.1 s)\n"
        "  -u, --udp          UDP: lost, late, duplicate and foreign replies are counted\n"
        "  -4, -6             IPv4 or IPv6 only\n"
        "  --unix PATH        connect to a Unix stream socket\n"
        "  -q, --quiet        scripted: print only the statistics\n"
        "  --json             scripted: the statistics as one JSON object, no reply "
        "lines\n" SK_CLI_TLS_HELP "  -h, --help         this text\n"
        "Old spellings still accepted: -t for -w, -n for --no-newline.\n\n"
        "Exit status: 0 every request was answered (interactive: the session ended\n"
        "normally), 1 a request went unanswered, a reply was not an echo, the server\n"
        "closed early or could not be reached, 2 bad arguments, 130 interrupted (the\n"
        "request whose reply was awaited is counted as interrupted).\n");
}

/* The statistics of a scripted run as one JSON object on stdout. */
static void echo_json(const char *name, const struct sk_echo_opts *o,
                      const struct sk_echo_stats *st, const char *error)
{
    printf("{\"server\": ");
    sk_json_str(stdout, name);
    printf(", \"protocol\": \"%s\", \"requests\": %" PRIu64 ", \"answered\": %" PRIu64
           ", \"lost\": %" PRIu64 ", \"interrupted\": %" PRIu64 ", \"mismatched\": %" PRIu64,
           o->socktype == SOCK_DGRAM ? "udp" : "stream", st->requests, st->answered, st->lost,
           st->interrupted, st->mismatched);
    if (o->socktype == SOCK_DGRAM)
        printf(", \"retransmitted\": %" PRIu64 ", \"late\": %" PRIu64 ", \"duplicate\": %" PRIu64
               ", \"foreign\": %" PRIu64,
               st->retransmitted, st->late, st->duplicate, st->foreign);
    if (st->rtt_n) {
        double n = (double)st->rtt_n, avg = st->rtt_sum / n, var = st->rtt_sum2 / n - avg * avg;
        printf(", \"rtt_ms\": {\"min\": %.3f, \"avg\": %.3f, \"max\": %.3f, \"mdev\": %.3f}",
               st->rtt_min, avg, st->rtt_max, var > 0 ? sqrt(var) : 0.0);
    } else {
        printf(", \"rtt_ms\": null");
    }
    if (error) {
        printf(", \"error\": ");
        sk_json_str(stdout, error);
    }
    printf("}\n");
    fflush(stdout);
}

enum { OPT_QUIT = 256, OPT_PROMPT, OPT_PAUSE, OPT_LINGER, OPT_UNIX, OPT_JSON };

static const struct option echo_client_longs[] = {
    {"message", required_argument, NULL, 'm'},
    {"count", required_argument, NULL, 'c'},
    {"size", required_argument, NULL, 's'},
    {"interval", required_argument, NULL, 'i'},
    {"no-newline", no_argument, NULL, 'n'},
    {"quit", required_argument, NULL, OPT_QUIT},
    {"prompt", required_argument, NULL, OPT_PROMPT},
    {"timeout", required_argument, NULL, 't'},
    {"retries", required_argument, NULL, 'r'},
    {"pause", required_argument, NULL, OPT_PAUSE},
    {"linger", required_argument, NULL, OPT_LINGER},
    {"udp", no_argument, NULL, 'u'},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"quiet", no_argument, NULL, 'q'},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    SK_CLI_TLS_OPTIONS,
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_echo_client = {":m:c:s:i:nw:t:r:u46qh", echo_client_longs, 0};

int cmd_echo_client(int argc, char **argv)
{
    const char *cmd = "echo-client", *unix_path = NULL, *prompt = NULL;
    int family = AF_UNSPEC, c, prompt_set = 0, timeout_set = 0, json = 0, r;
    unsigned char given[512] = {0}; /* options seen, by getopt code */
    int64_t v;
    uint64_t sz;
    const char **msgs = NULL;
    size_t nmsgs = 0;
    struct sk_echo_opts o = {
        .socktype = SOCK_STREAM,
        .newline = 1,
        .size = 64,
        .timeout_ms = 5000,
        .pause_ms = 200,
        .linger_ms = 100,
        .stop = &stop_flag,
    };
    struct sk_cli_tls tlo = {0};
    struct sk_tls_ctx *tctx = NULL;
    struct sk_tls *tls = NULL;

    msgs = calloc((size_t)argc + 1, sizeof(*msgs));
    if (!msgs)
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    r = SK_EXIT_USAGE;
    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_echo_client.shorts,
                            sk_cli_opts_echo_client.longs, NULL)) != -1) {
        if (sk_cli_tls_opt(&tlo, c, optarg))
            continue;
        if (c > 0 && c < (int)sizeof(given))
            given[c] = 1;
        switch (c) {
        case 'm': msgs[nmsgs++] = optarg; break;
        case 'c':
            if (sk_parse_i64(optarg, 1, 10000000, &v) < 0) {
                sk_cli_usage(cmd, "--count: '%s' is not a number in 1..10000000", optarg);
                goto out;
            }
            o.count = (uint64_t)v;
            break;
        case 's':
            if (sk_parse_size(optarg, 16 * 1024 * 1024, &sz) < 0 || sz < 1) {
                sk_cli_usage(cmd, "--size: '%s' is not a size from 1 byte to 16M", optarg);
                goto out;
            }
            o.size = (size_t)sz;
            break;
        case 'i':
            if (parse_secs(cmd, "--interval", optarg, 0, &o.interval_ms))
                goto out;
            break;
        case 'n': o.newline = 0; break;
        case OPT_QUIT:
            if (!*optarg || strpbrk(optarg, "\r\n")) {
                sk_cli_usage(cmd, "--quit: the word must be non-empty and on one line");
                goto out;
            }
            o.quit = optarg;
            break;
        case OPT_PROMPT:
            prompt = optarg;
            prompt_set = 1;
            break;
        case 'w':
        case 't': /* the old spelling */
            if (parse_secs(cmd, "--timeout", optarg, 1, &o.timeout_ms))
                goto out;
            timeout_set = 1;
            break;
        case 'r':
            if (sk_parse_i64(optarg, 0, 30, &v) < 0) {
                sk_cli_usage(cmd, "--retries: '%s' is not a number in 0..30", optarg);
                goto out;
            }
            o.retries = (int)v;
            break;
        case OPT_PAUSE:
            if (parse_secs(cmd, "--pause", optarg, 1, &o.pause_ms))
                goto out;
            break;
        case OPT_LINGER:
            if (parse_secs(cmd, "--linger", optarg, 0, &o.linger_ms))
                goto out;
            break;
        case 'u': o.socktype = SOCK_DGRAM; break;
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case OPT_UNIX: unix_path = optarg; break;
        case 'q': o.quiet = 1; break;
        case OPT_JSON: json = 1; break;
        case 'h':
            echo_help();
            r = SK_EXIT_OK;
            goto out;
        default: sk_cli_bad_option(cmd, c, argv); goto out;
        }
    }
    int nargs = argc - optind;
    if (unix_path ? nargs != 0 : nargs != 2) {
        sk_cli_usage(cmd, unix_path ? "--unix takes no HOST PORT" : "expected HOST PORT");
        goto out;
    }
    if (nmsgs && o.count) {
        sk_cli_usage(cmd, "-m and --count are alternatives: give one of them");
        goto out;
    }
    if (unix_path && o.socktype == SOCK_DGRAM) {
        sk_cli_usage(cmd, "--unix works with stream sockets only here (drop -u)");
        goto out;
    }
    if (o.socktype == SOCK_DGRAM && o.count && o.size < 32) {
        sk_cli_usage(cmd, "--size: UDP generated messages need at least 32 bytes "
                          "(they carry a nonce, sequence and try number)");
        goto out;
    }
    if (o.socktype == SOCK_DGRAM && o.size > 65507) {
        sk_cli_usage(cmd, "--size: a UDP datagram carries at most 65507 bytes");
        goto out;
    }
    if (sk_cli_tls_check(cmd, &tlo))
        goto out;
    if (tlo.on && (o.socktype == SOCK_DGRAM || unix_path)) {
        sk_cli_usage(cmd, "--tls is for TCP here (drop -u / --unix)");
        goto out;
    }
    if (o.socktype == SOCK_DGRAM && !timeout_set)
        o.timeout_ms = 1000;
    o.msgs = msgs;
    o.nmsgs = nmsgs;
    int scripted = nmsgs || o.count;
    if (json && !scripted) {
        sk_cli_usage(cmd, "--json goes with -m or --count (a scripted run)");
        goto out;
    }
    /* An option that would do nothing here is an error, not silently dropped. */
    const char *idle = NULL;
    if (given['r'] && o.socktype != SOCK_DGRAM)
        idle = "--retries is for UDP (-u): a TCP request is not resent";
    else if (given[OPT_LINGER] && (o.socktype != SOCK_DGRAM || !scripted))
        idle = "--linger is for UDP scripted runs (-u with -m or --count)";
    else if (given[OPT_PAUSE] && o.socktype == SOCK_DGRAM)
        idle = "--pause is for TCP (with -u each datagram is a whole reply)";
    else if (given['s'] && !o.count)
        idle = "--size is the size of --count messages (-m sends the message as it is)";
    else if (given[OPT_PROMPT] && scripted)
        idle = "--prompt is for interactive use (without -m or --count)";
    else if ((given['i'] || given['q']) && !scripted)
        idle = "--interval and --quiet are for scripted runs (-m or --count)";
    if (idle) {
        sk_cli_usage(cmd, "%s", idle);
        goto out;
    }
    if (json)
        o.quiet = 2; /* stdout carries the JSON object only */
    if (!scripted) {
        o.prompt = prompt_set ? prompt : (isatty(STDIN_FILENO) ? "> " : NULL);
        o.blank_ends = isatty(STDIN_FILENO);
        o.tty_safe = isatty(STDOUT_FILENO);
    }
    const char *host = unix_path ? NULL : argv[optind], *port = unix_path ? NULL : argv[optind + 1];
    if (!unix_path && check_port(cmd, port))
        goto out;

    char target[300];
    target_name(target, sizeof(target), host, port, unix_path);
    struct sk_addr peer;
    int fd;
    r = SK_EXIT_FAIL;
    if (unix_path) {
        fd = sk_client_connect_unix(unix_path, SOCK_STREAM, &peer);
    } else if (o.socktype == SOCK_STREAM) {
        fd = sk_client_connect(host, port, family, SOCK_STREAM, o.timeout_ms, &peer);
    } else {
        fd = sk_resolve_one(host, port, family, SOCK_DGRAM, 0, &peer);
        if (fd >= 0) {
            fd = socket(sk_addr_family(&peer), SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                fd = -errno;
        }
    }
    if (fd < 0) {
        sk_cli_fail(cmd, "%s: %s", target, sk_strerror(fd));
        goto out;
    }
    if (tlo.on) {
        r = sk_cli_tls_start(cmd, target, &tlo, fd, host, o.timeout_ms, 0, &tctx, &tls);
        if (r) {
            close(fd);
            goto out;
        }
        r = SK_EXIT_FAIL;
        o.tls = tls;
    }
    catch_signals();
    struct sk_echo_stats st;
    int e = sk_echo_client(fd, &peer, &o, stdin, stdout, &st);
    if (tls && e >= 0)
        sk_tls_shutdown(tls); /* close_notify, best effort */
    char tls_why[400] = "";
    if (tls && sk_is_tls_error(e))
        snprintf(tls_why, sizeof(tls_why), "%s", sk_tls_why(tls));
    close(fd);
    if (scripted) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(&peer, a, sizeof(a));
        if (json)
            echo_json(a, &o, &st, e < 0 && e != -ECONNRESET ? sk_strerror(e) : NULL);
        else
            sk_echo_report(stdout, a, &o, &st);
    }
    if (e < 0 && e != -ECONNRESET) {
        sk_cli_fail(cmd, "%s: %s", target, tls_why[0] ? tls_why : sk_strerror(e));
        goto out;
    }
    if (stop_flag)
        r = 130; /* interrupted: Ctrl-C or SIGTERM */
    else if (scripted)
        r = st.answered == st.requests && st.lost == 0 && st.mismatched == 0 &&
                    st.requests == (o.count ? o.count : nmsgs)
                ? SK_EXIT_OK
                : SK_EXIT_FAIL;
    else
        r = e == -ECONNRESET ? SK_EXIT_FAIL : SK_EXIT_OK;
out:
    sk_tls_free(tls);
    sk_tls_ctx_free(tctx);
    free(msgs);
    return r;
}
