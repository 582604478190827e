/*
 * relay.c - the netcat-style relay (relay.h): one poll loop moving in_fd to
 * the socket and the socket to out_fd through two bounded buffers, with
 * backpressure both ways and a half-close when the input ends. A transport
 * over the socket (TLS for `sockit connect --tls`) plugs in through struct
 * sk_relay_io; the loop then moves plaintext and polls for what the
 * transport wants.
 */
#include "sockit/relay.h"

#include "sockit/buf.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DGRAM_MAX 65507 /* the largest UDP payload over IPv4 */
#define DGRAM_BUF 65536

/* -C: each '\n' of the n bytes at p becomes "\r\n", in place (p has room
 * for 2n bytes). Returns the new length. */
static size_t crlf_expand(char *p, size_t n)
{
    size_t lf = 0;
    for (size_t i = 0; i < n; i++)
        lf += p[i] == '\n';
    size_t j = n + lf;
    for (size_t i = n; i-- > 0;) {
        p[--j] = p[i];
        if (p[i] == '\n')
            p[--j] = '\r';
    }
    return n + lf;
}

/* n bytes arrived at the tail of down: show them to the tap, keep them for
 * out_fd (unless --send-only drops them). */
static void received(const struct sk_relay_opts *o, struct sk_buf *down, size_t n)
{
    if (o->tap && n)
        o->tap(o->tap_arg, SK_RELAY_RECEIVED, sk_buf_tail(down), n);
    if (!o->send_only)
        sk_buf_commit(down, n);
}

static int64_t remaining(int64_t deadline, int64_t now)
{
    return deadline <= now ? 0 : deadline - now;
}

int sk_relay(int fd, const struct sk_relay_opts *o, struct sk_relay_stats *st)
{
    const int dgram = o->socktype == SOCK_DGRAM;
    size_t cap = o->bufsize ? o->bufsize : 65536;
    struct sk_buf up, down; /* up: in_fd -> socket; down: socket -> out_fd */
    int in_eof = 0, sock_eof = 0, shut = 0, r;
    /* What the socket is polled for to read and to write: POLLIN and
     * POLLOUT, but TLS may need the other one (a record half sent, a key
     * update to answer), and close_notify may wait for POLLOUT. */
    short rx_ev = POLLIN, tx_ev = POLLOUT, shut_ev = 0;
    const struct sk_relay_io *io = dgram ? NULL : o->io; /* NULL: plain bytes */
    void *t = o->io_arg;
    int64_t last = sk_now_ms(), quiet_since = 0, eof_progress = 0, quit_at = 0, next_tx = 0;
    const char *eof_send = NULL; /* o->eof_send while it waits for room */

    memset(st, 0, sizeof(*st));
    if (o->in_fd < 0 || o->recv_only)
        in_eof = 1;
    if (o->recv_only || o->no_shutdown)
        shut = 1; /* never half-closed: the peer's close ends the relay */
    if (dgram && cap < DGRAM_BUF)
        cap = DGRAM_BUF;
    sk_buf_init(&up, cap);
    sk_buf_init(&down, cap);
    if ((r = sk_buf_reserve(&up, cap)) < 0 || (r = sk_buf_reserve(&down, cap)) < 0)
        goto out;
    if ((r = sk_sock_set_nonblock(fd, 1)) < 0)
        goto out;

    for (;;) {
        int64_t now = sk_now_ms();
        if (o->stop && *o->stop) {
            r = 0;
            break;
        }
        if (eof_send && sk_buf_room(&up) >= strlen(eof_send)) {
            sk_buf_append(&up, eof_send, strlen(eof_send));
            eof_send = NULL;
        }
        if (!dgram && in_eof && !eof_send && !shut && sk_buf_len(&up) == 0) {
            /* A transport first says "no more from me" (TLS: close_notify). */
            int s = io ? io->shutdown(t) : 0;
            if (s == -EAGAIN) {
                shut_ev = io->want(t);
            } else if (s < 0 && !sock_eof && s != -EPIPE) {
                r = s;
                break;
            } else {
                /* Sent, or the peer is gone for writing (EPIPE: it closed
                 * after answering): what it sent is still read. */
                shutdown(fd, SHUT_WR); /* the half-close: the peer sees EOF */
                shut = 1;
                shut_ev = 0;
            }
        }
        if (o->quit_after_ms > 0 && in_eof && !eof_send && (shut || dgram) &&
            sk_buf_len(&up) == 0) {
            if (!quit_at)
                quit_at = now + o->quit_after_ms;
            if (now >= quit_at) {
                r = 0;
                break;
            }
        }
        if (o->send_only && in_eof && !eof_send && (shut || dgram) && sk_buf_len(&up) == 0) {
            r = 0; /* everything went out; what comes back is not wanted */
            break;
        }
        int64_t wait = -1;
        if (sock_eof && sk_buf_len(&down) == 0) {
            /* The peer ended its side. It may only have half-closed and
             * still be reading: input that keeps flowing is sent on until it
             * ends, or stalls for eof_wait_ms, or the peer refuses it. */
            int64_t left = remaining(eof_progress + o->eof_wait_ms, now);
            if ((in_eof && sk_buf_len(&up) == 0) || left == 0) {
                st->peer_closed = 1;
                r = 0;
                break;
            }
            wait = left;
        }
        if (dgram && in_eof && sk_buf_len(&up) == 0 && sk_buf_len(&down) == 0) {
            if (!quiet_since)
                quiet_since = now;
            int64_t left = remaining(quiet_since + o->linger_ms, now);
            if (left == 0) {
                r = 0;
                break;
            }
            wait = left;
        }
        /* --interval: the next line waits for its time. */
        int tx_ok = !next_tx || now >= next_tx;
        if (!tx_ok && sk_buf_len(&up))
            wait = wait < 0 ? remaining(next_tx, now) : SK_MIN(wait, remaining(next_tx, now));
        if (quit_at)
            wait = wait < 0 ? remaining(quit_at, now) : SK_MIN(wait, remaining(quit_at, now));
        if (o->idle_timeout_ms > 0) {
            int64_t left = remaining(last + o->idle_timeout_ms, now);
            if (left == 0) {
                st->idle_timeout = 1;
                r = 0;
                break;
            }
            wait = wait < 0 ? left : SK_MIN(wait, left);
        }

        /* Interest follows buffer space: that is the backpressure. A
         * datagram is taken whole, so those sides wait for an empty buffer. */
        int want_in =
            !in_eof && (dgram ? sk_buf_len(&up) == 0 : sk_buf_room(&up) > (o->crlf ? 1u : 0u));
        int want_rx = !sock_eof && (dgram ? sk_buf_len(&down) == 0 : sk_buf_room(&down) > 0);
        short sock_ev =
            (short)((want_rx ? rx_ev : 0) | (sk_buf_len(&up) && tx_ok ? tx_ev : 0) | shut_ev);
        /* Plaintext a transport already decrypted is never signalled by poll. */
        int io_buffered = io && want_rx && io->pending(t) > 0;
        if (io_buffered)
            wait = 0;
        struct pollfd p[3] = {
            {.fd = want_in ? o->in_fd : -1, .events = POLLIN},
            /* No interest at all: leave the socket out, or a hang-up would
             * wake the loop again and again while stdout is slow. */
            {.fd = sock_ev ? fd : -1, .events = sock_ev},
            {.fd = sk_buf_len(&down) ? o->out_fd : -1, .events = POLLOUT},
        };
        int n = poll(p, 3, (int)wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (n == 0 && !io_buffered)
            continue;

        if (p[0].revents) {
            ssize_t got;
            size_t room = dgram ? DGRAM_MAX : sk_buf_room(&up);
            if (o->crlf)
                room = room / 2 ? room / 2 : 1; /* room for a '\r' before each '\n' */
            if (p[0].revents & POLLNVAL)
                got = 0;
            else
                got = sk_read(o->in_fd, sk_buf_tail(&up), room);
            if (got > 0 && o->crlf)
                got = (ssize_t)crlf_expand(sk_buf_tail(&up), (size_t)got);
            if (got < 0 && got != -EAGAIN) {
                r = (int)got;
                break;
            }
            if (got == 0) {
                in_eof = 1;
                quiet_since = 0;
                eof_send = dgram ? NULL : o->eof_send;
            } else if (got > 0) {
                sk_buf_commit(&up, (size_t)got);
            }
        }
        if (sk_buf_len(&up) && tx_ok &&
            (p[1].revents & (io ? tx_ev | POLLERR | POLLHUP : POLLOUT))) {
            size_t len = sk_buf_len(&up);
            if (o->interval_ms > 0 && !dgram) {
                const char *nl = memchr(sk_buf_data(&up), '\n', len);
                if (nl)
                    len = (size_t)(nl - (const char *)sk_buf_data(&up)) + 1;
            }
            ssize_t w =
                io ? io->write(t, sk_buf_data(&up), len) : sk_send(fd, sk_buf_data(&up), len);
            if (o->interval_ms > 0 && w == (ssize_t)len)
                next_tx = sk_now_ms() + o->interval_ms; /* a line (or datagram) went */
            if (w == -EAGAIN && io)
                tx_ev = io->want(t);
            else if (io)
                tx_ev = POLLOUT;
            if (w < 0 && w != -EAGAIN) {
                if (sock_eof && (w == -EPIPE || w == -ECONNRESET)) {
                    st->peer_closed = 1; /* it had closed, not half-closed */
                    r = 0;
                } else {
                    r = (int)w;
                }
                break;
            }
            if (w > 0 && o->tap)
                o->tap(o->tap_arg, SK_RELAY_SENT, sk_buf_data(&up), (size_t)w);
            if (w > 0) {
                st->sent += (uint64_t)w;
                last = eof_progress = sk_now_ms();
                if (dgram) {
                    st->dgrams_sent++;
                    sk_buf_clear(&up);
                } else {
                    sk_buf_consume(&up, (size_t)w);
                }
            }
        }
        if (io && want_rx && (io_buffered || (p[1].revents & (rx_ev | POLLHUP | POLLERR)))) {
            ssize_t got = io->read(t, sk_buf_tail(&down), sk_buf_room(&down));
            rx_ev = got == -EAGAIN ? io->want(t) : POLLIN;
            if (got < 0 && got != -EAGAIN) {
                r = (int)got;
                break;
            }
            if (got == 0) {
                sock_eof = 1;
                eof_progress = sk_now_ms();
            } else if (got > 0) {
                received(o, &down, (size_t)got);
                st->received += (uint64_t)got;
                last = sk_now_ms();
            }
        } else if (!io && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (want_rx || (p[1].revents & POLLERR)) {
                ssize_t got = recv(fd, sk_buf_tail(&down), sk_buf_room(&down), 0);
                if (got < 0 && errno != EAGAIN && errno != EINTR) {
                    r = -errno;
                    break;
                }
                if (got == 0 && !dgram) {
                    sock_eof = 1;
                    eof_progress = sk_now_ms();
                } else if (got >= 0) {
                    received(o, &down, (size_t)got);
                    st->received += (uint64_t)got;
                    last = sk_now_ms();
                    quiet_since = 0;
                    if (dgram)
                        st->dgrams_received++;
                }
            }
        }
        if (p[2].revents) {
            /* All that is buffered, as netcat does: out_fd is as the user
             * gave it (blocking, usually), so a slow reader holds us here
             * until it took it, which is the backpressure. */
            ssize_t w = write(o->out_fd, sk_buf_data(&down), sk_buf_len(&down));
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                r = -errno;
                break;
            }
            if (w > 0)
                sk_buf_consume(&down, (size_t)w);
        }
    }
out:
    st->in_eof = in_eof;
    sk_buf_free(&up);
    sk_buf_free(&down);
    return r;
}
