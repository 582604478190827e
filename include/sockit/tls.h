/*
 * tls.h - TLS for sockit (OpenSSL 3): server and client contexts, the
 * self-signed certificate maker, fingerprints and pins, and one connection
 * API that blocking code drives over a descriptor now and the event-loop
 * transport will drive over memory buffers later.
 *
 * Layer: tls sits beside service, above net (it includes only net headers);
 * models and clients use it, a service never does (services never see
 * ciphertext). OpenSSL types do not appear here: callers include this
 * header only.
 *
 * Errors: negative errno, or a TLS error (SK_ETLS*, error.h; sk_strerror()
 * prints both). Functions that can fail for a reason worth a sentence (a PEM
 * file that does not load, a verification that failed) also write that one
 * sentence to a caller's buffer.
 *
 * Threads: a context is built by one thread, then may be shared by any number
 * of threads (OpenSSL's SSL_CTX is thread-safe once configured). A
 * connection belongs to one thread at a time.
 */
#ifndef SOCKIT_TLS_H
#define SOCKIT_TLS_H

#include "sockit/error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- fingerprints and pins (pure, no OpenSSL) ---- */

#define SK_TLS_SHA256_LEN 32
/* "sha256:" + 32 pairs of hex digits joined by ':' + NUL */
#define SK_TLS_FP_STRLEN (7 + 32 * 3)

/* Parse a pin: "sha256:" (any case) then the SHA-256 as 64 hex digits,
 * either bare or as 32 colon-separated pairs (as `openssl x509 -fingerprint
 * -sha256` prints them), in any case. Returns 0 with the digest in out, or
 * -EINVAL and a static reason in *why (if why is not NULL). */
int sk_tls_pin_parse(const char *s, uint8_t out[SK_TLS_SHA256_LEN], const char **why);

/* Format a digest as "sha256:AB:12:..." (uppercase, colon-separated).
 * Returns the length, or -ENOSPC when n < SK_TLS_FP_STRLEN. */
int sk_tls_pin_format(const uint8_t d[SK_TLS_SHA256_LEN], char *buf, size_t n);

/* ---- certificates ---- */

/* A self-signed certificate and its key, made in memory: ECDSA P-256, valid
 * from one hour ago for days days, X.509 v3 with the names as subject
 * alternative names (an IPv4/IPv6 literal becomes an IP entry, anything else
 * a DNS entry; the first name is also the subject's CN), key usage for a TLS
 * server and client. Writes cert.pem and key.pem (mode 0600, PKCS#8) under
 * dir, refusing to replace either file, and the fingerprint to fp. Returns 0,
 * or a negative error with a sentence in why. */
int sk_tls_cert_write(const char *const *names, size_t nnames, int days, const char *dir,
                      char fp[SK_TLS_FP_STRLEN], char *why, size_t whylen);

/* A name is acceptable in a certificate: an IP literal, or a DNS name of
 * letters, digits, '-', '.', and a leading "*." wildcard, at most 253 bytes,
 * its last label not all digits.
 * Returns 0 or -EINVAL. */
int sk_tls_name_check(const char *name);

/* ---- contexts ---- */

struct sk_tls_ctx; /* opaque */

struct sk_tls_server_opts {
    const char *cert_file;    /* PEM, may hold a chain (leaf first); NULL: ephemeral */
    const char *key_file;     /* PEM private key (needed with cert_file) */
    const char *const *names; /* ephemeral certificate: its SANs (addresses, host name) */
    size_t nnames;
    const char *client_ca; /* PEM CAs: require and verify client certificates; NULL: no */
    const char *alpn;      /* protocol to select when offered ("http/1.1"); NULL: none */
};

/* A server context: TLS 1.2 and 1.3 only, renegotiation off, session
 * tickets on, SNI accepted (any name; sk_tls_sni() tells which), ALPN. Without
 * cert_file an ephemeral self-signed certificate (sk_tls_cert_write's kind,
 * valid for 30 days) is made in memory. Returns 0 with *out, or a negative
 * error and a sentence in why. */
int sk_tls_server_ctx(const struct sk_tls_server_opts *o, struct sk_tls_ctx **out, char *why,
                      size_t whylen);

struct sk_tls_client_opts {
    const char *ca_file;   /* trust exactly these PEM CAs; NULL: the system's store */
    const char *pin;       /* "sha256:HEX": accept exactly this certificate, any issuer */
    int insecure;          /* no verification at all */
    const char *cert_file; /* client certificate (PEM chain) and key; NULL: none */
    const char *key_file;
    const char *alpn; /* protocol to offer; NULL: none */
};

/* A client context: TLS 1.2 and 1.3 only, renegotiation off. Verification
 * is on unless insecure: against ca_file or the system store, or (pin) the
 * leaf certificate's SHA-256 alone. The name checked is given per connection
 * (sk_tls_client()). Returns 0 with *out, or a negative error and a sentence
 * in why (a pin that does not parse is -EINVAL). */
int sk_tls_client_ctx(const struct sk_tls_client_opts *o, struct sk_tls_ctx **out, char *why,
                      size_t whylen);

/* The fingerprint of the context's own certificate (a server's, or a
 * client's --tls-cert). Returns the length or a negative error (-ENOENT: no
 * certificate). */
int sk_tls_ctx_fingerprint(const struct sk_tls_ctx *ctx, char *buf, size_t n);

void sk_tls_ctx_free(struct sk_tls_ctx *ctx);

/* ---- connections ----
 *
 * A connection (struct sk_tls) runs over one of two kinds of I/O:
 *
 * 1. A socket descriptor (sk_tls_server()/sk_tls_client() with fd >= 0):
 *    OpenSSL reads and writes the descriptor itself (with write(2): the
 *    program ignores SIGPIPE, as sockit's main() does). Blocking code calls
 *    sk_tls_handshake() with a deadline (it polls; the descriptor's own
 *    blocking mode is restored afterwards), then sk_tls_read()/sk_tls_write()
 *    (which block on a blocking descriptor). A poll loop makes the descriptor
 *    nonblocking and, on -EAGAIN, waits for sk_tls_want() (POLLIN or
 *    POLLOUT: TLS may need to write while reading and the other way round)
 *    and asks sk_tls_pending() before waiting for input, since OpenSSL may
 *    hold decrypted bytes the descriptor will never signal again.
 *
 * 2. Memory (fd < 0): nothing touches a descriptor; the caller moves the
 *    ciphertext. This is the seam of the event-loop transport: the model
 *    reads ciphertext from the socket into sk_tls_feed(), calls
 *    sk_tls_read() for the plaintext the service gets, hands the service's
 *    output to sk_tls_write(), and sends what sk_tls_drain() yields (check
 *    sk_tls_drain_pending() after every call: a read may produce output too,
 *    handshake messages, alerts, tickets). -EAGAIN from sk_tls_read() means
 *    "feed me more"; from sk_tls_write() it cannot happen in memory mode
 *    (the outgoing buffer grows; the transport bounds it by not writing while
 *    sk_tls_drain_pending() is over its high-water mark). io_uring, select,
 *    poll and epoll all fit this shape since none of them hands OpenSSL a
 *    descriptor, and the transport is added in one place: where the event
 *    loop reads into and writes out of a connection. Blocking models may
 *    keep using the descriptor kind.
 *
 * Return conventions of read/write: bytes (> 0), 0 at the peer's
 * close_notify or end of stream, -EAGAIN (would block / feed more),
 * -EPIPE/-ECONNRESET, or an SK_ETLS* error. sk_tls_why() has a sentence for
 * the last failure. */

struct sk_tls; /* opaque */

/* A server side connection over fd (or memory when fd < 0). Returns 0 with
 * *out, or -ENOMEM. The descriptor stays the caller's to close. */
int sk_tls_server(struct sk_tls_ctx *ctx, int fd, struct sk_tls **out);

/* A client side connection. name: the peer's host name or address as the
 * user gave it, checked against the certificate (unless the context pins or
 * is insecure) and sent as SNI when it is a DNS name; sni, when not NULL,
 * replaces it for both (the name the user says the server has). */
int sk_tls_client(struct sk_tls_ctx *ctx, int fd, const char *name, const char *sni,
                  struct sk_tls **out);

/* Run the handshake until done, timeout_ms from now (< 0: no limit).
 * Descriptor kind only. Returns 0, -ETIMEDOUT, or a failure (SK_ETLS_*, a
 * verification failure's reason among them). */
int sk_tls_handshake(struct sk_tls *t, int timeout_ms);

/* One handshake step, for poll loops and memory mode: 0 done, -EAGAIN
 * (see sk_tls_want(), or feed more), or a failure. */
int sk_tls_handshake_step(struct sk_tls *t);

ssize_t sk_tls_read(struct sk_tls *t, void *buf, size_t n);
ssize_t sk_tls_write(struct sk_tls *t, const void *buf, size_t n);

/* Send close_notify (the TLS "no more from me"; TLS 1.3 peers may keep
 * sending, and sockit keeps reading). Returns 0 once sent, -EAGAIN when the
 * descriptor could not take it yet (call again), or an error. Does not wait
 * for the peer's close_notify. */
int sk_tls_shutdown(struct sk_tls *t);

/* POLLIN or POLLOUT: what the last -EAGAIN waits for. */
short sk_tls_want(const struct sk_tls *t);

/* Decrypted bytes held inside OpenSSL, readable without more input. */
size_t sk_tls_pending(const struct sk_tls *t);

/* Memory kind: ciphertext in from the peer (all of it is taken; returns n or
 * -ENOMEM), and out to the peer. */
ssize_t sk_tls_feed(struct sk_tls *t, const void *p, size_t n);
ssize_t sk_tls_drain(struct sk_tls *t, void *p, size_t n);
size_t sk_tls_drain_pending(const struct sk_tls *t);

/* After the handshake: the negotiated version ("TLSv1.3"), the ALPN protocol
 * ("" when none), the SNI the client sent (server side; NULL when none), and
 * the peer certificate's fingerprint (length, or -ENOENT without one). */
const char *sk_tls_version(const struct sk_tls *t);
const char *sk_tls_alpn(const struct sk_tls *t);
const char *sk_tls_sni(const struct sk_tls *t);
int sk_tls_peer_fingerprint(const struct sk_tls *t, char *buf, size_t n);

/* 1 when a read returned 0 because the stream ended without the peer's
 * close_notify (a truncation someone on the path could cause; it is reported
 * as an end, as ncat and socat do, and this tells it apart), else 0. */
int sk_tls_truncated(const struct sk_tls *t);

/* A sentence on the last failure of this connection ("certificate has
 * expired", "pin mismatch: the server's certificate is sha256:..."). Never
 * NULL; valid until the next call on t. */
const char *sk_tls_why(const struct sk_tls *t);

void sk_tls_free(struct sk_tls *t);

#endif
