/*
 * acl.h - access control by source address: CIDR prefixes and an allow/deny
 * list of them (--allow, --deny).
 *
 * Parsing is pure (no I/O, no names). A prefix is "A.B.C.D[/N]" (N 0..32)
 * or an IPv6 address with an optional "/N" (0..128); a missing /N means
 * the single address. Bits set past the prefix are refused (the user may
 * have meant another network). An IPv4 peer seen as an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, from a dual-stack listener) matches IPv4 prefixes
 * and IPv6 prefixes in ::ffff:0:0/96 alike.
 */
#ifndef SOCKIT_ACL_H
#define SOCKIT_ACL_H

#include "sockit/addr.h"

#include <stddef.h>
#include <stdint.h>

struct sk_cidr {
    int family;       /* AF_INET or AF_INET6 */
    unsigned prefix;  /* 0..32 or 0..128 */
    uint8_t addr[16]; /* network order; 4 bytes used for AF_INET */
};

/* Longest string sk_cidr_format() writes, with its NUL. */
#define SK_CIDR_STRLEN (INET6_ADDRSTRLEN + 4)

/* Parse s into *out. 0, or -EINVAL with *why (when given) saying why. */
int sk_cidr_parse(const char *s, struct sk_cidr *out, const char **why);

/* Canonical form: "10.0.0.0/8", "2001:db8::/32" (always with the /N).
 * Returns the length, or -ENOSPC when buf is too small. */
int sk_cidr_format(const struct sk_cidr *c, char *buf, size_t size);

/* Is address a (IPv4 or IPv6; never a Unix one) inside c? */
int sk_cidr_match(const struct sk_cidr *c, const struct sk_addr *a);

/* --allow and --deny lists. Empty: everyone passes. */
struct sk_acl {
    struct sk_cidr *allow, *deny;
    unsigned nallow, ndeny;
};

/* Add prefix s to the allow (allow != 0) or deny list. 0, -EINVAL (*why
 * set) or -ENOMEM. */
int sk_acl_add(struct sk_acl *acl, int allow, const char *s, const char **why);

/* Whether a source a may connect: never when a deny prefix matches (deny
 * wins), else when no allow prefix is given or one matches. Unix peers have
 * no address and always pass. */
int sk_acl_permits(const struct sk_acl *acl, const struct sk_addr *a);

/* Any prefix at all given? */
static inline int sk_acl_active(const struct sk_acl *acl)
{
    return acl->nallow + acl->ndeny > 0;
}

void sk_acl_free(struct sk_acl *acl);

#endif
