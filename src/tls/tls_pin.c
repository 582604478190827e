/*
 * tls_pin.c - the pure parts of TLS: the certificate pin string
 * ("sha256:AB:12:..." or "sha256:ab12...") parsed and formatted, and the
 * check of a name a certificate may carry. No OpenSSL, no I/O, no
 * allocation: table-tested and fuzzed.
 */
#include "sockit/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -EINVAL;
}

int sk_tls_pin_parse(const char *s, uint8_t out[SK_TLS_SHA256_LEN], const char **why)
{
    static const char prefix[] = "sha256:";
    if (strncasecmp(s, prefix, sizeof(prefix) - 1) != 0)
        return fail(why, "a pin starts with 'sha256:'");
    s += sizeof(prefix) - 1;
    size_t len = strlen(s);
    int colons;
    if (len == SK_TLS_SHA256_LEN * 2)
        colons = 0;
    else if (len == SK_TLS_SHA256_LEN * 3 - 1)
        colons = 1;
    else
        return fail(why, "a SHA-256 pin is 64 hex digits (pairs may be separated by ':')");
    for (size_t i = 0; i < SK_TLS_SHA256_LEN; i++) {
        const char *p = s + i * (colons ? 3 : 2);
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0)
            return fail(why, "a pin holds hex digits only");
        if (colons && i + 1 < SK_TLS_SHA256_LEN && p[2] != ':')
            return fail(why, "pairs of hex digits in a pin are separated by ':'");
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int sk_tls_pin_format(const uint8_t d[SK_TLS_SHA256_LEN], char *buf, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (n < SK_TLS_FP_STRLEN)
        return -ENOSPC;
    memcpy(buf, "sha256:", 7);
    char *p = buf + 7;
    for (size_t i = 0; i < SK_TLS_SHA256_LEN; i++) {
        if (i)
            *p++ = ':';
        *p++ = hex[d[i] >> 4];
        *p++ = hex[d[i] & 15];
    }
    *p = '\0';
    return (int)(p - buf);
}

int sk_tls_name_check(const char *name)
{
    unsigned char ip[16];
    if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1)
        return 0;
    size_t len = strlen(name);
    if (len == 0 || len > 253)
        return -EINVAL;
    const char *p = name;
    if (p[0] == '*' && p[1] == '.')
        p += 2;
    /* Labels of 1..63 letters, digits and '-', not starting or ending with
     * '-'; the last one not all digits. */
    size_t label = 0, digits = 0;
    for (;; p++) {
        char c = *p;
        if (c == '.' || c == '\0') {
            if (label == 0 || p[-1] == '-')
                return -EINVAL;
            if (c == '\0') /* an all-numeric last label is a mistyped address */
                return digits == label ? -EINVAL : 0;
            label = digits = 0;
            continue;
        }
        digits += c >= '0' && c <= '9';
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (c == '-' && label > 0);
        if (!ok || ++label > 63)
            return -EINVAL;
    }
}
