/*
 * addr.h - socket addresses: parsing and formatting.
 *
 * struct sk_addr holds any address sockit speaks: IPv4, IPv6 or a Unix socket
 * path. Parsers are pure: no I/O, no name resolution, no allocation. They
 * return 0 or a negative errno (-EINVAL for malformed input) and, when
 * `why` is given, point it at a static sentence saying what is wrong.
 */
#ifndef SOCKIT_ADDR_H
#define SOCKIT_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct sk_addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
        struct sockaddr_storage ss;
    } u;
    socklen_t len;
};

/* Longest string sk_addr_format() writes, with its NUL. */
#define SK_ADDR_STRLEN (sizeof(((struct sockaddr_un *)0)->sun_path) + 8)

/* Strict dotted-quad IPv4: exactly four decimal parts 0..255, no leading
 * zeros (they mean octal to inet_aton), no signs or spaces. */
int sk_ip4_parse(const char *s, struct in_addr *out, const char **why);

/* IPv6 in any form inet_pton accepts (including ::ffff:1.2.3.4); a "%zone"
 * suffix is accepted and its index returned in *scope (0 when none). */
int sk_ip6_parse(const char *s, struct in6_addr *out, uint32_t *scope, const char **why);

/* A port: decimal 0..65535. */
int sk_port_parse(const char *s, uint16_t *out, const char **why);

/* A numeric address with optional port:
 *   "1.2.3.4", "1.2.3.4:80", "::1", "[::1]", "[::1]:80", "[fe80::1%lo]:80",
 *   "/path/to/socket" or "unix:/path" (or "unix:@abstract").
 * A missing port takes default_port. Names are not resolved here: see
 * sk_resolve(). */
int sk_addr_parse(const char *s, uint16_t default_port, struct sk_addr *out, const char **why);

/* Build a Unix socket address; a leading '@' means the abstract namespace. */
int sk_addr_unix(const char *path, struct sk_addr *out, const char **why);

/* Build from an IPv4/IPv6 numeric host string and a port. */
int sk_addr_from_ip(const char *host, uint16_t port, struct sk_addr *out, const char **why);

/* Format as "1.2.3.4:80", "[::1]:80" or "unix:/path". Returns the length,
 * or -ENOSPC when buf is too small (buf then holds a truncated string). */
int sk_addr_format(const struct sk_addr *a, char *buf, size_t size);

/* Only the host part ("1.2.3.4", "::1", "/path"). */
int sk_addr_format_host(const struct sk_addr *a, char *buf, size_t size);

/* Port in host order, or 0 for Unix addresses. */
uint16_t sk_addr_port(const struct sk_addr *a);
void sk_addr_set_port(struct sk_addr *a, uint16_t port);

/* Address family (AF_INET, AF_INET6, AF_UNIX). */
static inline int sk_addr_family(const struct sk_addr *a)
{
    return a->u.sa.sa_family;
}

/* Same family, address and port (or path). */
int sk_addr_equal(const struct sk_addr *a, const struct sk_addr *b);

#endif
