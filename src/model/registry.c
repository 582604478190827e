/*
 * registry.c - the list of models, lookup, and the default choice.
 */
#include "sockit/model.h"

#include "sockit/service.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

extern const struct sk_model sk_model_iterative, sk_model_fork, sk_model_prefork, sk_model_thread,
    sk_model_pool, sk_model_select, sk_model_poll, sk_model_epoll, sk_model_uring,
    sk_model_udp_plain, sk_model_udp_batch, sk_model_udp_uring;

const struct sk_model *const sk_models[] = {
    &sk_model_iterative,
    &sk_model_fork,
    &sk_model_prefork,
    &sk_model_thread,
    &sk_model_pool,
    &sk_model_select,
    &sk_model_poll,
    &sk_model_epoll,
    &sk_model_uring,
    &sk_model_udp_plain,
    &sk_model_udp_batch,
    &sk_model_udp_uring,
    NULL,
};

static unsigned type_cap(int socktype)
{
    return socktype == SOCK_DGRAM ? SK_MODEL_DGRAM : SK_MODEL_STREAM;
}

int sk_model_names(int socktype, char *buf, size_t len)
{
    int n = 0;

    if (len)
        buf[0] = '\0';
    for (const struct sk_model *const *m = sk_models; *m; m++) {
        if (!((*m)->caps & type_cap(socktype)))
            continue;
        size_t at = (size_t)n < len ? (size_t)n : len;
        n += snprintf(buf + at, len - at, "%s%s", n ? " " : "", (*m)->name);
    }
    return n;
}

const struct sk_model *sk_model_find(const char *name, int socktype)
{
    for (const struct sk_model *const *m = sk_models; *m; m++)
        if (strcmp((*m)->name, name) == 0 && ((*m)->caps & type_cap(socktype)))
            return *m;
    return NULL;
}

int sk_model_can_carry(const struct sk_model *m, unsigned svc_flags, int socktype, char *why,
                       size_t len)
{
    if (!(m->caps & type_cap(socktype))) {
        snprintf(why, len, "model %s does not serve %s", m->name,
                 socktype == SOCK_DGRAM ? "datagrams (UDP)" : "streams (TCP)");
        return 0;
    }
    if ((svc_flags & SK_SVC_HUB) && !(m->caps & SK_MODEL_HUB)) {
        snprintf(why, len,
                 "model %s cannot carry a service that shares state between connections "
                 "(its connections live in separate processes)",
                 m->name);
        return 0;
    }
    return 1;
}

const struct sk_model *sk_model_default(unsigned svc_flags, int socktype)
{
    const struct sk_model *best = NULL;
    char why[256];

    for (const struct sk_model *const *m = sk_models; *m; m++) {
        if (!sk_model_can_carry(*m, svc_flags, socktype, why, sizeof(why)))
            continue;
        if ((*m)->available && (*m)->available(why, sizeof(why)) < 0)
            continue;
        if (!best || (*m)->rank > best->rank)
            best = *m;
    }
    return best;
}
