/* cmd_tools.c - placeholder until these commands land (not yet built). */
#include "cli.h"

int cmd_hostname(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_resolve(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_reverse(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_addrinfo(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_ip(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_service(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_byteorder(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_sockopt(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_ifaces(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

