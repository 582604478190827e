/*
 * http_parse.c - the HTTP/1.x request parser and the other pure helpers of
 * the http service: HTTP dates, Range values, reason phrases.
 *
 * The parser never allocates and never reads past p + n; every string it
 * returns points into the input. It is strict where leniency invites request
 * smuggling (one space between request-line parts, no whitespace before a
 * field's colon, no obsolete line folding, one Content-Length value) and
 * lenient where clients differ harmlessly (a bare LF ends a line, empty lines
 * before the request line are skipped).
 */
#include "sockit/http.h"

#include "net/head.h"

#include <errno.h>
#include <string.h>

int sk_http_method_of(const char *p, size_t n)
{
    static const struct {
        const char *name;
        int m;
    } t[] = {
        {"GET", SK_HTTP_GET},     {"HEAD", SK_HTTP_HEAD},     {"POST", SK_HTTP_POST},
        {"PUT", SK_HTTP_PUT},     {"DELETE", SK_HTTP_DELETE}, {"OPTIONS", SK_HTTP_OPTIONS},
        {"PATCH", SK_HTTP_PATCH}, {"TRACE", SK_HTTP_TRACE},   {"CONNECT", SK_HTTP_CONNECT},
    };
    if (n == 3 && memcmp(p, "GET", 3) == 0) /* the common case first */
        return SK_HTTP_GET;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strlen(t[i].name) == n && memcmp(t[i].name, p, n) == 0)
            return t[i].m;
    return SK_HTTP_OTHER;
}

/* Content-Length: 1*DIGIT, bounded. Returns the value or -1. */
static int64_t parse_length(const char *p, size_t n)
{
    int64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* The Connection field: a comma-separated token list. Sets bits 1 (close)
 * and 2 (keep-alive). */
static unsigned connection_tokens(const char *p, size_t n)
{
    unsigned bits = 0;
    size_t i = 0, tn;
    const char *tok;
    while (sk__head_list_next(p, n, &i, &tok, &tn)) {
        if (sk__head_ieq(tok, tn, "close"))
            bits |= 1;
        else if (sk__head_ieq(tok, tn, "keep-alive"))
            bits |= 2;
    }
    return bits;
}

/* The bits of sk_http_parse_state.have, in the order of its spans. */
enum { H_MTOK = 1, H_TARGET = 2, H_LINE = 4, H_HOST = 8, H_IMS = 16, H_RANGE = 32, H_IFR = 64 };

static void span(struct sk_http_parse_state *st, unsigned bit, struct sk_http_span *sp, size_t off,
                 size_t n)
{
    st->have |= bit;
    sp->off = off;
    sp->n = n;
}

static ssize_t request_line(const char *p, size_t s, size_t e, struct sk_http_parse_state *st)
{
    size_t i = s;
    while (i < e && sk__tchar[(unsigned char)p[i]])
        i++;
    span(st, H_MTOK, &st->mtok, s, i - s);
    if (i == s || i >= e || p[i] != ' ')
        return -400;
    st->method = sk_http_method_of(p + s, i - s);
    size_t t = ++i;
    while (i < e && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
        i++;
    if (i == t || i >= e || p[i] != ' ')
        return -400;
    span(st, H_TARGET, &st->target, t, i - t);
    i++;
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT */
    if (e - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 5] < '0' || p[i + 5] > '9' ||
        p[i + 6] != '.' || p[i + 7] < '0' || p[i + 7] > '9')
        return -400;
    if (p[i + 5] != '1')
        return -505;
    st->minor = p[i + 7] == '0' ? 0 : 1;
    return 0;
}

/* One header field line p[b..e): checked, counted, and remembered when it is
 * one the service reads. */
static ssize_t field(const char *p, size_t b, size_t e, struct sk_http_parse_state *st)
{
    struct sk__head_field f;
    if (sk__head_field(p + b, e - b, &f) < 0)
        return -400; /* includes obs-fold and space before the colon */
    for (size_t k = 0; k < f.value_n; k++) {
        unsigned char ch = (unsigned char)f.value[k];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -400;
    }
    size_t vo = (size_t)(f.value - p), vn = f.value_n;
    switch (f.name_n) {
    case 4:
        if (sk__head_ieq(f.name, 4, "host")) {
            if (st->have & H_HOST)
                return -400;
            span(st, H_HOST, &st->host, vo, vn);
        }
        break;
    case 5:
        if (sk__head_ieq(f.name, 5, "range"))
            span(st, H_RANGE, &st->range, vo, vn);
        break;
    case 8:
        if (sk__head_ieq(f.name, 8, "if-range"))
            span(st, H_IFR, &st->if_range, vo, vn);
        break;
    case 10:
        if (sk__head_ieq(f.name, 10, "connection"))
            st->conn |= connection_tokens(f.value, vn);
        break;
    case 14:
        if (sk__head_ieq(f.name, 14, "content-length")) {
            int64_t len = parse_length(f.value, vn);
            if (len < 0 || (st->content_length >= 0 && st->content_length != len))
                return -400;
            st->content_length = len;
        }
        break;
    case 17:
        if (sk__head_ieq(f.name, 17, "transfer-encoding"))
            st->transfer_encoding = 1;
        else if (sk__head_ieq(f.name, 17, "if-modified-since"))
            span(st, H_IMS, &st->if_modified_since, vo, vn);
        break;
    default: break;
    }
    return 0;
}

/* Read on from where st stands. Every complete line is read exactly once
 * over all the calls for one head; an incomplete one is only measured. The
 * limits are checked so that a prefix of the input never gives an answer
 * the whole would not. */
static ssize_t resume(const char *p, size_t n, const struct sk_http_limits *lim,
                      struct sk_http_parse_state *st)
{
    struct sk__head_scan sc = {st->at, st->scanned};
    size_t b, e;

    if (st->stage == 0) {
        size_t i = st->at;
        while (i < n && (p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')))
            i++;
        st->at = st->start = i;
        /* A request line starting at the head's last byte cannot end in
         * it: 431 whether or not a CR there turns out to start a CRLF. */
        if (i + 1 >= lim->max_head)
            return -431;
        if (i == n || (i + 1 == n && p[i] == '\r'))
            return 0; /* a CR that may start a CRLF */
        st->stage = 1;
        sc.line = i;
        sc.scanned = 0;
    }
    if (st->stage == 1) {
        if (!sk__head_line(&sc, p, n, &b, &e)) {
            st->scanned = sc.scanned;
            /* The request line is still arriving; a CR at the end may be
             * its line end's. */
            size_t len = n - st->start - (p[n - 1] == '\r');
            return (len > lim->max_line || n >= lim->max_head) ? -414 : 0;
        }
        span(st, H_LINE, &st->line, b, e - b);
        if (e - b > lim->max_line || sc.line > lim->max_head)
            return -414;
        if (memchr(p + b, '\r', e - b))
            return -400; /* a bare CR inside the line */
        ssize_t rc = request_line(p, b, e, st);
        if (rc < 0)
            return rc;
        st->stage = 2;
    }
    for (;;) {
        st->at = sc.line;
        st->scanned = sc.scanned;
        if (!sk__head_line(&sc, p, n, &b, &e)) {
            st->scanned = sc.scanned;
            return n >= lim->max_head ? -431 : 0;
        }
        if (sc.line > lim->max_head)
            return -431;
        if (e == b) /* the empty line: the head is complete */
            break;
        if (++st->nheaders > lim->max_headers)
            return -431;
        ssize_t rc = field(p, b, e, st);
        if (rc < 0)
            return rc;
    }
    if (st->minor == 1 && !(st->have & H_HOST))
        return -400; /* RFC 9112 3.2: a 1.1 request must carry Host */
    return (ssize_t)sc.line;
}

static struct sk_http_str str(const char *p, const struct sk_http_parse_state *st, unsigned bit,
                              const struct sk_http_span *sp)
{
    struct sk_http_str s = {NULL, 0};
    if (st->have & bit) {
        s.p = p + sp->off;
        s.n = sp->n;
    }
    return s;
}

ssize_t sk_http_parse_resume(const char *p, size_t n, const struct sk_http_limits *lim,
                             struct sk_http_req *r, struct sk_http_parse_state *st)
{
    if (st->stage == 0 && st->at == 0) { /* a new head */
        memset(st, 0, sizeof(*st));
        st->minor = 1;
        st->method = SK_HTTP_OTHER;
        st->content_length = -1;
    }
    ssize_t rc = resume(p, n, lim, st);
    r->method = st->method;
    r->mtok = str(p, st, H_MTOK, &st->mtok);
    r->target = str(p, st, H_TARGET, &st->target);
    r->line = str(p, st, H_LINE, &st->line);
    r->minor = st->minor;
    r->keep_alive = rc > 0 && !(st->conn & 1) && (st->minor == 1 || (st->conn & 2));
    r->content_length = st->content_length;
    r->transfer_encoding = st->transfer_encoding;
    r->nheaders = st->nheaders;
    r->host = str(p, st, H_HOST, &st->host);
    r->if_modified_since = str(p, st, H_IMS, &st->if_modified_since);
    r->range = str(p, st, H_RANGE, &st->range);
    r->if_range = str(p, st, H_IFR, &st->if_range);
    if (rc != 0)
        memset(st, 0, sizeof(*st));
    return rc;
}

ssize_t sk_http_parse(const char *p, size_t n, const struct sk_http_limits *lim,
                      struct sk_http_req *r)
{
    struct sk_http_parse_state st = {0};
    return sk_http_parse_resume(p, n, lim, r, &st);
}

/* ---- dates ---- */

static const char wkday[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char month[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put2(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10 % 10);
    o[1] = (char)('0' + v % 10);
}

size_t sk_http_date_format(int64_t t, char *out)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    memcpy(out, wkday[((days % 7) + 7) % 7], 3);
    out[3] = ',';
    out[4] = ' ';
    put2(out + 5, d);
    out[7] = ' ';
    memcpy(out + 8, month[m - 1], 3);
    out[11] = ' ';
    put2(out + 12, (unsigned)(y / 100));
    put2(out + 14, (unsigned)(y % 100));
    out[16] = ' ';
    put2(out + 17, (unsigned)(secs / 3600));
    out[19] = ':';
    put2(out + 20, (unsigned)(secs / 60 % 60));
    out[22] = ':';
    put2(out + 23, (unsigned)(secs % 60));
    memcpy(out + 25, " GMT", 5);
    return SK_HTTP_DATE_LEN;
}

/* A fixed-width decimal field of w digits (leading spaces allowed when sp). */
static int num(const char *p, size_t w, int sp, unsigned *v)
{
    unsigned x = 0;
    int seen = 0;
    for (size_t i = 0; i < w; i++) {
        if (p[i] == ' ' && sp && !seen)
            continue;
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (unsigned)(p[i] - '0');
        seen = 1;
    }
    *v = x;
    return seen ? 0 : -1;
}

static int month_of(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, month[i], 3) == 0)
            return i + 1;
    return -1;
}

static int hms(const char *p, unsigned *h, unsigned *mi, unsigned *s)
{
    if (num(p, 2, 0, h) || p[2] != ':' || num(p + 3, 2, 0, mi) || p[5] != ':' ||
        num(p + 6, 2, 0, s) || *h > 23 || *mi > 59 || *s > 60)
        return -1;
    return 0;
}

int sk_http_date_parse(const char *p, size_t n, int64_t *t)
{
    unsigned d, y2, h, mi, s;
    int64_t y;
    int m;
    const char *comma = memchr(p, ',', n);

    if (comma && n == SK_HTTP_DATE_LEN && comma == p + 3) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        unsigned yy;
        if (p[4] != ' ' || num(p + 5, 2, 0, &d) || p[7] != ' ' || (m = month_of(p + 8)) < 0 ||
            p[11] != ' ' || num(p + 12, 4, 0, &yy) || p[16] != ' ' || hms(p + 17, &h, &mi, &s) ||
            memcmp(p + 25, " GMT", 4) != 0)
            return -EINVAL;
        y = yy;
    } else if (comma) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        const char *q = comma + 1;
        if ((size_t)(p + n - q) != 23 || q[0] != ' ' || num(q + 1, 2, 0, &d) || q[3] != '-' ||
            (m = month_of(q + 4)) < 0 || q[7] != '-' || num(q + 8, 2, 0, &y2) || q[10] != ' ' ||
            hms(q + 11, &h, &mi, &s) || memcmp(q + 19, " GMT", 4) != 0)
            return -EINVAL;
        y = y2 < 70 ? 2000 + y2 : 1900 + y2; /* RFC 9110 5.6.7: 50 years rule, simplified */
    } else {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        unsigned yy;
        if (n != 24 || p[3] != ' ' || (m = month_of(p + 4)) < 0 || p[7] != ' ' ||
            num(p + 8, 2, 1, &d) || p[10] != ' ' || hms(p + 11, &h, &mi, &s) || p[19] != ' ' ||
            num(p + 20, 4, 0, &yy))
            return -EINVAL;
        y = yy;
    }
    if (d < 1 || d > 31)
        return -EINVAL;
    *t = days_from_civil(y, (unsigned)m, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

/* ---- ranges ---- */

/* Digits into *v; returns the count of digits, 0 for none, -1 on overflow. */
static int digits(const char *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t x = 0;
    size_t s = *i;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(p[*i] - '0');
        (*i)++;
    }
    *v = x;
    return (int)(*i - s > 0);
}

int sk_http_range(const char *p, size_t n, uint64_t size, uint64_t *first, uint64_t *last)
{
    size_t i = 0;
    uint64_t a = 0, b = 0;

    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n < 6 || !sk__head_ieq(p, 6, "bytes="))
        return 0;
    i = 6;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (memchr(p + i, ',', n - i))
        return 0; /* several ranges: answered with the whole representation */
    int ha = digits(p, n, &i, &a);
    if (ha < 0 || i >= n || p[i] != '-')
        return 0;
    i++;
    int hb = digits(p, n, &i, &b);
    if (hb < 0 || i != n || (!ha && !hb))
        return 0;
    if (!ha) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (hb && b < a)
        return 0; /* invalid: ignored */
    if (a >= size)
        return -1;
    *first = a;
    *last = (!hb || b >= size) ? size - 1 : b;
    return 1;
}

const char *sk_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
