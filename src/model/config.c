/*
 * config.c - the policy of a server, in the library rather than the command:
 * the server's own options as data (parsed like a service's, options.c),
 * settling them in any order (the output high-water mark, the service's
 * default idle timeout), choosing the model, and starting the service with
 * its environment instead of the server itself.
 */
#include "sockit/model.h"
#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define DAY_MS (24 * 3600 * 1000LL)

/* --idle-timeout given: the service's own default no longer applies. */
static void idle_set(void *base)
{
    ((struct sk_server *)base)->idle_set = 1;
}

const struct sk_service_opt sk_server_opts[] = {
    {.name = "workers",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct sk_server, workers),
     .max = 1024,
     .arg = "N",
     .help = "event loops, processes or threads (model-dependent; 0: the model's default)"},
    {.name = "max-conns",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct sk_server, lim.max_conns),
     .max = 10000000,
     .arg = "N",
     .help = "connections served at once (default 10000; 0: no limit). Excess connections "
             "are accepted, logged and closed."},
    {.name = "idle-timeout",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct sk_server, lim.idle_timeout_ms),
     .max = 24 * DAY_MS, /* what an int of milliseconds holds */
     .arg = "SECS",
     .help = "close connections silent this long (default 300; 0: never)",
     .post = idle_set},
    {.name = "max-input",
     .type = SK_OPT_SIZE,
     .offset = offsetof(struct sk_server, lim.in_max),
     .min = 64,
     .max = 1LL << 32,
     .arg = "SIZE",
     .help = "per-connection input buffer (default 64k); UDP: each datagram buffer (larger "
             "datagrams are logged, dropped)"},
    {.name = "max-output",
     .type = SK_OPT_SIZE,
     .offset = offsetof(struct sk_server, lim.out_max),
     .min = 64,
     .max = 1LL << 32,
     .arg = "SIZE",
     .help = "per-connection output queue (default 1M)"},
    {.name = "drain",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct sk_server, lim.drain_ms),
     .max = 24 * DAY_MS,
     .arg = "SECS",
     .help = "on stop, time for connections to finish (default 2)"},
    {.name = "max-per-ip",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct sk_server, lim.max_per_ip),
     .max = 10000000,
     .arg = "N",
     .help = "connections open at once from one source address (default 0: no limit); "
             "excess ones are closed"},
    {.name = "accept-rate",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct sk_server, lim.ip_rate),
     .max = 10000000,
     .arg = "N",
     .help = "new connections per second from one source address (as many in a burst; "
             "default 0: no limit)"},
    {.name = "handshake-timeout",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct sk_server, handshake_ms),
     .min = 1,
     .max = 3600 * 1000,
     .arg = "SECS",
     .help = "with --tls: close a connection whose handshake is not done by then (default 10)"},
    {.name = "udp-rate",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct sk_server, lim.udp_rate),
     .max = 10000000,
     .arg = "N",
     .help = "UDP: at most N replies a second to one source address (default 0: no limit)"},
    {0},
};

int sk_server_option(struct sk_server *srv, const char *name, const char *value, char *err,
                     size_t errlen)
{
    return sk_opt_apply(sk_server_opts, srv, name, value, err, errlen);
}

void sk_limits_settle(struct sk_limits *lim)
{
    lim->out_high = SK_MIN((size_t)SK_SERVER_OUT_HIGH, lim->out_max / 4);
}

/* The model called name, or the default; a sentence in why when none fits. */
static int choose_model(struct sk_server *srv, const char *name, char *why, size_t len)
{
    const struct sk_service *svc = srv->svc;
    int dgram = srv->socktype == SOCK_DGRAM, r;

    if (!name) {
        srv->model = sk_model_default(svc->flags, srv->socktype);
        if (!srv->model) {
            snprintf(why, len, "no model here can carry %s", svc->name);
            return -EPROTONOSUPPORT;
        }
        return 0;
    }
    srv->model = sk_model_find(name, srv->socktype);
    if (!srv->model) {
        snprintf(why, len, "unknown %s model '%s' (see 'sockit serve --list')",
                 dgram ? "UDP" : "TCP", name);
        return -EINVAL;
    }
    char because[192];
    if (!sk_model_can_carry(srv->model, svc->flags, srv->socktype, because, sizeof(because))) {
        snprintf(why, len, "%s: refusing %s: %s", srv->model->name, svc->name, because);
        return -EPROTONOSUPPORT;
    }
    if (srv->model->available && (r = srv->model->available(because, sizeof(because))) < 0) {
        snprintf(why, len, "model %s is not available here: %s", srv->model->name, because);
        return r == -EINVAL ? -ENOTSUP : r;
    }
    return 0;
}

int sk_server_configure(struct sk_server *srv, const char *model_name, char *why, size_t len)
{
    const struct sk_service *svc = srv->svc;
    int dgram = srv->socktype == SOCK_DGRAM;

    if (!(svc->flags & (dgram ? SK_SVC_DGRAM : SK_SVC_STREAM))) {
        snprintf(why, len, "service %s does not speak %s", svc->name, dgram ? "UDP" : "TCP");
        return -EINVAL;
    }
    if (srv->lim.udp_rate && !dgram) {
        snprintf(why, len, "--udp-rate is for datagram servers (--udp)");
        return -EINVAL;
    }
    int r = choose_model(srv, model_name, why, len);
    if (r < 0)
        return r;
    if (!srv->idle_set && svc->idle_timeout_ms)
        srv->lim.idle_timeout_ms = svc->idle_timeout_ms < 0 ? 0 : svc->idle_timeout_ms;
    sk_limits_settle(&srv->lim);
    const struct sk_limits *l = &srv->lim;
    sk_log(SK_LOG_DEBUG,
           "limits: max-conns %u, idle-timeout %d ms, max-input %zu, max-output %zu "
           "(high-water %zu), drain %d ms",
           l->max_conns, l->idle_timeout_ms, l->in_max, l->out_max, l->out_high, l->drain_ms);
    return 0;
}

int sk_server_start_service(struct sk_server *srv, char *err, size_t errlen)
{
    struct sk_service_env env = {
        .in_max = srv->lim.in_max,
        .out_max = srv->lim.out_max,
        .addr = &srv->addr,
        .stop_fd = srv->stop_fd,
        .terminal = isatty(STDIN_FILENO),
        .log_level = sk_log_level,
        .socktype = srv->socktype,
        .drain_ms = srv->lim.drain_ms,
    };
    int r = srv->svc->start ? srv->svc->start(srv->svc_state, &env, err, errlen) : 0;
    srv->stdin_stop = env.terminal && !env.took_terminal;
    if (r == 0 && env.links && !(srv->model->caps & SK_MODEL_LINKS)) {
        snprintf(err, errlen,
                 "model %s cannot drive the service's server-wide connections (--cluster)",
                 srv->model->name);
        return -EINVAL;
    }
    srv->links = env.links;
    return r;
}
