/*
 * service.h - what is spoken on a connection (echo, greet, chat, http, ...).
 *
 * A service is a state machine over bytes, free of I/O: models call its
 * callbacks with what arrived and it queues output through conn.h. One
 * instance (state) exists per server, made by create() and configured from
 * its option table (sk_service_option()) for each option given on the
 * command line. A service includes only this header, conn.h, the net core's
 * headers and its own: never the server's or a model's (make test checks).
 */
#ifndef SOCKIT_SERVICE_H
#define SOCKIT_SERVICE_H

#include "sockit/addr.h"
#include "sockit/conn.h"

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

enum {
    SK_SVC_STREAM = 1u << 0, /* speaks over TCP / Unix stream sockets */
    SK_SVC_DGRAM = 1u << 1,  /* speaks over UDP (datagram callback) */
    SK_SVC_HUB = 1u << 2,    /* needs shared state across connections */
};

#define SK_SVC_NO_IDLE_TIMEOUT (-1)

/* A service option as data (nginx's ngx_command_t): its name, the type of
 * its value, where the value goes in the service state, bounds and help.
 * sk_opt_apply() parses every option and writes every message; a service
 * writes no parsing code of its own. */
enum sk_opt_type {
    SK_OPT_FLAG,     /* no value: stores min into an int field */
    SK_OPT_STRING,   /* a heap copy into a char * field (the service frees it) */
    SK_OPT_SIZE,     /* "4096", "64k", "1M" into a size_t field; bounds in bytes */
    SK_OPT_DURATION, /* "1.5", "250ms" into an int field of milliseconds; bounds in ms */
    SK_OPT_UINT,     /* a decimal number into an unsigned field; bounds inclusive */
};

struct sk_service_opt {
    const char *name; /* without the leading "--" */
    enum sk_opt_type type;
    size_t offset;    /* offsetof(state struct, field) */
    int64_t min, max; /* bounds of SIZE, DURATION and UINT; FLAG: min is the value stored */
    const char *arg;  /* the value's name in --help ("TEXT", "SIZE"); NULL for flags */
    const char *help;
    /* Optional: a further test of a STRING value before it is stored.
     * Returns 0, or -1 with the reason in why (it follows "--NAME: "). */
    int (*check)(const char *value, char *why, size_t len);
    /* Optional: runs once the value is stored (an option implying another). */
    void (*post)(void *state);
};

/* Apply option name with value (NULL for a flag) to the struct at base, from
 * the table opts (terminated by a zero entry). Returns 0, or a negative errno
 * with one sentence in err: "--max-line: '9' is not a size from 16 bytes to
 * 1M". An unknown name is -ENOENT ("unknown option --NAME"). */
int sk_opt_apply(const struct sk_service_opt *opts, void *base, const char *name, const char *value,
                 char *err, size_t errlen);

/* The entry called name in opts, or NULL. */
const struct sk_service_opt *sk_opt_find(const struct sk_service_opt *opts, const char *name);

/* What start() is told of the server it runs in (instead of the server
 * itself), and what it may answer. */
struct sk_service_env {
    /* read-only */
    size_t in_max;              /* per-connection input buffer maximum (--max-input) */
    size_t out_max;             /* per-connection output hard maximum (--max-output) */
    const struct sk_addr *addr; /* where the server listens (bound: the port is known) */
    int stop_fd;   /* readable once the server was asked to stop: poll it, never read it */
    int terminal;  /* stdin is a terminal the service may take */
    int log_level; /* what sk_log() (util.h) prints: SK_LOG_ERROR under -q */
    int socktype;  /* SOCK_STREAM or SOCK_DGRAM: what the server listens for */
    int drain_ms;  /* how long connections may finish once a stop was requested (--drain) */
    /* set by start() */
    int took_terminal; /* the service reads the terminal now: a line typed there no
                        * longer stops the server */
    unsigned links;    /* server-wide upstreams the model opens (svc->link_open; conn.h) */
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
     * sk_service_option() applies one option from the opts table; start()
     * runs once the server is bound, before any connection, and may refuse
     * with a negative errno and a sentence in err (-ERANGE: a server limit
     * the service cannot work with, a usage error). */
    int (*create)(void **state);
    /* Optional: the operands after `--` on the command line (serve exec's
     * program and its arguments), argv NULL-terminated, before start().
     * Returns 0 or a negative errno with a sentence in err (a usage error).
     * A service without it takes no operands. */
    int (*args)(void *state, int argc, char **argv, char *err, size_t errlen);
    int (*start)(void *state, struct sk_service_env *env, char *err, size_t errlen);
    void (*destroy)(void *state);

    /* Stream callbacks. open() may queue a banner. data() is given every
     * unread input byte and returns how many it consumed (the rest is given
     * again with more appended), or a negative errno to close the connection.
     * drain() (optional) is called whenever the output has been fully sent,
     * so a source such as chargen can queue more. timeout() (optional) runs
     * when a deadline set with sk_conn_set_deadline() passes; it is given the
     * unread input like data() and returns how much of it it consumed (the
     * model consumes it), or a negative errno to close; without it the
     * connection is closed. close() releases per-connection state. */
    int (*open)(struct sk_conn *c);
    ssize_t (*data)(struct sk_conn *c, const char *p, size_t n);
    int (*drain)(struct sk_conn *c);
    ssize_t (*timeout)(struct sk_conn *c, const char *p, size_t n);
    void (*close)(struct sk_conn *c);

    /* Upstream callbacks (conn.h: sk_conn_upstream_*), each optional, each
     * run from the connection's loop like the ones above:
     * up_connected() gets the result of sk_conn_upstream_connect(): 0, or
     * -errno once the failed socket is closed (the service may connect
     * again or end the connection; without the callback an error aborts the
     * connection). It returns 0, or a negative errno to close the
     * connection. up_data() is given what the upstream sent (through the
     * service only, not piped) and returns how much it consumed, like
     * data(), or a negative errno to close. up_eof() runs when the upstream
     * finished sending (through the service only; piped, the model passes
     * the half-close on); without it the connection ends after its output
     * (sk_conn_end()). Returns 0 or a negative errno to close. */
    int (*up_connected)(struct sk_conn *c, int err);
    ssize_t (*up_data)(struct sk_conn *c, const char *p, size_t n);
    int (*up_eof)(struct sk_conn *c);
    /* A server-wide link the service asked for in start() (env->links) was
     * opened by the model: index 0 .. links-1. It may connect its upstream
     * from here. 0, or a negative errno (the link is closed, logged). */
    int (*link_open)(struct sk_conn *c, unsigned index);

    /* Datagram callback: the reply to one datagram written to out (at most
     * outmax bytes). Returns the reply length (0: an empty datagram, as the
     * echo of an empty one), SK_NO_REPLY for none, or another negative errno
     * (logged, no reply). */
    ssize_t (*datagram)(void *state, const struct sk_addr *from, const char *in, size_t n,
                        char *out, size_t outmax);
    /* Datagram relay, instead of datagram() (optional): where the flow of
     * a source the model has none for goes. Fill *to and return 0: the
     * model opens a socket connected to *to for this source and, without
     * the service, sends the source's datagrams on it and what comes back
     * on it to the source, until the flow was idle for the idle timeout or
     * the upstream refused (ICMP port unreachable; the next datagram asks
     * again). A negative errno drops the datagram. Called from any worker
     * thread. */
    int (*dgram_route)(void *state, const struct sk_addr *from, struct sk_addr *to);
};

/* The registry of services, NULL-terminated. */
extern const struct sk_service *const sk_services[];

/* Find a service by name, or NULL. */
const struct sk_service *sk_service_find(const char *name);

/* Apply one of svc's options to its state (sk_opt_apply() over svc->opts). */
int sk_service_option(const struct sk_service *svc, void *state, const char *name,
                      const char *value, char *err, size_t errlen);

#endif
