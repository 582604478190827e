/*
 * proxy_dest.h - what `serve socks` and `serve http-proxy` share: reaching
 * the destination a client asked for (--allow-dest, the lookup of a name
 * off the loop, the connect with failover over the addresses) and the
 * options that say how.
 */
#ifndef SOCKIT_SERVICE_PROXY_DEST_H
#define SOCKIT_SERVICE_PROXY_DEST_H

#include "sockit/acl.h"
#include "sockit/conn.h"
#include "sockit/resolve.h"
#include "sockit/service.h"

#include <stdint.h>

/* The most addresses of one name tried in turn. */
#define SK__DEST_ADDRS 8

/* The options, the first member of each proxy service's state (so the
 * option table's post hook finds them). */
struct sk__dest_rules {
    struct sk_acl allow;    /* --allow-dest: allow list only; empty: anywhere */
    char *allow_arg;        /* the last --allow-dest, moved into allow at once */
    int bad;                /* adding one failed (-ENOMEM): start() refuses */
    int connect_timeout_ms; /* --connect-timeout: also bounds the lookup */
};

/* One connection's way to its destination. Zeroed at open. */
struct sk__dest {
    struct sk_resolve_job *job; /* the lookup of a name, while it runs */
    int64_t started_ms;         /* when the lookup began */
    int wait_ms;                /* the next poll of the lookup */
    struct sk_addr addr[SK__DEST_ADDRS];
    unsigned n, next; /* addresses, the next one to try */
    int denied;       /* an address was refused by --allow-dest */
    int err;          /* the last connect error */
    uint16_t port;
    char host[256]; /* as the client gave it (for the log) */
};

/* The option entries, in each service's table (base: the state, whose
 * first member is struct sk__dest_rules). */
#define SK__DEST_OPTS(st)                                                                          \
    {.name = "allow-dest",                                                                         \
     .type = SK_OPT_STRING,                                                                        \
     .offset = offsetof(st, rules.allow_arg),                                                      \
     .arg = "CIDR",                                                                                \
     .help = "destinations clients may reach (repeatable; default: any)",                          \
     .check = sk__dest_check_cidr,                                                                 \
     .post = sk__dest_add_cidr},                                                                   \
    {                                                                                              \
        .name = "connect-timeout", .type = SK_OPT_DURATION,                                        \
        .offset = offsetof(st, rules.connect_timeout_ms), .min = 1, .max = 3600 * 1000,            \
        .arg = "SECS", .help = "bound on the name lookup and each connect attempt (10)"            \
    }

int sk__dest_check_cidr(const char *value, char *why, size_t len);
void sk__dest_add_cidr(void *state);
void sk__dest_rules_init(struct sk__dest_rules *r);
void sk__dest_rules_free(struct sk__dest_rules *r);

/* Start reaching host:port for c: an address is checked against the rules
 * and connected to; a name is looked up off the loop, polled from the
 * service's timeout callback through sk__dest_timeout(). Returns 0 (the
 * result comes later: svc->up_connected(), or sk__dest_timeout()), or the
 * negative error to answer now (-EACCES: not allowed by --allow-dest). */
int sk__dest_go(struct sk_conn *c, struct sk__dest *d, const struct sk__dest_rules *r,
                const char *host, uint16_t port);

/* From the timeout callback while a lookup runs: 0 (still under way), or
 * the negative error to answer. */
int sk__dest_timeout(struct sk_conn *c, struct sk__dest *d, const struct sk__dest_rules *r);

/* From up_connected() with err < 0: try the next address. 0 (under way) or
 * the error to answer (the last connect error; -EACCES when every address
 * was refused by the rules). */
int sk__dest_failed(struct sk_conn *c, struct sk__dest *d, const struct sk__dest_rules *r, int err);

/* A log line (debug level) about c's destination: "socks: PEER -> HOST:PORT: what". */
void sk__dest_log(const struct sk_conn *c, const struct sk__dest *d, const char *svc,
                  const char *what, int err);

/* From close(): let go of a running lookup. */
void sk__dest_close(struct sk__dest *d);

#endif
