/*
 * cmd_chat.c - `sockit chat HOST PORT --nick NAME` and `sockit p2p`:
 * argument parsing and exit codes; the clients are in src/client/.
 */
#include "cli.h"

#include "client/chat_client.h"
#include "sockit/addr.h"
#include "sockit/chat.h"
#include "sockit/error.h"
#include "sockit/tls.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

enum { EXIT_SIGNAL = 130 };

static void chat_help(void)
{
    printf("Usage: sockit chat HOST PORT [--nick NAME] [--timestamps] [--tls ...]\n"
           "A chat room client for people (for `sockit serve chat` or any line-based chat).\n"
           "Incoming text is printed above your prompt line; the server's notices (***)\n"
           "are set apart; control and escape sequences others send are removed.\n\n"
           "Options:\n"
           "  -n, --nick NAME     your nickname (else the server asks for one)\n"
           "  -T, --timestamps    prefix each line with the time [HH:MM:SS] (-t: old spelling)\n"
           "  -4, -6              IPv4 or IPv6 only\n"
           "  -h, --help          this text\n" SK_CLI_TLS_HELP "\n"
           "Type /help for the room's commands; /quit or Ctrl-D leaves (exit 0).\n"
           "The prompt names your room outside #lobby (nick #room> ); Tab after /join\n"
           "completes the rooms heard of (from /list and join notices).\n"
           "Exit status: 0 left, 1 could not connect (or TLS verification failed: nothing\n"
           "was sent) or the server closed the connection, 2 bad arguments, 130 interrupted.\n");
}

static void p2p_help(void)
{
    printf("Usage: sockit p2p --listen PORT [-b ADDR] [--timestamps] [--tls [--tls-cert F\n"
           "                                                           --tls-key F]]\n"
           "       sockit p2p HOST PORT [--timestamps] [--tls ...]\n"
           "Two-party chat: one side waits for a peer, the other connects; both may\n"
           "type at any time. The first side prints where it listens (PORT 0: any free\n"
           "port). /quit or Ctrl-D ends the session on both sides.\n\n"
           "Options:\n"
           "  -l, --listen PORT   wait for one peer on PORT\n"
           "  -b, --bind ADDR     with --listen: the address to listen on (default localhost)\n"
           "  -T, --timestamps    prefix each line with the time [HH:MM:SS] (-t: old spelling)\n"
           "  -4, -6              IPv4 or IPv6 only\n"
           "  -h, --help          this text\n"
           "TLS, listening side:\n"
           "  --tls               the peer connects with TLS; without --tls-cert an ephemeral\n"
           "                      certificate is made, its fingerprint shown for the peer's --pin\n"
           "  --tls-cert FILE, --tls-key FILE  the certificate (PEM, may hold a chain) and key\n"
           "TLS, connecting side (as `sockit connect --tls`):\n" SK_CLI_TLS_HELP "\n"
           "Exit status: 0 the session ended (either side left), 1 an error (could not\n"
           "listen or connect, the connection was lost), 2 bad arguments, 130 interrupted.\n");
}

static int check_port(const char *cmd, const char *port)
{
    uint16_t p;
    const char *why;
    if (sk_port_parse(port, &p, &why) < 0)
        return sk_cli_usage(cmd, "port '%s': %s", port, why);
    return 0;
}

static const struct option chat_longs[] = {
    {"nick", required_argument, NULL, 'n'},
    {"timestamps", no_argument, NULL, 'T'},
    {"help", no_argument, NULL, 'h'},
    SK_CLI_TLS_OPTIONS,
    {0},
};
const struct sk_cli_opts sk_cli_opts_chat = {":n:Tt46h", chat_longs, 0};

int cmd_chat(int argc, char **argv)
{
    struct sk_chat_client_opts o = {.family = AF_UNSPEC};
    struct sk_cli_tls tlo = {0};
    const char *cmd = "chat", *why;
    char tls_why[512] = "";
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_chat.shorts, sk_cli_opts_chat.longs, NULL)) !=
           -1) {
        if (sk_cli_tls_opt(&tlo, c, optarg))
            continue;
        switch (c) {
        case 'n':
            if (sk_chat_nick_check(optarg, strlen(optarg), &why) < 0)
                return sk_cli_usage(cmd, "--nick '%s': %s", optarg, why);
            o.nick = optarg;
            break;
        case 'T':
        case 't': /* the old spelling */ o.timestamps = 1; break;
        case '4': o.family = AF_INET; break;
        case '6': o.family = AF_INET6; break;
        case 'h': chat_help(); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (argc - optind != 2)
        return sk_cli_usage(
            cmd, argc - optind < 2 ? "HOST and PORT are needed" : "unexpected argument '%s'",
            argv[optind + 2 < argc ? optind + 2 : 0]);
    o.host = argv[optind];
    o.port = argv[optind + 1]; /* a number or a service name */
    if (sk_cli_tls_check(cmd, &tlo))
        return SK_EXIT_USAGE;
    if (tlo.on && sk_cli_tls_ctx(cmd, &tlo, NULL, &o.tls.ctx))
        return SK_EXIT_FAIL;
    o.tls.sni = tlo.sni;
    o.tls.why = tls_why;
    o.tls.whylen = sizeof(tls_why);
    int r = sk_chat_client_run(&o);
    sk_tls_ctx_free(o.tls.ctx);
    fflush(stdout);
    if (tls_why[0] && r < 0 && r != -EINTR)
        return sk_cli_fail(cmd, "%s port %s: %s", o.host, o.port, tls_why);
    if (r == 0)
        return SK_EXIT_OK;
    if (r == -EINTR)
        return EXIT_SIGNAL;
    if (r == -EADDRINUSE)
        return sk_cli_fail(cmd,
                           "the nickname %s is taken (or not allowed) in %s port %s; choose "
                           "another with --nick",
                           o.nick, o.host, o.port);
    if (r == -ECONNABORTED)
        return sk_cli_fail(cmd, "%s port %s: the server closed the connection", o.host, o.port);
    if (r == -ECONNRESET || r == -EPIPE)
        return sk_cli_fail(cmd, "%s port %s: the server closed the connection (%s)", o.host, o.port,
                           sk_strerror(r));
    return sk_cli_fail(cmd, "%s port %s: %s", o.host, o.port, sk_strerror(r));
}

static int listened; /* the listening line was printed */

static void print_listening(const struct sk_addr *a, unsigned n, const char *fp)
{
    char s[SK_ADDR_STRLEN];
    listened = 1;
    printf("sockit: p2p listening on");
    for (unsigned i = 0; i < n; i++) {
        sk_addr_format(&a[i], s, sizeof(s));
        printf("%s %s", i ? " and" : "", s);
    }
    if (fp)
        printf(" (tls) %s", fp);
    printf(", waiting for a peer\n");
    fflush(stdout);
}

static const struct option p2p_longs[] = {
    {"listen", required_argument, NULL, 'l'},
    {"bind", required_argument, NULL, 'b'},
    {"timestamps", no_argument, NULL, 'T'},
    {"help", no_argument, NULL, 'h'},
    SK_CLI_TLS_OPTIONS,
    {0},
};
const struct sk_cli_opts sk_cli_opts_p2p = {":l:b:Tt46h", p2p_longs, 0};

int cmd_p2p(int argc, char **argv)
{
    struct sk_p2p_opts o = {.family = AF_UNSPEC, .listening = print_listening};
    struct sk_cli_tls tlo = {0};
    struct sk_tls_server_opts so = {0};
    const char *cmd = "p2p", *bind_host = NULL;
    char tls_why[512] = "";
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_p2p.shorts, sk_cli_opts_p2p.longs, NULL)) !=
           -1) {
        if (sk_cli_tls_opt(&tlo, c, optarg))
            continue;
        switch (c) {
        case 'l':
            o.listen = 1;
            o.port = optarg;
            break;
        case 'b': bind_host = optarg; break;
        case 'T':
        case 't': /* the old spelling */ o.timestamps = 1; break;
        case '4': o.family = AF_INET; break;
        case '6': o.family = AF_INET6; break;
        case 'h': p2p_help(); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    int rest = argc - optind;
    if (o.listen) {
        if (rest > 0)
            return sk_cli_usage(cmd, "unexpected argument '%s' (--listen takes only a port)",
                                argv[optind]);
        o.host = bind_host;
    } else {
        if (bind_host)
            return sk_cli_usage(cmd, "--bind goes with --listen");
        if (rest != 2)
            return sk_cli_usage(cmd, "give --listen PORT, or HOST PORT to connect");
        o.host = argv[optind];
        o.port = argv[optind + 1];
    }
    if (o.listen && check_port(cmd, o.port))
        return SK_EXIT_USAGE;
    if (o.listen && (tlo.ca || tlo.pin || tlo.insecure || tlo.sni))
        return sk_cli_usage(cmd, "--ca, --pin, --insecure and --sni are for the connecting side "
                                 "(the listening side takes --tls, --tls-cert, --tls-key)");
    if (sk_cli_tls_check(cmd, &tlo))
        return SK_EXIT_USAGE;
    if (tlo.on && o.listen) {
        so.cert_file = tlo.cert;
        so.key_file = tlo.key;
        o.tls_server = &so;
    } else if (tlo.on && sk_cli_tls_ctx(cmd, &tlo, NULL, &o.tls.ctx)) {
        return SK_EXIT_FAIL;
    }
    o.tls.sni = tlo.sni;
    o.tls.why = tls_why;
    o.tls.whylen = sizeof(tls_why);
    int r = sk_p2p_run(&o);
    sk_tls_ctx_free(o.tls.ctx);
    fflush(stdout);
    if (r == 0)
        return SK_EXIT_OK;
    if (r == -EINTR)
        return EXIT_SIGNAL;
    const char *reason = tls_why[0] ? tls_why : sk_strerror(r);
    if (o.listen && tls_why[0])
        return sk_cli_fail(cmd, listened ? "the peer's TLS handshake: %s" : "--tls: %s", reason);
    if (o.listen)
        return sk_cli_fail(cmd, "listening on %s port %s: %s", o.host ? o.host : "localhost",
                           o.port, reason);
    return sk_cli_fail(cmd, "%s port %s: %s", o.host, o.port, reason);
}
