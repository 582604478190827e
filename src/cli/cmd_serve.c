/*
 * cmd_serve.c - `sockit serve SERVICE [options]`: argument parsing, binding,
 * signals, the first line, and the totals at the end.
 */
#include "cli.h"

#include "sockit/addr.h"
#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/resolve.h"
#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_MODEL = 256,
    OPT_UNIX,
    OPT_LIST,
    OPT_SERVER_BASE = 500, /* + the index in sk_server_opts */
    OPT_SERVICE_BASE = 1000,
};

static const struct option common_opts[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"port", required_argument, NULL, 'p'},
    {"bind", required_argument, NULL, 'b'},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"udp", no_argument, NULL, 'u'},
    {"list", no_argument, NULL, OPT_LIST},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
};

static struct sk_server *the_server;

static void on_signal(int sig)
{
    (void)sig;
    if (the_server)
        sk_server_stop(the_server);
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
    printf("Usage: sockit serve SERVICE [OPTIONS]\n"
           "       sockit serve --list\n"
           "Run SERVICE under a concurrency model until SIGINT/SIGTERM (or a line typed on\n"
           "the terminal). The first line printed says where it listens.\n\n"
           "Options:\n");
    print_opt("--model MODEL", text);
    printf("  -p, --port PORT      port to listen on (0: any free port; default 0)\n"
           "  -b, --bind ADDR      address or name to bind (default localhost)\n"
           "  -4, -6               IPv4 or IPv6 only when resolving --bind\n"
           "  --unix PATH          listen on a Unix socket instead ('@name': abstract)\n"
           "  -u, --udp            serve datagrams (UDP) instead of a stream\n");
    print_opts(sk_server_opts);
    printf("  -q, --quiet          log only errors;  -v, --verbose: log each connection\n"
           "  --list               which models can carry which services here\n"
           "  -h, --help           this text (after SERVICE: only that service's options)\n");
    for (const struct sk_service *const *s = sk_services; *s; s++) {
        if (svc && *s != svc)
            continue;
        printf("\n%s: %s%s\n", (*s)->name, (*s)->summary,
               ((*s)->flags & SK_SVC_DGRAM) ? " (also --udp)" : "");
        print_opts((*s)->opts);
    }
}

static void list_models(void)
{
    char why[256];

    printf("%-10s %-7s %-8s %s\n", "model", "kind", "status", "services");
    for (const struct sk_model *const *m = sk_models; *m; m++) {
        const char *status = "ok";
        int type = ((*m)->caps & SK_MODEL_DGRAM) ? SOCK_DGRAM : SOCK_STREAM;
        if ((*m)->available && (*m)->available(why, sizeof(why)) < 0)
            status = "refused";
        printf("%-10s %-7s %-8s", (*m)->name, type == SOCK_DGRAM ? "udp" : "tcp", status);
        for (const struct sk_service *const *s = sk_services; *s; s++)
            if ((*s)->flags & (type == SOCK_DGRAM ? SK_SVC_DGRAM : SK_SVC_STREAM) &&
                sk_model_can_carry(*m, (*s)->flags, type, why, sizeof(why)))
                printf(" %s", (*s)->name);
        if (strcmp(status, "refused") == 0)
            printf("  (%s)", why);
        printf("\n");
    }
    const struct sk_model *d = sk_model_default(SK_SVC_STREAM, SOCK_STREAM);
    const struct sk_model *du = sk_model_default(SK_SVC_DGRAM, SOCK_DGRAM);
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

int cmd_serve(int argc, char **argv)
{
    const char *cmd = "serve";
    const char *model_name = NULL, *bind_host = "localhost", *port = "0", *unix_path = NULL;
    const struct sk_service *svc = NULL;
    struct sk_server srv;
    int family = AF_UNSPEC, quiet = 0, verbose = 0, rc = SK_EXIT_FAIL, c, r;
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
        case OPT_LIST:
            list_models();
            rc = SK_EXIT_OK;
            goto out;
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
    if (!svc) {
        rc = sk_cli_usage(cmd, optind < argc ? "the service comes right after 'serve'"
                                             : "which service? (echo, greet, chat, http, ...)");
        goto out;
    }
    if (optind < argc) {
        rc = sk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (quiet)
        sk_log_level = SK_LOG_ERROR;
    else if (verbose)
        sk_log_level = SK_LOG_DEBUG;
    int dgram = srv.socktype == SOCK_DGRAM;
    if ((r = sk_server_configure(&srv, model_name, err, sizeof(err))) < 0) {
        rc = r == -EINVAL ? sk_cli_usage(cmd, "%s", err) : sk_cli_fail(cmd, "%s", err);
        goto out;
    }

    const char *why = NULL;
    if (unix_path) {
        if (sk_addr_unix(unix_path, &srv.addr, &why) < 0) {
            rc = sk_cli_usage(cmd, "--unix %s: %s", unix_path, why);
            goto out;
        }
    } else {
        uint16_t pnum;
        if (sk_port_parse(port, &pnum, &why) < 0) {
            rc = sk_cli_usage(cmd, "-p %s: %s", port, why);
            goto out;
        }
        /* Digits and dots are meant as an IPv4 address: strict, as `sockit ip`
         * (the resolver would take inet_aton's 1.2.3 as 1.2.0.3). */
        struct in_addr ip4;
        if (bind_host[strspn(bind_host, "0123456789.")] == '\0' &&
            sk_ip4_parse(bind_host, &ip4, &why) < 0) {
            rc = sk_cli_usage(cmd, "-b %s: %s", bind_host, why);
            goto out;
        }
        if ((r = sk_resolve_one(bind_host, port, family, srv.socktype, 1, &srv.addr)) < 0) {
            rc = sk_cli_fail(cmd, "cannot bind %s port %s: %s", bind_host, port, sk_strerror(r));
            goto out;
        }
    }
    if ((r = sk_server_bind(&srv)) < 0) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(&srv.addr, a, sizeof(a));
        if (unix_path)
            rc = sk_cli_fail(cmd, "could not open socket on %s: %s", a, sk_strerror(r));
        else
            rc = sk_cli_fail(cmd, "could not open socket on %s (%s port %s): %s", a, bind_host,
                             port, sk_strerror(r));
        goto out;
    }
    if ((r = sk_server_start_service(&srv, err, sizeof(err))) < 0) {
        rc = sk_cli_fail(cmd, "%s: %s", svc->name, err[0] ? err : sk_strerror(r));
        goto out;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    the_server = &srv;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char a[SK_ADDR_STRLEN];
    sk_addr_format(&srv.addr, a, sizeof(a));
    printf("sockit: %s listening on %s (%s, model %s)\n", svc->name, a,
           unix_path ? (dgram ? "unix-dgram" : "unix") : (dgram ? "udp" : "tcp"), srv.model->name);
    fflush(stdout);

    r = sk_server_run(&srv);
    the_server = NULL;
    if (r < 0) {
        rc = sk_cli_fail(cmd, "model %s: %s", srv.model->name, sk_strerror(r));
        goto out;
    }
    printf("sockit: %s stopped: %llu %s, %llu rejected, %llu errors, "
           "%llu bytes in, %llu bytes out\n",
           svc->name, (unsigned long long)srv.st->accepted, dgram ? "datagrams" : "connections",
           (unsigned long long)srv.st->rejected, (unsigned long long)srv.st->errors,
           (unsigned long long)srv.st->bytes_in, (unsigned long long)srv.st->bytes_out);
    fflush(stdout);
    rc = SK_EXIT_OK;
out:
    free(opts);
    sk_server_close(&srv);
    return rc;
}
