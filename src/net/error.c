/*
 * error.c - negative errno and resolver errors, and their messages.
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

int sk_is_gai_error(int err) { return err <= SK_EGAI_BASE && err > SK_EGAI_BASE - 1000; }

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
    /* strerror_r (GNU) may return a static string or fill buf. */
    return strerror_r(-err, buf, sizeof(buf));
}
