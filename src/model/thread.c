/*
 * thread.c - a thread per connection (the seeds' threaded server).
 *
 * The calling thread accepts; each connection gets a joinable thread that
 * serves it with the blocking driver and marks itself done. The acceptor
 * joins finished threads as it goes, and on stop joins them all (each ends
 * within the drain bound). --max-conns bounds the number of threads, since
 * sk__server_accept() admits no more connections than that. Hub services are
 * carried: the driver serialises their callbacks under srv->hub_lock and
 * wakes a connection's thread through an eventfd when another queues output.
 */
#include "internal.h"

#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define THREAD_STACK (1024 * 1024)
#define ACCEPT_BURST 64

struct worker {
    pthread_t tid;
    struct crew *crew;
    int fd;
    struct sk_addr peer;
    int done; /* under crew->lock */
    struct worker *next;
};

struct crew {
    struct sk_server *srv;
    pthread_mutex_t lock;
    struct worker *all;
    pthread_attr_t attr;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct crew *crew = w->crew;

    sk__block_signals();
    sk__serve_blocking(crew->srv, w->fd, &w->peer);
    pthread_mutex_lock(&crew->lock);
    w->done = 1;
    pthread_mutex_unlock(&crew->lock);
    return NULL;
}

/* Join the threads that finished (all of them when all is set: those still
 * running end within the drain bound once a stop was requested). */
static void reap(struct crew *crew, int all)
{
    struct worker *finished = NULL;

    pthread_mutex_lock(&crew->lock);
    for (struct worker **pp = &crew->all; *pp;) {
        struct worker *w = *pp;
        if (all || w->done) {
            *pp = w->next;
            w->next = finished;
            finished = w;
        } else {
            pp = &w->next;
        }
    }
    pthread_mutex_unlock(&crew->lock);
    while (finished) {
        struct worker *w = finished;
        finished = w->next;
        pthread_join(w->tid, NULL);
        free(w);
    }
}

/* Hand fd to a new thread; on failure the connection is closed and uncounted. */
static void spawn(struct crew *crew, int fd, const struct sk_addr *peer)
{
    static struct sk__ratelimit rl;
    struct sk_server *srv = crew->srv;
    struct worker *w = calloc(1, sizeof(*w));
    int r = -ENOMEM;

    if (w) {
        w->crew = crew;
        w->fd = fd;
        w->peer = *peer;
        pthread_mutex_lock(&crew->lock);
        r = -pthread_create(&w->tid, &crew->attr, worker_main, w);
        if (r == 0) {
            w->next = crew->all;
            crew->all = w;
        }
        pthread_mutex_unlock(&crew->lock);
        if (r == 0)
            return;
        free(w);
    }
    if (sk__rate_ok(&rl, NULL))
        sk_log(SK_LOG_WARN, "cannot start a thread for a connection: %s", sk_strerror(r));
    close(fd);
    atomic_fetch_add(&srv->st->errors, 1);
    sk__perip_release(srv, peer);
    atomic_fetch_sub(&srv->st->active, 1);
}

/* sk__accept_burst()'s hand-over. */
static void take(void *ctx, int fd, const struct sk_addr *peer)
{
    spawn(ctx, fd, peer);
}

static int thread_run(struct sk_server *srv)
{
    struct crew crew = {.srv = srv};
    int err = 0;

    pthread_mutex_init(&crew.lock, NULL);
    pthread_attr_init(&crew.attr);
    pthread_attr_setstacksize(&crew.attr, THREAD_STACK);
    sk_sock_set_nonblock(srv->lfd, 1);
    struct sk__links *links;
    if ((err = sk__links_start(srv, &links)) < 0)
        sk_log(SK_LOG_ERROR, "cannot start the service's links: %s", sk_strerror(err));
    while (err == 0 && sk__wait_listener(srv, srv->lfd)) {
        reap(&crew, 0);
        if ((err = sk__accept_burst(srv, ACCEPT_BURST, take, &crew)) < 0)
            break; /* the listener is broken: the server was stopped */
    }
    reap(&crew, 1);
    sk__links_stop(links);
    pthread_attr_destroy(&crew.attr);
    pthread_mutex_destroy(&crew.lock);
    return err;
}

const struct sk_model sk_model_thread = {
    .name = "thread",
    .summary = "a thread per connection; the main thread accepts",
    .caps = SK_MODEL_STREAM | SK_MODEL_HUB | SK_MODEL_LINKS,
    .rank = 40,
    .run = thread_run,
};
