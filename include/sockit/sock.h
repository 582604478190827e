/*
 * sock.h - socket creation and options.
 *
 * Every function returns a file descriptor or 0 on success and a negative
 * errno on failure; none prints. Sockets are created close-on-exec.
 */
#ifndef SOCKIT_SOCK_H
#define SOCKIT_SOCK_H

#include "sockit/addr.h"

enum {
    SK_SOCK_NONBLOCK = 1u << 0,  /* O_NONBLOCK on the new socket */
    SK_SOCK_REUSEPORT = 1u << 1, /* SO_REUSEPORT before bind */
    SK_SOCK_V6ONLY = 1u << 2,    /* IPV6_V6ONLY on an IPv6 listener */
    SK_SOCK_NODELAY = 1u << 3,   /* TCP_NODELAY (stream sockets) */
};

/* A bound socket of type SOCK_STREAM (listening, with backlog) or
 * SOCK_DGRAM. SO_REUSEADDR is always set on stream listeners. A Unix socket
 * path that exists and is a stale socket (nobody accepts on it) is removed
 * first; any other existing file is left alone (-EADDRINUSE). */
int sk_sock_listen(const struct sk_addr *a, int type, int backlog, unsigned flags);

/* A connected socket. timeout_ms < 0 waits as long as the kernel does. */
int sk_sock_connect(const struct sk_addr *a, int type, int timeout_ms, unsigned flags);

/* The same from the local address src (bound first, SO_REUSEADDR); NULL: the
 * kernel picks. */
int sk_sock_connect_from(const struct sk_addr *a, const struct sk_addr *src, int type,
                         int timeout_ms, unsigned flags);

int sk_sock_set_nonblock(int fd, int on);
int sk_sock_set_nodelay(int fd, int on);

/* The local or peer address of a socket. */
int sk_sock_local(int fd, struct sk_addr *out);
int sk_sock_peer(int fd, struct sk_addr *out);

/* Write all n bytes to a blocking descriptor, retrying EINTR and short
 * writes; uses send(MSG_NOSIGNAL) on sockets so a reset peer gives -EPIPE
 * rather than SIGPIPE. Returns 0 or a negative errno. */
int sk_write_all(int fd, const void *p, size_t n);

/* read()/recv() retrying EINTR. Returns bytes, 0 at EOF, or -errno. */
ssize_t sk_read(int fd, void *p, size_t n);

/* send(MSG_NOSIGNAL) retrying EINTR. Returns bytes or -errno. */
ssize_t sk_send(int fd, const void *p, size_t n);

#endif
