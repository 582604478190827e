/*
 * spawn.c - a program per connection (spawn.h): finding it, its
 * environment, starting it with vfork() + execve(), and its end.
 *
 * Starting: vfork() (the child borrows our memory until it execs, so a
 * server with a large heap starts a program as fast as a small one), with
 * every signal blocked around it so no handler of ours runs in the child;
 * the child resets every disposition, joins a process group of its own,
 * asks for SIGTERM when the starting thread ends, places its descriptors
 * and execs. A failed exec writes its errno to a close-on-exec pipe (EOF
 * there means the exec succeeded; this works where vfork() is a plain fork,
 * as under ThreadSanitizer), and the starter reaps the child at once and
 * returns the error.
 *
 * Ending: one reaper thread per process (started by the first spawn, again
 * in a forked process) polls a pidfd per child, so a child is reaped the
 * moment it exits, whatever its connection is doing: no zombie, no SIGCHLD
 * handler (which would steal other code's children), and a bounded
 * terminate that needs no help from the event loop. The same thread reads
 * and logs the children's standard error and watches the server's stop
 * descriptor. A pidfd (Linux 5.3) names the child without the race of a
 * reused pid.
 */
#include "sockit/spawn.h"

#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define ERR_LINE 1024 /* a longer stderr line is logged in pieces */

extern char **environ;

int sk_spawn_find(const char *name, char *buf, size_t size)
{
    if (!name || !*name)
        return -ENOENT;
    if (strchr(name, '/')) {
        if (strlen(name) >= size)
            return -ENAMETOOLONG;
        strcpy(buf, name);
        return access(buf, X_OK) == 0 ? 0 : -errno;
    }
    const char *path = getenv("PATH");
    int err = -ENOENT;
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dl = end ? (size_t)(end - p) : strlen(p);
        int n = snprintf(buf, size, "%.*s%s%s", (int)dl, p, dl ? "/" : "", name);
        struct stat st;
        if (n > 0 && (size_t)n < size && stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(buf, X_OK) == 0)
                return 0;
            err = -EACCES;
        }
        if (!end)
            break;
        p = end;
    }
    return err;
}

/* ---- the environment ---- */

static const char *const env_names[] = {
    "PROTO",         "TCPREMOTEIP",   "TCPREMOTEPORT", "TCPLOCALIP",
    "TCPLOCALPORT",  "TCPREMOTEHOST", "TCPLOCALHOST",  "TCPREMOTEINFO",
    "UNIXLOCALPATH", "UNIXREMOTEPID", "UNIXREMOTEUID", "UNIXREMOTEGID",
};
#define ENV_MAX 6 /* variables set for one connection at most */

static int env_ours(const char *kv)
{
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) {
        size_t n = strlen(env_names[i]);
        if (strncmp(kv, env_names[i], n) == 0 && kv[n] == '=')
            return 1;
    }
    return 0;
}

char **sk_spawn_env(const struct sk_addr *peer, const struct sk_addr *local, int fd)
{
    char set[ENV_MAX][PATH_MAX + 32], host[SK_ADDR_STRLEN];
    size_t nset = 0, nenv = 0, bytes = 0;
    struct sk_addr me;

    if (!local && fd >= 0) {
        me.len = sizeof(me.u);
        if (getsockname(fd, &me.u.sa, &me.len) == 0)
            local = &me;
    }
    if (sk_addr_family(peer) == AF_UNIX) {
        snprintf(set[nset++], sizeof(set[0]), "PROTO=UNIX");
        if (local && local->len > offsetof(struct sockaddr_un, sun_path) &&
            local->u.un.sun_path[0] != '\0')
            snprintf(set[nset++], sizeof(set[0]), "UNIXLOCALPATH=%s", local->u.un.sun_path);
        struct ucred cr;
        socklen_t cl = sizeof(cr);
        if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid > 0) {
            snprintf(set[nset++], sizeof(set[0]), "UNIXREMOTEPID=%ld", (long)cr.pid);
            snprintf(set[nset++], sizeof(set[0]), "UNIXREMOTEUID=%lu", (unsigned long)cr.uid);
            snprintf(set[nset++], sizeof(set[0]), "UNIXREMOTEGID=%lu", (unsigned long)cr.gid);
        }
    } else {
        snprintf(set[nset++], sizeof(set[0]), "PROTO=TCP");
        if (sk_addr_format_host(peer, host, sizeof(host)) >= 0) {
            snprintf(set[nset++], sizeof(set[0]), "TCPREMOTEIP=%s", host);
            snprintf(set[nset++], sizeof(set[0]), "TCPREMOTEPORT=%u", sk_addr_port(peer));
        }
        if (local && sk_addr_format_host(local, host, sizeof(host)) >= 0) {
            snprintf(set[nset++], sizeof(set[0]), "TCPLOCALIP=%s", host);
            snprintf(set[nset++], sizeof(set[0]), "TCPLOCALPORT=%u", sk_addr_port(local));
        }
    }
    for (char **e = environ; e && *e; e++) {
        if (!env_ours(*e)) {
            nenv++;
            bytes += strlen(*e) + 1;
        }
    }
    for (size_t i = 0; i < nset; i++)
        bytes += strlen(set[i]) + 1;
    /* One block: the pointers, then the strings. */
    char **v = malloc((nenv + nset + 1) * sizeof(*v) + bytes);
    if (!v)
        return NULL;
    char *s = (char *)(v + nenv + nset + 1);
    size_t k = 0;
    for (char **e = environ; e && *e; e++) {
        if (env_ours(*e))
            continue;
        size_t n = strlen(*e) + 1;
        v[k++] = memcpy(s, *e, n);
        s += n;
    }
    for (size_t i = 0; i < nset; i++) {
        size_t n = strlen(set[i]) + 1;
        v[k++] = memcpy(s, set[i], n);
        s += n;
    }
    v[k] = NULL;
    return v;
}

/* ---- starting ---- */

/* What the vfork child needs, prepared by the parent (the child only makes
 * system calls). */
struct plan {
    const struct sk_spawn *sp;
    int target[3]; /* the descriptors that become 0, 1, 2 */
    int report;    /* close-on-exec pipe: the exec's errno, or EOF once it succeeded */
};

static void child_exec(struct plan *p)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL); /* the reserved real-time ones fail: fine */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* A target among 0..2 that another one replaces is moved out first. */
    for (int i = 0; i < 3; i++) {
        if (p->target[i] < 3 && p->target[i] != i) {
            int moved = fcntl(p->target[i], F_DUPFD_CLOEXEC, 3);
            for (int j = i + 1; j < 3; j++)
                if (p->target[j] == p->target[i])
                    p->target[j] = moved;
            p->target[i] = moved;
        }
    }
    for (int i = 0; i < 3; i++) {
        if (p->target[i] == i)
            fcntl(i, F_SETFD, 0);
        else if (dup2(p->target[i], i) < 0)
            goto fail;
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(p->sp->file, p->sp->argv, p->sp->envp ? p->sp->envp : environ);
fail:;
    int e = errno ? errno : ENOEXEC;
    ssize_t w = write(p->report, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* vfork() and the child's exec, in a frame of their own (nothing here is
 * kept in a register across the vfork). Returns the pid or -errno. */
static __attribute__((noinline)) pid_t start_child(struct plan *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = vfork();
    if (child == 0)
        child_exec(p);
    int e = errno;
    if (child > 0)
        setpgid(child, child); /* where vfork() is a fork (ThreadSanitizer): no race */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return child < 0 ? -e : child;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Start the child; *pid and *pidfd, our ends in mine[] (-1 where none). */
static int spawn_raw(const struct sk_spawn *sp, int mine[3], pid_t *pid, int *pidfd)
{
    struct plan p = {.sp = sp, .target = {-1, -1, -1}};
    int theirs[3] = {-1, -1, -1}, err = 0;

    mine[0] = mine[1] = mine[2] = -1;
    for (int i = 0; i < 3; i++) {
        int f = sp->fd[i];
        if (f == SK_SPAWN_STDOUT && i == 2) {
            p.target[2] = p.target[1];
            continue;
        }
        if (f == SK_SPAWN_PIPE) {
            int pf[2];
            if (pipe2(pf, O_CLOEXEC) < 0) {
                err = -errno;
                goto out;
            }
            mine[i] = i == 0 ? pf[1] : pf[0];
            theirs[i] = i == 0 ? pf[0] : pf[1];
            if ((err = set_nonblock(mine[i])) < 0)
                goto out;
        } else if (f == SK_SPAWN_NULL) {
            if ((theirs[i] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
                err = -errno;
                goto out;
            }
        } else if (f < 0) {
            err = -EBADF;
            goto out;
        }
        p.target[i] = theirs[i] >= 0 ? theirs[i] : f;
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        err = -errno;
        goto out;
    }
    p.report = report[1];
    pid_t child = start_child(&p);
    if (child < 0)
        err = child;
    close(report[1]);
    if (err == 0) {
        int e = 0;
        ssize_t n;
        do
            n = read(report[0], &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof(e)) {
            err = -e;
            waitpid(child, NULL, 0);
        }
    }
    close(report[0]);
    if (err == 0) {
        int fd = (int)syscall(SYS_pidfd_open, child, 0);
        if (fd < 0) {
            err = -errno;
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        } else {
            *pid = child;
            *pidfd = fd;
        }
    }
out:
    for (int i = 0; i < 3; i++) {
        if (theirs[i] >= 0)
            close(theirs[i]);
        if (err < 0 && mine[i] >= 0) {
            close(mine[i]);
            mine[i] = -1;
        }
    }
    return err;
}

/* ---- standard error, logged line by line ---- */

struct errlog {
    int fd; /* -1 once closed */
    uint64_t id;
    size_t len;
    char line[ERR_LINE];
};

static void errlog_put(struct errlog *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)e->line[i];
        if (ch < 0x20 && ch != '\t')
            e->line[i] = '?';
    }
    sk_log(SK_LOG_INFO, "conn %llu: %.*s", (unsigned long long)e->id, (int)n, e->line);
}

/* Read what the child wrote to its standard error; log each whole line
 * (and a piece that fills the buffer). Closes at the end of the stream. */
static void errlog_read(struct errlog *e)
{
    for (;;) {
        ssize_t n = read(e->fd, e->line + e->len, sizeof(e->line) - e->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                if (e->len)
                    errlog_put(e, e->len);
                e->len = 0;
                close(e->fd);
                e->fd = -1;
            }
            return;
        }
        e->len += (size_t)n;
        char *nl;
        while ((nl = memchr(e->line, '\n', e->len)) != NULL) {
            size_t l = (size_t)(nl - e->line);
            errlog_put(e, l && e->line[l - 1] == '\r' ? l - 1 : l);
            memmove(e->line, nl + 1, e->len - l - 1);
            e->len -= l + 1;
        }
        if (e->len == sizeof(e->line)) {
            errlog_put(e, e->len);
            e->len = 0;
        }
    }
}

/* ---- the reaper ---- */

struct sk_child {
    pid_t pid;
    int pidfd;      /* -1 once reaped */
    int released;   /* the connection gave it up */
    int group_told; /* reaped, and its group was sent SIGTERM */
    int64_t kill_at;
    struct errlog err;
    struct sk_child *next;
};

static struct {
    pid_t owner; /* the process these belong to (a forked one starts afresh) */
    pthread_mutex_t lock;
    pthread_cond_t gone; /* a child was freed */
    pthread_t thread;
    int running, quit;
    int wake; /* eventfd */
    struct sk_child *list;
    unsigned n;
    int stop_fd, grace_ms, stopped;
} R = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .gone = PTHREAD_COND_INITIALIZER,
       .wake = -1,
       .stop_fd = -1,
       .grace_ms = 2000};

static void poke(void)
{
    uint64_t one = 1;
    ssize_t w = write(R.wake, &one, sizeof(one));
    (void)w;
}

/* SIGTERM to ch's group now, SIGKILL at the bound. Lock held. */
static void terminate(struct sk_child *ch, int grace_ms)
{
    if (ch->pidfd < 0) {
        /* It is gone, but children it left in its group are told once (its
         * pid names the group for as long as the group has members). */
        if (!ch->group_told)
            kill(-ch->pid, SIGTERM);
        ch->group_told = 1;
        return;
    }
    if (ch->kill_at)
        return;
    if (kill(-ch->pid, SIGTERM) < 0)
        kill(ch->pid, SIGTERM);
    ch->kill_at = sk_now_ms() + (grace_ms > 0 ? grace_ms : 1);
}

/* The child behind ch exited: reap it. Lock held. */
static void reap(struct sk_child *ch)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid((idtype_t)P_PIDFD, (id_t)ch->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
        return;
    close(ch->pidfd);
    ch->pidfd = -1;
    if (si.si_code != CLD_EXITED && si.si_status != SIGTERM && si.si_status != SIGKILL &&
        si.si_status != SIGPIPE)
        sk_log(SK_LOG_WARN, "conn %llu: program %d killed by signal %d (%s)",
               (unsigned long long)ch->err.id, (int)ch->pid, si.si_status, strsignal(si.si_status));
}

/* Free what is released and reaped; its stderr, once reaped, is read for
 * what is there and closed (a grandchild holding it keeps nothing open).
 * Lock held. */
static void sweep(void)
{
    for (struct sk_child **pp = &R.list; *pp;) {
        struct sk_child *ch = *pp;
        if (ch->released && ch->pidfd < 0) {
            if (ch->err.fd >= 0) {
                errlog_read(&ch->err);
                if (ch->err.fd >= 0)
                    close(ch->err.fd);
            }
            *pp = ch->next;
            R.n--;
            free(ch);
            pthread_cond_broadcast(&R.gone);
        } else {
            pp = &ch->next;
        }
    }
}

static void *reaper(void *arg)
{
    (void)arg;
    struct pollfd *pf = NULL;
    struct sk_child **who = NULL;
    size_t cap = 0;

    pthread_mutex_lock(&R.lock);
    while (!R.quit) {
        int64_t now = sk_now_ms(), next = 0;
        nfds_t n = 0;
        if (cap < 2 * (size_t)R.n + 2) {
            size_t want = 2 * (size_t)R.n + 64;
            struct pollfd *npf = realloc(pf, want * sizeof(*pf));
            if (npf)
                pf = npf;
            struct sk_child **nwho = realloc(who, want * sizeof(*who));
            if (nwho)
                who = nwho;
            if (npf && nwho)
                cap = want;
        }
        if (cap < 2) { /* out of memory: try again soon */
            pthread_mutex_unlock(&R.lock);
            usleep(10 * 1000);
            pthread_mutex_lock(&R.lock);
            continue;
        }
        pf[n++] = (struct pollfd){.fd = R.wake, .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = R.stopped ? -1 : R.stop_fd, .events = POLLIN};
        for (struct sk_child *ch = R.list; ch && n + 2 <= cap; ch = ch->next) {
            if (ch->kill_at && ch->pidfd >= 0) {
                if (now >= ch->kill_at) {
                    kill(-ch->pid, SIGKILL);
                    kill(ch->pid, SIGKILL);
                    ch->kill_at = now + 1000; /* and again, should it linger */
                }
                if (!next || ch->kill_at < next)
                    next = ch->kill_at;
            }
            if (ch->pidfd >= 0) {
                who[n - 2] = ch;
                pf[n++] = (struct pollfd){.fd = ch->pidfd, .events = POLLIN};
            }
            if (ch->err.fd >= 0) {
                who[n - 2] = ch;
                pf[n++] = (struct pollfd){.fd = ch->err.fd, .events = POLLIN};
            }
        }
        pthread_mutex_unlock(&R.lock);
        int ms = next ? (int)(next - now > 0 ? next - now : 0) : -1;
        int r = poll(pf, n, ms);
        pthread_mutex_lock(&R.lock);
        if (r <= 0)
            continue;
        if (pf[0].revents) {
            uint64_t v;
            ssize_t rd = read(R.wake, &v, sizeof(v));
            (void)rd;
        }
        if (pf[1].revents && !R.stopped) {
            R.stopped = 1;
            for (struct sk_child *ch = R.list; ch; ch = ch->next)
                terminate(ch, R.grace_ms);
        }
        /* The list only changes under the lock, and only this thread frees:
         * the pointers in who[] are still good until sweep(). */
        for (nfds_t i = 2; i < n; i++) {
            if (!pf[i].revents)
                continue;
            struct sk_child *ch = who[i - 2];
            if (pf[i].fd == ch->pidfd)
                reap(ch);
            else if (pf[i].fd == ch->err.fd)
                errlog_read(&ch->err);
        }
        sweep();
    }
    pthread_mutex_unlock(&R.lock);
    free(pf);
    free(who);
    return NULL;
}

/* The reaper of this process, started when missing. Lock held. */
static int reaper_ensure(void)
{
    if (R.owner != getpid()) {
        /* A forked process: its parent's children and thread are not its own
         * (the copies are forgotten, not closed: they are close-on-exec and
         * few). */
        R.owner = getpid();
        R.list = NULL;
        R.n = 0;
        R.running = R.quit = R.stopped = 0;
        R.wake = -1;
    }
    if (R.running)
        return 0;
    if (R.wake < 0 && (R.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return -errno;
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread takes no signal */
    R.quit = 0;
    int r = pthread_create(&R.thread, &attr, reaper, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return -r;
    R.running = 1;
    return 0;
}

void sk_spawn_watch_stop(int stop_fd, int grace_ms)
{
    pthread_mutex_lock(&R.lock);
    R.stop_fd = stop_fd;
    R.grace_ms = grace_ms;
    if (R.running)
        poke();
    pthread_mutex_unlock(&R.lock);
}

int sk_spawn_start(const struct sk_spawn *sp, uint64_t log_id, struct sk_child **child,
                   int parent_fd[3])
{
    struct sk_child *ch = calloc(1, sizeof(*ch));
    int mine[3], r;

    if (!ch)
        return -ENOMEM;
    pthread_mutex_lock(&R.lock);
    r = reaper_ensure();
    pthread_mutex_unlock(&R.lock);
    if (r == 0)
        r = spawn_raw(sp, mine, &ch->pid, &ch->pidfd);
    if (r < 0) {
        free(ch);
        return r;
    }
    ch->err.fd = mine[2];
    ch->err.id = log_id;
    parent_fd[0] = mine[0];
    parent_fd[1] = mine[1];
    parent_fd[2] = -1;
    pthread_mutex_lock(&R.lock);
    ch->next = R.list;
    R.list = ch;
    R.n++;
    if (R.stopped)
        terminate(ch, R.grace_ms); /* started as the server stops */
    poke();
    pthread_mutex_unlock(&R.lock);
    *child = ch;
    return 0;
}

pid_t sk_child_pid(const struct sk_child *ch)
{
    return ch->pid;
}

void sk_spawn_release(struct sk_child *ch, int grace_ms)
{
    pthread_mutex_lock(&R.lock);
    ch->released = 1;
    terminate(ch, grace_ms);
    poke();
    pthread_mutex_unlock(&R.lock);
}

unsigned sk_spawn_live(void)
{
    pthread_mutex_lock(&R.lock);
    unsigned n = R.owner == getpid() ? R.n : 0;
    pthread_mutex_unlock(&R.lock);
    return n;
}

void sk_spawn_shutdown(int grace_ms)
{
    pthread_mutex_lock(&R.lock);
    if (R.owner != getpid() || !R.running) {
        pthread_mutex_unlock(&R.lock);
        return;
    }
    for (struct sk_child *ch = R.list; ch; ch = ch->next) {
        ch->released = 1;
        terminate(ch, grace_ms);
    }
    poke();
    while (R.list)
        pthread_cond_wait(&R.gone, &R.lock); /* bounded: the reaper kills at the bound */
    R.quit = 1;
    poke();
    pthread_mutex_unlock(&R.lock);
    pthread_join(R.thread, NULL);
    pthread_mutex_lock(&R.lock);
    R.running = 0;
    pthread_mutex_unlock(&R.lock);
}

/* ---- one program on a connection of its own ---- */

int sk_spawn_run(const struct sk_spawn *sp, uint64_t log_id, int close_fd, int stop_fd,
                 int grace_ms)
{
    int mine[3], pidfd;
    pid_t pid;
    int r = spawn_raw(sp, mine, &pid, &pidfd);

    if (close_fd >= 0)
        close(close_fd);
    if (r < 0)
        return r;
    if (mine[0] >= 0)
        close(mine[0]);
    if (mine[1] >= 0)
        close(mine[1]);
    struct errlog e = {.fd = mine[2], .id = log_id};
    int64_t kill_at = 0;
    for (;;) {
        struct pollfd p[3] = {
            {.fd = pidfd, .events = POLLIN},
            {.fd = e.fd, .events = POLLIN},
            {.fd = kill_at ? -1 : stop_fd, .events = POLLIN},
        };
        int64_t now = sk_now_ms();
        if (kill_at && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            kill_at = now + 1000;
        }
        int n = poll(p, 3, kill_at ? (int)(kill_at - now) : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[1].revents)
            errlog_read(&e);
        if (p[2].revents) {
            if (kill(-pid, SIGTERM) < 0)
                kill(pid, SIGTERM);
            kill_at = sk_now_ms() + (grace_ms > 0 ? grace_ms : 1);
        }
        if (p[0].revents)
            break;
    }
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int status = 0;
    if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) == 0)
        status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
    close(pidfd);
    if (e.fd >= 0) {
        errlog_read(&e);
        if (e.fd >= 0)
            close(e.fd);
    }
    return status;
}
