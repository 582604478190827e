/*
 * parse_trickle.c - CPU time of the HTTP head parsers when a 32 KiB head
 * arrives one byte at a time: the request parser of the http service and the
 * response parser of the load generator are called after every byte, as a
 * server or the load generator would call them on a slow peer.
 *
 *   make build/parse_trickle && build/parse_trickle
 *
 * Built with -DBEFORE it uses the whole-head calls sk_http_parse() and
 * sk_http_resp_parse() only (the API before the parsers resumed), so the
 * same file measures an older tree: see docs/BENCHMARKS.md.
 */
#include "sockit/bench.h"
#include "sockit/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEAD 32768

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* first line, then fields of about `field` bytes up to HEAD bytes in all,
 * then a last field and the empty line. */
static size_t make_head(char *p, const char *first, size_t field)
{
    size_t n = (size_t)sprintf(p, "%s\r\nHost: bench\r\n", first);
    const char *last = "Content-Length: 0\r\n\r\n";
    for (int i = 0; n + field + strlen(last) <= HEAD; i++) {
        int k = sprintf(p + n, "X-Fill-%d: ", i);
        size_t v = field - (size_t)k - 2;
        memset(p + n + (size_t)k, 'a', v);
        memcpy(p + n + (size_t)k + v, "\r\n", 2);
        n += field;
    }
    memcpy(p + n, last, strlen(last));
    return n + strlen(last);
}

static double trickle_req(const char *p, size_t n)
{
    struct sk_http_limits lim = {.max_line = 8192, .max_head = 65536, .max_headers = 1000};
    struct sk_http_req r;
    ssize_t rc = 0;
    double t0 = cpu_s();
#ifndef BEFORE
    struct sk_http_parse_state st = {0};
#endif
    for (size_t i = 1; i <= n; i++) {
#ifdef BEFORE
        rc = sk_http_parse(p, i, &lim, &r);
#else
        rc = sk_http_parse_resume(p, i, &lim, &r, &st);
#endif
        if (rc != 0 && i != n) {
            fprintf(stderr, "request: %zd at byte %zu of %zu\n", rc, i, n);
            exit(1);
        }
    }
    double t = cpu_s() - t0;
    if (rc != (ssize_t)n) {
        fprintf(stderr, "request: %zd, want %zu\n", rc, n);
        exit(1);
    }
    return t;
}

static double trickle_resp(const char *p, size_t n)
{
    struct sk_http_resp r;
    int rc = 0;
    double t0 = cpu_s();
#ifndef BEFORE
    struct sk_http_resp_state st = {0};
#endif
    for (size_t i = 1; i <= n; i++) {
#ifdef BEFORE
        rc = sk_http_resp_parse(p, i, &r);
#else
        rc = sk_http_resp_parse_resume(p, i, &r, &st);
#endif
        if (rc != 0 && i != n) {
            fprintf(stderr, "response: %d at byte %zu of %zu\n", rc, i, n);
            exit(1);
        }
    }
    double t = cpu_s() - t0;
    if (rc != (int)n) {
        fprintf(stderr, "response: %d, want %zu\n", rc, n);
        exit(1);
    }
    return t;
}

int main(void)
{
    static char req[HEAD + 64], resp[HEAD + 64];
    static const size_t fields[] = {64, 8000};
    printf("%-9s %-16s %8s %12s\n", "parser", "head", "bytes", "cpu_ms");
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char shape[32];
        snprintf(shape, sizeof(shape), "%zu-byte fields", fields[i]);
        size_t n = make_head(req, "GET /trickle HTTP/1.1", fields[i]);
        printf("%-9s %-16s %8zu %12.1f\n", "request", shape, n, 1e3 * trickle_req(req, n));
        n = make_head(resp, "HTTP/1.1 200 OK", fields[i]);
        printf("%-9s %-16s %8zu %12.1f\n", "response", shape, n, 1e3 * trickle_resp(resp, n));
    }
    return 0;
}
