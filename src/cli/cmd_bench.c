/*
 * cmd_bench.c - `sockit bench echo|http|models`: argument parsing for the
 * load generator and the model comparison; the work is in src/bench/.
 */
#include "cli.h"

#include "sockit/addr.h"
#include "sockit/bench.h"
#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/resolve.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_bench = {":c:t:s:d:n:P:u46qh", bench_longs, 0};

static void help(void)
{
    printf("Usage: sockit bench echo HOST PORT [OPTIONS]     TCP echo (-u: UDP echo)\n"
           "       sockit bench echo --unix PATH [OPTIONS]   echo over a Unix socket\n"
           "       sockit bench http URL [OPTIONS]           HTTP/1.1 GET, keep-alive\n"
           "       sockit bench models SERVICE [OPTIONS]     every model, one after another\n"
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
           "  --unix PATH          connect to a Unix stream socket ('@name': abstract)\n"
           "  -4, -6               IPv4 or IPv6 only when resolving HOST\n"
           "Output:\n"
           "  --json               one JSON object (models: the table as JSON)\n"
           "  -q, --quiet          one summary line, no progress line\n"
           "  -h, --help           this help\n"
           "Models (sockit bench models echo|http):\n"
           "  --models A,B,...     models to compare (default: all that can carry SERVICE)\n"
           "  --conns N,N,...      connection counts to sweep (default: -c)\n"
           "  --out DIR            where the SVG (and PNG) chart goes (default bench-out)\n"
           "  --path PATH          HTTP path to request (default /)\n"
           "  --server-arg ARG     pass ARG to every `sockit serve` (repeatable)\n\n"
           "Exit status: 0 replies came back and every echo matched; 1 no reply at all,\n"
           "echoed data differed, or the load could not run; 2 bad arguments.\n");
}

struct args {
    struct sk_bench_cfg cfg;
    int json, quiet, family, dur_set, timeout_set, size_set;
    const char *unix_path, *models, *conns, *out, *path;
    const char *server_args[32];
    unsigned nserver_args;
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
    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_bench.shorts, sk_cli_opts_bench.longs, NULL)) !=
           -1) {
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

/* http://host[:port][/path] into host, port and path (plain HTTP only). */
static int parse_url(const char *url, char *host, size_t hl, char *port, size_t pl, char *path,
                     size_t ptl, const char **why)
{
    if (strncmp(url, "https://", 8) == 0)
        return *why = "https is not supported (plain HTTP only)", -EINVAL;
    if (strncmp(url, "http://", 7) == 0)
        url += 7;
    else if (strstr(url, "://"))
        return *why = "only http:// URLs", -EINVAL;
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
        snprintf(port, pl, "80");
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
        return sk_cli_fail(cmd, "no reply came back%s", why);
    }
    if (res->errors[SK_BERR_MISMATCH])
        return sk_cli_fail(
            cmd, "%llu %s from what was sent", (unsigned long long)res->errors[SK_BERR_MISMATCH],
            res->errors[SK_BERR_MISMATCH] == 1 ? "reply differed" : "replies differed");
    return SK_EXIT_OK;
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
    if (a.models || a.conns || a.out || a.nserver_args)
        return sk_cli_usage(cmd,
                            "--models, --conns, --out and --server-arg are for 'bench models'");
    if (http && a.size_set)
        return sk_cli_usage(cmd, "-s is the echo message size (an HTTP request is a GET)");
    if (!http && a.path)
        return sk_cli_usage(cmd, "--path is for http (the path goes in the URL)");

    char host[256] = "localhost", port[16] = "", path[2048] = "/", label[600];
    const char *why = "";
    int nargs = argc - optind;
    if (http) {
        if (nargs != 1)
            return sk_cli_usage(cmd,
                                nargs ? "one URL, please" : "which URL? (http://HOST:PORT/PATH)");
        if (parse_url(argv[optind], host, sizeof(host), port, sizeof(port), path, sizeof(path),
                      &why) < 0)
            return sk_cli_usage(cmd, "%s: %s", argv[optind], why);
        if (a.path)
            snprintf(path, sizeof(path), "%s", a.path);
        snprintf(label, sizeof(label), "%s", argv[optind]);
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
    if (a.unix_path) {
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
    /* Host: as in the URL (a port only when it is not 80). */
    char hosthdr[300];
    snprintf(hosthdr, sizeof(hosthdr), "%s%s%s%s%s", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", strcmp(port, "80") ? ":" : "",
             strcmp(port, "80") ? port : "");
    a.cfg.http_host = hosthdr;
    a.cfg.http_path = path;
    a.cfg.label = label;
    if (a.cfg.threads > a.cfg.conns)
        a.cfg.threads = a.cfg.conns;
    a.cfg.progress = !a.quiet && !a.json && isatty(STDERR_FILENO);
    if (sk_bench_raise_nofile((uint64_t)a.cfg.conns + 64) < 0)
        return sk_cli_fail(cmd, "-c %u: more connections than the descriptor limit allows",
                           a.cfg.conns);
    install_signals();
    struct sk_bench_result *res = malloc(sizeof(*res));
    if (!res)
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    r = sk_bench_run(&a.cfg, res);
    int rc = finish(cmd, &a, res, r);
    free(res);
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
    unsigned maxc = 0;
    for (size_t i = 0; i < nc; i++)
        maxc = SK_MAX(maxc, conns[i]);
    /* Our sockets, and the server's (it inherits the limit): each side needs
     * one descriptor per connection and a few more. sk_bench_raise_nofile()
     * raises the limit as far as the hard limit allows even when it fails. */
    if (sk_bench_raise_nofile(maxc + 128ull) < 0) {
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
    a.cfg.http_host = "127.0.0.1";
    a.cfg.http_path = a.path ? a.path : "/";
    mc.load = a.cfg;
    mc.server_args = a.server_args;
    mc.nserver_args = a.nserver_args;
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
    snprintf(svg, sizeof(svg), "%s/%s%s.svg", dir, udp ? "udp-" : "", svc_name);
    snprintf(png, sizeof(png), "%s/%s%s.png", dir, udp ? "udp-" : "", svc_name);
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

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2)
            return sk_cli_usage("bench", "echo, http or models?");
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
    return sk_cli_usage("bench", "unknown benchmark '%s' (echo, http or models)", sub);
}
