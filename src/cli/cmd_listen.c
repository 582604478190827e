/*
 * cmd_listen.c - `sockit listen` (netcat's listen mode: the first client's
 * bytes to standard output, standard input to it; -k for the next; -u for
 * datagrams from any peer) and the relay options it shares with `connect`
 * (--hex, -o, -C, -s, --source-port, --send-only, --recv-only, -N,
 * --no-shutdown): argument parsing and the one-line errors.
 */
#include "cli.h"

#include "sockit/client.h"
#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/server.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the shared relay options ---- */

int sk_cli_relay_opt(struct sk_cli_relay *r, int c, const char *arg, int with_source)
{
    switch (c) {
    case SK_CLI_RELAY_HEX: r->hex = 1; break;
    case 'o':
        r->out_file = arg;
        r->hex = 1;
        break;
    case 'C': r->crlf = 1; break;
    case 's':
        if (!with_source)
            return 0;
        r->src = arg;
        break;
    case SK_CLI_RELAY_SRC_PORT:
        if (!with_source)
            return 0;
        r->src_port = arg;
        break;
    case SK_CLI_RELAY_SEND_ONLY: r->send_only = 1; break;
    case SK_CLI_RELAY_RECV_ONLY: r->recv_only = 1; break;
    case 'N': r->no_shutdown = 0; break;
    case SK_CLI_RELAY_NO_SHUTDOWN: r->no_shutdown = 1; break;
    case SK_CLI_RELAY_INTERVAL: {
        int64_t ms;
        if (sk_parse_duration_ms(arg, &ms) < 0 || ms < 1 || ms > 86400000LL)
            r->interval_ms = -1; /* refused in sk_cli_relay_start() */
        else
            r->interval_ms = (int)ms;
        break;
    }
    case SK_CLI_RELAY_QUIT_AFTER: {
        int64_t ms;
        if (sk_parse_duration_ms(arg, &ms) < 0 || ms < 0 || ms > 86400000LL)
            r->quit_after_ms = -1; /* refused in sk_cli_relay_start() */
        else
            r->quit_after_ms = ms ? (int)ms : 1;
        break;
    }
    default: return 0;
    }
    return 1;
}

int sk_cli_relay_start(const char *cmd, struct sk_cli_relay *r, struct sk_relay_opts *ro)
{
    uint16_t port;
    const char *why;

    r->dump_fd = -1;
    if (r->interval_ms < 0)
        return sk_cli_usage(cmd, "--interval: not a duration above 0 (e.g. 1, 0.5, 200ms)");
    if (r->quit_after_ms < 0)
        return sk_cli_usage(cmd, "--quit-after: not a duration (e.g. 2, 1.5, 500ms)");
    if (r->send_only && r->recv_only)
        return sk_cli_usage(cmd, "--send-only and --recv-only exclude each other");
    if (r->src_port && (sk_port_parse(r->src_port, &port, &why) < 0 || port == 0))
        return sk_cli_usage(cmd, "--source-port %s: %s", r->src_port,
                            port == 0 ? "give a port from 1 to 65535" : why);
    if (r->hex) {
        r->dump_fd = STDERR_FILENO;
        if (r->out_file) {
            r->dump_fd = open(r->out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (r->dump_fd < 0)
                return sk_cli_fail(cmd, "-o %s: %s", r->out_file, sk_strerror(-errno));
        }
        r->hd = calloc(1, sizeof(*r->hd));
        if (!r->hd)
            return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
        r->hd->fd = r->dump_fd;
    }
    ro->crlf = r->crlf;
    ro->send_only = r->send_only;
    ro->recv_only = r->recv_only;
    ro->no_shutdown = r->no_shutdown;
    ro->tap = r->hd ? sk_hexdump_tap : NULL;
    ro->tap_arg = r->hd;
    ro->quit_after_ms = r->quit_after_ms;
    ro->interval_ms = r->interval_ms;
    return 0;
}

void sk_cli_relay_end(struct sk_cli_relay *r)
{
    if (r->dump_fd > STDERR_FILENO)
        close(r->dump_fd);
    r->dump_fd = -1;
    free(r->hd);
    r->hd = NULL;
}

/* ---- listen ---- */

static volatile sig_atomic_t stop_flag;
static struct sk_server *broker_srv; /* --broker: the server a signal stops */

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    if (broker_srv)
        sk_server_stop(broker_srv);
}

static void listen_help(void)
{
    printf(
        "Usage: sockit listen [OPTIONS] [-p] PORT\n"
        "       sockit listen [OPTIONS] --unix PATH\n"
        "Netcat's listen mode: wait for a client; what it sends goes to standard output,\n"
        "standard input goes to it. When standard input ends the sending side is shut\n"
        "down (see --no-shutdown); when the client closes, sockit exits 0 (with -k it\n"
        "waits for the next client, one at a time; input that ended stays ended).\n"
        "The first line on standard error says where it listens (-p 0: a free port).\n\n"
        "Options:\n"
        "  -p, --port PORT    the port (0: any free one); also the operand PORT\n"
        "  -b, --bind ADDR    listen on ADDR (default localhost: 127.0.0.1 and ::1)\n"
        "  -4, -6             IPv4 or IPv6 only\n"
        "  --unix PATH        listen on a Unix stream socket ('@name': abstract)\n"
        "  -k, --keep-open    after a client leaves, take the next one\n"
        "  --broker           ncat's broker: any number of clients at once, each one's\n"
        "                     bytes go to all the others (standard input and output\n"
        "                     take no part); a client that stops reading while its\n"
        "                     unsent bytes pass 256 KiB is disconnected after 2 s\n"
        "  -u, --udp          UDP: datagrams from any number of peers go to standard\n"
        "                     output; each line of standard input goes as one datagram\n"
        "                     to the peer heard from last (nothing is sent before a\n"
        "                     datagram came in). Ends on a signal or -i\n"
        "  -i, --idle SECS    end a client (UDP: the listener) silent this long\n"
        "  -t, --eof-wait SECS  after the client ends its side, input still flowing is\n"
        "                     sent on until it stalls this long (default 0.5)\n"
        "  -v, --verbose      each client's address and byte counts on stderr\n" SK_CLI_RELAY_HELP
        "  --tls              TLS: an ephemeral self-signed certificate whose\n"
        "                     fingerprint the first line shows (clients: --pin)\n"
        "  --tls-cert FILE, --tls-key FILE  the certificate (PEM chain) and key instead\n"
        "  -h, --help         this text\n\n"
        "Exit status: 0 the client closed, 1 a failure (a bind, a reset, a TLS\n"
        "handshake without -k), 2 bad arguments, 130 stopped by SIGINT or SIGTERM.\n");
}

enum { OPT_UNIX = 256, OPT_BROKER };

struct listen_cli {
    const char *cmd;
    int keep, verbose, idle_ms, eof_wait_ms, socktype;
    struct sk_tls_ctx *tctx;
};

/* One client: the TLS handshake, the relay, its report. Returns 0 or a
 * negative error (already reported). */
static int serve_client(struct listen_cli *lc, int fd, const struct sk_addr *peer,
                        struct sk_relay_opts *ro)
{
    char a[SK_ADDR_STRLEN];
    struct sk_relay_stats st;
    struct sk_tls *tls = NULL;
    int r;

    sk_addr_format(peer, a, sizeof(a));
    if (peer->len <= sizeof(sa_family_t))
        snprintf(a, sizeof(a), "a local client");
    if (lc->verbose)
        fprintf(stderr, "sockit: listen: connection from %s\n", a);
    if (lc->tctx) {
        if ((r = sk_tls_server(lc->tctx, fd, &tls)) == 0)
            r = sk_tls_handshake(tls, 10000);
        if (r < 0) {
            fprintf(stderr, "sockit: listen: %s: TLS handshake: %s\n", a,
                    tls && sk_is_tls_error(r) ? sk_tls_why(tls) : sk_strerror(r));
            sk_tls_free(tls);
            return r;
        }
    }
    ro->io = tls ? &sk_tls_relay_io : NULL;
    ro->io_arg = tls;
    r = sk_relay(fd, ro, &st);
    if (r < 0)
        fprintf(stderr, "sockit: listen: %s: %s\n", a,
                tls && sk_is_tls_error(r) ? sk_tls_why(tls) : sk_strerror(r));
    sk_tls_free(tls);
    ro->io = NULL;
    ro->io_arg = NULL;
    if (st.in_eof)
        ro->in_fd = -1; /* the next client gets no input: it ended */
    if (lc->verbose)
        fprintf(stderr,
                "sockit: listen: %s: sent %" PRIu64 " bytes, received %" PRIu64 " bytes%s\n", a,
                st.sent, st.received,
                st.peer_closed    ? ", closed by the client"
                : st.idle_timeout ? ", idle timeout"
                                  : "");
    return r;
}

/* The TLS server context: the files given, or an ephemeral certificate for
 * the names a client may use. */
static int tls_setup(struct listen_cli *lc, const struct sk_cli_tls *tlo, const char *bind_host)
{
    char why[512];
    const char *names[4] = {"localhost", "127.0.0.1", "::1", bind_host};
    struct sk_tls_server_opts so = {
        .cert_file = tlo->cert,
        .key_file = tlo->key,
        .names = names,
        .nnames = bind_host ? 4 : 3,
    };
    int r = sk_tls_server_ctx(&so, &lc->tctx, why, sizeof(why));
    if (r < 0)
        return sk_cli_fail(lc->cmd, "TLS: %s", why);
    return 0;
}

/* The first line. With --broker (srv->model set) it names the model. */
static void listening_line(const struct sk_server *srv, const struct listen_cli *lc)
{
    char a[SK_ADDR_STRLEN], fp[128];

    sk_addr_format(&srv->addr, a, sizeof(a));
    fprintf(stderr, "sockit: listen: listening on %s", a);
    for (unsigned i = 0; i < srv->nmore; i++) {
        sk_addr_format(&srv->more[i], a, sizeof(a));
        fprintf(stderr, " and %s", a);
    }
    fprintf(stderr, " (%s",
            lc->socktype == SOCK_DGRAM              ? "udp"
            : sk_addr_family(&srv->addr) == AF_UNIX ? (lc->tctx ? "unix, tls" : "unix")
            : lc->tctx                              ? "tcp, tls"
                                                    : "tcp");
    if (srv->model)
        fprintf(stderr, ", broker, model %s", srv->model->name);
    fprintf(stderr, ")");
    if (lc->tctx && sk_tls_ctx_fingerprint(lc->tctx, fp, sizeof(fp)) > 0)
        fprintf(stderr, ": certificate %s", fp);
    fprintf(stderr, "\n");
}

/* --broker: the broker service (a hub) under the event core, until a
 * signal. The listeners are srv's, bound already. */
static int run_broker(const char *cmd, struct sk_server *srv, const struct listen_cli *lc)
{
    char err[256] = "";
    int r;

    srv->svc = sk_service_find("broker");
    if (!srv->svc || (r = srv->svc->create(&srv->svc_state)) < 0)
        return sk_cli_fail(cmd, "--broker: %s", sk_strerror(-ENOMEM));
    if ((r = sk_server_configure(srv, NULL, err, sizeof(err))) < 0 ||
        (r = sk_server_start_service(srv, err, sizeof(err))) < 0)
        return sk_cli_fail(cmd, "--broker: %s", err[0] ? err : sk_strerror(r));
    listening_line(srv, lc);
    broker_srv = srv;
    r = sk_server_run(srv);
    broker_srv = NULL;
    if (r < 0)
        return sk_cli_fail(cmd, "--broker: %s", sk_strerror(r));
    return stop_flag ? 130 : SK_EXIT_OK;
}

static const struct option listen_longs[] = {
    {"port", required_argument, NULL, 'p'},
    {"bind", required_argument, NULL, 'b'},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"keep-open", no_argument, NULL, 'k'},
    {"broker", no_argument, NULL, OPT_BROKER},
    {"udp", no_argument, NULL, 'u'},
    {"idle", required_argument, NULL, 'i'},
    {"eof-wait", required_argument, NULL, 't'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"tls", no_argument, NULL, SK_CLI_TLS_ON},
    {"tls-cert", required_argument, NULL, SK_CLI_TLS_CERT},
    {"tls-key", required_argument, NULL, SK_CLI_TLS_KEY},
    SK_CLI_RELAY_OPTIONS,
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_listen = {":p:b:kui:t:v46hCNo:", listen_longs, 0};

int cmd_listen(int argc, char **argv)
{
    struct listen_cli lc = {.cmd = "listen", .eof_wait_ms = 500, .socktype = SOCK_STREAM};
    const char *cmd = lc.cmd, *bind_host = NULL, *port = NULL, *unix_path = NULL;
    int family = AF_UNSPEC, c, rc = SK_EXIT_USAGE, r, broker = 0;
    int64_t ms;
    struct sk_cli_tls tlo = {0};
    struct sk_cli_relay rl = {.dump_fd = -1};
    struct sk_server srv;

    sk_server_init(&srv);
    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_listen.shorts, sk_cli_opts_listen.longs,
                            NULL)) != -1) {
        if (sk_cli_tls_opt(&tlo, c, optarg) || sk_cli_relay_opt(&rl, c, optarg, 0))
            continue;
        switch (c) {
        case 'p': port = optarg; break;
        case 'b': bind_host = optarg; break;
        case OPT_UNIX: unix_path = optarg; break;
        case 'k': lc.keep = 1; break;
        case OPT_BROKER: broker = 1; break;
        case 'u': lc.socktype = SOCK_DGRAM; break;
        case '4': family = AF_INET; break;
        case '6': family = AF_INET6; break;
        case 'v': lc.verbose = 1; break;
        case 'i':
        case 't':
            if (sk_parse_duration_ms(optarg, &ms) < 0 || ms < (c == 'i') || ms > 86400000LL) {
                sk_cli_usage(cmd, "-%c: '%s' is not a duration (e.g. 2, 1.5, 500ms)", c, optarg);
                goto out;
            }
            *(c == 'i' ? &lc.idle_ms : &lc.eof_wait_ms) = (int)ms;
            break;
        case 'h':
            listen_help();
            rc = SK_EXIT_OK;
            goto out;
        default: sk_cli_bad_option(cmd, c, argv); goto out;
        }
    }
    if (optind < argc && !port && !unix_path)
        port = argv[optind++];
    if (optind < argc) {
        sk_cli_usage(cmd, "unexpected operand '%s'", argv[optind]);
        goto out;
    }
    if (!port == !unix_path) {
        sk_cli_usage(cmd, unix_path ? "--unix takes no port"
                                    : "give the port to listen on (-p 0: any free port)");
        goto out;
    }
    if (unix_path && (bind_host || lc.socktype == SOCK_DGRAM)) {
        sk_cli_usage(cmd, "--unix goes without -b and -u");
        goto out;
    }
    if (tlo.on && lc.socktype == SOCK_DGRAM) {
        sk_cli_usage(cmd, "--tls is for streams (no DTLS): drop -u");
        goto out;
    }
    if (!tlo.cert != !tlo.key) {
        sk_cli_usage(cmd, "--tls-cert and --tls-key go together");
        goto out;
    }
    if (broker && (tlo.on || lc.socktype == SOCK_DGRAM || rl.hex || rl.out_file || rl.crlf ||
                   rl.send_only || rl.recv_only || lc.idle_ms)) {
        sk_cli_usage(cmd, "--broker relays between clients: -u, --tls, -i and the options of "
                          "standard input and output (--hex, -o, -C, --send-only, --recv-only) "
                          "do not apply");
        goto out;
    }
    struct sk_relay_opts ro = {
        .in_fd = STDIN_FILENO,
        .out_fd = STDOUT_FILENO,
        .socktype = lc.socktype,
        .idle_timeout_ms = lc.idle_ms,
        .eof_wait_ms = lc.eof_wait_ms,
        .stop = &stop_flag,
    };
    if ((rc = sk_cli_relay_start(cmd, &rl, &ro)) != 0)
        goto out;
    rc = SK_EXIT_FAIL;
    srv.socktype = lc.socktype;
    if (unix_path) {
        const char *why;
        if (sk_addr_unix(unix_path, &srv.addr, &why) < 0) {
            rc = sk_cli_usage(cmd, "--unix %s: %s", unix_path, why);
            goto out;
        }
    } else if ((rc = sk_cli_listen_addresses(cmd, &srv, bind_host, port, family)) != 0) {
        goto out;
    }
    rc = SK_EXIT_FAIL;
    if ((r = sk_server_bind(&srv)) < 0) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(&srv.addr, a, sizeof(a));
        sk_cli_fail(cmd, "could not listen on %s: %s", a, sk_strerror(r));
        goto out;
    }
    if (tlo.on && tls_setup(&lc, &tlo, bind_host))
        goto out;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (broker) {
        rc = run_broker(cmd, &srv, &lc);
        goto out;
    }
    listening_line(&srv, &lc);

    if (lc.socktype == SOCK_DGRAM) {
        struct sk_relay_stats st;
        struct sk_addr last;
        r = sk_listen_udp(srv.lfds, srv.nlfd, &ro, &st, &last);
        if (lc.verbose)
            fprintf(stderr,
                    "sockit: listen: %" PRIu64 " datagrams received (%" PRIu64 " bytes), %" PRIu64
                    " sent (%" PRIu64 " bytes)\n",
                    st.dgrams_received, st.received, st.dgrams_sent, st.sent);
        if (r < 0) {
            sk_cli_fail(cmd, "%s", sk_strerror(r));
            goto out;
        }
        rc = stop_flag ? 130 : SK_EXIT_OK;
        goto out;
    }
    for (;;) {
        struct sk_addr peer;
        int fd = sk_listen_accept(srv.lfds, srv.nlfd, 0, &stop_flag, &peer);
        if (fd == -ECANCELED) {
            rc = 130;
            break;
        }
        if (fd < 0) {
            sk_cli_fail(cmd, "accept: %s", sk_strerror(fd));
            break;
        }
        r = serve_client(&lc, fd, &peer, &ro);
        close(fd);
        if (stop_flag) {
            rc = 130;
            break;
        }
        if (!lc.keep) {
            rc = r < 0 ? SK_EXIT_FAIL : SK_EXIT_OK;
            break;
        }
    }
out:
    sk_cli_relay_end(&rl);
    sk_tls_ctx_free(lc.tctx);
    sk_server_close(&srv);
    return rc;
}
