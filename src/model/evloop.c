/*
 * evloop.c - the one loop core of the event models (see evloop.h for its
 * phases). Everything here is shared by the readiness backend (reactor.c:
 * select, poll, epoll) and the completion backend (uring.c); a backend only
 * moves bytes and says what happened.
 */
#include "evloop.h"

#include "sockit/error.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BATCH 128

static _Thread_local struct sk__ev_loop *this_loop;

/* ---- hub wake-ups ---- */

static void push_pending(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    if (!sk__list_linked(&ec->pending))
        sk__list_push(&L->pending, &ec->pending);
}

/* A hub callback wrote to c (the caller holds hub_lock). */
static void wake(struct sk_conn *c)
{
    struct sk__ev_conn *ec = c->model_data;
    struct sk__ev_loop *L = ec->loop;

    if (ec->closed)
        return;
    if (L == this_loop) {
        push_pending(L, ec);
        return;
    }
    if (!sk__list_linked(&ec->remote))
        sk__list_push(&L->remote, &ec->remote);
    if (!L->remote_signalled) { /* once until the loop takes its list */
        L->remote_signalled = 1;
        uint64_t one = 1;
        ssize_t w = write(L->wake_fd, &one, sizeof(one));
        (void)w;
    }
}

/* The core closes one of c's upstream descriptors: the backend forgets it. */
static void up_forget(struct sk_conn *c, int fd)
{
    struct sk__ev_conn *ec = c->model_data;
    ec->loop->be->up_forget(ec->loop, ec, fd);
}

static const struct sk_conn_ops hub_ops = {.wake = wake, .up_forget = up_forget};
static const struct sk_conn_ops plain_ops = {.up_forget = up_forget};
/* Backends that send by write-through (the reactor) let a piped upstream
 * splice: the client's output goes out through sk__conn_flush_plain(). */
static const struct sk_conn_ops hub_splice_ops = {
    .wake = wake, .up_forget = up_forget, .splice = 1};
static const struct sk_conn_ops splice_ops = {.up_forget = up_forget, .splice = 1};

void sk__ev_take_remote(struct sk__ev_loop *L)
{
    uint64_t v;
    ssize_t r = read(L->wake_fd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&L->srv->hub_lock);
    struct sk__list *n;
    while ((n = sk__list_first(&L->remote)) != NULL) {
        sk__list_remove(n);
        push_pending(L, SK_LIST_ENTRY(n, struct sk__ev_conn, remote));
    }
    L->remote_signalled = 0;
    pthread_mutex_unlock(&L->srv->hub_lock);
}

/* ---- one connection ---- */

/* The loop cannot go on watching ec (what failed: its timer, its
 * interest): log it (at most once a second) and return err, to close ec
 * with. Never inlined: its line buffer would cost every step a stack
 * guard. */
__attribute__((noinline, cold)) static int conn_lost(const struct sk__ev_conn *ec, const char *what,
                                                     int err)
{
    static struct sk__ratelimit rl;
    if (sk__rate_ok(&rl, NULL)) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(&ec->c.peer, a, sizeof(a));
        sk_log(SK_LOG_WARN, "connection %llu from %s: %s: %s: closing",
               (unsigned long long)ec->c.id, a, what, sk_strerror(err));
    }
    return err;
}

/* Set ec's timer to due: 0, or -errno when it cannot be (ec must close:
 * its timeouts would never fire). Off the per-request path. */
__attribute__((noinline)) static int set_timer(struct sk__ev_loop *L, struct sk__ev_conn *ec,
                                               int64_t due)
{
    int r = sk__fault(SK_FAULT_TIMER) ? -ENOMEM : sk__timer_set(&L->timers, &ec->timer, due);
    return r < 0 ? conn_lost(ec, "cannot arm its timer", r) : 0;
}

/* Lazy: only ever moved earlier here; a timer that fires early re-arms.
 * 0, or -errno (set_timer). may_link is a constant: 0 where ec is known
 * not to be a link (sk__conn_due_as()). */
static inline int arm_timer_as(struct sk__ev_loop *L, struct sk__ev_conn *ec, const int may_link)
{
    int64_t due = sk__conn_due_as(&ec->c, ec->fat, ec->held, may_link);
    if (due && (!sk__timer_armed(&ec->timer) || due < ec->timer.at))
        return set_timer(L, ec, due);
    return 0;
}

static inline int arm_timer(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    return arm_timer_as(L, ec, 1);
}

/* Mark ec closed. Another loop's hub callback reads the mark in wake()
 * under the hub lock, so with several loops it is written under it too. */
static void mark_closed(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    int shared = L->nloops > 1 && L->lock_hub;
    if (shared)
        pthread_mutex_lock(&L->srv->hub_lock);
    ec->closed = 1;
    if (shared)
        pthread_mutex_unlock(&L->srv->hub_lock);
}

/* After the service's close(): nobody wakes ec any more. Take it off the
 * lists a wake-up may have put it on, and keep it until it can be freed. */
static void forget(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    sk__list_remove(&ec->pending);
    if (L->nloops > 1 && L->lock_hub) {
        pthread_mutex_lock(&L->srv->hub_lock);
        sk__list_remove(&ec->remote);
        pthread_mutex_unlock(&L->srv->hub_lock);
    }
    sk__list_push(&L->closing, &ec->link);
}

static void close_conn(struct sk__ev_loop *L, struct sk__ev_conn *ec, int err)
{
    if (ec->closed)
        return;
    mark_closed(L, ec); /* from here on wake() leaves ec alone */
    if (!ec->is_link)
        L->nconns--;
    sk__list_remove(&ec->link);
    sk__timer_del(&L->timers, &ec->timer);
    L->be->detach(L, ec);
    sk__conn_close(&ec->c, err); /* the service's close() */
    forget(L, ec);
}

static int step_slow(struct sk__ev_loop *L, struct sk__ev_conn *ec);

/* The reactor's write-through, out of line: inlined in the step it saves
 * the reactor (epoll) about 13 instructions a request but costs io_uring,
 * which never calls it, about as many (the step's registers); out of line
 * both stay within issue 10's bar. */
__attribute__((noinline)) static int flush_plain(struct sk_conn *c, int64_t now, uint64_t *total)
{
    return sk__conn_flush_plain_as(c, now, total, 0);
}

/* Move ec forward as far as it goes without blocking: flush, close when
 * ended, feed held input once output drained, let a source queue more.
 * Hub lock held (hub services). Returns 0 with ec->want set, 1 to close
 * normally, or -errno to close on an error. Specialised (tls and up are
 * constants): the plain step of a connection without an upstream, the one
 * every echo or HTTP request takes, looks at neither; a service that opens
 * an upstream during the step (feed, drain) hands it to step_slow(). */
static inline __attribute__((always_inline)) int
step_as(struct sk__ev_loop *L, struct sk__ev_conn *ec, const int tls, const int up)
{
    struct sk_conn *c = &ec->c;
    const struct sk_service *svc = L->srv->svc;

    for (int round = 0; round < 16; round++) {
        if (c->flags & SK_CONN_ABORT)
            return 1;
        if (up && c->up) {
            int r = sk__up_settle(c, ec->eof, sk__ev_pending_as(ec, tls, up), L->now);
            if (r < 0)
                return r;
            if (c->flags & SK_CONN_ABORT)
                return 1;
        }
        if (sk__ev_pending_as(ec, tls, up)) {
            int r = L->be->send ? L->be->send(L, ec)
                    : tls       ? sk__tls_flush(c, L->now, &L->bytes_out)
                    : up        ? sk__conn_flush_plain(c, L->now, &L->bytes_out)
                                : flush_plain(c, L->now, &L->bytes_out); /* write through */
            if (r < 0)
                return r;
            if (sk__ev_pending_as(ec, tls, up))
                break; /* writability or a completion brings us back */
        }
        if (c->flags & SK_CONN_END)
            return 1;
        /* Input held back, or left unconsumed by the service when it
         * switched to piped (a SOCKS client's first tunnel bytes): on. */
        if ((ec->held || (up && c->up && c->up->piped)) && sk_buf_len(&c->in) &&
            !(up && sk__up_blocks_client(c))) {
            ec->held = 0;
            int r = sk__conn_feed(c, NULL, 0, ec->sending, &ec->held);
            if (r < 0)
                return r;
            if (!up && c->up)
                return step_slow(L, ec);
            if (sk__ev_pending_as(ec, tls, up) || (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
                continue;
        }
        if (svc->drain && !ec->eof) {
            int r = svc->drain(c);
            if (r < 0)
                return r;
            if (!up && c->up)
                return step_slow(L, ec);
            if (sk__ev_pending_as(ec, tls, up) || (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
                continue;
        }
        break;
    }
    size_t pend = sk__ev_pending_as(ec, tls, up);
    if (up && c->up) {
        /* Once the client's output went: the upstream's EOF passes on, and
         * a piped connection whose directions are both done ends. */
        int r = sk__up_settle(c, ec->eof, pend, L->now);
        if (r < 0)
            return r;
        pend = sk__ev_pending_as(ec, tls, up);
        if ((c->flags & SK_CONN_ABORT) || ((c->flags & SK_CONN_END) && !pend))
            return 1;
    }
    /* A link (stepped only here, up a constant 1: step_link()) ends with
     * the stop, not by its client's rule. */
    if (up && ec->is_link ? L->stopping
                          : sk__conn_can_close_as(c, pend, ec->eof, ec->held, L->stopping, up))
        return 1;
    /* Under TLS plaintext waits for the handshake: only what can go counts. */
    int wr = tls ? sk__tls_wants_write(c) || (ec->sending && sk_buf_len(ec->sending)) : pend != 0;
    unsigned want = wr ? SK_EV_WANT_WRITE : 0;
    if (!ec->eof && !sk__conn_backpressured(c, ec->sending) && !(c->flags & SK_CONN_HOLD) &&
        sk_buf_len(&c->in) < c->in.max && !(up && sk__up_blocks_client(c)))
        want |= SK_EV_WANT_READ;
    ec->want = (unsigned char)want;
    ec->up_want = up && c->up ? (unsigned char)sk__up_want(c, pend) : 0;
    return 0;
}

/* The TLS step and the step of a connection with an upstream, out of line,
 * so the plain one inlined in sk__ev_settle() does not pay for their
 * registers on every request. */
__attribute__((noinline)) static int step_slow(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    return ec->c.tls ? step_as(L, ec, 1, 1) : step_as(L, ec, 0, 1);
}

static inline int step(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    return ec->c.tls || ec->c.up ? step_slow(L, ec) : step_as(L, ec, 0, 0);
}

/* Outside the hub lock: close, or apply what ec wants and re-arm its timer;
 * a connection whose interest or timer cannot be set is closed. */
static inline __attribute__((always_inline)) void
finish_as(struct sk__ev_loop *L, struct sk__ev_conn *ec, int r, const int may_link)
{
    if (r == 0 && (ec->want != ec->armed || ec->c.up) && (r = L->be->apply(L, ec)) < 0)
        r = conn_lost(ec, "cannot change what it is watched for", r);
    if (r == 0)
        r = arm_timer_as(L, ec, may_link);
    if (r != 0)
        close_conn(L, ec, r > 0 ? 0 : r);
}

/* A link's upstream failed (r < 0): the link stays, its upstream is closed
 * and the service told, which may connect again. Hub lock held. */
static int link_lost(struct sk__ev_loop *L, struct sk__ev_conn *ec, int r)
{
    const struct sk_service *svc = L->srv->svc;
    sk_conn_upstream_close(&ec->c);
    return svc->up_connected ? svc->up_connected(&ec->c, r) : 0;
}

/* A link's step: an upstream failure (r < 0, from its I/O or the step) is
 * not its end (link_lost()). Out of line and through step_slow() (a link
 * is never TLS; without its upstream that step is the plain one), so
 * sk__ev_settle() calls step() at one place and the compiler inlines it
 * there: with a second call site it moved the plain step out of line, a
 * call and its register saves on every request (uring +65 instructions). */
__attribute__((noinline)) static int step_link(struct sk__ev_loop *L, struct sk__ev_conn *ec, int r)
{
    for (int i = 0; i < 4 && r < 0 && !L->stopping; i++)
        r = link_lost(L, ec, r);
    if (r == 0)
        r = step_slow(L, ec);
    for (int i = 0; i < 4 && r < 0 && !L->stopping; i++)
        if ((r = link_lost(L, ec, r)) == 0)
            r = step_slow(L, ec);
    return r;
}

/* Specialised: link is a constant, so a client connection's settle (every
 * request's) looks at no link rule, neither in the step nor in the timer. */
static inline __attribute__((always_inline)) void
settle_as(struct sk__ev_loop *L, struct sk__ev_conn *ec, int r, const int link)
{
    if (link)
        r = step_link(L, ec, r);
    else if (r == 0)
        r = step(L, ec);
    /* Large buffers are kept while the connection is busy (no malloc/free
     * per message) and released by the timer once it has been quiet. Looked
     * at under the hub lock: another loop's callback may be growing out. */
    if (r == 0 && (ec->c.in.cap > SK_EV_KEEP_BUF || ec->c.out.cap > SK_EV_KEEP_BUF ||
                   (ec->sending && ec->sending->cap > SK_EV_KEEP_BUF)))
        ec->fat = 1;
    sk__ev_hub_leave(L);
    finish_as(L, ec, r, link);
}

__attribute__((noinline)) static void settle_link(struct sk__ev_loop *L, struct sk__ev_conn *ec,
                                                  int r)
{
    settle_as(L, ec, r, 1);
}

void sk__ev_settle(struct sk__ev_loop *L, struct sk__ev_conn *ec, int r)
{
    if (ec->is_link)
        settle_link(L, ec, r);
    else
        settle_as(L, ec, r, 0);
}

static void process(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    sk__ev_hub_enter(L);
    sk__ev_settle(L, ec, 0);
}

void sk__ev_up_ready(struct sk__ev_loop *L, struct sk__ev_conn *ec, unsigned ev)
{
    sk__ev_hub_enter(L);
    ev &= ec->up_want;
    sk__ev_settle(L, ec, ev ? sk__up_io(&ec->c, ev, L->now) : 0);
}

int sk__ev_eof(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    ec->eof = 1;
    sk__conn_eof(&ec->c, L->now);
    return ec->c.tls ? sk__tls_eof(&ec->c) : 0;
}

struct tls_input {
    struct sk__ev_loop *L;
    struct sk__ev_conn *ec;
};

static int tls_deliver(void *arg, const char *p, size_t n)
{
    const struct tls_input *ti = arg;
    return sk__ev_input(ti->L, ti->ec, p, n);
}

int sk__ev_tls_input(struct sk__ev_loop *L, struct sk__ev_conn *ec, char *buf, size_t n, size_t cap)
{
    struct tls_input ti = {L, ec};
    int eof = 0;
    int r = sk__tls_recv(&ec->c, buf, n, cap, &eof, tls_deliver, &ti);
    if (r == 0 && eof)
        r = sk__ev_eof(L, ec);
    return r;
}

/* ---- accepting ---- */

static void refuse(struct sk__ev_loop *L, int fd, const struct sk_addr *peer, const char *why)
{
    static struct sk__ratelimit rl;
    if (sk__rate_ok(&rl, NULL)) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(peer, a, sizeof(a));
        sk_log(SK_LOG_WARN, "%s: closing connection from %s (descriptor %d)", why, a, fd);
    }
    close(fd);
    sk__perip_release(L->srv, peer);
    atomic_fetch_sub(&L->srv->st->active, 1);
    atomic_fetch_add(&L->srv->st->rejected, 1);
}

static void new_conn(struct sk__ev_loop *L, int fd, const struct sk_addr *peer)
{
    char why[96] = "out of memory";

    if (L->be->admit && L->be->admit(L, fd, why, sizeof(why)) < 0) {
        refuse(L, fd, peer, why);
        return;
    }
    struct sk__ev_conn *ec = calloc(1, L->be->conn_size);
    if (!ec) {
        refuse(L, fd, peer, why);
        return;
    }
    ec->loop = L;
    sk__list_init(&ec->link);
    sk__list_init(&ec->pending);
    sk__list_init(&ec->remote);
    if (L->be->send)
        ec->c.ops = L->lock_hub ? &hub_ops : &plain_ops;
    else
        ec->c.ops = L->lock_hub ? &hub_splice_ops : &splice_ops;
    ec->c.model_data = ec;
    int r = sk__conn_open(L->srv, &ec->c, fd, peer); /* on failure: closed, released */
    if (r == 0 && (r = L->be->attach(L, ec)) < 0) {
        mark_closed(L, ec);
        sk__conn_close(&ec->c, r);
    }
    if (r < 0) {
        ec->closed = 1;
        forget(L, ec); /* open() may have woken it */
        return;
    }
    sk__list_push(&L->conns, &ec->link);
    L->nconns++;
    process(L, ec); /* a banner goes out now */
}

/* Loop 0 opens the service's server-wide links (conn.h) before serving. */
static void open_links(struct sk__ev_loop *L)
{
    for (unsigned i = 0; L->index == 0 && i < L->srv->links; i++) {
        struct sk__ev_conn *ec = calloc(1, L->be->conn_size);
        int r = ec ? 0 : -ENOMEM;
        if (ec) {
            ec->loop = L;
            sk__list_init(&ec->link);
            sk__list_init(&ec->pending);
            sk__list_init(&ec->remote);
            ec->c.ops = L->lock_hub ? &hub_ops : &plain_ops;
            ec->c.model_data = ec;
            ec->is_link = 1;
            ec->eof = 1; /* no client to read */
            r = sk__link_open(L->srv, &ec->c, i);
            if (r == 0 && (r = L->be->attach(L, ec)) < 0) {
                mark_closed(L, ec);
                sk__conn_close(&ec->c, r);
            }
        }
        if (r < 0) {
            sk_log(SK_LOG_ERROR, "%s: cannot open the service's link %u: %s", L->name, i,
                   sk_strerror(r));
            if (ec) {
                ec->closed = 1;
                forget(L, ec);
            }
            continue;
        }
        sk__list_push(&L->conns, &ec->link);
        process(L, ec);
    }
}

void sk__ev_accept(struct sk__ev_loop *L)
{
    static struct sk__ratelimit rl;

    for (int i = 0; i < ACCEPT_BATCH && !L->stopping; i++) {
        struct sk_addr peer;
        if (!sk__server_accept_turn(L->srv, L->nconns))
            return; /* another loop takes it */
        int fd = sk__server_accept(L->srv, L->lfd, &peer, 1);
        if (fd == -EAGAIN || fd == -EINTR)
            return;
        if (fd < 0) {
            if (sk__rate_ok(&rl, NULL))
                sk_log(SK_LOG_WARN, "accept: %s", sk_strerror(fd));
            return;
        }
        new_conn(L, fd, &peer);
    }
}

/* ---- the phases ---- */

void sk__ev_begin_stop(struct sk__ev_loop *L)
{
    if (L->stopping)
        return;
    L->stopping = 1;
    L->stop_at = L->now + L->srv->lim.drain_ms;
    L->be->unwatch(L);
    struct sk__list *n, *tmp;
    SK_LIST_EACH_SAFE(n, tmp, &L->conns)
    {
        process(L, SK_LIST_ENTRY(n, struct sk__ev_conn, link));
    }
}

int sk__ev_stdin(struct sk__ev_loop *L)
{
    if (!sk__server_terminal_line(L->srv))
        return 0;
    sk__ev_begin_stop(L);
    return 1;
}

static void run_pending(struct sk__ev_loop *L)
{
    struct sk__list *n;
    while ((n = sk__list_first(&L->pending)) != NULL) {
        sk__list_remove(n);
        process(L, SK_LIST_ENTRY(n, struct sk__ev_conn, pending)); /* closed ones left the list */
    }
}

static void run_timers(struct sk__ev_loop *L)
{
    struct sk_timer *t;
    int guard = 0;

    while ((t = sk__timer_top(&L->timers)) != NULL && t->at <= L->now && guard++ < 4096) {
        struct sk__ev_conn *ec = SK_LIST_ENTRY(t, struct sk__ev_conn, timer);
        int held = ec->held;
        int64_t due = sk__conn_due(&ec->c, ec->fat, held);
        if (!due) {
            sk__timer_del(&L->timers, t);
            continue;
        }
        if (due > L->now) {
            sk__timer_set(&L->timers, t, due);
            continue;
        }
        sk__timer_del(&L->timers, t);
        if (ec->fat && L->now - ec->c.last_ms >= SK_EV_SHRINK_MS) {
            sk__ev_hub_enter(L);
            sk_buf_shrink(&ec->c.in, SK_EV_KEEP_BUF); /* each only when empty */
            sk_buf_shrink(&ec->c.out, SK_EV_KEEP_BUF);
            if (ec->sending)
                sk_buf_shrink(ec->sending, SK_EV_KEEP_BUF);
            sk__ev_hub_leave(L);
            ec->fat = 0; /* finish() flags it again if still (or again) large */
        }
        if (!sk__conn_expired(&ec->c, L->now, held)) {
            int r = arm_timer(L, ec);
            if (r < 0)
                close_conn(L, ec, r);
            continue;
        }
        int r = sk__conn_expire(&ec->c, L->now, 0, held);
        if (r < 0)
            close_conn(L, ec, r);
        else
            process(L, ec);
    }
}

static void flush_counters(struct sk__ev_loop *L)
{
    struct sk_stats *st = L->srv->st;
    if (L->bytes_in) {
        atomic_fetch_add_explicit(&st->bytes_in, L->bytes_in, memory_order_relaxed);
        L->bytes_in = 0;
    }
    if (L->bytes_out) {
        atomic_fetch_add_explicit(&st->bytes_out, L->bytes_out, memory_order_relaxed);
        L->bytes_out = 0;
    }
}

/* Free closed connections the kernel no longer holds (all of them: force). */
static void bury(struct sk__ev_loop *L, int force)
{
    struct sk__list *n, *tmp;
    SK_LIST_EACH_SAFE(n, tmp, &L->closing)
    {
        struct sk__ev_conn *ec = SK_LIST_ENTRY(n, struct sk__ev_conn, link);
        if (ec->inflight && !force)
            continue;
        sk__list_remove(n);
        if (ec->sending)
            sk_buf_free(ec->sending);
        free(ec);
    }
}

static int loop_run(struct sk__ev_loop *L)
{
    struct sk_server *srv = L->srv;

    this_loop = L;
    L->now = sk_now_ms();
    if (L->be->start) {
        int r = L->be->start(L);
        if (r < 0) {
            sk_log(SK_LOG_ERROR, "%s setup: %s", L->name, sk_strerror(r));
            sk_server_stop(srv);
            return L->err = r;
        }
    }
    open_links(L);
    for (;;) {
        if (!L->stopping && srv->stop)
            sk__ev_begin_stop(L);
        if (L->stopping && (L->nconns == 0 || L->now >= L->stop_at))
            break;
        int cap = L->stopping ? (int)SK_MAX(0, L->stop_at - L->now) : -1;
        int r = L->be->poll(L, sk__timer_wait_ms(&L->timers, L->now, cap));
        if (r < 0) {
            sk_log(SK_LOG_ERROR, "%s: %s", L->name, sk_strerror(r));
            L->err = r;
            sk_server_stop(srv);
            break;
        }
        run_pending(L);
        run_timers(L);
        run_pending(L);
        flush_counters(L);
        bury(L, 0);
    }
    /* The bound passed (or an error): close what is left. */
    struct sk__list *n;
    while ((n = sk__list_first(&L->conns)) != NULL)
        close_conn(L, SK_LIST_ENTRY(n, struct sk__ev_conn, link), -ETIMEDOUT);
    run_pending(L);
    flush_counters(L);
    if (L->be->drain)
        L->be->drain(L);
    bury(L, 0);
    return L->err;
}

/* ---- starting N loops ---- */

static int loop_init(struct sk__ev_loop *L, struct sk_server *srv, unsigned index, unsigned n,
                     const void *arg)
{
    int r;

    L->srv = srv;
    L->index = index;
    L->nloops = n;
    L->lock_hub = (srv->svc->flags & SK_SVC_HUB) != 0;
    if (index > 0 && sk_addr_family(&srv->addr) != AF_UNIX) {
        /* Its own duplicate of the listener: the loops share the accept queue. */
        if ((L->lfd = sk_server_listener(srv)) < 0)
            return L->lfd;
        L->own_lfd = 1;
    }
    if ((r = sk_sock_set_nonblock(L->lfd, 1)) < 0)
        return r;
    if (n > 1 && L->lock_hub && (L->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        return -errno;
    return L->be->init(L, arg);
}

static void loop_free(struct sk__ev_loop *L)
{
    L->be->free(L);
    bury(L, 1); /* after the backend let go of everything */
    if (L->own_lfd && L->lfd >= 0)
        close(L->lfd);
    if (L->wake_fd >= 0)
        close(L->wake_fd);
    sk__timer_heap_free(&L->timers);
}

struct ev_thread {
    struct sk__ev_loop *loop;
    int err;
    pthread_t tid;
};

static void *ev_thread_main(void *arg)
{
    struct ev_thread *t = arg;
    sk__block_signals();
    t->err = loop_run(t->loop);
    return NULL;
}

int sk__ev_run(struct sk_server *srv, const struct sk__ev_backend *be, const void *arg)
{
    unsigned n = srv->workers ? srv->workers : 1, started = 1;
    char *loops = calloc(n, be->loop_size);
    struct ev_thread *th = calloc(n, sizeof(*th));
    int r = 0;

    if (!loops || !th) {
        free(loops);
        free(th);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        struct sk__ev_loop *L = (struct sk__ev_loop *)(void *)(loops + (size_t)i * be->loop_size);
        th[i].loop = L;
        L->be = be;
        L->name = "event loop";
        L->lfd = srv->lfd;
        L->wake_fd = -1;
        sk__list_init(&L->conns);
        sk__list_init(&L->pending);
        sk__list_init(&L->closing);
        sk__list_init(&L->remote);
        sk__timer_heap_init(&L->timers);
    }
    for (unsigned i = 0; i < n && r == 0; i++)
        r = loop_init(th[i].loop, srv, i, n, arg);
    if (r < 0)
        goto out;
    for (; started < n; started++) {
        int e = pthread_create(&th[started].tid, NULL, ev_thread_main, &th[started]);
        if (e) {
            r = -e;
            sk_server_stop(srv);
            break;
        }
    }
    int e0 = loop_run(th[0].loop);
    if (r == 0)
        r = e0;
    for (unsigned i = 1; i < started; i++) {
        pthread_join(th[i].tid, NULL);
        if (r == 0)
            r = th[i].err;
    }
out:
    for (unsigned i = 0; i < n; i++)
        loop_free(th[i].loop);
    free(th);
    free(loops);
    return r;
}
