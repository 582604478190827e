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

#include "sockit/util.h"

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

/*
 * A listing is made in bounded slices so that a directory of 100,000
 * entries never stalls the loop: each slice works for at most SLICE_NS,
 * then the connection's input is held and its deadline (1 ms on) brings the
 * next one through the timeout callback. Slices read names and their
 * metadata (readdir, fstatat), sort them (one slice: at most --listing-max
 * names), and format rows; the page goes to a memory file once it passes
 * one output queue's worth, so memory stays bounded by the cap. The last
 * slice queues the head (with its Content-Length) and the body.
 */
#define SLICE_NS (2 * 1000 * 1000)
#define CHECK_EVERY 32
#define SPILL ((size_t)256 << 10) /* page bytes kept in memory before the memfd */
#define RUN 2048                  /* entries sorted at once while reading */

struct sk__http_listing {
    DIR *d;
    char *rel;
    struct entry *v;
    size_t n, cap, next; /* entries read; next to format */
    int formatting, truncated;
    /* the sort: runs of RUN entries sorted as they are read, then merged
     * bottom-up a slice at a time (v and tmp swap after each pass) */
    struct entry *tmp;
    size_t sorted, width, lo, i, j, k;
    int merging;
    struct sk_buf page; /* formatted, not yet in the memfd */
    int mfd;            /* -1 until the page spills */
    size_t spilled;     /* bytes in the memfd */
    /* what the response and its log line need of the request */
    struct sk__http_tx tx;
    struct sk_http_req req;
    char line[2048]; /* the request line, for the access log */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Merge sorted runs until the budget ends: 1 once all is sorted, 0 for
 * more, -ENOMEM. Runs of L->width entries are merged pairwise from v into
 * tmp; after each pass the arrays swap and the width doubles. */
static int merge_some(struct sk__http_listing *L, int64_t until)
{
    size_t n = L->n;
    while (L->width < n) {
        if (!L->tmp && !(L->tmp = malloc(n * sizeof(*L->tmp))))
            return -ENOMEM;
        while (L->lo < n) {
            size_t mid = SK_MIN(L->lo + L->width, n), hi = SK_MIN(L->lo + 2 * L->width, n);
            if (!L->merging) {
                L->i = L->lo;
                L->j = mid;
                L->k = L->lo;
                L->merging = 1;
            }
            while (L->k < hi) {
                if ((L->k & 255) == 255 && now_ns() > until)
                    return 0;
                if (L->j >= hi || (L->i < mid && by_kind_then_name(&L->v[L->i], &L->v[L->j]) <= 0))
                    L->tmp[L->k++] = L->v[L->i++];
                else
                    L->tmp[L->k++] = L->v[L->j++];
            }
            L->merging = 0;
            L->lo = hi;
        }
        struct entry *t = L->v;
        L->v = L->tmp;
        L->tmp = t;
        L->width *= 2;
        L->lo = 0;
    }
    return 1;
}

static int listing_top(struct sk_buf *b, const char *rel)
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
    return r;
}

static int listing_row(struct sk_buf *b, const struct entry *e)
{
    char when[32] = "-";
    time_t t = (time_t)e->mtime;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    int r = sk_buf_printf(b, "<tr><td><a href=\"");
    r = r ? r : put_href(b, e->name);
    r = r ? r : sk_buf_printf(b, "%s\">", e->dir ? "/" : "");
    r = r ? r : put_html(b, e->name);
    if (e->dir)
        r = r ? r : sk_buf_printf(b, "/</a></td><td class=\"n\">-</td><td>%s</td></tr>\n", when);
    else
        r = r ? r
              : sk_buf_printf(b, "</a></td><td class=\"n\">%lld</td><td>%s</td></tr>\n",
                              (long long)e->size, when);
    return r;
}

static int listing_bottom(struct sk_buf *b, const struct sk__http_listing *L, size_t max)
{
    int r = sk_buf_printf(b, "</table>\n");
    if (L->truncated)
        r = r ? r
              : sk_buf_printf(b,
                              "<p>This directory has more entries: the listing stops at %zu "
                              "(--listing-max).</p>\n",
                              max);
    return r ? r : sk_buf_printf(b, "<hr><address>sockit</address>\n</body></html>\n");
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

/* Read one entry's name and metadata; 0 (stored or skipped) or -errno. */
static int add_entry(struct sk__http_listing *L, const struct sk__http *h, const char *nm)
{
    if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || (nm[0] == '.' && !h->dotfiles))
        return 0;
    /* A link is listed as what it leads to, and only when that is served:
     * one that leaves the root is refused (403). */
    struct stat st;
    if (!would_serve(h, dirfd(L->d), L->rel, nm, &st))
        return 0;
    int is_dir = S_ISDIR(st.st_mode);
    if (L->n == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 64;
        struct entry *nv = realloc(L->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        L->v = nv;
        L->cap = nc;
    }
    struct entry *e = &L->v[L->n];
    if (!(e->name = strdup(nm)))
        return -ENOMEM;
    e->dir = is_dir;
    e->size = (int64_t)st.st_size;
    e->mtime = (int64_t)st.st_mtim.tv_sec;
    L->n++;
    return 0;
}

/* Move the page's bytes into the memory file. */
static int spill(struct sk__http_listing *L)
{
    if (L->mfd < 0 && (L->mfd = memfd_create("sockit-listing", MFD_CLOEXEC)) < 0)
        return -errno;
    const char *p = sk_buf_data(&L->page);
    size_t n = sk_buf_len(&L->page), off = 0;
    while (off < n) {
        ssize_t w = write(L->mfd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -EIO;
        off += (size_t)w;
    }
    L->spilled += n;
    sk_buf_clear(&L->page);
    return 0;
}

void sk__http_listing_free(struct sk__http_conn *hc)
{
    struct sk__http_listing *L = hc->listing;
    if (!L)
        return;
    if (L->d)
        closedir(L->d);
    for (size_t i = 0; i < L->n; i++)
        free(L->v[i].name);
    free(L->v); /* tmp only holds copies of v's entries */
    free(L->tmp);
    free(L->rel);
    sk_buf_free(&L->page);
    if (L->mfd >= 0)
        close(L->mfd);
    free(L);
    hc->listing = NULL;
}

/* The page is complete: queue the head and the body (tx says what went). */
static void deliver(struct sk_conn *c, struct sk__http_listing *L, struct sk__http_tx *tx)
{
    int head = L->req.method == SK_HTTP_HEAD, r = 0;
    size_t len = L->spilled + sk_buf_len(&L->page);

    tx->status = 200;
    tx->bytes = head ? 0 : len;
    if (sk__http_head(c, tx, "text/html; charset=utf-8", (int64_t)len,
                      "Cache-Control: no-cache\r\n") < 0) {
        r = -ENOBUFS;
    } else if (!head) {
        if (L->mfd < 0 && len <= c->out.max - sk_buf_len(&c->out)) {
            r = sk_conn_write(c, sk_buf_data(&L->page), len);
        } else if ((r = spill(L)) == 0) {
            /* Larger than the output queue: hand it over as a memory file. */
            r = sk_conn_sendfile(c, L->mfd, 0, len);
            if (r == 0)
                L->mfd = -1; /* the connection owns it now */
        }
    }
    if (r < 0)
        sk_conn_abort(c);
}

int sk__http_listing_step(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx)
{
    struct sk__http_conn *hc = c->ctx;
    struct sk__http_listing *L = hc->listing;
    int64_t until = now_ns() + SLICE_NS;
    int r = 0;

    *tx = L->tx;
    tx->req = &L->req;
    tx->deferred = 0;

    for (unsigned k = 1; r == 0; k++) {
        if (k % CHECK_EVERY == 0 && now_ns() > until)
            break;
        if (L->d) {
            errno = 0;
            struct dirent *de = L->n < h->listing_max ? readdir(L->d) : NULL;
            if (de) {
                r = add_entry(L, h, de->d_name);
                if (r == 0 && L->n - L->sorted == RUN) {
                    qsort(L->v + L->sorted, RUN, sizeof(*L->v), by_kind_then_name);
                    L->sorted += RUN;
                }
                continue;
            }
            if (errno) {
                r = -errno;
                break;
            }
            /* At the cap: does the directory have more to show? */
            while (L->n >= h->listing_max && !L->truncated && (de = readdir(L->d)) != NULL)
                L->truncated = de->d_name[0] != '.' ||
                               (h->dotfiles && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
            closedir(L->d);
            L->d = NULL;
            if (L->n - L->sorted > 1) /* never qsort(NULL, 0, ...): an empty directory */
                qsort(L->v + L->sorted, L->n - L->sorted, sizeof(*L->v), by_kind_then_name);
            L->sorted = L->n;
            L->width = RUN;
            continue;
        }
        if (!L->formatting) {
            r = merge_some(L, until);
            if (r <= 0)
                break; /* the budget is spent (0), or no memory */
            r = 0;
            L->formatting = 1;
            r = listing_top(&L->page, L->rel);
            continue;
        }
        if (L->next == L->n) {
            r = listing_bottom(&L->page, L, h->listing_max);
            if (r == 0) {
                deliver(c, L, tx);
                sk_conn_hold(c, 0);
                sk_conn_set_deadline(c, 0);
                return 1;
            }
            break;
        }
        r = listing_row(&L->page, &L->v[L->next++]);
        if (r == 0 && sk_buf_len(&L->page) >= SPILL)
            r = spill(L);
    }
    if (r < 0) {
        tx->keep = 0;
        sk_conn_hold(c, 0);
        sk_conn_set_deadline(c, 0);
        sk__http_error(c, tx, r == -ENOMEM || r == -ENOBUFS ? 500 : status_of_errno(r), NULL);
        return 1;
    }
    sk_conn_set_deadline(c, 1); /* the next slice, after the loop's other work */
    return 0;
}

/* Start a listing of the directory fd (consumed): the first slice runs now,
 * a small directory is answered at once; otherwise tx->deferred is set and
 * the rest follows from the timeout callback. */
static void serve_listing(struct sk_conn *c, const struct sk__http *h, struct sk__http_tx *tx,
                          int fd, const char *rel)
{
    struct sk__http_conn *hc = c->ctx;
    struct sk__http_listing *L = calloc(1, sizeof(*L));
    int r = L ? 0 : -ENOMEM;

    if (L) {
        L->mfd = -1;
        sk_buf_init(&L->page, (size_t)1 << 30); /* spilled at SPILL: never near this */
        L->rel = strdup(rel);
        L->d = fdopendir(fd);
        r = !L->rel ? -ENOMEM : !L->d ? -errno : 0;
    }
    if (!L || !L->d)
        close(fd);
    if (r < 0) {
        if (L) {
            hc->listing = L;
            sk__http_listing_free(hc);
        }
        sk__http_error(c, tx, r == -ENOMEM ? 500 : status_of_errno(r), NULL);
        return;
    }
    /* Keep what the head and the log line need once the input has moved on. */
    const struct sk_http_req *q = tx->req;
    L->tx = *tx;
    L->req.method = q->method;
    L->req.minor = q->minor;
    L->req.keep_alive = q->keep_alive;
    size_t ln = q->line.n < sizeof(L->line) ? q->line.n : sizeof(L->line);
    memcpy(L->line, q->line.p, ln);
    L->req.line.p = L->line;
    L->req.line.n = ln;
    hc->listing = L;
    sk_conn_hold(c, 1);
    struct sk__http_tx done;
    if (sk__http_listing_step(c, h, &done)) {
        /* A small directory: answered in the first slice. */
        tx->status = done.status;
        tx->bytes = done.bytes;
        tx->keep = done.keep;
        sk__http_listing_free(hc);
        return;
    }
    tx->deferred = 1;
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
    if (S_ISREG(st.st_mode) && dir) {
        /* "/file.txt/" names a directory that is not there (nginx: 404). */
        close(fd);
        sk__http_error(c, tx, 404, NULL);
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
