/* cmd_client.c - placeholder until these commands land (not yet built). */
#include "cli.h"

int cmd_connect(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_echo_client(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

