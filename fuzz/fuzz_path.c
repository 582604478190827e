/* fuzz_path.c - sk_http_path() must never produce a path that climbs out of
 * the root: no leading '/', no ".." segment, no NUL inside, no dot-file
 * segment unless allowed, and it must stay within its output buffer. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[512];
    int dir;
    for (int dot = 0; dot < 2; dot++) {
        int r = sk_http_path((const char *)data, size, dot ? SK_HTTP_PATH_DOTFILES : 0, out,
                             sizeof(out), &dir);
        check(out, r, dot);
    }
    char tiny[4];
    int r = sk_http_path((const char *)data, size, 0, tiny, sizeof(tiny), &dir);
    check(tiny, r, 0);
    return 0;
}
