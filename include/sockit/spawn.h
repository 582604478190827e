/*
 * spawn.h - running a program per connection (serve exec): starting it with
 * chosen descriptors as its standard input, output and error, its
 * environment built from the connection's addresses, and its end: reaped as
 * soon as it exits, terminated (SIGTERM to its process group, SIGKILL after
 * a bound) when its connection closes or the server stops.
 *
 * Net core: no model, no service. Every descriptor made here is
 * close-on-exec; the program gets only its 0, 1 and 2.
 */
#ifndef SOCKIT_SPAWN_H
#define SOCKIT_SPAWN_H

#include "sockit/addr.h"

#include <stdint.h>
#include <sys/types.h>

/* What one of the child's descriptors 0, 1, 2 becomes, besides one of ours. */
#define SK_SPAWN_PIPE (-2)   /* a pipe: the parent keeps the other end */
#define SK_SPAWN_NULL (-3)   /* /dev/null */
#define SK_SPAWN_STDOUT (-4) /* (for 2 only) the same as the child's standard output */

struct sk_spawn {
    const char *file;  /* the program's path (sk_spawn_find()) */
    char *const *argv; /* argv[0] first, NULL-terminated */
    char *const *envp; /* the whole environment (sk_spawn_env()) */
    int fd[3];         /* the child's 0, 1, 2: a descriptor or SK_SPAWN_* */
};

/* Look name up as execvp() would (a name with a '/' is taken as it is):
 * the first executable regular file in PATH, into buf. 0, -ENOENT,
 * -EACCES (found, not executable) or -ENAMETOOLONG. */
int sk_spawn_find(const char *name, char *buf, size_t size);

/* The environment of a connection's program: this process's, without any
 * variable the list below sets, plus (ucspi-tcp's names) PROTO=TCP,
 * TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT for an IP
 * connection, or PROTO=UNIX, UNIXLOCALPATH and, when fd is a Unix socket
 * whose peer's credentials are known, UNIXREMOTEPID, UNIXREMOTEUID,
 * UNIXREMOTEGID (ucspi-unix's names) for a Unix one. local may be NULL
 * (then taken from fd with getsockname()). One allocation: free() the
 * returned array. NULL when out of memory. */
char **sk_spawn_env(const struct sk_addr *peer, const struct sk_addr *local, int fd);

struct sk_child;

/* Start sp's program: in a process group of its own (a signal to the group
 * reaches its children too), every signal's disposition reset and none
 * blocked, SIGTERM when the starting thread ends (PR_SET_PDEATHSIG). For
 * each SK_SPAWN_PIPE, parent_fd[i] is our end (nonblocking, close-on-exec;
 * the write end for 0, the read end for 1 and 2); the others are -1.
 * The child's standard error, when a pipe, is read and logged line by line
 * as "conn ID: LINE" by this process's reaper (log_id: the connection id)
 * and parent_fd[2] stays -1. From here on the reaper (one thread per
 * process) waits for the child through its pidfd and reaps it as soon as it
 * exits, so it never lingers as a zombie. Returns 0 or a negative errno
 * (the exec's own failure too: -ENOENT, -EACCES). Any thread. */
int sk_spawn_start(const struct sk_spawn *sp, uint64_t log_id, struct sk_child **child,
                   int parent_fd[3]);

/* The child's pid (its process group's id too). */
pid_t sk_child_pid(const struct sk_child *ch);

/* Give the child up (its connection closed): when it still runs, SIGTERM
 * goes to its process group now and SIGKILL after grace_ms. The reaper
 * frees it once reaped; ch is not used again by the caller. */
void sk_spawn_release(struct sk_child *ch, int grace_ms);

/* Make the reaper watch stop_fd (the server's stop eventfd: readable once a
 * stop was requested, never read here): at the stop every child gets
 * SIGTERM and, grace_ms later, SIGKILL. Call before the first spawn. */
void sk_spawn_watch_stop(int stop_fd, int grace_ms);

/* Children of this process still running or not yet reaped. */
unsigned sk_spawn_live(void);

/* Wait until every child of this process has been reaped, terminating
 * those that were not released yet as sk_spawn_release() does; at most
 * grace_ms plus the kill. Then the reaper thread ends. Called before the
 * process exits (a server's end, a forked worker's). */
void sk_spawn_shutdown(int grace_ms);

/* Run sp's program on a connection whose process serves nothing else (a
 * fork model's child, --inetd), to its end: start it as sk_spawn_start()
 * does, close close_fd (our copy of the connection: the program holds it
 * now, so its exit closes the connection), log its standard error when
 * that is a pipe, and wait for it; when stop_fd becomes readable, SIGTERM
 * to its group, SIGKILL grace_ms later. Returns the wait status (>= 0) or a
 * negative errno when it could not be started. */
int sk_spawn_run(const struct sk_spawn *sp, uint64_t log_id, int close_fd, int stop_fd,
                 int grace_ms);

#endif
