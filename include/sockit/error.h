/*
 * error.h - the error convention of libsockit.
 *
 * Every fallible function returns a negative value on failure: -errno for
 * system errors, or a resolver error from sk_gai_error() (a separate negative
 * range, so that getaddrinfo's EAI_* codes never collide with errno values),
 * or a TLS error (SK_ETLS*, a range of its own, from the tls layer).
 * sk_strerror() turns either kind into a message.
 */
#ifndef SOCKIT_ERROR_H
#define SOCKIT_ERROR_H

/* Resolver errors live in (SK_EGAI_BASE - 1000, SK_EGAI_BASE]. */
#define SK_EGAI_BASE (-100000)

/* Map a getaddrinfo()/getnameinfo() return code to a libsockit error.
 * EAI_SYSTEM becomes -errno (errno must still hold the cause). */
int sk_gai_error(int gai);

/* True when err came from sk_gai_error() (a resolver error). */
int sk_is_gai_error(int err);

/* TLS errors live in (SK_ETLS_BASE - 100, SK_ETLS_BASE]. The verification
 * failures are told apart because a user acts differently on each. */
#define SK_ETLS_BASE (-200000)
enum {
    SK_ETLS = SK_ETLS_BASE,                 /* a TLS failure with no finer name */
    SK_ETLS_SELF_SIGNED = SK_ETLS_BASE - 1, /* verification: a self-signed certificate */
    SK_ETLS_EXPIRED = SK_ETLS_BASE - 2,     /* verification: expired or not yet valid */
    SK_ETLS_HOSTNAME = SK_ETLS_BASE - 3,    /* verification: host name (or IP) mismatch */
    SK_ETLS_PIN = SK_ETLS_BASE - 4,         /* verification: not the pinned certificate */
    SK_ETLS_UNKNOWN_CA = SK_ETLS_BASE - 5,  /* verification: issuer not trusted */
    SK_ETLS_VERIFY = SK_ETLS_BASE - 6,      /* verification: another reason */
    SK_ETLS_PROTOCOL = SK_ETLS_BASE - 7,    /* the handshake failed (version, alert, garbage) */
    SK_ETLS_CLOSED = SK_ETLS_BASE - 8,      /* the peer closed during the handshake */
    SK_ETLS_LAST = SK_ETLS_BASE - 8,
};

/* True when err is one of the SK_ETLS* codes. */
int sk_is_tls_error(int err);

/* A message for a negative libsockit error. Never NULL; the string is static
 * or thread-local and valid until the next call in the same thread. */
const char *sk_strerror(int err);

#endif
