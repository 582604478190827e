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
    sk_cli_opts_echo_client, sk_cli_opts_chat, sk_cli_opts_p2p, sk_cli_opts_ping, sk_cli_opts_bench;

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

/* Write s as a JSON string literal (with quotes). (json.c) */
void sk_cli_json_str(FILE *f, const char *s);

/* Before an element of a JSON array on stdout: ",\n " unless *first, which
 * it then clears. */
void sk_cli_json_sep(int *first);

/* A failed operand as an array element on stdout, after sk_cli_json_sep():
 * {"KEY": IN, "error": WHY}. */
void sk_cli_json_error(const char *key, const char *in, const char *why, int *first);

/* The plural ending for a count: "1 byte", "2 bytes". */
#define SK_CLI_S(n) ((n) == 1 ? "" : "s")

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

#endif
