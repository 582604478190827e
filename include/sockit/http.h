/*
 * http.h - the pure parts of the HTTP service: the request parser, the
 * request-target to file path mapping, HTTP dates, byte ranges, media types.
 *
 * Every function here is a pure function of its arguments: no I/O, no
 * allocation, no global state; results point into the caller's input where
 * they are strings. They are safe to call from any thread.
 */
#ifndef SOCKIT_HTTP_H
#define SOCKIT_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sk_http_method {
    SK_HTTP_OTHER = 0, /* a well-formed token this server does not know */
    SK_HTTP_GET,
    SK_HTTP_HEAD,
    SK_HTTP_POST,
    SK_HTTP_PUT,
    SK_HTTP_DELETE,
    SK_HTTP_OPTIONS,
    SK_HTTP_PATCH,
    SK_HTTP_TRACE,
    SK_HTTP_CONNECT,
};

/* A slice of the parsed input (not NUL-terminated); p == NULL when absent. */
struct sk_http_str {
    const char *p;
    size_t n;
};

/* Bounds the parser enforces. */
struct sk_http_limits {
    size_t max_line;      /* request line without its end; longer: 414 */
    size_t max_head;      /* request line plus headers plus the blank line; larger: 431 */
    unsigned max_headers; /* header fields; more: 431 */
};

/* One parsed request head. Strings point into the parser's input. */
struct sk_http_req {
    int method;              /* enum sk_http_method */
    struct sk_http_str mtok; /* the method as sent */
    struct sk_http_str target;
    struct sk_http_str line; /* the whole request line, without its line end */
    int minor;               /* HTTP/1.minor: 0 or 1 (1.x above 1 is read as 1.1) */
    int keep_alive;          /* the connection persists after this request */
    int64_t content_length;  /* -1: none */
    int transfer_encoding;   /* a Transfer-Encoding field was present */
    unsigned nheaders;
    struct sk_http_str host, if_modified_since, range, if_range;
};

/* Parse the request head at the start of p[0..n). Leading empty lines are
 * skipped (RFC 9112 2.2). Returns the length of the head (request line,
 * header fields and the empty line) when it is complete, 0 when more input is
 * needed (n is still within the limits), or minus an HTTP status for a
 * request that can never be valid: -400 malformed, -414 request line too
 * long, -431 head too large or too many fields, -505 unsupported version.
 * The limits count from p[0] (leading empty lines included), so a buffer of
 * max_head bytes always gets an answer.
 * On 0 or an error, req->line and req->mtok may still be set (for logging). */
ssize_t sk_http_parse(const char *p, size_t n, const struct sk_http_limits *lim,
                      struct sk_http_req *req);

/* Where a head that is still arriving was left: offsets into the head, so
 * the caller's buffer may move between calls. Zero it before a head's first
 * call; sk_http_parse_resume() zeroes it again when it returns non-zero.
 * Its fields are the parser's own. */
struct sk_http_span {
    size_t off, n;
};
struct sk_http_parse_state {
    size_t at, scanned; /* the line being read, how far its end was searched */
    size_t start;       /* offset of the request line */
    int stage;          /* 0: empty lines before it, 1: the request line, 2: fields */
    int method, minor, transfer_encoding;
    unsigned conn, nheaders;
    int64_t content_length;
    unsigned have; /* which spans below are set, one bit each in their order */
    struct sk_http_span mtok, target, line, host, if_modified_since, range, if_range;
};

/* sk_http_parse() that resumes where the previous call on the same head
 * stopped (picohttpparser's last_len idea): each call reads only the bytes
 * that arrived since, so a head fed one byte at a time costs linear time.
 * p[0..n) is the same head as before with bytes appended (it may have moved).
 * Returns and fills req as sk_http_parse() does; the result equals that of
 * one sk_http_parse() call over the same bytes. */
ssize_t sk_http_parse_resume(const char *p, size_t n, const struct sk_http_limits *lim,
                             struct sk_http_req *req, struct sk_http_parse_state *st);

/* The method token to enum sk_http_method (case-sensitive, as HTTP is). */
int sk_http_method_of(const char *p, size_t n);

/* Flags for sk_http_path(). */
enum {
    SK_HTTP_PATH_DOTFILES = 1u << 0, /* allow segments starting with '.' */
};

/* Map a request target (origin-form "/a/b?q", or absolute-form
 * "http://host/a/b") to a path relative to the served root: the query is
 * dropped, %XX decoded, "." and empty segments removed, ".." applied.
 * Writes a NUL-terminated path without a leading '/' ("" for the root
 * itself) to out and returns its length; *dir is set to 1 when the target
 * named a directory (it ended in '/' or was the root).
 * Errors: -EINVAL malformed (no leading '/', a bad %-escape, an encoded NUL
 * or '/', a control byte), -EPERM a ".." that would leave the root,
 * -ENOENT a dot-file segment without SK_HTTP_PATH_DOTFILES, -ENAMETOOLONG
 * when out is too small. */
int sk_http_path(const char *target, size_t n, unsigned flags, char *out, size_t outlen, int *dir);

/* Length of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), without NUL. */
#define SK_HTTP_DATE_LEN 29

/* Format t (seconds since the epoch, UTC) as an IMF-fixdate into out
 * (at least SK_HTTP_DATE_LEN + 1 bytes, NUL-terminated). Returns
 * SK_HTTP_DATE_LEN. */
size_t sk_http_date_format(int64_t t, char *out);

/* Parse an HTTP-date in any of its three forms (IMF-fixdate, RFC 850,
 * asctime). Returns 0 and the time in *t, or -EINVAL. */
int sk_http_date_parse(const char *p, size_t n, int64_t *t);

/* Interpret a Range field value for a representation of size bytes. Only a
 * single range is honoured. Returns 1 with the inclusive [*first, *last] to
 * send, 0 when the field is to be ignored (not bytes, malformed, several
 * ranges: the whole file is sent), or -1 when it is unsatisfiable (416). */
int sk_http_range(const char *p, size_t n, uint64_t size, uint64_t *first, uint64_t *last);

/* The media type for a file name, by its extension (case-insensitive);
 * "application/octet-stream" when unknown. The string is static. */
const char *sk_http_mime(const char *name, size_t n);

/* The reason phrase of a status code ("Not Found"), "Unknown" if none. */
const char *sk_http_reason(int status);

#endif
