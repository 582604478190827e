/*
 * fault.c - fault injection for tests, where a failure cannot be provoked
 * from outside (a poll() that fails, a timer heap out of memory, a poller
 * that refuses an interest change). The environment variable
 * SOCKIT_FAULT=NAME[:N] makes the fault point NAME fail from its N-th check
 * on (default 1). The points (internal.h, SK_FAULT_*): "wait-poll" (the
 * listener wait of the blocking models), "timer" (arming a connection's
 * timer in an event loop), "interest" (changing a connection's poller
 * interest). Unset, a check costs one load.
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char point[32]; /* "" when no fault is asked for */
static long from = 1;
static atomic_long checks;

static void load(void)
{
    const char *v = getenv("SOCKIT_FAULT");
    if (!v || !*v)
        return;
    size_t n = strcspn(v, ":");
    if (n >= sizeof(point))
        return;
    memcpy(point, v, n);
    point[n] = '\0';
    if (v[n] == ':') {
        long k = strtol(v + n + 1, NULL, 10);
        if (k > 0)
            from = k;
    }
}

int sk__fault(const char *name)
{
    pthread_once(&once, load);
    if (!point[0] || strcmp(point, name) != 0)
        return 0;
    return atomic_fetch_add(&checks, 1) + 1 >= from;
}
