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

/* Like sk__udp_wait(), but also ends when the relay's flows (udp_relay.c)
 * are ready or one is due to expire: the flows are then served before it
 * returns. Used by sk__udp_wait() when srv->udp_flows is set. */
int sk__udp_wait_flows(struct sk_server *srv, int fd, int first);

/* Size of each receive buffer: --max-input (default 64 KiB, enough for any
 * UDP datagram; smaller values make truncation visible). */
size_t sk__udp_bufsize(const struct sk_server *srv);

/* One datagram was received on fd: in[0..n) of a datagram really len bytes long
 * (len > n, or truncated set: it did not fit and is dropped with a log line,
 * never answered as if whole). Counts it, calls the service and returns the
 * reply length in out (0: an empty datagram), or -1 for no reply. A relay
 * service (svc->dgram_route) gets no reply here: the datagram goes to its
 * source's flow (udp_relay.c), opened on fd if it had none. */
ssize_t sk__udp_handle(struct sk_server *srv, int fd, const struct sk_addr *from, const char *in,
                       size_t n, size_t len, int truncated, char *out, size_t outmax);

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

/* ---- the datagram relay (udp_flow.c: the client table, pure; udp_relay.c) ---- */

/* One client of the relay: its address (the key), the socket connected to
 * its upstream, and where it is on the table's lists. */
struct sk__flow {
    struct sk_addr peer; /* the client */
    struct sk_addr up;   /* the upstream its socket is connected to */
    int fd;              /* that socket (-1 while free) */
    int lfd;             /* the listening socket replies go out on */
    uint32_t gen;        /* bumped on removal: a reference to the old flow is stale */
    int32_t hnext;       /* hash chain */
    int32_t prev, next;  /* least to most recently active; next: the free list */
    int64_t opened_ms, last_ms;
    uint64_t dgrams_in, dgrams_out; /* client -> upstream, upstream -> client */
};

/* At most cap flows; one array grown by doubling up to it. Not locked. */
struct sk__flowtab {
    struct sk__flow *f;
    uint32_t nf, cap, count, mask;
    int32_t *bucket;
    int32_t head, tail, free;
};

/* 0, -EINVAL (cap 0) or -ENOMEM. */
int sk__flows_init(struct sk__flowtab *t, uint32_t cap);
void sk__flows_fini(struct sk__flowtab *t);
/* The flow of peer, or -1. */
int32_t sk__flows_find(const struct sk__flowtab *t, const struct sk_addr *peer);
/* A new flow for peer (not there yet), the most recently active, with fd
 * and lfd -1 for the caller to set: its index, -ENOSPC when cap flows are
 * there (evict one first), or -ENOMEM. Indices stay valid across growth;
 * pointers into t->f do not. */
int32_t sk__flows_add(struct sk__flowtab *t, const struct sk_addr *peer, int64_t now_ms);
/* Flow i was active at now_ms: it becomes the most recent. */
void sk__flows_touch(struct sk__flowtab *t, int32_t i, int64_t now_ms);
/* Remove flow i (the caller closed its socket). */
void sk__flows_del(struct sk__flowtab *t, int32_t i);
/* The least recently active flow, or -1 when none. */
int32_t sk__flows_oldest(const struct sk__flowtab *t);
/* A reference that outlives nothing: flow i's index and generation. */
static inline uint64_t sk__flows_mkref(const struct sk__flowtab *t, int32_t i)
{
    return (uint64_t)(uint32_t)i | (uint64_t)t->f[i].gen << 32;
}
/* The flow a reference names, or -1 when it was removed since. */
int32_t sk__flows_ref(const struct sk__flowtab *t, uint64_t ref);

/* The relay's flows of one server (udp_relay.c): the table under a lock,
 * an epoll set of the upstream sockets, the idle timeout. Shared by every
 * worker loop: a client's datagrams may reach any of them. */
struct sk__udp_flows;

/* The flow idle timeout when --idle-timeout is not given. */
#define SK_UDP_FLOW_IDLE_MS 60000
/* The most flows when --max-conns is 0 (no limit of connections). */
#define SK_UDP_FLOWS_MAX 65536

/* For a relay service (svc->dgram_route): 0 or a negative errno. */
int sk__udp_flows_new(struct sk_server *srv, struct sk__udp_flows **out);
/* Close every flow's socket and free. */
void sk__udp_flows_free(struct sk_server *srv, struct sk__udp_flows *F);
/* A client's datagram, received on lfd: to its flow, opened first if it
 * has none (the service names the upstream; at the bound the least
 * recently active flow is evicted). Any thread. */
void sk__udp_flows_forward(struct sk_server *srv, int lfd, const struct sk_addr *from,
                           const char *p, size_t n);
/* Serve what is ready: upstream replies to their clients (a bounded
 * number), closing refused and expired flows. Any thread. */
void sk__udp_flows_run(struct sk_server *srv);
/* The epoll descriptor, readable while an upstream socket is. */
int sk__udp_flows_fd(const struct sk__udp_flows *F);
/* Milliseconds until the next flow may expire (0: now), or -1 for none. */
int sk__udp_flows_due_ms(struct sk__udp_flows *F);

#endif
