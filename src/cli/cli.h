/*
 * cli.h - what the command files share: exit codes, the one-line error
 * convention, and the entry point of every command.
 *
 * Every command is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * command's name; it returns the process exit status.
 */
#ifndef SOCKIT_CLI_H
#define SOCKIT_CLI_H

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

/* Before an element of a JSON array on stdout: ",\n " unless *first, which
 * it then clears. */
void sk_cli_json_sep(int *first);

/* A failed operand as an array element on stdout, after sk_cli_json_sep():
 * {"KEY": IN, "error": WHY}. */
void sk_cli_json_error(const char *key, const char *in, const char *why, int *first);

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
