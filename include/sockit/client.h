/*
 * client.h - the clients of sockit: a netcat-style relay (connect), the
 * echo client (interactive and scripted, TCP and UDP), and ping.
 *
 * The library parts here never exit and never parse command lines. They do
 * write to the descriptors and streams they are given (the relay copies to
 * its output descriptor; the echo client and ping print their reports to the
 * FILE they are handed), since producing that output is their job.
 * Functions return 0 (or a count) on success and a negative libsockit error
 * (see error.h) on failure.
 */
#ifndef SOCKIT_CLIENT_H
#define SOCKIT_CLIENT_H

#include "sockit/addr.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- connecting ---- */

/* Resolve host and port and connect a socket of socktype (SOCK_STREAM or
 * SOCK_DGRAM) to the first address that accepts, trying each result of the
 * resolver in turn (family AF_UNSPEC, AF_INET or AF_INET6). timeout_ms < 0
 * waits as long as the kernel does; it applies to each attempt. The socket is
 * returned blocking, close-on-exec; the peer's address goes to *peer.
 * Returns the descriptor or a negative error (the last attempt's, or the
 * resolver's). */
int sk_client_connect(const char *host, const char *port, int family, int socktype, int timeout_ms,
                      struct sk_addr *peer);

/* Connect to a Unix socket path ('@name': abstract). For SOCK_DGRAM the
 * socket is first bound to an autobound abstract address so replies can come
 * back. Returns the descriptor or a negative error. */
int sk_client_connect_unix(const char *path, int socktype, struct sk_addr *peer);

/* ---- the relay (sockit connect) ---- */

struct sk_tls;

struct sk_relay_opts {
    int in_fd;                   /* what to send (stdin) */
    int out_fd;                  /* where received bytes go (stdout) */
    int socktype;                /* SOCK_STREAM: a byte stream; SOCK_DGRAM: datagrams */
    int idle_timeout_ms;         /* end when nothing moved this long; 0: never */
    int linger_ms;               /* SOCK_DGRAM: after input EOF, wait this long for replies */
    int eof_wait_ms;             /* stream: after the peer's EOF, keep sending input that still
                                    flows until it stalls this long (0: stop at once) */
    size_t bufsize;              /* each direction's buffer (0: 64 KiB) */
    volatile sig_atomic_t *stop; /* set (by a signal handler) to end early; may be NULL */
    struct sk_tls *tls;          /* stream: TLS over fd, its handshake done (tls.h); NULL: none */
};

struct sk_relay_stats {
    uint64_t sent, received; /* bytes */
    uint64_t dgrams_sent, dgrams_received;
    int peer_closed;  /* the peer ended the stream */
    int idle_timeout; /* ended by the idle timeout */
};

/* Copy in_fd to the connected socket fd and fd to out_fd until the peer
 * closes (stream: see eof_wait_ms for input still flowing then) or, for datagrams, until input
 * ended and no reply came for linger_ms. Each direction has one bounded buffer: input is not read
 * while the socket cannot take more, the socket is not read while the output cannot take more.
 * Input EOF half-closes a stream (shutdown SHUT_WR) once all of it was sent. A datagram socket
 * sends each read of in_fd (a line from a terminal, a chunk from a pipe; at most 65507 bytes) as
 * one datagram and writes each datagram received as it is. fd must be non-blocking-safe (the relay
 * sets O_NONBLOCK on it); in_fd and out_fd are left blocking. With tls the same holds for the
 * plaintext, and input EOF sends TLS close_notify before the TCP half-close (a TLS 1.3 peer may
 * still send after it; bytes read stop at the peer's close_notify, or at its FIN without one).
 * Returns 0, or a negative error (a reset, a write to out_fd that failed, ECONNREFUSED reported
 * for a datagram, an SK_ETLS* error: see sk_tls_why()). */
int sk_relay(int fd, const struct sk_relay_opts *o, struct sk_relay_stats *st);

/* ---- the echo client ---- */

struct sk_echo_opts {
    int socktype;            /* SOCK_STREAM or SOCK_DGRAM */
    const char *quit;        /* interactive: this line ends the session; NULL: none */
    const char *prompt;      /* interactive prompt; NULL: none */
    int newline;             /* end each message with '\n' */
    const char *const *msgs; /* scripted messages (-m), or NULL */
    size_t nmsgs;
    uint64_t count;  /* scripted generated messages (--count), 0: none */
    size_t size;     /* their size in bytes (with the newline) */
    int interval_ms; /* pause between scripted messages */
    int timeout_ms;  /* wait for a reply this long (per try for UDP) */
    int retries;     /* UDP: resend a request this many times */
    int pause_ms;    /* TCP: a reply that is not an echo ends after this quiet time */
    int linger_ms;   /* UDP scripted: after the last request, count stragglers */
    int quiet;       /* scripted: 1: print only the summary and lost requests; 2: nothing */
    int blank_ends;  /* interactive: an empty line ends the session (input is a terminal);
                        otherwise it is sent as a message like any other */
    int tty_safe;    /* interactive: out is a terminal; replies are written with control and
                        escape sequences (C0, C1, ESC, OSC) shown as \xNN, not obeyed */
    volatile sig_atomic_t *stop;
    struct sk_tls *tls; /* TCP: TLS over fd, its handshake done (tls.h); NULL: none */
};

struct sk_echo_stats {
    uint64_t requests;      /* messages sent (first tries) */
    uint64_t answered;      /* requests answered in time */
    uint64_t lost;          /* requests with no reply in time after every try */
    uint64_t retransmitted; /* UDP: extra tries */
    uint64_t late;          /* UDP: replies to a try whose wait had ended */
    uint64_t duplicate;     /* UDP: replies to a request already answered */
    uint64_t foreign;       /* UDP: datagrams from another address, ignored */
    uint64_t mismatched;    /* replies that did not echo the request */
    uint64_t interrupted;   /* requests whose reply was still awaited when stopped */
    uint64_t rtt_n;
    double rtt_min, rtt_max, rtt_sum, rtt_sum2; /* milliseconds */
};

/* Run the echo client over fd (connected for SOCK_STREAM; for SOCK_DGRAM an
 * unconnected socket, peer the server). Without msgs or count it is
 * interactive: a line read from in is one message, its reply is printed to
 * out. Scripted, each message's reply and round-trip time go to out
 * (unless quiet). Returns 0 when the session ran (see st for its outcome), or
 * a negative error when the connection failed. */
int sk_echo_client(int fd, const struct sk_addr *peer, const struct sk_echo_opts *o, FILE *in,
                   FILE *out, struct sk_echo_stats *st);

/* Print the statistics block ("--- NAME echo statistics ---", counts, and
 * rtt min/avg/max/mdev) to out. */
void sk_echo_report(FILE *out, const char *name, const struct sk_echo_opts *o,
                    const struct sk_echo_stats *st);

/* ---- ping ---- */

enum { SK_PING_AUTO, SK_PING_DGRAM, SK_PING_RAW };

struct sk_ping_opts {
    int kind;       /* SK_PING_AUTO: datagram socket, else raw */
    uint64_t count; /* 0: until stopped */
    int interval_ms;
    size_t size;    /* ICMP data bytes */
    int timeout_ms; /* wait for the last reply this long */
    int quiet;
    volatile sig_atomic_t *stop;
};

struct sk_ping_stats {
    uint64_t transmitted, received, duplicates, corrupted;
    double rtt_min, rtt_max, rtt_sum, rtt_sum2;
    int64_t elapsed_ms;
};

/* Open an ICMP echo socket for family: an unprivileged datagram socket, or a
 * raw socket when that is refused (kind says which are allowed). On success
 * returns the descriptor and stores SK_PING_DGRAM or SK_PING_RAW in *kind_used.
 * When neither may be opened, returns the error and writes a sentence
 * saying why to why. */
int sk_ping_open(int family, int kind, int *kind_used, char *why, size_t whylen);

/* Ping dst over fd (from sk_ping_open) printing ping(8)-style lines for
 * each reply and the summary to out. Returns 0, or a negative error when
 * sending failed outright. */
int sk_ping_run(int fd, int kind, const struct sk_addr *dst, const char *name,
                const struct sk_ping_opts *o, FILE *out, struct sk_ping_stats *st);

#endif
