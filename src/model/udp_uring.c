/*
 * udp_uring.c - `--model uring` for datagrams: SLOTS receive operations
 * kept in flight on an io_uring; each completion's reply is sent with a
 * sendmsg operation from the same slot, and the slot then receives again.
 * Where the kernel (or a seccomp filter, or kernel.io_uring_disabled)
 * refuses io_uring, available() says so and the model is not used: it
 * never falls back to another one.
 */
#include "udp.h"

#include "sockit/model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef SK_HAVE_URING
#include "sockit/util.h"

#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define SLOTS 32
#define TAG_STOP ((uint64_t)1 << 40)
#define TAG_STDIN ((uint64_t)2 << 40)
#define TAG_FLOWS ((uint64_t)3 << 40) /* the relay's upstream sockets (udp_relay.c) are ready */
#define TAG_SEND ((uint64_t)1 << 32)

struct slot {
    struct sk_addr from;
    struct iovec iov, siov;
    struct msghdr rmsg, smsg;
    char *in, *out;
};

static int arm_recv(struct io_uring *ring, int fd, struct slot *s, size_t bufsize, unsigned i)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe)
        return -EBUSY;
    memset(&s->from, 0, sizeof(s->from));
    s->iov = (struct iovec){.iov_base = s->in, .iov_len = bufsize};
    memset(&s->rmsg, 0, sizeof(s->rmsg));
    s->rmsg.msg_name = &s->from.u.sa;
    s->rmsg.msg_namelen = sizeof(s->from.u);
    s->rmsg.msg_iov = &s->iov;
    s->rmsg.msg_iovlen = 1;
    /* MSG_TRUNC: the result is the datagram's real length. */
    io_uring_prep_recvmsg(sqe, fd, &s->rmsg, MSG_TRUNC);
    io_uring_sqe_set_data64(sqe, i);
    return 0;
}

static int arm_poll(struct io_uring *ring, int fd, uint64_t tag)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag);
    return 0;
}

/* Act on one completion. Returns 0, 1 when the loop must stop, or a
 * negative errno. */
static int completion(struct sk_server *srv, struct io_uring *ring, int fd, struct slot *slots,
                      size_t bufsize, uint64_t tag, int res)
{
    if (tag == TAG_STOP)
        return 1;
    if (tag == TAG_FLOWS) {
        sk__udp_flows_run(srv);
        return arm_poll(ring, sk__udp_flows_fd(srv->udp_flows), TAG_FLOWS);
    }
    if (tag == TAG_STDIN) {
        /* As in uring.c: a failed poll (EINVAL around a job-control switch)
         * is armed again, unless it keeps failing. One loop watches. */
        static unsigned failed_polls;
        if (res > 0 && sk__server_terminal_line(srv))
            return 1;
        failed_polls = res < 0 ? failed_polls + 1 : 0;
        return failed_polls < 100 ? arm_poll(ring, STDIN_FILENO, TAG_STDIN) : 0;
    }
    unsigned i = (unsigned)(tag & 0xffffffffu);
    struct slot *s = &slots[i];
    if (tag & TAG_SEND) {
        if (res < 0)
            sk__udp_send_failed(srv, &s->from, res);
        else
            sk__udp_sent(srv, (size_t)res);
        return arm_recv(ring, fd, s, bufsize, i);
    }
    if (res < 0) {
        if (res != -EINTR && res != -EAGAIN && res != -ECONNREFUSED && res != -EHOSTUNREACH &&
            res != -ENETUNREACH)
            return res;
        return arm_recv(ring, fd, s, bufsize, i);
    }
    s->from.len = s->rmsg.msg_namelen;
    size_t len = (size_t)res;
    ssize_t rn = sk__udp_handle(srv, fd, &s->from, s->in, len < bufsize ? len : bufsize, len,
                                (s->rmsg.msg_flags & MSG_TRUNC) != 0, s->out, SK_UDP_MAX);
    if (rn < 0)
        return arm_recv(ring, fd, s, bufsize, i);
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe)
        return -EBUSY;
    s->siov = (struct iovec){.iov_base = s->out, .iov_len = (size_t)rn};
    memset(&s->smsg, 0, sizeof(s->smsg));
    s->smsg.msg_name = &s->from.u.sa;
    s->smsg.msg_namelen = s->from.len;
    s->smsg.msg_iov = &s->siov;
    s->smsg.msg_iovlen = 1;
    io_uring_prep_sendmsg(sqe, fd, &s->smsg, 0);
    io_uring_sqe_set_data64(sqe, TAG_SEND | i);
    return 0;
}

static int uring_loop(struct sk_server *srv, int fd, int first)
{
    size_t bufsize = sk__udp_bufsize(srv);
    struct io_uring ring;
    struct slot *slots = calloc(SLOTS, sizeof(*slots));
    char *mem = malloc(((size_t)SK_UDP_MAX + bufsize) * SLOTS);
    int r;

    if (!slots || !mem) {
        free(slots);
        free(mem);
        return -ENOMEM;
    }
    /* Room for every slot's one operation plus the three polls. */
    if ((r = io_uring_queue_init(SLOTS * 2 + 4, &ring, 0)) < 0) {
        free(slots);
        free(mem);
        return r;
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        slots[i].in = mem + i * ((size_t)SK_UDP_MAX + bufsize);
        slots[i].out = slots[i].in + bufsize;
        if ((r = arm_recv(&ring, fd, &slots[i], bufsize, i)) < 0)
            goto out;
    }
    if ((r = arm_poll(&ring, srv->stop_fd, TAG_STOP)) < 0)
        goto out;
    if (first && srv->stdin_stop && (r = arm_poll(&ring, STDIN_FILENO, TAG_STDIN)) < 0)
        goto out;
    if (srv->udp_flows && (r = arm_poll(&ring, sk__udp_flows_fd(srv->udp_flows), TAG_FLOWS)) < 0)
        goto out;
    r = 0;
    while (r == 0) { /* a stop arrives as the TAG_STOP completion */
        int due = srv->udp_flows ? sk__udp_flows_due_ms(srv->udp_flows) : -1;
        int w;
        if (due >= 0) {
            /* A relay's flow may expire: wait no longer than that. */
            struct __kernel_timespec ts = {.tv_sec = due / 1000,
                                           .tv_nsec = (long long)(due % 1000) * 1000000};
            struct io_uring_cqe *first_cqe;
            w = io_uring_submit_and_wait_timeout(&ring, &first_cqe, 1, &ts, NULL);
            if (w == -ETIME) {
                sk__udp_flows_run(srv);
                continue;
            }
        } else {
            w = io_uring_submit_and_wait(&ring, 1);
        }
        if (w == -EINTR)
            continue;
        if (w < 0) {
            r = w;
            break;
        }
        /* Take every completion ready, then submit what they queued at once. */
        struct io_uring_cqe *cqe;
        while (r == 0 && io_uring_peek_cqe(&ring, &cqe) == 0) {
            uint64_t tag = io_uring_cqe_get_data64(cqe);
            int res = cqe->res;
            io_uring_cqe_seen(&ring, cqe);
            r = completion(srv, &ring, fd, slots, bufsize, tag, res);
        }
    }
    if (r > 0)
        r = 0;
out:
    /* Tearing the ring down cancels what is in flight before the buffers go. */
    io_uring_queue_exit(&ring);
    free(slots);
    free(mem);
    return r;
}

static int uring_run(struct sk_server *srv)
{
    return sk__udp_run(srv, uring_loop);
}

static int uring_available(char *why, size_t len)
{
    static const int ops[] = {IORING_OP_RECVMSG, IORING_OP_SENDMSG, IORING_OP_POLL_ADD};
    return sk__uring_probe(ops, sizeof(ops) / sizeof(ops[0]), 0, "recvmsg/sendmsg/poll operations",
                           why, len);
}
#else
static int uring_available(char *why, size_t len)
{
    snprintf(why, len, "sockit was built without liburing (install liburing-dev and rebuild)");
    return -ENOSYS;
}

static int uring_run(struct sk_server *srv)
{
    (void)srv;
    return -ENOSYS;
}
#endif

const struct sk_model sk_model_udp_uring = {
    .name = "uring",
    .summary = "io_uring: 32 receives in flight, replies sent from the completions",
    .caps = SK_MODEL_DGRAM | SK_MODEL_WORKERS,
    .rank = 20,
    .available = uring_available,
    .run = uring_run,
};
