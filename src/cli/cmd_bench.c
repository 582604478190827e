/*
 * cmd_bench.c - `sockit bench echo|http|models|stream`: argument parsing for
 * the load generator and the model comparison; the work is in src/bench/
 * (`bench chat` is parsed in cmd_bench_chat.c).
 */
#include "cli.h"

#include "sockit/addr.h"
#include "sockit/bench.h"
#include "sockit/client.h"
#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/resolve.h"
#include "sockit/service.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_RATE = 256,
    OPT_TIMEOUT,
    OPT_JSON,
    OPT_UNIX,
    OPT_MODELS,
    OPT_CONNS,
    OPT_OUT,
    OPT_PATH,
    OPT_SERVER_ARG,
    OPT_BODY,
    OPT_URLS,
    OPT_NO_KEEPALIVE,
    OPT_HGRM,
    OPT_JSON_STREAM,
    OPT_FIND_MAX,
    OPT_SLO,
    OPT_SOURCE,
    OPT_RAMP,
    OPT_RATES,
    OPT_PROXY,
};

static const struct option bench_longs[] = {
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 't'},
    {"size", required_argument, NULL, 's'},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"pipeline", required_argument, NULL, 'P'},
    {"rate", required_argument, NULL, OPT_RATE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"udp", no_argument, NULL, 'u'},
    {"quiet", no_argument, NULL, 'q'},
    {"models", required_argument, NULL, OPT_MODELS},
    {"conns", required_argument, NULL, OPT_CONNS},
    {"out", required_argument, NULL, OPT_OUT},
    {"path", required_argument, NULL, OPT_PATH},
    {"server-arg", required_argument, NULL, OPT_SERVER_ARG},
    {"method", required_argument, NULL, 'm'},
    {"header", required_argument, NULL, 'H'},
    {"body", required_argument, NULL, OPT_BODY},
    {"urls", required_argument, NULL, OPT_URLS},
    {"no-keepalive", no_argument, NULL, OPT_NO_KEEPALIVE},
    {"hgrm", required_argument, NULL, OPT_HGRM},
    {"json-stream", no_argument, NULL, OPT_JSON_STREAM},
    {"find-max", no_argument, NULL, OPT_FIND_MAX},
    {"slo", required_argument, NULL, OPT_SLO},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"ramp", required_argument, NULL, OPT_RAMP},
    {"rates", required_argument, NULL, OPT_RATES},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"help", no_argument, NULL, 'h'},
    SK_CLI_TLS_OPTIONS,
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_bench = {":c:t:s:d:n:P:m:H:u46qh", bench_longs, 0};

static void help(void)
{
    printf("Usage: sockit bench echo HOST PORT [OPTIONS]     TCP echo (-u: UDP echo)\n"
           "       sockit bench echo --unix PATH [OPTIONS]   echo over a Unix socket\n"
           "       sockit bench http URL [OPTIONS]           HTTP/1.1 GET, keep-alive (https://:\n"
           "                                                 TLS)\n"
           "       sockit bench models SERVICE [OPTIONS]     every model, one after another\n"
           "       sockit bench stream HOST PORT [OPTIONS]   bulk throughput (--help for its own)\n"
           "       sockit bench chat HOST PORT [OPTIONS]     a chat room's deliveries (--help)\n"
           "Load a server and report throughput, latency percentiles and errors. Every\n"
           "echoed byte is checked; HTTP responses are parsed.\n\n"
           "Load:\n"
           "  -c, --connections N  connections (UDP: sockets) (default 10)\n"
           "  -t, --threads N      threads, each an epoll loop (default 1)\n"
           "  -s, --size SIZE      echo message size (default 64)\n"
           "  -d, --duration DUR   run this long (default 10s, models 2s; e.g. 500ms, 1m)\n"
           "  -n, --requests N     stop after N replies (with -d: whichever comes first)\n"
           "  -P, --pipeline N     requests in flight per connection (default 1; refilled\n"
           "                       once half are answered)\n"
           "  --rate R             open loop: R requests/s in all, latency measured from\n"
           "                       each request's intended send time\n"
           "  --timeout DUR        a request unanswered this long is an error (default 5s;\n"
           "                       UDP: 200ms, then the datagrams in flight count as lost)\n"
           "  -u, --udp            echo over UDP (connected sockets, sendmmsg/recvmmsg)\n"
           "HTTP requests:\n"
           "  -m, --method METHOD  request method (default GET, POST with --body)\n"
           "  -H, --header 'N: V'  add a header, replacing a default of that name (repeatable)\n"
           "  --body FILE|@-       send FILE's bytes (@-: standard input) with Content-Length\n"
           "  --urls FILE          request these URLs in turn (one a line, same host and port;\n"
           "                       with --urls the URL operand may be left out)\n"
           "  --no-keepalive       a new connection for every request (Connection: close;\n"
           "                       over TLS a full handshake each: no session is resumed)\n"
           "TLS (https:// URLs; echo and models: --tls):\n" SK_CLI_TLS_HELP "Capacity:\n"
           "  --find-max           search --rate for the highest rate meeting --slo (each\n"
           "                       step runs -d, default 2s; at most 11 steps)\n"
           "  --slo GOAL           e.g. p99=5ms or p99=5ms,p50=1ms,errors=0 (errors: 0)\n"
           "  --unix PATH          connect to a Unix stream socket ('@name': abstract)\n"
           "  --source A[-B],...   connect from these IPv4 addresses in turn (default: past\n"
           "                       25000 connections to 127.x, 127.0.0.1, .2, ... as needed)\n"
           "  --ramp DUR           open the connections evenly over DUR, then run -d\n"
           "  -4, -6               IPv4 or IPv6 only when resolving HOST\n"
           "  --proxy URL          through a proxy: socks5://HOST:PORT or http://HOST:PORT\n"
           "                       (CONNECT); each connection's handshake runs before its\n"
           "                       first request, a failed one counts as a connect error\n"
           "Output:\n"
           "  --json               one JSON object (models: the table as JSON)\n"
           "  -q, --quiet          one summary line, no progress line\n"
           "  --hgrm FILE          the latency distribution in HdrHistogram's .hgrm format\n"
           "  --json-stream        one JSON line a second on standard output while running\n"
           "  -h, --help           this help\n"
           "Models (sockit bench models echo|http):\n"
           "  --models A,B,...     models to compare (default: all that can carry SERVICE)\n"
           "  --conns N,N,...      connection counts to sweep (default: -c)\n"
           "  --rates R,R,...      sweep these open-loop rates at one connection count instead:\n"
           "                       latency against load (SERVICE-rates.svg)\n"
           "  --out DIR            where the SVG (and PNG) chart goes (default bench-out)\n"
           "  --path PATH          HTTP path to request (default /)\n"
           "  --server-arg ARG     pass ARG to every `sockit serve` (repeatable)\n"
           "  --tls                every server with --tls (an ephemeral certificate, pinned)\n\n"
           "Exit status: 0 replies came back and every echo matched; 1 no reply at all,\n"
           "echoed data differed, or the load could not run; 2 bad arguments.\n");
}

#define MAX_HEADERS 64
#define MAX_BODY (16u << 20)
#define MAX_URLS 100000

struct args {
    struct sk_bench_cfg cfg;
    int json, quiet, family, dur_set, timeout_set, size_set, json_stream, find_max;
    const char *unix_path, *models, *conns, *out, *path, *rates;
    const char *method, *body_file, *urls_file, *hgrm, *slo_text, *proxy_url;
    const char *headers[MAX_HEADERS];
    unsigned nheaders;
    struct sk_bench_slo slo;
    const char *server_args[32];
    unsigned nserver_args;
    struct sk_cli_tls tlo;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
    sk_bench_interrupt();
}

static int parse_u(const char *cmd, const char *opt, const char *v, int64_t min, int64_t max,
                   int64_t *out)
{
    if (sk_parse_i64(v, min, max, out) < 0)
        return sk_cli_usage(cmd, "%s: '%s' is not a number in %lld..%lld", opt, v, (long long)min,
                            (long long)max);
    return 0;
}

static int parse_opts(const char *cmd, int argc, char **argv, struct args *a)
{
    int c;
    int64_t v;
    uint64_t sz;
    char *end;
    const char *why;
    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_bench.shorts, sk_cli_opts_bench.longs, NULL)) !=
           -1) {
        if (sk_cli_tls_opt(&a->tlo, c, optarg))
            continue;
        switch (c) {
        case 'c':
            if (parse_u(cmd, "-c", optarg, 1, 1000000, &v))
                return SK_EXIT_USAGE;
            a->cfg.conns = (unsigned)v;
            break;
        case 't':
            if (parse_u(cmd, "-t", optarg, 1, 256, &v))
                return SK_EXIT_USAGE;
            a->cfg.threads = (unsigned)v;
            break;
        case 's':
            if (sk_parse_size(optarg, 16u << 20, &sz) < 0 || sz == 0)
                return sk_cli_usage(cmd, "-s: '%s' is not a size from 1 byte to 16M", optarg);
            a->cfg.msg_size = (size_t)sz;
            a->size_set = 1;
            break;
        case 'd':
            if (sk_parse_duration_ms(optarg, &v) < 0 || v <= 0)
                return sk_cli_usage(cmd, "-d: '%s' is not a duration (e.g. 10s, 500ms)", optarg);
            a->cfg.duration_ms = v;
            a->dur_set = 1;
            break;
        case 'n':
            if (parse_u(cmd, "-n", optarg, 1, INT64_MAX / 2, &v))
                return SK_EXIT_USAGE;
            a->cfg.count = (uint64_t)v;
            break;
        case 'P':
            if (parse_u(cmd, "-P", optarg, 1, 4096, &v))
                return SK_EXIT_USAGE;
            a->cfg.pipeline = (unsigned)v;
            break;
        case OPT_RATE:
            errno = 0;
            a->cfg.rate = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(a->cfg.rate > 0) || a->cfg.rate > 1e9)
                return sk_cli_usage(cmd, "--rate: '%s' is not a rate in requests/s", optarg);
            break;
        case OPT_TIMEOUT:
            if (sk_parse_duration_ms(optarg, &v) < 0 || v <= 0 || v > 3600000)
                return sk_cli_usage(cmd, "--timeout: '%s' is not a duration up to 1h", optarg);
            a->cfg.timeout_ms = (int)v;
            a->timeout_set = 1;
            break;
        case OPT_JSON: a->json = 1; break;
        case OPT_UNIX: a->unix_path = optarg; break;
        case 'u': a->cfg.kind = SK_BENCH_UDP_ECHO; break;
        case '4': a->family = AF_INET; break;
        case '6': a->family = AF_INET6; break;
        case 'q': a->quiet = 1; break;
        case OPT_MODELS: a->models = optarg; break;
        case OPT_CONNS: a->conns = optarg; break;
        case OPT_RATES: a->rates = optarg; break;
        case OPT_PROXY: a->proxy_url = optarg; break;
        case OPT_OUT: a->out = optarg; break;
        case OPT_PATH:
            if (optarg[0] != '/' || strpbrk(optarg, " \r\n"))
                return sk_cli_usage(cmd, "--path: '%s' must start with / and have no spaces",
                                    optarg);
            a->path = optarg;
            break;
        case OPT_SERVER_ARG:
            if (a->nserver_args >= SK_ARRAY_LEN(a->server_args))
                return sk_cli_usage(cmd, "too many --server-arg");
            a->server_args[a->nserver_args++] = optarg;
            break;
        case 'm': a->method = optarg; break;
        case 'H':
            if (a->nheaders >= MAX_HEADERS)
                return sk_cli_usage(cmd, "-H: at most %d headers", MAX_HEADERS);
            a->headers[a->nheaders++] = optarg;
            break;
        case OPT_BODY: a->body_file = optarg; break;
        case OPT_URLS: a->urls_file = optarg; break;
        case OPT_NO_KEEPALIVE: a->cfg.http_close = 1; break;
        case OPT_HGRM: a->hgrm = optarg; break;
        case OPT_JSON_STREAM: a->json_stream = 1; break;
        case OPT_FIND_MAX: a->find_max = 1; break;
        case OPT_SOURCE: {
            static struct sk_addr sources[SK_BENCH_SOURCES_MAX];
            int n = sk_bench_source_parse(optarg, sources, SK_BENCH_SOURCES_MAX, &why);
            if (n < 0)
                return sk_cli_usage(cmd, "--source %s: %s", optarg, why);
            a->cfg.sources = sources;
            a->cfg.nsources = (unsigned)n;
            break;
        }
        case OPT_RAMP:
            if (sk_parse_duration_ms(optarg, &v) < 0 || v <= 0 || v > 3600000)
                return sk_cli_usage(cmd, "--ramp: '%s' is not a duration up to 1h", optarg);
            a->cfg.ramp_ms = v;
            break;
        case OPT_SLO:
            if (sk_bench_slo_parse(optarg, &a->slo, &why) < 0)
                return sk_cli_usage(cmd, "--slo %s: %s", optarg, why);
            a->slo_text = optarg;
            break;
        case 'h': help(); return -1;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (a->cfg.count && !a->dur_set)
        a->cfg.duration_ms = 0;
    if (a->cfg.kind == SK_BENCH_UDP_ECHO) {
        if (a->cfg.msg_size < 8 || a->cfg.msg_size > 65507)
            return sk_cli_usage(cmd, "-s: UDP datagrams carry 8 to 65507 bytes (the first 8 "
                                     "are a sequence number)");
        if (!a->timeout_set)
            a->cfg.timeout_ms = 200; /* a lost datagram should not stall a socket long */
    }
    return 0;
}

/* http[s]://host[:port][/path] into host, port and path; *https says which
 * scheme (the default port 80 or 443). */
static int parse_url(const char *url, char *host, size_t hl, char *port, size_t pl, char *path,
                     size_t ptl, int *https, const char **why)
{
    *https = strncmp(url, "https://", 8) == 0;
    if (*https)
        url += 8;
    else if (strncmp(url, "http://", 7) == 0)
        url += 7;
    else if (strstr(url, "://"))
        return *why = "only http:// and https:// URLs", -EINVAL;
    const char *slash = strchr(url, '/');
    size_t auth = slash ? (size_t)(slash - url) : strlen(url);
    const char *pstart = NULL;
    if (auth == 0)
        return *why = "no host in the URL", -EINVAL;
    if (url[0] == '[') {
        const char *rb = memchr(url, ']', auth);
        if (!rb)
            return *why = "unclosed [ in the host", -EINVAL;
        if ((size_t)(rb - url - 1) >= hl)
            return *why = "host too long", -EINVAL;
        memcpy(host, url + 1, (size_t)(rb - url - 1));
        host[rb - url - 1] = '\0';
        if (rb + 1 < url + auth) {
            if (rb[1] != ':')
                return *why = "junk after ]", -EINVAL;
            pstart = rb + 2;
        }
    } else {
        const char *colon = memchr(url, ':', auth);
        size_t hn = colon ? (size_t)(colon - url) : auth;
        if (hn == 0 || hn >= hl)
            return *why = "bad host", -EINVAL;
        memcpy(host, url, hn);
        host[hn] = '\0';
        if (colon)
            pstart = colon + 1;
    }
    if (pstart) {
        size_t n = (size_t)(url + auth - pstart);
        if (n == 0 || n >= pl)
            return *why = "bad port", -EINVAL;
        memcpy(port, pstart, n);
        port[n] = '\0';
    } else {
        snprintf(port, pl, "%s", *https ? "443" : "80");
    }
    snprintf(path, ptl, "%s", slash ? slash : "/");
    if (strpbrk(path, " \r\n"))
        return *why = "spaces or line breaks in the path", -EINVAL;
    return 0;
}

static int finish(const char *cmd, struct args *a, const struct sk_bench_result *res, int r)
{
    if (r < 0)
        return sk_cli_fail(cmd, "%s", sk_strerror(r));
    if (got_signal && !a->quiet && !a->json)
        fprintf(stderr, "sockit: %s: interrupted; results so far:\n", cmd);
    if (a->json) {
        sk_bench_report_json(stdout, &a->cfg, res);
    } else if (a->quiet) {
        char p50[32], p99[32];
        unsigned long long errs = sk_bench_errors_total(res);
        printf("%.1f req/s, p50 %s, p99 %s, %llu error%s\n",
               res->elapsed_s > 0 ? (double)res->requests / res->elapsed_s : 0.0,
               sk_bench_fmt_ns(sk_hist_percentile(&res->hist, 50), p50, sizeof(p50)),
               sk_bench_fmt_ns(sk_hist_percentile(&res->hist, 99), p99, sizeof(p99)), errs,
               SK_CLI_S(errs));
    } else {
        sk_bench_report_text(stdout, &a->cfg, res);
    }
    fflush(stdout);
    if (res->requests == 0) {
        char why[200] = "";
        size_t off = 0;
        for (int k = 0; k < SK_BERR_N; k++)
            if (res->errors[k] && off < sizeof(why))
                off += (size_t)snprintf(why + off, sizeof(why) - off, "%s%s %llu",
                                        off ? ", " : "; errors: ", sk_bench_err_names[k],
                                        (unsigned long long)res->errors[k]);
        if (res->errors[SK_BERR_TLS] && res->tls_why[0])
            return sk_cli_fail(cmd, "no reply came back%s (first: %s)", why, res->tls_why);
        return sk_cli_fail(cmd, "no reply came back%s", why);
    }
    if (res->errors[SK_BERR_MISMATCH])
        return sk_cli_fail(
            cmd, "%llu %s from what was sent", (unsigned long long)res->errors[SK_BERR_MISMATCH],
            res->errors[SK_BERR_MISMATCH] == 1 ? "reply differed" : "replies differed");
    return SK_EXIT_OK;
}

/* The load generator's progress: one line on stderr, rewritten in place. */
static void print_progress(const struct sk_bench_progress *p, void *arg)
{
    (void)arg;
    if (p->done)
        fprintf(stderr, "\r%70s\r", "");
    else
        fprintf(stderr, "\r  %6.1fs  %12llu replies  %11.0f/s  %llu errors   ", p->elapsed_s,
                (unsigned long long)p->replies, (double)p->replies / p->elapsed_s,
                (unsigned long long)p->errors);
    fflush(stderr);
}

/* The whole of FILE (or standard input for "@-"), at most max bytes. */
static int read_all(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = strcmp(path, "@-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    int r = 0;
    while (b) {
        if (n == cap) {
            if (cap > max) {
                r = -EFBIG;
                break;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb)
                break;
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                r = -EIO;
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!b)
        return -ENOMEM;
    if (!r && n > max)
        r = -EFBIG;
    if (r < 0) {
        free(b);
        return r;
    }
    *out = b;
    *len = n;
    return 0;
}

/* --urls FILE: one URL (or /path) a line, blank lines and #comments
 * skipped; every URL names the same host and port. The paths go into
 * paths[] (pointing into *text, which the caller frees). The first URL's
 * host and port are the target when there is no URL operand. */
static int read_urls(const char *cmd, const char *file, char **text, const char ***paths,
                     unsigned *npaths, char *host, size_t hl, char *port, size_t pl,
                     int have_target, int *https)
{
    size_t len;
    int r = read_all(file, 64u << 20, text, &len);
    if (r < 0)
        return sk_cli_usage(cmd, "--urls %s: %s", file, sk_strerror(r));
    char *t = realloc(*text, len + 1);
    if (!t)
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    t[len] = '\0';
    *text = t;
    const char **v = malloc(sizeof(*v) * MAX_URLS);
    if (!v)
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    *paths = v;
    unsigned n = 0, lineno = 0;
    for (char *line = t, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#')
            continue;
        if (n == MAX_URLS)
            return sk_cli_usage(cmd, "--urls %s: more than %d URLs", file, MAX_URLS);
        if (line[0] == '/') {
            if (!have_target)
                return sk_cli_usage(cmd,
                                    "--urls %s:%u: the first URL names the host and port "
                                    "(http://HOST:PORT/PATH) when there is no URL operand",
                                    file, lineno);
            if (strpbrk(line, " \t"))
                return sk_cli_usage(cmd, "--urls %s:%u: spaces in the path", file, lineno);
            v[n++] = line;
            continue;
        }
        char h[256], pt[16], path[2048];
        const char *why;
        int tls;
        if (parse_url(line, h, sizeof(h), pt, sizeof(pt), path, sizeof(path), &tls, &why) < 0)
            return sk_cli_usage(cmd, "--urls %s:%u: %s", file, lineno, why);
        if (!have_target && n == 0) {
            snprintf(host, hl, "%s", h);
            snprintf(port, pl, "%s", pt);
            *https = tls;
            have_target = 1;
        } else if (strcmp(h, host) != 0 || strcmp(pt, port) != 0) {
            return sk_cli_usage(cmd,
                                "--urls %s:%u: %s:%s is not the target %s:%s (one host "
                                "and port per run)",
                                file, lineno, h, pt, host, port);
        } else if (tls != *https) {
            return sk_cli_usage(cmd, "--urls %s:%u: %s, not %s as the target (one scheme per run)",
                                file, lineno, tls ? "https" : "http", *https ? "https" : "http");
        }
        /* The path starts where the authority ends, in the line itself. */
        const char *rest = strstr(line, "://");
        rest = rest ? rest + 3 : line;
        const char *slash = strchr(rest, '/');
        v[n++] = slash ? slash : "/";
    }
    if (n == 0)
        return sk_cli_usage(cmd, "--urls %s: no URL in the file", file);
    *npaths = n;
    return 0;
}

struct find_out {
    int json, quiet;
    unsigned n;
    struct sk_bench_step steps[16];
};

static void on_step(void *arg, const struct sk_bench_step *st)
{
    struct find_out *o = arg;
    if (o->n < SK_ARRAY_LEN(o->steps))
        o->steps[o->n++] = *st;
    if (o->json)
        return;
    char a[32], b[32], t[32];
    if (st->target > 0)
        snprintf(t, sizeof(t), "%.0f", st->target);
    else
        snprintf(t, sizeof(t), "closed");
    printf("  %10s %12.1f %9s %9s %8llu  %s%s%s\n", t, st->achieved,
           sk_bench_fmt_ns(st->p50_ns, a, sizeof(a)), sk_bench_fmt_ns(st->p99_ns, b, sizeof(b)),
           (unsigned long long)st->errors,
           st->target > 0 ? (st->pass ? "meets the goal" : "fails: ") : "probe (closed loop)",
           st->target > 0 && !st->pass ? st->why : "", "");
    fflush(stdout);
}

static int find_max(const char *cmd, struct args *a)
{
    struct find_out o = {.json = a->json, .quiet = a->quiet};
    unsigned max_steps = 10;
    if (!a->json) {
        printf("sockit bench %s --find-max --slo %s: %.1f s per step, at most %u steps\n",
               a->cfg.kind == SK_BENCH_HTTP ? "http" : "echo", a->slo_text,
               (double)a->cfg.duration_ms / 1000, max_steps + 1);
        printf("  %10s %12s %9s %9s %8s  %s\n", "target/s", "achieved/s", "p50", "p99", "errors",
               "verdict");
        fflush(stdout);
    }
    double best = 0;
    int r = sk_bench_find_max(&a->cfg, &a->slo, max_steps, on_step, &o, &best);
    if (r < 0)
        return sk_cli_fail(cmd, "%s", sk_strerror(r));
    if (a->json) {
        printf("{\"target\": ");
        sk_json_str(stdout, a->cfg.label ? a->cfg.label : "");
        printf(", \"slo\": ");
        sk_json_str(stdout, a->slo_text);
        printf(", \"connections\": %u, \"step_s\": %.3f, \"steps\": [", a->cfg.conns,
               (double)a->cfg.duration_ms / 1000);
        for (unsigned i = 0; i < o.n; i++) {
            const struct sk_bench_step *st = &o.steps[i];
            printf("%s{\"target\": %.1f, \"achieved\": %.1f, \"p50_us\": %.3f, \"p99_us\": "
                   "%.3f, \"requests\": %llu, \"errors\": %llu, \"pass\": %s, \"why\": ",
                   i ? ", " : "", st->target, st->achieved, (double)st->p50_ns / 1e3,
                   (double)st->p99_ns / 1e3, (unsigned long long)st->requests,
                   (unsigned long long)st->errors, st->target > 0 && st->pass ? "true" : "false");
            sk_json_str(stdout, st->why ? st->why : "");
            printf("}");
        }
        printf("], \"max_rate\": %.1f}\n", best);
    } else if (best > 0) {
        printf("max rate meeting %s: %.0f requests/s\n", a->slo_text, best);
    } else {
        printf("no rate met %s\n", a->slo_text);
    }
    fflush(stdout);
    if (got_signal)
        return sk_cli_fail(cmd, "interrupted");
    return best > 0 ? SK_EXIT_OK : sk_cli_fail(cmd, "no rate tried met %s", a->slo_text);
}

/* Raise RLIMIT_NOFILE for need descriptors; say what we got when the
 * default would not have done. */
static int raise_nofile(const char *cmd, uint64_t need)
{
    struct rlimit before;
    uint64_t got = 0;
    getrlimit(RLIMIT_NOFILE, &before);
    int r = sk_bench_raise_nofile2(need, &got);
    if (before.rlim_cur != RLIM_INFINITY && need > before.rlim_cur)
        fprintf(stderr, "sockit: %s: descriptor limit %llu (was %llu%s)\n", cmd,
                (unsigned long long)got, (unsigned long long)before.rlim_cur,
                r < 0 ? "; the hard limit, which we may not raise" : "");
    return r;
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* bench --proxy: each connection's tunnel to the target. */
struct bench_proxy {
    struct sk_proxy px;
    char host[256];
    uint16_t port;
    int timeout_ms;
};

static int proxy_handshake(int fd, void *arg)
{
    const struct bench_proxy *bp = arg;
    char why[300];
    return sk_proxy_connect(fd, &bp->px, bp->host, bp->port, bp->timeout_ms, why, sizeof(why));
}

static int bench_load(const char *cmd, int argc, char **argv, int http)
{
    struct args a = {0};
    sk_bench_cfg_init(&a.cfg);
    if (http)
        a.cfg.kind = SK_BENCH_HTTP;
    int r = parse_opts(cmd, argc, argv, &a);
    if (r)
        return r < 0 ? SK_EXIT_OK : r;
    if (http && a.cfg.kind == SK_BENCH_UDP_ECHO)
        return sk_cli_usage(cmd, "-u is for echo");
    if (a.unix_path && a.cfg.kind == SK_BENCH_UDP_ECHO)
        return sk_cli_usage(cmd, "--unix with -u is not supported (Unix stream sockets only)");
    if (a.models || a.conns || a.out || a.nserver_args || a.rates)
        return sk_cli_usage(
            cmd, "--models, --conns, --rates, --out and --server-arg are for 'bench models'");
    if (!http && (a.method || a.nheaders || a.body_file || a.urls_file || a.cfg.http_close))
        return sk_cli_usage(cmd, "-m, -H, --body, --urls and --no-keepalive are for 'bench http'");
    if (a.cfg.http_close && a.cfg.pipeline > 1)
        return sk_cli_usage(cmd, "--no-keepalive sends one request per connection: no -P");
    if (a.slo_text && !a.find_max)
        return sk_cli_usage(cmd, "--slo goes with --find-max");
    if (a.find_max) {
        if (!a.slo_text)
            return sk_cli_usage(cmd, "--find-max needs a goal: --slo p99=5ms[,errors=0]");
        if (a.cfg.rate > 0 || a.cfg.count)
            return sk_cli_usage(cmd, "--find-max chooses the rate itself: no --rate, no -n");
        if (a.hgrm || a.json_stream)
            return sk_cli_usage(cmd, "--hgrm and --json-stream are for a single run, not "
                                     "--find-max");
        if (!a.dur_set)
            a.cfg.duration_ms = 2000;
    }
    if (a.json_stream && a.quiet)
        return sk_cli_usage(cmd, "--json-stream prints JSON: no -q");
    if (http && a.size_set)
        return sk_cli_usage(cmd, "-s is the echo message size (an HTTP request's size is its "
                                 "head and --body)");
    if (!http && a.path)
        return sk_cli_usage(cmd, "--path is for http (the path goes in the URL)");

    char host[256] = "localhost", port[16] = "", path[2048] = "/", label[600];
    const char *why = "";
    int nargs = argc - optind, https = 0;
    char *urls_text = NULL, *body = NULL;
    const char **paths = NULL;
    if (http) {
        if (nargs > 1 || (nargs == 0 && !a.urls_file))
            return sk_cli_usage(cmd,
                                nargs ? "one URL, please" : "which URL? (http://HOST:PORT/PATH)");
        if (nargs == 1 && parse_url(argv[optind], host, sizeof(host), port, sizeof(port), path,
                                    sizeof(path), &https, &why) < 0)
            return sk_cli_usage(cmd, "%s: %s", argv[optind], why);
        if (a.urls_file &&
            (r = read_urls(cmd, a.urls_file, &urls_text, &paths, &a.cfg.http_npaths, host,
                           sizeof(host), port, sizeof(port), nargs == 1, &https)) != 0) {
            free(urls_text);
            free(paths);
            return r;
        }
        a.cfg.http_paths = paths;
        if (https)
            a.tlo.on = 1; /* https:// implies TLS */
        if (a.path)
            snprintf(path, sizeof(path), "%s", a.path);
        if (nargs == 1)
            snprintf(label, sizeof(label), "%s", argv[optind]);
        else
            snprintf(label, sizeof(label), "%s://%s%s%s:%s (%u URLs from %s)",
                     https ? "https" : "http", strchr(host, ':') ? "[" : "", host,
                     strchr(host, ':') ? "]" : "", port, a.cfg.http_npaths, a.urls_file);
        if (a.body_file && (r = read_all(a.body_file, MAX_BODY, &body, &a.cfg.http_body_len)) < 0) {
            free(urls_text);
            free(paths);
            return sk_cli_usage(cmd, "--body %s: %s", a.body_file,
                                r == -EFBIG ? "larger than 16M" : sk_strerror(r));
        }
        a.cfg.http_body = body;
        a.cfg.http_method = a.method;
        a.cfg.http_headers = a.headers;
        a.cfg.http_nheaders = a.nheaders;
    } else if (a.unix_path) {
        if (nargs != 0)
            return sk_cli_usage(cmd, "--unix PATH takes no HOST PORT");
    } else {
        if (nargs != 2)
            return sk_cli_usage(cmd, "HOST and PORT, please (or --unix PATH)");
        snprintf(host, sizeof(host), "%s", argv[optind]);
        snprintf(port, sizeof(port), "%s", argv[optind + 1]);
        uint16_t pn;
        if (sk_port_parse(port, &pn, &why) < 0 || pn == 0)
            return sk_cli_usage(cmd, "port '%s': %s", port, pn == 0 ? "port 0" : why);
    }
    struct bench_proxy bp;
    int rc = SK_EXIT_OK;
    if (a.proxy_url) {
        if (a.unix_path || a.cfg.kind == SK_BENCH_UDP_ECHO) {
            rc = sk_cli_usage(cmd, "--proxy is for TCP: not with --unix or -u");
            goto done;
        }
        if (sk_proxy_url_parse(a.proxy_url, &bp.px, &why) < 0) {
            rc = sk_cli_usage(cmd, "--proxy %s: %s", a.proxy_url, why);
            goto done;
        }
        snprintf(bp.host, sizeof(bp.host), "%s", host);
        if (sk_port_parse(port, &bp.port, &why) < 0 || bp.port == 0) {
            rc = sk_cli_usage(cmd, "port '%s': not a port to tunnel to", port);
            goto done;
        }
        bp.timeout_ms = a.cfg.timeout_ms;
        r = sk_resolve_one(bp.px.host, bp.px.port, a.family, SOCK_STREAM, 0, &a.cfg.addr);
        if (r < 0) {
            rc = sk_cli_fail(cmd, "proxy %s port %s: %s", bp.px.host, bp.px.port, sk_strerror(r));
            goto done;
        }
        a.cfg.handshake = proxy_handshake;
        a.cfg.handshake_arg = &bp;
        if (!http)
            snprintf(label, sizeof(label), "%s%s%s:%s via %s", strchr(host, ':') ? "[" : "", host,
                     strchr(host, ':') ? "]" : "", port, a.proxy_url);
    } else if (a.unix_path) {
        if (sk_addr_unix(a.unix_path, &a.cfg.addr, &why) < 0)
            return sk_cli_usage(cmd, "--unix %s: %s", a.unix_path, why);
        if (!http)
            snprintf(label, sizeof(label), "unix:%s", a.unix_path);
    } else {
        int type = a.cfg.kind == SK_BENCH_UDP_ECHO ? SOCK_DGRAM : SOCK_STREAM;
        if ((r = sk_resolve_one(host, port, a.family, type, 0, &a.cfg.addr)) < 0)
            return sk_cli_fail(cmd, "%s port %s: %s", host, port, sk_strerror(r));
        if (!http) {
            char s[SK_ADDR_STRLEN];
            sk_addr_format(&a.cfg.addr, s, sizeof(s));
            snprintf(label, sizeof(label), "%s", s);
        }
    }
    /* Host: as in the URL (a port only when it is not the scheme's). */
    char hosthdr[300];
    const char *defport = https ? "443" : "80";
    snprintf(hosthdr, sizeof(hosthdr), "%s%s%s%s%s", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", strcmp(port, defport) ? ":" : "",
             strcmp(port, defport) ? port : "");
    a.cfg.http_host = hosthdr;
    a.cfg.http_path = path;
    a.cfg.label = label;
    if (http) {
        char probe[16384];
        long h = sk_bench_http_head(&a.cfg, path, probe, sizeof(probe));
        if (h == -EINVAL) {
            rc = sk_cli_usage(
                cmd, "%s",
                a.method && a.method[strspn(a.method,
                                            "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ")]
                    ? "-m: a method is a token (e.g. GET, POST, PURGE)"
                    : "-H: a header is 'Name: value' on one line");
            goto done;
        }
    }
    if (a.cfg.threads > a.cfg.conns)
        a.cfg.threads = a.cfg.conns;
    if (a.json_stream) {
        a.json = 1; /* the last line is the summary object */
        a.cfg.json_stream = stdout;
    }
    if (!a.quiet && !a.json && !a.find_max && isatty(STDERR_FILENO))
        a.cfg.progress = print_progress;
    if (a.cfg.sources && a.unix_path) {
        rc = sk_cli_usage(cmd, "--source is for TCP and UDP over IPv4, not --unix");
        goto done;
    }
    if (a.cfg.sources && sk_addr_family(&a.cfg.addr) != AF_INET) {
        rc = sk_cli_usage(cmd, "--source gives IPv4 addresses: the target is not IPv4");
        goto done;
    }
    if (raise_nofile(cmd, a.cfg.conns + 64ull) < 0) {
        rc = sk_cli_fail(cmd, "-c %u: more connections than the descriptor limit allows",
                         a.cfg.conns);
        goto done;
    }
    if (a.tlo.on) {
        if (a.unix_path || a.cfg.kind == SK_BENCH_UDP_ECHO) {
            rc = sk_cli_usage(cmd, "TLS is for TCP here (drop -u / --unix)");
            goto done;
        }
        if ((rc = sk_cli_tls_check(cmd, &a.tlo)) != 0 ||
            (rc = sk_cli_tls_ctx(cmd, &a.tlo, http ? "http/1.1" : NULL, &a.cfg.tls)) != 0)
            goto done;
        a.cfg.tls_name = host;
        a.cfg.tls_sni = a.tlo.sni;
    }
    install_signals();
    if (a.find_max) {
        rc = find_max(cmd, &a);
        goto done;
    }
    FILE *hf = NULL;
    if (a.hgrm && !(hf = fopen(a.hgrm, "w"))) {
        rc = sk_cli_fail(cmd, "--hgrm %s: %s", a.hgrm, sk_strerror(-errno));
        goto done;
    }
    struct sk_bench_result *res = malloc(sizeof(*res));
    if (!res) {
        if (hf)
            fclose(hf);
        rc = sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
        goto done;
    }
    r = sk_bench_run(&a.cfg, res);
    if (hf) {
        int w = r < 0 ? 0 : sk_hist_write_hgrm(hf, &res->hist, 1e6);
        if (fclose(hf) != 0 && w == 0)
            w = -EIO;
        if (w < 0)
            sk_cli_fail(cmd, "--hgrm %s: %s", a.hgrm, sk_strerror(w));
    }
    rc = finish(cmd, &a, res, r);
    free(res);
done:
    sk_tls_ctx_free(a.cfg.tls);
    free(urls_text);
    free(paths);
    free(body);
    return rc;
}

/* Split a comma list in place; returns the count or -1 when too many. */
static int split(char *s, char **out, int max)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max)
            return -1;
        out[n++] = tok;
    }
    return n;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0777) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Convert the SVG to PNG with whichever converter is installed. */
static const char *to_png(const char *svg, const char *png)
{
    char cmdline[8400];
    const char *tools[][2] = {
        {"rsvg-convert", "rsvg-convert -o '%s' '%s' 2>/dev/null"},
        {"convert", "convert '%2$s' '%1$s' 2>/dev/null"},
    };
    if (strchr(svg, '\'') || strchr(png, '\''))
        return NULL;
    for (size_t i = 0; i < SK_ARRAY_LEN(tools); i++) {
        char probe[128];
        snprintf(probe, sizeof(probe), "command -v %s >/dev/null 2>&1", tools[i][0]);
        if (system(probe) != 0)
            continue;
        snprintf(cmdline, sizeof(cmdline), tools[i][1], png, svg);
        if (system(cmdline) == 0)
            return tools[i][0];
    }
    return NULL;
}

static int bench_models(const char *cmd, int argc, char **argv)
{
    struct args a = {0};
    sk_bench_cfg_init(&a.cfg);
    a.cfg.duration_ms = 2000;
    int r = parse_opts(cmd, argc, argv, &a);
    if (r)
        return r < 0 ? SK_EXIT_OK : r;
    if (argc - optind != 1)
        return sk_cli_usage(cmd, "which service? (echo or http)");
    const char *svc_name = argv[optind];
    int udp = a.cfg.kind == SK_BENCH_UDP_ECHO;
    if (strcmp(svc_name, "echo") == 0) {
        if (!udp)
            a.cfg.kind = SK_BENCH_ECHO;
    } else if (strcmp(svc_name, "http") == 0) {
        if (udp)
            return sk_cli_usage(cmd, "-u is for echo");
        a.cfg.kind = SK_BENCH_HTTP;
    } else {
        return sk_cli_usage(cmd, "bench models loads echo or http, not '%s'", svc_name);
    }
    if (a.unix_path)
        return sk_cli_usage(cmd, "--unix is not for 'bench models'");
    if (a.tlo.on && (udp || a.tlo.ca || a.tlo.pin || a.tlo.insecure || a.tlo.sni || a.tlo.cert))
        return sk_cli_usage(cmd, "bench models --tls starts each server with an ephemeral "
                                 "certificate and pins it: only --tls (and not with -u)");
    if (a.cfg.kind == SK_BENCH_HTTP && a.size_set)
        return sk_cli_usage(cmd, "-s is the echo message size (an HTTP request is a GET)");
    if (a.cfg.kind != SK_BENCH_HTTP && a.path)
        return sk_cli_usage(cmd, "--path is for http");
    if (a.cfg.count && !a.dur_set)
        return sk_cli_usage(cmd, "bench models runs for a duration (-d), not -n");
    const struct sk_service *svc = sk_service_find(svc_name);
    if (!svc)
        return sk_cli_fail(cmd, "service %s is not built in", svc_name);
    int type = udp ? SOCK_DGRAM : SOCK_STREAM;

    /* Models: the list given, or every one that can carry the service here. */
    char *mcopy = NULL, *names[64];
    int nm = 0;
    char why[256];
    if (a.models) {
        mcopy = strdup(a.models);
        if (!mcopy || (nm = split(mcopy, names, 63)) <= 0) {
            free(mcopy);
            return sk_cli_usage(cmd, "--models: a comma-separated list, please");
        }
        for (int i = 0; i < nm; i++) {
            const struct sk_model *m = sk_model_find(names[i], type);
            if (!m) {
                sk_cli_usage(cmd, "--models: unknown %s model '%s'", udp ? "UDP" : "TCP", names[i]);
                free(mcopy);
                return SK_EXIT_USAGE;
            }
        }
    } else {
        for (const struct sk_model *const *m = sk_models; *m && nm < 63; m++) {
            if (!(*m)->run || !sk_model_can_carry(*m, svc->flags, type, why, sizeof(why)))
                continue;
            if ((*m)->available && (*m)->available(why, sizeof(why)) < 0)
                continue;
            names[nm++] = (char *)(*m)->name;
        }
        if (nm == 0)
            return sk_cli_fail(cmd, "no model here can carry %s", svc_name);
    }
    names[nm] = NULL;

    unsigned conns[32];
    size_t nc = 0;
    if (a.conns) {
        char *cc = strdup(a.conns), *parts[33];
        int n = cc ? split(cc, parts, 32) : -1;
        for (int i = 0; i < n; i++) {
            int64_t v;
            if (sk_parse_i64(parts[i], 1, 100000, &v) < 0) {
                free(cc);
                free(mcopy);
                return sk_cli_usage(cmd, "--conns: '%s' is not a number in 1..100000", parts[i]);
            }
            conns[nc++] = (unsigned)v;
        }
        free(cc);
        if (n <= 0) {
            free(mcopy);
            return sk_cli_usage(cmd, "--conns: a comma-separated list, please");
        }
    } else {
        conns[nc++] = a.cfg.conns;
    }
    /* --rates: the sweep is over the offered rate at one connection count. */
    double rates[32];
    if (a.rates) {
        if (nc != 1 || a.cfg.rate > 0) {
            free(mcopy);
            return sk_cli_usage(cmd, "--rates sweeps the rate at one connection count: one -c "
                                     "or --conns value, no --rate");
        }
        char *rc2 = strdup(a.rates), *parts[33];
        int n = rc2 ? split(rc2, parts, 32) : -1;
        for (int i = 0; i < n; i++) {
            char *end;
            errno = 0;
            rates[i] = strtod(parts[i], &end);
            if (errno || end == parts[i] || *end || !(rates[i] > 0) || rates[i] > 1e9) {
                sk_cli_usage(cmd, "--rates: '%s' is not a rate in requests/s", parts[i]);
                free(rc2);
                free(mcopy);
                return SK_EXIT_USAGE;
            }
            conns[i] = conns[0];
        }
        free(rc2);
        if (n <= 0) {
            free(mcopy);
            return sk_cli_usage(cmd, "--rates: a comma-separated list, please");
        }
        nc = (size_t)n;
    }
    unsigned maxc = 0;
    for (size_t i = 0; i < nc; i++)
        maxc = SK_MAX(maxc, conns[i]);
    /* Our sockets, and the server's (it inherits the limit): each side needs
     * one descriptor per connection and a few more. sk_bench_raise_nofile()
     * raises the limit as far as the hard limit allows even when it fails. */
    if (raise_nofile(cmd, maxc + 128ull) < 0) {
        free(mcopy);
        return sk_cli_fail(cmd, "--conns %u: more than the descriptor limit allows", maxc);
    }

    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (el <= 0) {
        free(mcopy);
        return sk_cli_fail(cmd, "cannot find my own executable: %s", sk_strerror(-errno));
    }
    exe[el] = '\0';

    struct sk_bench_models_cfg mc = {0};
    mc.exe = exe;
    mc.service = svc_name;
    mc.models = (const char *const *)names;
    mc.conns = conns;
    mc.nconns = nc;
    mc.rates = a.rates ? rates : NULL;
    a.cfg.http_host = "127.0.0.1";
    a.cfg.http_path = a.path ? a.path : "/";
    mc.load = a.cfg;
    mc.server_args = a.server_args;
    mc.nserver_args = a.nserver_args;
    mc.tls = a.tlo.on;
    mc.progress = !a.quiet && !a.json && isatty(STDERR_FILENO);
    struct sk_bench_point *pts = calloc((size_t)nm * nc, sizeof(*pts));
    if (!pts) {
        free(mcopy);
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    }
    install_signals();
    r = sk_bench_models_run(&mc, pts);
    int rc = SK_EXIT_OK;
    if (r < 0) {
        rc = sk_cli_fail(cmd, "%s", sk_strerror(r));
        goto out;
    }
    if (a.json)
        sk_bench_models_json(stdout, &mc, pts, (size_t)nm);
    else
        sk_bench_models_table(stdout, &mc, pts, (size_t)nm);

    const char *dir = a.out ? a.out : "bench-out";
    char svg[4200], png[4200];
    const char *suffix = a.rates ? "-rates" : "";
    snprintf(svg, sizeof(svg), "%s/%s%s%s.svg", dir, udp ? "udp-" : "", svc_name, suffix);
    snprintf(png, sizeof(png), "%s/%s%s%s.png", dir, udp ? "udp-" : "", svc_name, suffix);
    if ((r = mkdir_p(dir)) < 0) {
        rc = sk_cli_fail(cmd, "--out %s: %s", dir, sk_strerror(r));
        goto out;
    }
    FILE *f = fopen(svg, "w");
    if (!f) {
        rc = sk_cli_fail(cmd, "%s: %s", svg, sk_strerror(-errno));
        goto out;
    }
    char title[256];
    snprintf(title, sizeof(title), "sockit bench models %s%s", udp ? "-u " : "", svc_name);
    r = sk_bench_chart_svg(f, title, &mc, pts, (size_t)nm);
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r < 0) {
        rc = sk_cli_fail(cmd, "%s: %s", svg, sk_strerror(r));
        goto out;
    }
    const char *conv = to_png(svg, png);
    FILE *note = a.json ? stderr : stdout;
    fprintf(note, "chart: %s%s%s%s\n", svg, conv ? " and " : "", conv ? png : "",
            conv ? "" : " (no PNG: neither rsvg-convert nor convert is installed)");
    int any = 0;
    for (size_t i = 0; i < (size_t)nm * nc; i++)
        any |= pts[i].ok;
    if (!any)
        rc = sk_cli_fail(cmd, "no model could be measured");
out:
    free(pts);
    free(mcopy);
    return rc;
}

static const struct option stream_opts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"size", required_argument, NULL, 's'},
    {"duration", required_argument, NULL, 'd'},
    {"udp", no_argument, NULL, 'u'},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"send", no_argument, NULL, 'S'},
    {"recv", no_argument, NULL, 'R'},
    {"both", no_argument, NULL, 'B'},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void stream_help(void)
{
    printf("Usage: sockit bench stream HOST PORT [OPTIONS]\n"
           "       sockit bench stream --unix PATH [OPTIONS]\n"
           "Bulk throughput over N streams at once (iperf-style): --send against serve\n"
           "discard, --recv against serve chargen, --both against serve echo.\n\n"
           "  -c, --connections N  streams at once (default 1)\n"
           "  --send | --recv | --both   direction (default --send)\n"
           "  -s, --size SIZE      bytes per write (default 128K; UDP: per datagram, 1400)\n"
           "  -d, --duration DUR   run this long (default 10s)\n"
           "  -u, --udp            UDP datagrams with sequence numbers (--send, --both;\n"
           "                       --both counts lost, reordered and duplicated echoes)\n"
           "  --unix PATH          a Unix stream socket ('@name': abstract)\n"
           "  -4, -6               IPv4 or IPv6 only when resolving HOST\n"
           "  --json               one JSON object\n"
           "  -q, --quiet          the total line only\n\n"
           "Reports total and per-stream throughput, Jain's fairness index over the\n"
           "streams, and per TCP stream the TCP_INFO round-trip time and retransmits.\n"
           "Exit status: 0 data moved; 1 no stream connected or nothing moved; 2 bad\n"
           "arguments.\n");
}

static const char *dir_name(enum sk_stream_dir d)
{
    return d == SK_STREAM_SEND ? "send" : d == SK_STREAM_RECV ? "recv" : "both";
}

static uint64_t stream_bytes(const struct sk_stream_cfg *cfg, const struct sk_stream_conn *pc)
{
    return cfg->dir == SK_STREAM_SEND ? pc->bytes_sent : pc->bytes_recv;
}

static void stream_report(const struct sk_stream_cfg *cfg, const struct sk_stream_result *res,
                          const char *label, int json, int quiet)
{
    double el = res->elapsed_s > 0 ? res->elapsed_s : 1;
    uint64_t total = cfg->dir == SK_STREAM_SEND ? res->bytes_sent : res->bytes_recv;
    int udp_both = cfg->udp && cfg->dir == SK_STREAM_BOTH;
    const char *proto = cfg->udp ? "udp" : sk_addr_family(&cfg->addr) == AF_UNIX ? "unix" : "tcp";
    if (json) {
        printf("{\"kind\": \"stream\", \"target\": ");
        sk_json_str(stdout, label);
        printf(", \"proto\": \"%s\", \"direction\": \"%s\", \"streams\": %u, "
               "\"connected\": %u, \"size\": %zu, \"elapsed_s\": %.6f, \"bytes_sent\": %llu, "
               "\"bytes_recv\": %llu, \"mbit_per_s\": %.3f, \"fairness\": %.6f, \"per_stream\": [",
               proto, dir_name(cfg->dir), cfg->conns, res->connected, cfg->size, res->elapsed_s,
               (unsigned long long)res->bytes_sent, (unsigned long long)res->bytes_recv,
               (double)total * 8 / el / 1e6, res->fairness);
        for (unsigned i = 0; i < cfg->conns; i++) {
            const struct sk_stream_conn *pc = &res->per[i];
            printf("%s{\"ok\": %s, \"bytes_sent\": %llu, \"bytes_recv\": %llu, "
                   "\"mbit_per_s\": %.3f, \"rtt_us\": %u, \"rttvar_us\": %u, \"retrans\": %u",
                   i ? ", " : "", pc->ok ? "true" : "false", (unsigned long long)pc->bytes_sent,
                   (unsigned long long)pc->bytes_recv, (double)stream_bytes(cfg, pc) * 8 / el / 1e6,
                   pc->rtt_us, pc->rttvar_us, pc->retrans);
            if (cfg->udp)
                printf(", \"datagrams_sent\": %llu, \"datagrams_recv\": %llu, \"lost\": %llu, "
                       "\"reordered\": %llu, \"duplicated\": %llu",
                       (unsigned long long)pc->dg_sent, (unsigned long long)pc->dg_recv,
                       (unsigned long long)pc->dg_lost, (unsigned long long)pc->dg_reordered,
                       (unsigned long long)pc->dg_dup);
            printf("}");
        }
        printf("]}\n");
        return;
    }
    if (quiet) {
        printf("%.1f Mbit/s over %u stream%s, fairness %.3f\n", (double)total * 8 / el / 1e6,
               res->connected, res->connected == 1 ? "" : "s", res->fairness);
        return;
    }
    printf("sockit bench stream %s (%s, %s, %u stream%s, %zu-byte %s, %.2f s)\n", label, proto,
           dir_name(cfg->dir), cfg->conns, cfg->conns == 1 ? "" : "s", cfg->size,
           cfg->udp ? "datagrams" : "writes", res->elapsed_s);
    if (udp_both)
        printf("  %6s %10s %10s %10s %10s %8s %10s %6s\n", "stream", "MB", "Mbit/s", "sent",
               "echoed", "lost", "reordered", "dup");
    else if (cfg->udp || sk_addr_family(&cfg->addr) == AF_UNIX)
        printf("  %6s %10s %10s\n", "stream", "MB", "Mbit/s");
    else
        printf("  %6s %10s %10s %9s %9s %8s\n", "stream", "MB", "Mbit/s", "rtt", "rttvar",
               "retrans");
    for (unsigned i = 0; i < cfg->conns; i++) {
        const struct sk_stream_conn *pc = &res->per[i];
        double mb = (double)stream_bytes(cfg, pc) / 1e6;
        if (!pc->ok) {
            printf("  %6u  (did not connect)\n", i + 1);
            continue;
        }
        printf("  %6u %10.1f %10.1f", i + 1, mb, mb * 8 / el);
        if (udp_both)
            printf(" %10llu %10llu %7.2f%% %10llu %6llu\n", (unsigned long long)pc->dg_sent,
                   (unsigned long long)pc->dg_recv,
                   pc->dg_sent ? 100.0 * (double)pc->dg_lost / (double)pc->dg_sent : 0.0,
                   (unsigned long long)pc->dg_reordered, (unsigned long long)pc->dg_dup);
        else if (cfg->udp || sk_addr_family(&cfg->addr) == AF_UNIX)
            printf("\n");
        else
            printf(" %7uus %7uus %8u\n", pc->rtt_us, pc->rttvar_us, pc->retrans);
    }
    printf("  %6s %10.1f %10.1f\n", "total", (double)total / 1e6, (double)total * 8 / el / 1e6);
    printf("  fairness (Jain's index over the streams): %.3f\n", res->fairness);
}

static int bench_stream(const char *cmd, int argc, char **argv)
{
    struct sk_stream_cfg cfg = {0};
    cfg.conns = 1;
    cfg.duration_ms = 10000;
    cfg.dir = SK_STREAM_SEND;
    int json = 0, quiet = 0, family = 0, c, size_set = 0, dirs = 0;
    const char *unix_path = NULL, *why = "";
    int64_t v;
    uint64_t sz;
    while ((c = getopt_long(argc, argv, "c:s:d:u46qh", stream_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (parse_u(cmd, "-c", optarg, 1, 100000, &v))
                return SK_EXIT_USAGE;
            cfg.conns = (unsigned)v;
            break;
        case 's':
            if (sk_parse_size(optarg, 16u << 20, &sz) < 0 || sz == 0)
                return sk_cli_usage(cmd, "-s: '%s' is not a size from 1 byte to 16M", optarg);
            cfg.size = (size_t)sz;
            size_set = 1;
            break;
        case 'd':
            if (sk_parse_duration_ms(optarg, &v) < 0 || v <= 0)
                return sk_cli_usage(cmd, "-d: '%s' is not a duration (e.g. 10s, 500ms)", optarg);
            cfg.duration_ms = v;
            break;
        case 'u': cfg.udp = 1; break;
        case 'S': cfg.dir = SK_STREAM_SEND, dirs++; break;
        case 'R': cfg.dir = SK_STREAM_RECV, dirs++; break;
        case 'B': cfg.dir = SK_STREAM_BOTH, dirs++; break;
        case OPT_UNIX: unix_path = optarg; break;
        case OPT_JSON: json = 1; break;
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 'q': quiet = 1; break;
        case 'h': stream_help(); return SK_EXIT_OK;
        default: fprintf(stderr, "Try 'sockit bench stream --help'.\n"); return SK_EXIT_USAGE;
        }
    }
    if (dirs > 1)
        return sk_cli_usage(cmd, "one of --send, --recv and --both");
    if (!size_set)
        cfg.size = cfg.udp ? 1400 : 128 * 1024;
    if (cfg.udp && (cfg.size < 8 || cfg.size > 65507))
        return sk_cli_usage(cmd, "-s: UDP datagrams carry 8 to 65507 bytes (the first 8 are a "
                                 "sequence number)");
    if (cfg.udp && cfg.dir == SK_STREAM_RECV)
        return sk_cli_usage(cmd, "-u with --recv: UDP chargen answers one datagram per datagram, "
                                 "which is no stream (use --both against echo)");
    if (unix_path && cfg.udp)
        return sk_cli_usage(cmd, "--unix with -u is not supported (Unix stream sockets only)");
    int nargs = argc - optind;
    char label[600];
    if (unix_path) {
        if (nargs != 0)
            return sk_cli_usage(cmd, "--unix PATH takes no HOST PORT");
        if (sk_addr_unix(unix_path, &cfg.addr, &why) < 0)
            return sk_cli_usage(cmd, "--unix %s: %s", unix_path, why);
        snprintf(label, sizeof(label), "unix:%s", unix_path);
    } else {
        if (nargs != 2)
            return sk_cli_usage(cmd, "HOST and PORT, please (or --unix PATH)");
        uint16_t pn = 0;
        if (sk_port_parse(argv[optind + 1], &pn, &why) < 0 || pn == 0)
            return sk_cli_usage(cmd, "port '%s': %s", argv[optind + 1], pn == 0 ? "port 0" : why);
        int r = sk_resolve_one(argv[optind], argv[optind + 1], family,
                               cfg.udp ? SOCK_DGRAM : SOCK_STREAM, 0, &cfg.addr);
        if (r < 0)
            return sk_cli_fail(cmd, "%s port %s: %s", argv[optind], argv[optind + 1],
                               sk_strerror(r));
        char s[SK_ADDR_STRLEN];
        sk_addr_format(&cfg.addr, s, sizeof(s));
        snprintf(label, sizeof(label), "%s", s);
    }
    if (sk_bench_raise_nofile((uint64_t)cfg.conns + 64) < 0)
        return sk_cli_fail(cmd, "-c %u: more streams than the descriptor limit allows", cfg.conns);
    install_signals();
    struct sk_stream_result res;
    int r = sk_stream_run(&cfg, &res);
    if (r < 0)
        return sk_cli_fail(cmd, "%s", sk_strerror(r));
    stream_report(&cfg, &res, label, json, quiet);
    fflush(stdout);
    uint64_t total = cfg.dir == SK_STREAM_SEND ? res.bytes_sent : res.bytes_recv;
    free(res.per);
    if (total == 0)
        return sk_cli_fail(cmd, "no data moved");
    return SK_EXIT_OK;
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2)
            return sk_cli_usage("bench", "echo, http, models, stream or chat?");
        help();
        return SK_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "echo") == 0)
        return bench_load("bench echo", argc - 1, argv + 1, 0);
    if (strcmp(sub, "http") == 0)
        return bench_load("bench http", argc - 1, argv + 1, 1);
    if (strcmp(sub, "models") == 0)
        return bench_models("bench models", argc - 1, argv + 1);
    if (strcmp(sub, "stream") == 0)
        return bench_stream("bench stream", argc - 1, argv + 1);
    if (strcmp(sub, "chat") == 0)
        return sk_cli_bench_chat("bench chat", argc - 1, argv + 1);
    return sk_cli_usage("bench", "unknown benchmark '%s' (echo, http, models, stream or chat)",
                        sub);
}
