/*
 * http_resp.c - the HTTP/1.x response parsing the load generator needs: the
 * head (status line and the headers that frame the body and the connection)
 * and an incremental chunked-body skipper. Pure functions: no I/O, no
 * allocation, never a read past the bytes given.
 */
#include "sockit/bench.h"

#include <errno.h>
#include <string.h>

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive compare of name[0..n) with a lower-case literal. */
static int name_is(const char *name, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)name[i]) != lit[i])
            return 0;
    return 1;
}

static int is_tchar(int c)
{
    if (c >= '0' && c <= '9')
        return 1;
    if ((c | 32) >= 'a' && (c | 32) <= 'z')
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Does the comma-separated list v[0..n) hold the token tok (lower-case)?
 * last: only as the final element (for Transfer-Encoding). */
static int list_has(const char *v, size_t n, const char *tok, int last)
{
    size_t i = 0, tl = strlen(tok);
    int found = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e == s)
            continue;
        found = name_is(v + s, e - s, tok);
        if (found && !last)
            return 1;
        (void)tl;
    }
    return found;
}

int sk_http_resp_parse(const char *p, size_t n, struct sk_http_resp *out)
{
    static const char proto[] = "HTTP/1.";
    size_t pre = n < 7 ? n : 7;

    if (memcmp(p, proto, pre) != 0)
        return -EBADMSG;
    /* Find the end of the head: an empty line (CRLF CRLF, or bare LFs). */
    const char *end = NULL;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++) {
        const char *nx = q + 1;
        if (nx < p + n && *nx == '\n') {
            end = nx + 1;
            break;
        }
        if (nx + 1 < p + n && nx[0] == '\r' && nx[1] == '\n') {
            end = nx + 2;
            break;
        }
        if (nx >= p + n || (nx + 1 >= p + n && *nx == '\r'))
            break;
    }
    if (!end)
        return n > SK_HTTP_HEAD_MAX ? -EMSGSIZE : 0;
    if ((size_t)(end - p) > SK_HTTP_HEAD_MAX)
        return -EMSGSIZE;

    /* Status line: HTTP/1.D SP DDD [SP reason] EOL */
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t ll = (size_t)(eol - p);
    if (ll > 0 && p[ll - 1] == '\r')
        ll--;
    if (ll < 12 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return -EBADMSG;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return -EBADMSG;
    if (ll > 12 && p[12] != ' ')
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    out->minor = p[7] - '0';
    out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (out->status < 100)
        return -EBADMSG;
    out->content_length = -1;
    out->no_body = out->status < 200 || out->status == 204 || out->status == 304;
    int keep = out->minor >= 1, close = 0;

    /* Header fields until the empty line. */
    for (const char *l = eol + 1; l < end;) {
        const char *le = memchr(l, '\n', (size_t)(end - l));
        const char *next = le + 1;
        if (le > l && le[-1] == '\r')
            le--;
        if (le == l)
            break; /* the empty line */
        const char *colon = memchr(l, ':', (size_t)(le - l));
        if (!colon || colon == l)
            return -EBADMSG;
        for (const char *c = l; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return -EBADMSG;
        size_t nl = (size_t)(colon - l);
        const char *v = colon + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
        if (name_is(l, nl, "content-length")) {
            if (vl == 0 || vl > 18)
                return -EBADMSG;
            int64_t cl = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return -EBADMSG;
                cl = cl * 10 + (v[i] - '0');
            }
            if (out->content_length >= 0 && out->content_length != cl)
                return -EBADMSG;
            out->content_length = cl;
        } else if (name_is(l, nl, "transfer-encoding")) {
            if (list_has(v, vl, "chunked", 1))
                out->chunked = 1;
            else
                close = 1; /* another coding: the body runs until close */
        } else if (name_is(l, nl, "connection")) {
            if (list_has(v, vl, "close", 0))
                close = 1;
            if (list_has(v, vl, "keep-alive", 0))
                keep = 1;
        }
        l = next;
    }
    if (out->chunked)
        out->content_length = -1; /* chunked framing wins over Content-Length */
    if (!out->no_body && !out->chunked && out->content_length < 0)
        close = 1; /* the body is delimited by the end of the connection */
    out->close = close || !keep;
    return (int)(end - p);
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
