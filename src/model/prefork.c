/*
 * prefork.c - N processes (--workers, default the number of CPUs) forked
 * up front, each accepting on the one shared listener and serving the
 * connection it got with the blocking driver, one at a time.
 *
 * The parent only supervises: a worker that dies is reaped at once (SIGCHLD
 * interrupts the parent's ppoll()) and replaced (after a second if it lived
 * less than that, so a worker that cannot start does not spin). If a worker
 * dies in the middle of a connection, the parent uncounts that connection
 * (a per-worker "busy" flag in shared memory says so). On stop the parent
 * sends SIGTERM to every worker; they also see the shared stop eventfd,
 * finish their connection within the drain bound and exit; stragglers are
 * killed after the bound and all are reaped. No hub services: connections
 * live in separate processes.
 */
#include "internal.h"

#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/sock.h"
#include "sockit/spawn.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct slot {
    pid_t pid;          /* 0: not running */
    int64_t started_ms; /* when it was forked */
    int64_t restart_ms; /* not before this */
};

struct prefork {
    struct sk_server *srv;
    unsigned n;
    struct slot *slot;
    atomic_int *busy;     /* shared with the workers: serving a connection now */
    struct sk_addr *peer; /* shared: whom (released if the worker dies serving it) */
    sigset_t old_mask;
};

static void on_sigchld(int sig)
{
    (void)sig; /* only interrupts ppoll() */
}

static void worker_main(struct prefork *pf, unsigned i)
{
    struct sk_server *srv = pf->srv;

    sk__die_with_parent();
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &pf->old_mask, NULL);
    srv->stdin_stop = 0; /* the terminal is the parent's */
    for (;;) {
        struct sk_addr peer;
        int fd = sk__worker_accept(srv, &peer);
        if (fd == -ECANCELED)
            break;
        if (fd < 0) {
            sk_log(SK_LOG_ERROR, "worker %u: accept: %s", i, sk_strerror(fd));
            _exit(1);
        }
        pf->peer[i] = peer;
        atomic_store(&pf->busy[i], 1);
        sk__serve_blocking(srv, fd, &peer);
        atomic_store(&pf->busy[i], 0);
    }
    sk_spawn_shutdown(srv->lim.drain_ms); /* serve exec's programs end with the worker */
    _exit(0);
}

static int start_worker(struct prefork *pf, unsigned i)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        worker_main(pf, i);
    pf->slot[i].pid = pid;
    pf->slot[i].started_ms = sk_now_ms();
    return 0;
}

/* Collect exited workers; schedule their replacement unless stopping. */
static void reap(struct prefork *pf, int blocking)
{
    struct sk_server *srv = pf->srv;
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, blocking ? 0 : WNOHANG)) != 0) {
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (unsigned i = 0; i < pf->n; i++) {
            if (pf->slot[i].pid != pid)
                continue;
            pf->slot[i].pid = 0;
            if (atomic_exchange(&pf->busy[i], 0)) {
                if (srv->perip)
                    sk__perip_release(srv, &pf->peer[i]);
                atomic_fetch_sub(&srv->st->active, 1); /* died mid-connection */
                atomic_fetch_add(&srv->st->errors, 1);
            }
            int64_t now = sk_now_ms();
            pf->slot[i].restart_ms = now - pf->slot[i].started_ms < 1000 ? now + 1000 : now;
            if (!srv->stop) {
                if (WIFSIGNALED(status))
                    sk_log(SK_LOG_WARN, "worker %u (pid %d) killed by signal %d (%s): restarting",
                           i, (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
                else
                    sk_log(SK_LOG_WARN, "worker %u (pid %d) exited with status %d: restarting", i,
                           (int)pid, WEXITSTATUS(status));
            }
        }
        if (blocking)
            break;
    }
}

static unsigned running(const struct prefork *pf)
{
    unsigned k = 0;
    for (unsigned i = 0; i < pf->n; i++)
        k += pf->slot[i].pid != 0;
    return k;
}

static void restart_due(struct prefork *pf)
{
    int64_t now = sk_now_ms();
    for (unsigned i = 0; i < pf->n && !pf->srv->stop; i++) {
        if (pf->slot[i].pid || pf->slot[i].restart_ms > now)
            continue;
        int r = start_worker(pf, i);
        if (r < 0) {
            sk_log(SK_LOG_WARN, "cannot fork worker %u: %s", i, sk_strerror(r));
            pf->slot[i].restart_ms = now + 1000;
        }
    }
}

static void wind_down(struct prefork *pf, const sigset_t *wait_mask)
{
    struct sk_server *srv = pf->srv;
    int64_t deadline = sk_now_ms() + srv->lim.drain_ms + 1000;

    for (unsigned i = 0; i < pf->n; i++)
        if (pf->slot[i].pid)
            kill(pf->slot[i].pid, SIGTERM);
    reap(pf, 0);
    while (running(pf) && sk_now_ms() < deadline) {
        struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
        ppoll(NULL, 0, &ts, wait_mask);
        reap(pf, 0);
    }
    if (running(pf)) {
        unsigned left = running(pf);
        sk_log(SK_LOG_WARN, "%u worker%s did not finish in time: killing %s", left,
               left == 1 ? "" : "s", left == 1 ? "it" : "them");
        for (unsigned i = 0; i < pf->n; i++)
            if (pf->slot[i].pid)
                kill(pf->slot[i].pid, SIGKILL);
        while (running(pf)) {
            unsigned before = running(pf);
            reap(pf, 1);
            if (running(pf) == before)
                break; /* not our children any more: nothing to wait for */
        }
    }
}

static int prefork_run(struct sk_server *srv)
{
    struct prefork pf = {.srv = srv};
    struct sigaction old_sa;
    sigset_t wait_mask;
    int err = 0;

    pf.n = sk__workers(srv, 1, 2);
    pf.slot = calloc(pf.n, sizeof(*pf.slot));
    void *m = mmap(NULL, pf.n * sizeof(atomic_int), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!pf.slot || m == MAP_FAILED) {
        free(pf.slot);
        if (m != MAP_FAILED)
            munmap(m, pf.n * sizeof(atomic_int));
        return -ENOMEM;
    }
    pf.busy = m;
    pf.peer = mmap(NULL, pf.n * sizeof(*pf.peer), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pf.peer == MAP_FAILED) {
        free(pf.slot);
        munmap(m, pf.n * sizeof(atomic_int));
        return -ENOMEM;
    }

    sk__sigchld_catch(on_sigchld, &old_sa, &pf.old_mask, &wait_mask);
    sk_sock_set_nonblock(srv->lfd, 1);

    for (unsigned i = 0; i < pf.n; i++) {
        if ((err = start_worker(&pf, i)) < 0)
            break;
    }
    if (err < 0 && running(&pf) == 0)
        goto out;
    if (err < 0)
        sk_log(SK_LOG_WARN, "prefork: started %u of %u workers: %s", running(&pf), pf.n,
               sk_strerror(err));
    err = 0;
    sk_log(SK_LOG_DEBUG, "prefork: %u worker%s", running(&pf), running(&pf) == 1 ? "" : "s");
    /* Supervise until the stop: wake on SIGCHLD, the stop, or each second. */
    for (;;) {
        reap(&pf, 0);
        restart_due(&pf);
        int r = sk__wait_listener_ex(srv, -1, SK_WAIT_STDIN, &wait_mask);
        if (r != -EINTR)
            break;
    }
out:
    wind_down(&pf, &wait_mask);
    sk__sigchld_restore(&old_sa, &pf.old_mask);
    munmap(m, pf.n * sizeof(atomic_int));
    munmap(pf.peer, pf.n * sizeof(*pf.peer));
    free(pf.slot);
    return err;
}

const struct sk_model sk_model_prefork = {
    .name = "prefork",
    .summary = "N processes (--workers, default CPUs) accepting on one listener",
    .caps = SK_MODEL_STREAM | SK_MODEL_WORKERS,
    .rank = 30,
    .run = prefork_run,
};
