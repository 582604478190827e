/*
 * daytime.c - the daytime service (RFC 867): on connect, send the current
 * date and time as one human-readable line and close; over UDP, answer any
 * datagram with that line. The format is the RFC's first suggestion,
 * "Weekday, Month Day, Year HH:MM:SS-ZONE", in local time (TZ applies), with
 * a CRLF line end; --utc gives UTC.
 */
#include "sockit/service.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct daytime {
    int utc;
};

static int daytime_create(void **state)
{
    struct daytime *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    *state = d;
    return 0;
}

static void daytime_destroy(void *state)
{
    free(state);
}

/* The line, CRLF included, into buf; returns its length or a negative errno. */
static ssize_t daytime_line(const struct daytime *d, char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;

    if ((d->utc ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)) == NULL)
        return -EOVERFLOW;
    size_t n =
        strftime(buf, size,
                 d->utc ? "%A, %B %d, %Y %H:%M:%S-UTC\r\n" : "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &tm);
    return n ? (ssize_t)n : -EMSGSIZE;
}

static int daytime_open(struct sk_conn *c)
{
    char line[128];
    ssize_t n = daytime_line(sk_conn_service_state(c), line, sizeof(line));
    if (n < 0)
        return (int)n;
    int r = sk_conn_write(c, line, (size_t)n);
    sk_conn_end(c);
    return r;
}

static ssize_t daytime_data(struct sk_conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    return (ssize_t)n; /* input is ignored */
}

static ssize_t daytime_datagram(void *state, const struct sk_addr *from, const char *in, size_t n,
                                char *out, size_t outmax)
{
    (void)from;
    (void)in;
    (void)n;
    return daytime_line(state, out, outmax);
}

static const struct sk_service_opt daytime_opts[] = {
    {.name = "utc",
     .type = SK_OPT_FLAG,
     .offset = offsetof(struct daytime, utc),
     .min = 1,
     .help = "give the time in UTC rather than local time"},
    {0},
};

const struct sk_service sk_service_daytime = {
    .name = "daytime",
    .summary = "send the date and time as one line, then close (RFC 867)",
    .flags = SK_SVC_STREAM | SK_SVC_DGRAM,
    .opts = daytime_opts,
    .create = daytime_create,
    .destroy = daytime_destroy,
    .open = daytime_open,
    .data = daytime_data,
    .datagram = daytime_datagram,
};
