/*
 * udp_batch.c - `--model batch` for datagrams (the UDP default): up to
 * BATCH datagrams taken with one recvmmsg() and their replies sent with one
 * sendmmsg().
 */
#include "udp.h"

#include "sockit/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 64 /* receive calls between two looks at the stop signal */

#define BATCH 32

struct batch {
    char *in, *out; /* BATCH buffers each */
    struct sk_addr from[BATCH];
    struct iovec riov[BATCH], siov[BATCH];
    struct mmsghdr rmsg[BATCH], smsg[BATCH];
    size_t to[BATCH]; /* smsg[k] answers rmsg[to[k]] */
};

/* Send replies [0, k); a failing one is logged and skipped. */
static void send_all(struct sk_server *srv, int fd, struct batch *b, unsigned k)
{
    unsigned done = 0;
    while (done < k) {
        int n = sendmmsg(fd, b->smsg + done, k - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            sk__udp_send_failed(srv, &b->from[b->to[done]], -errno);
            done++;
            continue;
        }
        for (int i = 0; i < n; i++)
            sk__udp_sent(srv, b->smsg[done + (unsigned)i].msg_len);
        done += (unsigned)n;
    }
}

static int batch_loop(struct sk_server *srv, int fd, int first)
{
    size_t bufsize = sk__udp_bufsize(srv);
    struct batch *b = calloc(1, sizeof(*b));
    int r = 0;

    if (!b)
        return -ENOMEM;
    b->in = malloc(bufsize * BATCH);
    b->out = malloc((size_t)SK_UDP_MAX * BATCH);
    if (!b->in || !b->out) {
        r = -ENOMEM;
        goto out;
    }
    while (sk__udp_wait(srv, fd, first)) {
        /* Drain what is waiting, but look at the stop signal now and then. */
        for (int round = 0; round < ROUNDS; round++) {
            for (unsigned i = 0; i < BATCH; i++) {
                b->riov[i] = (struct iovec){.iov_base = b->in + i * bufsize, .iov_len = bufsize};
                memset(&b->rmsg[i], 0, sizeof(b->rmsg[i]));
                b->rmsg[i].msg_hdr.msg_name = &b->from[i].u.sa;
                b->rmsg[i].msg_hdr.msg_namelen = sizeof(b->from[i].u);
                b->rmsg[i].msg_hdr.msg_iov = &b->riov[i];
                b->rmsg[i].msg_hdr.msg_iovlen = 1;
            }
            /* MSG_TRUNC: msg_len is each datagram's real length. */
            int n = recvmmsg(fd, b->rmsg, BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
                    continue;
                r = -errno;
                goto out;
            }
            unsigned k = 0;
            for (unsigned i = 0; i < (unsigned)n; i++) {
                struct msghdr *mh = &b->rmsg[i].msg_hdr;
                size_t len = b->rmsg[i].msg_len;
                b->from[i].len = mh->msg_namelen;
                char *o = b->out + (size_t)k * SK_UDP_MAX;
                ssize_t rn = sk__udp_handle(srv, fd, &b->from[i], b->in + i * bufsize,
                                            len < bufsize ? len : bufsize, len,
                                            (mh->msg_flags & MSG_TRUNC) != 0, o, SK_UDP_MAX);
                if (rn < 0)
                    continue;
                b->siov[k] = (struct iovec){.iov_base = o, .iov_len = (size_t)rn};
                memset(&b->smsg[k], 0, sizeof(b->smsg[k]));
                b->smsg[k].msg_hdr.msg_name = &b->from[i].u.sa;
                b->smsg[k].msg_hdr.msg_namelen = b->from[i].len;
                b->smsg[k].msg_hdr.msg_iov = &b->siov[k];
                b->smsg[k].msg_hdr.msg_iovlen = 1;
                b->to[k] = i;
                k++;
            }
            send_all(srv, fd, b, k);
            if (n < BATCH)
                break; /* drained: back to waiting */
        }
    }
out:
    free(b->in);
    free(b->out);
    free(b);
    return r;
}

static int batch_run(struct sk_server *srv)
{
    return sk__udp_run(srv, batch_loop);
}

const struct sk_model sk_model_udp_batch = {
    .name = "batch",
    .summary = "recvmmsg/sendmmsg: up to 32 datagrams per system call",
    .caps = SK_MODEL_DGRAM | SK_MODEL_WORKERS,
    .rank = 30,
    .run = batch_run,
};
