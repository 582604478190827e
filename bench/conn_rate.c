/*
 * conn_rate.c - connections per second against an echoing server: each of
 * T threads connects, sends SIZE bytes, reads them back, shuts its side,
 * waits for the server's close, closes, and again,
 * for SECS seconds. For servers that run a program per connection (sockit
 * serve exec -- cat, ncat --exec, inetd), where the connection is the cost.
 *
 *   conn_rate HOST PORT SECS THREADS [SIZE]
 *
 * Prints "conns/s N errors E". Built by bench/exec_inetd.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in to;
static size_t size = 64;
static double stop_at;
static atomic_ulong done, errors;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(char *out, char *in)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 &&
        send(fd, out, size, MSG_NOSIGNAL) == (ssize_t)size) {
        size_t got = 0;
        while (got < size) {
            ssize_t n = recv(fd, in + got, size - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        ok = got == size && memcmp(in, out, size) == 0;
        /* A clean end, as a client would: our EOF ends the program (cat),
         * whose exit closes the connection. */
        shutdown(fd, SHUT_WR);
        char rest[64];
        while (ok && recv(fd, rest, sizeof(rest), 0) > 0)
            ok = 0; /* nothing more was due */
    }
    close(fd);
    return ok ? 0 : -1;
}

static void *worker(void *arg)
{
    (void)arg;
    char *out = malloc(size), *in = malloc(size);
    for (size_t i = 0; i < size; i++)
        out[i] = (char)('a' + i % 26);
    while (now() < stop_at) {
        if (one(out, in) == 0)
            atomic_fetch_add(&done, 1);
        else
            atomic_fetch_add(&errors, 1);
    }
    free(out);
    free(in);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: conn_rate HOST PORT SECS THREADS [SIZE]\n");
        return 2;
    }
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
        return 2;
    double secs = atof(argv[3]);
    int nt = atoi(argv[4]);
    if (argc > 5)
        size = (size_t)atol(argv[5]);
    if (nt < 1 || nt > 256 || secs <= 0 || size < 1 || size > 65536)
        return 2;
    pthread_t t[256];
    double t0 = now();
    stop_at = t0 + secs;
    for (int i = 0; i < nt; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < nt; i++)
        pthread_join(t[i], NULL);
    double el = now() - t0;
    printf("conns/s %.0f errors %lu\n", (double)atomic_load(&done) / el, atomic_load(&errors));
    return atomic_load(&done) ? 0 : 1;
}
