/*
 * model.h - how connections are multiplexed onto processes and threads.
 *
 * Each model is one file (src/model/NAME.c) exporting one struct sk_model.
 * The registry lists them; `sockit serve --model NAME` picks one, and a model
 * the machine cannot offer says so (available() fails) rather than being
 * silently replaced.
 */
#ifndef SOCKIT_MODEL_H
#define SOCKIT_MODEL_H

#include <stddef.h>

struct sk_server;

enum {
    SK_MODEL_STREAM = 1u << 0,  /* serves stream services */
    SK_MODEL_DGRAM = 1u << 1,   /* serves datagram services */
    SK_MODEL_HUB = 1u << 2,     /* can carry hub (shared state) services */
    SK_MODEL_WORKERS = 1u << 3, /* --workers N means something */
    SK_MODEL_LINKS = 1u << 4,   /* drives a hub service's server-wide links (conn.h) */
};

struct sk_model {
    const char *name;
    const char *summary;
    unsigned caps;
    int rank; /* higher is preferred as the default */
    /* 0 when usable here; else a negative errno and a reason in why. NULL
     * means always available. */
    int (*available)(char *why, size_t len);
    /* Serve until srv->stop; returns 0 or a negative errno. */
    int (*run)(struct sk_server *srv);
};

/* The registry, NULL-terminated, in the order `serve --list` shows. */
extern const struct sk_model *const sk_models[];

/* The names of the models that serve socktype, in registry order, separated
 * by spaces, into buf (always terminated). Returns what snprintf() would. */
int sk_model_names(int socktype, char *buf, size_t len);

/* The model called name that serves socktype (SOCK_STREAM/SOCK_DGRAM). */
const struct sk_model *sk_model_find(const char *name, int socktype);

/* The highest-ranked available model for the service and socktype. */
const struct sk_model *sk_model_default(unsigned svc_flags, int socktype);

/* Can model m carry a service with these flags over socktype? When not,
 * a sentence saying why is written to why. */
int sk_model_can_carry(const struct sk_model *m, unsigned svc_flags, int socktype, char *why,
                       size_t len);

#endif
