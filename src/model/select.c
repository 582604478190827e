/*
 * select.c - the select model: the seeds' select server, generalised. The reactor (reactor.c)
 * does the work over the select backend (poller_select.c); --workers N runs N loops,
 * each with its own SO_REUSEPORT listener.
 */
#include "reactor.h"

#include "sockit/model.h"

static int select_run(struct sk_server *srv)
{
    return sk__reactor_run(srv, &sk__poller_select);
}

const struct sk_model sk_model_select = {
    .name = "select",
    .summary = "one select() loop per worker; descriptors >= FD_SETSIZE are refused",
    .caps = SK_MODEL_STREAM | SK_MODEL_HUB | SK_MODEL_WORKERS | SK_MODEL_LINKS,
    .rank = 30,
    .run = select_run,
};
