/*
 * server.h - a listening server: a service, a model, limits and counters.
 *
 * The command fills a struct sk_server, binds it, and hands it to a model's
 * run(). Models share the helpers here for the parts every model does the
 * same way (admitting, accepting, feeding the service, closing, stopping).
 * Counters are atomic; everything else is read-only while the model runs.
 */
#ifndef SOCKIT_SERVER_H
#define SOCKIT_SERVER_H

#include "sockit/addr.h"
#include "sockit/conn.h"
#include "sockit/service.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

struct sk_model;

struct sk_limits {
    unsigned max_conns;  /* connections served at once; 0 = no limit */
    int idle_timeout_ms; /* close a connection silent this long; 0 = never */
    size_t in_max;       /* per-connection input buffer maximum */
    size_t out_max;      /* per-connection output buffer hard maximum */
    size_t out_high;     /* stop reading while more than this is queued: derived from
                          * out_max by sk_limits_settle() */
    int drain_ms;        /* on stop, how long connections may finish */
};

struct sk_stats {
    atomic_uint_fast64_t accepted; /* connections (or datagrams) taken */
    atomic_uint_fast64_t active;   /* connections open now */
    atomic_uint_fast64_t rejected; /* refused by --max-conns */
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t errors; /* connections closed on an error */
};

struct sk_server {
    const struct sk_service *svc;
    void *svc_state;
    const struct sk_model *model;
    struct sk_addr addr; /* where we listen; the port is the bound one */
    int socktype;        /* SOCK_STREAM or SOCK_DGRAM */
    unsigned bind_flags; /* SK_SOCK_* used for every listener */
    int lfd;             /* the first listening socket */
    unsigned workers;    /* event loops / processes / threads; 0 = model default */
    struct sk_limits lim;
    pthread_mutex_t hub_lock; /* serialises hub services' callbacks */
    atomic_int stop;          /* set by sk_server_stop(), also from a signal handler (lock-free) */
    int stop_fd;              /* eventfd, readable once a stop was requested */
    int stdin_stop;           /* a line (or EOF) on a terminal stdin stops the server; set by
                               * sk_server_start_service() unless the service took the terminal */
    int idle_set;             /* --idle-timeout was given: the service's default does not apply */
    struct sk_stats *st;      /* shared with forked workers (MAP_SHARED) */
    int st_shared;
    int unix_owned; /* we created the Unix socket file: unlink it */
    atomic_uint_fast64_t next_id;
    /* Set in a fork model's per-connection child: the parent uncounts
     * st->active when it reaps the child, so sk__conn_close() does not. */
    int active_by_parent;
};

/* Defaults: no service yet, limits as documented in sockit(1). */
void sk_server_init(struct sk_server *srv);

/* Bind srv->addr (type srv->socktype) and store the socket in srv->lfd and
 * the bound address back in srv->addr. Returns 0 or a negative errno. */
int sk_server_bind(struct sk_server *srv);

/* Another listener on the same address (SO_REUSEPORT, for --workers). */
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

/* Set up a connection for fd and call the service's open(). Returns 0 or a
 * negative errno (the connection is then already released, fd closed).
 * Set c->ops and c->model_data before the call; they are kept.
 * sk__server_accept() counted the connection as active; sk__conn_close()
 * uncounts it (a fork model's parent uncounts a child's connection itself). */
int sk__conn_open(struct sk_server *srv, struct sk_conn *c, int fd, const struct sk_addr *peer);

/* Feed the unread input to the service until it consumes nothing more.
 * Returns 0, or a negative errno when the connection must close (service
 * error, or input full while the service consumed nothing: -EMSGSIZE). */
int sk__conn_feed(struct sk_conn *c);

/* The same with srv->hub_lock already held by the caller (hub services). */
int sk__conn_feed_locked(struct sk_conn *c);

/* Account n bytes received into c->in (after sk_buf_commit). */
void sk__conn_received(struct sk_conn *c, size_t n);

/* Account n bytes sent from c->out (consumes them) or from the file. */
void sk__conn_sent(struct sk_conn *c, size_t n);
void sk__conn_file_sent(struct sk_conn *c, size_t n);

/* Call the service's close(), release buffers and ctx, close fd, count. */
void sk__conn_close(struct sk_conn *c, int err);

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
