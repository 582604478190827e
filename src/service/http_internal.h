/*
 * http_internal.h - what the files of the http service share (http.c,
 * http_file.c, http_log.c); not part of the public API.
 */
#ifndef SOCKIT_SERVICE_HTTP_INTERNAL_H
#define SOCKIT_SERVICE_HTTP_INTERNAL_H

#include "sockit/conn.h"
#include "sockit/http.h"

#include <stdint.h>
#include <time.h>

/* The access log: lines gather in a per-thread buffer that is written with
 * one write() when it would pass PIPE_BUF (so lines from several threads or
 * processes never interleave), when its oldest line is a second old, when a
 * connection closes, at thread exit and at stop. */
struct sk__http_log {
    int fd; /* -1: logging off */
    int owned;
};

/* Open the log: path NULL means standard output. Returns 0 or -errno. */
int sk__http_log_open(struct sk__http_log *l, const char *path);

/* Append one line (without its newline; it is added). now: time(NULL). */
void sk__http_log_line(struct sk__http_log *l, const char *line, size_t n, time_t now);

/* Write the calling thread's buffered lines now. */
void sk__http_log_flush(struct sk__http_log *l);

/* Flush the calling thread's lines and close the file if we opened it. */
void sk__http_log_close(struct sk__http_log *l);

/* The service instance. */
struct sk__http {
    /* options */
    char *root;      /* --root as given; NULL: the Hello, World! server */
    char *root_real; /* realpath of the root */
    int root_fd;     /* O_PATH descriptor of the root, or -1 */
    char *body;
    size_t body_len;
    int listing;          /* -1: default (on with --root) */
    unsigned listing_max; /* entries a listing shows at most */
    int dotfiles;
    char *log_path;
    int log_off;
    int header_timeout_ms;
    /* derived at start() */
    struct sk_http_limits lim;
    struct sk__http_log log;
    char *hello[2][3]; /* [HEAD?][connection kind]: headers after the Date value */
    size_t hello_len[2][3];
};

/* One response in the making (for the connection header and the log). */
struct sk__http_tx {
    const struct sk_http_req *req;
    int status;
    int keep;       /* the connection stays open after this response */
    uint64_t bytes; /* body bytes sent (0 for HEAD) */
    int deferred;   /* answered later, in steps (a listing): finish then */
};

/* Queue the status line and header fields of tx->status: Server, Date,
 * Content-Type (when ctype), Content-Length (when clen >= 0), the extra
 * lines (each ending in CRLF, may be NULL), Connection. Returns 0 or
 * -ENOBUFS. */
int sk__http_head(struct sk_conn *c, struct sk__http_tx *tx, const char *ctype, int64_t clen,
                  const char *extra);

/* A complete short error response for status (body "404 Not Found\n"); when
 * the output has no room for it the connection is aborted. */
int sk__http_error(struct sk_conn *c, struct sk__http_tx *tx, int status, const char *extra);

/* The current Date value (IMF-fixdate) of the calling thread's clock. */
const char *sk__http_date(void);

/* Per-connection state. */
struct sk__http_listing;
struct sk__http_conn {
    int64_t skip; /* request body bytes still to discard */
    int seen;     /* a byte of a request arrived */
    char peer[SK_ADDR_STRLEN];
    struct sk__http_listing *listing; /* a directory listing in the making */
    /* Where the request head being read was left. */
    struct sk_http_parse_state ps;
};

/* Log tx and end the connection unless it is kept alive. now: time(NULL). */
void sk__http_finish(struct sk_conn *c, struct sk__http *h, const struct sk__http_tx *tx,
                     time_t now);

/* The next bounded slice of the listing in the making (from the timeout
 * callback). Returns 0 while more follow (the deadline is armed for the
 * next), or 1 once the response (or an error) is queued and the input
 * released: tx then describes it for sk__http_finish(), and points into the
 * listing, freed after that with sk__http_listing_free(). */
int sk__http_listing_step(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx);

/* Free a listing left unfinished (the connection closed). */
void sk__http_listing_free(struct sk__http_conn *hc);

/* Serve tx->req from h->root: file, index.html, listing or an error. */
void sk__http_serve_file(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx);

#endif
