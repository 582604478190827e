/* fuzz_chat.c - the chat line functions must take any bytes: the sanitiser
 * never writes past its output, never emits invalid UTF-8 or a control
 * character, and is idempotent; the parser's pointers stay inside the line. */
#include "sockit/chat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Is s[0..n) valid UTF-8 with no C0/C1 control and no ESC? */
static int clean_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        size_t len = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (b < 0x20 || b == 0x7f || (b >= 0x80 && b < 0xc2) || b > 0xf4 || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if (b == 0xc2 && s[i + 1] < 0xa0)
            return 0; /* a C1 control */
        i += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t cap = 3 * size + 1;
    char *out = malloc(cap), *again = malloc(cap);
    if (!out || !again)
        goto done;
    size_t n = sk_chat_sanitize(in, size, out, cap);
    if (n > cap || !clean_utf8((const unsigned char *)out, n))
        abort();
    size_t m = sk_chat_sanitize(out, n, again, cap);
    if (m != n || memcmp(out, again, n) != 0)
        abort();
    /* a small output buffer: bounded, whole characters only */
    size_t small = sk_chat_sanitize(in, size, again, size / 2);
    if (small > size / 2 || !clean_utf8((const unsigned char *)again, small))
        abort();

    struct sk_chat_cmd c;
    sk_chat_parse(in, size, &c);
    if (c.arg < in || c.arg + c.arg_len > in + size)
        abort();
    if (c.target && (c.target < in || c.target + c.target_len > in + size))
        abort();
    const char *why;
    if (sk_chat_nick_check(in, size, &why) == 0 && (size == 0 || size > SK_CHAT_NICK_MAX))
        abort();
done:
    free(out);
    free(again);
    return 0;
}
