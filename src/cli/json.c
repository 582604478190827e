/*
 * json.c - the --json output helpers the command files share: the
 * separator between array elements, and the element for an operand that
 * failed (string literals are sk_json_str(), sockit/util.h). Everything goes
 * to stdout.
 */
#include "cli.h"

#include "sockit/util.h"

#include <stdio.h>

void sk_cli_json_sep(int *first)
{
    if (!*first)
        fputs(",\n ", stdout);
    *first = 0;
}

void sk_cli_json_error(const char *key, const char *in, const char *why, int *first)
{
    sk_cli_json_sep(first);
    printf("{\"%s\": ", key);
    sk_json_str(stdout, in);
    fputs(", \"error\": ", stdout);
    sk_json_str(stdout, why);
    fputs("}", stdout);
}
