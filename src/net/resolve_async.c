/*
 * resolve_async.c - a name lookup off the caller's thread: sk_resolve() on a
 * detached thread per lookup, at most SK_RESOLVE_INFLIGHT_MAX at once, its
 * result polled. What `serve socks` and `serve http-proxy` use for a
 * destination given by name, so a slow resolver stalls no event loop.
 */
#include "sockit/error.h"
#include "sockit/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sk_resolve_job {
    atomic_int refs; /* the caller and the thread */
    atomic_int done; /* result and addrs are set (release/acquire) */
    int result;      /* sk_resolve()'s: a count or a negative error */
    long delay_ms;   /* the test hook's, read by the caller */
    struct sk_addrinfo *addrs;
    char host[256];
    char port[8];
};

static atomic_int inflight;

static void job_unref(struct sk_resolve_job *j)
{
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1) {
        free(j->addrs);
        free(j);
    }
}

/* SOCKIT_RESOLVE_DELAY_MS, read once, on a caller's thread (0: none). */
static long delay_ms(void)
{
    static atomic_long cached = -1;
    long v = atomic_load(&cached);
    if (v < 0) {
        const char *e = getenv("SOCKIT_RESOLVE_DELAY_MS");
        v = e ? strtol(e, NULL, 10) : 0;
        if (v < 0 || v > 60000)
            v = 0;
        atomic_store(&cached, v);
    }
    return v;
}

static void *lookup(void *arg)
{
    struct sk_resolve_job *j = arg;
    struct sk_resolve_opts o = {.family = AF_UNSPEC, .socktype = SOCK_STREAM};
    long delay = j->delay_ms;

    if (delay) {
        struct timespec ts = {.tv_sec = delay / 1000, .tv_nsec = delay % 1000 * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    j->result = sk_resolve(j->host, j->port, &o, &j->addrs, NULL, 0);
    atomic_store_explicit(&j->done, 1, memory_order_release);
    atomic_fetch_sub(&inflight, 1);
    job_unref(j);
    return NULL;
}

int sk_resolve_start(const char *host, uint16_t port, struct sk_resolve_job **job)
{
    size_t hl = strlen(host);
    struct sk_resolve_job *j;
    pthread_attr_t attr;
    pthread_t t;

    if (hl == 0 || hl >= sizeof(j->host))
        return sk_gai_error(EAI_NONAME);
    if (atomic_fetch_add(&inflight, 1) >= SK_RESOLVE_INFLIGHT_MAX) {
        atomic_fetch_sub(&inflight, 1);
        return -EAGAIN;
    }
    j = calloc(1, sizeof(*j));
    if (!j) {
        atomic_fetch_sub(&inflight, 1);
        return -ENOMEM;
    }
    memcpy(j->host, host, hl + 1);
    snprintf(j->port, sizeof(j->port), "%u", port);
    j->delay_ms = delay_ms();
    atomic_init(&j->refs, 2);
    atomic_init(&j->done, 0);
    int e = pthread_attr_init(&attr);
    if (e == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        e = pthread_create(&t, &attr, lookup, j);
        pthread_attr_destroy(&attr);
    }
    if (e != 0) {
        atomic_fetch_sub(&inflight, 1);
        free(j);
        return -e;
    }
    *job = j;
    return 0;
}

int sk_resolve_result(struct sk_resolve_job *j, struct sk_addr *out, size_t n)
{
    if (!atomic_load_explicit(&j->done, memory_order_acquire))
        return -EAGAIN;
    if (j->result < 0)
        return j->result;
    for (size_t i = 0; i < n && i < (size_t)j->result; i++)
        out[i] = j->addrs[i].addr;
    return j->result;
}

void sk_resolve_drop(struct sk_resolve_job *j)
{
    if (j)
        job_unref(j);
}
