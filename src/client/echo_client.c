/*
 * echo_client.c - the echo client: the seeds' interactive client (a line in,
 * its reply out) and a scripted one (-m messages or --count generated
 * payloads) that times each round trip, over TCP or UDP.
 *
 * When a TCP reply is complete: what came back ends with the message sent
 * (a plain echo, or an echo behind a prefix such as the seeds' "You Send:"),
 * or, for a server that answers something else, nothing more arrived for
 * pause_ms after the first byte (a reply that is so far the start of the
 * message is an echo still coming: the pause does not end it), or the server
 * closed the connection. The
 * whole reply gets timeout_ms at most: an endless one (chargen, a trickle)
 * is cut off there.
 *
 * Reply bytes printed for a person never command the terminal: controls,
 * escape/OSC sequences and C1 controls are shown as \xNN (tty_safe, and
 * always in the scripted lines); into a pipe, interactive replies are
 * written byte for byte.
 *
 * UDP requests are resent up to `retries` times, each try waiting
 * timeout_ms. Generated payloads carry "NONCE:SEQ:TRY:" so every reply names
 * the datagram it answers: the awaited one answers the request, one whose
 * wait had ended is late, one already seen is a duplicate. -m and typed
 * messages are recognised by their content (tries cannot be told apart
 * then). Datagrams from any address but the server's are ignored and
 * counted as foreign.
 */
#include "sockit/client.h"

#include "client/tty_escape.h"

#include "sockit/buf.h"
#include "sockit/sock.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define DGRAM_BUF 65536
#define REMEMBER_MAX 4096 /* typed/-m messages kept to recognise late replies */

enum reply_kind { R_ECHO, R_OTHER, R_CUT, R_TIMEOUT, R_CLOSED };

struct session {
    int fd;
    int dgram, generated;
    const struct sk_addr *peer;
    const struct sk_echo_opts *o;
    FILE *out;
    struct sk_echo_stats *st;
    char name[SK_ADDR_STRLEN];
    uint32_t nonce;
    char *msg; /* the current payload */
    size_t msglen, msgcap;
    struct sk_buf reply;
    size_t reply_total; /* TCP: bytes of the current reply, also those dropped from the front */
    /* UDP bookkeeping, indexed by seq (from 1). */
    uint64_t nseq;
    uint32_t *seen;    /* bit t: a reply to try t arrived */
    uint8_t *answered; /* the request was answered in time */
    char **remembered; /* content-matched messages, by seq */
    size_t *remembered_len;
};

static double ms_since(int64_t t0)
{
    return (double)(sk_now_ns() - t0) / 1e6;
}

static void rtt_add(struct sk_echo_stats *st, double ms)
{
    if (st->rtt_n == 0 || ms < st->rtt_min)
        st->rtt_min = ms;
    if (st->rtt_n == 0 || ms > st->rtt_max)
        st->rtt_max = ms;
    st->rtt_n++;
    st->rtt_sum += ms;
    st->rtt_sum2 += ms * ms;
}

static int msg_reserve(struct session *s, size_t n)
{
    if (n <= s->msgcap)
        return 0;
    char *p = realloc(s->msg, n);
    if (!p)
        return -ENOMEM;
    s->msg = p;
    s->msgcap = n;
    return 0;
}

/* The generated payload of (seq, try): "NONCE:SEQ:TRY:" then a repeating
 * alphabet, ending in '\n' when newline is on; cut to size. */
static int build_generated(struct session *s, uint64_t seq, unsigned try)
{
    static const char fill[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t size = s->o->size;
    char head[64];
    int hl = snprintf(head, sizeof(head), "%08" PRIx32 ":%" PRIu64 ":%u:", s->nonce, seq, try);
    int r = msg_reserve(s, size ? size : 1);
    if (r < 0)
        return r;
    for (size_t i = 0; i < size; i++)
        s->msg[i] = i < (size_t)hl ? head[i] : fill[i % (sizeof(fill) - 1)];
    if (s->o->newline && size > 0)
        s->msg[size - 1] = '\n';
    s->msglen = size;
    return 0;
}

static int build_text(struct session *s, const char *text, size_t n)
{
    int r = msg_reserve(s, n + 1);
    if (r < 0)
        return r;
    memcpy(s->msg, text, n);
    s->msglen = n;
    if (s->o->newline)
        s->msg[s->msglen++] = '\n';
    return 0;
}

static int ends_with(const char *p, size_t n, const char *suffix, size_t sn)
{
    return n >= sn && memcmp(p + n - sn, suffix, sn) == 0;
}

/* Print reply text on one line: control bytes escaped, one line end dropped. */
static void print_text(FILE *out, const char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\n')
        n--;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    sk__tty_escape(out, p, n, 0);
}

/* An interactive reply: as it came (a pipe gets the bytes exactly), or made
 * harmless for a terminal (tty_safe); a line end is added when missing. */
static void print_reply(struct session *s, const char *p, size_t n)
{
    if (s->o->tty_safe)
        sk__tty_escape(s->out, p, n, 1);
    else
        fwrite(p, 1, n, s->out);
    if (n == 0 || p[n - 1] != '\n')
        fputc('\n', s->out);
}

/* ---- TCP ---- */

/* Is what came back so far the start of the message, an echo that paused
 * (a loaded server, a slow relay)? Then --pause does not end it. Nothing is
 * dropped from s->reply before it holds more than the message. */
static int echo_so_far(const struct session *s)
{
    size_t n = sk_buf_len(&s->reply);
    return n > 0 && n < s->msglen && n == s->reply_total &&
           memcmp(sk_buf_data(&s->reply), s->msg, n) == 0;
}

/* Send s->msg and collect its reply into s->reply (see the top comment).
 * The socket is non-blocking: sending and receiving interleave, so a
 * message larger than the socket buffers cannot deadlock against its echo.
 * Returns a reply_kind, or a negative error. */
static int tcp_exchange(struct session *s, double *rtt)
{
    const struct sk_echo_opts *o = s->o;
    size_t sent = 0;
    int64_t t0 = sk_now_ns(), last_rx = 0;
    struct sk_tls *tls = o->tls;
    short rx = POLLIN, tx = POLLOUT; /* TLS may want the other one */

    sk_buf_clear(&s->reply);
    s->reply_total = 0;
    s->reply.max = SK_MAX(s->reply.max, s->msglen + (size_t)DGRAM_BUF + 4096);
    for (;;) {
        if (o->stop && *o->stop)
            return -EINTR;
        int64_t now = sk_now_ns();
        /* The whole reply must come within the timeout: a server that
         * trickles, or never stops (chargen), is cut off there. */
        int64_t cap = t0 + (int64_t)o->timeout_ms * 1000000;
        int64_t deadline = last_rx ? SK_MIN(cap, last_rx + (int64_t)o->pause_ms * 1000000) : cap;
        if (now >= cap) {
            *rtt = ms_since(t0);
            return last_rx ? R_CUT : R_TIMEOUT;
        }
        if (sent == s->msglen && now >= deadline) {
            if (!echo_so_far(s))
                return last_rx ? R_OTHER : R_TIMEOUT;
            deadline = cap; /* an echo still coming: only the timeout ends it */
        }
        int wait = (int)((deadline - now + 999999) / 1000000);
        if (sent < s->msglen)
            wait = SK_MIN(wait, 1000);
        struct pollfd p = {.fd = s->fd, .events = (short)(rx | (sent < s->msglen ? tx : 0))};
        /* Decrypted TLS bytes waiting inside OpenSSL are never polled. */
        int buffered = tls && sk_tls_pending(tls) > 0;
        int n = 1;
        if (buffered)
            p.revents = POLLIN;
        else
            n = poll(&p, 1, wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (sent < s->msglen && (p.revents & tx)) {
            ssize_t w = tls ? sk_tls_write(tls, s->msg + sent, s->msglen - sent)
                            : sk_send(s->fd, s->msg + sent, s->msglen - sent);
            if (tls)
                tx = w == -EAGAIN ? sk_tls_want(tls) : POLLOUT;
            if (w < 0 && w != -EAGAIN)
                return (int)w;
            if (w > 0)
                sent += (size_t)w;
        }
        if (!(p.revents & (rx | POLLIN | POLLHUP | POLLERR)))
            continue;
        /* Keep at most the message's length plus 64 KiB: enough to check the
         * suffix; older bytes of an endless reply are dropped. */
        if (sk_buf_room(&s->reply) < 4096 && sk_buf_len(&s->reply) > s->msglen) {
            sk_buf_consume(&s->reply, sk_buf_len(&s->reply) - s->msglen);
        }
        int r = sk_buf_reserve(&s->reply, 4096);
        if (r < 0)
            return r;
        ssize_t got = tls ? sk_tls_read(tls, sk_buf_tail(&s->reply), sk_buf_room(&s->reply))
                          : recv(s->fd, sk_buf_tail(&s->reply), sk_buf_room(&s->reply), 0);
        if (tls && got < 0) {
            rx = got == -EAGAIN ? sk_tls_want(tls) : POLLIN;
            if (got == -EAGAIN)
                continue;
            return (int)got;
        }
        if (tls)
            rx = POLLIN;
        if (got < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0)
            return R_CLOSED;
        sk_buf_commit(&s->reply, (size_t)got);
        s->reply_total += (size_t)got;
        last_rx = sk_now_ns();
        if (sent == s->msglen && s->reply_total >= s->msglen &&
            ends_with(sk_buf_data(&s->reply), sk_buf_len(&s->reply), s->msg, s->msglen)) {
            *rtt = ms_since(t0);
            return R_ECHO;
        }
        *rtt = ms_since(t0);
    }
}

static int tcp_request(struct session *s, uint64_t seq, int interactive)
{
    double rtt = 0;
    int kind = tcp_exchange(s, &rtt);
    if (kind < 0)
        return kind;
    const char *data = sk_buf_data(&s->reply);
    size_t len = sk_buf_len(&s->reply);
    struct sk_echo_stats *st = s->st;

    if (kind == R_TIMEOUT || (kind == R_CLOSED && s->reply_total == 0)) {
        st->lost++;
        if (kind == R_TIMEOUT && (interactive || s->o->quiet < 2))
            fprintf(interactive ? stderr : s->out, "%sseq=%" PRIu64 ": no reply within %d ms\n",
                    interactive ? "sockit: echo-client: " : "", seq, s->o->timeout_ms);
        return kind;
    }
    st->answered++;
    rtt_add(st, rtt);
    if (kind != R_ECHO)
        st->mismatched++;
    if (interactive) {
        print_reply(s, data, len);
        if (kind == R_CUT)
            fprintf(stderr,
                    "sockit: echo-client: seq=%" PRIu64 ": the reply went on past %d ms; "
                    "cut off\n",
                    seq, s->o->timeout_ms);
    } else if (!s->o->quiet) {
        fprintf(s->out, "%zu byte%s from %s: seq=%" PRIu64 " time=%.3f ms", s->reply_total,
                s->reply_total == 1 ? "" : "s", s->name, seq, rtt);
        if (kind == R_CUT)
            fprintf(s->out, " (cut off: the reply went on past %d ms)", s->o->timeout_ms);
        else if (kind != R_ECHO && s->generated)
            fputs(" (not an echo of the request)", s->out);
        if (!s->generated) {
            fputs(": ", s->out);
            print_text(s->out, data, len);
        }
        fputc('\n', s->out);
    }
    fflush(s->out);
    return kind;
}

/* ---- UDP ---- */

static int udp_track(struct session *s, uint64_t seq)
{
    if (seq < s->nseq)
        return 0;
    uint64_t n = s->nseq ? s->nseq : 64;
    while (n <= seq)
        n *= 2;
    uint32_t *seen = realloc(s->seen, n * sizeof(*seen));
    if (!seen)
        return -ENOMEM;
    s->seen = seen;
    uint8_t *ans = realloc(s->answered, n);
    if (!ans)
        return -ENOMEM;
    s->answered = ans;
    char **rem = realloc(s->remembered, n * sizeof(*rem));
    if (!rem)
        return -ENOMEM;
    s->remembered = rem;
    size_t *reml = realloc(s->remembered_len, n * sizeof(*reml));
    if (!reml)
        return -ENOMEM;
    s->remembered_len = reml;
    for (uint64_t i = s->nseq; i < n; i++) {
        seen[i] = 0;
        ans[i] = 0;
        rem[i] = NULL;
        reml[i] = 0;
    }
    s->nseq = n;
    return 0;
}

/* Which (seq, try) does a datagram answer? Returns 1 and fills them, or 0
 * when it matches nothing sent. cur is the request being waited for. */
static int udp_identify(struct session *s, const char *p, size_t n, uint64_t cur, uint64_t *seq,
                        unsigned *try)
{
    if (s->generated) {
        char tag[16];
        int tl = snprintf(tag, sizeof(tag), "%08" PRIx32 ":", s->nonce);
        const char *at = memmem(p, n, tag, (size_t)tl);
        if (!at)
            return 0;
        char head[64];
        size_t hn = SK_MIN(sizeof(head) - 1, (size_t)(p + n - at));
        memcpy(head, at, hn);
        head[hn] = '\0';
        unsigned long long q;
        unsigned t;
        if (sscanf(head + tl, "%llu:%u:", &q, &t) != 2 || q == 0 || q > cur || t > 31)
            return 0;
        if (build_generated(s, q, t) < 0 || !ends_with(p, n, s->msg, s->msglen))
            return 0; /* names a request, but does not echo it intact */
        *seq = q;
        *try = t;
        return 1;
    }
    for (uint64_t q = cur; q >= 1; q--) {
        if (q < s->nseq && s->remembered[q] &&
            ends_with(p, n, s->remembered[q], s->remembered_len[q])) {
            *seq = q;
            *try = 0;
            return 1;
        }
        if (cur - q > REMEMBER_MAX)
            break;
    }
    return 0;
}

enum { U_NONE, U_ANSWER };
#define NO_TRY 255u /* curtry when no request is awaited (pauses, the linger) */

/* Take one datagram and classify it. cur is the last request sent; curtry
 * its try being awaited, or NO_TRY. Returns U_ANSWER when it answers
 * (cur, curtry), U_NONE otherwise, or a negative error. */
static int udp_receive(struct session *s, uint64_t cur, unsigned curtry, int64_t sent_ns,
                       int interactive)
{
    struct sk_addr from;
    memset(&from, 0, sizeof(from));
    from.len = sizeof(from.u);
    int r = sk_buf_reserve(&s->reply, DGRAM_BUF);
    if (r < 0)
        return r;
    sk_buf_clear(&s->reply);
    ssize_t got = recvfrom(s->fd, sk_buf_tail(&s->reply), DGRAM_BUF, MSG_DONTWAIT | MSG_TRUNC,
                           &from.u.sa, &from.len);
    if (got < 0)
        return (errno == EAGAIN || errno == EINTR) ? U_NONE : -errno;
    if (!sk_addr_equal(&from, s->peer)) {
        s->st->foreign++;
        return U_NONE;
    }
    size_t n = SK_MIN((size_t)got, (size_t)DGRAM_BUF);
    sk_buf_commit(&s->reply, n);
    const char *p = sk_buf_data(&s->reply);
    uint64_t seq = 0;
    unsigned t = 0;
    int known = (size_t)got <= DGRAM_BUF && udp_identify(s, p, n, cur, &seq, &t);
    if (!known) {
        /* A server that answers something else (daytime): the reply to
         * what we are waiting for, counted as not an echo. */
        if (s->generated || cur == 0 || curtry == NO_TRY || s->answered[cur]) {
            s->st->mismatched++;
            return U_NONE;
        }
        seq = cur;
        t = curtry;
        s->st->mismatched++;
    } else if (!s->generated) {
        t = seq == cur && curtry != NO_TRY ? curtry : 0; /* content cannot tell tries apart */
    }
    if ((s->seen[seq] & (1u << t)) || (!s->generated && s->answered[seq])) {
        s->st->duplicate++;
        return U_NONE;
    }
    s->seen[seq] |= 1u << t;
    if (seq == cur && t == curtry && !s->answered[seq]) {
        double rtt = ms_since(sent_ns);
        s->answered[seq] = 1;
        s->st->answered++;
        rtt_add(s->st, rtt);
        if (interactive) {
            print_reply(s, p, n);
        } else if (!s->o->quiet) {
            fprintf(s->out, "%zd byte%s from %s: seq=%" PRIu64 " time=%.3f ms", got,
                    got == 1 ? "" : "s", s->name, seq, rtt);
            if (t > 0)
                fprintf(s->out, " (try %u)", t + 1);
            if (!known)
                fputs(" (not an echo of the request)", s->out);
            if (!s->generated) {
                fputs(": ", s->out);
                print_text(s->out, p, n);
            }
            fputc('\n', s->out);
        }
        fflush(s->out);
        return U_ANSWER;
    }
    s->st->late++;
    return U_NONE;
}

/* Wait until deadline (monotonic ns) for datagrams; returns U_ANSWER once
 * the awaited one came, U_NONE at the deadline, or a negative error. */
static int udp_wait(struct session *s, uint64_t cur, unsigned curtry, int64_t sent_ns,
                    int64_t deadline, int interactive)
{
    for (;;) {
        if (s->o->stop && *s->o->stop)
            return -EINTR;
        int64_t now = sk_now_ns();
        if (now >= deadline)
            return U_NONE;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int n = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n <= 0)
            continue;
        int r = udp_receive(s, cur, curtry, sent_ns, interactive);
        if (r != U_NONE)
            return r;
    }
}

static int udp_remember(struct session *s, uint64_t seq)
{
    if (s->generated)
        return 0;
    char *copy = malloc(s->msglen ? s->msglen : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, s->msg, s->msglen);
    s->remembered[seq] = copy;
    s->remembered_len[seq] = s->msglen;
    if (seq > REMEMBER_MAX && s->remembered[seq - REMEMBER_MAX]) {
        free(s->remembered[seq - REMEMBER_MAX]);
        s->remembered[seq - REMEMBER_MAX] = NULL;
    }
    return 0;
}

/* One request: s->msg already holds the payload of try 0 (for text). */
static int udp_request(struct session *s, uint64_t seq, int interactive)
{
    const struct sk_echo_opts *o = s->o;
    int r = udp_track(s, seq);
    if (r < 0 || (r = udp_remember(s, seq)) < 0)
        return r;
    for (unsigned t = 0; t <= (unsigned)o->retries; t++) {
        if (s->generated && (r = build_generated(s, seq, t)) < 0)
            return r;
        if (t > 0)
            s->st->retransmitted++;
        int64_t t0 = sk_now_ns();
        ssize_t w;
        do {
            w = sendto(s->fd, s->msg, s->msglen, 0, &s->peer->u.sa, s->peer->len);
        } while (w < 0 && errno == EINTR);
        if (w < 0) {
            r = -errno;
            if (r != -ENOBUFS && r != -EAGAIN)
                return r; /* ECONNREFUSED too: an earlier try was refused */
        }
        r = udp_wait(s, seq, t, t0, t0 + (int64_t)o->timeout_ms * 1000000, interactive);
        if (r < 0)
            return r;
        if (r == U_ANSWER)
            return 0;
    }
    s->st->lost++;
    if (!interactive && o->quiet >= 2)
        return 0;
    fprintf(interactive ? stderr : s->out, "%sseq=%" PRIu64 ": no reply (lost after %d %s)\n",
            interactive ? "sockit: echo-client: " : "", seq, o->retries + 1,
            o->retries ? "tries" : "try");
    fflush(s->out);
    return 0;
}

/* ---- the session ---- */

static int request(struct session *s, uint64_t seq, int interactive)
{
    int r;
    s->st->requests++;
    if (s->dgram) {
        r = udp_request(s, seq, interactive);
    } else {
        r = tcp_request(s, seq, interactive);
        r = r < 0 ? r : (r == R_CLOSED ? -ECONNRESET : 0);
    }
    if (r == -EINTR)
        s->st->interrupted++; /* stopped while its reply was awaited */
    return r;
}

static int stopped(const struct session *s)
{
    return s->o->stop && *s->o->stop;
}

static int pause_between(struct session *s, uint64_t last)
{
    if (s->o->interval_ms <= 0)
        return 0;
    if (s->dgram) {
        /* Keep taking (and counting) stragglers while pausing. */
        int r = udp_wait(s, last, NO_TRY, 0, sk_now_ns() + (int64_t)s->o->interval_ms * 1000000, 0);
        return r < 0 ? r : 0;
    }
    usleep((useconds_t)s->o->interval_ms * 1000);
    return 0;
}

static int interactive(struct session *s, FILE *in)
{
    const struct sk_echo_opts *o = s->o;
    char *line = NULL;
    size_t cap = 0;
    uint64_t seq = 0;
    int r = 0;

    for (;;) {
        if (o->prompt) {
            fputs(o->prompt, s->out);
            fflush(s->out);
        }
        ssize_t n = getline(&line, &cap, in);
        if (n < 0 || (o->stop && *o->stop))
            break;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n == 0 && o->blank_ends)
            break; /* an empty line typed at a terminal ends the session, as in the seeds */
        if (n == 0 && !o->newline)
            continue; /* nothing to send */
        int quit = o->quit && strcasecmp(line, o->quit) == 0;
        if ((r = build_text(s, line, (size_t)n)) < 0)
            break;
        if (quit) {
            /* Send the word on, so a server that knows it (the seeds') closes too. */
            if (!s->dgram)
                sk_write_all(s->fd, s->msg, s->msglen);
            else
                sendto(s->fd, s->msg, s->msglen, 0, &s->peer->u.sa, s->peer->len);
            break;
        }
        r = request(s, ++seq, 1);
        if (r == -ECONNRESET) {
            fprintf(stderr, "sockit: echo-client: the server closed the connection\n");
            break;
        }
        if (r < 0)
            break;
    }
    free(line);
    return r;
}

static int scripted(struct session *s)
{
    const struct sk_echo_opts *o = s->o;
    uint64_t total = s->generated ? o->count : o->nmsgs;
    int r = 0;

    for (uint64_t i = 0; i < total; i++) {
        if (o->stop && *o->stop)
            break;
        if (i > 0 && (r = pause_between(s, i)) < 0)
            break;
        if (stopped(s))
            break; /* interrupted in the pause: nothing more is sent */
        if (s->generated)
            r = build_generated(s, i + 1, 0);
        else
            r = build_text(s, o->msgs[i], strlen(o->msgs[i]));
        if (r < 0 || (r = request(s, i + 1, 0)) < 0)
            break;
    }
    if (r == -ECONNRESET) {
        fprintf(s->out, "the server closed the connection\n");
        r = 0;
    }
    if (r == 0 && s->dgram && total > 0) {
        /* Stragglers: late and duplicate replies to the last requests. */
        r = udp_wait(s, total, NO_TRY, 0, sk_now_ns() + (int64_t)o->linger_ms * 1000000, 0);
        r = r < 0 ? r : 0;
    }
    if (r == 0 && o->quit) {
        if ((r = build_text(s, o->quit, strlen(o->quit))) == 0) {
            if (s->dgram)
                sendto(s->fd, s->msg, s->msglen, 0, &s->peer->u.sa, s->peer->len);
            else
                sk_write_all(s->fd, s->msg, s->msglen);
        }
    }
    return r;
}

int sk_echo_client(int fd, const struct sk_addr *peer, const struct sk_echo_opts *o, FILE *in,
                   FILE *out, struct sk_echo_stats *st)
{
    struct session s = {
        .fd = fd,
        .dgram = o->socktype == SOCK_DGRAM,
        .generated = o->count > 0,
        .peer = peer,
        .o = o,
        .out = out,
        .st = st,
    };
    int r;

    memset(st, 0, sizeof(*st));
    sk_addr_format(peer, s.name, sizeof(s.name));
    if (getrandom(&s.nonce, sizeof(s.nonce), 0) != sizeof(s.nonce))
        s.nonce = (uint32_t)sk_now_ns() ^ (uint32_t)getpid();
    sk_buf_init(&s.reply, o->size + (size_t)DGRAM_BUF + 4096);
    if ((r = sk_sock_set_nonblock(fd, 1)) < 0)
        goto out;
    if (s.dgram) {
        /* Report ICMP port unreachable on this unconnected socket too, so a
         * closed port is "Connection refused", not a lost datagram. */
        int on = 1;
        if (sk_addr_family(peer) == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
        else if (sk_addr_family(peer) == AF_INET)
            setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
    }
    if (s.dgram && (r = udp_track(&s, 1)) < 0)
        goto out;
    r = (o->msgs && o->nmsgs) || o->count ? scripted(&s) : interactive(&s, in);
    if (r == -EINTR && o->stop && *o->stop)
        r = 0;
out:
    for (uint64_t i = 0; i < s.nseq; i++)
        free(s.remembered[i]);
    free(s.remembered);
    free(s.remembered_len);
    free(s.seen);
    free(s.answered);
    free(s.msg);
    sk_buf_free(&s.reply);
    return r;
}

void sk_echo_report(FILE *out, const char *name, const struct sk_echo_opts *o,
                    const struct sk_echo_stats *st)
{
    double loss = st->requests ? 100.0 * (double)st->lost / (double)st->requests : 0.0;

    fprintf(out, "--- %s echo statistics ---\n", name);
    fprintf(out, "%" PRIu64 " request%s, %" PRIu64 " answered, %" PRIu64 " lost (%.1f%%)",
            st->requests, st->requests == 1 ? "" : "s", st->answered, st->lost, loss);
    if (st->interrupted)
        fprintf(out, ", %" PRIu64 " interrupted", st->interrupted);
    if (o->socktype == SOCK_DGRAM)
        fprintf(out,
                ", %" PRIu64 " retransmitted\n%" PRIu64 " late, %" PRIu64 " duplicate, %" PRIu64
                " foreign, %" PRIu64 " mismatched\n",
                st->retransmitted, st->late, st->duplicate, st->foreign, st->mismatched);
    else
        fprintf(out, ", %" PRIu64 " mismatched\n", st->mismatched);
    if (st->rtt_n) {
        double n = (double)st->rtt_n, avg = st->rtt_sum / n;
        double var = st->rtt_sum2 / n - avg * avg;
        fprintf(out, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", st->rtt_min, avg,
                st->rtt_max, var > 0 ? sqrt(var) : 0.0);
    }
    fflush(out);
}
