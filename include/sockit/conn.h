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
 * srv->hub_lock and takes that lock whenever it touches a connection's `out`
 * or flags, and conn->ops->wake tells the owner of that connection to flush.
 * A connection pointer stays valid from the open callback until its close
 * callback returns.
 */
#ifndef SOCKIT_CONN_H
#define SOCKIT_CONN_H

#include "sockit/addr.h"
#include "sockit/buf.h"

#include <stdint.h>
#include <sys/types.h>

struct sk_server;
struct sk_conn;
struct sk__tls_conn;

enum {
    SK_CONN_END = 1u << 0,   /* close once everything queued is sent */
    SK_CONN_ABORT = 1u << 1, /* close as soon as possible, drop queued output */
};

/* Pending file output (sendfile), sent after `out` drains. fd < 0: none. */
struct sk_file_seg {
    int fd;
    off_t off;
    size_t len;
};

/* Hooks a model supplies for hub services. */
struct sk_conn_ops {
    /* Output or a flag was set on c by another connection's callback; make
     * c's owner flush it soon. Called with srv->hub_lock held. */
    void (*wake)(struct sk_conn *c);
};

struct sk_conn {
    int fd;
    uint64_t id; /* unique within the server, from 1 */
    struct sk_server *srv;
    struct sk_addr peer;
    struct sk_buf in;
    struct sk_buf out;
    struct sk_file_seg file;
    unsigned flags;
    int64_t last_ms;     /* monotonic ms of the last I/O (idle timeout) */
    int64_t deadline_ms; /* service deadline, 0 = none (see svc->timeout) */
    uint64_t bytes_in, bytes_out;
    int64_t open_ms; /* monotonic ms when it was set up (the close log's duration) */
    void *ctx;       /* the service's per-connection state: svc->conn_size bytes, zeroed */
    const struct sk_conn_ops *ops;
    void *model_data; /* the model's own per-connection pointer */
    int opened;       /* open() was called: close() is due */
    /* The model's TLS transport (serve --tls), NULL for plain TCP. */
    struct sk__tls_conn *tls;
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

/* Ask for the service's timeout callback at now + ms (ms <= 0 clears it). */
void sk_conn_set_deadline(struct sk_conn *c, int64_t ms);

/* Bytes queued and not yet sent (buffer plus pending file). */
size_t sk_conn_pending(const struct sk_conn *c);

/* The service instance state shared by all connections of the server. */
void *sk_conn_service_state(const struct sk_conn *c);

#endif
