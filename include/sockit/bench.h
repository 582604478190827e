/*
 * bench.h - the load generator (`sockit bench`), its HTTP response parser,
 * its reports, and the model comparison (`sockit bench models`).
 *
 * The load generator runs T threads, each an epoll loop over its share of C
 * nonblocking connections. Echo payloads follow a deterministic byte pattern
 * per connection, so every echoed byte is checked with a memcmp against the
 * pattern (UDP datagrams start with an 8-byte sequence number, so that a lost
 * datagram is told from a corrupted one); HTTP responses are parsed (status line, Content-Length or
 * chunked body, keep-alive). Latency goes into per-thread histograms merged at the end. Library
 * functions return 0 or a negative errno and never print to stdout; progress (when asked) goes to
 * stderr.
 */
#ifndef SOCKIT_BENCH_H
#define SOCKIT_BENCH_H

#include "sockit/addr.h"
#include "sockit/hist.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- HTTP/1.x response head parsing (pure: no I/O, no allocation) ---- */

struct sk_http_resp {
    int status;             /* 100..999 */
    int minor;              /* HTTP/1.minor */
    int64_t content_length; /* -1 when absent */
    int chunked;            /* Transfer-Encoding: chunked */
    int close;              /* the server will close after this response */
    int no_body;            /* 1xx, 204, 304: no body whatever the headers say */
};

/* Parse the head of one response at p[0..n). Returns the head's length
 * (through the blank line) when complete, 0 when more bytes are needed, or
 * -EBADMSG for a malformed head. Heads longer than SK_HTTP_HEAD_MAX give
 * -EMSGSIZE. Never reads past p + n. */
#define SK_HTTP_HEAD_MAX 65536
int sk_http_resp_parse(const char *p, size_t n, struct sk_http_resp *out);

/* Where a response head that is still arriving was left (offsets only, so
 * the buffer may move). Zero it before a head's first call;
 * sk_http_resp_parse_resume() zeroes it again when it returns non-zero.
 * Its fields are the parser's own. */
struct sk_http_resp_state {
    size_t at, scanned; /* the line being read, how far its end was searched */
    int stage;          /* 0: the status line, 1: header fields */
    int keep, close;
    struct sk_http_resp resp;
};

/* sk_http_resp_parse() resuming where the previous call on the same head
 * stopped: p[0..n) is that head with bytes appended. Each complete line is
 * read once over all calls, so a head fed a byte at a time costs linear
 * time; the result equals one sk_http_resp_parse() over the same bytes.
 * *out is written only when the head is complete. */
int sk_http_resp_parse_resume(const char *p, size_t n, struct sk_http_resp *out,
                              struct sk_http_resp_state *st);

/* Incremental chunked-body skipper: feed bytes, it says how many it took and
 * whether the body (with its trailers) ended. Zero it to start. */
struct sk_http_chunked {
    int state;
    uint64_t left; /* bytes of chunk data still to skip */
    unsigned digits;
};
/* Consume body bytes from p[0..n). Returns bytes consumed (<= n) and sets
 * *done when the last chunk and the trailers are through; -EBADMSG when the
 * framing is malformed. */
long sk_http_chunked_feed(struct sk_http_chunked *c, const char *p, size_t n, int *done);

/* ---- load generator ---- */

enum sk_bench_kind { SK_BENCH_ECHO, SK_BENCH_UDP_ECHO, SK_BENCH_HTTP };

enum sk_bench_err {
    SK_BERR_CONNECT,  /* connect() failed or was refused */
    SK_BERR_READ,     /* read/write error, or closed while requests were in flight */
    SK_BERR_TIMEOUT,  /* no reply within --timeout */
    SK_BERR_STATUS,   /* HTTP status outside 2xx/3xx */
    SK_BERR_MISMATCH, /* echoed bytes differ from those sent (or malformed HTTP) */
    SK_BERR_N,
};

/* The names used in reports and JSON ("connect", "read", ...). */
extern const char *const sk_bench_err_names[SK_BERR_N];

struct sk_bench_cfg {
    enum sk_bench_kind kind;
    struct sk_addr addr; /* where to connect (TCP, UDP or Unix) */
    unsigned conns;      /* connections (UDP: sockets) */
    unsigned threads;    /* capped at conns */
    size_t msg_size;     /* echo message size */
    int64_t duration_ms; /* run this long (0: until count) */
    uint64_t count;      /* stop after this many replies (0: until duration) */
    unsigned pipeline;   /* requests in flight per connection (>= 1) */
    double rate;         /* total requests/s, open loop (0: closed loop) */
    int timeout_ms;      /* a request unanswered this long is a timeout error */
    /* HTTP: the request line's target and the Host header. */
    const char *http_host;
    const char *http_path;
    int progress;      /* a progress line on stderr once a second */
    const char *label; /* what is loaded, for reports */
};

/* Defaults: 10 connections, 1 thread, 64 B messages, 10 s, pipeline 1. */
void sk_bench_cfg_init(struct sk_bench_cfg *cfg);

struct sk_bench_result {
    uint64_t requests; /* replies received (including status/mismatch errors) */
    uint64_t bytes_in, bytes_out;
    uint64_t connects; /* connections established */
    uint64_t starved;  /* connections that waited for a reply all run long */
    uint64_t errors[SK_BERR_N];
    double elapsed_s;
    struct sk_hist hist; /* latency */
};

/* Run the load; fills res. Returns 0, or a negative errno when the load
 * could not run at all (no memory, no epoll, no thread); connection-level
 * failures are counted in res->errors, not returned. Blocks until done.
 * sk_bench_interrupt() (async-signal-safe) ends a run early. */
int sk_bench_run(const struct sk_bench_cfg *cfg, struct sk_bench_result *res);
void sk_bench_interrupt(void);

/* True once sk_bench_interrupt() was called (it stays so for the process). */
int sk_bench_interrupted(void);

/* Raise RLIMIT_NOFILE so that at least need descriptors are available.
 * Returns 0 or -EMFILE when the hard limit is too low. */
int sk_bench_raise_nofile(uint64_t need);

uint64_t sk_bench_errors_total(const struct sk_bench_result *res);

/* ---- reports ---- */

/* The human summary (a small table) and the JSON object of one run. */
void sk_bench_report_text(FILE *f, const struct sk_bench_cfg *cfg,
                          const struct sk_bench_result *res);
void sk_bench_report_json(FILE *f, const struct sk_bench_cfg *cfg,
                          const struct sk_bench_result *res);

/* Format a duration in ns as "123us", "1.23ms", "2.50s" into buf. */
const char *sk_bench_fmt_ns(int64_t ns, char *buf, size_t len);

/* ---- model comparison ---- */

/* One measured point: one model at one connection count. */
struct sk_bench_point {
    const char *model;
    unsigned conns;
    int ok;         /* the server started and the load ran */
    char note[128]; /* why not, when !ok */
    double rps;
    int64_t p50_ns, p99_ns;
    double cpu_us_per_req; /* server user+system CPU per reply */
    long peak_rss_kb;
    uint64_t requests, errors;
    uint64_t starved; /* connections that never got a reply */
};

struct sk_bench_models_cfg {
    const char *exe;           /* the sockit binary to start as the server */
    const char *service;       /* "echo" or "http" */
    const char *const *models; /* NULL-terminated */
    const unsigned *conns;     /* connection counts to sweep */
    size_t nconns;
    struct sk_bench_cfg load;       /* everything but addr and conns */
    const char *const *server_args; /* extra arguments for every `sockit serve` */
    unsigned nserver_args;
    int progress; /* one line per point on stderr */
};

/* Run every model at every connection count; points[m * nconns + c]. The
 * caller provides nmodels * nconns points. Returns 0 or a negative errno
 * (only for failures of the harness itself; a model that fails to start is a
 * point with ok = 0). */
int sk_bench_models_run(const struct sk_bench_models_cfg *cfg, struct sk_bench_point *points);

/* The comparison table (text) and JSON. */
void sk_bench_models_table(FILE *f, const struct sk_bench_models_cfg *cfg,
                           const struct sk_bench_point *points, size_t nmodels);
void sk_bench_models_json(FILE *f, const struct sk_bench_models_cfg *cfg,
                          const struct sk_bench_point *points, size_t nmodels);

/* The chart: two panels (requests/s and p99 against connections, log x),
 * one line per model. Returns 0 or a negative errno. */
int sk_bench_chart_svg(FILE *f, const char *title, const struct sk_bench_models_cfg *cfg,
                       const struct sk_bench_point *points, size_t nmodels);

#endif
