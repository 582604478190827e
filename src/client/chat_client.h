/*
 * chat_client.h - the interactive clients for people: `sockit chat` (a chat
 * room client) and `sockit p2p` (two-party chat, both may type any time).
 *
 * Both read the terminal (stdin) and the socket together with poll(), keep
 * the prompt line intact while text arrives (tty_line.h), strip terminal
 * control sequences from what the other side sends, and print to stdout.
 * They return 0 when the user left (/quit, end of input) or the peer ended
 * the p2p session, -ECONNABORTED when the chat server closed the connection
 * on its own, -EINTR when a signal (SIGINT, SIGTERM, SIGHUP) stopped them,
 * or another negative error. The terminal is restored before they return.
 */
#ifndef SOCKIT_CLIENT_CHAT_CLIENT_H
#define SOCKIT_CLIENT_CHAT_CLIENT_H

#include "sockit/addr.h"

#include <stddef.h>

struct sk_tls_ctx;
struct sk_tls_server_opts;

/* TLS for the clients (tls.h): the connecting side verifies the other with
 * ctx (a client context: --ca, --pin, --insecure, a client certificate) and
 * name (sni, when given, replaces the host for SNI and the name check).
 * A failure's sentence goes to why. Nothing is sent before the handshake
 * succeeded. */
struct sk_chat_tls {
    struct sk_tls_ctx *ctx; /* NULL: plain TCP */
    const char *sni;
    char *why; /* at least 1 byte */
    size_t whylen;
};

struct sk_chat_client_opts {
    const char *host, *port;
    int family;       /* AF_UNSPEC, AF_INET, AF_INET6 */
    const char *nick; /* sent as /nick NAME on connect; NULL: the server asks */
    int timestamps;   /* prefix every printed line with [HH:MM:SS] */
    struct sk_chat_tls tls;
};

/* Connect (and with tls.ctx run the TLS handshake), then chat until /quit,
 * end of input, or the server goes away. Connection and TLS errors
 * (SK_ETLS_*, its sentence in tls.why) are returned before anything is
 * printed. */
int sk_chat_client_run(const struct sk_chat_client_opts *o);

struct sk_p2p_opts {
    /* listen: bind address (NULL or "localhost": 127.0.0.1 and ::1) */
    const char *host, *port;
    int listen;
    int family;
    int timestamps;
    /* Connecting: TLS as for chat. Listening: tls_server (cert_file and
     * key_file, or neither for an ephemeral certificate naming the bound
     * addresses and this host) makes the peer's connection TLS; tls.why
     * gets a failure's sentence. */
    struct sk_chat_tls tls;
    const struct sk_tls_server_opts *tls_server;
    /* Called with the n bound addresses once listening (to print them) and,
     * under TLS, the fingerprint of the certificate (else NULL). */
    void (*listening)(const struct sk_addr *a, unsigned n, const char *fp);
};

/* Wait for one peer (listen) or connect to one, then chat with it. With
 * TLS, a peer whose handshake fails ends the session (the error is
 * returned). */
int sk_p2p_run(const struct sk_p2p_opts *o);

#endif
