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
 * functions return 0 or a negative errno and never print to stdout; the load generator reports
 * progress through a callback (the command prints it); `bench models` still writes one line per
 * point to stderr when asked.
 */
#ifndef SOCKIT_BENCH_H
#define SOCKIT_BENCH_H

#include "sockit/addr.h"
#include "sockit/hist.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sk_tls_ctx; /* tls.h */

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
    SK_BERR_TLS,      /* the TLS handshake failed (verification, protocol, its timeout) */
    SK_BERR_N,
};

/* The names used in reports and JSON ("connect", "read", ...). */
extern const char *const sk_bench_err_names[SK_BERR_N];

/* Where a run stands, for the progress callback. */
struct sk_bench_progress {
    double elapsed_s;
    uint64_t replies, errors;
    int done; /* the run ended: the last call, made only after at least one other */
};

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
    /* HTTP requests beyond the default GET (all optional; see sk_bench_http_head). */
    const char *http_method;         /* NULL: GET, or POST when there is a body */
    const char *const *http_headers; /* "Name: value" lines, replacing a default of that name */
    unsigned http_nheaders;
    const char *http_body; /* sent with a Content-Length; NULL: none */
    size_t http_body_len;
    const char *const *http_paths; /* request targets used in turn; NULL: http_path */
    unsigned http_npaths;
    int http_close; /* a new connection per request (Connection: close) */
    /* Called about once a second while the run goes on, from the thread that
     * called sk_bench_run(), then once with done set; NULL: no progress. */
    void (*progress)(const struct sk_bench_progress *p, void *arg);
    void *progress_arg;
    const char *label; /* what is loaded, for reports */
    /* One JSON object per line, once a second while running (NULL: none). */
    FILE *json_stream;
    /* Local addresses to connect from, connection i from sources[i % n]
     * (bound with IP_BIND_ADDRESS_NO_PORT, so each address has its own
     * ephemeral ports toward the target). None given and more than
     * SK_BENCH_PORTS_PER_SOURCE connections to an IPv4 loopback target:
     * 127.0.0.1, 127.0.0.2, ... as many as needed. */
    const struct sk_addr *sources;
    unsigned nsources;
    int64_t ramp_ms; /* open the connections evenly over this long, then run duration_ms;
                      * replies during the ramp are not counted (a warm-up) */
    /* TLS over the stream (tls.h): each connection, once connected, runs a
     * nonblocking handshake with this client context before its first
     * request; tls_name is the name verified and sent as SNI (tls_sni, when
     * set, replaces it). No session is offered again: every connection (with
     * http_close, every request) is a full handshake. NULL: plain. */
    struct sk_tls_ctx *tls;
    const char *tls_name, *tls_sni;
    /* Optional (stream connections only): run on each new connection to
     * addr, connected and still blocking, before its first request (bench
     * --proxy: the proxy's handshake, so addr is the proxy's). It returns 0,
     * or a negative errno: the connection is closed and counted as a connect
     * error. It blocks the connection's thread while it runs: keep it
     * bounded. Called from the load threads, at once from several. */
    int (*handshake)(int fd, void *arg);
    void *handshake_arg;
};

#define SK_BENCH_PORTS_PER_SOURCE 25000u /* of the 28k of the default ephemeral range */
#define SK_BENCH_SOURCES_MAX 4096

/* Parse a --source list: "A" or "A-B" (IPv4 addresses, A <= B), several
 * separated by commas, into out[0..max). Returns the count, or -EINVAL with
 * *why set. Pure. */
int sk_bench_source_parse(const char *s, struct sk_addr *out, unsigned max, const char **why);

/* The head of the HTTP request cfg describes, for one request target: the
 * request line, Host, User-Agent, Accept (each unless cfg->http_headers has
 * that name), cfg's headers, Content-Length when there is a body,
 * Connection: close with http_close, and the blank line. Writes it into
 * buf[0..cap) and returns its length, -EMSGSIZE when it does not fit, or
 * -EINVAL for a method that is not an HTTP token or a header that is not
 * "Name: value" on one line. Pure. */
long sk_bench_http_head(const struct sk_bench_cfg *cfg, const char *path, char *buf, size_t cap);

/* Defaults: 10 connections, 1 thread, 64 B messages, 10 s, pipeline 1. */
void sk_bench_cfg_init(struct sk_bench_cfg *cfg);

struct sk_bench_result {
    uint64_t requests; /* replies received (including status/mismatch errors) */
    uint64_t bytes_in, bytes_out;
    uint64_t connects; /* connections established */
    uint64_t starved;  /* connections that waited for a reply all run long */
    uint64_t errors[SK_BERR_N];
    double elapsed_s;
    unsigned nsources;        /* local addresses the connections came from (0: the default) */
    struct sk_hist hist;      /* latency (open loop: from each request's intended send time) */
    struct sk_hist hist_sent; /* latency from when each request was actually written */
    uint64_t handshakes;      /* TLS handshakes completed */
    char tls_why[256];        /* the first failed handshake's reason ("" when none) */
};

/* Run the load; fills res. Returns 0, or a negative errno when the load
 * could not run at all (no memory, no epoll, no thread); connection-level
 * failures are counted in res->errors, not returned. Blocks until done.
 * sk_bench_interrupt() (async-signal-safe) ends a run early. */
int sk_bench_run(const struct sk_bench_cfg *cfg, struct sk_bench_result *res);
void sk_bench_interrupt(void);

/* True once sk_bench_interrupt() was called (it stays so for the process). */
int sk_bench_interrupted(void);

/* Raise RLIMIT_NOFILE so that at least need descriptors are available,
 * raising the hard limit too when allowed (CAP_SYS_RESOURCE). Returns 0, or
 * -EMFILE when it could not (the soft limit is then the hard one). *got (may
 * be NULL) gets the soft limit in force afterwards. */
int sk_bench_raise_nofile2(uint64_t need, uint64_t *got);
int sk_bench_raise_nofile(uint64_t need);

uint64_t sk_bench_errors_total(const struct sk_bench_result *res);

/* ---- capacity: the highest open-loop rate that meets a goal ---- */

#define SK_BENCH_SLO_MAX 4

/* A service level objective: each listed latency percentile at most its
 * bound, and at most max_errors errors. */
struct sk_bench_slo {
    double pct[SK_BENCH_SLO_MAX]; /* e.g. 99, 99.9 */
    int64_t max_ns[SK_BENCH_SLO_MAX];
    unsigned n;
    uint64_t max_errors; /* 0 unless errors=N is given */
};

/* Parse "p99=5ms[,p50=1ms][,errors=0]": percentiles pNN or pNN.N in (0, 100),
 * bounds with a unit (us, ms or s), at least one percentile, each key once.
 * Returns 0, or -EINVAL with *why set to a phrase saying what is wrong. Pure. */
int sk_bench_slo_parse(const char *s, struct sk_bench_slo *out, const char **why);

/* Does a run meet the goal at the target rate? Its latencies (from intended
 * send times), its errors, and its achieved rate at least 90% of target (a
 * server that falls behind fails even before its latencies show it). Returns
 * 1 or 0, with *why saying what failed. */
int sk_bench_slo_check(const struct sk_bench_slo *slo, double target,
                       const struct sk_bench_result *res, const char **why);

/* One step of the search. Step 0 is the closed-loop probe (target 0). */
struct sk_bench_step {
    double target, achieved; /* requests/s */
    int64_t p50_ns, p99_ns;
    uint64_t requests, errors;
    int pass;
    const char *why; /* what failed, or "" */
};

/* Search the open-loop rate for the highest that meets slo: a closed-loop
 * probe of base (its achieved rate X bounds what this load can offer), then
 * X itself, then up by half while it passes (at most 3 times), or bisection
 * between the highest pass and the lowest failure until they are within 5%
 * or max_steps open-loop steps have run. Each step runs base->duration_ms,
 * so the search takes at most (max_steps + 1) times that. on_step (may be
 * NULL) is called after every step. *best gets the highest passing rate (0:
 * none passed). Returns 0 or a negative errno from sk_bench_run. */
int sk_bench_find_max(const struct sk_bench_cfg *base, const struct sk_bench_slo *slo,
                      unsigned max_steps,
                      void (*on_step)(void *arg, const struct sk_bench_step *st), void *arg,
                      double *best);

/* ---- streams (iperf-style bulk throughput): `sockit bench stream` ---- */

enum sk_stream_dir {
    SK_STREAM_SEND, /* write only (against discard) */
    SK_STREAM_RECV, /* read only (against chargen) */
    SK_STREAM_BOTH, /* write and read back (against echo) */
};

struct sk_stream_cfg {
    struct sk_addr addr;
    unsigned conns; /* streams at once */
    enum sk_stream_dir dir;
    int udp;     /* datagrams of `size` bytes with a sequence number (send, both) */
    size_t size; /* bytes per write (TCP) or per datagram (UDP) */
    int64_t duration_ms;
};

/* What one stream did. */
struct sk_stream_conn {
    int ok; /* it connected */
    uint64_t bytes_sent, bytes_recv;
    uint32_t rtt_us, rttvar_us; /* TCP_INFO at the end (0 for UDP and Unix sockets) */
    uint32_t retrans;           /* TCP_INFO total retransmits */
    /* UDP --both: datagrams sent, echoed back, lost (never came back),
     * reordered (came back after a later one) and duplicated. */
    uint64_t dg_sent, dg_recv, dg_lost, dg_reordered, dg_dup;
};

struct sk_stream_result {
    double elapsed_s;
    uint64_t bytes_sent, bytes_recv;
    unsigned connected;
    double fairness;            /* Jain's index over the streams' throughputs (1: all equal) */
    struct sk_stream_conn *per; /* cfg->conns entries, allocated by sk_stream_run */
};

/* Jain's fairness index of x[0..n): (sum x)^2 / (n * sum x^2), in [1/n, 1];
 * 1 for n == 0 or all zeros. Pure. */
double sk_jain_index(const double *x, size_t n);

/* Run the streams for cfg->duration_ms in one epoll loop; fills res (free
 * res->per with free()). Returns 0 or a negative errno when the run could not
 * start; streams that fail to connect are counted (ok == 0). A UDP run waits
 * up to 200 ms after the end for late echoes before counting losses. */
int sk_stream_run(const struct sk_stream_cfg *cfg, struct sk_stream_result *res);

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
    double rate;    /* the offered open-loop rate (0: closed loop) */
    int ok;         /* the server started and the load ran */
    char note[128]; /* why not, when !ok */
    double rps;
    int64_t p50_ns, p99_ns;
    double cpu_us_per_req; /* server user+system CPU per reply */
    long peak_rss_kb;
    long base_rss_kb;   /* the server's resident set before the load */
    double kb_per_conn; /* (peak - base) / conns */
    uint64_t requests, errors;
    uint64_t starved; /* connections that never got a reply */
};

struct sk_bench_models_cfg {
    const char *exe; /* the sockit binary to start as the server */
    int tls; /* serve --tls (an ephemeral certificate), loaded with its fingerprint pinned */
    const char *service;       /* "echo" or "http" */
    const char *const *models; /* NULL-terminated */
    const unsigned *conns;     /* connection counts to sweep */
    size_t nconns;
    /* --rates: when not NULL, rates[i] is the open-loop rate of the points
     * at index i (nconns of them, conns[i] all the same): the sweep is over
     * the offered rate, and the chart draws latency against load. */
    const double *rates;
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
