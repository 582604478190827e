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
#include <stdint.h>

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

/* ---- a lookup off the caller's thread ----
 *
 * getaddrinfo() blocks for as long as the resolver takes; a server's event
 * loop must not. sk_resolve_start() runs sk_resolve() on a detached thread
 * of its own; the caller polls sk_resolve_result() (a service: from the
 * timeout callback of a short deadline) and drops the job when done with it
 * or when its connection closes first. A job is owned by the caller and the
 * thread together: whichever lets go last frees it. */
struct sk_resolve_job;

/* At most this many lookups run at once in a process. */
#define SK_RESOLVE_INFLIGHT_MAX 64

/* Start resolving host (a name or a numeric address) and port for a stream
 * socket (family AF_UNSPEC). Returns 0 with *job, -EAGAIN when
 * SK_RESOLVE_INFLIGHT_MAX lookups are running, -ENOMEM, or the
 * pthread_create() error. Any thread may call it. */
int sk_resolve_start(const char *host, uint16_t port, struct sk_resolve_job **job);

/* -EAGAIN while the lookup runs; then the number of addresses (>= 1, at
 * most n copied to out, in the resolver's order) or the lookup's negative
 * error. Only the caller that started the job calls this. */
int sk_resolve_result(struct sk_resolve_job *job, struct sk_addr *out, size_t n);

/* Let go of job (NULL: nothing): it is freed now if the lookup is done,
 * else by its thread when the lookup returns. */
void sk_resolve_drop(struct sk_resolve_job *job);

#endif
