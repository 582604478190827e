/*
 * internal.h - pieces the model files share (not part of the public API).
 */
#ifndef SOCKIT_MODEL_INTERNAL_H
#define SOCKIT_MODEL_INTERNAL_H

#include "sockit/server.h"

#include <signal.h>

/* Serve one accepted connection to the end on the calling thread: poll,
 * read, feed the service, write, with idle timeout, service deadlines,
 * backpressure and the stop bound. Closes fd. Returns 0 or the error that
 * ended the connection. Hub services are carried when several threads run
 * this at once: every callback and every look at the connection's out/flags
 * happens under srv->hub_lock (sends are non-blocking, so the lock is never
 * held across a wait), and c->ops->wake writes to an eventfd this thread
 * polls, so output queued by another connection's callback goes out at
 * once. */
int sk__serve_blocking(struct sk_server *srv, int fd, const struct sk_addr *peer);

/* Wait until lfd is readable (returns 1) or a stop was requested, or a line
 * arrived on a terminal stdin when srv->stdin_stop (returns 0). */
int sk__wait_listener(struct sk_server *srv, int lfd);

enum { SK_WAIT_STDIN = 1u << 0 }; /* also watch a terminal stdin (srv->stdin_stop) */

/* The same for models with several waiters or children: stdin is watched
 * only with SK_WAIT_STDIN (one waiter must own it), and with a mask the wait
 * is a ppoll() under that signal mask that returns -EINTR when a signal
 * arrived or a second passed quietly (a fork model reaps and restarts its
 * children then). lfd < 0 waits for the stop alone. */
int sk__wait_listener_ex(struct sk_server *srv, int lfd, unsigned flags, const sigset_t *mask);

/* The poll timeout (ms, -1 = none) until the nearest of a connection's
 * idle deadline, service deadline and stop deadline (0 = none). */
int sk__conn_timeout_ms(const struct sk_conn *c, int64_t now, int64_t stop_at);

/* Act on expired deadlines at time now: the service's timeout callback,
 * or -ETIMEDOUT when the connection must close (idle, or stop bound). */
int sk__conn_expire(struct sk_conn *c, int64_t now, int64_t stop_at);

/* The peer finished sending (EOF seen at time now): a pending service
 * deadline becomes due at once, since no more input can complete what the
 * service waits for (echo --lines echoes a bare message now, http answers a
 * head cut short with 408 now). Every model calls it where it sees EOF; its
 * usual deadline path then runs the service's timeout(). */
void sk__conn_eof(struct sk_conn *c, int64_t now);

/* Shared by the models with several workers or children (workers.c). */

/* srv->workers, or per_cpu times the online CPUs (at most 1024), or
 * fallback when the CPUs cannot be counted. */
unsigned sk__workers(const struct sk_server *srv, unsigned per_cpu, unsigned fallback);

/* Catch SIGCHLD with handler (SA_NOCLDSTOP) and block it; the previous
 * action and mask go to old_sa/old_mask, and *wait_mask is old_mask with
 * SIGCHLD open, for sk__wait_listener_ex(). sk__sigchld_restore() undoes it. */
void sk__sigchld_catch(void (*handler)(int), struct sigaction *old_sa, sigset_t *old_mask,
                       sigset_t *wait_mask);
void sk__sigchld_restore(const struct sigaction *old_sa, const sigset_t *old_mask);

/* In a forked worker or connection process: be killed when the process that
 * called sk__sigchld_catch() ends (a second SIGINT ends it at once), so no
 * worker outlives its server. */
void sk__die_with_parent(void);

/* A worker sharing the listener: wait for it (not stdin) and accept,
 * skipping connections another worker took or that were shed. Returns the
 * descriptor (peer filled), -ECANCELED once the wait ends (the stop), or
 * the accept error. */
int sk__worker_accept(struct sk_server *srv, struct sk_addr *peer);

/* Accept up to burst connections from srv->lfd (non-blocking) and hand each
 * to take(ctx, fd, peer), which owns fd. Returns 0, or the accept error after
 * stopping the server (the listener is broken). */
int sk__accept_burst(struct sk_server *srv, int burst,
                     void (*take)(void *ctx, int fd, const struct sk_addr *peer), void *ctx);

#endif
