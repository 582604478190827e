/*
 * error.c - negative errno, resolver and TLS errors, and their messages.
 */
#include "sockit/error.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

int sk_gai_error(int gai)
{
    if (gai == 0)
        return 0;
    if (gai == EAI_SYSTEM)
        return errno ? -errno : -EIO;
    /* glibc's EAI_* codes are negative; keep the mapping sign-agnostic. */
    int code = gai < 0 ? -gai : gai;
    return SK_EGAI_BASE - code;
}

int sk_is_gai_error(int err)
{
    return err <= SK_EGAI_BASE && err > SK_EGAI_BASE - 1000;
}

int sk_is_tls_error(int err)
{
    return err <= SK_ETLS_BASE && err > SK_ETLS_BASE - 100;
}

static const char *tls_message(int err)
{
    switch (err) {
    case SK_ETLS_SELF_SIGNED: return "certificate verification failed: self-signed certificate";
    case SK_ETLS_EXPIRED: return "certificate verification failed: certificate expired";
    case SK_ETLS_HOSTNAME: return "certificate verification failed: host name mismatch";
    case SK_ETLS_PIN: return "certificate verification failed: pin mismatch";
    case SK_ETLS_UNKNOWN_CA: return "certificate verification failed: unknown CA";
    case SK_ETLS_VERIFY: return "certificate verification failed";
    case SK_ETLS_PROTOCOL: return "TLS handshake failed";
    case SK_ETLS_CLOSED: return "connection closed during the TLS handshake";
    default: return "TLS error";
    }
}

const char *sk_strerror(int err)
{
    static _Thread_local char buf[128];

    if (err >= 0)
        return "Success";
    if (sk_is_gai_error(err)) {
        int code = SK_EGAI_BASE - err;
        /* Put back the sign glibc uses. */
        return gai_strerror(EAI_NONAME < 0 ? -code : code);
    }
    if (sk_is_tls_error(err))
        return tls_message(err);
    /* strerror_r (GNU) may return a static string or fill buf. */
    return strerror_r(-err, buf, sizeof(buf));
}
