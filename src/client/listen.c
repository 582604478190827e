/*
 * listen.c - netcat's listen mode (`sockit listen`): waiting for a client on
 * the listeners sk_server_bind() opened (the stream relay is sk_relay()), and
 * the UDP side, where datagrams from any number of peers go to the output
 * and each read of the input goes as one datagram to the peer heard last.
 */
#include "sockit/client.h"

#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DGRAM_MAX 65507
#define POLL_MS 200 /* how often a wait looks at the stop flag */

int sk_listen_accept(const int *lfds, unsigned n, int timeout_ms, volatile sig_atomic_t *stop,
                     struct sk_addr *peer)
{
    struct pollfd p[8];
    int64_t deadline = timeout_ms > 0 ? sk_now_ms() + timeout_ms : 0;

    if (n == 0 || n > 8)
        return -EINVAL;
    for (;;) {
        if (stop && *stop)
            return -ECANCELED;
        int wait = POLL_MS;
        if (deadline) {
            int64_t left = deadline - sk_now_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            wait = (int)SK_MIN(left, (int64_t)POLL_MS);
        }
        for (unsigned i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = lfds[i], .events = POLLIN};
        int r = poll(p, n, wait);
        if (r < 0 && errno != EINTR)
            return -errno;
        for (unsigned i = 0; r > 0 && i < n; i++) {
            if (!p[i].revents)
                continue;
            struct sk_addr a = {.len = sizeof(a.u)};
            int fd = accept4(lfds[i], &a.u.sa, &a.len, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                    continue;
                return -errno;
            }
            sk_sock_set_nonblock(fd, 0); /* the listener may be nonblocking */
            if (peer)
                *peer = a;
            return fd;
        }
    }
}

/* One datagram from fd to out_fd (and the dump); its sender becomes the
 * peer input goes to. */
static int take_datagram(int fd, const struct sk_relay_opts *o, char *buf, struct sk_addr *from,
                         struct sk_relay_stats *st)
{
    from->len = sizeof(from->u);
    ssize_t got = recvfrom(fd, buf, DGRAM_MAX + 1, MSG_TRUNC, &from->u.sa, &from->len);
    if (got < 0)
        return errno == EAGAIN || errno == EINTR || errno == ECONNREFUSED ? 0 : -errno;
    size_t n = (size_t)got > DGRAM_MAX ? DGRAM_MAX : (size_t)got;
    st->dgrams_received++;
    st->received += n;
    if (o->hex)
        sk_hexdump(o->hex, SK_HEX_RECEIVED, buf, n);
    if (!o->send_only && n)
        return sk_write_all(o->out_fd, buf, n);
    return 0;
}

int sk_listen_udp(const int *fds, unsigned n, const struct sk_relay_opts *o,
                  struct sk_relay_stats *st, struct sk_addr *last_peer)
{
    struct pollfd p[9];
    char *rx = malloc(DGRAM_MAX + 1), *tx = malloc(2 * DGRAM_MAX + 2);
    size_t pending = 0;
    int in_eof = o->in_fd < 0 || o->recv_only, peer_fd = -1, r = 0;
    int64_t last = sk_now_ms();

    memset(st, 0, sizeof(*st));
    memset(last_peer, 0, sizeof(*last_peer));
    if (!rx || !tx || n == 0 || n > 8) {
        r = n == 0 || n > 8 ? -EINVAL : -ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < n; i++)
        sk_sock_set_nonblock(fds[i], 1);
    for (;;) {
        if (o->stop && *o->stop)
            break;
        int wait = POLL_MS;
        if (o->idle_timeout_ms > 0) {
            int64_t left = last + o->idle_timeout_ms - sk_now_ms();
            if (left <= 0) {
                st->idle_timeout = 1;
                break;
            }
            wait = (int)SK_MIN(left, (int64_t)POLL_MS);
        }
        /* One datagram of input waits for a peer to go to: until then the
         * input is not read (backpressure). */
        p[0] = (struct pollfd){.fd = !in_eof && !pending ? o->in_fd : -1, .events = POLLIN};
        for (unsigned i = 0; i < n; i++)
            p[1 + i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        int k = poll(p, 1 + n, wait);
        if (k < 0 && errno != EINTR) {
            r = -errno;
            break;
        }
        if (k <= 0)
            continue;
        for (unsigned i = 0; i < n; i++) {
            if (!p[1 + i].revents)
                continue;
            struct sk_addr from;
            if ((r = take_datagram(fds[i], o, rx, &from, st)) < 0)
                goto out;
            if (from.len) {
                *last_peer = from;
                peer_fd = fds[i];
            }
            last = sk_now_ms();
        }
        if (p[0].revents) {
            ssize_t got = p[0].revents & POLLNVAL ? 0 : sk_read(o->in_fd, tx, DGRAM_MAX);
            if (got < 0 && got != -EAGAIN) {
                r = (int)got;
                break;
            }
            if (got == 0)
                in_eof = 1;
            if (got > 0) {
                pending = (size_t)got;
                if (o->crlf) {
                    size_t lf = 0;
                    for (size_t i = 0; i < pending; i++)
                        lf += tx[i] == '\n';
                    for (size_t i = pending, j = pending + lf; i-- > 0;) {
                        tx[--j] = tx[i];
                        if (tx[i] == '\n')
                            tx[--j] = '\r';
                    }
                    pending = SK_MIN(pending + lf, (size_t)DGRAM_MAX);
                }
                last = sk_now_ms();
            }
        }
        if (pending && peer_fd >= 0) {
            ssize_t w =
                sendto(peer_fd, tx, pending, MSG_NOSIGNAL, &last_peer->u.sa, last_peer->len);
            if (w < 0 && errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED) {
                r = -errno;
                break;
            }
            if (w >= 0) {
                if (o->hex)
                    sk_hexdump(o->hex, SK_HEX_SENT, tx, pending);
                st->sent += (uint64_t)w;
                st->dgrams_sent++;
                pending = 0;
            }
        }
    }
out:
    st->in_eof = in_eof;
    free(rx);
    free(tx);
    return r;
}
