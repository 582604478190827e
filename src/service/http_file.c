/*
 * http_file.c - the static file server behind `sockit serve http --root`:
 * files (with Last-Modified, If-Modified-Since, single Range), index.html,
 * directory listings, and the errors in between.
 *
 * Safety comes in two steps. sk_http_path() (a pure function) decodes and
 * normalises the target and refuses anything that climbs out or names a
 * dot-file. Then every open happens beneath the root's descriptor with
 * openat2(RESOLVE_BENEATH), so a symbolic link that leaves the root fails in
 * the kernel; where openat2 is missing, or refuses an absolute link, the
 * path is resolved with realpath() and must still lie inside the root.
 * Bodies go out with sendfile (the model sends the file after the headers).
 */
#include "http_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Open rel (relative, already normalised) beneath the root. -errno on
 * failure; -EXDEV for a path that leaves the root through a link. */
static int open_beneath(const struct sk__http *h, const char *rel)
{
    const char *p = rel[0] ? rel : ".";
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, h->root_fd, p, &how, sizeof(how));
    if (fd >= 0)
        return (int)fd;
    int e = errno;
    if (e != ENOSYS && e != EXDEV)
        return -e;
    /* Resolve by name and check that the result is inside the root. */
    char full[PATH_MAX];
    if ((size_t)snprintf(full, sizeof(full), "%s/%s", h->root_real, p) >= sizeof(full))
        return -ENAMETOOLONG;
    char *real = realpath(full, NULL);
    if (!real)
        return -errno;
    size_t rl = strlen(h->root_real);
    int inside = strncmp(real, h->root_real, rl) == 0 &&
                 (real[rl] == '\0' || real[rl] == '/' || (rl == 1 && h->root_real[0] == '/'));
    int r = inside ? open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW) : -1;
    if (inside && r < 0)
        r = -errno;
    else if (!inside)
        r = -EXDEV;
    free(real);
    return r;
}

static int status_of_errno(int e)
{
    switch (e) {
    case -ENOENT:
    case -ENOTDIR: return 404;
    case -EACCES:
    case -EPERM:
    case -EXDEV:
    case -ELOOP: return 403;
    case -ENAMETOOLONG: return 414;
    default: return 500;
    }
}

/* ---- files ---- */

static void serve_regular(struct sk_conn *c, struct sk__http_tx *tx, int fd, const struct stat *st,
                          const char *name)
{
    const struct sk_http_req *r = tx->req;
    char lm[SK_HTTP_DATE_LEN + 1], extra[256];
    int64_t mtime = (int64_t)st->st_mtim.tv_sec, ims;
    uint64_t size = (uint64_t)st->st_size, first = 0, last = size ? size - 1 : 0;
    int head = r->method == SK_HTTP_HEAD;

    sk_http_date_format(mtime, lm);
    if (r->if_modified_since.p &&
        sk_http_date_parse(r->if_modified_since.p, r->if_modified_since.n, &ims) == 0 &&
        mtime <= ims && ims <= (int64_t)time(NULL)) { /* a date in the future is ignored */
        close(fd);
        tx->status = 304;
        tx->bytes = 0;
        snprintf(extra, sizeof(extra), "Last-Modified: %s\r\n", lm);
        if (sk__http_head(c, tx, NULL, -1, extra) < 0)
            sk_conn_abort(c);
        return;
    }
    int partial = 0;
    if (r->range.p) {
        /* If-Range with a date: the range holds only if the file is unchanged. */
        int range_ok = !r->if_range.p || (r->if_range.n == SK_HTTP_DATE_LEN &&
                                          memcmp(r->if_range.p, lm, SK_HTTP_DATE_LEN) == 0);
        int rr = range_ok ? sk_http_range(r->range.p, r->range.n, size, &first, &last) : 0;
        if (rr < 0) {
            close(fd);
            snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n",
                     (unsigned long long)size);
            sk__http_error(c, tx, 416, extra);
            return;
        }
        partial = rr > 0;
    }
    uint64_t len = size ? last - first + 1 : 0;
    tx->status = partial ? 206 : 200;
    int n = snprintf(extra, sizeof(extra), "Last-Modified: %s\r\nAccept-Ranges: bytes\r\n", lm);
    if (partial)
        snprintf(extra + n, sizeof(extra) - (size_t)n, "Content-Range: bytes %llu-%llu/%llu\r\n",
                 (unsigned long long)first, (unsigned long long)last, (unsigned long long)size);
    if (sk__http_head(c, tx, sk_http_mime(name, strlen(name)), (int64_t)len, extra) < 0) {
        close(fd);
        sk_conn_abort(c);
        return;
    }
    if (head) {
        close(fd);
        tx->bytes = 0;
        return;
    }
    tx->bytes = len;
    if (sk_conn_sendfile(c, fd, (off_t)first, (size_t)len) < 0) {
        close(fd);
        sk_conn_abort(c);
    }
}

/* ---- listings ---- */

struct entry {
    char *name;
    int dir;
    int64_t size, mtime;
};

static int by_kind_then_name(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->dir != y->dir)
        return y->dir - x->dir;
    return strcmp(x->name, y->name);
}

/* HTML-escape s into the buffer. */
static int put_html(struct sk_buf *b, const char *s)
{
    int r = 0;
    for (; *s && r == 0; s++) {
        switch (*s) {
        case '&': r = sk_buf_append(b, "&amp;", 5); break;
        case '<': r = sk_buf_append(b, "&lt;", 4); break;
        case '>': r = sk_buf_append(b, "&gt;", 4); break;
        case '"': r = sk_buf_append(b, "&quot;", 6); break;
        case '\'': r = sk_buf_append(b, "&#39;", 5); break;
        default: r = sk_buf_append(b, s, 1);
        }
    }
    return r;
}

/* Percent-encode a name for an href (all but unreserved characters). */
static int put_href(struct sk_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int r = 0;
    for (; *s && r == 0; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            r = sk_buf_append(b, s, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            r = sk_buf_append(b, e, 3);
        }
    }
    return r;
}

static int listing_html(struct sk_buf *b, const char *rel, struct entry *v, size_t nv)
{
    int r = sk_buf_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                             "<meta name=\"viewport\" content=\"width=device-width\">"
                             "<title>Index of /");
    r = r ? r : put_html(b, rel);
    r = r ? r
          : sk_buf_printf(b,
                          "%s</title>\n<style>body{font-family:sans-serif;margin:2em}"
                          "table{border-collapse:collapse}th,td{padding:.2em 1.2em .2em 0;"
                          "text-align:left}td.n{text-align:right}</style></head>\n"
                          "<body>\n<h1>Index of /",
                          rel[0] ? "/" : "");
    r = r ? r : put_html(b, rel);
    r = r ? r
          : sk_buf_printf(b,
                          "%s</h1>\n<table>\n<tr><th>Name</th><th>Size</th>"
                          "<th>Modified (UTC)</th></tr>\n",
                          rel[0] ? "/" : "");
    if (rel[0])
        r = r ? r
              : sk_buf_printf(b, "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    for (size_t i = 0; i < nv && r == 0; i++) {
        char when[32] = "-";
        time_t t = (time_t)v[i].mtime;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        r = sk_buf_printf(b, "<tr><td><a href=\"");
        r = r ? r : put_href(b, v[i].name);
        r = r ? r : sk_buf_printf(b, "%s\">", v[i].dir ? "/" : "");
        r = r ? r : put_html(b, v[i].name);
        if (v[i].dir)
            r = r ? r
                  : sk_buf_printf(b, "/</a></td><td class=\"n\">-</td><td>%s</td></tr>\n", when);
        else
            r = r ? r
                  : sk_buf_printf(b, "</a></td><td class=\"n\">%lld</td><td>%s</td></tr>\n",
                                  (long long)v[i].size, when);
    }
    r = r ? r : sk_buf_printf(b, "</table>\n<hr><address>sockit</address>\n</body></html>\n");
    return r;
}

/* What a request for name in the listed directory rel would be served: its
 * stat in *st (a link's target's), 1 when it would be served (a readable
 * file or directory, a link only when it stays beneath the root), 0 when
 * it would be refused, so the listing leaves it out. */
static int would_serve(const struct sk__http *h, int dfd, const char *rel, const char *name,
                       struct stat *st)
{
    if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (S_ISLNK(st->st_mode)) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "", name) >=
            sizeof(path))
            return 0;
        int fd = open_beneath(h, path);
        if (fd < 0)
            return 0;
        int ok = fstat(fd, st) == 0;
        close(fd);
        return ok && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode));
    }
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        return 0;
    return faccessat(dfd, name, S_ISDIR(st->st_mode) ? R_OK | X_OK : R_OK, AT_EACCESS) == 0;
}

/* Read the directory rel (fd is consumed) into a sorted vector of what
 * would be served. */
static int read_dir(const struct sk__http *h, int fd, const char *rel, struct entry **out,
                    size_t *nout)
{
    int dotfiles = h->dotfiles;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = -errno;
        close(fd);
        return e;
    }
    struct entry *v = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || (nm[0] == '.' && !dotfiles))
            continue;
        /* A link is listed as what it leads to, and only when that is
         * served: one that leaves the root is refused (403). */
        struct stat st;
        if (!would_serve(h, dirfd(d), rel, nm, &st))
            continue;
        int is_dir = S_ISDIR(st.st_mode);
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct entry *nv = realloc(v, nc * sizeof(*v));
            if (!nv) {
                r = -ENOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n].name = strdup(nm);
        if (!v[n].name) {
            r = -ENOMEM;
            break;
        }
        v[n].dir = is_dir;
        v[n].size = (int64_t)st.st_size;
        v[n].mtime = (int64_t)st.st_mtim.tv_sec;
        n++;
    }
    closedir(d);
    if (r == 0 && n > 1) /* an empty directory has no vector at all */
        qsort(v, n, sizeof(*v), by_kind_then_name);
    *out = v;
    *nout = n;
    return r;
}

static void free_entries(struct entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

static void serve_listing(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx,
                          int fd, const char *rel)
{
    struct entry *v = NULL;
    size_t nv = 0;
    struct sk_buf b;
    int head = tx->req->method == SK_HTTP_HEAD;

    int r = read_dir(h, fd, rel, &v, &nv);
    if (r < 0) {
        free_entries(v, nv);
        sk__http_error(c, tx, status_of_errno(r), NULL);
        return;
    }
    sk_buf_init(&b, (size_t)256 << 20);
    r = listing_html(&b, rel, v, nv);
    free_entries(v, nv);
    if (r < 0) {
        sk_buf_free(&b);
        sk__http_error(c, tx, 500, NULL);
        return;
    }
    size_t len = sk_buf_len(&b);
    tx->status = 200;
    tx->bytes = head ? 0 : len;
    if (sk__http_head(c, tx, "text/html; charset=utf-8", (int64_t)len,
                      "Cache-Control: no-cache\r\n") < 0) {
        sk_buf_free(&b);
        sk_conn_abort(c);
        return;
    }
    if (!head) {
        size_t room = sk_conn_room(c);
        if (len <= room) {
            r = sk_conn_write(c, sk_buf_data(&b), len);
        } else {
            /* Larger than the output queue: hand it over as a memory file. */
            int mfd = memfd_create("sockit-listing", MFD_CLOEXEC);
            size_t off = 0;
            r = mfd < 0 ? -errno : 0;
            while (r == 0 && off < len) {
                ssize_t w = write(mfd, sk_buf_data(&b) + off, len - off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    r = -EIO;
                else
                    off += (size_t)w;
            }
            if (r == 0)
                r = sk_conn_sendfile(c, mfd, 0, len);
            else if (mfd >= 0)
                close(mfd);
        }
        if (r < 0)
            sk_conn_abort(c);
    }
    sk_buf_free(&b);
}

/* 301 to "/rel/" (percent-encoded) keeping the query. */
static void redirect_to_dir(struct sk_conn *c, struct sk__http_tx *tx, const char *rel)
{
    const struct sk_http_req *r = tx->req;
    const char *q = memchr(r->target.p, '?', r->target.n);
    size_t qn = q ? r->target.n - (size_t)(q - r->target.p) : 0;
    struct sk_buf b;

    sk_buf_init(&b, 3 * PATH_MAX + 64);
    int e = sk_buf_append(&b, "Location: /", 11);
    for (size_t i = 0; rel[i] && e == 0;) {
        size_t n = strcspn(rel + i, "/");
        char seg[NAME_MAX + 1];
        if (n > NAME_MAX) {
            e = -ENAMETOOLONG;
            break;
        }
        memcpy(seg, rel + i, n);
        seg[n] = '\0';
        e = put_href(&b, seg);
        if (e == 0)
            e = sk_buf_append(&b, "/", 1);
        i += n + (rel[i + n] == '/');
    }
    if (e == 0 && qn)
        e = sk_buf_append(&b, q, qn);
    if (e == 0)
        e = sk_buf_append(&b, "\r\n", 3); /* with its NUL: used as a string */
    if (e < 0)
        sk__http_error(c, tx, 414, NULL);
    else
        sk__http_error(c, tx, 301, sk_buf_data(&b));
    sk_buf_free(&b);
}

/* ---- the entry point ---- */

void sk__http_serve_file(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx)
{
    const struct sk_http_req *r = tx->req;
    char rel[PATH_MAX];
    int dir = 0;

    int n = sk_http_path(r->target.p, r->target.n, h->dotfiles ? SK_HTTP_PATH_DOTFILES : 0, rel,
                         sizeof(rel) - sizeof("/index.html"), &dir);
    if (n < 0) {
        sk__http_error(c, tx,
                       n == -EPERM          ? 403
                       : n == -ENOENT       ? 404
                       : n == -ENAMETOOLONG ? 414
                                            : 400,
                       NULL);
        return;
    }
    int fd = open_beneath(h, rel);
    if (fd < 0) {
        sk__http_error(c, tx, status_of_errno(fd), NULL);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        sk__http_error(c, tx, 500, NULL);
        return;
    }
    if (S_ISREG(st.st_mode)) {
        serve_regular(c, tx, fd, &st, rel);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        close(fd);
        sk__http_error(c, tx, 403, NULL);
        return;
    }
    if (!dir) {
        /* A directory named without its slash: relative links need it. The
         * location is rebuilt from the normalised path (never the raw target,
         * so "//host/dir" cannot turn into a redirect to another site). */
        close(fd);
        redirect_to_dir(c, tx, rel);
        return;
    }
    char idx[PATH_MAX + 16]; /* rel was bounded to leave room for "/index.html" */
    snprintf(idx, sizeof(idx), "%s%sindex.html", rel, rel[0] ? "/" : "");
    int ifd = open_beneath(h, idx);
    if (ifd >= 0) {
        struct stat ist;
        if (fstat(ifd, &ist) == 0 && S_ISREG(ist.st_mode)) {
            close(fd);
            serve_regular(c, tx, ifd, &ist, idx);
            return;
        }
        close(ifd);
    }
    if (!h->listing) {
        close(fd);
        sk__http_error(c, tx, 403, NULL);
        return;
    }
    serve_listing(c, h, tx, fd, rel);
}
