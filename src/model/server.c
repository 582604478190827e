/*
 * server.c - the server core every model shares: binding, admission,
 * accepting (with EMFILE handling), opening and closing connections, stopping
 * (feeding, flushing and deadlines are in drive.c).
 */
#include "sockit/server.h"

#include "internal.h"

#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/sock.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
    for (unsigned i = 0; i < SK_SERVER_MAX_ADDRS; i++)
        srv->lfds[i] = -1;
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

static void close_listeners(struct sk_server *srv)
{
    if (srv->lfd >= 0 && (srv->nlfd == 0 || srv->lfd != srv->lfds[0]))
        close(srv->lfd); /* the epoll set of several listeners */
    for (unsigned i = 0; i < srv->nlfd; i++)
        close(srv->lfds[i]);
    srv->nlfd = 0;
    srv->lfd = -1;
}

/* One listener on a. A Unix socket file gets srv->unix_mode exactly: the
 * umask is set around bind() (no thread runs yet), so the file never exists
 * with wider permissions. */
static int listen_on(struct sk_server *srv, const struct sk_addr *a)
{
    unsigned flags = srv->bind_flags & ~(unsigned)SK_SOCK_REUSEPORT;
    if (sk_addr_family(a) != AF_UNIX || !srv->unix_mode)
        return sk_sock_listen(a, srv->socktype, 4096, flags);
    mode_t old = umask(~(mode_t)srv->unix_mode & 0777);
    int fd = sk_sock_listen(a, srv->socktype, 4096, flags);
    umask(old);
    return fd;
}

/* Bind every address on the first one's port. *first_failed tells whether
 * the first address itself could not be bound. */
static int bind_all(struct sk_server *srv, int *first_failed)
{
    int fd = listen_on(srv, &srv->addr);
    *first_failed = fd < 0;
    if (fd < 0)
        return fd;
    srv->lfds[srv->nlfd++] = fd;
    if (sk_addr_family(&srv->addr) == AF_UNIX)
        return 0;
    int r = sk_sock_local(fd, &srv->addr);
    if (r < 0)
        return r;
    unsigned keep = 0;
    for (unsigned i = 0; i < srv->nmore; i++) {
        struct sk_addr a = srv->more[i];
        sk_addr_set_port(&a, sk_addr_port(&srv->addr));
        if ((fd = listen_on(srv, &a)) == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT)
            continue; /* e.g. no ::1 on a host without IPv6: serve the rest */
        if (fd < 0) {
            srv->addr = a; /* the one that failed, for the caller's message */
            return fd;
        }
        srv->more[keep++] = a;
        srv->lfds[srv->nlfd++] = fd;
    }
    srv->nmore = keep;
    return 0;
}

/* Several stream listeners: an epoll set of them is what models watch. */
static int listener_set(struct sk_server *srv)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -errno;
    for (unsigned i = 0; i < srv->nlfd; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = srv->lfds[i]};
        int r = sk_sock_set_nonblock(srv->lfds[i], 1);
        if (r == 0 && epoll_ctl(ep, EPOLL_CTL_ADD, srv->lfds[i], &ev) < 0)
            r = -errno;
        if (r < 0) {
            close(ep);
            return r;
        }
    }
    srv->lfd = ep;
    return 0;
}

static int stop_ready(struct sk_server *srv)
{
    int r = sk__perip_init(srv);
    if (r < 0)
        return r;
    srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->stop_fd < 0)
        return -errno;
    pthread_mutex_lock(&reserve_lock);
    if (reserve_fd < 0)
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_unlock(&reserve_lock);
    return 0;
}

static int listeners_ready(struct sk_server *srv);
static int perip_admit(struct sk_server *srv, const struct sk_addr *peer);

/*
 * No listener is bound with SO_REUSEPORT: the kernel lets any socket of the
 * same user that sets it join a reuseport group, so a second server on the
 * same port would silently take half the connections (or datagrams). Bound
 * without it, a taken port is EADDRINUSE whoever holds it, and --workers
 * loops share one listener through duplicates (sk_server_listener()).
 */
int sk_server_bind(struct sk_server *srv)
{
    int ephemeral = sk_addr_family(&srv->addr) != AF_UNIX && sk_addr_port(&srv->addr) == 0;
    struct sk_addr first = srv->addr;
    int first_failed = 0, r;

    for (int tries = 0;; tries++) {
        if ((r = bind_all(srv, &first_failed)) == 0)
            break;
        close_listeners(srv);
        /* The port the kernel picked for the first address is taken on
         * another: pick again. */
        if (r != -EADDRINUSE || !ephemeral || first_failed || tries == 8)
            return r;
        srv->addr = first;
    }
    if (sk_addr_family(&srv->addr) == AF_UNIX)
        srv->unix_owned = 1;
    return listeners_ready(srv);
}

/* Listeners are in lfds[]: what models wait on, the stop eventfd and the
 * reserve descriptor. */
static int listeners_ready(struct sk_server *srv)
{
    int r;

    srv->lfd = srv->lfds[0];
    if (srv->nlfd > 1 && srv->socktype == SOCK_STREAM && (r = listener_set(srv)) < 0)
        return r;
    return stop_ready(srv);
}

/* Is fd a socket of type socktype, listening when a stream one? Its
 * address goes to *a. 0 or a negative errno with err saying why. */
static int check_passed(int fd, int socktype, struct sk_addr *a, char *err, size_t errlen)
{
    int type = 0, acc = 0;
    socklen_t len = sizeof(type);

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        int e = errno;
        snprintf(err, errlen, "descriptor %d is not a socket: %s", fd, sk_strerror(-e));
        return -e;
    }
    if (type != socktype) {
        snprintf(err, errlen, "descriptor %d is a %s socket, not a %s one (see -u)", fd,
                 type == SOCK_STREAM  ? "stream"
                 : type == SOCK_DGRAM ? "datagram"
                                      : "other",
                 socktype == SOCK_STREAM ? "stream" : "datagram");
        return -EPROTOTYPE;
    }
    len = sizeof(acc);
    if (socktype == SOCK_STREAM &&
        (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc)) {
        snprintf(err, errlen, "descriptor %d is not a listening socket (Accept=yes wants --inetd)",
                 fd);
        return -EINVAL;
    }
    int r = sk_sock_local(fd, a);
    if (r < 0) {
        snprintf(err, errlen, "descriptor %d: %s", fd, sk_strerror(r));
        return r;
    }
    return 0;
}

int sk_server_adopt_systemd(struct sk_server *srv, char *err, size_t errlen)
{
    const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
    char *end;

    err[0] = '\0';
    if (!pid || !nfds)
        return 0;
    errno = 0;
    unsigned long p = strtoul(pid, &end, 10), n;
    if (errno || *end || end == pid || p != (unsigned long)getpid())
        return 0; /* meant for another process (the one that exec'ed us) */
    errno = 0;
    n = strtoul(nfds, &end, 10);
    const char *names = getenv("LISTEN_FDNAMES");
    if (names)
        sk_log(SK_LOG_DEBUG, "socket activation: LISTEN_FDS=%s, LISTEN_FDNAMES=%s", nfds, names);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (errno || *end || end == nfds || n == 0 || n > SK_SERVER_MAX_ADDRS) {
        snprintf(err, errlen, "LISTEN_FDS=%s: want 1..%d sockets", nfds, SK_SERVER_MAX_ADDRS);
        return -EINVAL;
    }
    for (unsigned i = 0; i < n; i++) {
        int fd = SK_LISTEN_FDS_START + (int)i, r;
        struct sk_addr a;
        if ((r = check_passed(fd, srv->socktype, &a, err, errlen)) < 0)
            return r;
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
            return -errno;
        srv->lfds[srv->nlfd++] = fd;
        if (i == 0)
            srv->addr = a;
        else
            srv->more[srv->nmore++] = a;
    }
    int r = listeners_ready(srv);
    return r < 0 ? r : (int)n;
}

int sk_server_adopt_conn(struct sk_server *srv, int fd, struct sk_addr *peer)
{
    int r = stop_ready(srv);
    if (r < 0)
        return r;
    memset(peer, 0, sizeof(*peer));
    peer->len = sizeof(peer->u);
    if (getpeername(fd, &peer->u.sa, &peer->len) < 0)
        return -errno; /* ENOTSOCK, ENOTCONN: not a connection */
    sk_sock_local(fd, &srv->addr);
    return 0;
}

int sk_server_serve_conn(struct sk_server *srv, int fd, const struct sk_addr *peer)
{
    if (!sk__server_admit(srv, peer)) {
        close(fd);
        return -EACCES;
    }
    if (!perip_admit(srv, peer)) {
        close(fd);
        return -EACCES;
    }
    atomic_fetch_add(&srv->st->active, 1);
    atomic_fetch_add(&srv->st->accepted, 1);
    return sk__serve_blocking(srv, fd, peer);
}

int sk_server_listener(struct sk_server *srv)
{
    int fd = fcntl(srv->lfd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

void sk__server_drop_listeners(struct sk_server *srv)
{
    close_listeners(srv);
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

int sk__server_terminal_line(struct sk_server *srv)
{
    static int64_t last_background_ms;
    char line[256];

    pid_t fg = tcgetpgrp(STDIN_FILENO); /* -1: not our controlling terminal, no jobs */
    if (fg != -1 && fg != getpgrp()) {
        /* Typed for the job in the foreground: not ours to read (reading
         * would stop us with SIGTTIN). A terminal stays readable until that
         * job reads, so back off briefly rather than spin. */
        int64_t now = sk_now_ms();
        if (now - last_background_ms < 5)
            usleep(2000);
        last_background_ms = now;
        return 0;
    }
    /* The input that woke the caller may have been the shell's, read before
     * `fg` made us the foreground job: never block in read() for a line. */
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    if (poll(&p, 1, 0) != 1)
        return 0;
    ssize_t n = read(STDIN_FILENO, line, sizeof(line) - 1);
    if (n < 0)
        return 0; /* EIO: we went to the background in between; EINTR, EAGAIN */
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (n > 0 && strcmp(line, "q") != 0 && strcmp(line, "quit") != 0)
        return 0; /* a bare Enter spaces out the log */
    if (n == 0)
        sk_log(SK_LOG_INFO, "end of input on the terminal: stopping");
    else
        sk_log(SK_LOG_INFO, "'%s' on the terminal: stopping", line);
    sk_server_stop(srv);
    return 1;
}

int sk_server_run(struct sk_server *srv)
{
    return srv->model->run(srv);
}

void sk_server_close(struct sk_server *srv)
{
    close_listeners(srv);
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
    sk_tls_ctx_free(srv->tls);
    srv->tls = NULL;
    pthread_mutex_destroy(&srv->hub_lock);
    sk_acl_free(&srv->acl);
    sk__perip_free(srv);
    srv->stop_fd = -1;
    srv->svc_state = NULL;
    srv->st = NULL;
}

static int shed_one(int lfd)
{
    static struct sk__ratelimit rl;
    int r = -EAGAIN, none;

    pthread_mutex_lock(&reserve_lock);
    none = reserve_fd < 0;
    if (!none) {
        close(reserve_fd);
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            close(fd);
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    pthread_mutex_unlock(&reserve_lock);
    if (none)
        usleep(10 * 1000); /* no reserve: back off briefly (not holding the lock) */
    if (sk__rate_ok(&rl, NULL))
        sk_log(SK_LOG_WARN, "out of file descriptors: closing new connections");
    return r;
}

/* accept4() on one listener, with the errors that are not the listener's
 * (and running out of descriptors) turned into -EAGAIN. */
static int accept_on(int lfd, struct sk_addr *pa, int nonblock)
{
    memset(pa, 0, sizeof(*pa));
    pa->len = sizeof(pa->u);
    int fd = accept4(lfd, &pa->u.sa, &pa->len, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
    if (fd >= 0)
        return fd;
    int e = errno;
    if (e == EMFILE || e == ENFILE)
        return shed_one(lfd);
    if (e == EWOULDBLOCK)
        return -EAGAIN;
    /* Errors of one half-open connection are not the listener's. */
    if (e == ECONNABORTED || e == EPROTO || e == ENETDOWN || e == ENOPROTOOPT || e == EHOSTDOWN ||
        e == ENONET || e == EHOSTUNREACH || e == EOPNOTSUPP || e == ENETUNREACH || e == EPERM)
        return -EAGAIN;
    return -e;
}

int sk__server_admit(struct sk_server *srv, const struct sk_addr *peer)
{
    static struct sk__ratelimit rl;
    uint64_t more = 0;

    if (!sk_acl_active(&srv->acl) || sk_acl_permits(&srv->acl, peer))
        return 1;
    atomic_fetch_add(&srv->st->denied, 1);
    if (sk__rate_ok(&rl, &more)) {
        char a[SK_ADDR_STRLEN], e[2 * SK_ADDR_STRLEN];
        sk_addr_format(peer, a, sizeof(a));
        if (sk_log_flags & SK_LOGF_JSON)
            sk_log_event(SK_LOG_WARN, "deny", ", \"peer\": \"%s\", \"refused_since\": %llu",
                         sk_json_escape(a, e, sizeof(e)), (unsigned long long)more);
        else
            sk_log(
                SK_LOG_WARN,
                "access denied to %s (--allow/--deny); %llu more refused since the last such line",
                a, (unsigned long long)more);
    }
    return 0;
}

/* --max-per-ip, --accept-rate: 1 when peer may open another connection
 * (then counted for it), else 0, the refusal counted as rejected and logged
 * at most once a second with the count of those refused in between. */
static int perip_admit(struct sk_server *srv, const struct sk_addr *peer)
{
    static struct sk__ratelimit rl;
    uint64_t more = 0;
    char a[SK_ADDR_STRLEN], why[96];

    int r = sk__perip_admit(srv, peer);
    if (r == SK_PERIP_OK)
        return 1;
    atomic_fetch_add(&srv->st->rejected, 1);
    if (sk__rate_ok(&rl, &more)) {
        if (r == SK_PERIP_MAX)
            snprintf(why, sizeof(why), "max-per-ip %u reached", srv->lim.max_per_ip);
        else if (r == SK_PERIP_RATE)
            snprintf(why, sizeof(why), "accept-rate %u/s exceeded", srv->lim.ip_rate);
        else
            snprintf(why, sizeof(why), "too many source addresses at once");
        sk_addr_format(peer, a, sizeof(a));
        sk_log(SK_LOG_WARN,
               "%s: closing connection from %s; %llu more refused since the last such line", why, a,
               (unsigned long long)more);
    }
    return 0;
}

int sk__server_accept(struct sk_server *srv, int lfd, struct sk_addr *peer, int nonblock)
{
    static struct sk__ratelimit reject_rl;
    /* Per thread: the listener of the set to try first, whether this run of
     * calls (up to the -EAGAIN that ends a burst) took any, and how many in
     * a row came from that listener. */
    static _Thread_local unsigned cur, took, run;
    struct sk_addr tmp;
    struct sk_addr *pa = peer ? peer : &tmp;
    int fd;

    if (srv->nlfd > 1 && srv->socktype == SOCK_STREAM) {
        /* lfd is the set of listeners (or a duplicate of it). Keep to the
         * listener that last gave a connection; when it is empty after a
         * burst, end the burst there: no accept4 on the others, since the
         * set stays readable while any has a connection waiting and the
         * caller comes back (then the others are tried). After 64 in a row
         * from one, the next starts first, so none waits long behind
         * another's queue. */
        fd = -EAGAIN;
        for (unsigned i = 0; i < srv->nlfd && fd == -EAGAIN; i++) {
            fd = accept_on(srv->lfds[cur % srv->nlfd], pa, nonblock);
            if (fd == -EAGAIN && took)
                break;
            if (fd == -EAGAIN || ++run >= 64) {
                cur++;
                run = 0;
            }
        }
        took = fd >= 0;
    } else {
        fd = accept_on(lfd, pa, nonblock);
    }
    if (fd < 0)
        return fd;
    if (sk_acl_active(&srv->acl) && !sk__server_admit(srv, pa)) {
        close(fd); /* before the service, or any counter of served ones, sees it */
        return -EAGAIN;
    }
    uint64_t prev = atomic_fetch_add(&srv->st->active, 1);
    if (srv->lim.max_conns && prev >= srv->lim.max_conns) {
        atomic_fetch_sub(&srv->st->active, 1);
        atomic_fetch_add(&srv->st->rejected, 1);
        if (sk__rate_ok(&reject_rl, NULL)) {
            char a[SK_ADDR_STRLEN], e[2 * SK_ADDR_STRLEN];
            sk_addr_format(pa, a, sizeof(a));
            if (sk_log_flags & SK_LOGF_JSON)
                sk_log_event(SK_LOG_WARN, "refuse",
                             ", \"peer\": \"%s\", \"reason\": \"max-conns %u reached\"",
                             sk_json_escape(a, e, sizeof(e)), srv->lim.max_conns);
            else
                sk_log(SK_LOG_WARN, "max-conns %u reached: closing connection from %s",
                       srv->lim.max_conns, a);
        }
        close(fd);
        return -EAGAIN;
    }
    if (srv->perip && !perip_admit(srv, pa)) {
        atomic_fetch_sub(&srv->st->active, 1);
        close(fd);
        return -EAGAIN;
    }
    atomic_fetch_add(&srv->st->accepted, 1);
    if (srv->socktype == SOCK_STREAM && sk_addr_family(pa) != AF_UNIX)
        sk_sock_set_nodelay(fd, 1);
    return fd;
}

int sk__server_accept_turn(struct sk_server *srv, size_t mine)
{
    static _Thread_local int64_t declining_since; /* ms; 0: this loop took the last one */
    unsigned n = srv->workers;

    if (n <= 1)
        return 1;
    uint64_t active = atomic_load_explicit(&srv->st->active, memory_order_relaxed);
    int64_t now = mine <= active / n + 1 ? 0 : sk_now_ms();
    if (now == 0 || (declining_since && now - declining_since >= 10)) {
        declining_since = 0;
        return 1;
    }
    if (!declining_since)
        declining_since = now;
    sched_yield(); /* on a busy machine the loop that should take it may share our CPU */
    return 0;
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

/* Whether connection events are logged: -v (text) or --json-log (JSON
 * events at the default level; -q silences them). */
static int conn_events(void)
{
    return (sk_log_flags & SK_LOGF_JSON) ? sk_log_level >= SK_LOG_INFO
                                         : sk_log_level >= SK_LOG_DEBUG;
}

/* The open and close lines of one connection, the same under every model. */
static void log_open(const struct sk_conn *c)
{
    char a[SK_ADDR_STRLEN], e[2 * SK_ADDR_STRLEN];
    sk_addr_format(&c->peer, a, sizeof(a));
    if (sk_log_flags & SK_LOGF_JSON)
        sk_log_event(SK_LOG_INFO, "open", ", \"id\": %llu, \"peer\": \"%s\"",
                     (unsigned long long)c->id, sk_json_escape(a, e, sizeof(e)));
    else
        sk_log(SK_LOG_DEBUG, "connection %llu from %s opened", (unsigned long long)c->id, a);
}

static void log_close(const struct sk_conn *c, int err)
{
    char a[SK_ADDR_STRLEN], e[2 * SK_ADDR_STRLEN], why[160], up[96] = "";
    int64_t ms = sk_now_ms() - c->open_ms;
    int failed = err < 0 && err != -ECONNRESET && err != -EPIPE;
    int json = (sk_log_flags & SK_LOGF_JSON) != 0;

    sk_addr_format(&c->peer, a, sizeof(a));
    if (c->up) /* the upstream's own counts, after the client's */
        snprintf(up, sizeof(up),
                 json ? ", \"upstream_bytes_out\": %llu, \"upstream_bytes_in\": %llu"
                      : "; upstream %llu bytes out, %llu in",
                 (unsigned long long)c->up->sent, (unsigned long long)c->up->received);
    if (json) {
        snprintf(why, sizeof(why), ", \"error\": \"%s\"", failed ? sk_strerror(err) : "");
        sk_log_event(SK_LOG_INFO, "close",
                     ", \"id\": %llu, \"peer\": \"%s\", \"duration_ms\": %lld, "
                     "\"bytes_in\": %llu, \"bytes_out\": %llu%s%s",
                     (unsigned long long)c->id, sk_json_escape(a, e, sizeof(e)), (long long)ms,
                     (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out, up,
                     failed ? why : "");
        return;
    }
    snprintf(why, sizeof(why), ": %s", failed ? sk_strerror(err) : "");
    sk_log(SK_LOG_DEBUG,
           "connection %llu from %s closed after %lld.%03lld s, %llu %s in, %llu %s out%s%s",
           (unsigned long long)c->id, a, (long long)(ms / 1000), (long long)(ms % 1000),
           (unsigned long long)c->bytes_in, c->bytes_in == 1 ? "byte" : "bytes",
           (unsigned long long)c->bytes_out, c->bytes_out == 1 ? "byte" : "bytes", up,
           failed ? why : "");
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
    c->id = atomic_fetch_add(&srv->st->ids, 1) + 1;
    if (peer)
        c->peer = *peer;
    sk_buf_init(&c->in, srv->lim.in_max);
    sk_buf_init(&c->out, srv->lim.out_max);
    c->file.fd = -1;
    c->last_ms = c->open_ms = sk_now_ms();
    if (conn_events())
        log_open(c);
    if (srv->tls && srv->socktype == SOCK_STREAM) {
        int r = sk__tls_open(c);
        if (r < 0) {
            sk__conn_close(c, r);
            return r;
        }
    }
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

int sk__link_open(struct sk_server *srv, struct sk_conn *c, unsigned index)
{
    const struct sk_service *svc = srv->svc;
    const struct sk_conn_ops *ops = c->ops;
    void *md = c->model_data;

    memset(c, 0, sizeof(*c));
    c->ops = ops;
    c->model_data = md;
    c->fd = -1;
    c->srv = srv;
    c->link = 1;
    c->id = atomic_fetch_add(&srv->st->ids, 1) + 1;
    sk_buf_init(&c->in, srv->lim.in_max);
    sk_buf_init(&c->out, srv->lim.out_max);
    c->file.fd = -1;
    c->last_ms = sk_now_ms(); /* open_ms stays 0: no open/close log line */
    if (svc->conn_size && !(c->ctx = calloc(1, svc->conn_size)))
        return -ENOMEM;
    int r = 0;
    if (svc->link_open) {
        sk__hub_lock(srv);
        r = svc->link_open(c, index);
        sk__hub_unlock(srv);
    }
    c->opened = 1;
    if (r < 0) {
        sk__conn_close(c, r);
        return r;
    }
    return 0;
}

void sk__conn_close(struct sk_conn *c, int err)
{
    struct sk_server *srv = c->srv;
    /* The service ended the connection while the peer may still be sending
     * (an answer to an oversized request, sent before the rest of it came):
     * a plain close would reset it and the peer could lose the answer. */
    int linger = c->fd >= 0 && err == 0 && (c->flags & SK_CONN_END) &&
                 !(c->flags & SK_CONN_ABORT) && sk__peer_sending(c->fd);

    if (c->up)
        sk__up_close_fds(c); /* first: a child reading its stdin sees EOF */
    if (c->opened && srv->svc->close) {
        sk__hub_lock(srv);
        srv->svc->close(c);
        sk__hub_unlock(srv);
    }
    if (err < 0 && err != -ECONNRESET && err != -EPIPE && !c->link)
        atomic_fetch_add(&srv->st->errors, 1);
    if (c->open_ms && conn_events())
        log_close(c, err);
    sk__up_free(c); /* after the log line, which gives its counts */
    free(c->ctx);
    c->ctx = NULL;
    sk__tls_close(c);
    sk_buf_free(&c->in);
    sk_buf_free(&c->out);
    if (c->file.fd >= 0)
        close(c->file.fd);
    c->file.fd = -1;
    if (c->fd >= 0) {
        if (linger)
            sk__linger_close(c->fd, srv->active_by_parent);
        else
            close(c->fd);
    }
    c->fd = -1;
    c->opened = 0;
    if (c->link)
        return; /* never counted as a client */
    if (srv->perip)
        sk__perip_release(srv, &c->peer);
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
