/* fuzz_tls_pin.c - the pin string parser (sockit connect --pin) and the
 * certificate name check must accept or reject anything without reading past
 * the input; what the parser accepts formats to the canonical
 * "sha256:AB:12:..." form, which parses back to the same digest and formats
 * to the same text (parse -> format -> parse round trip). */
#include "sockit/tls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    uint8_t d[SK_TLS_SHA256_LEN], d2[SK_TLS_SHA256_LEN];
    const char *why = NULL;
    if (sk_tls_pin_parse(s, d, &why) == 0) {
        char f[SK_TLS_FP_STRLEN], f2[SK_TLS_FP_STRLEN];
        if (sk_tls_pin_format(d, f, sizeof(f)) != SK_TLS_FP_STRLEN - 1)
            abort();
        if (sk_tls_pin_parse(f, d2, NULL) != 0 || memcmp(d, d2, sizeof(d)) != 0)
            abort();
        if (sk_tls_pin_format(d2, f2, sizeof(f2)) < 0 || strcmp(f, f2) != 0)
            abort();
        /* The input differs from the canonical text only in case and colons. */
        if (strncasecmp(s, "sha256:", 7) != 0)
            abort();
    } else if (!why) {
        abort();
    }
    sk_tls_name_check(s);
    free(s);
    return 0;
}
