/*
 * cli.h - what the command files share: exit codes, the one-line error
 * convention, and the entry point of every command.
 *
 * Every command is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * command's name; it returns the process exit status.
 */
#ifndef SOCKIT_CLI_H
#define SOCKIT_CLI_H

#include <getopt.h>
#include <stdio.h>

enum {
    SK_EXIT_OK = 0,
    SK_EXIT_FAIL = 1,  /* the command ran and failed (a lookup, a bind, ...) */
    SK_EXIT_USAGE = 2, /* bad arguments */
};

/* "sockit: CMD: REASON" and "Try 'sockit CMD --help'." on stderr; returns
 * SK_EXIT_USAGE. */
int sk_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "sockit: CMD: REASON" on stderr; returns SK_EXIT_FAIL. */
int sk_cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one line for an option getopt_long() refused (c is '?' or, with an
 * optstring starting with ':', ':' for a missing value; opterr must be 0).
 * Returns SK_EXIT_USAGE. */
int sk_cli_bad_option(const char *cmd, int c, char **argv);

/* A command's options: the getopt optstring and the getopt_long table that
 * its parser uses, shared with the shell completion (completion.c) so both
 * come from one place. n: the table's length, or 0 when a zero entry ends it. */
struct sk_cli_opts {
    const char *shorts;
    const struct option *longs;
    size_t n;
};

extern const struct sk_cli_opts sk_cli_opts_hostname, sk_cli_opts_resolve, sk_cli_opts_reverse,
    sk_cli_opts_addrinfo, sk_cli_opts_ip, sk_cli_opts_service, sk_cli_opts_byteorder,
    sk_cli_opts_sockopt, sk_cli_opts_ifaces, sk_cli_opts_serve, sk_cli_opts_connect,
    sk_cli_opts_echo_client, sk_cli_opts_chat, sk_cli_opts_p2p, sk_cli_opts_ping, sk_cli_opts_bench,
    sk_cli_opts_cert, sk_cli_opts_listen;

/* One command of `sockit`: what `sockit --help` lists, what runs it, and
 * its options (NULL: only --help). */
struct sk_cli_cmd {
    const char *name;
    const char *group;
    const char *args;
    const char *summary;
    int (*fn)(int argc, char **argv);
    const struct sk_cli_opts *opts;
};

/* `sockit completion bash|zsh` over the command table. (completion.c) */
int sk_cli_completion(int argc, char **argv, const struct sk_cli_cmd *cmds, size_t n);

/* Before an element of a JSON array on stdout: ",\n " unless *first, which
 * it then clears. */
void sk_cli_json_sep(int *first);

/* A failed operand as an array element on stdout, after sk_cli_json_sep():
 * {"KEY": IN, "error": WHY}. */
void sk_cli_json_error(const char *key, const char *in, const char *why, int *first);

/* The plural ending for a count: "1 byte", "2 bytes". */
#define SK_CLI_S(n) ((n) == 1 ? "" : "s")

/* ---- the TLS client options (cmd_tls.c) ---- */

struct sk_tls_ctx;
struct sk_tls;

/* Option codes for getopt_long tables; SK_CLI_TLS_OPTIONS is the table part
 * and SK_CLI_TLS_HELP the lines for --help. */
enum {
    SK_CLI_TLS_ON = 0x1000,
    SK_CLI_TLS_CA,
    SK_CLI_TLS_PIN,
    SK_CLI_TLS_INSECURE,
    SK_CLI_TLS_SNI,
    SK_CLI_TLS_CERT,
    SK_CLI_TLS_KEY,
};
// clang-format off
#define SK_CLI_TLS_OPTIONS                                                                         \
    {"tls", no_argument, NULL, SK_CLI_TLS_ON},                                                     \
    {"ca", required_argument, NULL, SK_CLI_TLS_CA},                                                \
    {"pin", required_argument, NULL, SK_CLI_TLS_PIN},                                              \
    {"insecure", no_argument, NULL, SK_CLI_TLS_INSECURE},                                          \
    {"sni", required_argument, NULL, SK_CLI_TLS_SNI},                                              \
    {"tls-cert", required_argument, NULL, SK_CLI_TLS_CERT},                                        \
    {"tls-key", required_argument, NULL, SK_CLI_TLS_KEY}
#define SK_CLI_TLS_HELP                                                                            \
    "  --tls              TLS (1.2 or 1.3); the server's certificate is verified\n"                \
    "                     against the system's CAs and the host name (or --sni)\n"                 \
    "  --ca FILE          trust exactly the CA certificates in FILE (PEM)\n"                       \
    "  --pin sha256:HEX   accept exactly the certificate with this fingerprint\n"                  \
    "  --insecure         no verification at all (says so on stderr)\n"                            \
    "  --sni NAME         the server's name: sent as SNI and verified\n"                           \
    "  --tls-cert FILE, --tls-key FILE  a client certificate (PEM) and its key\n"                  \
    "                     (each TLS option implies --tls)\n"
// clang-format on

struct sk_cli_tls {
    int on, insecure;
    const char *ca, *pin, *sni, *cert, *key;
};

/* Take option c (with its argument) when it is a TLS option: returns 1, else 0. */
int sk_cli_tls_opt(struct sk_cli_tls *t, int c, const char *arg);

/* The options together make sense (a usage line and SK_EXIT_USAGE if not). */
int sk_cli_tls_check(const char *cmd, const struct sk_cli_tls *t);

/* Make the client context (offering alpn unless NULL) and say so when
 * --insecure; on failure one line "sockit: CMD: REASON" and SK_EXIT_FAIL
 * (else 0). The caller frees *ctx. */
int sk_cli_tls_ctx(const char *cmd, const struct sk_cli_tls *t, const char *alpn,
                   struct sk_tls_ctx **ctx);

/* Make the context, say so when --insecure, and run the handshake over fd
 * within timeout_ms (< 0: no limit) for host; on failure one line
 * "sockit: CMD: TARGET: REASON" and SK_EXIT_FAIL. With verbose, the version
 * and the server's fingerprint go to stderr. The caller frees *ctx and *conn
 * (either may be NULL). */
int sk_cli_tls_start(const char *cmd, const char *target, const struct sk_cli_tls *t, int fd,
                     const char *host, int timeout_ms, int verbose, struct sk_tls_ctx **ctx,
                     struct sk_tls **conn);

/* ---- listening addresses (cmd_serve.c) ---- */

struct sk_server;

/* -b HOST (NULL or "localhost": both 127.0.0.1 and ::1, as family allows)
 * and PORT (a number or a service name) into srv's addresses, srv->socktype
 * set. Returns 0, or the exit code after a one-line error. */
int sk_cli_listen_addresses(const char *cmd, struct sk_server *srv, const char *bind_host,
                            const char *port, int family);

/* ---- the relay options connect and listen share (cmd_listen.c) ---- */

struct sk_relay_opts;

enum {
    SK_CLI_RELAY_HEX = 0x1100,
    SK_CLI_RELAY_SRC_PORT,
    SK_CLI_RELAY_SEND_ONLY,
    SK_CLI_RELAY_RECV_ONLY,
    SK_CLI_RELAY_NO_SHUTDOWN,
    SK_CLI_RELAY_QUIT_AFTER,
    SK_CLI_RELAY_INTERVAL,
};
/* Their short forms: -C, -s ADDR, -N, -o FILE (add "Cs:No:" to getopt's). */
// clang-format off
#define SK_CLI_RELAY_OPTIONS                                                                       \
    {"hex", no_argument, NULL, SK_CLI_RELAY_HEX},                                                  \
    {"output", required_argument, NULL, 'o'},                                                      \
    {"crlf", no_argument, NULL, 'C'},                                                              \
    {"send-only", no_argument, NULL, SK_CLI_RELAY_SEND_ONLY},                                      \
    {"recv-only", no_argument, NULL, SK_CLI_RELAY_RECV_ONLY},                                      \
    {"shutdown", no_argument, NULL, 'N'},                                                          \
    {"no-shutdown", no_argument, NULL, SK_CLI_RELAY_NO_SHUTDOWN},                                  \
    {"quit-after", required_argument, NULL, SK_CLI_RELAY_QUIT_AFTER},                              \
    {"interval", required_argument, NULL, SK_CLI_RELAY_INTERVAL}
/* connect only: where the connection starts from (listen is bound by -b/-p). */
#define SK_CLI_SOURCE_OPTIONS                                                                      \
    {"source", required_argument, NULL, 's'},                                                      \
    {"source-port", required_argument, NULL, SK_CLI_RELAY_SRC_PORT}
#define SK_CLI_RELAY_HELP                                                                          \
    "  --hex              hex dump of both directions on stderr ('>' sent, '<' received)\n"        \
    "  -o, --output FILE  the hex dump to FILE instead (implies --hex)\n"                          \
    "  -C, --crlf         send each line end of standard input as CRLF\n"                          \
    "  --send-only        only send: what arrives is dropped; end once input is sent\n"           \
    "  --recv-only        only receive: standard input is not read, nothing is sent\n"            \
    "  -N, --shutdown     half-close the socket when standard input ends (default)\n"              \
    "  --no-shutdown      keep the sending side open at input's end; wait for the peer\n"     \
    "  --quit-after SECS  end SECS after standard input ended (nc -q)\n"                       \
    "  --interval SECS    send standard input a line at a time, SECS apart (nc -i)\n"
// clang-format on

struct sk_cli_relay {
    int hex, crlf, send_only, recv_only, no_shutdown, dump_fd, quit_after_ms, interval_ms;
    const char *out_file, *src, *src_port;
    struct sk_hexdump *hd;
};

/* Take option c when it is a relay option: returns 1, else 0. -s and
 * --source-port are taken only when with_source. */
int sk_cli_relay_opt(struct sk_cli_relay *r, int c, const char *arg, int with_source);

/* Check the options (a usage line and SK_EXIT_USAGE), open -o, and set the
 * relay's fields; returns 0 or an exit code. sk_cli_relay_end() releases. */
int sk_cli_relay_start(const char *cmd, struct sk_cli_relay *r, struct sk_relay_opts *ro);
void sk_cli_relay_end(struct sk_cli_relay *r);

/* `connect -z HOST PORT[-PORT]...` (cmd_scan.c): args[0] the host, the rest
 * ports and ranges; wait_ms <= 0: 3 s per port. Exit 0 when one accepted. */
int sk_cli_scan(const char *cmd, char **args, int nargs, int family, int wait_ms, int verbose,
                int json, int nc_style);

/* nc_style: nothing on stdout; with verbose netcat-openbsd's lines on stderr. */

#define SK_VERSION "0.1.0"

/* Commands (one file per group under src/cli/). */
int cmd_hostname(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_reverse(int argc, char **argv);
int cmd_addrinfo(int argc, char **argv);
int cmd_ip(int argc, char **argv);
int cmd_service(int argc, char **argv);
int cmd_byteorder(int argc, char **argv);
int cmd_sockopt(int argc, char **argv);
int cmd_ifaces(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_echo_client(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_p2p(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* `sockit bench chat` (cmd_bench_chat.c), argv[0] "chat". */
int sk_cli_bench_chat(const char *cmd, int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_nc(int argc, char **argv);

#endif
