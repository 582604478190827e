/*
 * reactor.h - the event loop the select, poll and epoll models share.
 */
#ifndef SOCKIT_MODEL_REACTOR_H
#define SOCKIT_MODEL_REACTOR_H

#include "poller.h"

#include "sockit/server.h"

/* Serve srv with srv->workers (at least 1) event loops over the poller
 * backend ops until a stop is requested and the connections finished (or
 * the stop bound passed). Loop 0 runs on the calling thread; the others on
 * threads with signals blocked, each with its own duplicate of the listener
 * (the loop core, evloop.h, does all but the I/O).
 * Returns 0 or a negative errno (setup failed). */
int sk__reactor_run(struct sk_server *srv, const struct sk_poller_ops *ops);

#endif
