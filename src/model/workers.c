/*
 * workers.c - what the models with several workers or children share
 * (fork, prefork, thread, pool): the default worker count from the CPUs,
 * catching SIGCHLD around a supervising parent, a worker's accept step, and
 * the parent's accept burst.
 */
#include "internal.h"

#include "sockit/util.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

unsigned sk__workers(const struct sk_server *srv, unsigned per_cpu, unsigned fallback)
{
    if (srv->workers)
        return srv->workers;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (unsigned)SK_MIN(per_cpu * cpus, 1024) : fallback;
}

static pid_t supervisor; /* the process that forks workers (sk__sigchld_catch) */

void sk__die_with_parent(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor)
        _exit(0); /* it is already gone */
}

void sk__sigchld_catch(void (*handler)(int), struct sigaction *old_sa, sigset_t *old_mask,
                       sigset_t *wait_mask)
{
    struct sigaction sa = {0};
    sigset_t chld;

    supervisor = getpid();

    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, old_sa);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, old_mask);
    *wait_mask = *old_mask;
    sigdelset(wait_mask, SIGCHLD);
}

void sk__sigchld_restore(const struct sigaction *old_sa, const sigset_t *old_mask)
{
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    sigaction(SIGCHLD, old_sa, NULL);
}

int sk__worker_accept(struct sk_server *srv, struct sk_addr *peer)
{
    /* Workers leave stdin to the parent or the calling thread and see the
     * stop through the eventfd (polled with the listener). */
    while (sk__wait_listener_ex(srv, srv->lfd, 0, NULL) > 0) {
        int fd = sk__server_accept(srv, srv->lfd, peer, 1);
        if (fd == -EAGAIN || fd == -EINTR)
            continue; /* another worker took it, or it was shed */
        return fd;
    }
    return -ECANCELED;
}

int sk__accept_burst(struct sk_server *srv, int burst,
                     void (*take)(void *ctx, int fd, const struct sk_addr *peer), void *ctx)
{
    for (int i = 0; i < burst && !srv->stop; i++) {
        struct sk_addr peer;
        int fd = sk__server_accept(srv, srv->lfd, &peer, 1);
        if (fd == -EAGAIN || fd == -EINTR)
            break;
        if (fd < 0) {
            sk_server_stop(srv); /* the listener is broken: wind down */
            return fd;
        }
        take(ctx, fd, &peer);
    }
    return 0;
}
