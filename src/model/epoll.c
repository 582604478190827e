/*
 * epoll.c - the epoll model: epoll(7): readiness in O(ready), not O(watched). The reactor
 * (reactor.c) does the work over the epoll backend (poller_epoll.c); --workers N runs N loops, each
 * with its own SO_REUSEPORT listener.
 */
#include "reactor.h"

#include "sockit/model.h"

static int epoll_run(struct sk_server *srv)
{
    return sk__reactor_run(srv, &sk__poller_epoll);
}

const struct sk_model sk_model_epoll = {
    .name = "epoll",
    .summary = "one epoll loop per worker (level-triggered)",
    .caps = SK_MODEL_STREAM | SK_MODEL_HUB | SK_MODEL_WORKERS | SK_MODEL_LINKS,
    .rank = 60,
    .run = epoll_run,
};
