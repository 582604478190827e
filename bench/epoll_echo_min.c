/*
 * epoll_echo_min.c - the minimal hand-written epoll TCP echo server the
 * sockit targets are measured against: one thread, level-triggered epoll,
 * nonblocking sockets, TCP_NODELAY, a fixed 64 KiB buffer per read and
 * whatever cannot be written at once kept in a per-connection buffer.
 *
 *   epoll_echo_min [PORT]    binds 127.0.0.1 (0: any free port) and prints
 *                            "listening on 127.0.0.1:PORT"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct pend {
    char *p;
    size_t n;
}; /* unsent output, indexed by fd */

static struct pend *pend;
static int npend;

static void drop(int ep, int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(pend[fd].p);
    pend[fd].p = NULL;
    pend[fd].n = 0;
}

/* Send p[0..n) after what is pending; keep the rest and ask for EPOLLOUT. */
static int out(int ep, int fd, const char *p, size_t n)
{
    struct pend *q = &pend[fd];
    if (q->n == 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN)
            return -1;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    if (n == 0)
        return 0;
    char *np = realloc(q->p, q->n + n);
    if (!np)
        return -1;
    memcpy(np + q->n, p, n);
    q->p = np;
    q->n += n;
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd}; /* stop reading meanwhile */
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(argc > 1 ? atoi(argv[1]) : 0)};
    socklen_t al = sizeof(a);
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0);
    static char buf[65536];

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0)
        return perror("bind/listen"), 1;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    npend = 1 << 20;
    pend = calloc((size_t)npend, sizeof(*pend));
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= npend) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
            } else if (evs[i].events & EPOLLOUT) {
                struct pend *q = &pend[fd];
                ssize_t w = send(fd, q->p, q->n, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) {
                    drop(ep, fd);
                    continue;
                }
                if (w > 0) {
                    memmove(q->p, q->p + w, q->n - (size_t)w);
                    q->n -= (size_t)w;
                }
                if (q->n == 0) {
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
                }
            } else {
                ssize_t r = recv(fd, buf, sizeof(buf), 0);
                if (r == 0 || (r < 0 && errno != EAGAIN) ||
                    (r > 0 && out(ep, fd, buf, (size_t)r) < 0))
                    drop(ep, fd);
            }
        }
    }
}
