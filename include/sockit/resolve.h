/*
 * resolve.h - name resolution over getaddrinfo()/getnameinfo().
 *
 * These functions block (they ask the system resolver). Errors are libsockit
 * errors: sk_strerror() prints gai_strerror()'s text for resolver failures.
 */
#ifndef SOCKIT_RESOLVE_H
#define SOCKIT_RESOLVE_H

#include "sockit/addr.h"

#include <stddef.h>

struct sk_addrinfo {
    struct sk_addr addr;
    int family;   /* AF_INET, AF_INET6 */
    int socktype; /* SOCK_STREAM, SOCK_DGRAM, SOCK_RAW */
    int protocol; /* IPPROTO_TCP, ... */
};

struct sk_resolve_opts {
    int family;   /* AF_UNSPEC (0), AF_INET or AF_INET6 */
    int socktype; /* 0 for any */
    int flags;    /* AI_* flags added to AI_ADDRCONFIG-free defaults */
    int passive;  /* resolve for bind() (NULL host means the wildcard) */
};

/* Resolve host and service (either may be NULL). On success returns the
 * number of results (>= 1), stores a malloc'd array in *out (free with
 * free()) and, when canon is non-NULL, copies the canonical name there
 * (empty when the resolver gave none). */
int sk_resolve(const char *host, const char *service, const struct sk_resolve_opts *opts,
               struct sk_addrinfo **out, char *canon, size_t canon_size);

/* Resolve host:port for a client or server socket of the given type, taking
 * the first result of the wanted family (AF_UNSPEC: any). Numeric hosts are
 * not sent to the resolver. */
int sk_resolve_one(const char *host, const char *port, int family, int socktype, int passive,
                   struct sk_addr *out);

/* Reverse lookup: host and service names for an address. flags are NI_*.
 * Returns 0 or a negative error. */
int sk_reverse(const struct sk_addr *a, char *host, size_t hostlen, char *serv, size_t servlen,
               int flags);

#endif
