/* fuzz_path.c - sk_http_path() must never produce a path that climbs out of
 * the root: no leading '/', no ".." segment, no NUL inside, no dot-file
 * segment unless allowed, and it must stay within its output buffer. The
 * mapping is idempotent: "/" + a result that needs no escaping (only
 * RFC 3986 pchars and '/') maps to that same result. */
#include "sockit/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(const char *out, int r, int dotfiles)
{
    if (r < 0)
        return;
    if ((size_t)r != strlen(out) || out[0] == '/')
        abort();
    const char *s = out;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            abort();
        if (!dotfiles && s[0] == '.')
            abort();
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                abort();
        s += len + (e ? 1 : 0);
    }
}

static void idempotent(const char *out, int r, unsigned flags)
{
    char in[520], again[512];
    int dir;
    if (r < 0)
        return;
    for (int i = 0; i < r; i++) { /* unreserved, sub-delims, ':', '@', '/' */
        unsigned char c = (unsigned char)out[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-._~!$&'()*+,;=:@/", c)))
            return;
    }
    in[0] = '/';
    memcpy(in + 1, out, (size_t)r);
    if (sk_http_path(in, (size_t)r + 1, flags, again, sizeof(again), &dir) != r ||
        memcmp(again, out, (size_t)r + 1) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[512];
    int dir;
    for (int dot = 0; dot < 2; dot++) {
        unsigned flags = dot ? SK_HTTP_PATH_DOTFILES : 0;
        int r = sk_http_path((const char *)data, size, flags, out, sizeof(out), &dir);
        check(out, r, dot);
        idempotent(out, r, flags);
    }
    char tiny[4];
    int r = sk_http_path((const char *)data, size, 0, tiny, sizeof(tiny), &dir);
    check(tiny, r, 0);
    return 0;
}
