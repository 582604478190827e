/*
 * poll.c - the poll model: poll(2) instead of select(2): no FD_SETSIZE limit. The reactor
 * (reactor.c) does the work over the poll backend (poller_poll.c); --workers N runs N loops, each
 * with its own SO_REUSEPORT listener.
 */
#include "reactor.h"

#include "sockit/model.h"

static int poll_run(struct sk_server *srv)
{
    return sk__reactor_run(srv, &sk__poller_poll);
}

const struct sk_model sk_model_poll = {
    .name = "poll",
    .summary = "one poll() loop per worker",
    .caps = SK_MODEL_STREAM | SK_MODEL_HUB | SK_MODEL_WORKERS | SK_MODEL_LINKS,
    .rank = 40,
    .run = poll_run,
};
