/*
 * hexdump.c - the hex dump of `--hex` on connect and listen: a pure line
 * formatter (offset, sixteen bytes in hex, the printable ones, the direction
 * marked) and the writer that keeps one offset per direction.
 */
#include "sockit/client.h"

#include "sockit/sock.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

size_t sk_hex_line(char *out, size_t size, int dir, uint64_t offset, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;
    char line[SK_HEX_LINE_MAX];
    size_t k;

    if (n > 16)
        n = 16;
    k = (size_t)snprintf(line, sizeof(line), "%c %08" PRIx64 " ", dir == SK_HEX_SENT ? '>' : '<',
                         offset);
    for (size_t i = 0; i < 16; i++) {
        if (i % 8 == 0)
            line[k++] = ' ';
        if (i < n) {
            line[k++] = hex[b[i] >> 4];
            line[k++] = hex[b[i] & 15];
        } else {
            line[k++] = ' ';
            line[k++] = ' ';
        }
        line[k++] = ' ';
    }
    line[k++] = ' ';
    line[k++] = '|';
    for (size_t i = 0; i < n; i++)
        line[k++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
    line[k++] = '|';
    line[k++] = '\n';
    if (size == 0)
        return k;
    size_t c = k < size ? k : size - 1;
    memcpy(out, line, c);
    out[c] = '\0';
    return k;
}

int sk_hexdump(struct sk_hexdump *h, int dir, const void *p, size_t n)
{
    const char *b = p;
    char buf[16 * SK_HEX_LINE_MAX];
    size_t k = 0;
    int r = 0;

    dir = dir == SK_HEX_SENT ? SK_HEX_SENT : SK_HEX_RECEIVED;
    while (n > 0) {
        size_t c = n < 16 ? n : 16;
        k += sk_hex_line(buf + k, sizeof(buf) - k, dir, h->off[dir], b, c);
        h->off[dir] += c;
        b += c;
        n -= c;
        if (sizeof(buf) - k < SK_HEX_LINE_MAX || n == 0) {
            if (r == 0)
                r = sk_write_all(h->fd, buf, k);
            k = 0;
        }
    }
    return r;
}
