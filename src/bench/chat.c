/*
 * chat.c - `sockit bench chat`: the chat load generator, one epoll loop on
 * one thread over every member.
 *
 * Three phases. Joining: members connect nonblocking, at most cfg->joining
 * at once (so no listen backlog is the test), say their nickname (IRC:
 * NICK/USER, then JOIN once 001 came) and count as joined on sockit chat's
 * "*** Welcome, NICK!" or IRC's 366 (end of the channel's names). Sending:
 * the first `senders` members each send every senders/rate seconds, their
 * phases spread evenly, a message carrying its sender, sequence number and
 * intended send time (so a sender held up by the loop or by TCP is not
 * excused: latency counts from when the message was due); the loop sleeps
 * with epoll_pwait2 to the next due message. Draining: sending stops and
 * the loop waits for the deliveries still on their way, until every
 * expected one came or the drain bound passed. Every member accounts for
 * each message it receives in a bitmap per sender (chat_msg.c).
 */
#include "sockit/bench.h"
#include "sockit/chatbench.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define READS_PER_EVENT 4
#define SCRATCH (64 * 1024)
#define OUT_MAX (256 * 1024) /* a sender's unsent bytes; past it messages are not written */
#define TRACK_BYTES_MAX (1ull << 30)

enum { M_CONNECTING, M_REGISTERING, M_JOINING, M_JOINED, M_DEAD };

struct member {
    int fd;
    uint8_t state;
    uint8_t discarding; /* inside an over-long line: drop up to the next LF */
    uint32_t events;    /* the epoll interest now */
    size_t in_len;
    char *in; /* the partial line (SK_CHATB_LINE_MAX bytes), allocated when needed */
    char *out;
    size_t out_off, out_len, out_cap;
};

struct sender {
    uint64_t seq;    /* the next sequence number */
    int64_t due;     /* when the next message is due */
    uint64_t issued; /* messages due so far (sent or not) */
};

struct run {
    const struct sk_chatb_cfg *cfg;
    struct sk_chatb_result *res;
    struct member *m;
    struct sender *snd;
    struct sk_chatb_track *tracks; /* receiver * senders + sender */
    uint8_t *bits;
    char *scratch;
    int ep;
    int sending;
    int64_t t0, t_end, interval;
    unsigned opened, joining;
    int failed; /* a member could not join: why is in res->why */
};

void sk_chatb_cfg_init(struct sk_chatb_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->members = 10;
    cfg->senders = 2;
    cfg->rate = 100;
    cfg->duration_ms = 5000;
    cfg->join_ms = 30000;
    cfg->joining = 8;
    cfg->drain_ms = 2000;
    cfg->channel = "#bench";
    cfg->nick_prefix = "b";
}

static void set_why(struct run *r, const char *fmt, const char *p, size_t n)
{
    if (r->res->why[0])
        return;
    char text[128];
    size_t k = SK_MIN(n, sizeof(text) - 1);
    for (size_t i = 0; i < k; i++)
        text[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    text[k] = '\0';
    snprintf(r->res->why, sizeof(r->res->why), fmt, text);
}

static void interest(struct run *r, unsigned i, uint32_t ev)
{
    struct member *mb = &r->m[i];
    if (mb->fd < 0 || mb->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.u32 = i};
    if (epoll_ctl(r->ep, EPOLL_CTL_MOD, mb->fd, &e) == 0)
        mb->events = ev;
}

static void kill_member(struct run *r, unsigned i, const char *why)
{
    struct member *mb = &r->m[i];
    if (mb->state == M_DEAD)
        return;
    if (mb->state != M_JOINED) {
        r->joining--;
        r->failed = 1;
        set_why(r, "%s", why, strlen(why));
    } else {
        r->res->closed++;
    }
    mb->state = M_DEAD;
    if (mb->fd >= 0) {
        close(mb->fd);
        mb->fd = -1;
    }
}

/* Write what is queued; arm EPOLLOUT while something is left. */
static void flush(struct run *r, unsigned i)
{
    struct member *mb = &r->m[i];
    while (mb->fd >= 0 && mb->out_off < mb->out_len) {
        ssize_t k = send(mb->fd, mb->out + mb->out_off, mb->out_len - mb->out_off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                kill_member(r, i, "the connection failed while sending");
            break;
        }
        mb->out_off += (size_t)k;
    }
    if (mb->out_off == mb->out_len)
        mb->out_off = mb->out_len = 0;
    if (mb->fd >= 0 && mb->state != M_CONNECTING)
        interest(r, i, EPOLLIN | (mb->out_len ? EPOLLOUT : 0));
}

/* Queue p[0..n) (a whole line or lines); -1 when the queue would pass max. */
static int queue(struct member *mb, const char *p, size_t n, size_t max)
{
    if (mb->out_off && mb->out_len + n > mb->out_cap) {
        memmove(mb->out, mb->out + mb->out_off, mb->out_len - mb->out_off);
        mb->out_len -= mb->out_off;
        mb->out_off = 0;
    }
    if (mb->out_len - mb->out_off + n > max)
        return -1;
    if (mb->out_len + n > mb->out_cap) {
        size_t cap = mb->out_cap ? mb->out_cap : 1024;
        while (cap < mb->out_len + n)
            cap *= 2;
        char *nb = realloc(mb->out, cap);
        if (!nb)
            return -1;
        mb->out = nb;
        mb->out_cap = cap;
    }
    memcpy(mb->out + mb->out_len, p, n);
    mb->out_len += n;
    return 0;
}

static void say(struct run *r, unsigned i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct run *r, unsigned i, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof(line) || queue(&r->m[i], line, (size_t)k, OUT_MAX) < 0) {
        kill_member(r, i, "cannot queue a line");
        return;
    }
    flush(r, i);
}

static void joined(struct run *r, unsigned i)
{
    r->m[i].state = M_JOINED;
    r->joining--;
    r->res->joined++;
}

static void on_line(struct run *r, unsigned i, const char *line, size_t n, int64_t now)
{
    const struct sk_chatb_cfg *cfg = r->cfg;
    struct member *mb = &r->m[i];
    struct sk_chatb_msg msg;
    const char *arg;
    size_t al;

    if (n && line[n - 1] == '\r')
        n--;
    switch (sk_chatb_classify(line, n, cfg->irc, &msg, &arg, &al)) {
    case SK_CHATB_MSG: {
        if (msg.sender >= cfg->senders || msg.sender == i) {
            r->res->foreign++;
            return;
        }
        struct sk_chatb_track *t = &r->tracks[(size_t)i * cfg->senders + msg.sender];
        int k = sk_chatb_receipt(t, msg.seq);
        if (k == SK_CHATB_BAD) {
            r->res->foreign++;
        } else if (k != SK_CHATB_DUP) {
            r->res->delivered++;
            if (now <= r->t_end)
                r->res->in_window++;
            sk_hist_record(&r->res->hist, now - msg.t_ns);
        }
        return;
    }
    case SK_CHATB_PING: say(r, i, "PONG :%.*s\r\n", (int)SK_MIN(al, 400), arg); return;
    case SK_CHATB_WELCOME:
        if (mb->state == M_REGISTERING) {
            mb->state = M_JOINING;
            say(r, i, "JOIN %s\r\n", cfg->channel);
        }
        return;
    case SK_CHATB_JOINED:
        if (mb->state == M_JOINING)
            joined(r, i);
        return;
    case SK_CHATB_REFUSED:
        if (mb->state != M_JOINED) {
            set_why(r, "refused: %s", arg, al);
            kill_member(r, i, "refused");
        } else {
            r->res->refused++;
            set_why(r, "%s", arg, al);
        }
        return;
    case SK_CHATB_FOREIGN: r->res->foreign++; return;
    default: return;
    }
}

/* Split what arrived into lines, keeping a partial one in mb->in. */
static void on_bytes(struct run *r, unsigned i, char *p, size_t n, int64_t now)
{
    struct member *mb = &r->m[i];
    while (n > 0 && mb->state != M_DEAD) {
        char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        if (mb->discarding) {
            mb->discarding = nl == NULL;
        } else if (!nl) {
            if (mb->in_len + len > SK_CHATB_LINE_MAX) {
                mb->discarding = 1;
                mb->in_len = 0;
                r->res->foreign++;
            } else {
                if (!mb->in && !(mb->in = malloc(SK_CHATB_LINE_MAX))) {
                    kill_member(r, i, "out of memory");
                    return;
                }
                memcpy(mb->in + mb->in_len, p, len);
                mb->in_len += len;
            }
        } else if (mb->in_len) {
            if (mb->in_len + len > SK_CHATB_LINE_MAX) {
                r->res->foreign++;
            } else {
                memcpy(mb->in + mb->in_len, p, len);
                on_line(r, i, mb->in, mb->in_len + len, now);
            }
            mb->in_len = 0;
        } else {
            on_line(r, i, p, len, now);
        }
        if (!nl)
            return;
        p += len + 1;
        n -= len + 1;
    }
}

static void on_readable(struct run *r, unsigned i)
{
    struct member *mb = &r->m[i];
    for (int k = 0; k < READS_PER_EVENT && mb->fd >= 0; k++) {
        ssize_t got = recv(mb->fd, r->scratch, SCRATCH, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                kill_member(r, i, "the connection failed while joining");
            return;
        }
        if (got == 0) {
            kill_member(r, i, "the server closed the connection while joining");
            return;
        }
        on_bytes(r, i, r->scratch, (size_t)got, sk_now_ns());
        if ((size_t)got < SCRATCH)
            return;
    }
}

static void on_connected(struct run *r, unsigned i)
{
    struct member *mb = &r->m[i];
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(mb->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    if (err) {
        char why[96];
        snprintf(why, sizeof(why), "connect: %s", strerror(err));
        kill_member(r, i, why);
        return;
    }
    const char *pre = r->cfg->nick_prefix;
    if (r->cfg->irc) {
        mb->state = M_REGISTERING;
        say(r, i, "NICK %s%u\r\nUSER %s%u 0 * :sockit bench\r\n", pre, i, pre, i);
    } else {
        mb->state = M_JOINING;
        say(r, i, "%s%u\n", pre, i);
    }
}

static int open_member(struct run *r, unsigned i)
{
    struct member *mb = &r->m[i];
    mb->fd = socket(sk_addr_family(&r->cfg->addr), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (mb->fd < 0)
        return -errno;
    mb->state = M_CONNECTING;
    r->joining++;
    if (connect(mb->fd, &r->cfg->addr.u.sa, r->cfg->addr.len) < 0 && errno != EINPROGRESS) {
        char why[96];
        snprintf(why, sizeof(why), "connect: %s", strerror(errno));
        kill_member(r, i, why);
        return 0;
    }
    mb->events = EPOLLOUT | EPOLLIN;
    struct epoll_event e = {.events = mb->events, .data.u32 = i};
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, mb->fd, &e) < 0) {
        int e2 = -errno;
        kill_member(r, i, "epoll");
        return e2;
    }
    return 0;
}

/* Queue every message due by now; returns when the next one is due. */
static int64_t send_due(struct run *r, int64_t now)
{
    const struct sk_chatb_cfg *cfg = r->cfg;
    int64_t next = r->t_end;
    char text[SK_CHATB_LINE_MAX];
    size_t head = 0;
    if (cfg->irc)
        head = (size_t)snprintf(text, sizeof(text), "PRIVMSG %s :", cfg->channel);
    for (unsigned s = 0; s < cfg->senders; s++) {
        struct sender *sd = &r->snd[s];
        struct member *mb = &r->m[s];
        int queued = 0;
        while (sd->due <= now && sd->due < r->t_end) {
            sd->issued++;
            struct sk_chatb_msg msg = {.sender = s, .seq = sd->seq, .t_ns = sd->due};
            sd->due += r->interval;
            int k = sk_chatb_encode(&msg, cfg->pad, text + head, sizeof(text) - head - 2);
            if (k < 0 || mb->state != M_JOINED) {
                r->res->backlog++;
                continue;
            }
            size_t n = head + (size_t)k;
            if (cfg->irc)
                text[n++] = '\r';
            text[n++] = '\n';
            if (queue(mb, text, n, OUT_MAX) < 0) {
                r->res->backlog++;
                continue;
            }
            sd->seq++;
            r->res->sent++;
            queued = 1;
        }
        if (queued)
            flush(r, s);
        if (sd->due < next)
            next = sd->due;
    }
    return next;
}

static int setup(struct run *r)
{
    const struct sk_chatb_cfg *cfg = r->cfg;
    r->interval = (int64_t)((double)cfg->senders * 1e9 / cfg->rate);
    if (r->interval < 1)
        r->interval = 1;
    uint64_t cap = (uint64_t)(cfg->duration_ms * 1000000LL / r->interval) + 2;
    uint64_t pairs = (uint64_t)cfg->members * cfg->senders;
    uint64_t per = (cap + 7) / 8;
    if (per > TRACK_BYTES_MAX / (pairs ? pairs : 1))
        return -E2BIG;
    r->m = calloc(cfg->members, sizeof(*r->m));
    r->snd = calloc(cfg->senders, sizeof(*r->snd));
    r->tracks = calloc(pairs, sizeof(*r->tracks));
    r->bits = calloc(pairs, per);
    r->scratch = malloc(SCRATCH);
    if (!r->m || !r->snd || !r->tracks || !r->bits || !r->scratch)
        return -ENOMEM;
    for (uint64_t p = 0; p < pairs; p++) {
        r->tracks[p].cap = cap;
        r->tracks[p].seen = r->bits + p * per;
    }
    for (unsigned i = 0; i < cfg->members; i++)
        r->m[i].fd = -1;
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (r->ep < 0)
        return -errno;
    sk_bench_raise_nofile((uint64_t)cfg->members + 64);
    return 0;
}

static void teardown(struct run *r)
{
    if (r->m)
        for (unsigned i = 0; i < r->cfg->members; i++) {
            if (r->m[i].fd >= 0)
                close(r->m[i].fd);
            free(r->m[i].in);
            free(r->m[i].out);
        }
    if (r->ep >= 0)
        close(r->ep);
    free(r->m);
    free(r->snd);
    free(r->tracks);
    free(r->bits);
    free(r->scratch);
}

/* Wait for events until `until` (ns, monotonic) at the latest and handle them. */
static int step(struct run *r, int64_t until)
{
    struct epoll_event evs[MAX_EVENTS];
    int64_t left = until - sk_now_ns();
    if (left < 0)
        left = 0;
    struct timespec ts = {.tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL};
    int n = epoll_pwait2(r->ep, evs, MAX_EVENTS, &ts, NULL);
    if (n < 0 && errno == ENOSYS)
        n = epoll_wait(r->ep, evs, MAX_EVENTS, (int)((left + 999999) / 1000000));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int k = 0; k < n; k++) {
        unsigned i = evs[k].data.u32;
        struct member *mb = &r->m[i];
        if (mb->fd < 0)
            continue;
        if (mb->state == M_CONNECTING) {
            if (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                on_connected(r, i);
            continue;
        }
        if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            on_readable(r, i);
        if (mb->fd >= 0 && (evs[k].events & EPOLLOUT))
            flush(r, i);
    }
    return 0;
}

static void totals(struct run *r)
{
    const struct sk_chatb_cfg *cfg = r->cfg;
    struct sk_chatb_result *res = r->res;
    uint64_t pairs = (uint64_t)cfg->members * cfg->senders;
    res->duplicated = res->reordered = 0;
    for (uint64_t p = 0; p < pairs; p++) {
        res->duplicated += r->tracks[p].dup;
        res->reordered += r->tracks[p].ooo;
    }
    /* Each sender's messages go to every member but itself. */
    res->expected = 0;
    for (unsigned s = 0; s < cfg->senders; s++)
        res->expected += r->snd[s].seq * (cfg->members - 1);
    res->missing = res->expected > res->delivered ? res->expected - res->delivered : 0;
}

int sk_chatb_run(const struct sk_chatb_cfg *cfg, struct sk_chatb_result *res)
{
    memset(res, 0, sizeof(*res));
    sk_hist_init(&res->hist);
    if (cfg->members < 2 || cfg->joining == 0 || cfg->senders == 0 || cfg->senders > cfg->members ||
        cfg->rate <= 0 || cfg->duration_ms <= 0)
        return -EINVAL;
    struct run r = {.cfg = cfg, .res = res, .ep = -1};
    int rc = setup(&r);
    if (rc < 0)
        goto out;

    /* Joining. */
    int64_t start = sk_now_ns(), join_end = start + cfg->join_ms * 1000000LL;
    while (res->joined < cfg->members && !r.failed && !sk_bench_interrupted()) {
        while (r.opened < cfg->members && r.joining < cfg->joining && !r.failed) {
            rc = open_member(&r, r.opened++);
            if (rc < 0)
                goto out;
        }
        int64_t now = sk_now_ns();
        if (now >= join_end) {
            if (!res->why[0])
                snprintf(res->why, sizeof(res->why), "no answer within the join bound");
            r.failed = 1;
            break;
        }
        rc = step(&r, SK_MIN(join_end, now + 100000000LL));
        if (rc < 0)
            goto out;
    }
    res->join_s = (double)(sk_now_ns() - start) / 1e9;
    if (r.failed || res->joined < cfg->members) {
        rc = r.failed ? -ETIMEDOUT : -EINTR;
        if (sk_bench_interrupted())
            rc = -EINTR;
        goto out;
    }

    /* Sending. */
    r.t0 = sk_now_ns();
    r.t_end = r.t0 + cfg->duration_ms * 1000000LL;
    for (unsigned s = 0; s < cfg->senders; s++)
        r.snd[s].due = r.t0 + r.interval * s / cfg->senders;
    for (;;) {
        int64_t now = sk_now_ns();
        if (now >= r.t_end || sk_bench_interrupted())
            break;
        int64_t next = send_due(&r, now);
        rc = step(&r, next);
        if (rc < 0)
            goto out;
    }
    /* What fell due before the end but found the loop busy still goes: the
     * count of messages is the schedule's, whatever the machine's load. */
    if (!sk_bench_interrupted())
        send_due(&r, r.t_end);
    int64_t stop = sk_now_ns();
    res->elapsed_s = (double)(SK_MIN(stop, r.t_end) - r.t0) / 1e9;

    /* Draining: until every expected delivery came, or the bound. */
    int64_t drain_end = stop + cfg->drain_ms * 1000000LL;
    while (!sk_bench_interrupted()) {
        totals(&r);
        if (res->missing == 0 || sk_now_ns() >= drain_end)
            break;
        rc = step(&r, SK_MIN(drain_end, sk_now_ns() + 50000000LL));
        if (rc < 0)
            goto out;
    }
    rc = 0;
out:
    if (r.tracks && r.snd && rc == 0)
        totals(&r);
    teardown(&r);
    return rc;
}
