/* test_tls.c - the TLS layer: pin strings and certificate names (tables),
 * the certificate maker, and real handshakes between a client and a server
 * connection in memory (no sockets): versions, ALPN, SNI, data both ways,
 * close_notify, and each verification failure named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/error.h"
#include "sockit/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockit/util.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
#define COLONS                                                                                     \
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"   \
    "ee:ff"

static void pin_parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
    } t[] = {
        {"sha256:" HEX64, 1},
        {"sha256:" COLONS, 1},
        {"SHA256:" COLONS, 1},
        {"Sha256:" HEX64, 1},
        {HEX64, 0},                /* the prefix is required */
        {"sha1:" HEX64, 0},        /* another hash */
        {"sha256:", 0},            /* empty */
        {"sha256:" HEX64 "0", 0},  /* one digit too many */
        {"sha256:" HEX64 ":", 0},  /* trailing separator */
        {"sha256: " HEX64, 0},     /* space */
        {"sha256:" COLONS ":", 0}, /* trailing colon */
        {"sha256:0g112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
         0}, /* not hex */
        {"sha256:00-11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:"
         "BB:CC:DD:EE:FF",
         0}, /* wrong separator */
        {"sha256:0011:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:"
         "BB:CC:DD:EE:FF",
         0}, /* a colon missing */
        {"sha256/" HEX64, 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint8_t d[SK_TLS_SHA256_LEN];
        const char *why = NULL;
        int r = sk_tls_pin_parse(t[i].in, d, &why);
        if (t[i].ok) {
            assert_int_equal(r, 0);
            assert_int_equal(d[0], 0x00);
            assert_int_equal(d[10], 0xaa);
            assert_int_equal(d[31], 0xff);
        } else {
            if (r == 0)
                fail_msg("accepted '%s'", t[i].in);
            assert_int_equal(r, -EINVAL);
            assert_non_null(why);
        }
    }
}

static void pin_format_round_trip(void **state)
{
    (void)state;
    uint8_t d[SK_TLS_SHA256_LEN], back[SK_TLS_SHA256_LEN];
    char s[SK_TLS_FP_STRLEN];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 37 + 5);
    assert_int_equal(sk_tls_pin_format(d, s, sizeof(s)), SK_TLS_FP_STRLEN - 1);
    assert_int_equal(strncmp(s, "sha256:05:2A:4F:", 16), 0);
    assert_int_equal(sk_tls_pin_parse(s, back, NULL), 0);
    assert_memory_equal(d, back, sizeof(d));
    assert_int_equal(sk_tls_pin_format(d, s, sizeof(s) - 1), -ENOSPC);
}

static void name_check_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
    } t[] = {
        {"localhost", 1},
        {"127.0.0.1", 1},
        {"::1", 1},
        {"example.test", 1},
        {"*.example.test", 1},
        {"a-b.c", 1},
        {"x", 1},
        {"", 0},
        {"-a.test", 0},
        {"a-.test", 0},
        {"a..b", 0},
        {"a.b.", 0},
        {"a b", 0},
        {"a,DNS:evil", 0},
        {"*", 0},
        {"a.*.test", 0},
        {"300.1.1.1", 0},
        {"1x.test", 1},
        {"a.123", 0},
        {"under_score", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int r = sk_tls_name_check(t[i].in);
        if ((r == 0) != t[i].ok)
            fail_msg("'%s': %d", t[i].in, r);
    }
    char label[70];
    memset(label, 'a', 64);
    label[64] = '\0';
    assert_int_equal(sk_tls_name_check(label), -EINVAL); /* a label is at most 63 */
    label[63] = '\0';
    assert_int_equal(sk_tls_name_check(label), 0);
}

static void tls_errors_have_messages(void **state)
{
    (void)state;
    for (int e = SK_ETLS_BASE; e >= SK_ETLS_LAST; e--) {
        assert_true(sk_is_tls_error(e));
        assert_non_null(strstr(sk_strerror(e), e == SK_ETLS_CLOSED ? "closed" : "TLS") ||
                        strstr(sk_strerror(e), "certificate"));
    }
    assert_non_null(strstr(sk_strerror(SK_ETLS_EXPIRED), "expired"));
    assert_non_null(strstr(sk_strerror(SK_ETLS_HOSTNAME), "host name"));
    assert_non_null(strstr(sk_strerror(SK_ETLS_PIN), "pin"));
    assert_non_null(strstr(sk_strerror(SK_ETLS_UNKNOWN_CA), "unknown CA"));
    assert_non_null(strstr(sk_strerror(SK_ETLS_SELF_SIGNED), "self-signed"));
    assert_false(sk_is_tls_error(-EINVAL));
}

/* ---- a directory with a certificate pair ---- */

struct pair {
    char dir[64], cert[96], key[96], fp[SK_TLS_FP_STRLEN];
};

static void make_pair(struct pair *p, const char *const *names, size_t n)
{
    char why[256] = "";
    snprintf(p->dir, sizeof(p->dir), "/tmp/sockit-test-tls-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->cert, sizeof(p->cert), "%s/cert.pem", p->dir);
    snprintf(p->key, sizeof(p->key), "%s/key.pem", p->dir);
    int r = sk_tls_cert_write(names, n, 30, p->dir, p->fp, why, sizeof(why));
    if (r < 0)
        fail_msg("cert: %s", why);
}

static void remove_pair(struct pair *p)
{
    unlink(p->cert);
    unlink(p->key);
    rmdir(p->dir);
}

static void cert_write_modes_and_refusals(void **state)
{
    (void)state;
    static const char *const names[] = {"localhost", "127.0.0.1"};
    struct pair p;
    make_pair(&p, names, 2);
    struct stat st;
    assert_int_equal(stat(p.key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(p.cert, &st), 0);
    assert_int_equal(strncmp(p.fp, "sha256:", 7), 0);

    /* Never replaced: a second run fails and leaves both files as they were. */
    char fp2[SK_TLS_FP_STRLEN], why[256] = "";
    off_t size = st.st_size;
    assert_int_equal(sk_tls_cert_write(names, 2, 30, p.dir, fp2, why, sizeof(why)), -EEXIST);
    assert_non_null(strstr(why, "exists"));
    assert_int_equal(stat(p.cert, &st), 0);
    assert_int_equal(st.st_size, size);

    /* A server context from the files has exactly that certificate. */
    struct sk_tls_server_opts so = {.cert_file = p.cert, .key_file = p.key};
    struct sk_tls_ctx *ctx;
    char fp3[SK_TLS_FP_STRLEN];
    assert_int_equal(sk_tls_server_ctx(&so, &ctx, why, sizeof(why)), 0);
    assert_int_equal(sk_tls_ctx_fingerprint(ctx, fp3, sizeof(fp3)), SK_TLS_FP_STRLEN - 1);
    assert_string_equal(fp3, p.fp);
    sk_tls_ctx_free(ctx);
    remove_pair(&p);

    static const char *const bad[] = {"a,DNS:evil"};
    assert_int_equal(sk_tls_cert_write(bad, 1, 30, "/tmp", fp2, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "a,DNS:evil"));
}

static void bad_files_are_named(void **state)
{
    (void)state;
    struct sk_tls_server_opts so = {.cert_file = "/nonexistent/c.pem", .key_file = "/etc/hostname"};
    struct sk_tls_ctx *ctx = NULL;
    char why[256] = "";
    assert_true(sk_tls_server_ctx(&so, &ctx, why, sizeof(why)) < 0);
    assert_non_null(strstr(why, "/nonexistent/c.pem"));
    struct sk_tls_client_opts co = {.pin = "sha256:12"};
    assert_int_equal(sk_tls_client_ctx(&co, &ctx, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "--pin"));
    struct sk_tls_client_opts cca = {.ca_file = "/nonexistent/ca.pem"};
    assert_true(sk_tls_client_ctx(&cca, &ctx, why, sizeof(why)) < 0);
    assert_non_null(strstr(why, "/nonexistent/ca.pem"));
}

/* ---- handshakes in memory ---- */

static size_t move(struct sk_tls *from, struct sk_tls *to)
{
    char buf[16384];
    size_t total = 0;
    ssize_t n;
    while ((n = sk_tls_drain(from, buf, sizeof(buf))) > 0) {
        assert_int_equal(sk_tls_feed(to, buf, (size_t)n), n);
        total += (size_t)n;
    }
    return total;
}

/* Step both sides until neither moves; their outcomes in *rc and *rs. */
static void handshake(struct sk_tls *c, struct sk_tls *s, int *rc, int *rs)
{
    *rc = *rs = -EAGAIN;
    for (int i = 0; i < 50; i++) {
        if (*rc == -EAGAIN)
            *rc = sk_tls_handshake_step(c);
        size_t m = move(c, s);
        if (*rs == -EAGAIN)
            *rs = sk_tls_handshake_step(s);
        m += move(s, c);
        if (m == 0 && (*rc != -EAGAIN || *rs != -EAGAIN))
            break;
    }
}

struct duo {
    struct sk_tls_ctx *sctx, *cctx;
    struct sk_tls *s, *c;
    int rc, rs;
};

static void duo_run(struct duo *d, const struct sk_tls_server_opts *so,
                    const struct sk_tls_client_opts *co, const char *name, const char *sni)
{
    char why[256] = "";
    memset(d, 0, sizeof(*d));
    if (sk_tls_server_ctx(so, &d->sctx, why, sizeof(why)) < 0)
        fail_msg("server ctx: %s", why);
    if (sk_tls_client_ctx(co, &d->cctx, why, sizeof(why)) < 0)
        fail_msg("client ctx: %s", why);
    assert_int_equal(sk_tls_server(d->sctx, -1, &d->s), 0);
    assert_int_equal(sk_tls_client(d->cctx, -1, name, sni, &d->c), 0);
    handshake(d->c, d->s, &d->rc, &d->rs);
}

static void duo_free(struct duo *d)
{
    sk_tls_free(d->c);
    sk_tls_free(d->s);
    sk_tls_ctx_free(d->cctx);
    sk_tls_ctx_free(d->sctx);
}

static void pinned_ephemeral_session_moves_data(void **state)
{
    (void)state;
    static const char *const names[] = {"localhost", "127.0.0.1"};
    struct sk_tls_server_opts so = {.names = names, .nnames = 2, .alpn = "http/1.1"};
    struct sk_tls_ctx *probe;
    char why[256], fp[SK_TLS_FP_STRLEN];
    assert_int_equal(sk_tls_server_ctx(&so, &probe, why, sizeof(why)), 0);
    assert_int_equal(sk_tls_ctx_fingerprint(probe, fp, sizeof(fp)), SK_TLS_FP_STRLEN - 1);

    /* Each ephemeral context has its own certificate: pin this one by
     * running the session on it. */
    struct sk_tls_client_opts co = {.pin = fp, .alpn = "http/1.1"};
    struct sk_tls_ctx *cctx;
    assert_int_equal(sk_tls_client_ctx(&co, &cctx, why, sizeof(why)), 0);
    struct sk_tls *s, *c;
    assert_int_equal(sk_tls_server(probe, -1, &s), 0);
    assert_int_equal(sk_tls_client(cctx, -1, "localhost", NULL, &c), 0);
    int rc, rs;
    handshake(c, s, &rc, &rs);
    assert_int_equal(rc, 0);
    assert_int_equal(rs, 0);
    assert_string_equal(sk_tls_version(c), "TLSv1.3");
    assert_string_equal(sk_tls_alpn(c), "http/1.1");
    assert_string_equal(sk_tls_alpn(s), "http/1.1");
    assert_non_null(sk_tls_sni(s));
    assert_string_equal(sk_tls_sni(s), "localhost");
    char peer[SK_TLS_FP_STRLEN];
    assert_true(sk_tls_peer_fingerprint(c, peer, sizeof(peer)) > 0);
    assert_string_equal(peer, fp);
    assert_int_equal(sk_tls_peer_fingerprint(s, peer, sizeof(peer)), -ENOENT);

    /* 1 MiB client to server, then a reply, byte-exact. */
    size_t n = 1 << 20, got = 0, off = 0;
    unsigned char *big = malloc(n), *in = malloc(n);
    assert_non_null(big);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 131 + (i >> 9));
    while (got < n) {
        if (off < n) {
            ssize_t w = sk_tls_write(c, big + off, n - off);
            assert_true(w > 0);
            off += (size_t)w;
        }
        move(c, s);
        ssize_t r = 0;
        while (got < n && (r = sk_tls_read(s, in + got, n - got)) > 0)
            got += (size_t)r;
        assert_true(got == n || r == -EAGAIN);
        move(s, c); /* tickets, acknowledgements */
    }
    assert_memory_equal(big, in, n);
    assert_int_equal(sk_tls_write(s, "pong", 4), 4);
    move(s, c);
    char reply[8];
    assert_int_equal(sk_tls_read(c, reply, sizeof(reply)), 4);
    assert_memory_equal(reply, "pong", 4);
    assert_int_equal(sk_tls_read(c, reply, sizeof(reply)), -EAGAIN);

    /* close_notify: the server reads the end; TLS 1.3 lets it still answer. */
    assert_int_equal(sk_tls_shutdown(c), 0);
    move(c, s);
    assert_int_equal(sk_tls_read(s, in, n), 0);
    assert_int_equal(sk_tls_write(s, "bye", 3), 3);
    move(s, c);
    assert_int_equal(sk_tls_read(c, reply, sizeof(reply)), 3);

    free(big);
    free(in);
    sk_tls_free(c);
    sk_tls_free(s);
    sk_tls_ctx_free(cctx);
    sk_tls_ctx_free(probe);
}

static void verification_failures_are_named(void **state)
{
    (void)state;
    static const char *const names[] = {"localhost", "127.0.0.1"};
    struct pair p;
    make_pair(&p, names, 2);
    struct sk_tls_server_opts so = {.cert_file = p.cert, .key_file = p.key};
    static const char zero_pin[] = "sha256:" HEX64;
    struct {
        struct sk_tls_client_opts co;
        const char *name, *sni;
        int want;
        const char *why;
    } t[] = {
        /* trusted (the self-signed leaf is the CA) and the name matches */
        {{.ca_file = p.cert}, "localhost", NULL, 0, NULL},
        {{.ca_file = p.cert}, "127.0.0.1", NULL, 0, NULL},
        {{.ca_file = p.cert}, "127.0.0.1", "localhost", 0, NULL},
        {{.pin = p.fp}, "wrong.test", NULL, 0, NULL}, /* a pin ignores names and issuers */
        {{.insecure = 1}, "wrong.test", NULL, 0, NULL},
        {{.ca_file = p.cert}, "other.test", NULL, SK_ETLS_HOSTNAME, "not for other.test"},
        {{.ca_file = p.cert}, "127.0.0.2", NULL, SK_ETLS_HOSTNAME, "not for 127.0.0.2"},
        {{.ca_file = p.cert}, "127.0.0.1", "other.test", SK_ETLS_HOSTNAME, "other.test"},
        {{0}, "localhost", NULL, SK_ETLS_SELF_SIGNED, "self-signed"}, /* system store */
        {{.pin = zero_pin}, "localhost", NULL, SK_ETLS_PIN, p.fp},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct duo d;
        duo_run(&d, &so, &t[i].co, t[i].name, t[i].sni);
        if (d.rc != t[i].want)
            fail_msg("case %zu: %d (%s), want %d", i, d.rc, sk_tls_why(d.c), t[i].want);
        if (t[i].want) {
            assert_non_null(strstr(sk_tls_why(d.c), t[i].why));
            assert_true(d.rs < 0); /* the server saw the alert */
        } else {
            assert_int_equal(d.rs, 0);
        }
        duo_free(&d);
    }
    remove_pair(&p);
}

static void mutual_tls(void **state)
{
    (void)state;
    static const char *const sn[] = {"localhost"}, *const cn[] = {"client.test"};
    struct pair sp, cp;
    make_pair(&sp, sn, 1);
    make_pair(&cp, cn, 1);
    struct sk_tls_server_opts so = {.cert_file = sp.cert, .key_file = sp.key, .client_ca = cp.cert};

    struct sk_tls_client_opts with = {.pin = sp.fp, .cert_file = cp.cert, .key_file = cp.key};
    struct duo d;
    duo_run(&d, &so, &with, "localhost", NULL);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.rs, 0);
    char fp[SK_TLS_FP_STRLEN];
    assert_true(sk_tls_peer_fingerprint(d.s, fp, sizeof(fp)) > 0);
    assert_string_equal(fp, cp.fp);
    duo_free(&d);

    /* Without a certificate the server refuses; a TLS 1.3 client learns it
     * from the alert on its first read. */
    struct sk_tls_client_opts without = {.pin = sp.fp};
    duo_run(&d, &so, &without, "localhost", NULL);
    assert_true(d.rs < 0);
    char b[16];
    int r = d.rc < 0 ? d.rc : (int)sk_tls_read(d.c, b, sizeof(b));
    assert_int_equal(r, SK_ETLS_PROTOCOL);
    assert_non_null(strstr(sk_tls_why(d.c), "certificate"));
    duo_free(&d);
    remove_pair(&sp);
    remove_pair(&cp);
}

static void garbage_instead_of_client_hello(void **state)
{
    (void)state;
    struct sk_tls_server_opts so = {0};
    struct sk_tls_ctx *ctx;
    struct sk_tls *s;
    char why[256];
    assert_int_equal(sk_tls_server_ctx(&so, &ctx, why, sizeof(why)), 0);
    assert_int_equal(sk_tls_server(ctx, -1, &s), 0);
    assert_int_equal(sk_tls_handshake_step(s), -EAGAIN); /* nothing yet: feed more */
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(sk_tls_feed(s, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    assert_int_equal(sk_tls_handshake_step(s), SK_ETLS_PROTOCOL);
    assert_non_null(strstr(sk_tls_why(s), "TLS handshake failed"));
    sk_tls_free(s);
    sk_tls_ctx_free(ctx);
}

/* Failed handshakes in a loop: each frees what it made (LeakSanitizer at
 * exit would name anything left), and the contexts stay usable. */
static void many_failed_handshakes_leave_nothing(void **state)
{
    (void)state;
    struct sk_tls_server_opts so = {0};
    struct sk_tls_client_opts co = {.pin = "sha256:" HEX64};
    struct sk_tls_ctx *sctx, *cctx;
    char why[256];
    assert_int_equal(sk_tls_server_ctx(&so, &sctx, why, sizeof(why)), 0);
    assert_int_equal(sk_tls_client_ctx(&co, &cctx, why, sizeof(why)), 0);
    static const char garbage[] = "\x16\x03\x01\x00\x05hello, not a ClientHello";
    for (int i = 0; i < 300; i++) {
        struct sk_tls *s, *c;
        int rc, rs;
        assert_int_equal(sk_tls_server(sctx, -1, &s), 0);
        if (i % 2) {
            assert_int_equal(sk_tls_client(cctx, -1, "localhost", NULL, &c), 0);
            handshake(c, s, &rc, &rs);
            assert_int_equal(rc, SK_ETLS_PIN);
            sk_tls_free(c);
        } else {
            sk_tls_feed(s, garbage, sizeof(garbage) - 1);
            assert_int_equal(sk_tls_handshake_step(s), SK_ETLS_PROTOCOL);
        }
        sk_tls_free(s);
    }
    sk_tls_ctx_free(cctx);
    sk_tls_ctx_free(sctx);
}

/* ---- a raw OpenSSL client with what sockit's never offers ---- */

struct raw {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out; /* in: what the client reads; out: what it wrote */
};

static void raw_new(struct raw *r, int minv, int maxv)
{
    r->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(r->ctx);
    SSL_CTX_set_security_level(r->ctx, 0); /* TLS 1.0/1.1 need it in OpenSSL 3 */
    assert_int_equal(SSL_CTX_set_cipher_list(r->ctx, "DEFAULT:@SECLEVEL=0"), 1);
    SSL_CTX_set_min_proto_version(r->ctx, minv);
    SSL_CTX_set_max_proto_version(r->ctx, maxv);
    SSL_CTX_set_verify(r->ctx, SSL_VERIFY_NONE, NULL);
    r->ssl = SSL_new(r->ctx);
    r->in = BIO_new(BIO_s_mem());
    r->out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(r->in, -1);
    SSL_set_bio(r->ssl, r->in, r->out);
    SSL_set_connect_state(r->ssl);
}

static void raw_free(struct raw *r)
{
    SSL_free(r->ssl);
    SSL_CTX_free(r->ctx);
}

/* Move bytes between the raw client and s; returns how many moved. */
static size_t raw_pump(struct raw *r, struct sk_tls *s)
{
    char buf[16384];
    size_t total = 0;
    int n;
    while ((n = BIO_read(r->out, buf, sizeof(buf))) > 0) {
        assert_int_equal(sk_tls_feed(s, buf, (size_t)n), n);
        total += (size_t)n;
    }
    ssize_t m;
    while ((m = sk_tls_drain(s, buf, sizeof(buf))) > 0) {
        assert_int_equal(BIO_write(r->in, buf, (int)m), m);
        total += (size_t)m;
    }
    return total;
}

static int raw_handshake(struct raw *r, struct sk_tls *s, int *rs)
{
    int rc = -1;
    *rs = -EAGAIN;
    for (int i = 0; i < 50; i++) {
        rc = SSL_do_handshake(r->ssl);
        size_t m = raw_pump(r, s);
        if (*rs == -EAGAIN)
            *rs = sk_tls_handshake_step(s);
        m += raw_pump(r, s);
        if (m == 0)
            break;
    }
    return rc;
}

static void old_versions_and_renegotiation_refused(void **state)
{
    (void)state;
    struct sk_tls_server_opts so = {0};
    struct sk_tls_ctx *ctx;
    char why[256];
    assert_int_equal(sk_tls_server_ctx(&so, &ctx, why, sizeof(why)), 0);

    /* A client of TLS 1.0 or 1.1 only: refused, named as a protocol failure. */
    static const int old[] = {TLS1_VERSION, TLS1_1_VERSION};
    for (size_t i = 0; i < 2; i++) {
        struct raw r;
        struct sk_tls *s;
        int rs;
        raw_new(&r, old[i], old[i]);
        assert_int_equal(sk_tls_server(ctx, -1, &s), 0);
        assert_true(raw_handshake(&r, s, &rs) != 1);
        assert_int_equal(rs, SK_ETLS_PROTOCOL);
        assert_non_null(strstr(sk_tls_why(s), "protocol"));
        sk_tls_free(s);
        raw_free(&r);
        ERR_clear_error();
    }

    /* TLS 1.2 works, but a renegotiation is refused: the client hears
     * no_renegotiation. */
    struct raw r;
    struct sk_tls *s;
    int rs;
    raw_new(&r, TLS1_2_VERSION, TLS1_2_VERSION);
    assert_int_equal(sk_tls_server(ctx, -1, &s), 0);
    assert_int_equal(raw_handshake(&r, s, &rs), 1);
    assert_int_equal(rs, 0);
    assert_string_equal(sk_tls_version(s), "TLSv1.2");
    assert_int_equal(SSL_renegotiate(r.ssl), 1);
    SSL_do_handshake(r.ssl);
    raw_pump(&r, s);
    char b[16];
    assert_int_equal(sk_tls_read(s, b, sizeof(b)), -EAGAIN);
    raw_pump(&r, s);
    int hr = SSL_do_handshake(r.ssl);
    assert_int_equal(hr, -1);
    assert_int_equal(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
    ERR_clear_error();
    sk_tls_free(s);
    raw_free(&r);
    sk_tls_ctx_free(ctx);
}

/* ---- handshakes over descriptors ---- */

struct side {
    struct sk_tls *t;
    int r;
    char buf[64];
    ssize_t got;
};

static void *server_side(void *arg)
{
    struct side *sd = arg;
    sd->r = sk_tls_handshake(sd->t, 5000);
    if (sd->r == 0) {
        sd->got = sk_tls_read(sd->t, sd->buf, sizeof(sd->buf)); /* blocking descriptor */
        if (sd->got > 0 && sk_tls_write(sd->t, sd->buf, (size_t)sd->got) != sd->got)
            sd->got = -1;
    }
    return NULL;
}

static void descriptor_handshake_both_roles(void **state)
{
    (void)state;
    static const char *const names[] = {"localhost"};
    struct sk_tls_server_opts so = {.names = names, .nnames = 1};
    struct sk_tls_ctx *sctx, *cctx;
    char why[256], fp[SK_TLS_FP_STRLEN];
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(sk_tls_server_ctx(&so, &sctx, why, sizeof(why)), 0);
    assert_true(sk_tls_ctx_fingerprint(sctx, fp, sizeof(fp)) > 0);
    struct sk_tls_client_opts co = {.pin = fp};
    assert_int_equal(sk_tls_client_ctx(&co, &cctx, why, sizeof(why)), 0);

    struct side srv = {0};
    struct sk_tls *c;
    assert_int_equal(sk_tls_server(sctx, sv[1], &srv.t), 0);
    assert_int_equal(sk_tls_client(cctx, sv[0], "localhost", NULL, &c), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, server_side, &srv), 0);
    assert_int_equal(sk_tls_handshake(c, 5000), 0);
    /* The descriptor's blocking mode is given back after the handshake. */
    assert_int_equal(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
    assert_int_equal(sk_tls_write(c, "ping", 4), 4);
    char b[8];
    assert_int_equal(sk_tls_read(c, b, sizeof(b)), 4);
    assert_memory_equal(b, "ping", 4);
    pthread_join(th, NULL);
    assert_int_equal(srv.r, 0);
    assert_int_equal(srv.got, 4);
    sk_tls_free(c);
    sk_tls_free(srv.t);
    close(sv[0]);
    close(sv[1]);
    sk_tls_ctx_free(cctx);
    sk_tls_ctx_free(sctx);
}

static void handshake_deadline_with_a_silent_peer(void **state)
{
    (void)state;
    struct sk_tls_client_opts co = {.insecure = 1};
    struct sk_tls_ctx *cctx;
    char why[256];
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(sk_tls_client_ctx(&co, &cctx, why, sizeof(why)), 0);
    struct sk_tls *c;
    assert_int_equal(sk_tls_client(cctx, sv[0], "localhost", NULL, &c), 0);
    int64_t t0 = sk_now_ms();
    assert_int_equal(sk_tls_handshake(c, 200), -ETIMEDOUT);
    int64_t took = sk_now_ms() - t0;
    assert_true(took >= 190);
    assert_non_null(strstr(sk_tls_why(c), "timed out"));
    sk_tls_free(c);

    /* A peer that closes instead of answering: named, at once. */
    assert_int_equal(sk_tls_client(cctx, sv[0], "localhost", NULL, &c), 0);
    close(sv[1]);
    int r = sk_tls_handshake(c, 5000);
    assert_true(r == SK_ETLS_CLOSED || r == -ECONNRESET || r == -EPIPE);
    sk_tls_free(c);
    close(sv[0]);
    sk_tls_ctx_free(cctx);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* descriptors are written with write(2) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pin_parse_table),
        cmocka_unit_test(pin_format_round_trip),
        cmocka_unit_test(name_check_table),
        cmocka_unit_test(tls_errors_have_messages),
        cmocka_unit_test(cert_write_modes_and_refusals),
        cmocka_unit_test(bad_files_are_named),
        cmocka_unit_test(pinned_ephemeral_session_moves_data),
        cmocka_unit_test(verification_failures_are_named),
        cmocka_unit_test(mutual_tls),
        cmocka_unit_test(garbage_instead_of_client_hello),
        cmocka_unit_test(many_failed_handshakes_leave_nothing),
        cmocka_unit_test(old_versions_and_renegotiation_refused),
        cmocka_unit_test(descriptor_handshake_both_roles),
        cmocka_unit_test(handshake_deadline_with_a_silent_peer),
    };
    return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
