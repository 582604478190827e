/*
 * tool.h - the logic behind the lookup tools: `sockit ip`, `byteorder`,
 * `service`, `sockopt`, `ifaces`, `resolve`, `reverse`, `addrinfo` and
 * `hostname`.
 *
 * Parsers here are pure (no I/O, no allocation): they return 0 or -EINVAL
 * and, when `why` is given, point it at a static sentence saying what is
 * wrong. Lookups return 0 (or a count) or a negative libsockit error
 * (sk_strerror() prints it; resolver errors come from sk_gai_error()).
 * Nothing here prints. Every function may be called from any thread.
 */
#ifndef SOCKIT_TOOL_H
#define SOCKIT_TOOL_H

#include "sockit/addr.h"

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* ---- IP address notations (src/tool/ip.c) ---- */

enum {
    SK_IP_ATON = 1u << 0, /* also accept inet_aton()'s legacy IPv4 forms */
};

struct sk_ip {
    int family; /* AF_INET or AF_INET6 */
    int legacy; /* 1: accepted only as an inet_aton() legacy form */
    struct in_addr v4;
    struct in6_addr v6;
    uint32_t scope; /* IPv6 zone index ("%lo"), 0 when none */
    int prefix;     /* "/N" network prefix length, -1 when none */
};

/* inet_aton()'s grammar, written out so that it is strict about the end:
 * one to four parts, each decimal, octal (leading 0) or hex (0x); the last
 * part fills the remaining bytes (a, a.b, a.b.c, a.b.c.d). Unlike glibc's
 * inet_aton() nothing may follow the address (not even a space). */
int sk_ip4_aton_parse(const char *s, struct in_addr *out, const char **why);

/* An IPv4 or IPv6 address, optionally with a network prefix "/N" (decimal,
 * 0..32 or 0..128, no leading zero). IPv4 is a strict dotted quad
 * (sk_ip4_parse()) unless flags has SK_IP_ATON, which also takes the legacy
 * forms and marks them with out->legacy. A string with ':' is IPv6
 * (sk_ip6_parse()). */
int sk_ip_parse(const char *s, unsigned flags, struct sk_ip *out, const char **why);

/* Every notation of an address, as NUL-terminated strings. */
struct sk_ip_notation {
    char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 1]; /* dotted quad, or compressed v6 (+%zone) */
    char full[40];       /* IPv6: eight groups of four hex digits; IPv4: the dotted quad */
    char hex[33];        /* the packed bytes in network order, lower-case hex */
    char binary[136];    /* bits, octets joined by '.' (v4) or 16-bit groups by ':' (v6) */
    uint32_t host_order; /* IPv4: the address as a number (ntohl(s_addr)) */
    uint32_t net_order;  /* IPv4: s_addr, the network-order bytes read as a host integer */
    const char *kind;    /* static: "loopback", "private", "global", ... */
    char mapped_v4[INET_ADDRSTRLEN]; /* IPv6 ::ffff:a.b.c.d: the IPv4 address, else "" */
    /* With a prefix only (ip->prefix >= 0), else all "": */
    char netmask[INET6_ADDRSTRLEN]; /* 255.255.255.0, ffff:ffff:ffff:ffff:: */
    char network[INET6_ADDRSTRLEN]; /* the first address of the block */
    char last[INET6_ADDRSTRLEN];    /* the last one (the IPv4 broadcast address) */
    char first_host[INET6_ADDRSTRLEN], last_host[INET6_ADDRSTRLEN]; /* IPv4 usable range */
    char size[48];  /* addresses in the block: "256", or "2^64" */
    char hosts[24]; /* IPv4 usable hosts ("254"; /31: 2, /32: 1) */
};

/* Fill *out from a parsed address. Returns 0, or -EAFNOSUPPORT. */
int sk_ip_notation(const struct sk_ip *ip, struct sk_ip_notation *out);

/* ---- byte order (src/tool/byteorder.c) ---- */

/* An unsigned integer up to 64 bits: decimal, or hex with 0x. No sign, no
 * space. Returns 0 or -EINVAL (why says whether it is garbage or too big). */
int sk_u64_parse(const char *s, uint64_t *out, const char **why);

struct sk_byteorder {
    int bits;                    /* 16, 32 or 64 */
    int fits;                    /* the value fits in `bits`; the rest is meaningful only then */
    uint64_t host;               /* the value */
    uint64_t net;                /* htons/htonl/htobe64 of it, read back as a host integer */
    unsigned char host_bytes[8]; /* the value's bytes in this host's memory order */
    unsigned char net_bytes[8];  /* the bytes as they travel (big-endian) */
};

/* Conversions of v at width bits (16, 32, 64). Returns 0 or -EINVAL. */
int sk_byteorder(uint64_t v, int bits, struct sk_byteorder *out);

/* 1 on a big-endian host, 0 on a little-endian one. */
int sk_host_big_endian(void);

/* ---- service names (src/tool/service.c) ---- */

/* A query of `sockit service`: "80", "53/udp", "http", "domain/udp". */
struct sk_servq {
    int by_port; /* 1: port given, 0: name given */
    uint16_t port;
    char name[64];
    char proto[16]; /* "" means tcp and udp */
};
int sk_servq_parse(const char *s, struct sk_servq *q, const char **why);

struct sk_serv {
    char name[64];
    uint16_t port; /* host order */
    char proto[16];
    char aliases[256]; /* space-separated, "" when none */
};

/* getservbyport_r()/getservbyname_r() for one protocol ("tcp", "udp").
 * Returns 0, -ENOENT when the services database has no such entry, or
 * another negative errno. */
int sk_serv_by_port(uint16_t port, const char *proto, struct sk_serv *out);
int sk_serv_by_name(const char *name, const char *proto, struct sk_serv *out);

/* ---- socket options (src/tool/sockopt.c) ---- */

enum sk_opt_kind {
    SK_OPT_BOOL,     /* int 0/1 */
    SK_OPT_INT,      /* int */
    SK_OPT_SIZE,     /* int, bytes (accepts 64k, 1M) */
    SK_OPT_TIME,     /* struct timeval; value in microseconds, 0 = none */
    SK_OPT_LINGER,   /* struct linger; value in seconds, -1 = off */
    SK_OPT_STRING,   /* a name (TCP_CONGESTION) */
    SK_OPT_NONBLOCK, /* O_NONBLOCK through fcntl(), not a socket option */
};

enum {
    SK_OPT_TCP = 1u << 0, /* applies to SOCK_STREAM sockets */
    SK_OPT_UDP = 1u << 1, /* applies to SOCK_DGRAM sockets */
    SK_OPT_V4 = 1u << 2,  /* applies to AF_INET sockets */
    SK_OPT_V6 = 1u << 3,  /* applies to AF_INET6 sockets */
};

struct sk_sockopt {
    const char *name; /* "SO_RCVBUF" */
    int level;        /* SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6 */
    int optname;
    enum sk_opt_kind kind;
    unsigned applies; /* SK_OPT_* */
    const char *what; /* one line for --help */
};

struct sk_optval {
    int64_t i;  /* bool, int, size, time (us), linger (s, -1 off), nonblock */
    char s[32]; /* SK_OPT_STRING */
};

/* The table of known options, in display order. */
const struct sk_sockopt *sk_sockopt_table(size_t *n);

/* Find by name, case-insensitive; the SO_/TCP_/IP_/IPV6_ prefix may be left
 * out ("rcvbuf"), and "nonblock" names O_NONBLOCK. NULL when unknown. */
const struct sk_sockopt *sk_sockopt_find(const char *name);

/* Does option o apply to a socket of this family and type? */
int sk_sockopt_applies(const struct sk_sockopt *o, int family, int type);

/* Parse a value for o: bool as 0/1/on/off/yes/no/true/false; int decimal;
 * size with k/M suffixes; time as 1.5, 250ms, 2s (0 = none); linger as off
 * or seconds; string as a name of letters, digits, '-' and '_'. */
int sk_optval_parse(const struct sk_sockopt *o, const char *s, struct sk_optval *v,
                    const char **why);

/* Read or set the option on fd. Returns 0 or a negative errno. */
int sk_sockopt_get(int fd, const struct sk_sockopt *o, struct sk_optval *v);
int sk_sockopt_set(int fd, const struct sk_sockopt *o, const struct sk_optval *v);

/* Human form of a value ("on", "131072", "1.5s", "none", "off"). Returns the
 * length, or -ENOSPC. */
int sk_optval_format(const struct sk_sockopt *o, const struct sk_optval *v, char *buf, size_t size);

/* ---- interfaces (src/tool/ifaces.c) ---- */

struct sk_iface_addr {
    int family; /* AF_INET or AF_INET6 */
    char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
    int prefix;                      /* netmask length, -1 when none or not contiguous */
    char broadcast[INET_ADDRSTRLEN]; /* "" when none */
    char peer[INET6_ADDRSTRLEN];     /* point-to-point destination, "" when none */
};

struct sk_iface {
    char name[IF_NAMESIZE];
    unsigned index;
    unsigned flags; /* IFF_* */
    int mtu;        /* -1 when unknown */
    char mac[18];   /* "aa:bb:cc:dd:ee:ff", "" when none */
    size_t naddr;
    struct sk_iface_addr *addrs; /* owned by the iface array */
};

/* Every interface (getifaddrs), in index order, with its IPv4 and IPv6
 * addresses. Returns the count and a malloc'd array in *out (free with
 * sk_ifaces_free()), or a negative errno. */
int sk_ifaces(struct sk_iface **out);
void sk_ifaces_free(struct sk_iface *v, int n);

/* Length of a contiguous netmask (0..32 or 0..128), -1 when not contiguous
 * or of another family. */
int sk_netmask_prefix(const struct sockaddr *mask);

/* "UP,LOOPBACK,RUNNING" for IFF_* flags. Returns the length or -ENOSPC. */
int sk_iface_flags_format(unsigned flags, char *buf, size_t size);

/* ---- names (src/tool/lookup.c) ---- */

/* The distinct addresses of name (getaddrinfo, in resolver order), the
 * family filtered by family (AF_UNSPEC, AF_INET, AF_INET6). Returns the
 * count (>= 1) with a malloc'd array in *out, copies the canonical name to
 * canon ("" when none), or returns a negative error (resolver's). */
int sk_tool_resolve(const char *name, int family, struct sk_addr **out, char *canon,
                    size_t canon_size);

/* One getaddrinfo() tuple. */
struct sk_ai_row {
    int family, socktype, protocol;
    struct sk_addr addr;
    char canon[256]; /* ai_canonname, "" when the resolver gave none */
};

/* Every tuple of getaddrinfo(host, service) with AI_CANONNAME; family and
 * socktype filter (0: any). Returns the count with a malloc'd array in
 * *out, or a negative error. */
int sk_tool_addrinfo(const char *host, const char *service, int family, int socktype,
                     struct sk_ai_row **out);

/* The name of a numeric address (strict v4 or v6 text) by getnameinfo()
 * with NI_NAMEREQD. Returns 0, -EINVAL for a malformed address (with why),
 * or a resolver error. */
int sk_tool_reverse(const char *addr, char *name, size_t size, const char **why);

/* gethostname(), and the fully qualified name the resolver gives for it.
 * Returns 0, or a negative error for the host name; a failure to find the
 * FQDN is returned in *fqdn_err (0 when fqdn was filled). */
int sk_tool_hostname(char *name, size_t name_size, char *fqdn, size_t fqdn_size, int *fqdn_err);

/* "inet", "inet6", "unix", or the number; "stream", "dgram", "raw", ...;
 * "tcp", "udp", ... (static strings, or buf for unknown values). */
const char *sk_family_name(int family);
const char *sk_socktype_name(int socktype);
const char *sk_protocol_name(int protocol, char *buf, size_t size);

#endif
