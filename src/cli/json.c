/*
 * json.c - the --json output helpers the command files share: string
 * literals, the separator between array elements, and the element for an
 * operand that failed. Everything goes to the given stream or stdout.
 */
#include "cli.h"

#include <stdio.h>

void sk_cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

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
    sk_cli_json_str(stdout, in);
    fputs(", \"error\": ", stdout);
    sk_cli_json_str(stdout, why);
    fputs("}", stdout);
}
