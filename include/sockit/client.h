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
#include <sys/types.h>

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

/* The same from a local address: src_host (an address or a name; NULL: any)
 * and src_port (NULL: any), per target family (a target whose family the
 * source lacks is skipped). */
int sk_client_connect_from(const char *host, const char *port, int family, int socktype,
                           int timeout_ms, const char *src_host, const char *src_port,
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
    int crlf;                    /* each '\n' of input goes out as "\r\n" (nc -C) */
    int send_only;               /* what the peer sends is read and dropped; end once input
                                    ended and was sent */
    int recv_only;               /* in_fd is never read and nothing is sent (no half-close) */
    int no_shutdown;             /* stream: input EOF does not half-close; wait for the peer */
    struct sk_hexdump *hex;      /* dump both directions here; NULL: no dump */
    int quit_after_ms;           /* > 0: end this long after input ended and was sent (nc -q) */
    int interval_ms;             /* > 0: input goes out a line (datagram) at a time, this far
                                    apart (nc -i) */
};

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
 * sets O_NONBLOCK on it); in_fd and out_fd are left blocking. With tls the same holds for the
 * plaintext, and input EOF sends TLS close_notify before the TCP half-close (a TLS 1.3 peer may
 * still send after it; bytes read stop at the peer's close_notify, or at its FIN without one).
 * Returns 0, or a negative error (a reset, a write to out_fd that failed, ECONNREFUSED reported
 * for a datagram, an SK_ETLS* error: see sk_tls_why()). */
int sk_relay(int fd, const struct sk_relay_opts *o, struct sk_relay_stats *st);

/* ---- listen mode (sockit listen) ---- */

/* Wait for a connection on any of the n (at most 8) listening sockets and
 * accept it; timeout_ms <= 0 waits until *stop is set. Returns the
 * connection's descriptor (blocking, close-on-exec) with its address in
 * *peer, -ECANCELED when stopped, -ETIMEDOUT, or another negative errno. */
int sk_listen_accept(const int *lfds, unsigned n, int timeout_ms, volatile sig_atomic_t *stop,
                     struct sk_addr *peer);

/* UDP listen mode over n (at most 8) bound datagram sockets: every datagram,
 * from any peer, goes to o->out_fd as it is; each read of o->in_fd (a line
 * from a terminal) goes as one datagram to the peer heard from last, over
 * the socket it came in on. Input read before any peer was heard waits (no
 * more input is read meanwhile). Runs until *o->stop, or nothing moved for
 * o->idle_timeout_ms (> 0); input EOF does not end it. Uses o->in_fd,
 * out_fd, idle_timeout_ms, stop, crlf, send_only, recv_only, hex. The last
 * peer goes to *last_peer (len 0: none). Returns 0 or a negative error. */
int sk_listen_udp(const int *fds, unsigned n, const struct sk_relay_opts *o,
                  struct sk_relay_stats *st, struct sk_addr *last_peer);

/* ---- port scans (sockit connect -z) ---- */

/* "80" or "20-25" into *lo..*hi (1..65535, lo <= hi). Pure. Returns 0, or
 * -EINVAL with a sentence in *why. */
int sk_port_range_parse(const char *s, uint16_t *lo, uint16_t *hi, const char **why);

/* Try a TCP connection to target at each of the n ports, at most parallel
 * at once, each given timeout_ms; result[i] is 0 (it accepted; the
 * connection is closed at once), -ECONNREFUSED, -ETIMEDOUT or another
 * negative errno. Returns how many ports were tried (fewer when *stop was
 * set) or -ENOMEM. */
int sk_scan(const struct sk_addr *target, const uint16_t *ports, size_t n, int timeout_ms,
            unsigned parallel, volatile sig_atomic_t *stop, int *result);

/* ---- proxies (connect --proxy) ----
 *
 * The pure parts are table-tested and fuzzed; sk_proxy_connect() drives them
 * over a socket. */

enum { SK_PROXY_SOCKS5 = 1, SK_PROXY_HTTP };

struct sk_proxy {
    int kind;       /* SK_PROXY_* */
    char host[256]; /* without brackets */
    char port[8];
};

/* "socks5://HOST:PORT" or "http://HOST:PORT" ([v6]:PORT; a trailing '/'
 * allowed; no user:password@). Returns 0, or -EINVAL with *why. */
int sk_proxy_url_parse(const char *url, struct sk_proxy *out, const char **why);

/* The greeting offering "no authentication" only. Returns its length (3). */
size_t sk_socks5_greeting(uint8_t out[3]);

/* The server's method choice: 2 (bytes used) when "no authentication" was
 * chosen, -EACCES when it refused every method, -EAGAIN (need more), -EPROTO. */
int sk_socks5_method_reply(const uint8_t *p, size_t n);

/* A CONNECT request for host (an IPv4 or IPv6 address as such, anything else
 * as a name the proxy resolves, at most 255 bytes) and port into out (at
 * least 262 bytes). Returns its length, -EINVAL or -ENOSPC. */
ssize_t sk_socks5_request(const char *host, uint16_t port, uint8_t *out, size_t n);

/* The reply to CONNECT: its length when complete (*rep the reply code,
 * 0 = succeeded), -EAGAIN or -EPROTO. */
int sk_socks5_reply(const uint8_t *p, size_t n, int *rep);

/* A SOCKS5 reply code as a negative errno (0 for success). */
int sk_socks5_error(int rep);

#define SK_HTTP_CONNECT_HEAD_MAX 8192

/* "CONNECT host:port HTTP/1.1" with its Host header and the empty line.
 * Returns the length, or -ENOSPC. */
ssize_t sk_http_connect_request(const char *host, uint16_t port, char *out, size_t n);

/* The proxy's response head: its length up to and with the empty line when
 * complete (*status the code), -EAGAIN, -EPROTO (not "HTTP/1.x NNN"), or
 * -E2BIG past SK_HTTP_CONNECT_HEAD_MAX. Bytes after the head are the
 * tunnel's. */
int sk_http_connect_response(const char *p, size_t n, int *status);

/* Over fd, connected to the proxy, ask for a tunnel to host:port, all within
 * timeout_ms (< 0: no limit). Reads nothing past the proxy's answer. Returns
 * 0, or a negative error with a sentence in why (a refusal is the proxy's
 * code: -ECONNREFUSED, -EACCES, ...). */
int sk_proxy_connect(int fd, const struct sk_proxy *px, const char *host, uint16_t port,
                     int timeout_ms, char *why, size_t whylen);

/* ---- sockit nc: netcat-openbsd's command line ---- */

#define SK_NC_MAX_OPERANDS 64

struct sk_nc_opts {
    int listen, keep, udp, unix_sock, zero, verbose, numeric, help;
    int family;         /* 0, 4 or 6 */
    int crlf;           /* -C */
    int no_stdin;       /* -d */
    int shutdown;       /* -N: half-close at stdin's EOF (nc's default: not) */
    int wait_ms;        /* -w (-1: none) */
    int quit_ms;        /* -q (-1: none, nc's default: wait for the peer) */
    int interval_ms;    /* -i */
    int proxy_kind;     /* -X: SK_PROXY_SOCKS5 (also -x's default) or SK_PROXY_HTTP */
    const char *port;   /* -p: the source port, or with -l the port to listen on */
    const char *source; /* -s: the source address, or with -l the address */
    const char *proxy;  /* -x ADDR[:PORT] */
    const char *operands[SK_NC_MAX_OPERANDS];
    int noperands;
};

/* argv (argv[0] is "nc") as netcat-openbsd takes it: bundled flags (-lvk),
 * values glued or separate (-w1, -w 1), operands anywhere, "--". Pure; the
 * strings point into argv. Returns 0; -ENOTSUP for a flag of nc that sockit
 * does not carry (-r, -t, -b, -D, -X 4 ...; its name goes to bad); -EINVAL
 * for what nc would refuse too (a bad value: the flag goes to bad; a wrong
 * number of operands for the mode); -E2BIG for too many operands. */
int sk_nc_parse(int argc, char *const *argv, struct sk_nc_opts *o, char *bad, size_t badlen);

/* ---- hex dumps (connect --hex, listen --hex) ---- */

enum { SK_HEX_SENT = 0, SK_HEX_RECEIVED = 1 };
#define SK_HEX_LINE_MAX 96

/* One line of a dump, hexdump -C's shape with the direction first:
 * "> 00000010  68 65 6c 6c 6f 0a ...  |hello.|\n" ('>' sent, '<' received);
 * at most 16 bytes of p (n > 16 is cut to 16). Pure. Writes at most size
 * bytes with a NUL; returns the line's length (at most SK_HEX_LINE_MAX - 1). */
size_t sk_hex_line(char *out, size_t size, int dir, uint64_t offset, const void *p, size_t n);

/* A dump written to fd, an offset per direction (each starts at 0). */
struct sk_hexdump {
    int fd;
    uint64_t off[2]; /* [SK_HEX_SENT], [SK_HEX_RECEIVED] */
};

/* Dump n bytes of p as lines (a short last line), offsets continuing.
 * Returns 0 or the negative errno of the write. */
int sk_hexdump(struct sk_hexdump *h, int dir, const void *p, size_t n);

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
