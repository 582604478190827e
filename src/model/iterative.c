/*
 * iterative.c - one client at a time, on the calling thread: the seeds'
 * first servers. Others wait in the listen backlog meanwhile.
 */
#include "internal.h"

#include "sockit/model.h"

#include <errno.h>

static int iterative_run(struct sk_server *srv)
{
    while (sk__wait_listener(srv, srv->lfd)) {
        struct sk_addr peer;
        int fd = sk__server_accept(srv, srv->lfd, &peer, 1);
        if (fd == -EAGAIN || fd == -EINTR)
            continue;
        if (fd < 0)
            return fd;
        sk__serve_blocking(srv, fd, &peer);
    }
    return 0;
}

const struct sk_model sk_model_iterative = {
    .name = "iterative",
    .summary = "one client at a time, the others wait in the backlog",
    .caps = SK_MODEL_STREAM,
    .rank = 10,
    .run = iterative_run,
};
