/*
 * linger.c - the lingering close every model shares (nginx's
 * lingering_close). A connection closed while its peer's input is still
 * unread is reset by the kernel, and the peer may lose the response it was
 * just sent (an error answer to an oversized request, say). Instead the
 * write side is shut down (the peer reads the response and a clean end of
 * stream), what still arrives is read and discarded for at most
 * SK_LINGER_MS and SK_LINGER_BYTES, and then the descriptor is closed.
 *
 * An event loop must not wait for that: one thread per process, started on
 * first use, does it over its own epoll for every model (at most
 * LINGER_SLOTS connections at once; beyond that they are closed at once).
 * It ends, closing its descriptors, after IDLE_MS with nothing to do.
 * A process that ends with its connection (a fork model's child) waits
 * inline instead, since a thread would die with it.
 *
 * It applies whenever the service ends a connection (sk_conn_end) while the
 * peer may still send: input unread, or its end of stream not seen yet. A
 * peer that already finished is closed at once.
 */
#include "internal.h"

#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINGER_SLOTS 1024
#define DISCARD_CHUNK (64 * 1024)
#define IDLE_MS 1000

struct slot {
    int fd; /* -1: free */
    int64_t until;
    size_t bytes;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t owner;   /* the process whose thread runs (0: none yet) */
static int ep = -1;   /* that thread's epoll */
static int wake = -1; /* eventfd: a connection was handed over (index LINGER_SLOTS) */
static struct slot slots[LINGER_SLOTS];
static int nslots; /* slots in use */

/* Read and discard what is there into sink. Returns 1 when the lingering is
 * over (end of stream, an error, or the byte bound), else 0. */
static int discard(int fd, size_t *bytes, char *sink, size_t len)
{
    for (;;) {
        ssize_t n = recv(fd, sink, len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno != EAGAIN;
        if (n == 0)
            return 1;
        *bytes += (size_t)n;
        if (*bytes >= SK_LINGER_BYTES)
            return 1;
    }
}

static void release(int i)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, slots[i].fd, NULL);
    close(slots[i].fd);
    slots[i].fd = -1;
    nslots--;
}

static void *linger_main(void *arg)
{
    static char sink[DISCARD_CHUNK]; /* this thread's only (one per process) */
    (void)arg;
    struct epoll_event ev[64];
    int timeout = 0;

    for (;;) {
        int n = epoll_wait(ep, ev, 64, timeout);
        int64_t now = sk_now_ms(), next = 0;
        pthread_mutex_lock(&lock);
        for (int k = 0; k < n; k++) {
            int i = (int)ev[k].data.u32;
            if (i == LINGER_SLOTS) {
                uint64_t v;
                ssize_t r = read(wake, &v, sizeof(v));
                (void)r; /* the scan below sees the new deadline */
                continue;
            }
            if (slots[i].fd >= 0 && discard(slots[i].fd, &slots[i].bytes, sink, sizeof(sink)))
                release(i);
        }
        for (int i = 0; i < LINGER_SLOTS && nslots > 0; i++) {
            if (slots[i].fd < 0)
                continue;
            if (slots[i].until <= now)
                release(i);
            else if (!next || slots[i].until < next)
                next = slots[i].until;
        }
        if (nslots == 0 && n == 0 && timeout == IDLE_MS) {
            /* Idle for a while: end (a later hand-over starts afresh). */
            close(ep);
            close(wake);
            ep = wake = -1;
            owner = 0;
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        timeout = nslots ? (int)SK_MAX(next - now, 0) : IDLE_MS;
        pthread_mutex_unlock(&lock);
    }
}

/* Start this process's thread (lock held). 0 or -errno. */
static int start(void)
{
    pid_t me = getpid();
    if (owner == me)
        return 0;
    /* A fork copied the parent's table but not its thread: start afresh
     * (the copies of the parent's descriptors are closed). */
    for (int i = 0; i < LINGER_SLOTS; i++) {
        if (owner && slots[i].fd >= 0)
            close(slots[i].fd);
        slots[i].fd = -1;
    }
    nslots = 0;
    if (ep >= 0)
        close(ep);
    if (wake >= 0)
        close(wake);
    ep = epoll_create1(EPOLL_CLOEXEC);
    wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event wev = {.events = EPOLLIN, .data.u32 = LINGER_SLOTS};
    if (ep < 0 || wake < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, wake, &wev) < 0) {
        int e = -errno;
        if (ep >= 0)
            close(ep);
        if (wake >= 0)
            close(wake);
        ep = wake = -1;
        return e;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread takes no signal */
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&t, &attr, linger_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        close(ep);
        close(wake);
        ep = wake = -1;
        return -e;
    }
    owner = me;
    return 0;
}

/* Hand fd to the thread. 0, or -errno (fd untouched). */
static int hand_over(int fd)
{
    int r = -EAGAIN;
    pthread_mutex_lock(&lock);
    if (nslots < LINGER_SLOTS && (r = start()) == 0) {
        r = -EAGAIN;
        for (int i = 0; i < LINGER_SLOTS; i++) {
            if (slots[i].fd >= 0)
                continue;
            struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
            slots[i] = (struct slot){.fd = fd, .until = sk_now_ms() + SK_LINGER_MS};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                r = -errno;
                slots[i].fd = -1;
                break;
            }
            nslots++;
            uint64_t one = 1; /* its wait must cover the new deadline */
            ssize_t w = write(wake, &one, sizeof(one));
            (void)w;
            r = 0;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return r;
}

static void linger_inline(int fd)
{
    int64_t until = sk_now_ms() + SK_LINGER_MS;
    size_t bytes = 0;
    char sink[4096];
    for (;;) {
        int64_t left = until - sk_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || discard(fd, &bytes, sink, sizeof(sink)))
            break;
    }
    close(fd);
}

int sk__peer_sending(int fd)
{
    char b;
    ssize_t n;
    do
        n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n > 0 || (n < 0 && errno == EAGAIN);
}

void sk__linger_close(int fd, int wait_inline)
{
    shutdown(fd, SHUT_WR);
    if (!sk__peer_sending(fd)) { /* it may be over already */
        close(fd);
        return;
    }
    if (wait_inline)
        linger_inline(fd);
    else if (hand_over(fd) < 0)
        close(fd);
}
