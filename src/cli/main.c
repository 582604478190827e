/*
 * main.c - `sockit COMMAND ...`: dispatch to a command, --help, --version.
 */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int cmd_completion(int argc, char **argv);

static const struct sk_cli_cmd commands[] = {
    {"hostname", "Names and addresses", "", "this host's name, FQDN and addresses", cmd_hostname,
     &sk_cli_opts_hostname},
    {"resolve", "Names and addresses", "NAME...", "A and AAAA records of names", cmd_resolve,
     &sk_cli_opts_resolve},
    {"reverse", "Names and addresses", "ADDR...", "names of addresses", cmd_reverse,
     &sk_cli_opts_reverse},
    {"addrinfo", "Names and addresses", "HOST [SERVICE]", "every getaddrinfo() result",
     cmd_addrinfo, &sk_cli_opts_addrinfo},
    {"ip", "Names and addresses", "ADDR...", "an address in every notation", cmd_ip,
     &sk_cli_opts_ip},
    {"service", "Names and addresses", "PORT|NAME[/PROTO]...", "service names and ports",
     cmd_service, &sk_cli_opts_service},
    {"byteorder", "Names and addresses", "N...", "host and network byte order", cmd_byteorder,
     &sk_cli_opts_byteorder},
    {"sockopt", "Names and addresses", "[--set NAME=VALUE]", "a fresh socket's options",
     cmd_sockopt, &sk_cli_opts_sockopt},
    {"ifaces", "Names and addresses", "", "network interfaces and their addresses", cmd_ifaces,
     &sk_cli_opts_ifaces},
    {"serve", "Servers", "SERVICE [--model M]", "run a service under a concurrency model",
     cmd_serve, &sk_cli_opts_serve},
    {"cert", "Servers", "[--name NAME]... [--out DIR]", "a self-signed TLS certificate and key",
     cmd_cert, &sk_cli_opts_cert},
    {"connect", "Clients", "HOST PORT", "netcat-style client (stdin <-> socket)", cmd_connect,
     &sk_cli_opts_connect},
    {"echo-client", "Clients", "HOST PORT", "interactive or scripted echo client", cmd_echo_client,
     &sk_cli_opts_echo_client},
    {"chat", "Clients", "HOST PORT --nick NAME", "chat client for people", cmd_chat,
     &sk_cli_opts_chat},
    {"p2p", "Clients", "--listen PORT | HOST PORT", "two-party chat, both may type", cmd_p2p,
     &sk_cli_opts_p2p},
    {"ping", "Clients", "HOST", "ICMP echo (v4 and v6)", cmd_ping, &sk_cli_opts_ping},
    {"bench", "Measuring", "echo|http|models ...", "load generator and model comparison", cmd_bench,
     &sk_cli_opts_bench},
    {"completion", "Shell", "bash|zsh", "print the shell completion script", cmd_completion, NULL},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_completion(int argc, char **argv)
{
    return sk_cli_completion(argc, argv, commands, NCOMMANDS);
}

int sk_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sockit: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sockit %s --help'.\n", cmd);
    return SK_EXIT_USAGE;
}

int sk_cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sockit: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return SK_EXIT_FAIL;
}

int sk_cli_bad_option(const char *cmd, int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : NULL;
    int is_long = arg && arg[0] == '-' && arg[1] == '-';
    int len = is_long ? (int)strcspn(arg, "=") : 0;

    if (c == ':') {
        if (is_long)
            return sk_cli_usage(cmd, "option '%.*s' needs a value", len, arg);
        return sk_cli_usage(cmd, "option '-%c' needs a value", optopt);
    }
    if (optopt && !is_long)
        return sk_cli_usage(cmd, "unknown option '-%c'", optopt);
    if (is_long)
        return sk_cli_usage(cmd, "unknown option '%.*s'", len, arg);
    return sk_cli_usage(cmd, "unknown option '%s'", arg ? arg : "?");
}

static void usage(FILE *f)
{
    const char *group = NULL;

    fprintf(f, "Usage: sockit COMMAND [OPTIONS] [ARGS]\n"
               "Socket tools, servers under every concurrency model, clients, and a bench.\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (!group || strcmp(group, commands[i].group) != 0) {
            group = commands[i].group;
            fprintf(f, "\n%s:\n", group);
        }
        char head[64];
        snprintf(head, sizeof(head), "%s %s", commands[i].name, commands[i].args);
        fprintf(f, "  %-34s %s\n", head, commands[i].summary);
    }
    fprintf(f, "\nOptions:\n"
               "  -h, --help                         this text\n"
               "  -V, --version                      print the version\n");
    fprintf(f, "\n'sockit help COMMAND' (or 'sockit COMMAND --help') tells more; man sockit has "
               "it all.\n"
               "Exit status: 0 success, 1 failure, 2 bad arguments.\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a reset peer is an error value, not a death */
    if (argc < 2) {
        fprintf(stderr, "sockit: no command given\nTry 'sockit --help'.\n");
        return SK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        (strcmp(argv[1], "help") == 0 && argc == 2))
        return usage(stdout), SK_EXIT_OK;
    if (strcmp(argv[1], "help") == 0) {
        /* `sockit help CMD`: the command's own --help. */
        if (argc > 3) {
            fprintf(stderr, "sockit: help: one command, please\nTry 'sockit --help'.\n");
            return SK_EXIT_USAGE;
        }
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (strcmp(argv[2], commands[i].name) == 0) {
                char *hargv[] = {(char *)commands[i].name, "--help", NULL};
                optind = 0;
                return commands[i].fn(2, hargv);
            }
        fprintf(stderr, "sockit: help: unknown command '%s'\nTry 'sockit --help'.\n", argv[2]);
        return SK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("sockit %s\n", SK_VERSION);
        return SK_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            optind = 0; /* full getopt reset for the command's own parsing */
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "sockit: unknown command '%s'\nTry 'sockit --help'.\n", argv[1]);
    return SK_EXIT_USAGE;
}
