/*
 * cmd_serve.c - `sockit serve SERVICE [options]`: argument parsing, binding,
 * signals, the first line, and the totals at the end.
 */
#include "cli.h"

#include "sockit/addr.h"
#include "sockit/bench.h"
#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/resolve.h"
#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/sock.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_MODEL = 256,
    OPT_UNIX,
    OPT_LIST,
    OPT_JSON,
    OPT_UNIX_MODE,
    OPT_LOG_TIME,
    OPT_JSON_LOG,
    OPT_ALLOW,
    OPT_DENY,
    OPT_INETD,
    OPT_TLS,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_CLIENT_CA,
    OPT_SERVER_BASE = 500, /* + the index in sk_server_opts */
    OPT_SERVICE_BASE = 1000,
};

static const struct option common_opts[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"port", required_argument, NULL, 'p'},
    {"bind", required_argument, NULL, 'b'},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"udp", no_argument, NULL, 'u'},
    {"allow", required_argument, NULL, OPT_ALLOW},
    {"deny", required_argument, NULL, OPT_DENY},
    {"inetd", no_argument, NULL, OPT_INETD},
    {"list", no_argument, NULL, OPT_LIST},
    {"json", no_argument, NULL, OPT_JSON},
    {"unix-mode", required_argument, NULL, OPT_UNIX_MODE},
    {"log-time", no_argument, NULL, OPT_LOG_TIME},
    {"json-log", no_argument, NULL, OPT_JSON_LOG},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
};

static struct sk_server *the_server;
static pid_t serve_pid; /* forked workers inherit on_signal: only this one speaks */

/* Decimal digits of v at the end of buf (no printf in a signal handler). */
static char *put_u64(char *end, uint64_t v)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}

static void say(const char *s)
{
    ssize_t w = write(STDERR_FILENO, s, strlen(s));
    (void)w;
}

/* The first SIGINT/SIGTERM stops the server, which lets its connections
 * finish for --drain: say so when there are any. A second one stops at once
 * (workers of fork/prefork die with their parent). Async-signal-safe. */
static void on_signal(int sig)
{
    static volatile sig_atomic_t signals;
    struct sk_server *srv = the_server;
    char n[24], ms[24];

    if (!srv)
        return;
    if (getpid() != serve_pid) {
        sk_server_stop(srv); /* a worker told to stop by its parent */
        return;
    }
    if (signals++ > 0) {
        say("sockit: stopping now\n");
        if (srv->unix_owned && srv->addr.u.un.sun_path[0] != '\0')
            unlink(srv->addr.u.un.sun_path);
        _exit(128 + sig);
    }
    sk_server_stop(srv);
    uint64_t active = srv->socktype == SOCK_STREAM ? srv->st->active : 0;
    if (active == 0)
        return;
    n[sizeof(n) - 1] = ms[sizeof(ms) - 1] = '\0';
    say("sockit: stopping: ");
    say(put_u64(n + sizeof(n) - 1, active));
    say(active == 1 ? " connection open, finishing what it is doing"
                    : " connections open, finishing what they are doing");
    say(" (at most ");
    say(put_u64(ms + sizeof(ms) - 1, (uint64_t)srv->lim.drain_ms));
    say(" ms, --drain); Ctrl-C again stops now\n");
}

/* "  --name ARG           help", the help wrapped at 80 columns and put on
 * the next line when the name does not fit its column. */
static void print_opt(const char *head, const char *text)
{
    enum { COL = 23, WIDTH = 80 };
    int at = printf("  %s", head);
    while (*text) {
        size_t n = strlen(text);
        if (n > WIDTH - COL) {
            n = WIDTH - COL;
            while (n > 0 && text[n] != ' ')
                n--;
            if (n == 0)
                n = strcspn(text, " ");
        }
        if (at >= COL - 1)
            at = printf("\n") - 1;
        printf("%*s%.*s", COL - at, "", (int)n, text);
        at = 0;
        text += n;
        while (*text == ' ')
            text++;
        if (*text)
            at = printf("\n") - 1;
    }
    printf("\n");
}

/* "--name ARG" and the help of each entry of an option table. */
static void print_opts(const struct sk_service_opt *opts)
{
    for (const struct sk_service_opt *o = opts; o && o->name; o++) {
        char head[64];
        snprintf(head, sizeof(head), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        print_opt(head, o->help);
    }
}

static void help(const struct sk_service *svc)
{
    char tcp[256], udp[128], text[512];

    sk_model_names(SOCK_STREAM, tcp, sizeof(tcp));
    sk_model_names(SOCK_DGRAM, udp, sizeof(udp));
    snprintf(text, sizeof(text), "%s (UDP: %s); default: the fastest available", tcp, udp);
    printf("Usage: sockit serve SERVICE [PORT] [OPTIONS]\n"
           "       sockit serve exec [PORT] [OPTIONS] -- CMD [ARG...]\n"
           "       sockit serve --list [--json]\n"
           "Run SERVICE under a concurrency model until SIGINT/SIGTERM, or q, quit or\n"
           "Ctrl-D typed on the terminal while it runs in the foreground (a second\n"
           "SIGINT/SIGTERM stops at once). The first line printed says where it listens.\n\n"
           "Options:\n");
    print_opt("--model MODEL", text);
    printf("  -p, --port PORT      port number or service name (echo, http, ...) to listen\n"
           "                       on; also the PORT operand (0: any free port; default 0)\n"
           "  -b, --bind ADDR      address or name to bind, without a port (default\n"
           "                       localhost: both 127.0.0.1 and ::1)\n"
           "  -4, -6               IPv4 or IPv6 only (of --bind's name or of localhost)\n"
           "  --unix PATH          listen on a Unix socket instead ('@name': abstract)\n"
           "  --unix-mode MODE     permissions of the --unix socket file (octal, e.g. 660)\n"
           "  -u, --udp            serve datagrams (UDP) instead of a stream\n"
           "  --allow CIDR         serve only sources in CIDR (a.b.c.d[/N], v6[/N]);\n"
           "                       repeatable: any --allow leaves out all other sources\n"
           "  --deny CIDR          never serve sources in CIDR (repeatable; wins over\n"
           "                       --allow). Refused before the service sees a byte;\n"
           "                       logged at most once a second, with a count\n"
           "  --inetd              serve the one connection on standard input (inetd,\n"
           "                       systemd Accept=yes), then exit. Without it, sockets\n"
           "                       passed by systemd (LISTEN_FDS) are served instead of\n"
           "                       binding (-p, -b and --unix do not apply then)\n"
           "  --tls                TLS on every connection (stream services); without\n"
           "                       --tls-cert an ephemeral self-signed certificate for the\n"
           "                       bound addresses and host name (its sha256 is printed)\n"
           "  --tls-cert FILE      certificate (PEM, may hold a chain), with --tls-key FILE\n"
           "  --tls-client-ca FILE require client certificates signed by these CAs\n");
    print_opts(sk_server_opts);
    printf("  -q, --quiet          log only errors;  -v, --verbose: log each connection\n"
           "                       (open, and close with duration and bytes each way)\n"
           "  --log-time           an ISO 8601 local time on each log line (always when\n"
           "                       standard error is not a terminal)\n"
           "  --json-log           log one JSON object per event (open, close, refuse,\n"
           "                       error, ...) on standard error\n"
           "  --list               which models can carry which services here (--json)\n"
           "  -h, --help           this text (after SERVICE: only that service's options)\n");
    for (const struct sk_service *const *s = sk_services; *s; s++) {
        if (svc && *s != svc)
            continue;
        printf("\n%s: %s%s\n", (*s)->name, (*s)->summary,
               ((*s)->flags & SK_SVC_DGRAM) ? " (also --udp)" : "");
        print_opts((*s)->opts);
    }
}

static void list_models(int json)
{
    char why[256];
    int first = 1;

    if (json)
        printf("{\"models\": [");
    else
        printf("%-10s %-7s %-8s %s\n", "model", "kind", "status", "services");
    for (const struct sk_model *const *m = sk_models; *m; m++) {
        const char *status = "ok";
        int type = ((*m)->caps & SK_MODEL_DGRAM) ? SOCK_DGRAM : SOCK_STREAM;
        const char *kind = type == SOCK_DGRAM ? "udp" : "tcp";
        if ((*m)->available && (*m)->available(why, sizeof(why)) < 0)
            status = "refused";
        if (json) {
            sk_cli_json_sep(&first);
            printf("{\"model\": \"%s\", \"kind\": \"%s\", \"status\": \"%s\", \"services\": [",
                   (*m)->name, kind, status);
        } else {
            printf("%-10s %-7s %-8s", (*m)->name, kind, status);
        }
        int n = 0;
        for (const struct sk_service *const *s = sk_services; *s; s++)
            if ((*s)->flags & (type == SOCK_DGRAM ? SK_SVC_DGRAM : SK_SVC_STREAM) &&
                sk_model_can_carry(*m, (*s)->flags, type, why, sizeof(why)))
                printf(json ? "%s\"%s\"" : "%s%s", json ? (n++ ? ", " : "") : " ", (*s)->name);
        if (strcmp(status, "refused") == 0) {
            (*m)->available(why, sizeof(why));
            if (json) {
                printf("], \"why\": ");
                sk_json_str(stdout, why);
                printf("}");
            } else {
                printf("  (%s)\n", why);
            }
        } else {
            printf(json ? "]}" : "\n");
        }
    }
    const struct sk_model *d = sk_model_default(SK_SVC_STREAM, SOCK_STREAM);
    const struct sk_model *du = sk_model_default(SK_SVC_DGRAM, SOCK_DGRAM);
    if (json)
        printf("],\n \"default\": {\"tcp\": \"%s\", \"udp\": \"%s\"}}\n", d ? d->name : "",
               du ? du->name : "");
    else
        printf("default: %s (tcp), %s (udp)\n", d ? d->name : "none", du ? du->name : "none");
}

/* The line for a refused option; an option of another service says whose. */
static void bad_option(const char *cmd, int c, char **argv, const struct sk_service *svc)
{
    const char *arg = argv[optind - 1];
    if (c == '?' && svc && arg[0] == '-' && arg[1] == '-') {
        size_t len = strcspn(arg + 2, "=");
        for (const struct sk_service *const *s = sk_services; *s; s++) {
            for (const struct sk_service_opt *o = (*s)->opts; o && o->name; o++) {
                if (strlen(o->name) == len && strncmp(o->name, arg + 2, len) == 0) {
                    sk_cli_usage(cmd, "'--%s' is an option of %s, not of %s", o->name, (*s)->name,
                                 svc->name);
                    return;
                }
            }
        }
    }
    sk_cli_bad_option(cmd, c, argv);
}

static size_t count_opts(const struct sk_service_opt *opts)
{
    size_t n = 0;
    for (const struct sk_service_opt *o = opts; o && o->name; o++)
        n++;
    return n;
}

/* getopt's entries for an option table, their values from base on. */
static void add_opts(struct option *v, const struct sk_service_opt *opts, size_t n, int base)
{
    for (size_t i = 0; i < n; i++) {
        v[i].name = opts[i].name;
        v[i].has_arg = opts[i].type == SK_OPT_FLAG ? no_argument : required_argument;
        v[i].val = base + (int)i;
    }
}

/* Build getopt's table: the common options, the server's, the service's. */
static struct option *build_options(const struct sk_service *svc)
{
    size_t nc = sizeof(common_opts) / sizeof(common_opts[0]);
    size_t nv = count_opts(sk_server_opts), ns = count_opts(svc ? svc->opts : NULL);
    struct option *v = calloc(nc + nv + ns + 1, sizeof(*v));
    if (!v)
        return NULL;
    memcpy(v, common_opts, sizeof(common_opts));
    add_opts(v + nc, sk_server_opts, nv, OPT_SERVER_BASE);
    if (svc)
        add_opts(v + nc + nv, svc->opts, ns, OPT_SERVICE_BASE);
    return v;
}

/* An octal file mode such as 600, 0660 (no more than 0777). */
static int parse_mode(const char *v, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long m = strtoul(v, &end, 8);
    if (!*v || *end || errno || m > 0777 || v[0] == '-' || v[0] == '+')
        return -EINVAL;
    *out = (unsigned)m;
    return 0;
}

/* Options that would do nothing together are refused, not ignored. */
static int check_combination(const char *cmd, const char *unix_path, const char *port,
                             const char *bind_host, int family, unsigned unix_mode)
{
    if (unix_path) {
        if (port)
            return sk_cli_usage(cmd, "-p %s: a Unix socket (--unix) has no port", port);
        if (bind_host)
            return sk_cli_usage(cmd, "-b and --unix exclude each other");
        if (family != AF_UNSPEC)
            return sk_cli_usage(cmd, "-4/-6 choose an IP address family, not with --unix");
        if (unix_mode && unix_path[0] == '@')
            return sk_cli_usage(cmd, "--unix-mode: an abstract socket (@name) has no file");
    } else if (unix_mode) {
        return sk_cli_usage(cmd, "--unix-mode goes with --unix PATH");
    }
    return 0;
}

/* A port number, or a service name from /etc/services (-p echo). */
static int port_number(const char *port, int dgram, uint16_t *out, const char **why)
{
    if (sk_port_parse(port, out, why) == 0)
        return 0;
    if (port[strspn(port, "0123456789")] == '\0')
        return -EINVAL; /* digits: out of range */
    struct servent se, *res = NULL;
    char buf[1024];
    if (getservbyname_r(port, dgram ? "udp" : "tcp", &se, buf, sizeof(buf), &res) != 0 || !res) {
        *why = "not a port number or a service name in /etc/services";
        return -EINVAL;
    }
    *out = ntohs((uint16_t)res->s_port);
    return 0;
}

/* -b (or the default: 127.0.0.1 and ::1, both loopback addresses, whatever
 * /etc/hosts says "localhost" is) and the port into srv's addresses. */
int sk_cli_listen_addresses(const char *cmd, struct sk_server *srv, const char *bind_host,
                            const char *port, int family)
{
    const char *why = NULL;
    char num[8];
    uint16_t pnum;
    int r;

    if (port_number(port, srv->socktype == SOCK_DGRAM, &pnum, &why) < 0)
        return sk_cli_usage(cmd, "-p %s: %s", port, why);
    snprintf(num, sizeof(num), "%u", pnum);
    if (!bind_host || strcmp(bind_host, "localhost") == 0) {
        const char *loop[2] = {"127.0.0.1", "::1"};
        int fam[2] = {AF_INET, AF_INET6}, n = 0;
        for (int i = 0; i < 2; i++) {
            if (family != AF_UNSPEC && family != fam[i])
                continue;
            struct sk_addr *a = n == 0 ? &srv->addr : &srv->more[srv->nmore++];
            if ((r = sk_resolve_one(loop[i], num, fam[i], srv->socktype, 1, a)) < 0)
                return sk_cli_fail(cmd, "%s port %s: %s", loop[i], num, sk_strerror(r));
            n++;
        }
        return 0;
    }
    /* -b takes an address; a port glued to it is a usage error. */
    struct in6_addr ip6;
    const char *colon = strrchr(bind_host, ':');
    if (colon && colon[1] && colon[1 + strspn(colon + 1, "0123456789")] == '\0' &&
        inet_pton(AF_INET6, bind_host, &ip6) != 1) {
        int hl = (int)(colon - bind_host), br = bind_host[0] == '[' && colon[-1] == ']';
        return sk_cli_usage(cmd, "-b %s: -b takes an address, -p the port (-b %.*s -p %s)",
                            bind_host, hl - 2 * br, bind_host + br, colon + 1);
    }
    /* Digits and dots are meant as an IPv4 address: strict, as `sockit ip`
     * (the resolver would take inet_aton's 1.2.3 as 1.2.0.3). */
    struct in_addr ip4;
    if (bind_host[strspn(bind_host, "0123456789.")] == '\0' &&
        sk_ip4_parse(bind_host, &ip4, &why) < 0)
        return sk_cli_usage(cmd, "-b %s: %s", bind_host, why);
    if ((r = sk_resolve_one(bind_host, num, family, srv->socktype, 1, &srv->addr)) < 0)
        return sk_cli_fail(cmd, "cannot bind %s port %s: %s", bind_host, port, sk_strerror(r));
    return 0;
}

/* "sockit: SERVICE listening on ADDR [and ADDR] (KIND, model M)": the first
 * line, which scripts and tests read the port from. http adds the URL to
 * open; a terminal stdin adds how to stop. */
static void listening_line(const struct sk_server *srv, const char *kind, int web, int root_given)
{
    char a[SK_ADDR_STRLEN];

    sk_addr_format(&srv->addr, a, sizeof(a));
    printf("sockit: %s listening on %s", srv->svc->name, a);
    for (unsigned i = 0; i < srv->nmore; i++) {
        sk_addr_format(&srv->more[i], a, sizeof(a));
        printf(" and %s", a);
    }
    printf(" (%s, model %s)", srv->tls ? "tls" : kind, srv->model->name);
    char fp[SK_TLS_FP_STRLEN];
    if (srv->tls && sk_tls_ctx_fingerprint(srv->tls, fp, sizeof(fp)) > 0)
        printf(" %s", fp);
    if (web && sk_addr_family(&srv->addr) != AF_UNIX) {
        sk_addr_format(&srv->addr, a, sizeof(a));
        printf(": %s://%s/%s", srv->tls ? "https" : "http", a,
               root_given ? "" : " answers Hello, World! (--root DIR serves files)");
    }
    if (srv->stdin_stop)
        printf("; q or Ctrl-D stops");
    printf("\n");
    fflush(stdout);
}

/* One descriptor per connection: raise the soft RLIMIT_NOFILE to the hard
 * limit (and the hard limit too when --max-conns asks for more and we may),
 * and say what we got (-v; a warning when it is below --max-conns). */
static void raise_nofile(unsigned max_conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    uint64_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : (uint64_t)rl.rlim_max, got = 0;
    if (max_conns && max_conns + 64ull > want)
        want = max_conns + 64ull;
    if (sk_bench_raise_nofile2(want, &got) < 0)
        sk_log(SK_LOG_WARN, "descriptor limit %llu: fewer than --max-conns %u needs",
               (unsigned long long)got, max_conns);
    else
        sk_log(SK_LOG_DEBUG, "descriptor limit %llu", (unsigned long long)got);
}

/* --inetd: the connection is standard input. It moves to a descriptor of
 * its own; standard input and output become /dev/null (nothing this
 * command prints may reach the client), and so does standard error when it
 * is the connection too (inetd passes the socket as 0, 1 and 2). Returns
 * the connection's descriptor or a negative errno. */
static int take_inetd_conn(struct sk_server *srv, struct sk_addr *peer)
{
    int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3), r;
    if (fd < 0)
        return -errno;
    if ((r = sk_server_adopt_conn(srv, fd, peer)) < 0) {
        close(fd);
        return r;
    }
    struct stat st;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) {
        close(fd);
        return -errno;
    }
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (fstat(STDERR_FILENO, &st) == 0 && S_ISSOCK(st.st_mode))
        dup2(null, STDERR_FILENO);
    close(null);
    return fd;
}

/* serve --tls and its options. */
struct serve_tls {
    int on;
    struct sk_tls_server_opts o;
};

/* handshake_ms: --handshake-timeout, from the server's option table (0: not
 * given). */
static int tls_check(const char *cmd, const struct serve_tls *t, int dgram, int handshake_ms)
{
    const char *opt = t->o.cert_file   ? "--tls-cert"
                      : t->o.key_file  ? "--tls-key"
                      : t->o.client_ca ? "--tls-client-ca"
                      : handshake_ms   ? "--handshake-timeout"
                                       : NULL;
    if (!t->on && opt)
        return sk_cli_usage(cmd, "%s goes with --tls", opt);
    if (t->on && dgram)
        return sk_cli_usage(cmd,
                            "--tls is for stream services (no TLS over UDP: DTLS is not here)");
    if (!t->o.cert_file != !t->o.key_file)
        return sk_cli_usage(cmd, "--tls-cert and --tls-key go together");
    return 0;
}

/* The server context, after binding: an ephemeral certificate names the
 * bound addresses and the host name. */
static int tls_setup(const char *cmd, struct sk_server *srv, struct serve_tls *t)
{
    char addrs[SK_SERVER_MAX_ADDRS][SK_ADDR_STRLEN], host[256], why[256] = "";
    const char *names[SK_SERVER_MAX_ADDRS + 2];
    size_t n = 0;

    if (sk_addr_family(&srv->addr) != AF_UNIX) {
        for (unsigned i = 0; i <= srv->nmore && i < SK_SERVER_MAX_ADDRS; i++) {
            const struct sk_addr *a = i == 0 ? &srv->addr : &srv->more[i - 1];
            if (sk_addr_format_host(a, addrs[n], sizeof(addrs[n])) >= 0 &&
                sk_tls_name_check(addrs[n]) == 0)
                names[n] = addrs[n], n++;
        }
    }
    if (gethostname(host, sizeof(host)) == 0 && sk_tls_name_check(host) == 0)
        names[n++] = host;
    names[n++] = "localhost";
    t->o.names = names;
    t->o.nnames = n;
    t->o.alpn = strcmp(srv->svc->name, "http") == 0 ? "http/1.1" : NULL;
    int r = sk_tls_server_ctx(&t->o, &srv->tls, why, sizeof(why));
    if (r < 0)
        return sk_cli_fail(cmd, "--tls: %s", why[0] ? why : sk_strerror(r));
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    const char *cmd = "serve";
    const char *model_name = NULL, *bind_host = NULL, *port = NULL, *unix_path = NULL;
    const struct sk_service *svc = NULL;
    struct sk_server srv;
    int family = AF_UNSPEC, quiet = 0, verbose = 0, rc = SK_EXIT_FAIL, c, r;
    int list = 0, json = 0, log_time = 0, json_log = 0, root_given = 0;
    int inetd = 0, activated = 0, conn_fd = -1;
    struct sk_addr conn_peer;
    struct serve_tls tls = {0};
    char err[256] = "";

    /* The service comes first so its options can be known. */
    if (argc >= 2 && argv[1][0] != '-') {
        svc = sk_service_find(argv[1]);
        if (!svc)
            return sk_cli_usage(cmd, "unknown service '%s'", argv[1]);
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    /* A service that runs a program takes it after `--` (serve exec -- CMD
     * ARG...): what follows is the program's, never an option of ours. */
    int nprog = -1;
    char **prog = NULL;
    for (int i = 1; svc && svc->args && i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            prog = argv + i + 1;
            nprog = argc - i - 1;
            argc = i;
            break;
        }
    }
    sk_server_init(&srv);
    struct option *opts = build_options(svc);
    if (!opts) {
        sk_server_close(&srv);
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    }
    if (svc && (r = svc->create(&srv.svc_state)) < 0) {
        rc = sk_cli_fail(cmd, "%s", sk_strerror(r));
        goto out;
    }
    srv.svc = svc;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:b:46uqvh", opts, NULL)) != -1) {
        rc = SK_EXIT_USAGE;
        switch (c) {
        case OPT_MODEL: model_name = optarg; break;
        case 'p': port = optarg; break;
        case 'b': bind_host = optarg; break;
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case OPT_UNIX: unix_path = optarg; break;
        case 'u': srv.socktype = SOCK_DGRAM; break;
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case OPT_ALLOW:
        case OPT_DENY: {
            const char *why = "out of memory";
            if (sk_acl_add(&srv.acl, c == OPT_ALLOW, optarg, &why) < 0) {
                rc = sk_cli_usage(cmd, "%s '%s': %s", c == OPT_ALLOW ? "--allow" : "--deny", optarg,
                                  why);
                goto out;
            }
            break;
        }
        case OPT_INETD: inetd = 1; break;
        case OPT_LIST: list = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_LOG_TIME: log_time = 1; break;
        case OPT_JSON_LOG: json_log = 1; break;
        case OPT_TLS: tls.on = 1; break;
        case OPT_TLS_CERT: tls.o.cert_file = optarg; break;
        case OPT_TLS_KEY: tls.o.key_file = optarg; break;
        case OPT_TLS_CLIENT_CA: tls.o.client_ca = optarg; break;
        case OPT_UNIX_MODE:
            if (parse_mode(optarg, &srv.unix_mode) < 0) {
                sk_cli_usage(cmd, "--unix-mode: '%s' is not an octal mode (e.g. 600, 660, 0666)",
                             optarg);
                goto out;
            }
            break;
        case 'h':
            help(svc);
            rc = SK_EXIT_OK;
            goto out;
        default:
            if (c >= OPT_SERVER_BASE && c < OPT_SERVICE_BASE) {
                const struct sk_service_opt *o = &sk_server_opts[c - OPT_SERVER_BASE];
                if (sk_server_option(&srv, o->name, optarg, err, sizeof(err)) < 0) {
                    sk_cli_usage(cmd, "%s", err);
                    goto out;
                }
                break;
            }
            if (c >= OPT_SERVICE_BASE && svc) {
                const struct sk_service_opt *o = &svc->opts[c - OPT_SERVICE_BASE];
                root_given |= strcmp(o->name, "root") == 0;
                if ((r = sk_service_option(svc, srv.svc_state, o->name, optarg, err, sizeof(err))) <
                    0) {
                    sk_cli_usage(cmd, "%s", err[0] ? err : sk_strerror(r));
                    goto out;
                }
                break;
            }
            bad_option(cmd, c, argv, svc);
            goto out;
        }
        rc = SK_EXIT_FAIL;
    }
    if (list || json) {
        if (!list)
            rc = sk_cli_usage(cmd, "--json goes with --list (the server's log: --json-log)");
        else if (svc || optind < argc)
            rc = sk_cli_usage(cmd, "--list takes no service or other argument");
        else {
            list_models(json);
            rc = SK_EXIT_OK;
        }
        goto out;
    }
    if (!svc) {
        rc = sk_cli_usage(cmd, optind < argc ? "the service comes right after 'serve'"
                                             : "which service? (echo, greet, chat, http, ...)");
        goto out;
    }
    if (optind < argc && !port && !unix_path)
        port = argv[optind++]; /* serve SERVICE PORT */
    if (optind < argc) {
        rc = sk_cli_usage(cmd, "unexpected argument '%s'%s", argv[optind],
                          port && !unix_path ? " (the port is already given)" : "");
        goto out;
    }
    if (svc->args &&
        (r = svc->args(srv.svc_state, nprog < 0 ? 0 : nprog, prog, err, sizeof(err))) < 0) {
        rc = sk_cli_usage(cmd, "%s: %s", svc->name, err[0] ? err : sk_strerror(r));
        goto out;
    }
    if ((rc = check_combination(cmd, unix_path, port, bind_host, family, srv.unix_mode)) != 0)
        goto out;
    rc = SK_EXIT_FAIL;
    if ((rc = tls_check(cmd, &tls, srv.socktype == SOCK_DGRAM, srv.handshake_ms)) != 0)
        goto out;
    rc = SK_EXIT_FAIL;
    if (quiet)
        sk_log_level = SK_LOG_ERROR;
    else if (verbose)
        sk_log_level = SK_LOG_DEBUG;
    if (json_log)
        sk_log_flags = SK_LOGF_JSON;
    else if (log_time || !isatty(STDERR_FILENO))
        sk_log_flags = SK_LOGF_TIME;
    int dgram = srv.socktype == SOCK_DGRAM;
    if ((r = sk_server_configure(&srv, model_name, err, sizeof(err))) < 0) {
        rc = r == -EINVAL ? sk_cli_usage(cmd, "%s", err) : sk_cli_fail(cmd, "%s", err);
        goto out;
    }

    raise_nofile(srv.lim.max_conns);

    if (inetd && (unix_path || port || bind_host)) {
        rc = sk_cli_usage(cmd, "--inetd serves the connection on standard input: "
                               "-p, -b and --unix do not apply");
        goto out;
    }
    if (inetd) {
        if ((conn_fd = take_inetd_conn(&srv, &conn_peer)) < 0) {
            rc = sk_cli_fail(cmd, "--inetd: standard input is not a connected socket: %s",
                             sk_strerror(conn_fd));
            goto out;
        }
        activated = 1;
    } else if ((r = sk_server_adopt_systemd(&srv, err, sizeof(err))) != 0) {
        if (r < 0 || unix_path || port || bind_host) {
            rc = r < 0 ? sk_cli_fail(cmd, "socket activation: %s", err[0] ? err : sk_strerror(r))
                       : sk_cli_usage(cmd, "sockets passed by systemd (LISTEN_FDS): "
                                           "-p, -b and --unix do not apply");
            goto out;
        }
        activated = 1;
    }
    const char *why = NULL;
    if (activated) {
        /* listening on what systemd passed */
    } else if (unix_path) {
        struct stat st;
        if (sk_addr_unix(unix_path, &srv.addr, &why) < 0) {
            rc = sk_cli_usage(cmd, "--unix %s: %s", unix_path, why);
            goto out;
        }
        if (unix_path[0] != '@' && stat(unix_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
            rc = sk_cli_fail(cmd, "--unix %s: %s is there and is not a socket (give a new path)",
                             unix_path, S_ISDIR(st.st_mode) ? "a directory" : "a file");
            goto out;
        }
    } else {
        if ((rc = sk_cli_listen_addresses(cmd, &srv, bind_host, port ? port : "0", family)) != 0)
            goto out;
        rc = SK_EXIT_FAIL;
    }
    if (!activated && (r = sk_server_bind(&srv)) < 0) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(&srv.addr, a, sizeof(a));
        if (unix_path)
            rc = sk_cli_fail(cmd, "could not open socket on %s: %s", a, sk_strerror(r));
        else
            rc =
                sk_cli_fail(cmd, "could not open socket on %s (%s port %s): %s", a,
                            bind_host ? bind_host : "localhost", port ? port : "0", sk_strerror(r));
        goto out;
    }
    if (tls.on && (rc = tls_setup(cmd, &srv, &tls)) != 0)
        goto out;
    rc = SK_EXIT_FAIL;
    if ((r = sk_server_start_service(&srv, err, sizeof(err))) < 0) {
        /* -ERANGE: a limit outside what the service can work with (exit 2). */
        if (r == -ERANGE)
            rc = sk_cli_usage(cmd, "%s: %s", svc->name, err[0] ? err : sk_strerror(r));
        else
            rc = sk_cli_fail(cmd, "%s: %s", svc->name, err[0] ? err : sk_strerror(r));
        goto out;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    the_server = &srv;
    serve_pid = getpid();
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (srv.stdin_stop)
        signal(SIGTTIN, SIG_IGN); /* a read from the background fails, never stops us */
    listening_line(&srv, unix_path ? (dgram ? "unix-dgram" : "unix") : (dgram ? "udp" : "tcp"),
                   strcmp(svc->name, "http") == 0 && !dgram, root_given);

    if (conn_fd >= 0) {
        sk_server_serve_conn(&srv, conn_fd, &conn_peer); /* closes it */
        conn_fd = -1;
        r = 0;
    } else {
        r = sk_server_run(&srv);
    }
    the_server = NULL;
    if (r < 0) {
        rc = sk_cli_fail(cmd, "model %s: %s", srv.model->name, sk_strerror(r));
        goto out;
    }
    uint64_t n = srv.st->accepted;
    printf("sockit: %s stopped: %llu %s, %llu rejected, %llu %s, %llu %s in, %llu %s out\n",
           svc->name, (unsigned long long)n,
           dgram ? (n == 1 ? "datagram" : "datagrams") : (n == 1 ? "connection" : "connections"),
           (unsigned long long)srv.st->rejected, (unsigned long long)srv.st->errors,
           srv.st->errors == 1 ? "error" : "errors", (unsigned long long)srv.st->bytes_in,
           srv.st->bytes_in == 1 ? "byte" : "bytes", (unsigned long long)srv.st->bytes_out,
           srv.st->bytes_out == 1 ? "byte" : "bytes");
    fflush(stdout);
    rc = SK_EXIT_OK;
out:
    if (conn_fd >= 0)
        close(conn_fd);
    free(opts);
    sk_server_close(&srv);
    return rc;
}

/* serve's own options for the shell completion (main.c); the services' come
 * from their tables. */
const struct sk_cli_opts sk_cli_opts_serve = {":p:b:46uqvh", common_opts,
                                              sizeof(common_opts) / sizeof(common_opts[0])};
