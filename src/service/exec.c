/*
 * exec.c - `serve exec -- CMD [ARG...]`: each connection gets a program
 * with its standard input and output on the connection (inetd's and
 * ucspi-tcp's shape), its environment telling it who connected
 * (sk_conn_spawn_env(): TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP,
 * TCPLOCALPORT; PROTO=UNIX and UNIXREMOTEPID/UID/GID over a Unix socket).
 *
 * Where the model gives the connection a thread of control of its own
 * (fork, --inetd, thread, pool, prefork, iterative) the program gets the
 * socket itself (sk_conn_exec()): no byte is relayed, and its exit closes
 * the connection. Under the event models (and under TLS) it runs on two
 * pipes that the model drives as the connection's upstream in its own
 * loop, with backpressure both ways: the client's half-close closes the
 * program's standard input while its output still flows back, and the end
 * of its output ends the connection once everything is sent.
 *
 * --stderr: log (the default: each line in the server's log as
 * "conn ID: LINE", so a program's complaints reach the operator, not the
 * client), socket (to the client with the output, inetd's way) or null.
 * Starting, reaping and terminating the program (SIGTERM to its process
 * group when its connection closes or the server stops, SIGKILL after
 * --drain) is the net core's (src/net/spawn.c).
 */
#include "sockit/conn.h"
#include "sockit/error.h"
#include "sockit/service.h"
#include "sockit/spawn.h"
#include "sockit/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

enum { ERR_LOG, ERR_SOCKET, ERR_NULL };

struct exec_svc {
    char *stderr_mode; /* --stderr */
    int err;           /* ERR_*, from stderr_mode at start() */
    char **argv;       /* the program and its arguments (pointers into the command line) */
    char file[PATH_MAX];
    int grace_ms; /* --drain: how long a program may take to go after SIGTERM */
};

struct exec_conn {
    struct sk_child *child; /* on pipes; NULL when it ran on the socket */
};

static int stderr_check(const char *v, char *why, size_t len)
{
    if (strcmp(v, "log") == 0 || strcmp(v, "socket") == 0 || strcmp(v, "null") == 0)
        return 0;
    snprintf(why, len, "'%s' is not log, socket or null", v);
    return -1;
}

static const struct sk_service_opt exec_opts[] = {
    {"stderr", SK_OPT_STRING, offsetof(struct exec_svc, stderr_mode), 0, 0, "WHERE",
     "the program's standard error: log (default: the server's log, each line as "
     "'conn ID: LINE'), socket (to the client, with its output) or null",
     stderr_check, NULL},
    {0},
};

static int exec_create(void **state)
{
    struct exec_svc *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->grace_ms = 2000;
    *state = x;
    return 0;
}

static int exec_args(void *state, int argc, char **argv, char *err, size_t errlen)
{
    struct exec_svc *x = state;

    if (argc < 1) {
        snprintf(err, errlen, "which program? (serve exec [OPTIONS] -- CMD [ARG...])");
        return -EINVAL;
    }
    int r = sk_spawn_find(argv[0], x->file, sizeof(x->file));
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", argv[0],
                 r == -ENOENT ? (strchr(argv[0], '/') ? "no such program" : "not found in PATH")
                              : sk_strerror(r));
        return -EINVAL;
    }
    x->argv = argv;
    return 0;
}

static int exec_start(void *state, struct sk_service_env *env, char *err, size_t errlen)
{
    struct exec_svc *x = state;

    if (!x->argv) {
        snprintf(err, errlen, "which program? (serve exec [OPTIONS] -- CMD [ARG...])");
        return -ERANGE; /* a usage error */
    }
    const char *m = x->stderr_mode ? x->stderr_mode : "log";
    x->err = strcmp(m, "socket") == 0 ? ERR_SOCKET : strcmp(m, "null") == 0 ? ERR_NULL : ERR_LOG;
    x->grace_ms = env->drain_ms;
    sk_spawn_watch_stop(env->stop_fd, env->drain_ms);
    return 0;
}

static void exec_destroy(void *state)
{
    struct exec_svc *x = state;
    sk_spawn_shutdown(x->grace_ms); /* no program outlives the server */
    free(x->stderr_mode);
    free(x);
}

/* The log line for a program that ran on the socket and ended. */
static void log_end(const struct sk_conn *c, int status)
{
    if (WIFSIGNALED(status))
        sk_log(SK_LOG_DEBUG, "conn %llu: program killed by signal %d", (unsigned long long)c->id,
               WTERMSIG(status));
    else
        sk_log(SK_LOG_DEBUG, "conn %llu: program exited with status %d", (unsigned long long)c->id,
               WEXITSTATUS(status));
}

static int exec_open(struct sk_conn *c)
{
    struct exec_svc *x = sk_conn_service_state(c);
    struct exec_conn *xc = c->ctx;
    char **envp = sk_conn_spawn_env(c);
    int r;

    if (!envp)
        return -ENOMEM;
    struct sk_spawn sp = {
        .file = x->file,
        .argv = x->argv,
        .envp = envp,
        .fd = {SK_SPAWN_PIPE, SK_SPAWN_PIPE,
               x->err == ERR_LOG      ? SK_SPAWN_PIPE
               : x->err == ERR_SOCKET ? SK_SPAWN_STDOUT
                                      : SK_SPAWN_NULL},
    };
    r = sk_conn_exec(c, &sp);
    if (r != -EOPNOTSUPP) {
        free(envp);
        if (r >= 0)
            log_end(c, r);
        return r < 0 ? r : 0;
    }
    int fds[3];
    sp.fd[0] = sp.fd[1] = SK_SPAWN_PIPE;
    r = sk_spawn_start(&sp, c->id, &xc->child, fds);
    free(envp);
    if (r < 0)
        return r;
    /* The connection owns the pipes from here on, even on failure. */
    if ((r = sk_conn_upstream_fds(c, fds[1], fds[0])) < 0 || (r = sk_conn_upstream_pipe(c)) < 0)
        return r;
    return sk_conn_upstream_end_at_eof(c);
}

/* Piped from open() on: input reaches data() only if the upstream could
 * not be set up, and then goes nowhere. */
static ssize_t exec_data(struct sk_conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    return (ssize_t)n;
}

static void exec_close(struct sk_conn *c)
{
    const struct exec_svc *x = sk_conn_service_state(c);
    struct exec_conn *xc = c->ctx;
    if (xc && xc->child) {
        sk_spawn_release(xc->child, x->grace_ms);
        xc->child = NULL;
    }
}

const struct sk_service sk_service_exec = {
    .name = "exec",
    .summary = "run a program per connection on it (serve exec [OPTIONS] -- CMD [ARG...])",
    .flags = SK_SVC_STREAM,
    .opts = exec_opts,
    .conn_size = sizeof(struct exec_conn),
    .idle_timeout_ms = SK_SVC_NO_IDLE_TIMEOUT,
    .create = exec_create,
    .args = exec_args,
    .start = exec_start,
    .destroy = exec_destroy,
    .open = exec_open,
    .data = exec_data,
    .close = exec_close,
};
