/*
 * loadgen.c - the load generator behind `sockit bench echo|http`.
 *
 * T worker threads, each with its own epoll loop over its share of the C
 * connections (connection i belongs to thread i % T). Sockets are
 * nonblocking with TCP_NODELAY; epoll is level-triggered and EPOLLOUT is
 * asked for only while output is pending.
 *
 * What a connection sends is a periodic byte stream read straight out of a
 * shared, read-only buffer: for echo, a pattern of period PATTERN_PERIOD
 * starting at an offset that depends on the connection, so the echo of byte
 * number k is checked against pattern[(off + k) % period] with memcmp and no
 * copy; for HTTP, the preformatted request repeated. Nothing is allocated
 * per request.
 *
 * Requests are tracked in a per-connection queue of timestamps: the time a
 * request was issued (closed loop: when it was written; open loop, --rate:
 * when it was *due*, so a stalled server shows its stall in the latencies
 * rather than hiding it, the coordinated-omission correction of wrk2). The
 * first `inflight` entries of the queue have been written. The clock is
 * read once per epoll_wait batch, and that time stamps every reply of the
 * batch and every request it issues.
 *
 * TLS (https://, --tls): OpenSSL over the nonblocking socket itself
 * (tls.h's descriptor kind). A connection that connected runs its
 * handshake in steps as epoll says the socket is ready for what TLS waits
 * for (CS_HANDSHAKE), bounded by --timeout; then it is open as a plain one
 * is, and its bytes go through sk_tls_write()/sk_tls_read() (the response
 * parser and the echo check see the plaintext, unchanged). A failed
 * handshake is an error of its own kind (SK_BERR_TLS), its first reason
 * kept for the report. No session is resumed: each connection is a full
 * handshake.
 */
#include "sockit/bench.h"

#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_PERIOD 4093u /* prime, so offsets and message sizes never line up */
#define CHUNK (64u * 1024)   /* largest single read or write */
#define TICK_NS (50 * 1000000LL)
#define RETRY_NS (100 * 1000000LL)
#define UDP_BATCH 64
#define SEQ_LEN 8 /* UDP datagrams start with their sequence number */
#define MAX_EVENTS 256
#define READS_PER_EVENT 16 /* of at most CHUNK bytes each */

const char *const sk_bench_err_names[SK_BERR_N] = {"connect", "read",     "timeout",
                                                   "status",  "mismatch", "tls"};

static atomic_int interrupted;

void sk_bench_interrupt(void)
{
    atomic_store(&interrupted, 1);
}

int sk_bench_interrupted(void)
{
    return atomic_load(&interrupted);
}

enum { CS_IDLE, CS_CONNECTING, CS_HANDSHAKE, CS_OPEN };

/* A request: when it was due (closed loop: issued) and when it was written. */
struct qent {
    int64_t due, sent;
};
enum { B_HEAD, B_LEN, B_CHUNKED, B_EOF };

struct conn {
    int fd;
    int state;
    struct sk_tls *tls; /* TLS over fd; NULL: plain */
    unsigned out_armed; /* EPOLLOUT is registered */
    uint32_t idx, gen;  /* in the worker's array; bumped at each connect, so
                         * a stale event for an older socket is ignored */
    uint32_t off;       /* where this connection's stream starts in the buffer */
    uint64_t tx_total;  /* bytes written since connect */
    uint64_t tx_want;   /* bytes that should have been written */
    uint64_t rx_total;  /* echo: bytes received and checked since connect */
    int msg_bad;        /* echo: the message being received differs */
    /* Issued, unanswered requests: their timestamps, oldest first. */
    struct qent *q;
    uint32_t qhead, qlen, qcap;
    uint32_t inflight; /* of those, how many were written */
    uint32_t reqi;     /* HTTP: the next request (of the rotated targets) to write */
    uint32_t src;      /* index in the source addresses */
    uint64_t replies;  /* over the whole run */
    int dirty;         /* in the worker's list of connections to write to */
    int64_t last_io;   /* last progress, for --timeout: connect start, the first request
                        * of an idle connection, a completed reply (a stream), any datagram */
    int64_t retry_at;  /* CS_IDLE: when to connect again */
    /* HTTP response state */
    int body;
    int64_t body_left;
    struct sk_http_chunked ch;
    struct sk_http_resp resp;
    char *hbuf; /* an incomplete head carried over to the next read */
    uint32_t hlen, hcap;
    /* Where the response head being read was left. */
    struct sk_http_resp_state rs;
};

struct worker {
    const struct sk_bench_cfg *cfg;
    pthread_t tid;
    int ep;
    struct conn *c;
    unsigned n;      /* connections */
    const char *out; /* the shared send buffer */
    const struct sk_addr *sources;
    unsigned nsources;
    unsigned first;       /* the index of this worker's first connection in the run */
    size_t period;        /* of the stream in out */
    size_t msg;           /* request (echo message / HTTP request) length */
    const size_t *reqlen; /* HTTP: the length of each rotated request, in stream order */
    uint32_t nreq;
    int head_method; /* HTTP HEAD: responses have no body */
    char *rx;        /* read buffer */
    char *txb;       /* UDP: the datagrams being sent */
    uint32_t *dirty; /* connections that got replies in this round */
    unsigned ndirty;
    size_t rxcap;
    uint64_t budget; /* requests this thread may still issue (count mode) */
    uint64_t outstanding_budget;
    int counted;          /* count mode */
    int64_t t0, end_at;   /* start and deadline (0: none) */
    int64_t t_end;        /* when this worker stopped */
    int64_t measure_from; /* the end of the --ramp: replies before it are not counted */
    /* open loop */
    int64_t interval_ns; /* between two due requests of this thread */
    int64_t next_due;
    unsigned rr;
    /* results */
    uint64_t requests, bytes_in, bytes_out, connects, handshakes, errors[SK_BERR_N];
    char tls_why[256];                             /* the first failed handshake's reason */
    atomic_uint_fast64_t pub_requests, pub_errors; /* for the progress line */
    atomic_int done;
    int64_t last_progress;
    struct sk_hist hist, hist_sent;
    /* --json-stream: this second's latencies, handed over under ilock each tick. */
    struct sk_hist *ihist, *ipub;
    pthread_mutex_t ilock;
    int err;           /* a fatal error of the harness */
    atomic_int *abort; /* this run is abandoned (a thread could not start) */
};

/* ---- helpers ---- */

static int is_http(const struct worker *w)
{
    return w->cfg->kind == SK_BENCH_HTTP;
}
static int is_udp(const struct worker *w)
{
    return w->cfg->kind == SK_BENCH_UDP_ECHO;
}

static int q_push(struct conn *c, int64_t t)
{
    if (c->qlen == c->qcap) {
        uint32_t ncap = c->qcap ? c->qcap * 2 : 4;
        struct qent *nq = malloc(sizeof(*nq) * ncap);
        if (!nq)
            return -ENOMEM;
        for (uint32_t i = 0; i < c->qlen; i++)
            nq[i] = c->q[(c->qhead + i) & (c->qcap - 1)];
        free(c->q);
        c->q = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qlen) & (c->qcap - 1)] = (struct qent){t, t};
    c->qlen++;
    return 0;
}

static struct qent q_pop(struct conn *c)
{
    struct qent t = c->q[c->qhead];
    c->qhead = (c->qhead + 1) & (c->qcap - 1);
    c->qlen--;
    return t;
}

static void set_out(struct worker *w, struct conn *c, int on)
{
    if ((unsigned)on == c->out_armed)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
                             .data.u64 = (uint64_t)c->gen << 32 | c->idx};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->out_armed = (unsigned)on;
}

static void conn_close(struct worker *w, struct conn *c, int64_t now)
{
    sk_tls_free(c->tls);
    c->tls = NULL;
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = CS_IDLE;
    c->out_armed = 0;
    c->inflight = 0; /* written but unanswered requests are written again */
    c->reqi = 0;
    c->tx_total = c->tx_want = c->rx_total = 0;
    c->msg_bad = 0;
    c->body = B_HEAD;
    c->hlen = 0;
    memset(&c->rs, 0, sizeof(c->rs));
    c->retry_at = now;
}

static void fail(struct worker *w, struct conn *c, int kind, int64_t now)
{
    w->errors[kind]++;
    conn_close(w, c, now);
    c->retry_at = now + (kind == SK_BERR_CONNECT ? RETRY_NS : 0);
}

/* ---- sending ---- */

static void put_seq(char *d, uint64_t seq)
{
    for (int i = 0; i < SEQ_LEN; i++)
        d[i] = (char)(seq >> (8 * i));
}

static uint64_t get_seq(const char *d)
{
    uint64_t v = 0;
    for (int i = 0; i < SEQ_LEN; i++)
        v |= (uint64_t)(unsigned char)d[i] << (8 * i);
    return v;
}

/* A send and a read on the stream, through TLS when it has it: bytes, 0 at
 * the end (read), or a negative errno (-EAGAIN: would block; under TLS
 * sk_tls_want() says for what). */
static ssize_t conn_send(struct conn *c, const void *p, size_t n)
{
    if (c->tls)
        return sk_tls_write(c->tls, p, n);
    ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
    return r < 0 ? -errno : r;
}

static ssize_t conn_recv(struct conn *c, void *p, size_t n)
{
    if (c->tls)
        return sk_tls_read(c->tls, p, n);
    ssize_t r = read(c->fd, p, n);
    return r < 0 ? -errno : r;
}

/* Write what is due; arm EPOLLOUT when the socket is full. */
static void flush(struct worker *w, struct conn *c, int64_t now)
{
    if (c->state != CS_OPEN)
        return;
    if (is_udp(w)) {
        struct mmsghdr mm[UDP_BATCH];
        struct iovec iov[UDP_BATCH];
        while (c->tx_total < c->tx_want) {
            unsigned k = 0;
            for (uint64_t pos = c->tx_total; pos < c->tx_want && k < UDP_BATCH;
                 pos += w->msg, k++) {
                /* A datagram: its sequence number, then the pattern. */
                char *d = w->txb + (size_t)k * w->msg;
                put_seq(d, pos / w->msg);
                memcpy(d + SEQ_LEN, w->out + (c->off + pos + SEQ_LEN) % w->period,
                       w->msg - SEQ_LEN);
                iov[k].iov_base = d;
                iov[k].iov_len = w->msg;
                memset(&mm[k].msg_hdr, 0, sizeof(mm[k].msg_hdr));
                mm[k].msg_hdr.msg_iov = &iov[k];
                mm[k].msg_hdr.msg_iovlen = 1;
            }
            int r = k == 1 ? (int)send(c->fd, iov[0].iov_base, w->msg, MSG_NOSIGNAL)
                           : sendmmsg(c->fd, mm, k, MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == ENOBUFS) {
                    set_out(w, c, 1);
                    return;
                }
                fail(w, c, errno == ECONNREFUSED ? SK_BERR_CONNECT : SK_BERR_READ, now);
                return;
            }
            if (k == 1)
                r = 1;
            c->tx_total += (uint64_t)r * w->msg;
            w->bytes_out += (uint64_t)r * w->msg;
        }
        set_out(w, c, 0);
        return;
    }
    while (c->tx_total < c->tx_want) {
        uint64_t left = c->tx_want - c->tx_total;
        size_t n = left > CHUNK ? CHUNK : (size_t)left;
        ssize_t r = conn_send(c, w->out + (c->off + c->tx_total) % w->period, n);
        if (r < 0) {
            if (r == -EINTR)
                continue;
            if (r == -EAGAIN) {
                /* TLS waiting to read (a key update) is woken by EPOLLIN. */
                set_out(w, c, !c->tls || sk_tls_want(c->tls) == POLLOUT);
                return;
            }
            fail(w, c, SK_BERR_READ, now);
            return;
        }
        c->tx_total += (uint64_t)r;
        w->bytes_out += (uint64_t)r;
    }
    set_out(w, c, 0);
}

/* Closed loop: keep `pipeline` requests issued on the connection. */
static int issue_closed(struct worker *w, struct conn *c, int64_t now)
{
    while (c->qlen < w->cfg->pipeline && (!w->counted || w->budget > 0)) {
        if (q_push(c, now) < 0)
            return -ENOMEM;
        if (w->counted)
            w->budget--;
    }
    return 0;
}

/* Write issued requests up to the pipeline depth. */
static void send_more(struct worker *w, struct conn *c, int64_t now)
{
    if (c->state != CS_OPEN)
        return;
    uint32_t before = c->inflight;
    /* Closed loop with a pipeline: refill once half of it has been answered,
     * so that one write carries at least P/2 requests (as wrk's pipelining
     * script does with P), rather than a write per reply. */
    if (!w->interval_ns && before > w->cfg->pipeline / 2)
        return;
    while (c->inflight < c->qlen && c->inflight < w->cfg->pipeline) {
        c->q[(c->qhead + c->inflight) & (c->qcap - 1)].sent = now;
        c->inflight++;
        if (w->nreq) {
            c->tx_want += w->reqlen[c->reqi];
            c->reqi = c->reqi + 1 == w->nreq ? 0 : c->reqi + 1;
        } else {
            c->tx_want += w->msg;
        }
    }
    if (before == 0 && c->inflight > 0)
        c->last_io = now;
    if (c->tx_total < c->tx_want)
        flush(w, c, now);
}

/* ---- connecting ---- */

static void conn_start(struct worker *w, struct conn *c, int64_t now);
static void connected(struct worker *w, struct conn *c, int64_t now);

/* Is there anything left for this connection to send? */
static int wants_conn(const struct worker *w, const struct conn *c)
{
    return !w->counted || c->qlen > 0 || w->budget > 0;
}

/* Close a connection the server ended (or asked to end) and connect again
 * at once, as long as there is work for it. */
static void reconnect(struct worker *w, struct conn *c, int64_t now)
{
    conn_close(w, c, now);
    if (wants_conn(w, c))
        conn_start(w, c, now);
}

/* With a handshake (bench --proxy): connect and run it blocking, then go
 * on as a connection that connected (TLS, if asked, through the tunnel). */
static void handshake_start(struct worker *w, struct conn *c, int64_t now)
{
    const struct sk_addr *a = &w->cfg->addr;
    int fd = c->fd;
    int fl = fcntl(fd, F_GETFL);
    int ms = w->cfg->timeout_ms > 0 ? w->cfg->timeout_ms : 5000;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}, zero = {0};
    int r = fl < 0 ? -1 : fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (r == 0) /* bounds the blocking connect() */
        r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (r == 0) {
        do
            r = connect(fd, &a->u.sa, a->len);
        while (r < 0 && errno == EINTR);
    }
    if (r == 0)
        r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero));
    if (r == 0)
        r = w->cfg->handshake(fd, w->cfg->handshake_arg);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)c->gen << 32 | c->idx};
    if (r < 0 || fcntl(fd, F_SETFL, fl) < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        w->errors[SK_BERR_CONNECT]++;
        close(fd);
        c->fd = -1;
        c->state = CS_IDLE;
        c->retry_at = now + RETRY_NS;
        return;
    }
    c->out_armed = 0;
    connected(w, c, now); /* TLS, if asked, runs inside the tunnel */
}

static void conn_start(struct worker *w, struct conn *c, int64_t now)
{
    const struct sk_addr *a = &w->cfg->addr;
    int type = is_udp(w) ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(sk_addr_family(a), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        w->errors[SK_BERR_CONNECT]++;
        c->retry_at = now + RETRY_NS;
        return;
    }
    if (w->nsources) {
        /* The port is chosen at connect(), per 4-tuple: each source address
         * brings its own ephemeral range. */
        const struct sk_addr *src = &w->sources[c->src];
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, &src->u.sa, src->len) < 0) {
            w->errors[SK_BERR_CONNECT]++;
            close(fd);
            c->retry_at = now + RETRY_NS;
            return;
        }
    }
    if (!is_udp(w) && sk_addr_family(a) != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    c->fd = fd;
    c->gen++;
    c->last_io = now;
    if (w->cfg->handshake && !is_udp(w)) {
        handshake_start(w, c, now);
        return;
    }
    int r = connect(fd, &a->u.sa, a->len);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)c->gen << 32 | c->idx};
    if (r < 0 && errno == EINPROGRESS) {
        c->state = CS_CONNECTING;
        ev.events = EPOLLOUT;
        c->out_armed = 1;
    } else if (r < 0) {
        w->errors[SK_BERR_CONNECT]++;
        close(fd);
        c->fd = -1;
        c->retry_at = now + RETRY_NS;
        return;
    } else {
        c->state = CS_OPEN;
        c->out_armed = 0;
    }
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        w->errors[SK_BERR_CONNECT]++;
        close(fd);
        c->fd = -1;
        c->state = CS_IDLE;
        c->retry_at = now + RETRY_NS;
        return;
    }
    if (c->state == CS_OPEN)
        connected(w, c, now);
}

/* The connection is open (and its TLS handshake done): requests go. */
static void conn_open(struct worker *w, struct conn *c, int64_t now)
{
    c->state = CS_OPEN;
    w->connects++;
    set_out(w, c, 0);
    if (!w->interval_ns && issue_closed(w, c, now) < 0)
        w->err = -ENOMEM;
    send_more(w, c, now);
}

/* A handshake failed (or took longer than --timeout): an error of its own
 * kind, the first reason kept; connect again after a pause, not in a tight
 * loop against a server that refuses us. */
static void tls_fail(struct worker *w, struct conn *c, const char *why, int64_t now)
{
    if (!w->tls_why[0])
        snprintf(w->tls_why, sizeof(w->tls_why), "%s", why);
    w->errors[SK_BERR_TLS]++;
    conn_close(w, c, now);
    c->retry_at = now + RETRY_NS;
}

/* One step of the TLS handshake, as the socket allows. */
static void tls_step(struct worker *w, struct conn *c, int64_t now)
{
    int r = sk_tls_handshake_step(c->tls);
    if (r == -EAGAIN) {
        set_out(w, c, sk_tls_want(c->tls) == POLLOUT);
        return;
    }
    if (r < 0) {
        tls_fail(w, c, sk_tls_why(c->tls), now);
        return;
    }
    w->handshakes++;
    conn_open(w, c, now);
}

static void connected(struct worker *w, struct conn *c, int64_t now)
{
    if (!w->cfg->tls) {
        conn_open(w, c, now);
        return;
    }
    int r = sk_tls_client(w->cfg->tls, c->fd, w->cfg->tls_name, w->cfg->tls_sni, &c->tls);
    if (r < 0) {
        tls_fail(w, c, sk_strerror(r), now);
        return;
    }
    c->state = CS_HANDSHAKE;
    c->last_io = now; /* the handshake has --timeout from here */
    tls_step(w, c, now);
}

static void conn_established(struct worker *w, struct conn *c, int64_t now)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        fail(w, c, SK_BERR_CONNECT, now);
        return;
    }
    connected(w, c, now);
}

/* ---- receiving ---- */

/* One reply is complete. */
static void complete(struct worker *w, struct conn *c, int64_t now)
{
    struct qent t = q_pop(c);
    c->inflight--;
    c->last_io = now; /* bytes alone are no progress: a reply must complete */
    c->replies++;
    if (now < w->measure_from) { /* the ramp is a warm-up: not measured */
        if (!w->interval_ns)
            issue_closed(w, c, now);
        return;
    }
    sk_hist_record(&w->hist, now - t.due);
    sk_hist_record(&w->hist_sent, now - t.sent);
    if (w->ihist)
        sk_hist_record(w->ihist, now - t.due);
    w->requests++;
    if (!w->interval_ns)
        issue_closed(w, c, now);
}

/* Echo over a stream: check bytes against the pattern, count messages. */
static int echo_input(struct worker *w, struct conn *c, const char *p, size_t n, int64_t now)
{
    if (c->rx_total + n > c->tx_total)
        return -EPROTO; /* more came back than was sent */
    size_t m = w->msg;
    while (n > 0) {
        size_t in_msg = (size_t)(c->rx_total % m);
        size_t take = m - in_msg < n ? m - in_msg : n;
        if (memcmp(p, w->out + (c->off + c->rx_total) % w->period, take) != 0)
            c->msg_bad = 1;
        c->rx_total += take;
        p += take;
        n -= take;
        if (in_msg + take == m) {
            if (c->msg_bad)
                w->errors[SK_BERR_MISMATCH]++;
            c->msg_bad = 0;
            complete(w, c, now);
        }
    }
    return 0;
}

/* HTTP: returns 0, 1 when the connection must close (after a response that
 * said so), or a negative errno (malformed: -EBADMSG). */
static int http_input(struct worker *w, struct conn *c, const char *p, size_t n, int64_t now)
{
    while (n > 0) {
        if (c->body == B_LEN) {
            size_t take = (uint64_t)c->body_left < n ? (size_t)c->body_left : n;
            c->body_left -= (int64_t)take;
            p += take;
            n -= take;
            if (c->body_left > 0)
                return 0;
        } else if (c->body == B_CHUNKED) {
            int done;
            long r = sk_http_chunked_feed(&c->ch, p, n, &done);
            if (r < 0)
                return (int)r;
            p += r;
            n -= (size_t)r;
            if (!done)
                return 0;
        } else if (c->body == B_EOF) {
            return 0; /* everything up to the close is body */
        } else {
            if (c->inflight == 0)
                return -EPROTO; /* a response nobody asked for */
            int h = sk_http_resp_parse_resume(p, n, &c->resp, &c->rs);
            if (h < 0)
                return h;
            if (h == 0) {
                if (n > c->hcap) {
                    char *nb = realloc(c->hbuf, n);
                    if (!nb)
                        return -ENOMEM;
                    c->hbuf = nb;
                    c->hcap = (uint32_t)n;
                }
                memmove(c->hbuf, p, n);
                c->hlen = (uint32_t)n;
                return 0;
            }
            p += h;
            n -= (size_t)h;
            if (c->resp.status < 200 && c->resp.status != 101)
                continue; /* an interim response: the real one follows */
            if (w->head_method)
                c->resp.no_body = 1;
            if (c->resp.no_body || c->resp.content_length == 0) {
                /* complete below */
            } else if (c->resp.chunked) {
                memset(&c->ch, 0, sizeof(c->ch));
                c->body = B_CHUNKED;
                continue;
            } else if (c->resp.content_length > 0) {
                c->body = B_LEN;
                c->body_left = c->resp.content_length;
                continue;
            } else {
                c->body = B_EOF;
                return 0;
            }
        }
        /* A response is complete. */
        c->body = B_HEAD;
        if (c->resp.status < 200 || c->resp.status >= 400)
            w->errors[SK_BERR_STATUS]++;
        complete(w, c, now);
        if (c->resp.close || w->cfg->http_close)
            return 1;
    }
    return 0;
}

static void on_eof(struct worker *w, struct conn *c, int64_t now)
{
    if (is_http(w) && c->body == B_EOF) {
        c->body = B_HEAD;
        if (c->resp.status < 200 || c->resp.status >= 400)
            w->errors[SK_BERR_STATUS]++;
        complete(w, c, now);
        reconnect(w, c, now);
        return;
    }
    if (c->inflight > 0 || c->hlen > 0 || c->rx_total < c->tx_total) {
        w->errors[SK_BERR_READ]++;
        conn_close(w, c, now); /* again at the next tick, not in a tight loop */
        return;
    }
    reconnect(w, c, now);
}

static void on_readable_udp(struct worker *w, struct conn *c, int64_t now)
{
    size_t slot = w->msg + 1;
    unsigned slots = (unsigned)(w->rxcap / slot);
    if (slots > UDP_BATCH)
        slots = UDP_BATCH;
    struct mmsghdr mm[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    for (int batches = 0; batches < READS_PER_EVENT; batches++) { /* a flood cannot hold us */
        for (unsigned i = 0; i < slots; i++) {
            iov[i].iov_base = w->rx + i * slot;
            iov[i].iov_len = slot;
            memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(c->fd, mm, slots, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                fail(w, c, errno == ECONNREFUSED ? SK_BERR_CONNECT : SK_BERR_READ, now);
            return;
        }
        c->last_io = now;
        for (int i = 0; i < r; i++) {
            size_t len = mm[i].msg_len;
            const char *d = iov[i].iov_base;
            w->bytes_in += len;
            if (len != w->msg || (mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
                w->errors[SK_BERR_MISMATCH]++;
                continue;
            }
            uint64_t seq = get_seq(d), next = c->rx_total / w->msg, sent = c->tx_total / w->msg;
            if (seq >= sent) {
                w->errors[SK_BERR_MISMATCH]++; /* a reply to nothing we sent */
                continue;
            }
            if (seq < next)
                continue; /* a late reply to a datagram already counted lost */
            /* Datagrams sent before this one and still unanswered were lost
             * (or overtaken): count them as timeouts and stop waiting. */
            for (; next < seq; next++) {
                q_pop(c);
                c->inflight--;
                c->rx_total += w->msg;
                w->errors[SK_BERR_TIMEOUT]++;
            }
            if (memcmp(d + SEQ_LEN, w->out + (c->off + c->rx_total + SEQ_LEN) % w->period,
                       len - SEQ_LEN) != 0)
                w->errors[SK_BERR_MISMATCH]++;
            c->rx_total += w->msg;
            complete(w, c, now);
        }
        if ((unsigned)r < slots)
            return;
    }
}

/* Writes wait until every event of the round has been read: the requests
 * then leave in one burst, and the server finds them together. */
static void mark_dirty(struct worker *w, struct conn *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        w->dirty[w->ndirty++] = c->idx;
    }
}

static void on_readable(struct worker *w, struct conn *c, int64_t now)
{
    if (is_udp(w)) {
        on_readable_udp(w, c, now);
        mark_dirty(w, c);
        return;
    }
    /* A bounded number of reads per event (epoll is level-triggered: the
     * rest is read next round), so a peer that never stops sending cannot
     * keep the loop from its deadlines. */
    for (int reads = 0; reads < READS_PER_EVENT; reads++) {
        char *buf = w->rx;
        size_t cap = w->rxcap, have = 0;
        if (c->hlen) {
            /* Continue an incomplete response head in the connection's buffer. */
            if (c->hcap < c->hlen + CHUNK) {
                char *nb = realloc(c->hbuf, c->hlen + CHUNK);
                if (!nb) {
                    w->err = -ENOMEM;
                    return;
                }
                c->hbuf = nb;
                c->hcap = c->hlen + CHUNK;
            }
            buf = c->hbuf;
            have = c->hlen;
            cap = c->hcap;
        }
        ssize_t r = conn_recv(c, buf + have, cap - have);
        if (r < 0) {
            if (r == -EINTR)
                continue;
            if (r != -EAGAIN)
                fail(w, c, SK_BERR_READ, now);
            else if (c->tls && sk_tls_want(c->tls) == POLLOUT)
                set_out(w, c, 1); /* TLS must write first; flush() retries */
            break;
        }
        if (r == 0) {
            on_eof(w, c, now);
            return;
        }
        w->bytes_in += (uint64_t)r;
        int rc;
        if (is_http(w)) {
            c->hlen = 0;
            rc = http_input(w, c, buf, have + (size_t)r, now);
        } else {
            rc = echo_input(w, c, buf, (size_t)r, now);
        }
        if (rc != 0) {
            if (rc == 1) {
                reconnect(w, c, now);
            } else if (rc == -ENOMEM) {
                w->err = rc;
                return;
            } else {
                fail(w, c, SK_BERR_MISMATCH, now);
            }
            return;
        }
        /* Drained: nothing more is waiting (TLS hands out a record at a
         * time: read on until it would block). */
        if (!c->tls && (size_t)r < cap - have)
            break;
    }
    mark_dirty(w, c);
}

/* ---- the loop ---- */

/* UDP: the datagrams in flight on a socket that heard nothing for the
 * timeout are lost: count them, stop waiting for them (a late reply is
 * recognised by its sequence number and ignored) and go on with the same
 * socket. */
static void udp_give_up(struct worker *w, struct conn *c, int64_t now)
{
    while (c->inflight > 0) {
        q_pop(c);
        c->inflight--;
        w->errors[SK_BERR_TIMEOUT]++;
    }
    c->rx_total = c->tx_total;
    c->last_io = now;
    if (!w->interval_ns)
        issue_closed(w, c, now);
    mark_dirty(w, c);
}

/* Housekeeping every tick: timeouts, reconnects, progress. */
static void tick(struct worker *w, int64_t now)
{
    int64_t to = (int64_t)w->cfg->timeout_ms * 1000000LL;
    for (unsigned i = 0; i < w->n; i++) {
        struct conn *c = &w->c[i];
        if (c->state == CS_IDLE) {
            if (now >= c->retry_at && wants_conn(w, c))
                conn_start(w, c, now);
        } else if (c->state == CS_CONNECTING) {
            if (to > 0 && now - c->last_io > to)
                fail(w, c, SK_BERR_CONNECT, now);
        } else if (c->state == CS_HANDSHAKE) {
            if (to > 0 && now - c->last_io > to)
                tls_fail(w, c, "the TLS handshake timed out", now);
        } else if (to > 0 && (c->inflight > 0 || c->hlen) && now - c->last_io > to) {
            if (is_udp(w))
                udp_give_up(w, c, now);
            else
                fail(w, c, SK_BERR_TIMEOUT, now);
        }
    }
    for (unsigned i = 0; i < w->ndirty; i++) {
        struct conn *c = &w->c[w->dirty[i]];
        c->dirty = 0;
        send_more(w, c, now);
    }
    w->ndirty = 0;
    uint64_t errs = 0;
    for (int k = 0; k < SK_BERR_N; k++)
        errs += w->errors[k];
    atomic_store_explicit(&w->pub_requests, w->requests, memory_order_relaxed);
    atomic_store_explicit(&w->pub_errors, errs, memory_order_relaxed);
    if (w->ihist && w->ihist->count) {
        pthread_mutex_lock(&w->ilock);
        sk_hist_merge(w->ipub, w->ihist);
        pthread_mutex_unlock(&w->ilock);
        sk_hist_init(w->ihist);
    }
}

/* Open loop: issue every request that is due, round-robin over the
 * connections, stamped with the time it was due. */
static void issue_due(struct worker *w, int64_t now)
{
    while (w->next_due <= now && (!w->counted || w->budget > 0)) {
        struct conn *c = &w->c[w->rr];
        w->rr = (w->rr + 1) % w->n;
        if (q_push(c, w->next_due) < 0) {
            w->err = -ENOMEM;
            return;
        }
        if (w->counted)
            w->budget--;
        w->next_due += w->interval_ns;
        send_more(w, c, now);
    }
}

static int finished(const struct worker *w, int64_t now)
{
    if (atomic_load_explicit(&interrupted, memory_order_relaxed) || w->err ||
        atomic_load_explicit(w->abort, memory_order_relaxed))
        return 1;
    if (w->end_at && now >= w->end_at)
        return 1;
    if (w->counted && w->budget == 0) {
        for (unsigned i = 0; i < w->n; i++)
            if (w->c[i].qlen)
                return 0;
        return 1;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event ev[MAX_EVENTS];
    int64_t now = sk_now_ns(), next_tick = now + TICK_NS;
    int64_t to = (int64_t)w->cfg->timeout_ms * 1000000LL;

    w->last_progress = now;
    for (unsigned i = 0; i < w->n; i++) {
        if (w->cfg->ramp_ms > 0) /* tick() opens it when its turn comes */
            w->c[i].retry_at = w->t0 + (int64_t)((double)w->cfg->ramp_ms * 1e6 *
                                                 (double)(w->first + i) / (double)w->cfg->conns);
        else
            conn_start(w, &w->c[i], now);
    }
    w->next_due = w->t0 + w->cfg->ramp_ms * 1000000LL; /* the schedule starts after the ramp */
    while (!finished(w, now)) {
        int64_t wait = next_tick - now;
        if (w->interval_ns && (!w->counted || w->budget > 0) && w->next_due - now < wait)
            wait = w->next_due - now;
        if (w->end_at && w->end_at - now < wait)
            wait = w->end_at - now;
        if (wait < 0)
            wait = 0;
        struct timespec ts = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
        int n = epoll_pwait2(w->ep, ev, MAX_EVENTS, &ts, NULL);
        if (n < 0 && errno == ENOSYS)
            n = epoll_wait(w->ep, ev, MAX_EVENTS, (int)((wait + 999999) / 1000000));
        if (n < 0 && errno != EINTR) {
            w->err = -errno;
            break;
        }
        now = sk_now_ns();
        uint64_t before = w->requests;
        for (int i = 0; i < n; i++) {
            struct conn *c = &w->c[(uint32_t)ev[i].data.u64];
            if (c->fd < 0 || c->gen != (uint32_t)(ev[i].data.u64 >> 32))
                continue;
            if (c->state == CS_CONNECTING) {
                conn_established(w, c, now);
                continue;
            }
            if (c->state == CS_HANDSHAKE) {
                tls_step(w, c, now);
                continue;
            }
            if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(w, c, now);
            if (c->fd >= 0 && c->state == CS_OPEN && (ev[i].events & EPOLLOUT))
                flush(w, c, now);
        }
        for (unsigned i = 0; i < w->ndirty; i++) {
            struct conn *c = &w->c[w->dirty[i]];
            c->dirty = 0;
            send_more(w, c, now);
        }
        w->ndirty = 0;
        if (w->requests != before)
            w->last_progress = now;
        if (w->interval_ns)
            issue_due(w, now);
        if (now >= next_tick) {
            tick(w, now);
            next_tick = now + TICK_NS;
            /* -n with nothing answered for --timeout: give up rather than hang. */
            if (w->counted && !w->end_at && to > 0 && now - w->last_progress > 2 * to)
                break;
        }
    }
    w->t_end = now;
    tick(w, now);
    atomic_store(&w->done, 1);
    return NULL;
}

/* ---- setup ---- */

/* --json-stream: what the last second brought. */
static void stream_line(FILE *f, double t, uint64_t reqs, uint64_t errs, double span,
                        const struct sk_hist *h)
{
    fprintf(f,
            "{\"t\": %.3f, \"requests\": %llu, \"requests_per_s\": %.1f, \"errors\": %llu, "
            "\"latency_us\": {\"count\": %llu, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
            "\"max\": %.3f}}\n",
            t, (unsigned long long)reqs, span > 0 ? (double)reqs / span : 0.0,
            (unsigned long long)errs, (unsigned long long)h->count,
            (double)sk_hist_percentile(h, 50) / 1e3, (double)sk_hist_percentile(h, 90) / 1e3,
            (double)sk_hist_percentile(h, 99) / 1e3, (double)(h->count ? h->max : 0) / 1e3);
    fflush(f);
}

void sk_bench_cfg_init(struct sk_bench_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->kind = SK_BENCH_ECHO;
    cfg->conns = 10;
    cfg->threads = 1;
    cfg->msg_size = 64;
    cfg->duration_ms = 10000;
    cfg->pipeline = 1;
    cfg->timeout_ms = 5000;
    cfg->http_host = "localhost";
    cfg->http_path = "/";
}

int sk_bench_raise_nofile2(uint64_t need, uint64_t *got)
{
    struct rlimit rl;
    int r = 0;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        goto out;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        /* Try the hard limit too (allowed with CAP_SYS_RESOURCE, up to
         * fs.nr_open); else go as far as the hard limit allows. */
        struct rlimit up = {need, need};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            rl = up;
            goto out;
        }
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        r = -EMFILE;
        goto out;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        r = -errno;
out:
    if (got) {
        getrlimit(RLIMIT_NOFILE, &rl);
        *got = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    }
    return r;
}

int sk_bench_raise_nofile(uint64_t need)
{
    return sk_bench_raise_nofile2(need, NULL);
}

int sk_bench_source_parse(const char *s, struct sk_addr *out, unsigned max, const char **why)
{
    unsigned n = 0;
    char part[64];
    if (!*s)
        return *why = "no address", -EINVAL;
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(part))
            return *why = "an empty or overlong part", -EINVAL;
        memcpy(part, p, len);
        part[len] = '\0';
        char *dash = strchr(part, '-');
        if (dash)
            *dash = '\0';
        struct in_addr a, b;
        if (inet_pton(AF_INET, part, &a) != 1 || (dash && inet_pton(AF_INET, dash + 1, &b) != 1))
            return *why = "not an IPv4 address (A or A-B)", -EINVAL;
        if (!dash)
            b = a;
        uint32_t lo = ntohl(a.s_addr), hi = ntohl(b.s_addr);
        if (lo > hi)
            return *why = "a range A-B with A after B", -EINVAL;
        if ((uint64_t)hi - lo + 1 > (uint64_t)(max - n))
            return *why = "too many addresses", -EINVAL;
        for (uint64_t v = lo; v <= hi; v++) {
            memset(&out[n], 0, sizeof(out[n]));
            out[n].u.in4.sin_family = AF_INET;
            out[n].u.in4.sin_addr.s_addr = htonl((uint32_t)v);
            out[n].len = sizeof(out[n].u.in4);
            n++;
        }
        p += len;
        if (!*p)
            break;
        p++;
    }
    return (int)n;
}

uint64_t sk_bench_errors_total(const struct sk_bench_result *res)
{
    uint64_t t = 0;
    for (int k = 0; k < SK_BERR_N; k++)
        t += res->errors[k];
    return t;
}

/* HTTP: the requests for every target in turn (each a head and the body),
 * repeated so that any window of CHUNK bytes from any request's start is
 * contiguous; *reqlen gets each request's length. */
static char *make_http_out(const struct sk_bench_cfg *cfg, size_t *period, size_t *msg,
                           size_t **reqlen, uint32_t *nreq)
{
    const char *one[1] = {cfg->http_path};
    const char *const *paths = cfg->http_npaths ? cfg->http_paths : one;
    uint32_t n = cfg->http_npaths ? cfg->http_npaths : 1;
    char *heads = NULL, *out = NULL;
    size_t *lens = calloc(n, sizeof(*lens)), *hl = calloc(n, sizeof(*hl));
    size_t cycle = 0, hcap = 0, hoff = 0;
    if (!lens || !hl)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        if (hcap - hoff < 8192) {
            char *nb = realloc(heads, hcap + 65536);
            if (!nb)
                goto fail;
            heads = nb;
            hcap += 65536;
        }
        long h = sk_bench_http_head(cfg, paths[i], heads + hoff, hcap - hoff);
        if (h < 0)
            goto fail;
        hl[i] = (size_t)h;
        hoff += (size_t)h;
        lens[i] = (size_t)h + (cfg->http_body ? cfg->http_body_len : 0);
        cycle += lens[i];
    }
    size_t copies = CHUNK / cycle + 2;
    out = malloc(copies * cycle);
    if (!out)
        goto fail;
    size_t pos = 0;
    hoff = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(out + pos, heads + hoff, hl[i]);
        hoff += hl[i];
        if (cfg->http_body && cfg->http_body_len)
            memcpy(out + pos + hl[i], cfg->http_body, cfg->http_body_len);
        pos += lens[i];
    }
    for (size_t k = 1; k < copies; k++)
        memcpy(out + k * cycle, out, cycle);
    free(heads);
    free(hl);
    *period = cycle;
    *msg = lens[0];
    *reqlen = lens;
    *nreq = n;
    return out;
fail:
    free(heads);
    free(hl);
    free(lens);
    free(out);
    return NULL;
}

/* The shared send buffer: the echo pattern, or the requests repeated, long
 * enough that any window of CHUNK bytes (or one message) at any phase is
 * contiguous. */
static char *make_out(const struct sk_bench_cfg *cfg, size_t *period, size_t *msg, size_t **reqlen,
                      uint32_t *nreq)
{
    char *out;
    if (cfg->kind == SK_BENCH_HTTP)
        return make_http_out(cfg, period, msg, reqlen, nreq);
    size_t extra = cfg->msg_size > CHUNK ? cfg->msg_size : CHUNK;
    size_t len = PATTERN_PERIOD + extra;
    out = malloc(len);
    if (!out)
        return NULL;
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < PATTERN_PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = alphabet[x % (sizeof(alphabet) - 1)];
    }
    for (size_t i = PATTERN_PERIOD; i < len; i++)
        out[i] = out[i % PATTERN_PERIOD];
    *period = PATTERN_PERIOD;
    *msg = cfg->msg_size;
    return out;
}

int sk_bench_run(const struct sk_bench_cfg *cfg, struct sk_bench_result *res)
{
    unsigned T = cfg->threads ? cfg->threads : 1;
    if (cfg->kind == SK_BENCH_UDP_ECHO && (cfg->msg_size < SEQ_LEN || cfg->msg_size > 65507))
        return -EINVAL;
    if (cfg->kind == SK_BENCH_UDP_ECHO && (cfg->msg_size < SEQ_LEN || cfg->msg_size > 65507))
        return -EINVAL;
    if (cfg->conns == 0 || cfg->pipeline == 0 || (cfg->kind != SK_BENCH_HTTP && cfg->msg_size == 0))
        return -EINVAL;
    if (T > cfg->conns)
        T = cfg->conns;
    memset(res, 0, sizeof(*res));
    /* Past one address's ephemeral ports toward a loopback target: spread
     * the connections over 127.0.0.1, 127.0.0.2, ... */
    const struct sk_addr *sources = cfg->sources;
    unsigned nsources = cfg->nsources;
    struct sk_addr *auto_src = NULL;
    if (!nsources && cfg->kind != SK_BENCH_UDP_ECHO && sk_addr_family(&cfg->addr) == AF_INET &&
        (ntohl(cfg->addr.u.in4.sin_addr.s_addr) >> 24) == 127 &&
        cfg->conns > SK_BENCH_PORTS_PER_SOURCE) {
        nsources = (cfg->conns + SK_BENCH_PORTS_PER_SOURCE - 1) / SK_BENCH_PORTS_PER_SOURCE;
        auto_src = calloc(nsources, sizeof(*auto_src));
        if (!auto_src)
            return -ENOMEM;
        for (unsigned i = 0; i < nsources; i++) {
            auto_src[i].u.in4.sin_family = AF_INET;
            auto_src[i].u.in4.sin_addr.s_addr = htonl(0x7f000001u + i);
            auto_src[i].len = sizeof(auto_src[i].u.in4);
        }
        sources = auto_src;
    }
    res->nsources = nsources;
    sk_hist_init(&res->hist);
    sk_hist_init(&res->hist_sent);

    size_t period = 1, msg = 0, *reqlen = NULL;
    uint32_t nreq = 0;
    char *out = make_out(cfg, &period, &msg, &reqlen, &nreq);
    struct worker *w = calloc(T, sizeof(*w));
    struct conn *conns = calloc(cfg->conns, sizeof(*conns));
    int rc = 0;
    unsigned started = 0;
    /* Ends this run only: sk_bench_interrupt() is the user's Ctrl-C and stays
     * set for the process, so a harness failure must not use it (a later run,
     * the next point of `bench models`, would report "interrupted"). */
    atomic_int run_abort = 0;
    if (!out || !w || !conns) {
        rc = -ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < cfg->conns; i++)
        conns[i].fd = -1;
    for (unsigned t = 0; t < T; t++)
        w[t].ep = -1;
    sk_bench_raise_nofile((uint64_t)cfg->conns + 64);

    int64_t t0 = sk_now_ns();
    unsigned ci = 0;
    for (unsigned t = 0; t < T; t++) {
        struct worker *x = &w[t];
        x->cfg = cfg;
        pthread_mutex_init(&x->ilock, NULL);
        x->abort = &run_abort;
        x->ep = -1;
        x->out = out;
        x->period = period;
        x->msg = msg;
        x->reqlen = reqlen;
        x->nreq = nreq;
        x->sources = sources;
        x->nsources = nsources;
        x->first = ci;
        x->head_method = cfg->http_method && strcmp(cfg->http_method, "HEAD") == 0;
        x->n = cfg->conns / T + (t < cfg->conns % T);
        x->c = conns + ci;
        for (unsigned i = 0; i < x->n; i++) {
            x->c[i].fd = -1;
            x->c[i].idx = i;
            x->c[i].off = (uint32_t)(((uint64_t)(ci + i) * 997u) % period);
            x->c[i].src = nsources ? (ci + i) % nsources : 0;
            if (cfg->kind == SK_BENCH_HTTP)
                x->c[i].off = 0;
        }
        ci += x->n;
        if (cfg->count) {
            x->counted = 1;
            x->budget = cfg->count / T + (t < cfg->count % T);
        }
        x->t0 = t0;
        x->measure_from = t0 + cfg->ramp_ms * 1000000LL;
        x->end_at = cfg->duration_ms > 0 ? t0 + (cfg->ramp_ms + cfg->duration_ms) * 1000000LL : 0;
        if (cfg->count && cfg->duration_ms <= 0)
            x->end_at = 0;
        if (cfg->rate > 0) {
            double thread_rate = cfg->rate * x->n / cfg->conns;
            x->interval_ns = (int64_t)(1e9 / thread_rate);
            if (x->interval_ns < 1)
                x->interval_ns = 1;
        }
        x->rxcap = CHUNK;
        if (cfg->kind == SK_BENCH_UDP_ECHO) {
            size_t want = (msg + 1) * UDP_BATCH;
            x->rxcap = want > CHUNK ? want : CHUNK;
        }
        x->rx = malloc(x->rxcap);
        x->dirty = malloc(sizeof(*x->dirty) * (x->n ? x->n : 1));
        if (!x->dirty) {
            rc = -ENOMEM;
            goto out;
        }
        if (cfg->kind == SK_BENCH_UDP_ECHO && !(x->txb = malloc(msg * UDP_BATCH))) {
            rc = -ENOMEM;
            goto out;
        }
        x->ep = epoll_create1(EPOLL_CLOEXEC);
        if (!x->rx || x->ep < 0) {
            rc = x->ep < 0 ? -errno : -ENOMEM;
            goto out;
        }
        sk_hist_init(&x->hist);
        sk_hist_init(&x->hist_sent);
        if (cfg->json_stream) {
            x->ihist = malloc(sizeof(*x->ihist));
            x->ipub = malloc(sizeof(*x->ipub));
            if (!x->ihist || !x->ipub) {
                rc = -ENOMEM;
                goto out;
            }
            sk_hist_init(x->ihist);
            sk_hist_init(x->ipub);
        }
    }
    /* Worker threads never take the signals meant for the command. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (; started < T; started++) {
        int e = pthread_create(&w[started].tid, NULL, worker_main, &w[started]);
        if (e) {
            rc = -e;
            atomic_store(&run_abort, 1); /* the threads already started stop too */
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    /* The calling thread reports progress while the workers run. */
    int64_t last_print = t0, next_stream = t0 + 1000000000LL;
    uint64_t reqs = 0, errs = 0, stream_reqs = 0, stream_errs = 0;
    struct sk_hist *sec = cfg->json_stream ? malloc(sizeof(*sec)) : NULL;
    for (;;) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        int running = 0;
        reqs = errs = 0;
        for (unsigned t = 0; t < started; t++) {
            if (!atomic_load_explicit(&w[t].done, memory_order_relaxed))
                running = 1;
            reqs += atomic_load_explicit(&w[t].pub_requests, memory_order_relaxed);
            errs += atomic_load_explicit(&w[t].pub_errors, memory_order_relaxed);
        }
        int64_t now = sk_now_ns();
        if (sec && running && now >= next_stream) {
            sk_hist_init(sec);
            for (unsigned t = 0; t < started; t++) {
                pthread_mutex_lock(&w[t].ilock);
                sk_hist_merge(sec, w[t].ipub);
                sk_hist_init(w[t].ipub);
                pthread_mutex_unlock(&w[t].ilock);
            }
            stream_line(cfg->json_stream, (double)(now - t0) / 1e9, reqs - stream_reqs,
                        errs - stream_errs, (double)(now - next_stream) / 1e9 + 1.0, sec);
            stream_reqs = reqs;
            stream_errs = errs;
            next_stream += 1000000000LL;
        }
        if (cfg->progress && running && now - last_print >= 1000000000LL) {
            struct sk_bench_progress p = {(double)(now - t0) / 1e9, reqs, errs, 0};
            cfg->progress(&p, cfg->progress_arg);
            last_print = now;
        }
        if (!running)
            break;
    }
    free(sec);
    if (cfg->progress && last_print != t0) {
        struct sk_bench_progress p = {(double)(sk_now_ns() - t0) / 1e9, reqs, errs, 1};
        cfg->progress(&p, cfg->progress_arg);
    }

    int64_t t_end = t0;
    for (unsigned t = 0; t < started; t++) {
        pthread_join(w[t].tid, NULL);
        struct worker *x = &w[t];
        res->requests += x->requests;
        res->bytes_in += x->bytes_in;
        res->bytes_out += x->bytes_out;
        res->connects += x->connects;
        res->handshakes += x->handshakes;
        if (!res->tls_why[0] && x->tls_why[0])
            snprintf(res->tls_why, sizeof(res->tls_why), "%s", x->tls_why);
        for (int k = 0; k < SK_BERR_N; k++)
            res->errors[k] += x->errors[k];
        sk_hist_merge(&res->hist, &x->hist);
        sk_hist_merge(&res->hist_sent, &x->hist_sent);
        if (x->t_end > t_end)
            t_end = x->t_end;
        if (x->err && !rc)
            rc = x->err;
    }
    res->elapsed_s = (double)(t_end - t0 - cfg->ramp_ms * 1000000LL) / 1e9;
    if (res->elapsed_s < 0)
        res->elapsed_s = 0;
    for (unsigned i = 0; i < cfg->conns; i++)
        if (conns[i].replies == 0 && conns[i].qlen > 0)
            res->starved++;
out:
    if (w)
        for (unsigned t = 0; t < T; t++) {
            if (w[t].ep >= 0)
                close(w[t].ep);
            free(w[t].rx);
            free(w[t].txb);
            free(w[t].dirty);
            free(w[t].ihist);
            free(w[t].ipub);
            if (w[t].cfg)
                pthread_mutex_destroy(&w[t].ilock);
        }
    if (conns)
        for (unsigned i = 0; i < cfg->conns; i++) {
            sk_tls_free(conns[i].tls);
            if (conns[i].fd >= 0)
                close(conns[i].fd);
            free(conns[i].q);
            free(conns[i].hbuf);
        }
    free(conns);
    free(w);
    free(out);
    free(reqlen);
    free(auto_src);
    return rc;
}
