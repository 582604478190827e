/*
 * conn.h - a connection as a service sees it.
 *
 * A model owns each struct sk_conn: it accepts the socket, reads into `in`,
 * hands the unread bytes to the service, and flushes `out` (then `file`) to
 * the socket. A service never touches the descriptor; it only calls the
 * functions below from inside its callbacks. Buffers belong to the connection;
 * the service borrows them for the duration of one callback.
 *
 * Hub services (SK_SVC_HUB, e.g. chat) may, from inside any of their
 * callbacks, call sk_conn_write()/sk_conn_abort() on *another* connection of
 * the same server: the model serialises all callbacks of a hub service under
 * one lock and takes that lock whenever it touches a connection's `out` or
 * flags, and conn->ops->wake tells the owner of that connection to flush.
 * A connection pointer stays valid from the open callback until its close
 * callback returns.
 */
#ifndef SOCKIT_CONN_H
#define SOCKIT_CONN_H

#include "sockit/addr.h"
#include "sockit/buf.h"
#include "sockit/spawn.h"

#include <stdint.h>
#include <sys/types.h>

struct sk_server;
struct sk_conn;
struct sk__tls_conn;
struct sk__upstream;

enum {
    SK_CONN_END = 1u << 0,   /* close once everything queued is sent */
    SK_CONN_ABORT = 1u << 1, /* close as soon as possible, drop queued output */
    SK_CONN_HOLD = 1u << 2,  /* the service is still answering: no data() call yet */
};

/* Pending file output (sendfile), sent after `out` drains. fd < 0: none. */
struct sk_file_seg {
    int fd;
    off_t off;
    size_t len;
};

/* Hooks a model supplies (each may be NULL). */
struct sk_conn_ops {
    /* Hub services: output or a flag was set on c by another connection's
     * callback; make c's owner flush it soon. Called with srv->hub_lock held. */
    void (*wake)(struct sk_conn *c);
    /* The core is about to close fd, one of c's upstream descriptors: stop
     * watching it (an event loop's poller, an io_uring poll in flight). */
    void (*up_forget)(struct sk_conn *c, int fd);
    /* The model sends the client's output with sk__conn_flush_plain() and
     * lets sk__up_splice_in() read the client: a piped upstream may move
     * bulk data with splice() (readiness models and the blocking driver). */
    int splice;
    /* The connection has a thread of control of its own until it ends (the
     * blocking driver: a thread, a worker, a process per connection, the
     * iterative loop), which may wait for a program that has the socket
     * itself (sk_conn_exec()). */
    int own_thread;
};

/*
 * The connection. Who may touch which field, in libuv's UV_HANDLE_FIELDS
 * manner: a service reads and writes only `ctx`; it reads the others only
 * through the accessors below (sk_conn_peer(), sk_conn_room(), ...), never
 * directly, so a model may change how it keeps them. Everything else is the
 * model's: it sets it up in sk__conn_open() and keeps the accounting.
 */
struct sk_conn {
    /* ---- the service's ---- */
    void *ctx; /* per-connection state: svc->conn_size bytes, zeroed at open */

    /* ---- read-only for the service (through the accessors) ---- */
    uint64_t id;                  /* unique within the server, from 1 */
    struct sk_addr peer;          /* sk_conn_peer() */
    uint64_t bytes_in, bytes_out; /* moved so far: sk_conn_bytes_sent() */

    /* ---- the model's (a service never touches these) ---- */
    int fd;
    struct sk_server *srv;
    struct sk_buf in;        /* unread input: handed to data()/timeout(), consumed by the model */
    struct sk_buf out;       /* queued output: sk_conn_write() appends, the model flushes */
    struct sk_file_seg file; /* sk_conn_sendfile() sets it, the model sends it */
    unsigned flags;          /* SK_CONN_*: sk_conn_end()/sk_conn_abort() set them */
    int64_t last_ms;         /* monotonic ms of the last I/O (idle timeout) */
    int64_t deadline_ms;     /* sk_conn_set_deadline(), 0 = none (see svc->timeout) */
    int64_t open_ms;         /* monotonic ms when it was set up (the close log's duration) */
    const struct sk_conn_ops *ops;
    void *model_data; /* the model's own per-connection pointer */
    int opened;       /* open() was called: close() is due */
    /* The model's TLS transport (serve --tls), NULL for plain TCP. */
    struct sk__tls_conn *tls;
    /* The upstream (sk_conn_upstream_*() below), NULL until one is opened. */
    struct sk__upstream *up;
    /* A server-wide link (svc->link_open): no client socket (fd -1), only
     * its upstream; no idle timeout, never counted as a client. */
    int link;
};

/* Queue bytes for the peer. Returns 0, or -ENOBUFS when the output buffer
 * would pass its hard maximum (nothing is queued then). */
int sk_conn_write(struct sk_conn *c, const void *p, size_t n);

/* Queue formatted text; same returns as sk_conn_write(). */
int sk_conn_printf(struct sk_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Queue `len` bytes of an open file from `off`, sent after the bytes already
 * queued. The connection owns fd from here on and closes it. While a file is
 * pending the model calls no data callback (responses stay in order).
 * Returns 0 or -EBUSY when a file is already pending. */
int sk_conn_sendfile(struct sk_conn *c, int fd, off_t off, size_t len);

/* Close once everything queued has been sent. */
void sk_conn_end(struct sk_conn *c);

/* Close soon, dropping what is queued (a stalled reader, a protocol error). */
void sk_conn_abort(struct sk_conn *c);

/* Hold further input (on != 0): the service is still producing its answer to
 * what it consumed, in steps from its timeout callback (a long directory
 * listing made a bounded slice at a time), and the model calls no data()
 * until it is released (on == 0), as under backpressure; input already
 * read stays queued. A deadline set while holding keeps the connection
 * open after the peer's EOF. */
void sk_conn_hold(struct sk_conn *c, int on);

/* Ask for the service's timeout callback at now + ms (ms <= 0 clears it). */
void sk_conn_set_deadline(struct sk_conn *c, int64_t ms);

/* Bytes queued and not yet sent (buffer plus pending file). */
size_t sk_conn_pending(const struct sk_conn *c);

/* The service instance state shared by all connections of the server. */
void *sk_conn_service_state(const struct sk_conn *c);

/* 1 while the model holds input back because of the output: more than the
 * high-water mark (--max-output / 4) queued, or a file being sent. A service
 * that answers many requests from one data() call stops there and returns
 * what it consumed; it is called again once the output drains. */
int sk_conn_backpressured(const struct sk_conn *c);

/* The environment of a program run for c (sk_spawn_env(): the peer's and
 * the local address, or a Unix peer's credentials): free() it. NULL when
 * out of memory. */
char **sk_conn_spawn_env(const struct sk_conn *c);

/* Run the program sp describes with c's socket itself as its standard
 * input and output (and error, when sp->fd[2] is SK_SPAWN_STDOUT), where
 * the model gives c a thread of control of its own that may wait for it
 * (ops->own_thread: the blocking driver under fork, --inetd, thread, pool,
 * prefork and iterative): inetd's way, no byte relayed. Returns when the
 * program ended (its wait status, >= 0); c is then ended, its socket closed
 * (the program closed the connection by exiting). -EOPNOTSUPP where the
 * model cannot (an event loop serving many connections, or a transport
 * such as TLS between the socket and the service): the service runs it on
 * pipes instead.
 * Called from open() only. Any other negative errno: it could not start. */
int sk_conn_exec(struct sk_conn *c, struct sk_spawn *sp);

/* ---- the upstream: a second descriptor the connection owns ----
 *
 * A service may give its connection one upstream: a socket the model
 * connects to an address (relay, SOCKS, HTTP CONNECT), or descriptors the
 * service hands over (a child's pipes: exec). The model drives it in the same
 * loop (event models) or the same poll() (blocking models) as the
 * connection, under the same idle timeout (activity on either side counts),
 * and closes it exactly once, at the latest with the connection. The service
 * never reads, writes or closes an upstream descriptor itself.
 *
 * Two ways to use it:
 *  - through the service (the default): what the upstream sends is handed
 *    to svc->up_data(), which returns how much it consumed (the rest is
 *    offered again with more appended, at most --max-input held); the
 *    service writes to the upstream with sk_conn_upstream_write(). The
 *    upstream's EOF calls svc->up_eof(). A handshake (SOCKS, HTTP CONNECT),
 *    a Redis client.
 *  - piped (after sk_conn_upstream_pipe()): the model moves bytes both ways
 *    by itself, client -> upstream and upstream -> client, with bounded
 *    buffers and backpressure (a side is not read while the other's output
 *    is over the high-water mark, --max-output / 4), and no data() or
 *    up_data() call any more. Half-close passes through: the client's EOF
 *    shuts the upstream's write side once what was queued for it went
 *    (shutdown(SHUT_WR) on a socket, close() on a separate write pipe) while
 *    upstream -> client goes on, and the other way round (over TLS the
 *    upstream's EOF ends the connection after the flush instead). The
 *    connection ends once both directions are done, or at once when either
 *    side fails (a reset, an error): the client gets a close; the service's
 *    close() runs as always. If the upstream stops accepting input (EPIPE:
 *    a child that exited) after its EOF, client -> upstream counts as done.
 * A service switches from the first to the second at most once (after a
 * SOCKS reply); input the service left unconsumed then goes on to the
 * upstream, and upstream bytes up_data() left go on to the client, in order.
 *
 * While an upstream is connecting the connection stays open even after the
 * client's EOF. Every call below runs only from inside the connection's own
 * service callbacks (open, data, timeout, drain, up_*), on the thread the
 * model runs them on.
 *
 * A hub service may also own server-wide upstreams not tied to a client
 * (chat's connections to Redis): start() asks for env->links of them, and
 * the model opens each as a "link", a connection without a client socket,
 * on its first loop, calling svc->link_open(c, index); from there the
 * service uses the calls below on it as on any connection (its own
 * callbacks: up_*, timeout with sk_conn_set_deadline(), close at the stop).
 * A link is never closed by its upstream: when the upstream fails (a
 * reset, a write error) the model closes it and tells the service through
 * up_connected(c, -errno), and the service may connect again.
 */

/* Connect an upstream socket to `to` (TCP over IPv4/IPv6, or a Unix stream
 * socket) without blocking, within timeout_ms (<= 0: 10 s). The result comes
 * later, from the loop: svc->up_connected(c, 0) once connected, or with
 * -errno (-ECONNREFUSED, -ETIMEDOUT for the timeout, -ENOENT for a missing
 * Unix path, ...) after the model closed the failed socket; the service may
 * then connect again (failover: bytes queued for the upstream, written or
 * piped before, are kept for the next attempt) or end the connection. Never
 * calls back from inside this call. Returns 0, -EBUSY when an upstream is
 * already open (close it first), -ENOMEM, or the socket() error. */
int sk_conn_upstream_connect(struct sk_conn *c, const struct sk_addr *to, int timeout_ms);

/* Hand over an already open pair: rfd is read for what the upstream sends
 * (a child's stdout), wfd written for what it is sent (its stdin); they may
 * be the same descriptor (a socketpair), and either may be -1 (that
 * direction is done from the start). The connection owns both from here on,
 * even when this fails: it makes them non-blocking and closes them exactly
 * once. Connected at once: no up_connected() call. Returns 0, -EBUSY (an
 * upstream is open: both are closed) or -ENOMEM. */
int sk_conn_upstream_fds(struct sk_conn *c, int rfd, int wfd);

/* Queue bytes for the upstream (through the service; also while it is
 * connecting). Returns 0, -ENOTCONN with no upstream, -EPIPE once its write
 * side was shut, or -ENOBUFS when the upstream's queue would pass
 * --max-output (nothing is queued then). A hub service may write to a link
 * (below) from any of its callbacks: the link's loop is woken to flush. */
int sk_conn_upstream_write(struct sk_conn *c, const void *p, size_t n);

/* Bytes sk_conn_upstream_write() can still queue (0 without an upstream). */
size_t sk_conn_upstream_room(const struct sk_conn *c);

/* 1 while more than the high-water mark waits for the upstream (a service
 * feeding it stops there, as with sk_conn_backpressured()). */
int sk_conn_upstream_backpressured(const struct sk_conn *c);

/* Switch to piped (above): from now on the model moves the bytes. Also
 * allowed while connecting (what the client sends meanwhile is queued,
 * bounded, and kept across a failover). Returns 0 or -ENOTCONN. */
int sk_conn_upstream_pipe(struct sk_conn *c);

/* Piped: the upstream's end ends the connection (once everything it sent
 * went), instead of being passed on as a half-close while the client may
 * still send: a program's exit closes its connection (serve exec, inetd's
 * rule). Returns 0 or -ENOTCONN. */
int sk_conn_upstream_end_at_eof(struct sk_conn *c);

/* Through the service: shut the upstream's write side once what is queued
 * for it went (the client's half-close passed on by hand). */
void sk_conn_upstream_shutdown(struct sk_conn *c);

/* Close the upstream now, dropping what is queued either way; no callback.
 * The connection goes on (and may open another upstream). */
void sk_conn_upstream_close(struct sk_conn *c);

/* Is an upstream open (connecting or connected)? */
static inline int sk_conn_has_upstream(const struct sk_conn *c)
{
    return c->up != NULL;
}

/* The accessors below are inline (they run per request on the fast paths);
 * they are still the only way a service reads these fields. */

/* Bytes sk_conn_write() can still queue before the output's hard maximum. */
static inline size_t sk_conn_room(const struct sk_conn *c)
{
    return c->out.max - sk_buf_len(&c->out);
}

/* The most input the connection buffers: a message at least this long
 * cannot grow any more and must be taken as it is. */
static inline size_t sk_conn_input_max(const struct sk_conn *c)
{
    return c->in.max;
}

/* The peer's address. */
static inline const struct sk_addr *sk_conn_peer(const struct sk_conn *c)
{
    return &c->peer;
}

/* Bytes sent to the peer so far (a reader that makes progress). */
static inline uint64_t sk_conn_bytes_sent(const struct sk_conn *c)
{
    return c->bytes_out;
}

/* 1 once sk_conn_end() or sk_conn_abort() was called: nothing more the
 * service queues will be answered in order, so it stops reading. */
static inline int sk_conn_closing(const struct sk_conn *c)
{
    return (c->flags & (SK_CONN_END | SK_CONN_ABORT)) != 0;
}

/* 1 once sk_conn_abort() was called (or a write did not fit): nothing
 * queued goes out. */
static inline int sk_conn_aborted(const struct sk_conn *c)
{
    return (c->flags & SK_CONN_ABORT) != 0;
}

/* The output's hard maximum (--max-output). */
static inline size_t sk_conn_output_max(const struct sk_conn *c)
{
    return c->out.max;
}

/* 1 while a deadline set with sk_conn_set_deadline() is armed. */
static inline int sk_conn_has_deadline(const struct sk_conn *c)
{
    return c->deadline_ms != 0;
}

#endif
