/*
 * http_path.c - request target to file path, the one place where path
 * safety is decided (see sk_http_path() in http.h).
 *
 * The target is decoded first and normalised second, so no encoding can
 * smuggle a separator or a ".." past the checks: an encoded '/' or NUL is
 * refused outright, and ".." is applied on decoded segments against a stack
 * that cannot go below the root. Symbolic links are the opener's business
 * (the service opens beneath the root with openat2(RESOLVE_BENEATH)).
 */
#include "sockit/http.h"

#include <errno.h>
#include <string.h>

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Skip "scheme://authority" of an absolute-form target; returns the index
 * of the path (n when there is none). -1 when the form is not absolute. */
static ssize_t absolute_form(const char *t, size_t n)
{
    size_t i = 0;
    while (i < n && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')))
        i++;
    if (i == 0 || i + 3 > n || memcmp(t + i, "://", 3) != 0)
        return -1;
    if (!(i == 4 && lower(t[0]) == 'h' && lower(t[1]) == 't' && lower(t[2]) == 't' &&
          lower(t[3]) == 'p') &&
        !(i == 5 && lower(t[0]) == 'h' && lower(t[1]) == 't' && lower(t[2]) == 't' &&
          lower(t[3]) == 'p' && lower(t[4]) == 's'))
        return -1;
    i += 3;
    while (i < n && t[i] != '/' && t[i] != '?' && t[i] != '#')
        i++;
    return (ssize_t)i;
}

int sk_http_path(const char *t, size_t n, unsigned flags, char *out, size_t outlen, int *dir)
{
    size_t i = 0, o = 0;
    ssize_t abs = absolute_form(t, n);

    if (outlen == 0)
        return -ENAMETOOLONG;
    if (abs >= 0) {
        i = (size_t)abs;
        if (i == n || t[i] != '/') { /* "http://host" or "http://host?q": the root */
            out[0] = '\0';
            *dir = 1;
            return 0;
        }
    }
    if (i >= n || t[i] != '/')
        return -EINVAL;
    /* The path ends at the query or fragment. */
    size_t end = i;
    while (end < n && t[end] != '?' && t[end] != '#')
        end++;

    /* Walk segment by segment; out holds "a/b/c" (no leading slash). */
    int last_dir = 1;
    while (i < end) {
        while (i < end && t[i] == '/')
            i++;
        if (i == end) {
            last_dir = 1;
            break;
        }
        size_t seg = o; /* where this segment starts in out */
        if (o > 0) {
            if (o + 1 >= outlen)
                return -ENAMETOOLONG;
            out[o++] = '/';
            seg = o;
        }
        while (i < end && t[i] != '/') {
            int ch = (unsigned char)t[i];
            if (ch == '%') {
                int hi = i + 2 < end ? hexval((unsigned char)t[i + 1]) : -1;
                int lo = hi >= 0 ? hexval((unsigned char)t[i + 2]) : -1;
                if (lo < 0)
                    return -EINVAL;
                ch = hi * 16 + lo;
                if (ch == '\0' || ch == '/')
                    return -EINVAL;
                i += 3;
            } else {
                i++;
            }
            if (ch < 0x20 || ch == 0x7f)
                return -EINVAL;
            if (o + 1 >= outlen)
                return -ENAMETOOLONG;
            out[o++] = (char)ch;
        }
        size_t len = o - seg;
        last_dir = 0;
        if (len == 1 && out[seg] == '.') {
            o = seg > 0 ? seg - 1 : 0; /* drop "." and its separator */
            last_dir = 1;
        } else if (len == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            if (seg == 0)
                return -EPERM; /* above the root */
            /* Drop ".." and the segment before it. */
            size_t k = seg - 1; /* the separator before ".." */
            while (k > 0 && out[k - 1] != '/')
                k--;
            o = k > 0 ? k - 1 : 0;
            last_dir = 1;
        } else if (out[seg] == '.' && !(flags & SK_HTTP_PATH_DOTFILES)) {
            return -ENOENT;
        }
    }
    out[o] = '\0';
    *dir = last_dir || o == 0;
    return (int)o;
}
