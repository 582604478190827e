/*
 * proxy.h - the wire formats of proxies that clients and servers share:
 * SOCKS5 (RFC 1928) messages, its username/password sub-negotiation
 * (RFC 1929), and HTTP CONNECT's authority-form target ("host:port").
 *
 * Every function is pure (no I/O, no allocation, no global state) and safe
 * from any thread. Decoders take a prefix of the input and answer complete
 * (the message's length; results may point into p), -EAGAIN (a prefix of a
 * message that may still be valid: call again with more bytes) or a
 * negative errno that more bytes cannot change. The answer depends only on
 * the bytes, so a message split anywhere gets the same result as whole.
 */
#ifndef SOCKIT_PROXY_H
#define SOCKIT_PROXY_H

#include "sockit/addr.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    SK_SOCKS5_CONNECT = 1, /* request commands (CMD) */
    SK_SOCKS5_BIND = 2,
    SK_SOCKS5_UDP_ASSOCIATE = 3,
};

enum {
    SK_SOCKS5_IP4 = 1, /* address types (ATYP) */
    SK_SOCKS5_NAME = 3,
    SK_SOCKS5_IP6 = 4,
};

enum {
    SK_SOCKS5_OK = 0, /* reply codes (REP) */
    SK_SOCKS5_FAILURE = 1,
    SK_SOCKS5_NOT_ALLOWED = 2,
    SK_SOCKS5_NET_UNREACHABLE = 3,
    SK_SOCKS5_HOST_UNREACHABLE = 4,
    SK_SOCKS5_REFUSED = 5,
    SK_SOCKS5_TTL_EXPIRED = 6,
    SK_SOCKS5_BAD_COMMAND = 7,
    SK_SOCKS5_BAD_ADDRESS_TYPE = 8,
};

enum {
    SK_SOCKS5_METHOD_NONE = 0x00, /* authentication methods */
    SK_SOCKS5_METHOD_USERPASS = 0x02,
    SK_SOCKS5_METHOD_REFUSED = 0xff,
};

/* Which methods a greeting offers (sk_socks5_greeting_parse()). */
enum {
    SK_SOCKS5_OFFERS_NONE = 1u << 0,
    SK_SOCKS5_OFFERS_USERPASS = 1u << 1,
};

/* The longest request or reply (a 255-byte name). */
#define SK_SOCKS5_MSG_MAX (4 + 1 + 255 + 2)

/* A request (code: CMD) or a reply (code: REP): VER 5, code, RSV 0, an
 * address and a port. */
struct sk_socks5_msg {
    uint8_t code;
    uint8_t atyp;        /* SK_SOCKS5_IP4, _NAME or _IP6 */
    uint8_t addr[16];    /* IP4: 4 bytes, IP6: 16, network order */
    const uint8_t *name; /* NAME: not NUL-terminated (points into the input) */
    size_t name_len;     /* NAME: 0..255 */
    uint16_t port;       /* host order */
};

/* The client's greeting: VER 5, NMETHODS (at least 1), the methods. Returns
 * its length with *offers (SK_SOCKS5_OFFERS_*), -EAGAIN, or -EPROTO (not
 * version 5, no method). */
int sk_socks5_greeting_parse(const uint8_t *p, size_t n, unsigned *offers);

/* RFC 1929's request: VER 1, ULEN, UNAME, PLEN, PASSWD. Returns its length
 * with the user and password pointing into p, -EAGAIN, or -EPROTO (not
 * version 1). */
struct sk_socks5_auth {
    const uint8_t *user, *pass;
    size_t user_len, pass_len;
};
int sk_socks5_auth_parse(const uint8_t *p, size_t n, struct sk_socks5_auth *out);

/* A request or a reply. Returns its length, -EAGAIN, -EPROTO (not version
 * 5, RSV not 0) or -EAFNOSUPPORT (an address type RFC 1928 does not have:
 * the rest cannot be delimited). */
int sk_socks5_msg_parse(const uint8_t *p, size_t n, struct sk_socks5_msg *out);

/* Encode m into out. Returns the length, -ENOSPC when n is too small, or
 * -EINVAL (an unknown address type, a name longer than 255 bytes). */
ssize_t sk_socks5_msg_encode(const struct sk_socks5_msg *m, uint8_t *out, size_t n);

/* m's address from a host string: an IPv4 or IPv6 address as such, anything
 * else as a name (1..255 bytes; m->name points into host). 0 or -EINVAL. */
int sk_socks5_msg_set_host(struct sk_socks5_msg *m, const char *host, uint16_t port);

/* m's address from a socket address (a reply's BND.ADDR); a Unix address,
 * which SOCKS cannot say, is 0.0.0.0:0. */
void sk_socks5_msg_set_addr(struct sk_socks5_msg *m, const struct sk_addr *a);

/* m's host as text, NUL-terminated, IPv6 without brackets ("::1"): for an
 * address, its numeric form; for a name, the name. Returns its length, or
 * -EINVAL for an empty name or one holding a NUL byte, -ENOSPC. */
int sk_socks5_msg_host(const struct sk_socks5_msg *m, char *out, size_t n);

/* The reply code for a failure to reach a destination, from the negative
 * errno of the connect or the lookup (resolver errors: host unreachable). */
int sk_socks5_rep_of(int err);

/* HTTP CONNECT's authority-form target, "host:port" or "[v6]:port" (RFC
 * 9110 9.3.6: the port is required, 1..65535). The host (a name of letters,
 * digits, '-', '.' and '_', or an IPv4 or bracketed IPv6 address, without
 * a zone) is written NUL-terminated to host, IPv6 without brackets. Returns
 * 0, -EINVAL (malformed) or -ENOSPC (host too small for it). */
int sk_authority_parse(const char *p, size_t n, char *host, size_t hostlen, uint16_t *port);

#endif
