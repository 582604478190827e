/*
 * relay.h - the one netcat-style relay: copy one descriptor to a connected
 * socket and the socket to another descriptor, with bounded buffers and
 * backpressure both ways. `sockit connect` and chat's operator terminal
 * both ride on it. Part of the net core: it includes nothing above it.
 */
#ifndef SOCKIT_RELAY_H
#define SOCKIT_RELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A transport over the socket (TLS: sk_tls_relay_io in tls.h), so the
 * relay moves plaintext. read/write return bytes, 0 at the end (read), or a
 * negative errno; -EAGAIN means "poll for want() and call again".
 * shutdown says "no more from me" (TLS close_notify): 0, -EAGAIN, or an
 * error. pending is plaintext already taken off the socket (poll cannot see
 * it). Every call gets io_arg. */
struct sk_relay_io {
    ssize_t (*read)(void *arg, void *buf, size_t n);
    ssize_t (*write)(void *arg, const void *buf, size_t n);
    int (*shutdown)(void *arg);
    short (*want)(const void *arg); /* POLLIN or POLLOUT */
    size_t (*pending)(const void *arg);
};

struct sk_relay_opts {
    int in_fd;                    /* what to send (stdin) */
    int out_fd;                   /* where received bytes go (stdout) */
    int socktype;                 /* SOCK_STREAM: a byte stream; SOCK_DGRAM: datagrams */
    int idle_timeout_ms;          /* end when nothing moved this long; 0: never */
    int linger_ms;                /* SOCK_DGRAM: after input EOF, wait this long for replies */
    int eof_wait_ms;              /* stream: after the peer's EOF, keep sending input that still
                                     flows until it stalls this long (0: stop at once) */
    size_t bufsize;               /* each direction's buffer (0: 64 KiB) */
    const char *eof_send;         /* stream: sent once in_fd ends, before the half-close
                                     (chat's operator says "/quit"; shorter than bufsize);
                                     NULL: nothing */
    volatile sig_atomic_t *stop;  /* set (by a signal handler) to end early; may be NULL */
    const struct sk_relay_io *io; /* stream: a transport over fd, its handshake done; NULL:
                                     plain bytes */
    void *io_arg;                 /* handed to io's calls (TLS: the struct sk_tls *) */
    int crlf;                     /* each '\n' of input goes out as "\r\n" (nc -C) */
    int send_only;                /* what the peer sends is read and dropped; end once input
                                     ended and was sent */
    int recv_only;                /* in_fd is never read and nothing is sent (no half-close) */
    int no_shutdown;              /* stream: input EOF does not half-close; wait for the peer */
    int quit_after_ms;            /* > 0: end this long after input ended and was sent (nc -q) */
    int interval_ms;              /* > 0: input goes out a line (datagram) at a time, this far
                                     apart (nc -i) */
    /* Sees every byte sent (dir SK_RELAY_SENT) and received (SK_RELAY_RECEIVED)
     * as it moves (the hex dump of `connect --hex`); NULL: none. */
    void (*tap)(void *arg, int dir, const void *p, size_t n);
    void *tap_arg;
};

enum { SK_RELAY_SENT = 0, SK_RELAY_RECEIVED = 1 };

struct sk_relay_stats {
    uint64_t sent, received; /* bytes */
    uint64_t dgrams_sent, dgrams_received;
    int peer_closed;  /* the peer ended the stream */
    int idle_timeout; /* ended by the idle timeout */
    int in_eof;       /* in_fd reached its end (or was < 0) */
};

/* Copy in_fd to the connected socket fd and fd to out_fd until the peer
 * closes (stream: see eof_wait_ms for input still flowing then) or, for datagrams, until input
 * ended and no reply came for linger_ms. Each direction has one bounded buffer: input is not read
 * while the socket cannot take more, the socket is not read while the output cannot take more.
 * Input EOF half-closes a stream (shutdown SHUT_WR) once all of it was sent. A datagram socket
 * sends each read of in_fd (a line from a terminal, a chunk from a pipe; at most 65507 bytes) as
 * one datagram and writes each datagram received as it is. fd must be non-blocking-safe (the relay
 * sets O_NONBLOCK on it); in_fd and out_fd are left blocking. With io the same holds for the
 * plaintext, and input EOF calls io->shutdown (TLS close_notify) before the TCP half-close (a TLS
 * 1.3 peer may still send after it; bytes read stop at the peer's close_notify, or at its FIN
 * without one). Returns 0, or a negative error (a reset, a write to out_fd that failed,
 * ECONNREFUSED reported for a datagram, the transport's error: for TLS see sk_tls_why()). */
int sk_relay(int fd, const struct sk_relay_opts *o, struct sk_relay_stats *st);

#endif
