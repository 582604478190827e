/*
 * cmd_tls.c - `sockit cert` (a self-signed certificate and key for users who
 * want a stable one), and the TLS client options the client commands share
 * (--tls, --ca, --pin, --insecure, --sni, --tls-cert, --tls-key): parsing,
 * checking, and the handshake with its one-line failure.
 */
#include "cli.h"

#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the client options ---- */

int sk_cli_tls_opt(struct sk_cli_tls *t, int c, const char *arg)
{
    switch (c) {
    case SK_CLI_TLS_ON: break;
    case SK_CLI_TLS_CA: t->ca = arg; break;
    case SK_CLI_TLS_PIN: t->pin = arg; break;
    case SK_CLI_TLS_INSECURE: t->insecure = 1; break;
    case SK_CLI_TLS_SNI: t->sni = arg; break;
    case SK_CLI_TLS_CERT: t->cert = arg; break;
    case SK_CLI_TLS_KEY: t->key = arg; break;
    default: return 0;
    }
    t->on = 1; /* every TLS option implies --tls */
    return 1;
}

int sk_cli_tls_check(const char *cmd, const struct sk_cli_tls *t)
{
    uint8_t pin[SK_TLS_SHA256_LEN];
    const char *why;
    if (!t->on)
        return 0;
    if (t->insecure + !!t->pin + !!t->ca > 1)
        return sk_cli_usage(cmd, "--insecure, --pin and --ca exclude each other");
    if (t->pin && sk_tls_pin_parse(t->pin, pin, &why) < 0)
        return sk_cli_usage(cmd, "--pin %s: %s", t->pin, why);
    if (!t->cert != !t->key)
        return sk_cli_usage(cmd, "--tls-cert and --tls-key go together");
    if (t->sni && sk_tls_name_check(t->sni) < 0)
        return sk_cli_usage(cmd, "--sni %s: not a host name", t->sni);
    return 0;
}

int sk_cli_tls_ctx(const char *cmd, const struct sk_cli_tls *t, const char *alpn,
                   struct sk_tls_ctx **ctx)
{
    char why[512];
    struct sk_tls_client_opts co = {
        .ca_file = t->ca,
        .pin = t->pin,
        .insecure = t->insecure,
        .cert_file = t->cert,
        .key_file = t->key,
        .alpn = alpn,
    };
    *ctx = NULL;
    if (sk_tls_client_ctx(&co, ctx, why, sizeof(why)) < 0)
        return sk_cli_fail(cmd, "%s", why);
    if (t->insecure)
        fprintf(stderr, "sockit: %s: --insecure: the server's certificate is not verified\n", cmd);
    return 0;
}

int sk_cli_tls_start(const char *cmd, const char *target, const struct sk_cli_tls *t, int fd,
                     const char *host, int timeout_ms, int verbose, struct sk_tls_ctx **ctx,
                     struct sk_tls **conn)
{
    *conn = NULL;
    if (sk_cli_tls_ctx(cmd, t, NULL, ctx))
        return SK_EXIT_FAIL;
    int r = sk_tls_client(*ctx, fd, host, t->sni, conn);
    if (r < 0)
        return sk_cli_fail(cmd, "%s: %s", target, sk_strerror(r));
    r = sk_tls_handshake(*conn, timeout_ms);
    if (r < 0)
        return sk_cli_fail(cmd, "%s: %s", target, sk_tls_why(*conn));
    if (verbose) {
        char fp[SK_TLS_FP_STRLEN];
        if (sk_tls_peer_fingerprint(*conn, fp, sizeof(fp)) < 0)
            snprintf(fp, sizeof(fp), "none");
        fprintf(stderr, "sockit: %s: %s, server certificate %s%s%s\n", cmd, sk_tls_version(*conn),
                fp, t->insecure ? " (not verified)" : "", t->pin ? " (pinned)" : "");
    }
    return 0;
}

/* ---- sockit cert ---- */

static void cert_help(void)
{
    printf("Usage: sockit cert [--name NAME]... [--days N] [--out DIR]\n"
           "Make a self-signed TLS certificate (ECDSA P-256) and its key: DIR/cert.pem and\n"
           "DIR/key.pem (mode 0600). Neither file is ever replaced. Prints the\n"
           "certificate's fingerprint, which clients accept with --pin.\n\n"
           "Options:\n"
           "  -n, --name NAME    a host name or address the certificate is for (repeat;\n"
           "                     default: localhost, 127.0.0.1, ::1 and this host's name)\n"
           "  -d, --days N       valid for N days from now (default 365, at most 36500)\n"
           "  -o, --out DIR      where to write (default .; made when missing)\n"
           "  -h, --help         this text\n\n"
           "Exit status: 0 written, 1 failure (a file exists, DIR cannot be written),\n"
           "2 bad arguments.\n");
}

static const struct option cert_longs[] = {
    {"name", required_argument, NULL, 'n'},
    {"days", required_argument, NULL, 'd'},
    {"out", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_cert = {":n:d:o:h", cert_longs, 0};

int cmd_cert(int argc, char **argv)
{
    const char *cmd = "cert", *dir = ".";
    const char *names[64];
    size_t nnames = 0;
    int64_t days = 365;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_cert.shorts, sk_cli_opts_cert.longs, NULL)) !=
           -1) {
        switch (c) {
        case 'n':
            if (nnames == SK_ARRAY_LEN(names))
                return sk_cli_usage(cmd, "at most %zu names", SK_ARRAY_LEN(names));
            if (sk_tls_name_check(optarg) < 0)
                return sk_cli_usage(cmd, "--name '%s': not a host name or IP address", optarg);
            names[nnames++] = optarg;
            break;
        case 'd':
            if (sk_parse_i64(optarg, 1, 36500, &days) < 0)
                return sk_cli_usage(cmd, "--days '%s': a number of days, 1 to 36500", optarg);
            break;
        case 'o':
            if (!*optarg)
                return sk_cli_usage(cmd, "--out: empty directory name");
            dir = optarg;
            break;
        case 'h': cert_help(); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc)
        return sk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);

    char host[256];
    if (nnames == 0) {
        names[nnames++] = "localhost";
        names[nnames++] = "127.0.0.1";
        names[nnames++] = "::1";
        if (gethostname(host, sizeof(host)) == 0) {
            host[sizeof(host) - 1] = '\0';
            if (sk_tls_name_check(host) == 0)
                names[nnames++] = host;
        }
    }
    char fp[SK_TLS_FP_STRLEN], why[512];
    if (sk_tls_cert_write(names, nnames, (int)days, dir, fp, why, sizeof(why)) < 0)
        return sk_cli_fail(cmd, "%s", why);
    printf("%s\n", fp);
    fprintf(stderr, "sockit: cert: wrote %s/cert.pem and %s/key.pem (valid %d days)\n", dir, dir,
            (int)days);
    return SK_EXIT_OK;
}
