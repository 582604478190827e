/*
 * error.h - the error convention of libsockit.
 *
 * Every fallible function returns a negative value on failure: -errno for
 * system errors, or a resolver error from sk_gai_error() (a separate negative
 * range, so that getaddrinfo's EAI_* codes never collide with errno values).
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

/* A message for a negative libsockit error. Never NULL; the string is static
 * or thread-local and valid until the next call in the same thread. */
const char *sk_strerror(int err);

#endif
