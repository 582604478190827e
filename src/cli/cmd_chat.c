/* cmd_chat.c - placeholder until these commands land (not yet built). */
#include "cli.h"

int cmd_chat(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

int cmd_p2p(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

