/* cmd_bench.c - placeholder until these commands land (not yet built). */
#include "cli.h"

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    return sk_cli_fail(argv[0], "not built yet");
}

