/*
 * transport.c - the TLS transport between a connection's socket and its
 * service, written once for every stream model (see internal.h): the
 * handshake and its bound, decrypting what arrived into the model's own
 * input path, encrypting the service's output (out, then a file read in
 * chunks: sendfile cannot encrypt) only while little ciphertext waits,
 * close_notify when the service ends, and one rate-limited line for failed
 * handshakes. TLS runs over memory (tls.h), so io_uring and the readiness
 * and blocking models move ciphertext exactly as they move plain bytes.
 */
#include "internal.h"

#include "sockit/error.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define FILE_CHUNK (16 * 1024) /* one TLS record of a file at a time */
#define DEFAULT_HANDSHAKE_MS 10000

int sk__tls_open(struct sk_conn *c)
{
    struct sk__tls_conn *tc = calloc(1, sizeof(*tc));
    if (!tc)
        return -ENOMEM;
    int r = sk_tls_server(c->srv->tls, -1, &tc->t);
    if (r < 0) {
        free(tc);
        return r;
    }
    /* The wire holds what one fill makes: up to SK_TLS_WIRE plus a record. */
    sk_buf_init(&tc->wire, SK_TLS_WIRE + 32 * 1024);
    int ms = c->srv->handshake_ms ? c->srv->handshake_ms : DEFAULT_HANDSHAKE_MS;
    tc->hs_due = c->open_ms + ms;
    c->tls = tc;
    return 0;
}

void sk__tls_close(struct sk_conn *c)
{
    struct sk__tls_conn *tc = c->tls;
    if (!tc)
        return;
    sk_tls_free(tc->t);
    sk_buf_free(&tc->wire);
    free(tc);
    c->tls = NULL;
}

static void log_failure(struct sk_conn *c, const char *why)
{
    uint64_t skipped = 0;
    if (!sk__rate_ok(&c->srv->st->tls_log, &skipped))
        return;
    char a[SK_ADDR_STRLEN];
    sk_addr_format(&c->peer, a, sizeof(a));
    if (skipped)
        sk_log(SK_LOG_WARN, "TLS handshake with %s failed: %s (and %llu more since the last line)",
               a, why, (unsigned long long)skipped);
    else
        sk_log(SK_LOG_WARN, "TLS handshake with %s failed: %s", a, why);
}

int sk__tls_recv(struct sk_conn *c, char *buf, size_t n, size_t cap, int *eof,
                 int (*deliver)(void *arg, const char *p, size_t len), void *arg)
{
    struct sk__tls_conn *tc = c->tls;

    if (n && sk_tls_feed(tc->t, buf, n) < 0)
        return -ENOMEM;
    if (tc->hs_due) {
        int r = sk_tls_handshake_step(tc->t);
        if (r == -EAGAIN)
            return 0;
        if (r < 0) {
            log_failure(c, sk_tls_why(tc->t));
            return r;
        }
        tc->hs_due = 0;
        /* The service's clock starts when its peer can hear it: a deadline
         * set in open() (chat's banner delay) counts from here. */
        if (c->deadline_ms)
            c->deadline_ms += sk_now_ms() - c->open_ms;
        if (sk_log_level >= SK_LOG_DEBUG) {
            char a[SK_ADDR_STRLEN];
            sk_addr_format(&c->peer, a, sizeof(a));
            const char *alpn = sk_tls_alpn(tc->t), *sni = sk_tls_sni(tc->t);
            sk_log(SK_LOG_DEBUG, "#%llu %s: %s%s%s%s%s", (unsigned long long)c->id, a,
                   sk_tls_version(tc->t), alpn[0] ? ", ALPN " : "", alpn, sni ? ", SNI " : "",
                   sni ? sni : "");
        }
    }
    for (;;) {
        ssize_t got = sk_tls_read(tc->t, buf, cap);
        if (got == -EAGAIN)
            return 0;
        if (got == 0) {
            *eof = 1; /* close_notify (or a truncation: an end all the same) */
            return 0;
        }
        if (got < 0)
            return (int)got;
        int r = deliver(arg, buf, (size_t)got);
        if (r < 0)
            return r;
    }
}

int sk__tls_eof(struct sk_conn *c)
{
    if (c->tls && c->tls->hs_due) {
        log_failure(c, "the peer closed during the handshake");
        return SK_ETLS_CLOSED;
    }
    return 0;
}

int sk__tls_timeout(struct sk_conn *c)
{
    log_failure(c, "no handshake within the handshake timeout");
    return -ETIMEDOUT;
}

/* Move the ciphertext TLS made into wire. */
static int take(struct sk__tls_conn *tc, struct sk_buf *wire)
{
    size_t n;
    while ((n = sk_tls_drain_pending(tc->t)) > 0) {
        int r = sk_buf_reserve(wire, n);
        if (r < 0)
            return r == -ENOBUFS ? 0 : r; /* full: the rest waits in TLS */
        ssize_t got = sk_tls_drain(tc->t, sk_buf_tail(wire), sk_buf_room(wire));
        if (got <= 0)
            break;
        sk_buf_commit(wire, (size_t)got);
    }
    return 0;
}

int sk__tls_fill(struct sk_conn *c, struct sk_buf *wire, size_t upto, int64_t now, uint64_t *total)
{
    struct sk__tls_conn *tc = c->tls;
    int r;

    if ((r = take(tc, wire)) < 0)
        return r;
    if (tc->hs_due)
        return 0; /* plaintext waits for the handshake */
    while (sk_buf_len(wire) < upto) {
        const char *p;
        size_t len;
        char chunk[FILE_CHUNK];
        if (sk_buf_len(&c->out)) {
            p = sk_buf_data(&c->out);
            len = SK_MIN(sk_buf_len(&c->out), upto - sk_buf_len(wire));
        } else if (c->file.fd >= 0) {
            ssize_t got = pread(c->file.fd, chunk, SK_MIN(sizeof(chunk), c->file.len), c->file.off);
            if (got < 0)
                return errno == EINTR ? 0 : -errno;
            if (got == 0)
                return -EIO; /* the file shrank under us */
            p = chunk;
            len = (size_t)got;
        } else {
            if ((c->flags & SK_CONN_END) && !tc->shut) {
                tc->shut = 1;
                sk_tls_shutdown(tc->t); /* close_notify, sent before the close */
                return take(tc, wire);
            }
            break;
        }
        ssize_t w = sk_tls_write(tc->t, p, len);
        if (w < 0)
            return w == -EAGAIN ? 0 : (int)w;
        if (p == chunk) {
            c->file.off += w;
            c->file.len -= (size_t)w;
            if (c->file.len == 0) {
                close(c->file.fd);
                c->file.fd = -1;
            }
        } else {
            sk_buf_consume(&c->out, (size_t)w);
        }
        sk__conn_sent(c, (size_t)w, now, total);
        if ((r = take(tc, wire)) < 0)
            return r;
    }
    return 0;
}

int sk__tls_flush(struct sk_conn *c, int64_t now, uint64_t *total)
{
    struct sk__tls_conn *tc = c->tls;
    struct sk_buf *wire = &tc->wire;

    for (;;) {
        if (sk_buf_len(wire) == 0) {
            int r = sk__tls_fill(c, wire, SK_TLS_WIRE, now, total);
            if (r < 0)
                return r;
            if (sk_buf_len(wire) == 0)
                return 0;
        }
        size_t len = sk_buf_len(wire);
        ssize_t w = send(c->fd, sk_buf_data(wire), len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        sk_buf_consume(wire, (size_t)w);
        c->last_ms = now;
        if ((size_t)w < len)
            return 0; /* the socket buffer is full: wait for writability */
    }
}

size_t sk__tls_queued(const struct sk_conn *c)
{
    const struct sk__tls_conn *tc = c->tls;
    /* A close_notify still to make counts as one byte: the close waits for it. */
    int notify = (c->flags & SK_CONN_END) && !tc->shut && !tc->hs_due;
    return sk_buf_len(&tc->wire) + sk_tls_drain_pending(tc->t) + (size_t)notify;
}

int sk__tls_wants_write(const struct sk_conn *c)
{
    const struct sk__tls_conn *tc = c->tls;
    return sk_buf_len(&tc->wire) || sk_tls_drain_pending(tc->t) ||
           (!tc->hs_due && (sk_conn_pending(c) || ((c->flags & SK_CONN_END) && !tc->shut)));
}
