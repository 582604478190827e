/*
 * http_log.c - the access log's buffering (see http_internal.h).
 *
 * Each thread gathers lines in its own buffer of PIPE_BUF bytes and writes
 * it with one write(): no lock on the request path, no system call per
 * request, and whole lines even when several threads or processes share a
 * pipe. A buffer is written when the next line would not fit, when its
 * oldest line is a second old (checked as lines arrive), when a connection
 * closes, when its thread exits, and at stop.
 */
#include "http_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tlog {
    int fd;
    size_t len;
    time_t first; /* when the oldest buffered line was added */
    char buf[PIPE_BUF];
};

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Thread_local struct tlog *tl;

static void write_out(struct tlog *t)
{
    size_t off = 0;
    while (off < t->len && t->fd >= 0) {
        ssize_t w = write(t->fd, t->buf + off, t->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* a log that cannot be written loses lines, not requests */
        off += (size_t)w;
    }
    t->len = 0;
}

static void at_thread_exit(void *p)
{
    struct tlog *t = p;
    write_out(t);
    free(t);
    tl = NULL;
}

static void make_key(void)
{
    pthread_key_create(&key, at_thread_exit);
}

static struct tlog *thread_buf(void)
{
    if (!tl) {
        pthread_once(&key_once, make_key);
        tl = calloc(1, sizeof(*tl));
        if (!tl)
            return NULL;
        tl->fd = -1;
        pthread_setspecific(key, tl);
    }
    return tl;
}

int sk__http_log_open(struct sk__http_log *l, const char *path)
{
    if (!path) {
        l->fd = STDOUT_FILENO;
        l->owned = 0;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return -errno;
    l->fd = fd;
    l->owned = 1;
    return 0;
}

void sk__http_log_line(struct sk__http_log *l, const char *line, size_t n, time_t now)
{
    struct tlog *t = thread_buf();
    if (!t || l->fd < 0)
        return;
    if (n > sizeof(t->buf) - 1)
        n = sizeof(t->buf) - 1;
    if (t->fd != l->fd || t->len + n + 1 > sizeof(t->buf))
        write_out(t);
    if (t->len == 0)
        t->first = now;
    t->fd = l->fd;
    memcpy(t->buf + t->len, line, n);
    t->buf[t->len + n] = '\n';
    t->len += n + 1;
    if (now - t->first >= 1)
        write_out(t);
}

void sk__http_log_flush(struct sk__http_log *l)
{
    (void)l;
    if (tl && tl->len)
        write_out(tl);
}

void sk__http_log_close(struct sk__http_log *l)
{
    sk__http_log_flush(l);
    if (tl) { /* the calling thread (the main one) is done with its buffer */
        pthread_setspecific(key, NULL);
        free(tl);
        tl = NULL;
    }
    if (l->owned && l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->owned = 0;
}
