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

#include <errno.h>
#include <string.h>

/* tchar of RFC 9110 5.6.2. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Case-insensitive equality of p[0..n) with the lowercase literal s. */
static int ieq(const char *p, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || lower((unsigned char)p[i]) != s[i])
            return 0;
    return s[n] == '\0';
}

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
    size_t i = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        size_t s = i;
        while (i < n && p[i] != ',' && p[i] != ' ' && p[i] != '\t')
            i++;
        if (ieq(p + s, i - s, "close"))
            bits |= 1;
        else if (ieq(p + s, i - s, "keep-alive"))
            bits |= 2;
    }
    return bits;
}

/* The end of the line starting at p[i]: returns the index of its '\n', or
 * n when there is none yet. *end is the index one past the line's content
 * (before a CR). */
static size_t line_end(const char *p, size_t i, size_t n, size_t *end)
{
    const char *nl = memchr(p + i, '\n', n - i);
    if (!nl)
        return n;
    size_t e = (size_t)(nl - p);
    *end = (e > i && p[e - 1] == '\r') ? e - 1 : e;
    return e;
}

static ssize_t request_line(const char *p, size_t s, size_t e, struct sk_http_req *r)
{
    size_t i = s;
    while (i < e && tchar[(unsigned char)p[i]])
        i++;
    r->mtok.p = p + s;
    r->mtok.n = i - s;
    if (i == s || i >= e || p[i] != ' ')
        return -400;
    r->method = sk_http_method_of(p + s, i - s);
    size_t t = ++i;
    while (i < e && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
        i++;
    if (i == t || i >= e || p[i] != ' ')
        return -400;
    r->target.p = p + t;
    r->target.n = i - t;
    i++;
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT */
    if (e - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 5] < '0' || p[i + 5] > '9' ||
        p[i + 6] != '.' || p[i + 7] < '0' || p[i + 7] > '9')
        return -400;
    if (p[i + 5] != '1')
        return -505;
    r->minor = p[i + 7] == '0' ? 0 : 1;
    return 0;
}

ssize_t sk_http_parse(const char *p, size_t n, const struct sk_http_limits *lim,
                      struct sk_http_req *r)
{
    size_t i = 0, e = 0, nl;
    unsigned conn = 0;

    r->method = SK_HTTP_OTHER;
    r->mtok.p = r->target.p = r->line.p = NULL;
    r->mtok.n = r->target.n = r->line.n = 0;
    r->minor = 1;
    r->keep_alive = 0;
    r->content_length = -1;
    r->transfer_encoding = 0;
    r->nheaders = 0;
    r->host.p = r->if_modified_since.p = r->range.p = r->if_range.p = NULL;
    r->host.n = r->if_modified_since.n = r->range.n = r->if_range.n = 0;

    while (i < n && (p[i] == '\n' || (p[i] == '\r' && (i + 1 == n || p[i + 1] == '\n'))))
        i++;
    size_t start = i;
    if (i == n)
        return n >= lim->max_head ? -431 : 0;

    nl = line_end(p, i, n, &e);
    if (nl == n) /* the request line is still arriving */
        return (n - start > lim->max_line || n >= lim->max_head) ? -414 : 0;
    r->line.p = p + start;
    r->line.n = e - start;
    if (e - start > lim->max_line)
        return -414;
    if (memchr(p + start, '\r', e - start))
        return -400; /* a bare CR inside the line */
    ssize_t rc = request_line(p, start, e, r);
    if (rc < 0)
        return rc;
    i = nl + 1;

    for (;;) {
        if (i - start > lim->max_head)
            return -431;
        nl = line_end(p, i, n, &e);
        if (nl == n)
            return n >= lim->max_head ? -431 : 0;
        if (nl + 1 - start > lim->max_head)
            return -431;
        if (e == i) { /* the empty line: the head is complete */
            i = nl + 1;
            break;
        }
        if (++r->nheaders > lim->max_headers)
            return -431;
        size_t s = i;
        while (i < e && tchar[(unsigned char)p[i]])
            i++;
        if (i == s || i >= e || p[i] != ':')
            return -400; /* includes obs-fold and space before the colon */
        size_t name_n = i - s;
        i++;
        while (i < e && (p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t vs = i, ve = e;
        while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
            ve--;
        for (size_t k = vs; k < ve; k++) {
            unsigned char ch = (unsigned char)p[k];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return -400;
        }
        const char *name = p + s, *v = p + vs;
        size_t vn = ve - vs;
        switch (name_n) {
        case 4:
            if (ieq(name, 4, "host")) {
                if (r->host.p)
                    return -400;
                r->host.p = v;
                r->host.n = vn;
            }
            break;
        case 5:
            if (ieq(name, 5, "range")) {
                r->range.p = v;
                r->range.n = vn;
            }
            break;
        case 8:
            if (ieq(name, 8, "if-range")) {
                r->if_range.p = v;
                r->if_range.n = vn;
            }
            break;
        case 10:
            if (ieq(name, 10, "connection"))
                conn |= connection_tokens(v, vn);
            break;
        case 14:
            if (ieq(name, 14, "content-length")) {
                int64_t len = parse_length(v, vn);
                if (len < 0 || (r->content_length >= 0 && r->content_length != len))
                    return -400;
                r->content_length = len;
            }
            break;
        case 17:
            if (ieq(name, 17, "transfer-encoding"))
                r->transfer_encoding = 1;
            else if (ieq(name, 17, "if-modified-since")) {
                r->if_modified_since.p = v;
                r->if_modified_since.n = vn;
            }
            break;
        default: break;
        }
        i = nl + 1;
    }
    if (r->minor == 1 && !r->host.p)
        return -400; /* RFC 9112 3.2: a 1.1 request must carry Host */
    r->keep_alive = !(conn & 1) && (r->minor == 1 || (conn & 2));
    return (ssize_t)i;
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
    if (n < 6 || !ieq(p, 6, "bytes="))
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
