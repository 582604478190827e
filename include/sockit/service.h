/*
 * service.h - what is spoken on a connection (echo, greet, chat, http, ...).
 *
 * A service is a state machine over bytes, free of I/O: models call its
 * callbacks with what arrived and it queues output through conn.h. One
 * instance (state) exists per server, made by create() and configured by
 * option() for each service option given on the command line.
 */
#ifndef SOCKIT_SERVICE_H
#define SOCKIT_SERVICE_H

#include "sockit/addr.h"
#include "sockit/conn.h"

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

struct sk_server;

enum {
    SK_SVC_STREAM = 1u << 0, /* speaks over TCP / Unix stream sockets */
    SK_SVC_DGRAM = 1u << 1,  /* speaks over UDP (datagram callback) */
    SK_SVC_HUB = 1u << 2,    /* needs shared state across connections */
};

#define SK_SVC_NO_IDLE_TIMEOUT (-1)

/* A service option, e.g. { "prefix", 1, "TEXT", "prefix each echoed line" }. */
struct sk_service_opt {
    const char *name;
    int has_arg; /* 0: flag, 1: takes a value */
    const char *arg;
    const char *help;
};

/* What a datagram callback returns to send no reply (not an error). */
#define SK_NO_REPLY ((ssize_t)-ENOMSG)

struct sk_service {
    const char *name;
    const char *summary;
    unsigned flags;
    const struct sk_service_opt *opts; /* terminated by a zero entry; may be NULL */
    size_t conn_size;                  /* bytes of per-connection state */
    /* The idle timeout when --idle-timeout is not given: 0 keeps the
     * server's default, SK_SVC_NO_IDLE_TIMEOUT turns it off (chat: people
     * may stay silent in a room). */
    int idle_timeout_ms;

    /* Instance life cycle. create() makes the default configuration;
     * option() applies one option (value NULL for flags) and on error
     * returns a negative errno with a sentence in err; start() runs once the
     * server is bound, before any connection, and may refuse likewise
     * (-ERANGE: a server limit the service cannot work with, a usage error). */
    int (*create)(void **state);
    int (*option)(void *state, const char *name, const char *value, char *err, size_t errlen);
    int (*start)(void *state, struct sk_server *srv, char *err, size_t errlen);
    void (*destroy)(void *state);

    /* Stream callbacks. open() may queue a banner. data() is given every
     * unread input byte and returns how many it consumed (the rest is given
     * again with more appended), or a negative errno to close the connection.
     * drain() (optional) is called whenever the output has been fully sent,
     * so a source such as chargen can queue more. timeout() (optional) runs
     * when a deadline set with sk_conn_set_deadline() passes; without it
     * the connection is closed. close() releases per-connection state. */
    int (*open)(struct sk_conn *c);
    ssize_t (*data)(struct sk_conn *c, const char *p, size_t n);
    int (*drain)(struct sk_conn *c);
    void (*timeout)(struct sk_conn *c);
    void (*close)(struct sk_conn *c);

    /* Datagram callback: the reply to one datagram written to out (at most
     * outmax bytes). Returns the reply length (0: an empty datagram, as the
     * echo of an empty one), SK_NO_REPLY for none, or another negative errno
     * (logged, no reply). */
    ssize_t (*datagram)(void *state, const struct sk_addr *from, const char *in, size_t n,
                        char *out, size_t outmax);
};

/* The registry of services, NULL-terminated. */
extern const struct sk_service *const sk_services[];

/* Find a service by name, or NULL. */
const struct sk_service *sk_service_find(const char *name);

#endif
