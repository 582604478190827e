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
    size_t out_high;     /* stop reading while more than this is queued */
    int drain_ms;        /* on stop, how long connections may finish */
    unsigned udp_rate;   /* UDP: replies per second per source address; 0 = no limit */
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
    atomic_int stop; /* set by sk_server_stop(), also from a signal handler (lock-free) */
    int stop_fd; /* eventfd, readable once a stop was requested */
    int stdin_stop; /* a line (or EOF) on a terminal stdin stops the server;
                     * a service's start() clears it when it takes the terminal */
    struct sk_stats *st; /* shared with forked workers (MAP_SHARED) */
    int st_shared;
    int unix_owned; /* we created the Unix socket file: unlink it */
    atomic_uint_fast64_t next_id;
    /* Set in a fork model's per-connection child: the parent uncounts
     * st->active when it reaps the child, so sk__conn_close() does not. */
    int active_by_parent;
    /* UDP: which datagrams may be answered (src/model/udp_guard.c). */
    struct sk__udp_guard *udp_guard;
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
static inline int sk__stopping(const struct sk_server *srv) { return srv->stop != 0; }

/* Block SIGINT/SIGTERM/SIGPIPE in the calling thread (worker threads). */
void sk__block_signals(void);

#endif
