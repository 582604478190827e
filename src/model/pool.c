/*
 * pool.c - a fixed pool of N threads (--workers, default twice the CPUs),
 * each accepting on the shared listener and serving the connection it got
 * with the blocking driver, then accepting again. At most N connections are
 * served at once; the others wait in the listen backlog.
 *
 * The listener is non-blocking and every worker polls it together with the
 * stop eventfd, so a stop wakes them all; the calling thread only waits for
 * the stop (and watches a terminal stdin), then joins the pool. Hub services
 * are carried as under the thread model (same driver, same wake-ups).
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

static void *pool_worker(void *arg)
{
    struct sk_server *srv = arg;

    sk__block_signals();
    for (;;) {
        struct sk_addr peer;
        int fd = sk__worker_accept(srv, &peer);
        if (fd == -ECANCELED)
            break;
        if (fd < 0) {
            sk_log(SK_LOG_ERROR, "accept: %s", sk_strerror(fd));
            sk_server_stop(srv);
            break;
        }
        sk__serve_blocking(srv, fd, &peer);
    }
    return NULL;
}

static int pool_run(struct sk_server *srv)
{
    unsigned n = sk__workers(srv, 2, 4);
    pthread_t *tids = calloc(n, sizeof(*tids));
    pthread_attr_t attr;
    unsigned started = 0;
    int err = 0;

    if (!tids)
        return -ENOMEM;
    sk_sock_set_nonblock(srv->lfd, 1);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    for (; started < n; started++) {
        int r = pthread_create(&tids[started], &attr, pool_worker, srv);
        if (r != 0) {
            err = -r;
            break;
        }
    }
    pthread_attr_destroy(&attr);
    if (started == 0) {
        free(tids);
        return err;
    }
    if (err)
        sk_log(SK_LOG_WARN, "pool: started %u of %u threads: %s", started, n, sk_strerror(err));
    sk_log(SK_LOG_DEBUG, "pool: %u thread%s", started, started == 1 ? "" : "s");
    struct sk__links *links;
    if ((err = sk__links_start(srv, &links)) < 0) {
        sk_log(SK_LOG_ERROR, "cannot start the service's links: %s", sk_strerror(err));
        sk_server_stop(srv);
    }
    /* The calling thread waits for the stop (signal, eventfd or terminal). */
    while (sk__wait_listener_ex(srv, -1, SK_WAIT_STDIN, NULL) > 0)
        ;
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    sk__links_stop(links);
    free(tids);
    return 0;
}

const struct sk_model sk_model_pool = {
    .name = "pool",
    .summary = "N threads (--workers, default 2 x CPUs) accepting on one listener",
    .caps = SK_MODEL_STREAM | SK_MODEL_HUB | SK_MODEL_WORKERS | SK_MODEL_LINKS,
    .rank = 50,
    .run = pool_run,
};
