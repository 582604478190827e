/*
 * fork.c - a process per connection (the seeds' forking server).
 *
 * The parent accepts and forks; the child closes the listener, serves its
 * connection with the blocking driver and _exit()s. Children are reaped at
 * once: SIGCHLD is blocked except while the parent waits in ppoll(), so an
 * exiting child interrupts that wait (or ends the next one immediately) and
 * the parent collects it with waitpid(WNOHANG) before doing anything else;
 * no <defunct> child outlives its client by more than that. The parent
 * uncounts st->active when it reaps (so a crashed child is uncounted too).
 *
 * Stop: the children share the stop eventfd, so they see the stop at once
 * and finish within the drain bound; the parent waits for them that long
 * (plus a second), then kills and reaps whoever is left. Connections live in
 * separate processes, so hub services are not carried.
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
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_BURST 32

struct children {
    pid_t *pid;
    struct sk_addr *peer; /* each child's client (released if the child is killed) */
    size_t n, cap;
};

static void on_sigchld(int sig)
{
    (void)sig; /* only interrupts ppoll() */
}

/* Room for one more child, made before forking so that a child, once
 * forked, is always recorded. Returns 0 or -ENOMEM. */
static int children_reserve(struct children *ch)
{
    if (ch->n < ch->cap)
        return 0;
    size_t cap = ch->cap ? ch->cap * 2 : 64;
    pid_t *p = realloc(ch->pid, cap * sizeof(*p));
    if (!p)
        return -ENOMEM;
    ch->pid = p;
    struct sk_addr *a = realloc(ch->peer, cap * sizeof(*a));
    if (!a)
        return -ENOMEM;
    ch->peer = a;
    ch->cap = cap;
    return 0;
}

/* Forget child pid; one that did not exit on its own (killed by a signal)
 * never released its client's --max-per-ip count: release it here. */
static void children_remove(struct sk_server *srv, struct children *ch, pid_t pid, int killed)
{
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->pid[i] == pid) {
            if (killed && srv->perip)
                sk__perip_release(srv, &ch->peer[i]);
            ch->n--;
            ch->pid[i] = ch->pid[ch->n];
            ch->peer[i] = ch->peer[ch->n];
            return;
        }
    }
}

/* Collect every child that has exited; uncount its connection. */
static void reap(struct sk_server *srv, struct children *ch)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        children_remove(srv, ch, pid, WIFSIGNALED(status));
        atomic_fetch_sub(&srv->st->active, 1);
        if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
            atomic_fetch_add(&srv->st->errors, 1);
            sk_log(SK_LOG_WARN, "connection process %d killed by signal %d (%s)", (int)pid,
                   WTERMSIG(status), strsignal(WTERMSIG(status)));
        }
    }
}

static void serve_child(struct sk_server *srv, int fd, const struct sk_addr *peer,
                        const sigset_t *old_mask)
{
    sk__die_with_parent();
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    sk__server_drop_listeners(srv);
    srv->stdin_stop = 0;       /* the terminal is the parent's */
    srv->active_by_parent = 1; /* the parent uncounts when it reaps us */
    sk__serve_blocking(srv, fd, peer);
    sk_spawn_shutdown(srv->lim.drain_ms); /* a program run on pipes (serve exec --tls) */
    _exit(0);
}

static void spawn(struct sk_server *srv, struct children *ch, int fd, const struct sk_addr *peer,
                  const sigset_t *old_mask)
{
    static struct sk__ratelimit rl;
    int err = children_reserve(ch);
    if (err == 0) {
        pid_t pid = fork();
        if (pid == 0)
            serve_child(srv, fd, peer, old_mask);
        if (pid > 0) {
            ch->peer[ch->n] = *peer;
            ch->pid[ch->n++] = pid;
            close(fd);
            return;
        }
        err = -errno;
    }
    if (sk__rate_ok(&rl, NULL))
        sk_log(SK_LOG_WARN, "cannot fork for a connection: %s", sk_strerror(err));
    close(fd);
    atomic_fetch_add(&srv->st->errors, 1);
    sk__perip_release(srv, peer);
    atomic_fetch_sub(&srv->st->active, 1);
    usleep(10 * 1000); /* out of processes: do not spin on the backlog */
}

struct spawn_ctx {
    struct sk_server *srv;
    struct children *ch;
    const sigset_t *old_mask;
};

/* sk__accept_burst()'s hand-over. */
static void take(void *ctx, int fd, const struct sk_addr *peer)
{
    struct spawn_ctx *sc = ctx;
    spawn(sc->srv, sc->ch, fd, peer, sc->old_mask);
}

/* On stop: wait for the children to finish within the drain bound, then
 * kill and reap the rest. */
static void wind_down(struct sk_server *srv, struct children *ch, const sigset_t *wait_mask)
{
    int64_t deadline = sk_now_ms() + srv->lim.drain_ms + 1000;

    reap(srv, ch);
    while (ch->n > 0 && sk_now_ms() < deadline) {
        struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
        ppoll(NULL, 0, &ts, wait_mask);
        reap(srv, ch);
    }
    if (ch->n > 0) {
        sk_log(SK_LOG_WARN, "%zu connection process%s did not finish in time: killing %s", ch->n,
               ch->n == 1 ? "" : "es", ch->n == 1 ? "it" : "them");
        for (size_t i = 0; i < ch->n; i++)
            kill(ch->pid[i], SIGKILL);
        while (ch->n > 0) {
            int status;
            pid_t pid = waitpid(-1, &status, 0);
            if (pid < 0 && errno != EINTR)
                break;
            if (pid > 0) {
                children_remove(srv, ch, pid, WIFSIGNALED(status));
                atomic_fetch_sub(&srv->st->active, 1);
            }
        }
    }
}

static int fork_run(struct sk_server *srv)
{
    struct children ch = {0};
    struct sigaction old_sa;
    sigset_t old_mask, wait_mask;
    struct spawn_ctx sc = {srv, &ch, &old_mask};
    int err = 0;

    sk__sigchld_catch(on_sigchld, &old_sa, &old_mask, &wait_mask);
    sk_sock_set_nonblock(srv->lfd, 1);

    for (;;) {
        reap(srv, &ch);
        int r = sk__wait_listener_ex(srv, srv->lfd, SK_WAIT_STDIN, &wait_mask);
        if (r == -EINTR)
            continue;
        if (r <= 0)
            break;
        /* A broken listener stops the server: the children see it too. */
        if ((err = sk__accept_burst(srv, ACCEPT_BURST, take, &sc)) < 0)
            break;
    }
    wind_down(srv, &ch, &wait_mask);
    sk__sigchld_restore(&old_sa, &old_mask);
    free(ch.pid);
    free(ch.peer);
    return err;
}

const struct sk_model sk_model_fork = {
    .name = "fork",
    .summary = "a process per connection, reaped as soon as it exits",
    .caps = SK_MODEL_STREAM,
    .rank = 20,
    .run = fork_run,
};
