/*
 * tls.c - TLS over OpenSSL 3: the self-signed certificate maker, server and
 * client contexts (versions, verification, pins, client certificates, ALPN,
 * SNI), and the connection API over a descriptor or over memory (the seam
 * the event-loop transport will use; see tls.h). OpenSSL's failures become
 * an SK_ETLS* code plus a sentence; verification failures are named.
 */
#include "sockit/tls.h"

#include "sockit/util.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sk_tls_ctx {
    SSL_CTX *ssl_ctx;
    int server;
    int check_name; /* client: verify the host name (not pinned, not insecure) */
    int pinned;
    uint8_t pin[SK_TLS_SHA256_LEN];
    unsigned char alpn[256]; /* wire format: length-prefixed names */
    size_t alpn_len;
};

struct sk_tls {
    SSL *ssl;
    struct sk_tls_ctx *ctx;
    int fd;
    short want;
    int pin_failed;
    int truncated;  /* the stream ended without the peer's close_notify */
    char name[256]; /* the name verified, for the why text */
    char seen[SK_TLS_FP_STRLEN];
    char alpn[256];
    char why[384];
};

/* ---- sentences ---- */

static void setwhy(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setwhy(char *why, size_t n, const char *fmt, ...)
{
    if (!why || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

/* OpenSSL's reason for the last failure, and the error queue cleared. */
static const char *ossl_reason(char *buf, size_t n)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r)
        snprintf(buf, n, "%s", r);
    else if (e)
        ERR_error_string_n(e, buf, n);
    else
        snprintf(buf, n, "unknown OpenSSL error");
    ERR_clear_error();
    return buf;
}

static int fail_ossl(char *why, size_t n, int err, const char *what)
{
    char r[200];
    setwhy(why, n, "%s: %s", what, ossl_reason(r, sizeof(r)));
    return err;
}

/* ---- certificates ---- */

static int digest(const X509 *x, uint8_t md[SK_TLS_SHA256_LEN])
{
    unsigned int len = 0;
    if (!X509_digest(x, EVP_sha256(), md, &len) || len != SK_TLS_SHA256_LEN)
        return -EIO;
    return 0;
}

static int fingerprint(const X509 *x, char *buf, size_t n)
{
    uint8_t md[SK_TLS_SHA256_LEN];
    if (!x)
        return -ENOENT;
    if (digest(x, md) < 0)
        return -EIO;
    return sk_tls_pin_format(md, buf, n);
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!e)
        return -1;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

static int add_sans(X509 *x, const char *const *names, size_t n)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int r = -1;
    if (!gens)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(names[i], names[j]) == 0;
        if (dup)
            continue;
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(names[i]);
        if (!g)
            goto out;
        if (ip) {
            GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
        } else {
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();
            if (!s || !ASN1_STRING_set(s, names[i], -1)) {
                ASN1_IA5STRING_free(s);
                GENERAL_NAME_free(g);
                goto out;
            }
            GENERAL_NAME_set0_value(g, GEN_DNS, s);
        }
        if (!sk_GENERAL_NAME_push(gens, g)) {
            GENERAL_NAME_free(g);
            goto out;
        }
    }
    r = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
out:
    GENERAL_NAMES_free(gens);
    return r;
}

/* A self-signed ECDSA P-256 certificate for names, valid days days. */
static int make_cert(const char *const *names, size_t n, int days, X509 **xo, EVP_PKEY **ko,
                     char *why, size_t wl)
{
    static const char *const fallback[] = {"localhost"};
    if (n == 0) {
        names = fallback;
        n = 1;
    }
    for (size_t i = 0; i < n; i++)
        if (sk_tls_name_check(names[i]) < 0) {
            setwhy(why, wl, "'%s' is not a host name or address a certificate can hold", names[i]);
            return -EINVAL;
        }
    if (days < 1 || days > 36500) {
        setwhy(why, wl, "a certificate is valid for 1 to 36500 days");
        return -EINVAL;
    }

    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    unsigned char serial[16];
    if (!key || !x)
        goto fail;
    /* A random positive 127-bit serial, as RFC 5280 asks (unique, <= 20 bytes). */
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto fail;
    if (!X509_set_version(x, X509_VERSION_3) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL))
        goto fail;
    /* The CN holds at most 64 characters; the SANs are what clients check. */
    const char *cn = strlen(names[0]) <= 64 ? names[0] : "sockit";
    X509_NAME *nm = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, nm) || !X509_set_pubkey(x, key))
        goto fail;
    if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
        add_ext(x, NID_subject_key_identifier, "hash") < 0 || add_sans(x, names, n) < 0)
        goto fail;
    if (!X509_sign(x, key, EVP_sha256()))
        goto fail;
    BN_free(bn);
    *xo = x;
    *ko = key;
    return 0;
fail:
    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(key);
    return fail_ossl(why, wl, -ENOMEM, "making the certificate");
}

/* Create path exclusively with mode and write one PEM object to it. */
static int write_pem(const char *path, mode_t mode, X509 *x, EVP_PKEY *key, char *why, size_t wl)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        setwhy(why, wl, "%s: %s%s", path, sk_strerror(-e),
               e == EEXIST ? " (sockit never replaces a key; remove it first)" : "");
        return -e;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(path);
        setwhy(why, wl, "%s: %s", path, sk_strerror(-e));
        return -e;
    }
    int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    int ce = fclose(f);
    if (!ok || ce != 0) {
        unlink(path);
        setwhy(why, wl, "%s: writing failed", path);
        ERR_clear_error();
        return -EIO;
    }
    return 0;
}

int sk_tls_cert_write(const char *const *names, size_t nnames, int days, const char *dir,
                      char fp[SK_TLS_FP_STRLEN], char *why, size_t whylen)
{
    char cpath[4096], kpath[4096];
    if ((size_t)snprintf(cpath, sizeof(cpath), "%s/cert.pem", dir) >= sizeof(cpath) ||
        (size_t)snprintf(kpath, sizeof(kpath), "%s/key.pem", dir) >= sizeof(kpath)) {
        setwhy(why, whylen, "%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    /* Neither file is replaced: look before making anything. */
    struct stat st;
    if (lstat(cpath, &st) == 0 || lstat(kpath, &st) == 0) {
        const char *p = lstat(kpath, &st) == 0 ? kpath : cpath;
        setwhy(why, whylen, "%s exists (sockit never replaces a certificate or key)", p);
        return -EEXIST;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        setwhy(why, whylen, "%s: %s", dir, sk_strerror(-e));
        return -e;
    }

    X509 *x;
    EVP_PKEY *key;
    int r = make_cert(names, nnames, days, &x, &key, why, whylen);
    if (r < 0)
        return r;
    if ((r = fingerprint(x, fp, SK_TLS_FP_STRLEN)) < 0)
        goto out;
    if ((r = write_pem(kpath, 0600, NULL, key, why, whylen)) < 0)
        goto out;
    if ((r = write_pem(cpath, 0644, x, NULL, why, whylen)) < 0) {
        unlink(kpath);
        goto out;
    }
    r = 0;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return r;
}

/* ---- contexts ---- */

static int set_alpn(struct sk_tls_ctx *c, const char *proto, char *why, size_t wl)
{
    size_t len = strlen(proto);
    if (len == 0 || len > 255) {
        setwhy(why, wl, "ALPN protocol '%s': 1 to 255 bytes", proto);
        return -EINVAL;
    }
    c->alpn[0] = (unsigned char)len;
    memcpy(c->alpn + 1, proto, len);
    c->alpn_len = len + 1;
    return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    struct sk_tls_ctx *c = arg;
    unsigned char *o;
    if (SSL_select_next_proto(&o, outlen, c->alpn, (unsigned)c->alpn_len, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = o;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK; /* no common protocol: go on without ALPN */
}

/* Any server name is accepted: there is one certificate; sk_tls_sni() tells
 * the name asked for. */
static int sni_accept(SSL *ssl, int *alert, void *arg)
{
    (void)ssl;
    (void)alert;
    (void)arg;
    return SSL_TLSEXT_ERR_OK;
}

static struct sk_tls_ctx *ctx_new(int server)
{
    struct sk_tls_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->server = server;
    c->ssl_ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c->ssl_ctx) {
        free(c);
        return NULL;
    }
    SSL_CTX *s = c->ssl_ctx;
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION);
    SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    /* Partial writes and a buffer that may move between retries: the callers
     * write from buffers that slide. */
    SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return c;
}

static int load_pair(SSL_CTX *s, const char *cert, const char *key, char *why, size_t wl)
{
    if (!key) {
        setwhy(why, wl, "a certificate needs its key (--tls-key)");
        return -EINVAL;
    }
    if (SSL_CTX_use_certificate_chain_file(s, cert) != 1)
        return fail_ossl(why, wl, -EINVAL, cert);
    if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1)
        return fail_ossl(why, wl, -EINVAL, key);
    if (SSL_CTX_check_private_key(s) != 1)
        return fail_ossl(why, wl, -EINVAL, key);
    return 0;
}

int sk_tls_server_ctx(const struct sk_tls_server_opts *o, struct sk_tls_ctx **out, char *why,
                      size_t whylen)
{
    struct sk_tls_ctx *c = ctx_new(1);
    int r;
    if (!c) {
        setwhy(why, whylen, "%s", sk_strerror(-ENOMEM));
        return -ENOMEM;
    }
    SSL_CTX *s = c->ssl_ctx;
    /* Sessions resume by ticket; a context id lets them resume also under
     * mutual TLS. One ticket per TLS 1.3 handshake, not OpenSSL's two: each
     * costs the server about 6% of a full handshake (callgrind: 2.83M
     * instructions with two, 2.65M with one; docs/BENCHMARKS.md), and a
     * client resuming gets a fresh one each time, so one is enough but for
     * connections opened in parallel from one full handshake. */
    SSL_CTX_set_session_id_context(s, (const unsigned char *)"sockit", 6);
    SSL_CTX_set_num_tickets(s, 1);
    SSL_CTX_set_tlsext_servername_callback(s, sni_accept);
    if (o->cert_file) {
        if ((r = load_pair(s, o->cert_file, o->key_file, why, whylen)) < 0)
            goto fail;
    } else {
        X509 *x;
        EVP_PKEY *key;
        if ((r = make_cert(o->names, o->nnames, 30, &x, &key, why, whylen)) < 0)
            goto fail;
        int ok = SSL_CTX_use_certificate(s, x) == 1 && SSL_CTX_use_PrivateKey(s, key) == 1;
        X509_free(x);
        EVP_PKEY_free(key);
        if (!ok) {
            r = fail_ossl(why, whylen, -EINVAL, "ephemeral certificate");
            goto fail;
        }
    }
    if (o->client_ca) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->client_ca);
        if (!names || SSL_CTX_load_verify_locations(s, o->client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            r = fail_ossl(why, whylen, -EINVAL, o->client_ca);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(s, names);
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (o->alpn) {
        if ((r = set_alpn(c, o->alpn, why, whylen)) < 0)
            goto fail;
        SSL_CTX_set_alpn_select_cb(s, alpn_select, c);
    }
    *out = c;
    return 0;
fail:
    sk_tls_ctx_free(c);
    return r;
}

/* The whole chain check, replaced when pinned: the leaf's SHA-256 is the
 * pin or the handshake fails. */
static int pin_verify(X509_STORE_CTX *sc, void *arg)
{
    struct sk_tls_ctx *c = arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(sc, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct sk_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(sc);
    uint8_t md[SK_TLS_SHA256_LEN];
    if (leaf && digest(leaf, md) == 0 && memcmp(md, c->pin, sizeof(md)) == 0)
        return 1;
    if (t) {
        t->pin_failed = 1;
        if (!leaf || sk_tls_pin_format(md, t->seen, sizeof(t->seen)) < 0)
            t->seen[0] = '\0';
    }
    X509_STORE_CTX_set_error(sc, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

int sk_tls_client_ctx(const struct sk_tls_client_opts *o, struct sk_tls_ctx **out, char *why,
                      size_t whylen)
{
    struct sk_tls_ctx *c = ctx_new(0);
    int r;
    if (!c) {
        setwhy(why, whylen, "%s", sk_strerror(-ENOMEM));
        return -ENOMEM;
    }
    SSL_CTX *s = c->ssl_ctx;
    if (o->insecure) {
        SSL_CTX_set_verify(s, SSL_VERIFY_NONE, NULL);
    } else if (o->pin) {
        const char *w;
        if ((r = sk_tls_pin_parse(o->pin, c->pin, &w)) < 0) {
            setwhy(why, whylen, "--pin %s: %s", o->pin, w);
            goto fail;
        }
        c->pinned = 1;
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(s, pin_verify, c);
    } else {
        int ok = o->ca_file ? SSL_CTX_load_verify_locations(s, o->ca_file, NULL)
                            : SSL_CTX_set_default_verify_paths(s);
        if (ok != 1) {
            r = fail_ossl(why, whylen, -EINVAL, o->ca_file ? o->ca_file : "system CA store");
            goto fail;
        }
        c->check_name = 1;
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
    }
    if (o->cert_file && (r = load_pair(s, o->cert_file, o->key_file, why, whylen)) < 0)
        goto fail;
    if (o->alpn) {
        if ((r = set_alpn(c, o->alpn, why, whylen)) < 0)
            goto fail;
        if (SSL_CTX_set_alpn_protos(s, c->alpn, (unsigned)c->alpn_len) != 0) {
            r = fail_ossl(why, whylen, -ENOMEM, "ALPN");
            goto fail;
        }
    }
    *out = c;
    return 0;
fail:
    sk_tls_ctx_free(c);
    return r;
}

int sk_tls_ctx_fingerprint(const struct sk_tls_ctx *ctx, char *buf, size_t n)
{
    return fingerprint(SSL_CTX_get0_certificate(ctx->ssl_ctx), buf, n);
}

void sk_tls_ctx_free(struct sk_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- connections ---- */

static int conn_new(struct sk_tls_ctx *ctx, int fd, struct sk_tls **out)
{
    struct sk_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->ctx = ctx;
    t->fd = fd;
    t->want = POLLIN;
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (!t->ssl)
        goto fail;
    SSL_set_app_data(t->ssl, t);
    if (fd >= 0) {
        if (SSL_set_fd(t->ssl, fd) != 1)
            goto fail;
    } else {
        BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
        if (!rb || !wb) {
            BIO_free(rb);
            BIO_free(wb);
            goto fail;
        }
        /* An empty input buffer means "more later", not end of stream. */
        BIO_set_mem_eof_return(rb, -1);
        SSL_set_bio(t->ssl, rb, wb);
    }
    *out = t;
    return 0;
fail:
    ERR_clear_error();
    sk_tls_free(t);
    return -ENOMEM;
}

int sk_tls_server(struct sk_tls_ctx *ctx, int fd, struct sk_tls **out)
{
    int r = conn_new(ctx, fd, out);
    if (r == 0)
        SSL_set_accept_state((*out)->ssl);
    return r;
}

int sk_tls_client(struct sk_tls_ctx *ctx, int fd, const char *name, const char *sni,
                  struct sk_tls **out)
{
    struct sk_tls *t;
    int r = conn_new(ctx, fd, &t);
    if (r < 0)
        return r;
    SSL_set_connect_state(t->ssl);
    const char *vname = sni ? sni : name;
    if (vname) {
        unsigned char ip[16];
        int is_ip = inet_pton(AF_INET, vname, ip) == 1 || inet_pton(AF_INET6, vname, ip) == 1;
        snprintf(t->name, sizeof(t->name), "%s", vname);
        /* SNI carries host names only (RFC 6066: never an address). */
        if (!is_ip && SSL_set_tlsext_host_name(t->ssl, vname) != 1)
            r = -EINVAL;
        if (r == 0 && ctx->check_name) {
            int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), vname)
                           : SSL_set1_host(t->ssl, vname);
            if (ok != 1)
                r = -EINVAL;
        }
    }
    if (r < 0) {
        ERR_clear_error();
        sk_tls_free(t);
        return r;
    }
    *out = t;
    return 0;
}

/* The verification failure, named. */
static int verify_error(struct sk_tls *t)
{
    const char *who = t->ctx->server ? "the client's" : "the server's";
    if (t->pin_failed) {
        snprintf(t->why, sizeof(t->why), "%s (%s certificate is %s)", sk_strerror(SK_ETLS_PIN), who,
                 t->seen[0] ? t->seen : "unreadable");
        return SK_ETLS_PIN;
    }
    long v = SSL_get_verify_result(t->ssl);
    const char *detail = X509_verify_cert_error_string(v);
    int code, plain = 0; /* plain: the code's message says it all */
    switch (v) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        code = SK_ETLS_SELF_SIGNED;
        plain = 1;
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        code = SK_ETLS_EXPIRED;
        plain = 1;
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID: code = SK_ETLS_EXPIRED; break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        code = SK_ETLS_HOSTNAME;
        snprintf(t->why, sizeof(t->why), "%s (%s certificate is not for %s)", sk_strerror(code),
                 who, t->name);
        return code;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: code = SK_ETLS_UNKNOWN_CA; break;
    default: code = SK_ETLS_VERIFY; break;
    }
    if (plain)
        snprintf(t->why, sizeof(t->why), "%s", sk_strerror(code));
    else
        snprintf(t->why, sizeof(t->why), "%s (%s)", sk_strerror(code), detail);
    return code;
}

/* The outcome of an SSL call that returned ret <= 0. */
static int io_error(struct sk_tls *t, int ret, int handshake)
{
    int saved = errno;
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ: t->want = POLLIN; return -EAGAIN;
    case SSL_ERROR_WANT_WRITE: t->want = POLLOUT; return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        if (!handshake)
            return 0;
        snprintf(t->why, sizeof(t->why), "%s", sk_strerror(SK_ETLS_CLOSED));
        return SK_ETLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (saved && saved != EAGAIN) {
            snprintf(t->why, sizeof(t->why), "%s", sk_strerror(-saved));
            return -saved;
        }
        if (!handshake) {
            t->truncated = 1;
            return 0;
        }
        snprintf(t->why, sizeof(t->why), "%s", sk_strerror(SK_ETLS_CLOSED));
        return SK_ETLS_CLOSED;
    default: break;
    }
    unsigned long err = ERR_peek_error();
    if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
        ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        if (!handshake) {
            t->truncated = 1; /* a peer that closed without close_notify: an end, as TCP's */
            return 0;
        }
        snprintf(t->why, sizeof(t->why), "%s", sk_strerror(SK_ETLS_CLOSED));
        return SK_ETLS_CLOSED;
    }
    if (t->pin_failed || (ERR_GET_LIB(err) == ERR_LIB_SSL &&
                          ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED)) {
        ERR_clear_error();
        return verify_error(t);
    }
    char r[200];
    snprintf(t->why, sizeof(t->why), "%s: %s", sk_strerror(SK_ETLS_PROTOCOL),
             ossl_reason(r, sizeof(r)));
    return SK_ETLS_PROTOCOL;
}

int sk_tls_handshake_step(struct sk_tls *t)
{
    ERR_clear_error();
    errno = 0; /* SSL_ERROR_SYSCALL reads it: no stale value */
    int r = SSL_do_handshake(t->ssl);
    if (r != 1)
        return io_error(t, r, 1);
    const unsigned char *p;
    unsigned int len;
    SSL_get0_alpn_selected(t->ssl, &p, &len);
    snprintf(t->alpn, sizeof(t->alpn), "%.*s", (int)len, p ? (const char *)p : "");
    return 0;
}

int sk_tls_handshake(struct sk_tls *t, int timeout_ms)
{
    int fl = fcntl(t->fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(t->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    int64_t deadline = timeout_ms >= 0 ? sk_now_ms() + timeout_ms : 0;
    int r;
    while ((r = sk_tls_handshake_step(t)) == -EAGAIN) {
        int wait = -1;
        if (timeout_ms >= 0) {
            int64_t left = deadline - sk_now_ms();
            if (left <= 0) {
                r = -ETIMEDOUT;
                snprintf(t->why, sizeof(t->why), "TLS handshake timed out");
                break;
            }
            wait = (int)left;
        }
        struct pollfd p = {.fd = t->fd, .events = t->want};
        if (poll(&p, 1, wait) < 0 && errno != EINTR) {
            r = -errno;
            break;
        }
    }
    if (!(fl & O_NONBLOCK))
        fcntl(t->fd, F_SETFL, fl);
    return r;
}

ssize_t sk_tls_read(struct sk_tls *t, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    ERR_clear_error();
    errno = 0; /* SSL_ERROR_SYSCALL reads it: no stale value */
    int r = SSL_read(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : io_error(t, r, 0);
}

ssize_t sk_tls_write(struct sk_tls *t, const void *buf, size_t n)
{
    if (n == 0)
        return 0;
    ERR_clear_error();
    errno = 0; /* SSL_ERROR_SYSCALL reads it: no stale value */
    int r = SSL_write(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    r = io_error(t, r, 0);
    return r == 0 ? -EPIPE : r; /* the peer closed: nothing more can go to it */
}

int sk_tls_shutdown(struct sk_tls *t)
{
    ERR_clear_error();
    errno = 0; /* SSL_ERROR_SYSCALL reads it: no stale value */
    int r = SSL_shutdown(t->ssl);
    if (r >= 0)
        return 0; /* close_notify sent (1: the peer's came too) */
    r = io_error(t, r, 0);
    return r == 0 ? 0 : r;
}

short sk_tls_want(const struct sk_tls *t)
{
    return t->want;
}

size_t sk_tls_pending(const struct sk_tls *t)
{
    int n = SSL_pending(t->ssl);
    return n > 0 ? (size_t)n : 0;
}

ssize_t sk_tls_feed(struct sk_tls *t, const void *p, size_t n)
{
    if (t->fd >= 0)
        return -EINVAL;
    if (n == 0)
        return 0;
    int w = BIO_write(SSL_get_rbio(t->ssl), p, n > INT_MAX ? INT_MAX : (int)n);
    return w > 0 ? w : -ENOMEM;
}

ssize_t sk_tls_drain(struct sk_tls *t, void *p, size_t n)
{
    if (t->fd >= 0)
        return -EINVAL;
    if (n == 0 || BIO_ctrl_pending(SSL_get_wbio(t->ssl)) == 0)
        return 0;
    int r = BIO_read(SSL_get_wbio(t->ssl), p, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : 0;
}

size_t sk_tls_drain_pending(const struct sk_tls *t)
{
    return t->fd >= 0 ? 0 : BIO_ctrl_pending(SSL_get_wbio(t->ssl));
}

const char *sk_tls_version(const struct sk_tls *t)
{
    return SSL_get_version(t->ssl);
}

const char *sk_tls_alpn(const struct sk_tls *t)
{
    return t->alpn;
}

const char *sk_tls_sni(const struct sk_tls *t)
{
    return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

int sk_tls_peer_fingerprint(const struct sk_tls *t, char *buf, size_t n)
{
    return fingerprint(SSL_get0_peer_certificate(t->ssl), buf, n);
}

int sk_tls_truncated(const struct sk_tls *t)
{
    return t->truncated;
}

const char *sk_tls_why(const struct sk_tls *t)
{
    return t->why[0] ? t->why : "no TLS error";
}

void sk_tls_free(struct sk_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}
