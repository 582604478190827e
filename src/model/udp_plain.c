/*
 * udp_plain.c - `--model plain` for datagrams: the seeds' UDP echo server
 * loop, one recvmsg() and one sendto() per datagram.
 */
#include "udp.h"

#include "sockit/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 64 /* receive calls between two looks at the stop signal */

static int plain_loop(struct sk_server *srv, int fd, int first)
{
    size_t bufsize = sk__udp_bufsize(srv);
    char *in = malloc(bufsize), *out = malloc(SK_UDP_MAX);
    int r = 0;

    if (!in || !out) {
        r = -ENOMEM;
        goto out;
    }
    while (sk__udp_wait(srv, fd, first)) {
        /* Drain what is waiting, but look at the stop signal now and then. */
        for (int round = 0; round < ROUNDS; round++) {
            struct sk_addr from;
            memset(&from, 0, sizeof(from));
            struct iovec iov = {.iov_base = in, .iov_len = bufsize};
            struct msghdr mh = {
                .msg_name = &from.u.sa,
                .msg_namelen = sizeof(from.u),
                .msg_iov = &iov,
                .msg_iovlen = 1,
            };
            /* MSG_TRUNC: the return value is the datagram's real length. */
            ssize_t got = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
            if (got < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
                    continue; /* an ICMP error for an earlier reply: not ours to stop on */
                r = -errno;
                goto out;
            }
            from.len = mh.msg_namelen;
            size_t n = (size_t)got < bufsize ? (size_t)got : bufsize;
            ssize_t rn = sk__udp_handle(srv, fd, &from, in, n, (size_t)got,
                                        (mh.msg_flags & MSG_TRUNC) != 0, out, SK_UDP_MAX);
            if (rn < 0)
                continue;
            ssize_t w;
            do {
                w = sendto(fd, out, (size_t)rn, 0, &from.u.sa, from.len);
            } while (w < 0 && errno == EINTR);
            if (w < 0)
                sk__udp_send_failed(srv, &from, -errno);
            else
                sk__udp_sent(srv, (size_t)w);
        }
    }
out:
    free(in);
    free(out);
    return r;
}

static int plain_run(struct sk_server *srv)
{
    return sk__udp_run(srv, plain_loop);
}

const struct sk_model sk_model_udp_plain = {
    .name = "plain",
    .summary = "recvfrom/sendto loop, one datagram per system call",
    .caps = SK_MODEL_DGRAM | SK_MODEL_WORKERS,
    .rank = 10,
    .run = plain_run,
};
