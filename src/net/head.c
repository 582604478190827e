/*
 * head.c - resumable line scanning and header-field splitting shared by the
 * HTTP request parser (service) and the HTTP response parser (bench).
 */
#include "net/head.h"

#include <string.h>

const unsigned char sk__tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

int sk__head_line(struct sk__head_scan *s, const char *p, size_t n, size_t *b, size_t *e)
{
    size_t from = s->line + s->scanned;
    const char *nl = from < n ? memchr(p + from, '\n', n - from) : NULL;
    if (!nl) {
        s->scanned = n > s->line ? n - s->line : 0;
        return 0;
    }
    size_t at = (size_t)(nl - p);
    *b = s->line;
    *e = (at > s->line && p[at - 1] == '\r') ? at - 1 : at;
    s->line = at + 1;
    s->scanned = 0;
    return 1;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

int sk__head_ieq(const char *p, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || lower((unsigned char)p[i]) != s[i])
            return 0;
    return s[n] == '\0';
}

int sk__head_field(const char *p, size_t n, struct sk__head_field *f)
{
    size_t i = 0;
    while (i < n && sk__tchar[(unsigned char)p[i]])
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return -1;
    f->name = p;
    f->name_n = i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    f->value = p + i;
    f->value_n = n - i;
    return 0;
}

int sk__head_list_next(const char *v, size_t n, size_t *i, const char **tok, size_t *tok_n)
{
    while (*i < n) {
        while (*i < n && (v[*i] == ' ' || v[*i] == '\t' || v[*i] == ','))
            (*i)++;
        size_t s = *i;
        while (*i < n && v[*i] != ',')
            (*i)++;
        size_t e = *i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s) {
            *tok = v + s;
            *tok_n = e - s;
            return 1;
        }
    }
    return 0;
}
