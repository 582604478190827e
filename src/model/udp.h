/*
 * udp.h - what the datagram models (udp_plain.c, udp_batch.c, udp_uring.c)
 * share: running N workers on SO_REUSEPORT sockets, waiting for input or a
 * stop, and turning one received datagram into its reply.
 */
#ifndef SOCKIT_MODEL_UDP_H
#define SOCKIT_MODEL_UDP_H

#include "internal.h"

#include "sockit/server.h"

#include <stdint.h>
#include <sys/types.h>

/* The largest datagram a reply may be (and the reply buffers' size). */
#define SK_UDP_MAX 65536

/* One worker's loop over its socket fd until a stop; first is 1 for the
 * worker on the calling thread (it alone watches a terminal stdin).
 * Returns 0 or a negative errno. */
typedef int (*sk__udp_loop_fn)(struct sk_server *srv, int fd, int first);

/* Run srv->workers loops (at least one): the first on srv->lfd in the
 * calling thread, the others on their own SO_REUSEPORT sockets in threads.
 * When any loop ends, all are stopped. Returns the first loop error or 0. */
int sk__udp_run(struct sk_server *srv, sk__udp_loop_fn loop);

/* Wait until fd is readable (returns 1) or a stop was requested (seen on
 * srv->stop_fd) or a line came on a watched terminal (returns 0). Loops must
 * learn of a stop this way, never by reading srv->stop from a thread. */
int sk__udp_wait(struct sk_server *srv, int fd, int first);

/* Size of each receive buffer: --max-input (default 64 KiB, enough for any
 * UDP datagram; smaller values make truncation visible). */
size_t sk__udp_bufsize(const struct sk_server *srv);

/* One datagram was received: in[0..n) of a datagram really len bytes long
 * (len > n, or truncated set: it did not fit and is dropped with a log line,
 * never answered as if whole). Counts it, calls the service and returns the
 * reply length in out (0: an empty datagram), or -1 for no reply. */
ssize_t sk__udp_handle(struct sk_server *srv, const struct sk_addr *from, const char *in, size_t n,
                       size_t len, int truncated, char *out, size_t outmax);

/* Which datagrams may be answered (udp_guard.c). */
struct sk__udp_guard;

/* A guard for a server bound to the nself addresses self (one port), with
 * at most rate replies per second to one source address (0: no limit).
 * Returns 0 or -ENOMEM. */
int sk__udp_guard_new(const struct sk_addr *self, size_t nself, unsigned rate,
                      struct sk__udp_guard **out);
void sk__udp_guard_free(struct sk__udp_guard *g);

/* Why a datagram from `from` must not be answered (a sentence), or NULL:
 * an unspecified, broadcast or multicast source, a source port below 1024
 * or 2049, or the server's own address and port. Pure; any thread. */
const char *sk__udp_guard_refuse(const struct sk__udp_guard *g, const struct sk_addr *from);

/* May one more reply go to from's address at now_ms (--udp-rate)? 1 or 0.
 * Takes a token from the address's bucket; thread-safe. */
int sk__udp_guard_allow(struct sk__udp_guard *g, const struct sk_addr *from, int64_t now_ms);

/* Account a reply of n bytes sent, or log a failed send to peer. */
void sk__udp_sent(struct sk_server *srv, size_t n);
void sk__udp_send_failed(struct sk_server *srv, const struct sk_addr *to, int err);

#endif
