/*
 * server.c - the server core every model shares: binding, admission,
 * accepting (with EMFILE handling), feeding the service, closing, stopping.
 */
#include "sockit/server.h"

#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

/* A descriptor kept in reserve: on EMFILE it is closed so the waiting
 * connection can be accepted and closed, then it is reopened. */
static int reserve_fd = -1;
static pthread_mutex_t reserve_lock = PTHREAD_MUTEX_INITIALIZER;

void sk_server_init(struct sk_server *srv)
{
    memset(srv, 0, sizeof(*srv));
    srv->lfd = -1;
    srv->stop_fd = -1;
    srv->socktype = SOCK_STREAM;
    srv->lim.max_conns = 10000;
    srv->lim.idle_timeout_ms = 300 * 1000;
    srv->lim.in_max = 64 * 1024;
    srv->lim.out_max = 1024 * 1024;
    sk_limits_settle(&srv->lim);
    srv->lim.drain_ms = 2000;
    pthread_mutex_init(&srv->hub_lock, NULL);
    /* Counters live in shared memory so forked workers add to the same ones. */
    void *m = mmap(NULL, sizeof(struct sk_stats), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    srv->st = m == MAP_FAILED ? calloc(1, sizeof(struct sk_stats)) : m;
    srv->st_shared = m != MAP_FAILED;
}

int sk_server_bind(struct sk_server *srv)
{
    if (srv->workers > 1 && sk_addr_family(&srv->addr) != AF_UNIX)
        srv->bind_flags |= SK_SOCK_REUSEPORT;
    int fd = sk_sock_listen(&srv->addr, srv->socktype, 4096, srv->bind_flags);
    if (fd < 0)
        return fd;
    srv->lfd = fd;
    if (sk_addr_family(&srv->addr) != AF_UNIX) {
        int r = sk_sock_local(fd, &srv->addr);
        if (r < 0)
            return r;
    } else {
        srv->unix_owned = 1;
    }
    srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->stop_fd < 0)
        return -errno;
    pthread_mutex_lock(&reserve_lock);
    if (reserve_fd < 0)
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_unlock(&reserve_lock);
    return 0;
}

int sk_server_listener(struct sk_server *srv)
{
    return sk_sock_listen(&srv->addr, srv->socktype, 4096, srv->bind_flags | SK_SOCK_REUSEPORT);
}

void sk_server_stop(struct sk_server *srv)
{
    uint64_t one = 1;

    srv->stop = 1;
    if (srv->stop_fd >= 0) {
        ssize_t w = write(srv->stop_fd, &one, sizeof(one));
        (void)w;
    }
}

int sk_server_run(struct sk_server *srv)
{
    return srv->model->run(srv);
}

void sk_server_close(struct sk_server *srv)
{
    if (srv->lfd >= 0)
        close(srv->lfd);
    if (srv->unix_owned && srv->addr.u.un.sun_path[0] != '\0')
        unlink(srv->addr.u.un.sun_path);
    if (srv->stop_fd >= 0)
        close(srv->stop_fd);
    if (srv->svc && srv->svc->destroy && srv->svc_state)
        srv->svc->destroy(srv->svc_state);
    if (srv->st_shared)
        munmap(srv->st, sizeof(struct sk_stats));
    else
        free(srv->st);
    pthread_mutex_destroy(&srv->hub_lock);
    srv->lfd = srv->stop_fd = -1;
    srv->svc_state = NULL;
    srv->st = NULL;
}

/* At most one line a second for a repeated condition. */
static int rate_ok(_Atomic int64_t *last)
{
    int64_t now = sk_now_ms(), prev = atomic_load(last);
    return now - prev >= 1000 && atomic_compare_exchange_strong(last, &prev, now);
}

static int shed_one(int lfd)
{
    static _Atomic int64_t last_log;
    int r = -EAGAIN;

    pthread_mutex_lock(&reserve_lock);
    if (reserve_fd >= 0) {
        close(reserve_fd);
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            close(fd);
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    } else {
        /* No reserve: back off briefly so the loop does not spin. */
        usleep(10 * 1000);
    }
    pthread_mutex_unlock(&reserve_lock);
    if (rate_ok(&last_log))
        sk_log(SK_LOG_WARN, "out of file descriptors: closing new connections");
    return r;
}

int sk__server_accept(struct sk_server *srv, int lfd, struct sk_addr *peer, int nonblock)
{
    static _Atomic int64_t last_reject_log;
    struct sk_addr tmp;
    struct sk_addr *pa = peer ? peer : &tmp;

    memset(pa, 0, sizeof(*pa));
    pa->len = sizeof(pa->u);
    int fd = accept4(lfd, &pa->u.sa, &pa->len, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
    if (fd < 0) {
        int e = errno;
        if (e == EMFILE || e == ENFILE)
            return shed_one(lfd);
        if (e == EWOULDBLOCK)
            return -EAGAIN;
        /* Errors of one half-open connection are not the listener's. */
        if (e == ECONNABORTED || e == EPROTO || e == ENETDOWN || e == ENOPROTOOPT ||
            e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH || e == EOPNOTSUPP ||
            e == ENETUNREACH || e == EPERM)
            return -EAGAIN;
        return -e;
    }
    uint64_t prev = atomic_fetch_add(&srv->st->active, 1);
    if (srv->lim.max_conns && prev >= srv->lim.max_conns) {
        atomic_fetch_sub(&srv->st->active, 1);
        atomic_fetch_add(&srv->st->rejected, 1);
        if (rate_ok(&last_reject_log)) {
            char a[SK_ADDR_STRLEN];
            sk_addr_format(pa, a, sizeof(a));
            sk_log(SK_LOG_WARN, "max-conns %u reached: closing connection from %s",
                   srv->lim.max_conns, a);
        }
        close(fd);
        return -EAGAIN;
    }
    atomic_fetch_add(&srv->st->accepted, 1);
    if (srv->socktype == SOCK_STREAM && sk_addr_family(pa) != AF_UNIX)
        sk_sock_set_nodelay(fd, 1);
    return fd;
}

void sk__hub_lock(struct sk_server *srv)
{
    if (srv->svc->flags & SK_SVC_HUB)
        pthread_mutex_lock(&srv->hub_lock);
}

void sk__hub_unlock(struct sk_server *srv)
{
    if (srv->svc->flags & SK_SVC_HUB)
        pthread_mutex_unlock(&srv->hub_lock);
}

int sk__conn_open(struct sk_server *srv, struct sk_conn *c, int fd, const struct sk_addr *peer)
{
    const struct sk_service *svc = srv->svc;
    const struct sk_conn_ops *ops = c->ops; /* set by the model before the call */
    void *md = c->model_data;

    memset(c, 0, sizeof(*c));
    c->ops = ops;
    c->model_data = md;
    c->fd = fd;
    c->srv = srv;
    c->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    if (peer)
        c->peer = *peer;
    sk_buf_init(&c->in, srv->lim.in_max);
    sk_buf_init(&c->out, srv->lim.out_max);
    c->file.fd = -1;
    c->last_ms = sk_now_ms();
    if (svc->conn_size) {
        c->ctx = calloc(1, svc->conn_size);
        if (!c->ctx) {
            sk__conn_close(c, -ENOMEM);
            return -ENOMEM;
        }
    }
    int r = 0;
    if (svc->open) {
        sk__hub_lock(srv);
        r = svc->open(c);
        sk__hub_unlock(srv);
    }
    c->opened = 1;
    if (r < 0) {
        sk__conn_close(c, r);
        return r;
    }
    return 0;
}

int sk__conn_feed_locked(struct sk_conn *c)
{
    struct sk_server *srv = c->srv;

    while (sk_buf_len(&c->in) > 0) {
        if (c->flags & (SK_CONN_END | SK_CONN_ABORT)) {
            sk_buf_clear(&c->in); /* the service is done with this peer */
            return 0;
        }
        if (c->file.fd >= 0 || sk_buf_len(&c->out) > srv->lim.out_high)
            return 0; /* backpressure: resume once output drains */
        ssize_t r = srv->svc->data(c, sk_buf_data(&c->in), sk_buf_len(&c->in));
        if (r < 0)
            return (int)r;
        if (r == 0) {
            if (sk_buf_len(&c->in) >= c->in.max)
                return -EMSGSIZE;
            return 0;
        }
        sk_buf_consume(&c->in, (size_t)r);
    }
    return 0;
}

int sk__conn_feed(struct sk_conn *c)
{
    /* The whole loop runs under the hub lock: it reads c->flags and c->out,
     * which other connections' callbacks may change for hub services. */
    sk__hub_lock(c->srv);
    int r = sk__conn_feed_locked(c);
    sk__hub_unlock(c->srv);
    return r;
}

void sk__conn_received(struct sk_conn *c, size_t n)
{
    sk_buf_commit(&c->in, n);
    c->bytes_in += n;
    c->last_ms = sk_now_ms();
    atomic_fetch_add_explicit(&c->srv->st->bytes_in, n, memory_order_relaxed);
}

void sk__conn_sent(struct sk_conn *c, size_t n)
{
    sk_buf_consume(&c->out, n);
    c->bytes_out += n;
    c->last_ms = sk_now_ms();
    atomic_fetch_add_explicit(&c->srv->st->bytes_out, n, memory_order_relaxed);
}

void sk__conn_file_sent(struct sk_conn *c, size_t n)
{
    c->file.off += (off_t)n;
    c->file.len -= n;
    c->bytes_out += n;
    c->last_ms = sk_now_ms();
    atomic_fetch_add_explicit(&c->srv->st->bytes_out, n, memory_order_relaxed);
    if (c->file.len == 0) {
        close(c->file.fd);
        c->file.fd = -1;
    }
}

void sk__conn_close(struct sk_conn *c, int err)
{
    struct sk_server *srv = c->srv;

    if (c->opened && srv->svc->close) {
        sk__hub_lock(srv);
        srv->svc->close(c);
        sk__hub_unlock(srv);
    }
    if (err < 0 && err != -ECONNRESET && err != -EPIPE) {
        atomic_fetch_add(&srv->st->errors, 1);
        char a[SK_ADDR_STRLEN];
        sk_addr_format(&c->peer, a, sizeof(a));
        sk_log(SK_LOG_DEBUG, "connection %llu from %s closed: %s", (unsigned long long)c->id, a,
               sk_strerror(err));
    }
    free(c->ctx);
    c->ctx = NULL;
    sk_buf_free(&c->in);
    sk_buf_free(&c->out);
    if (c->file.fd >= 0)
        close(c->file.fd);
    c->file.fd = -1;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->opened = 0;
    if (!srv->active_by_parent)
        atomic_fetch_sub(&srv->st->active, 1);
}

void sk__block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}
