/*
 * proxy.c - `connect --proxy`: the handshake with a SOCKS5 or HTTP CONNECT
 * proxy over a connected socket, bounded by one deadline. Answers are
 * peeked and only what the decoder used is taken, so the first bytes of the
 * tunnel stay in the socket for the relay.
 */
#include "sockit/client.h"

#include "sockit/error.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int wait_for(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline) {
            int64_t left = deadline - sk_now_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            ms = (int)left;
        }
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

static int send_all(int fd, const void *p, size_t n, int64_t deadline)
{
    const char *b = p;
    while (n) {
        int r = wait_for(fd, POLLOUT, deadline);
        if (r < 0)
            return r;
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        }
    }
    return 0;
}

/* Read the answer a byte at a time until decode() says it is complete, so
 * nothing past it (the tunnel's first bytes) is taken. Heads are small.
 * decode returns the length used, -EAGAIN or an error. */
static int take(int fd, char *buf, size_t cap, int64_t deadline,
                int (*decode)(const char *p, size_t n, int *code), int *code)
{
    size_t have = 0;
    for (;;) {
        int r = wait_for(fd, POLLIN, deadline);
        if (r < 0)
            return r;
        ssize_t got = recv(fd, buf + have, 1, MSG_DONTWAIT);
        if (got < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (got == 0)
            return -ECONNRESET; /* closed before answering */
        if (got < 0)
            continue;
        have++;
        r = decode(buf, have, code);
        if (r != -EAGAIN)
            return r < 0 ? r : 0;
        if (have == cap)
            return -E2BIG;
    }
}

static int dec_method(const char *p, size_t n, int *code)
{
    *code = 0;
    return sk_socks5_method_reply((const uint8_t *)p, n);
}

static int dec_reply(const char *p, size_t n, int *code)
{
    return sk_socks5_reply((const uint8_t *)p, n, code);
}

static int dec_http(const char *p, size_t n, int *code)
{
    return sk_http_connect_response(p, n, code);
}

int sk_proxy_connect(int fd, const struct sk_proxy *px, const char *host, uint16_t port,
                     int timeout_ms, char *why, size_t whylen)
{
    int64_t deadline = timeout_ms > 0 ? sk_now_ms() + timeout_ms : 0;
    char buf[SK_HTTP_CONNECT_HEAD_MAX + 1];
    int code = 0, r;

    if (px->kind == SK_PROXY_SOCKS5) {
        uint8_t req[300];
        size_t n = sk_socks5_greeting(req);
        if ((r = send_all(fd, req, n, deadline)) < 0 ||
            (r = take(fd, buf, 2, deadline, dec_method, &code)) < 0) {
            snprintf(why, whylen, "SOCKS5 proxy: %s",
                     r == -EACCES   ? "it wants authentication (not supported)"
                     : r == -EPROTO ? "it does not speak SOCKS5"
                                    : sk_strerror(r));
            return r;
        }
        ssize_t k = sk_socks5_request(host, port, req, sizeof(req));
        if (k < 0) {
            snprintf(why, whylen, "SOCKS5: a name of at most 255 bytes");
            return (int)k;
        }
        if ((r = send_all(fd, req, (size_t)k, deadline)) < 0 ||
            (r = take(fd, buf, 4 + 1 + 255 + 2, deadline, dec_reply, &code)) < 0) {
            snprintf(why, whylen, "SOCKS5 proxy: %s",
                     r == -EPROTO ? "a malformed reply" : sk_strerror(r));
            return r;
        }
        if ((r = sk_socks5_error(code)) < 0) {
            snprintf(why, whylen, "SOCKS5 proxy refused (reply %d): %s", code, sk_strerror(r));
            return r;
        }
        return 0;
    }
    ssize_t k = sk_http_connect_request(host, port, buf, sizeof(buf));
    if (k < 0) {
        snprintf(why, whylen, "HTTP proxy: the request does not fit");
        return (int)k;
    }
    if ((r = send_all(fd, buf, (size_t)k, deadline)) < 0 ||
        (r = take(fd, buf, SK_HTTP_CONNECT_HEAD_MAX, deadline, dec_http, &code)) < 0) {
        snprintf(why, whylen, "HTTP proxy: %s",
                 r == -EPROTO  ? "not an HTTP response"
                 : r == -E2BIG ? "a response head over 8 KiB"
                               : sk_strerror(r));
        return r;
    }
    if (code < 200 || code > 299) {
        snprintf(why, whylen, "HTTP proxy refused the tunnel: status %d", code);
        return code == 403 || code == 407 ? -EACCES : -ECONNREFUSED;
    }
    return 0;
}
