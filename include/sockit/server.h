/*
 * server.h - a listening server: a service, a model, limits and counters.
 *
 * The command fills a struct sk_server, binds it, and hands it to a model's
 * run(). Models share the helpers here for the parts every model does the
 * same way (admitting, accepting, opening and closing connections, stopping).
 * Counters are atomic; everything else is read-only while the model runs.
 */
#ifndef SOCKIT_SERVER_H
#define SOCKIT_SERVER_H

#include "sockit/acl.h"
#include "sockit/addr.h"
#include "sockit/conn.h"
#include "sockit/service.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

struct sk_model;
struct sk__perip;
struct sk_tls_ctx;

/* At most one log line a second for a repeated condition, across threads
 * and (in MAP_SHARED memory) processes: a zeroed struct per condition
 * (sk__rate_ok()). */
struct sk__ratelimit {
    _Atomic int64_t last;         /* monotonic ms of the last line */
    atomic_uint_fast64_t skipped; /* calls refused since */
};

/* Addresses one server listens on at most (the default: 127.0.0.1 and ::1). */
#define SK_SERVER_MAX_ADDRS 4

struct sk_limits {
    unsigned max_conns;  /* connections served at once; 0 = no limit */
    int idle_timeout_ms; /* close a connection silent this long; 0 = never */
    size_t in_max;       /* per-connection input buffer maximum */
    size_t out_max;      /* per-connection output buffer hard maximum */
    size_t out_high;     /* stop reading while more than this is queued: derived from
                          * out_max by sk_limits_settle() */
    int drain_ms;        /* on stop, how long connections may finish */
    unsigned max_per_ip; /* connections open at once per source address; 0 = no limit */
    unsigned ip_rate;    /* new connections per second per source address; 0 = no limit */
    unsigned udp_rate;   /* UDP: replies per second per source address; 0 = no limit */
};

struct sk_stats {
    atomic_uint_fast64_t accepted; /* connections (or datagrams) taken */
    atomic_uint_fast64_t active;   /* connections open now */
    atomic_uint_fast64_t rejected; /* refused by --max-conns */
    atomic_uint_fast64_t denied;   /* refused by --allow/--deny (connections or datagrams) */
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t errors;  /* connections closed on an error */
    atomic_uint_fast64_t ids;     /* the last connection id given (shared by fork's children) */
    struct sk__ratelimit tls_log; /* failed TLS handshakes: one line a second */
};

struct sk_server {
    const struct sk_service *svc;
    void *svc_state;
    const struct sk_model *model;
    struct sk_addr addr; /* where we listen; the port is the bound one */
    /* Further addresses on the same port (set before sk_server_bind(), which
     * drops the ones this host lacks, e.g. ::1 without IPv6). */
    struct sk_addr more[SK_SERVER_MAX_ADDRS - 1];
    unsigned nmore;
    int socktype;                  /* SOCK_STREAM or SOCK_DGRAM */
    unsigned bind_flags;           /* SK_SOCK_* used for every listener */
    int lfds[SK_SERVER_MAX_ADDRS]; /* one socket per address: addr, more[0], ... */
    unsigned nlfd;
    /* What models wait on and accept from: lfds[0], or for a stream server
     * on several addresses an epoll set of the listeners (readable when one
     * is; sk__server_accept() takes from whichever is ready). Datagram
     * models serve each of lfds[] themselves. */
    int lfd;
    unsigned unix_mode; /* chmod the Unix socket file to this (0: umask's) */
    unsigned workers;   /* event loops / processes / threads; 0 = model default */
    struct sk_limits lim;
    struct sk_acl acl;        /* --allow/--deny: checked before the service sees a byte */
    struct sk__perip *perip;  /* --max-per-ip/--accept-rate counts (shared with forked workers) */
    pthread_mutex_t hub_lock; /* serialises hub services' callbacks */
    atomic_int stop;          /* set by sk_server_stop(), also from a signal handler (lock-free) */
    int stop_fd;              /* eventfd, readable once a stop was requested */
    int stdin_stop;           /* a line (or EOF) on a terminal stdin stops the server; set by
                               * sk_server_start_service() unless the service took the terminal */
    int idle_set;             /* --idle-timeout was given: the service's default does not apply */
    struct sk_stats *st;      /* shared with forked workers (MAP_SHARED) */
    int st_shared;
    int unix_owned; /* we created the Unix socket file: unlink it */
    /* Set in a fork model's per-connection child: the parent uncounts
     * st->active when it reaps the child, so sk__conn_close() does not. */
    int active_by_parent;
    /* UDP: which datagrams may be answered (src/model/udp_guard.c). */
    struct sk__udp_guard *udp_guard;
    /* UDP relay services (svc->dgram_route): each client's flow to its
     * upstream (src/model/udp_relay.c); NULL for the others. */
    struct sk__udp_flows *udp_flows;
    /* The TLS transport (serve --tls): every stream connection runs TLS over
     * this server context, its handshake bounded by handshake_ms. NULL: plain. */
    struct sk_tls_ctx *tls;
    int handshake_ms;
    unsigned links; /* server-wide links the service asked for (sk_service_env) */
};

/* Defaults: no service yet, limits as documented in sockit(1). */
void sk_server_init(struct sk_server *srv);

/* Bind srv->addr and srv->more[] (type srv->socktype) on one port: with
 * port 0 the kernel picks it for the first and the others follow (retried a
 * few times when that port is taken on another address). The bound
 * addresses are stored back; an address of srv->more[] this host cannot
 * bind (EADDRNOTAVAIL, EAFNOSUPPORT) is dropped. Listeners are bound
 * without SO_REUSEPORT, so a port another process holds is always
 * -EADDRINUSE (--workers shares them within this process instead: see
 * sk_server_listener()). Returns 0, or a negative errno with srv->addr the
 * address that could not be bound. */
int sk_server_bind(struct sk_server *srv);

/* Socket activation (systemd's protocol): the first passed descriptor. */
#define SK_LISTEN_FDS_START 3

/* Take the listening sockets systemd passed (LISTEN_FDS from fd 3, when
 * LISTEN_PID is this process) instead of sk_server_bind(): each must be a
 * socket of srv->socktype, listening when a stream one; their addresses
 * fill srv->addr and srv->more[]. The variables are unset (children do not
 * see them). Returns how many were taken, 0 when none were passed to this
 * process, or a negative errno with err saying why. */
int sk_server_adopt_systemd(struct sk_server *srv, char *err, size_t errlen);

/* One connection passed in on fd (inetd, Accept=yes): instead of
 * sk_server_bind(), set srv up to serve it and fill *peer (-ENOTSOCK or
 * -ENOTCONN when fd is not a connected socket). Then
 * sk_server_serve_conn() serves it to the end with the blocking driver
 * (checked by --allow/--deny first: -EACCES) and closes fd. */
int sk_server_adopt_conn(struct sk_server *srv, int fd, struct sk_addr *peer);
int sk_server_serve_conn(struct sk_server *srv, int fd, const struct sk_addr *peer);

/* Another descriptor for srv->lfd (a duplicate: the loops of --workers
 * share the kernel's accept queue), owned by the caller. */
int sk_server_listener(struct sk_server *srv);

/* Ask the server to stop; safe in a signal handler. */
void sk_server_stop(struct sk_server *srv);

/* Run srv->model until stopped. */
int sk_server_run(struct sk_server *srv);

/* Release everything (listener, eventfd, service state, Unix socket path). */
void sk_server_close(struct sk_server *srv);

/* ---- configuration: the policy `serve` applies, kept in the library ---- */

/* The output high-water mark: at most this, and never above out_max / 4. */
#define SK_SERVER_OUT_HIGH (256 * 1024)

/* The server's own options as data (workers, max-conns, idle-timeout,
 * max-input, max-output, drain), parsed by sk_opt_apply() like a service's. */
extern const struct sk_service_opt sk_server_opts[];

/* Apply one of sk_server_opts to srv; returns as sk_opt_apply(). */
int sk_server_option(struct sk_server *srv, const char *name, const char *value, char *err,
                     size_t errlen);

/* Derive what follows from the limits given: out_high is SK_SERVER_OUT_HIGH
 * but at most out_max / 4. Worked out from the maximum each time, so the
 * options' order does not matter and an earlier, smaller --max-output does
 * not lower the mark for good. */
void sk_limits_settle(struct sk_limits *lim);

/* Settle srv (srv->svc set) once every option is in, in any order: the
 * service must speak srv->socktype; the model is model_name, or the
 * highest-ranked one available for the service and kind; the idle timeout is
 * the service's own unless one was given (idle_set); sk_limits_settle().
 * Returns 0; -EINVAL for a usage error (an unknown model, a kind the service
 * does not speak), or another negative errno when the model refuses the
 * service or this machine cannot offer it. A sentence is in why either way. */
int sk_server_configure(struct sk_server *srv, const char *model_name, char *why, size_t len);

/* Run the service's start() with its environment (limits, the bound
 * address, the stop descriptor, whether it may take a terminal stdin) and
 * set stdin_stop from the answer. Call once bound. Returns start()'s. */
int sk_server_start_service(struct sk_server *srv, char *err, size_t errlen);

/* ---- for models ---- */

/* Accept one connection from lfd. Returns the new descriptor (with
 * SK_SOCK_NONBLOCK when nonblock), -EAGAIN when none is waiting, or another
 * negative errno. Running out of descriptors (EMFILE/ENFILE) is handled here:
 * the waiting connection is accepted with a reserved descriptor and closed,
 * a line is logged at most once a second, and -EAGAIN is returned, so no
 * model spins. A connection over --max-conns is accepted, logged, closed and
 * counted in st->rejected; -EAGAIN is returned for it too. */
int sk__server_accept(struct sk_server *srv, int lfd, struct sk_addr *peer, int nonblock);

/* The source check every model shares (--allow/--deny): 1 when peer may
 * be served, else 0, with the refusal counted in st->denied and logged at
 * most once a second with the count of those refused in between. Called by
 * sk__server_accept() for every stream model and for each datagram by the
 * datagram models (a denied source gets no reply). */
int sk__server_admit(struct sk_server *srv, const struct sk_addr *peer);

/* For event loops sharing one listener (--workers N): whether the calling
 * loop, which serves mine connections, should accept the next one now. It
 * declines while it holds more than its share (active / N, plus one), so
 * that a burst of connections is spread over the loops that are woken for
 * it (SO_REUSEPORT spread them by hash before). A loop that has declined
 * for 10 ms (the others are busy or gone) accepts anyway: clients are never
 * left waiting long for a fair share. One state per thread. */
int sk__server_accept_turn(struct sk_server *srv, size_t mine);

/* Set up a connection for fd and call the service's open(). Returns 0 or a
 * negative errno (the connection is then already released, fd closed).
 * Set c->ops and c->model_data before the call; they are kept.
 * sk__server_accept() counted the connection as active; sk__conn_close()
 * uncounts it (a fork model's parent uncounts a child's connection itself). */
int sk__conn_open(struct sk_server *srv, struct sk_conn *c, int fd, const struct sk_addr *peer);

/* Set up a server-wide link (conn.h): no socket, never counted as a
 * client, and call the service's link_open(c, index). 0 or a negative errno
 * (then already released). c->ops and c->model_data are kept, as above. */
int sk__link_open(struct sk_server *srv, struct sk_conn *c, unsigned index);

/* Call the service's close(), release buffers and ctx, close fd, count.
 * Logs the close (peer, duration, bytes each way) at -v / --json-log. */
void sk__conn_close(struct sk_conn *c, int err);

/* In a forked child that serves one connection: close every listener. */
void sk__server_drop_listeners(struct sk_server *srv);

/* The terminal rule of a server started from a shell: call it when a
 * terminal stdin is readable (srv->stdin_stop). It reads what was typed only
 * while this process is the terminal's foreground job (a server put in the
 * background with & is never stopped by SIGTTIN and never takes its shell's
 * input). `q`, `quit` or end of input (Ctrl-D) stop the server: it calls
 * sk_server_stop() and returns 1. Anything else (a bare Enter that spaces
 * out the log, other text, or input meant for another job) returns 0. */
int sk__server_terminal_line(struct sk_server *srv);

/* Lock/unlock the hub for hub services (no-ops for the others). */
void sk__hub_lock(struct sk_server *srv);
void sk__hub_unlock(struct sk_server *srv);

/* True once a stop was requested. */
static inline int sk__stopping(const struct sk_server *srv)
{
    return srv->stop != 0;
}

/* Block SIGINT/SIGTERM/SIGPIPE in the calling thread (worker threads). */
void sk__block_signals(void);

#endif
