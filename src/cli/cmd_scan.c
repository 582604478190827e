/*
 * cmd_scan.c - `sockit connect -z HOST PORT[-PORT]...`: the port list from
 * the operands, the scan (sk_scan()), and its report as lines or --json.
 */
#include "cli.h"

#include "sockit/client.h"
#include "sockit/error.h"
#include "sockit/resolve.h"
#include "sockit/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_PORTS 65535
#define SCAN_PARALLEL 64

static volatile sig_atomic_t scan_stop;

static void on_signal(int sig)
{
    (void)sig;
    scan_stop = 1;
}

static const char *state_name(int r)
{
    return r == 0 ? "open" : r == -ECONNREFUSED ? "refused" : r == -ETIMEDOUT ? "timeout" : "error";
}

int sk_cli_scan(const char *cmd, char **args, int nargs, int family, int wait_ms, int verbose,
                int json, int nc_style)
{
    uint16_t *ports = malloc(SCAN_MAX_PORTS * sizeof(*ports));
    int *res = NULL, rc = SK_EXIT_USAGE, r;
    size_t n = 0;
    struct sk_addr target;
    char a[SK_ADDR_STRLEN];

    if (!ports)
        return sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
    if (nargs < 2) {
        sk_cli_usage(cmd, "-z: expected HOST PORT[-PORT]...");
        goto out;
    }
    for (int i = 1; i < nargs; i++) {
        uint16_t lo, hi;
        const char *why;
        if (sk_port_range_parse(args[i], &lo, &hi, &why) < 0) {
            sk_cli_usage(cmd, "-z %s: %s", args[i], why);
            goto out;
        }
        for (unsigned p = lo; p <= hi; p++) {
            if (n == SCAN_MAX_PORTS) {
                sk_cli_usage(cmd, "-z: at most %d ports at once", SCAN_MAX_PORTS);
                goto out;
            }
            ports[n++] = (uint16_t)p;
        }
    }
    rc = SK_EXIT_FAIL;
    if ((r = sk_resolve_one(args[0], "0", family, SOCK_STREAM, 0, &target)) < 0) {
        sk_cli_fail(cmd, "%s: %s", args[0], sk_strerror(r));
        goto out;
    }
    sk_addr_format_host(&target, a, sizeof(a));
    if (!(res = calloc(n, sizeof(*res)))) {
        sk_cli_fail(cmd, "%s", sk_strerror(-ENOMEM));
        goto out;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int done =
        sk_scan(&target, ports, n, wait_ms > 0 ? wait_ms : 3000, SCAN_PARALLEL, &scan_stop, res);
    if (done < 0) {
        sk_cli_fail(cmd, "%s", sk_strerror(done));
        goto out;
    }
    int first = 1, open = 0;
    if (json)
        printf("[");
    for (size_t i = 0; i < (size_t)done; i++) {
        open += res[i] == 0;
        if (json) {
            sk_cli_json_sep(&first);
            printf("{\"host\": ");
            sk_json_str(stdout, a);
            printf(", \"port\": %u, \"state\": \"%s\"", ports[i], state_name(res[i]));
            if (res[i] && res[i] != -ECONNREFUSED && res[i] != -ETIMEDOUT) {
                printf(", \"error\": ");
                sk_json_str(stdout, sk_strerror(res[i]));
            }
            printf("}");
        } else if (nc_style) {
            /* netcat-openbsd's words, on stderr, with -v only */
            if (verbose && res[i] == 0)
                fprintf(stderr, "Connection to %s %u port [tcp/*] succeeded!\n", args[0], ports[i]);
            else if (verbose)
                fprintf(stderr, "nc: connect to %s port %u (tcp) failed: %s\n", args[0], ports[i],
                        sk_strerror(res[i]));
        } else if (res[i] == 0 || verbose) {
            printf("%s %u %s", a, ports[i], state_name(res[i]));
            if (res[i] && res[i] != -ECONNREFUSED && res[i] != -ETIMEDOUT)
                printf(" (%s)", sk_strerror(res[i]));
            printf("\n");
        }
    }
    if (json)
        printf("]\n");
    fflush(stdout);
    rc = scan_stop ? 130 : open ? SK_EXIT_OK : SK_EXIT_FAIL;
out:
    free(ports);
    free(res);
    return rc;
}
