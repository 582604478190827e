/*
 * internal.h - pieces the model files share (not part of the public API).
 */
#ifndef SOCKIT_MODEL_INTERNAL_H
#define SOCKIT_MODEL_INTERNAL_H

#include "sockit/server.h"

#include <errno.h>

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* Serve one accepted connection to the end on the calling thread: poll,
 * read, feed the service, write, with idle timeout, service deadlines,
 * backpressure and the stop bound. Closes fd. Returns 0 or the error that
 * ended the connection. Hub services are carried when several threads run
 * this at once: every callback and every look at the connection's out/flags
 * happens under srv->hub_lock (sends are non-blocking, so the lock is never
 * held across a wait), and c->ops->wake writes to an eventfd this thread
 * polls, so output queued by another connection's callback goes out at
 * once. */
int sk__serve_blocking(struct sk_server *srv, int fd, const struct sk_addr *peer);

/* Wait until lfd is readable (returns 1) or a stop was requested, or a line
 * arrived on a terminal stdin when srv->stdin_stop (returns 0). */
int sk__wait_listener(struct sk_server *srv, int lfd);

enum { SK_WAIT_STDIN = 1u << 0 }; /* also watch a terminal stdin (srv->stdin_stop) */

/* The same for models with several waiters or children: stdin is watched
 * only with SK_WAIT_STDIN (one waiter must own it), and with a mask the wait
 * is a ppoll() under that signal mask that returns -EINTR when a signal
 * arrived or a second passed quietly (a fork model reaps and restarts its
 * children then). lfd < 0 waits for the stop alone. */
int sk__wait_listener_ex(struct sk_server *srv, int lfd, unsigned flags, const sigset_t *mask);

/* ---- one connection, the same under every model (drive.c) ---- */

#define SK_EV_KEEP_BUF 4096  /* event loops: buffers up to this size stay allocated when empty */
#define SK_EV_SHRINK_MS 1000 /* larger ones are released after this long without I/O */

/* Hand input to the service: p/n, or c->in when p is NULL; what it leaves
 * is kept in c->in. Stops under backpressure (sk__conn_backpressured, with
 * inflight), setting *held, else clearing it. Returns 0 or -errno
 * (-EMSGSIZE when input outgrows lim.in_max while the service waits for no
 * output to drain: a service may leave a full input until its answer has
 * room). Hub services: the caller holds srv->hub_lock. */
int sk__conn_feed(struct sk_conn *c, const char *p, size_t n, const struct sk_buf *inflight,
                  char *held);

/* Inline, being on every request's path: */

/* Too much output waiting: a file pending, or out (plus the bytes of a send
 * in flight, inflight, may be NULL) over lim.out_high. */
static inline int sk__conn_backpressured(const struct sk_conn *c, const struct sk_buf *inflight)
{
    return c->file.fd >= 0 ||
           sk_buf_len(&c->out) + (inflight ? sk_buf_len(inflight) : 0) > c->srv->lim.out_high;
}

/* n bytes of c's output reached the kernel at now: count them in c and in
 * *total (the caller adds *total to the server's counters). */
static inline void sk__conn_sent(struct sk_conn *c, size_t n, int64_t now, uint64_t *total)
{
    c->bytes_out += n;
    c->last_ms = now;
    *total += n;
}

/* n bytes of input for c arrived at now: count them in c and in *total. */
static inline void sk__conn_received(struct sk_conn *c, size_t n, int64_t now, uint64_t *total)
{
    c->bytes_in += n;
    c->last_ms = now;
    *total += n;
}

/* ---- the TLS transport (transport.c), between the socket and the service ----
 *
 * With srv->tls every stream connection carries a struct sk__tls_conn: a
 * TLS connection over memory (tls.h), so no model hands OpenSSL a
 * descriptor. Input: the model reads ciphertext as usual and gives it to
 * sk__tls_recv(), which hands the plaintext on through the model's own
 * input path. Output: the service's plaintext (out, then a file read in
 * chunks, since sendfile cannot encrypt) is encrypted only while the
 * ciphertext waiting to go is under a bound (sk__tls_fill), so backpressure
 * stays on out as without TLS; sk__conn_flush() sends the ciphertext
 * (readiness and blocking models), io_uring sends it from its own buffer.
 * Plain connections pay one pointer test on these paths. */
struct sk__tls_conn {
    struct sk_tls *t;
    struct sk_buf wire; /* ciphertext taken from TLS, not yet sent */
    int64_t hs_due;     /* the handshake must be done by then; 0 once done */
    char shut;          /* close_notify queued */
};

#define SK_TLS_WIRE (64 * 1024) /* ciphertext made ahead of the socket at most */

/* Set up c->tls for a new connection of a --tls server (before open()).
 * 0 or -ENOMEM. */
int sk__tls_open(struct sk_conn *c);
void sk__tls_close(struct sk_conn *c);

/* n ciphertext bytes arrived in buf (cap bytes, reused for plaintext once
 * they are taken): run the handshake, then hand each piece of plaintext to
 * deliver(arg, p, len). *eof is set at the peer's close_notify. 0 or a
 * negative error (a failed handshake is logged, rate-limited). */
int sk__tls_recv(struct sk_conn *c, char *buf, size_t n, size_t cap, int *eof,
                 int (*deliver)(void *arg, const char *p, size_t len), void *arg);

/* The peer's stream ended: an error while the handshake is unfinished. */
int sk__tls_eof(struct sk_conn *c);

/* The handshake bound passed: logged (rate-limited); returns -ETIMEDOUT. */
int sk__tls_timeout(struct sk_conn *c);

/* Encrypt queued output (out, then the file) and move ciphertext into wire
 * until it holds upto bytes or nothing is left; plaintext is accounted as
 * sent (sk__conn_sent) when encrypted. Queues close_notify once the service
 * ended and everything went. 0 or -errno. */
int sk__tls_fill(struct sk_conn *c, struct sk_buf *wire, size_t upto, int64_t now, uint64_t *total);

/* Send c->tls->wire, refilled, until done or the socket would block. */
int sk__tls_flush(struct sk_conn *c, int64_t now, uint64_t *total);

size_t sk__tls_queued(const struct sk_conn *c);
int sk__tls_wants_write(const struct sk_conn *c);

/* ---- the upstream (upstream.c): a second descriptor a connection owns ----
 *
 * The model watches up->rfd for reading and up->wfd for writing as
 * sk__up_want() says, calls sk__up_io() with what is ready, and
 * sk__up_settle() in every step of the connection (after its own I/O); the
 * rest is upstream.c's. Piped client input goes through sk__up_take() (from
 * sk__conn_feed()); piped upstream output lands in c->out, so the model's
 * client flush (plain, TLS, io_uring) sends it. */
struct sk__upstream {
    int rfd, wfd;    /* -1: none (closed, or that direction handed over as done) */
    char connecting; /* a nonblocking connect is in flight on rfd == wfd */
    char early;      /* a result known at once: early_err, reported by the next settle */
    char piped;      /* the model moves the bytes (sk_conn_upstream_pipe) */
    char wsock;      /* wfd is a socket: send(MSG_NOSIGNAL), shutdown */
    char rd_eof;     /* the upstream finished sending */
    char wr_shut;    /* its write side was shut (or closed) */
    char wr_dead;    /* it stopped taking input after its EOF (EPIPE): that direction is over */
    char cl_shut;    /* piped: its EOF was passed on to the client */
    char shut_req;   /* through the service: sk_conn_upstream_shutdown() */
    char end_at_eof; /* piped: its EOF ends the connection (sk_conn_upstream_end_at_eof) */
    int early_err;
    int64_t connect_due;
    char bulk_up, bulk_cl;   /* piped: that direction carried bulk (a read of SK_UP_BULK or
                              * more), so it is spliced from now on where the model allows */
    int p2c[2], c2p[2];      /* splice pipes upstream -> client, client -> upstream (-1: none) */
    size_t p2c_len, c2p_len; /* bytes in them */
    struct sk_buf out;       /* queued for the upstream */
    struct sk_buf in;        /* from the upstream, left by up_data() */
    uint64_t sent, received; /* bytes to and from the upstream */
};

enum { SK_UP_R = 1u << 0, SK_UP_W = 1u << 1 }; /* rfd readable, wfd writable (or an error) */

/* What to watch: SK_UP_R on rfd, SK_UP_W on wfd, with client_pend bytes
 * queued for the client (piped: over the high-water mark the upstream is
 * not read). */
unsigned sk__up_want(const struct sk_conn *c, size_t client_pend);

/* ev (SK_UP_*) is ready: finish a connect, write, read. 0 or -errno (the
 * connection closes at once). Hub lock held (hub services). */
int sk__up_io(struct sk_conn *c, unsigned ev, int64_t now);

/* One step: a result known at once, leftovers passed on once piped,
 * write-through, the half-close each way, the end of a piped connection
 * (SK_CONN_END once both directions are done). 0 or -errno. */
int sk__up_settle(struct sk_conn *c, int client_eof, size_t client_pend, int64_t now);

/* Piped: take up to n client bytes for the upstream (*used), and write
 * through. 0 or -errno. */
int sk__up_take(struct sk_conn *c, const char *p, size_t n, int64_t now, size_t *used);

/* Client input waits while the upstream's queue is over the high-water mark. */
static inline int sk__up_blocks_client(const struct sk_conn *c)
{
    return c->up && c->up->piped && sk_buf_len(&c->up->out) + c->up->c2p_len > c->srv->lim.out_high;
}

#define SK_UP_BULK (16 * 1024) /* a read this large makes its direction spliced */

/* Piped, bulk, nothing queued, splice allowed: read the client with
 * splice() into a pipe and on to the upstream. Returns 1 when it took the
 * read (*eof set at the client's end; received bytes counted in *total),
 * 0 when the caller reads as usual, or -errno. */
int sk__up_splice_in(struct sk_conn *c, int64_t now, int *eof, uint64_t *total);

/* Send what was spliced from the upstream for the client (before out). */
int sk__up_flush_pipe(struct sk_conn *c, int64_t now, uint64_t *total);

/* May c close by the usual rules (1), or does the upstream keep it open (0:
 * connecting, piped)? stopping: is the upstream idle? */
int sk__up_may_close(const struct sk_conn *c, int stopping);

/* The connect deadline (0: none), and acting on it: -ETIMEDOUT to the
 * service's up_connected(). */
int64_t sk__up_due(const struct sk_conn *c);
int sk__up_expire(struct sk_conn *c, int64_t now);

/* Close the upstream (sk__conn_close()): its descriptors first (before the
 * service's close()), the rest after the close log line. */
void sk__up_close_fds(struct sk_conn *c);
void sk__up_free(struct sk_conn *c);

/* The blocking models' server-wide links (link.c): each on a thread of the
 * model, opened with svc->link_open(). start: 0 or -errno (whatever was
 * started is stopped by sk__links_stop(), which joins and closes them;
 * call it once the server stops). */
struct sk__links;
int sk__links_start(struct sk_server *srv, struct sk__links **out);
void sk__links_stop(struct sk__links *lk);

/* sk_conn_pending(), inline for the models' per-request path: out, the
 * file, and what was spliced from a piped upstream, not sent yet. up is a
 * constant where it is called: 0 when c is known to have no upstream (the
 * event loops' plain step), so that step does not look. */
static inline size_t sk__conn_pending_as(const struct sk_conn *c, const int up)
{
    return sk_buf_len(&c->out) + (c->file.fd >= 0 ? c->file.len : 0) +
           (up && c->up ? c->up->p2c_len : 0);
}

static inline size_t sk__conn_pending(const struct sk_conn *c)
{
    return sk__conn_pending_as(c, 1);
}

/* Output queued on c: the service's, and ciphertext not yet sent. */
static inline size_t sk__conn_queued(const struct sk_conn *c)
{
    return sk__conn_pending(c) + (c->tls ? sk__tls_queued(c) : 0);
}

/* With pend queued: whether the socket's writability matters (under TLS
 * plaintext waits for the handshake, and only ciphertext can be sent). */
static inline int sk__conn_wants_write(const struct sk_conn *c, size_t pend)
{
    return c->tls ? sk__tls_wants_write(c) : pend != 0;
}

/* Send c->out, then c->file, until done or the socket would block; sent
 * bytes are accounted (sk__conn_sent). 0 or -errno. A plain connection's
 * (sk__conn_flush() below chooses between it and the transport). up is a
 * constant: 0 where c is known to have no upstream (the event loops' plain
 * step). */
static inline int sk__conn_flush_plain_as(struct sk_conn *c, int64_t now, uint64_t *total,
                                          const int up)
{
    if (up && c->up && c->up->p2c_len) {
        int r = sk__up_flush_pipe(c, now, total);
        if (r < 0 || c->up->p2c_len)
            return r;
    }
    while (sk_buf_len(&c->out) > 0) {
        size_t len = sk_buf_len(&c->out);
        ssize_t w = send(c->fd, sk_buf_data(&c->out), len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        sk_buf_consume(&c->out, (size_t)w);
        sk__conn_sent(c, (size_t)w, now, total);
        if ((size_t)w < len)
            return 0; /* the socket buffer is full: wait for writability */
    }
    while (c->file.fd >= 0) {
        off_t off = c->file.off;
        ssize_t w = sendfile(c->fd, c->file.fd, &off, c->file.len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        if (w == 0)
            return -EIO; /* the file shrank under us */
        c->file.off += w;
        c->file.len -= (size_t)w;
        sk__conn_sent(c, (size_t)w, now, total);
        if (c->file.len == 0) {
            close(c->file.fd);
            c->file.fd = -1;
        }
    }
    return 0;
}

static inline int sk__conn_flush_plain(struct sk_conn *c, int64_t now, uint64_t *total)
{
    return sk__conn_flush_plain_as(c, now, total, 1);
}

/* The same for any connection: through the TLS transport when it has one. */
static inline int sk__conn_flush(struct sk_conn *c, int64_t now, uint64_t *total)
{
    return c->tls ? sk__tls_flush(c, now, total) : sk__conn_flush_plain(c, now, total);
}

/* The deadlines below take held: whether the model holds input back from
 * the service (left in c->in, unfed or unconsumed, while output waits to
 * drain): a flag that holds only while c->in has input (sk__conn_holding),
 * looked at only when a service deadline is armed, so the rule costs
 * nothing per request. While held the service deadline waits, in every
 * model: the service has not seen, or could not yet act on, input that may
 * complete what it waits for (echo --lines would send half a line as a
 * bare message). It is fed that input once the output drained and sets its
 * deadline anew. The idle timeout and the stop bound do not wait. */

/* Does a model hold input back from c's service: its held flag (the event
 * loops: set by sk__conn_feed under backpressure), with input still in
 * c->in? */
static inline int sk__conn_holding(const struct sk_conn *c, char held)
{
    /* A service that holds input itself (sk_conn_hold) resumes through its
     * deadline: that one fires. */
    return held && sk_buf_len(&c->in) > 0 && !(c->flags & SK_CONN_HOLD);
}

/* The earliest moment something may be due on c (idle timeout, service
 * deadline unless held, and with fat the event loops' buffer release), 0
 * when nothing is. */
/* Is the service's deadline armed? Not while input is held back, nor during
 * a TLS handshake (the peer cannot hear the service yet; the transport moves
 * the deadline when the handshake ends). */
static inline int sk__conn_service_armed(const struct sk_conn *c, int held)
{
    return c->deadline_ms && !sk__conn_holding(c, held) && !(c->tls && c->tls->hs_due);
}

/* may_link is a constant: 0 where c is known not to be a link (the event
 * loops' settle of a client connection), which then does not look. */
static inline int64_t sk__conn_due_as(const struct sk_conn *c, int fat, int held,
                                      const int may_link)
{
    int64_t due = 0;
    if (c->srv->lim.idle_timeout_ms > 0 && !(may_link && c->link)) /* a link has none */
        due = c->last_ms + c->srv->lim.idle_timeout_ms;
    if (sk__conn_service_armed(c, held) && (!due || c->deadline_ms < due))
        due = c->deadline_ms;
    if (fat && (!due || c->last_ms + SK_EV_SHRINK_MS < due))
        due = c->last_ms + SK_EV_SHRINK_MS;
    if (c->tls && c->tls->hs_due && (!due || c->tls->hs_due < due))
        due = c->tls->hs_due;
    if (c->up) { /* one test for a connection without an upstream */
        int64_t up = sk__up_due(c);
        if (up && (!due || up < due))
            due = up;
    }
    return due;
}

static inline int64_t sk__conn_due(const struct sk_conn *c, int fat, int held)
{
    return sk__conn_due_as(c, fat, held, 1);
}

/* Is c's idle timeout or service deadline (unless held) due at now? */
int sk__conn_expired(const struct sk_conn *c, int64_t now, int held);

/* The poll timeout (ms, -1 = none) until the nearest of a connection's
 * idle deadline, service deadline (unless held) and stop deadline (0 =
 * none). */
int sk__conn_timeout_ms(const struct sk_conn *c, int64_t now, int64_t stop_at, int held);

/* Act on expired deadlines at time now: the service's timeout callback
 * (never while held), or -ETIMEDOUT when the connection must close (idle,
 * or stop bound). */
int sk__conn_expire(struct sk_conn *c, int64_t now, int64_t stop_at, int held);

/* The peer finished sending (EOF seen at time now): a pending service
 * deadline becomes due at once, since no more input can complete what the
 * service waits for (echo --lines echoes a bare message now, http answers a
 * head cut short with 408 now). Every model calls it where it sees EOF; its
 * usual deadline path then runs the service's timeout(). */
void sk__conn_eof(struct sk_conn *c, int64_t now);

/* Bytes the kernel holds for fd that were not read yet (closing with unread
 * input would reset the connection and lose what was sent). */
int sk__conn_unread(int fd);

/* With pend bytes still to send: 1 when c may close now (the peer finished
 * and nothing is pending, held or awaited, or the server is stopping and
 * nothing is in flight, unread by us included, even with a service
 * deadline armed: http's header clock runs from accept), else 0. Inline:
 * asked after every step of every connection. */
static inline int sk__conn_can_close_as(const struct sk_conn *c, size_t pend, int eof, int held,
                                        int stopping, const int up)
{
    if (up && c->up && !sk__up_may_close(c, stopping))
        return 0; /* connecting, or piped: it ends when both directions are done */
    if (eof && !pend && !c->deadline_ms && !held)
        return 1;
    /* Stopping with nothing in flight: no reason to wait for the bound. */
    return stopping && !pend && !sk_buf_len(&c->in) && !sk__conn_unread(c->fd);
}

static inline int sk__conn_can_close(const struct sk_conn *c, size_t pend, int eof, int held,
                                     int stopping)
{
    return sk__conn_can_close_as(c, pend, eof, held, stopping, 1);
}

/* (struct sk__ratelimit is in server.h: the shared counters hold one.) */
/* 1 when a line may be logged now (claimed atomically), with *skipped (may
 * be NULL) set to how many were refused since the last one; else 0. */
int sk__rate_ok(struct sk__ratelimit *rl, uint64_t *skipped);

/* Per source address limits (perip.c): --max-per-ip and --accept-rate.
 * sk__perip_init() makes the shared table when either is set (before any
 * worker is forked); sk__perip_admit() counts a new connection from peer
 * or says why not; sk__perip_release() uncounts it when it ends. Unix
 * peers are never limited. */
enum { SK_PERIP_OK, SK_PERIP_MAX, SK_PERIP_RATE, SK_PERIP_FULL };
int sk__perip_init(struct sk_server *srv);
void sk__perip_free(struct sk_server *srv);
int sk__perip_admit(struct sk_server *srv, const struct sk_addr *peer);
void sk__perip_release(struct sk_server *srv, const struct sk_addr *peer);

/* Fault injection for tests (fault.c): 1 when SOCKIT_FAULT names this
 * point and its failure is due, else 0. */
#define SK_FAULT_WAIT_POLL "wait-poll"
#define SK_FAULT_TIMER "timer"
#define SK_FAULT_INTEREST "interest"
int sk__fault(const char *name);

/* The lingering close (linger.c): how long and how much of the peer's
 * input is read and discarded after the write side is shut down. */
#define SK_LINGER_MS 2000
#define SK_LINGER_BYTES (4u << 20)

/* Can io_uring carry a model here (uring_probe.c, for both io_uring
 * models)? 0 when SOCKIT_URING_REFUSE (a test hook) is not set and the
 * kernel sets up a ring that supports the nops opcodes ops[] and, with
 * buf_ring, provided buffer rings; else -errno and the reason in why
 * ("this kernel's io_uring lacks " the text lacks). Built with liburing
 * only. */
int sk__uring_probe(const int *ops, size_t nops, int buf_ring, const char *lacks, char *why,
                    size_t len);

/* May the peer of fd still send (input unread, or its end not seen yet)? */
int sk__peer_sending(int fd);

/* Close fd, whose peer may still be sending: shut down the write side,
 * read and discard for at most SK_LINGER_MS and SK_LINGER_BYTES (until the
 * peer's end of stream), then close, so the peer reads everything sent
 * and a clean end rather than a reset. With wait_inline the caller waits
 * (a process that ends with the connection); otherwise a thread of this
 * process does it and the call returns at once. sk__conn_close() calls it
 * for every model. */
void sk__linger_close(int fd, int wait_inline);

/* Shared by the models with several workers or children (workers.c). */

/* srv->workers, or per_cpu times the online CPUs (at most 1024), or
 * fallback when the CPUs cannot be counted. */
unsigned sk__workers(const struct sk_server *srv, unsigned per_cpu, unsigned fallback);

/* Catch SIGCHLD with handler (SA_NOCLDSTOP) and block it; the previous
 * action and mask go to old_sa/old_mask, and *wait_mask is old_mask with
 * SIGCHLD open, for sk__wait_listener_ex(). sk__sigchld_restore() undoes it. */
void sk__sigchld_catch(void (*handler)(int), struct sigaction *old_sa, sigset_t *old_mask,
                       sigset_t *wait_mask);
void sk__sigchld_restore(const struct sigaction *old_sa, const sigset_t *old_mask);

/* In a forked worker or connection process: be killed when the process that
 * called sk__sigchld_catch() ends (a second SIGINT ends it at once), so no
 * worker outlives its server. */
void sk__die_with_parent(void);

/* A worker sharing the listener: wait for it (not stdin) and accept,
 * skipping connections another worker took or that were shed. Returns the
 * descriptor (peer filled), -ECANCELED once the wait ends (the stop), or
 * the accept error. */
int sk__worker_accept(struct sk_server *srv, struct sk_addr *peer);

/* Accept up to burst connections from srv->lfd (non-blocking) and hand each
 * to take(ctx, fd, peer), which owns fd. Returns 0, or the accept error after
 * stopping the server (the listener is broken). */
int sk__accept_burst(struct sk_server *srv, int burst,
                     void (*take)(void *ctx, int fd, const struct sk_addr *peer), void *ctx);

#endif
