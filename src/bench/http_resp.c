/*
 * http_resp.c - the HTTP/1.x response parsing the load generator needs: the
 * head (status line and the headers that frame the body and the connection)
 * and an incremental chunked-body skipper. Pure functions: no I/O, no
 * allocation, never a read past the bytes given. The head parser resumes
 * where it stopped (net/head.h scans the lines, shared with the request
 * parser of the http service).
 */
#include "sockit/bench.h"

#include "net/head.h"

#include <errno.h>
#include <string.h>

/* Does the comma-separated list v[0..n) hold the token tok (lower-case)?
 * last: only as the final element (for Transfer-Encoding). */
static int list_has(const char *v, size_t n, const char *tok, int last)
{
    size_t i = 0, tn;
    const char *t;
    int found = 0;
    while (sk__head_list_next(v, n, &i, &t, &tn)) {
        found = sk__head_ieq(t, tn, tok);
        if (found && !last)
            return 1;
    }
    return found;
}

/* The status line p[0..ll): HTTP/1.D SP DDD [SP reason]. */
static int status_line(const char *p, size_t ll, struct sk_http_resp_state *st)
{
    if (ll < 12 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return -EBADMSG;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return -EBADMSG;
    if (ll > 12 && p[12] != ' ')
        return -EBADMSG;
    struct sk_http_resp *r = &st->resp;
    r->minor = p[7] - '0';
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (r->status < 100)
        return -EBADMSG;
    r->content_length = -1;
    r->no_body = r->status < 200 || r->status == 204 || r->status == 304;
    st->keep = r->minor >= 1;
    return 0;
}

/* One header field line p[0..n). */
static int field(const char *p, size_t n, struct sk_http_resp_state *st)
{
    struct sk__head_field f;
    struct sk_http_resp *r = &st->resp;
    if (sk__head_field(p, n, &f) < 0)
        return -EBADMSG;
    const char *v = f.value;
    size_t vl = f.value_n;
    if (sk__head_ieq(f.name, f.name_n, "content-length")) {
        if (vl == 0 || vl > 18)
            return -EBADMSG;
        int64_t cl = 0;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return -EBADMSG;
            cl = cl * 10 + (v[i] - '0');
        }
        if (r->content_length >= 0 && r->content_length != cl)
            return -EBADMSG;
        r->content_length = cl;
    } else if (sk__head_ieq(f.name, f.name_n, "transfer-encoding")) {
        if (list_has(v, vl, "chunked", 1))
            r->chunked = 1;
        else
            st->close = 1; /* another coding: the body runs until close */
    } else if (sk__head_ieq(f.name, f.name_n, "connection")) {
        if (list_has(v, vl, "close", 0))
            st->close = 1;
        if (list_has(v, vl, "keep-alive", 0))
            st->keep = 1;
    }
    return 0;
}

/* Read on from where st stands; each complete line is read once. */
static int resume(const char *p, size_t n, struct sk_http_resp_state *st)
{
    static const char proto[] = "HTTP/1.";
    struct sk__head_scan sc = {st->at, st->scanned};
    size_t b, e;

    if (st->stage == 0 && memcmp(p, proto, n < 7 ? n : 7) != 0)
        return -EBADMSG;
    for (;;) {
        st->at = sc.line;
        if (!sk__head_line(&sc, p, n, &b, &e)) {
            st->scanned = sc.scanned;
            return n > SK_HTTP_HEAD_MAX ? -EMSGSIZE : 0;
        }
        if (sc.line > SK_HTTP_HEAD_MAX)
            return -EMSGSIZE;
        int rc;
        if (st->stage == 0) {
            rc = status_line(p, e, st);
            st->stage = 1;
        } else if (e == b) {
            break; /* the empty line */
        } else {
            rc = field(p + b, e - b, st);
        }
        if (rc < 0)
            return rc;
    }
    struct sk_http_resp *r = &st->resp;
    if (r->chunked)
        r->content_length = -1; /* chunked framing wins over Content-Length */
    if (!r->no_body && !r->chunked && r->content_length < 0)
        st->close = 1; /* the body is delimited by the end of the connection */
    r->close = st->close || !st->keep;
    return (int)sc.line;
}

int sk_http_resp_parse_resume(const char *p, size_t n, struct sk_http_resp *out,
                              struct sk_http_resp_state *st)
{
    int rc = resume(p, n, st);
    if (rc > 0)
        *out = st->resp;
    if (rc != 0)
        memset(st, 0, sizeof(*st));
    return rc;
}

int sk_http_resp_parse(const char *p, size_t n, struct sk_http_resp *out)
{
    struct sk_http_resp_state st = {0};
    return sk_http_resp_parse_resume(p, n, out, &st);
}

enum {
    C_SIZE,
    C_EXT,
    C_SIZE_LF,
    C_DATA,
    C_DATA_CR,
    C_DATA_LF,
    C_TRAILER,
    C_TRAILER_LINE,
    C_TRAILER_LF
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 32;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The chunk-size line ended: data follows, or the trailers after the last. */
static void size_line_done(struct sk_http_chunked *c)
{
    c->digits = 0;
    c->state = c->left ? C_DATA : C_TRAILER;
}

long sk_http_chunked_feed(struct sk_http_chunked *c, const char *p, size_t n, int *done)
{
    size_t i = 0;
    *done = 0;
    while (i < n) {
        int ch = (unsigned char)p[i];
        switch (c->state) {
        case C_SIZE: {
            int h = hexval(ch);
            i++;
            if (h >= 0) {
                if (++c->digits > 15)
                    return -EBADMSG;
                c->left = c->left * 16 + (unsigned)h;
            } else if (c->digits == 0) {
                return -EBADMSG;
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                c->state = C_EXT;
            } else if (ch == '\r') {
                c->state = C_SIZE_LF;
            } else if (ch == '\n') {
                size_line_done(c);
            } else {
                return -EBADMSG;
            }
            break;
        }
        case C_EXT:
            i++;
            if (ch == '\n')
                size_line_done(c);
            break;
        case C_SIZE_LF:
            if (ch != '\n')
                return -EBADMSG;
            i++;
            size_line_done(c);
            break;
        case C_DATA: {
            size_t take = n - i;
            if (take > c->left)
                take = (size_t)c->left;
            c->left -= take;
            i += take;
            if (c->left == 0)
                c->state = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
            i++;
            if (ch == '\r')
                c->state = C_DATA_LF;
            else if (ch == '\n')
                c->state = C_SIZE;
            else
                return -EBADMSG;
            break;
        case C_DATA_LF:
            if (ch != '\n')
                return -EBADMSG;
            i++;
            c->state = C_SIZE;
            break;
        case C_TRAILER:
            i++;
            if (ch == '\n') {
                *done = 1;
                c->state = C_SIZE;
                return (long)i;
            }
            c->state = ch == '\r' ? C_TRAILER_LF : C_TRAILER_LINE;
            break;
        case C_TRAILER_LINE:
            i++;
            if (ch == '\n')
                c->state = C_TRAILER;
            break;
        case C_TRAILER_LF:
            if (ch != '\n')
                return -EBADMSG;
            i++;
            *done = 1;
            c->state = C_SIZE;
            return (long)i;
        default: return -EBADMSG;
        }
    }
    return (long)i;
}
