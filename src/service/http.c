/*
 * http.c - the http service: HTTP/1.0 and 1.1 over the sans-I/O interface.
 *
 * Without --root every GET and HEAD is answered "Hello, World!" (or
 * --body TEXT); that is the benchmark path, so its response is precomputed
 * at start and only the Date value (cached per thread, remade at most once a
 * second) is copied in: no allocation, no formatting and no system call per
 * request. With --root the request is handed to http_file.c.
 *
 * data() parses as many pipelined requests as it is given and answers them
 * in order; it stops early while a file is being sent (the model calls no
 * data() then) or while the output is over the high-water mark. The header
 * deadline (--header-timeout) runs from accept for the first request and
 * from its first byte for a later one; when it passes the peer gets 408 (or
 * a silent close when it sent nothing at all) and the connection closes.
 * Idle keep-alive connections are left to --idle-timeout.
 */
#include "http_internal.h"

#include "sockit/service.h"
#include "sockit/server.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_TIMEOUT_MS (10 * 1000)
#define MAX_LINE 8192
#define MAX_HEAD 32768
#define MAX_HEADERS 100
#define LOG_LINE_MAX 2048
#define MIN_OUTPUT 4096 /* --max-output below this is refused at start */

static const char status_200[] = "HTTP/1.1 200 OK\r\nServer: sockit\r\nDate: ";

/* The calling thread's clock: remade when time(NULL) moves on. */
static _Thread_local struct {
    time_t t;
    char date[SK_HTTP_DATE_LEN + 1];                /* Sun, 06 Nov 1994 08:49:37 GMT */
    char clf[32];                                   /* 06/Nov/1994:08:49:37 +0000 */
    char ok[sizeof(status_200) + SK_HTTP_DATE_LEN]; /* status_200 plus the date (no NUL) */
} clk;

static void clock_tick(time_t now)
{
    if (now == clk.t)
        return;
    clk.t = now;
    sk_http_date_format((int64_t)now, clk.date);
    const char *d = clk.date;
    snprintf(clk.clf, sizeof(clk.clf), "%.2s/%.3s/%.4s:%.8s +0000", d + 5, d + 8, d + 12, d + 17);
    memcpy(clk.ok, status_200, sizeof(status_200) - 1);
    memcpy(clk.ok + sizeof(status_200) - 1, clk.date, SK_HTTP_DATE_LEN);
}

const char *sk__http_date(void)
{
    return clk.date;
}

/* Per-connection state. */
struct http_conn {
    int64_t skip; /* request body bytes still to discard */
    int seen;     /* a byte of a request arrived */
    char peer[SK_ADDR_STRLEN];
    /* Where the request head being read was left. */
    struct sk_http_parse_state ps;
};

/* ---- options and life cycle ---- */

static int http_create(void **state)
{
    struct sk__http *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->root_fd = -1;
    h->listing = -1;
    h->header_timeout_ms = HEADER_TIMEOUT_MS;
    h->log.fd = -1;
    h->body = strdup("Hello, World!");
    if (!h->body) {
        free(h);
        return -ENOMEM;
    }
    h->body_len = strlen(h->body);
    *state = h;
    return 0;
}

static int http_option(void *state, const char *name, const char *value, char *err, size_t len)
{
    struct sk__http *h = state;
    int r;

    if (strcmp(name, "root") == 0) {
        if (!*value) {
            snprintf(err, len, "--root: the directory must not be empty");
            return -EINVAL;
        }
        return sk_str_set(&h->root, value);
    }
    if (strcmp(name, "body") == 0) {
        if ((r = sk_str_set(&h->body, value)) == 0)
            h->body_len = strlen(h->body);
        return r;
    }
    if (strcmp(name, "listing") == 0 || strcmp(name, "no-listing") == 0) {
        h->listing = name[0] == 'l';
        return 0;
    }
    if (strcmp(name, "dotfiles") == 0) {
        h->dotfiles = 1;
        return 0;
    }
    if (strcmp(name, "access-log") == 0) {
        h->log_off = 0;
        return sk_str_set(&h->log_path, value);
    }
    if (strcmp(name, "no-access-log") == 0) {
        h->log_off = 1;
        return 0;
    }
    if (strcmp(name, "header-timeout") == 0) {
        int64_t ms;
        if (sk_parse_duration_ms(value, &ms) < 0 || ms <= 0 || ms > 3600 * 1000) {
            snprintf(err, len, "--header-timeout: '%s' is not a duration up to an hour", value);
            return -EINVAL;
        }
        h->header_timeout_ms = ms;
        return 0;
    }
    snprintf(err, len, "unknown option --%s", name);
    return -EINVAL;
}

/* The precomputed Hello responses, from just after the Date value. */
static int make_hello(struct sk__http *h)
{
    static const char *const conn[3] = {"", "Connection: close\r\n", "Connection: keep-alive\r\n"};
    for (int head = 0; head < 2; head++) {
        for (int k = 0; k < 3; k++) {
            char top[160];
            int n = snprintf(top, sizeof(top),
                             "\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
                             h->body_len, conn[k]);
            size_t total = (size_t)n + (head ? 0 : h->body_len);
            char *p = malloc(total);
            if (!p)
                return -ENOMEM;
            memcpy(p, top, (size_t)n);
            if (!head)
                memcpy(p + n, h->body, h->body_len);
            h->hello[head][k] = p;
            h->hello_len[head][k] = total;
        }
    }
    return 0;
}

static int http_start(void *state, struct sk_server *srv, char *err, size_t len)
{
    struct sk__http *h = state;
    int r;

    if (!h->root && (h->listing >= 0 || h->dotfiles)) {
        snprintf(err, len, "--listing, --no-listing and --dotfiles need --root");
        return -EINVAL;
    }
    if (h->root) {
        if (strcmp(h->body, "Hello, World!") != 0) {
            snprintf(err, len, "--body is for the Hello, World! server (without --root)");
            return -EINVAL;
        }
        h->root_real = realpath(h->root, NULL);
        if (!h->root_real) {
            r = -errno;
            snprintf(err, len, "--root %s: %s", h->root, strerror(-r));
            return r;
        }
        h->root_fd = open(h->root_real, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (h->root_fd < 0) {
            r = -errno;
            snprintf(err, len, "--root %s: %s", h->root, strerror(-r));
            return r;
        }
        /* A root this process may not search (nor list) would answer 403
         * to everything: refuse it now. */
        if (faccessat(h->root_fd, ".", X_OK, AT_EACCESS) < 0) {
            r = -errno;
            snprintf(err, len, "--root %s: %s (as the user this server runs as)", h->root,
                     strerror(-r));
            return r;
        }
        if (h->listing != 0 && faccessat(h->root_fd, ".", R_OK, AT_EACCESS) < 0) {
            r = -errno;
            snprintf(err, len, "--root %s: %s: cannot list it (--no-listing serves its files)",
                     h->root, strerror(-r));
            return r;
        }
        if (h->listing < 0)
            h->listing = 1;
        sk_log(SK_LOG_INFO, "http: serving %s (%s%s)", h->root_real,
               h->listing ? "listings on" : "no listings", h->dotfiles ? ", dot-files shown" : "");
    }
    if (srv->lim.out_max < MIN_OUTPUT) {
        snprintf(err, len,
                 "--max-output %zu is below http's minimum of %d bytes (a response head must fit)",
                 srv->lim.out_max, MIN_OUTPUT);
        return -ERANGE;
    }
    size_t in_max = srv->lim.in_max;
    h->lim.max_head = SK_MIN((size_t)MAX_HEAD, in_max);
    h->lim.max_line = SK_MIN((size_t)MAX_LINE, h->lim.max_head);
    h->lim.max_headers = MAX_HEADERS;
    if ((r = make_hello(h)) < 0)
        return r;
    const char *path = NULL;
    if (h->log_off)
        return 0;
    if (h->log_path)
        path = h->log_path;
    else if (sk_log_level < SK_LOG_INFO)
        return 0; /* -q: no access log on standard output */
    if ((r = sk__http_log_open(&h->log, path)) < 0) {
        snprintf(err, len, "--access-log %s: %s", path, strerror(-r));
        return r;
    }
    return 0;
}

static void http_destroy(void *state)
{
    struct sk__http *h = state;
    sk__http_log_close(&h->log);
    if (h->root_fd >= 0)
        close(h->root_fd);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 3; k++)
            free(h->hello[i][k]);
    free(h->root);
    free(h->root_real);
    free(h->body);
    free(h->log_path);
    free(h);
}

/* ---- responses ---- */

int sk__http_head(struct sk_conn *c, struct sk__http_tx *tx, const char *ctype, int64_t clen,
                  const char *extra)
{
    char len[48] = "";
    const struct sk_http_req *r = tx->req;

    if (clen >= 0)
        snprintf(len, sizeof(len), "Content-Length: %lld\r\n", (long long)clen);
    const char *conn = !tx->keep              ? "Connection: close\r\n"
                       : (r && r->minor == 0) ? "Connection: keep-alive\r\n"
                                              : "";
    return sk_conn_printf(c, "HTTP/1.1 %d %s\r\nServer: sockit\r\nDate: %s\r\n%s%s%s%s%s%s\r\n",
                          tx->status, sk_http_reason(tx->status), clk.date,
                          ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
                          len, extra ? extra : "", conn);
}

int sk__http_error(struct sk_conn *c, struct sk__http_tx *tx, int status, const char *extra)
{
    char body[80];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, sk_http_reason(status));
    int head = tx->req && tx->req->method == SK_HTTP_HEAD;

    tx->status = status;
    tx->bytes = head ? 0 : (uint64_t)n;
    int r = sk__http_head(c, tx, "text/plain; charset=utf-8", n, extra);
    if (r == 0 && !head)
        r = sk_conn_write(c, body, (size_t)n);
    if (r < 0)
        sk_conn_abort(c); /* no room for even a short answer: drop the peer */
    return r;
}

static void hello(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx)
{
    int head = tx->req->method == SK_HTTP_HEAD;
    int kind = !tx->keep ? 1 : tx->req->minor == 0 ? 2 : 0;

    tx->status = 200;
    tx->bytes = head ? 0 : h->body_len;
    if (sk_conn_write(c, clk.ok, sizeof(clk.ok) - 1) < 0 ||
        sk_conn_write(c, h->hello[head][kind], h->hello_len[head][kind]) < 0)
        sk_conn_abort(c);
}

static void respond(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx)
{
    int m = tx->req->method;

    if (m != SK_HTTP_GET && m != SK_HTTP_HEAD) {
        tx->keep = 0; /* the body, if any, is not read */
        if (m == SK_HTTP_OTHER)
            sk__http_error(c, tx, 501, NULL);
        else
            sk__http_error(c, tx, 405, "Allow: GET, HEAD\r\n");
        return;
    }
    if (tx->req->transfer_encoding) {
        tx->keep = 0;
        sk__http_error(c, tx, 501, NULL);
        return;
    }
    if (!h->root)
        hello(c, h, tx);
    else
        sk__http_serve_file(c, h, tx);
}

/* ---- the access log ---- */

/* Copy s[0..n) escaping quotes, backslashes and non-printable bytes. */
static size_t escape(char *o, size_t room, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < room; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            o[k++] = '\\';
            o[k++] = 'x';
            o[k++] = hex[ch >> 4];
            o[k++] = hex[ch & 15];
        } else {
            o[k++] = (char)ch;
        }
    }
    return k;
}

static void log_request(struct sk_conn *c, struct sk__http *h, const struct sk__http_tx *tx,
                        time_t now)
{
    struct http_conn *hc = c->ctx;
    char line[LOG_LINE_MAX];

    if (!hc->peer[0] && sk_addr_format_host(&c->peer, hc->peer, sizeof(hc->peer)) < 0)
        snprintf(hc->peer, sizeof(hc->peer), "-");
    int n = snprintf(line, sizeof(line), "%s - - [%s] \"", hc->peer[0] ? hc->peer : "-", clk.clf);
    size_t k = (size_t)n;
    const struct sk_http_req *r = tx->req;
    if (r && r->line.p)
        k += escape(line + k, sizeof(line) - k - 48, r->line.p, r->line.n);
    else
        line[k++] = '-';
    if (tx->bytes)
        n = snprintf(line + k, sizeof(line) - k, "\" %d %llu", tx->status,
                     (unsigned long long)tx->bytes);
    else
        n = snprintf(line + k, sizeof(line) - k, "\" %d -", tx->status);
    sk__http_log_line(&h->log, line, k + (size_t)n, now);
}

static void finish(struct sk_conn *c, struct sk__http *h, const struct sk__http_tx *tx, time_t now)
{
    if (c->flags & SK_CONN_ABORT) {
        /* The response did not fit the output queue (sk_conn_write failed):
         * nothing of it goes out and the connection is dropped. Say so, in
         * the access log (500, no bytes) and the server's log. */
        static _Atomic int64_t last_log;
        struct sk__http_tx failed = *tx;
        failed.status = 500;
        failed.bytes = 0;
        int64_t t = sk_now_ms(), prev = atomic_load(&last_log);
        if (t - prev >= 1000 && atomic_compare_exchange_strong(&last_log, &prev, t)) {
            char a[SK_ADDR_STRLEN];
            sk_addr_format(&c->peer, a, sizeof(a));
            sk_log(SK_LOG_WARN,
                   "http: a %d response to %s did not fit the output queue (--max-output %zu): "
                   "connection dropped",
                   tx->status, a, c->out.max);
        }
        if (h->log.fd >= 0)
            log_request(c, h, &failed, now);
        return;
    }
    if (h->log.fd >= 0)
        log_request(c, h, tx, now);
    if (!tx->keep)
        sk_conn_end(c);
}

/* ---- the stream callbacks ---- */

static ssize_t http_data(struct sk_conn *c, const char *p, size_t n)
{
    struct sk__http *h = sk_conn_service_state(c);
    struct http_conn *hc = c->ctx;
    size_t used = 0;
    int answered = 0;
    time_t now = time(NULL);

    hc->seen = 1;
    clock_tick(now);
    while (used < n) {
        if (hc->skip) {
            size_t take = (uint64_t)hc->skip < n - used ? (size_t)hc->skip : n - used;
            hc->skip -= (int64_t)take;
            used += take;
            continue;
        }
        if (c->flags & (SK_CONN_END | SK_CONN_ABORT))
            return (ssize_t)n; /* whatever follows is never answered */
        if (c->file.fd >= 0 || sk_buf_len(&c->out) > c->srv->lim.out_high)
            break; /* the rest once the output has drained */
        struct sk_http_req r;
        ssize_t hl = sk_http_parse_resume(p + used, n - used, &h->lim, &r, &hc->ps);
        if (hl == 0) {
            /* A head still arriving: the first one's clock started at
             * accept, a later one's with its first byte. */
            if (answered || !c->deadline_ms)
                sk_conn_set_deadline(c, h->header_timeout_ms);
            return (ssize_t)used;
        }
        struct sk__http_tx tx = {.req = &r, .keep = r.keep_alive};
        if (hl < 0) {
            tx.keep = 0;
            sk__http_error(c, &tx, (int)-hl, NULL);
            finish(c, h, &tx, now);
            return (ssize_t)n;
        }
        used += (size_t)hl;
        if (r.content_length > 0)
            hc->skip = r.content_length;
        respond(c, h, &tx);
        finish(c, h, &tx, now);
        answered = 1;
    }
    if (c->deadline_ms)
        sk_conn_set_deadline(c, 0);
    return (ssize_t)used;
}

/* The header clock starts at accept (nginx's client_header_timeout): a
 * client that connects and sends nothing does not hold a worker of the
 * blocking models for the idle timeout. */
static int http_open(struct sk_conn *c)
{
    const struct sk__http *h = sk_conn_service_state(c);
    sk_conn_set_deadline(c, h->header_timeout_ms);
    return 0;
}

static void http_timeout(struct sk_conn *c)
{
    struct sk__http *h = sk_conn_service_state(c);
    struct sk__http_tx tx = {.req = NULL, .keep = 0};
    time_t now = time(NULL);

    if (!((struct http_conn *)c->ctx)->seen) {
        sk_conn_end(c); /* nothing of a request came: close without an answer, as nginx */
        return;
    }
    clock_tick(now);
    sk__http_error(c, &tx, 408, NULL);
    finish(c, h, &tx, now);
}

static void http_close(struct sk_conn *c)
{
    struct sk__http *h = sk_conn_service_state(c);
    sk__http_log_flush(&h->log);
}

static const struct sk_service_opt http_opts[] = {
    {"root", 1, "DIR", "serve the files under DIR (default: answer every GET with --body)"},
    {"body", 1, "TEXT", "the answer without --root (default \"Hello, World!\")"},
    {"listing", 0, NULL, "list directories without index.html (default with --root)"},
    {"no-listing", 0, NULL, "do not list directories (403 instead)"},
    {"dotfiles", 0, NULL, "serve names starting with '.' (hidden: 404 by default)"},
    {"access-log", 1, "FILE", "common log format to FILE (default: standard output)"},
    {"no-access-log", 0, NULL, "no access log (-q also turns off the one on stdout)"},
    {"header-timeout", 1, "SECS", "a request head must arrive within SECS, else 408 (10)"},
    {0},
};

const struct sk_service sk_service_http = {
    .name = "http",
    .summary = "HTTP/1.1: Hello, World! for every GET, or static files with --root",
    .flags = SK_SVC_STREAM,
    .opts = http_opts,
    .conn_size = sizeof(struct http_conn),
    .create = http_create,
    .option = http_option,
    .start = http_start,
    .destroy = http_destroy,
    .open = http_open,
    .data = http_data,
    .timeout = http_timeout,
    .close = http_close,
};
