/*
 * cmd_tool_ip.c - `sockit ip`, `sockit byteorder` and `sockit service`:
 * argument parsing and printing only; the logic is in src/tool/.
 *
 * Exit status of these commands: 0 when every operand was answered, 1 when
 * one of them was malformed or unknown (its reason is one line on stderr and
 * the others are still answered), 2 for bad options or no operand at all.
 */
#include "cli.h"

#include "sockit/error.h"
#include "sockit/tool.h"
#include "sockit/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ip ---- */

static const char ip_help[] =
    "Usage: sockit ip [--inet-aton] [--json] ADDR[/N]...\n"
    "Show each IPv4 or IPv6 address in every notation: dotted quad, packed hex,\n"
    "the 32-bit integer in host and network order, and binary; IPv6 in\n"
    "compressed and full form, packed hex and binary. Also names the kind of\n"
    "address (loopback, private, link-local, multicast, documentation, ...).\n"
    "\n"
    "Accepted forms:\n"
    "  IPv4  strict dotted quad a.b.c.d: four decimal parts 0..255, no leading\n"
    "        zeros, nothing before or after (1.2.3, 01.2.3.4, 256.1.1.1 are refused)\n"
    "  IPv6  anything inet_pton() takes (::1, 2001:db8::1, ::ffff:1.2.3.4),\n"
    "        optionally with %ZONE (fe80::1%lo)\n"
    "  /N    either may end in a prefix length (192.168.0.0/24, 2001:db8::/32):\n"
    "        then also netmask, network, broadcast or last address, host range\n"
    "        and block size are shown\n"
    "\n"
    "Options:\n"
    "  -a, --inet-aton  also accept inet_aton()'s legacy IPv4 forms: 1 to 4 parts,\n"
    "                   each decimal, octal (leading 0) or hex (0x), the last part\n"
    "                   filling the remaining bytes (1.2.3 = 1.2.0.3, 0x7f.1 =\n"
    "                   127.0.0.1, 2130706433 = 127.0.0.1); marked 'legacy'\n"
    "  -j, --json       one JSON array of records (errors as {\"input\",\"error\"})\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 all shown, 1 some address malformed (one line each on\n"
    "stderr; the others are still shown), 2 bad options or no address.\n";

static void block_text(const struct sk_ip *ip, const struct sk_ip_notation *n)
{
    if (ip->prefix < 0)
        return;
    printf("  prefix         /%d  netmask %s\n", ip->prefix, n->netmask);
    printf("  network        %s\n", n->network);
    int bits = ip->family == AF_INET ? 32 : 128;
    if (ip->family == AF_INET && bits - ip->prefix >= 2)
        printf("  broadcast      %s\n", n->last);
    else
        printf("  last           %s\n", n->last);
    if (ip->family == AF_INET)
        printf("  hosts          %s - %s (%s)\n", n->first_host, n->last_host, n->hosts);
    printf("  block size     %s address%s\n", n->size, strcmp(n->size, "1") ? "es" : "");
}

/* The block size as a JSON number: n->size is a decimal, or "2^N" beyond
 * 64 bits, written out here in full (JSON numbers have no size limit). */
static void size_json(const char *size)
{
    if (strncmp(size, "2^", 2) != 0) {
        fputs(size, stdout);
        return;
    }
    int bits = atoi(size + 2);
    unsigned char d[48] = {1}; /* decimal digits, least significant first */
    int nd = 1;
    for (int b = 0; b < bits && b < 128; b++) {
        int carry = 0;
        for (int i = 0; i < nd; i++) {
            int v = d[i] * 2 + carry;
            d[i] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        if (carry)
            d[nd++] = (unsigned char)carry;
    }
    while (nd > 0)
        putchar('0' + d[--nd]);
}

static void block_json(const struct sk_ip *ip, const struct sk_ip_notation *n)
{
    if (ip->prefix < 0)
        return;
    printf(", \"prefix\": %d, \"netmask\": \"%s\", \"network\": \"%s\", \"last\": \"%s\", "
           "\"size\": ",
           ip->prefix, n->netmask, n->network, n->last);
    size_json(n->size);
    if (ip->family == AF_INET)
        printf(", \"first_host\": \"%s\", \"last_host\": \"%s\", \"hosts\": %s", n->first_host,
               n->last_host, n->hosts);
}

static void ip_text(const char *in, const struct sk_ip *ip, const struct sk_ip_notation *n)
{
    if (ip->family == AF_INET) {
        if (ip->legacy)
            printf("%s (IPv4, legacy inet_aton form read as %s; %s)\n", in, n->text, n->kind);
        else
            printf("%s (IPv4, %s)\n", in, n->kind);
        printf("  dotted         %s\n", n->text);
        printf("  packed hex     %s\n", n->hex);
        printf("  host order     %-10" PRIu32 "  0x%08" PRIx32 "  (the address as a number)\n",
               n->host_order, n->host_order);
        printf("  network order  %-10" PRIu32 "  0x%08" PRIx32
               "  (s_addr: wire bytes read by this %s-endian host)\n",
               n->net_order, n->net_order, sk_host_big_endian() ? "big" : "little");
        printf("  binary         %s\n", n->binary);
        block_text(ip, n);
        return;
    }
    printf("%s (IPv6, %s)\n", in, n->kind);
    printf("  compressed     %s\n", n->text);
    printf("  full           %s\n", n->full);
    printf("  packed hex     %s\n", n->hex);
    printf("  binary         %s\n", n->binary);
    if (n->mapped_v4[0])
        printf("  ipv4           %s\n", n->mapped_v4);
    block_text(ip, n);
}

static void ip_json(const char *in, const struct sk_ip *ip, const struct sk_ip_notation *n)
{
    fputs("{\"input\": ", stdout);
    sk_json_str(stdout, in);
    printf(", \"family\": \"%s\", \"kind\": ", ip->family == AF_INET ? "inet" : "inet6");
    sk_json_str(stdout, n->kind);
    if (ip->family == AF_INET) {
        printf(", \"legacy\": %s, \"dotted\": \"%s\", \"hex\": \"%s\", \"host_order\": %" PRIu32
               ", \"network_order\": %" PRIu32 ", \"binary\": \"%s\"",
               ip->legacy ? "true" : "false", n->text, n->hex, n->host_order, n->net_order,
               n->binary);
        block_json(ip, n);
        fputs("}", stdout);
        return;
    }
    fputs(", \"compressed\": ", stdout);
    sk_json_str(stdout, n->text);
    printf(", \"full\": \"%s\", \"hex\": \"%s\", \"binary\": \"%s\"", n->full, n->hex, n->binary);
    if (n->mapped_v4[0])
        printf(", \"ipv4\": \"%s\"", n->mapped_v4);
    block_json(ip, n);
    fputs("}", stdout);
}

static const struct option ip_longs[] = {
    {"inet-aton", no_argument, NULL, 'a'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_ip = {":ajh", ip_longs, 0};

int cmd_ip(int argc, char **argv)
{
    const char *cmd = argv[0];
    unsigned flags = 0;
    int json = 0, c, rc = SK_EXIT_OK, first = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_ip.shorts, sk_cli_opts_ip.longs, NULL)) != -1) {
        switch (c) {
        case 'a': flags |= SK_IP_ATON; break;
        case 'j': json = 1; break;
        case 'h': fputs(ip_help, stdout); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc)
        return sk_cli_usage(cmd, "which address? (e.g. sockit ip 127.0.0.1 ::1)");
    if (json)
        fputs("[", stdout);
    for (int i = optind; i < argc; i++) {
        struct sk_ip ip;
        struct sk_ip_notation n;
        const char *why = "malformed";
        if (sk_ip_parse(argv[i], flags, &ip, &why) < 0) {
            struct in_addr legacy;
            char alt[INET_ADDRSTRLEN] = "";
            if (!(flags & SK_IP_ATON) && !strchr(argv[i], ':') &&
                sk_ip4_aton_parse(argv[i], &legacy, NULL) == 0)
                inet_ntop(AF_INET, &legacy, alt, sizeof(alt));
            if (alt[0])
                sk_cli_fail(cmd, "%s: %s; inet_aton() would read it as %s (--inet-aton accepts it)",
                            argv[i], why, alt);
            else
                sk_cli_fail(cmd, "%s: %s", argv[i], why);
            rc = SK_EXIT_FAIL;
            if (json)
                sk_cli_json_error("input", argv[i], why, &first);
            continue;
        }
        sk_ip_notation(&ip, &n);
        if (json) {
            sk_cli_json_sep(&first);
            ip_json(argv[i], &ip, &n);
        } else {
            ip_text(argv[i], &ip, &n);
        }
    }
    if (json)
        fputs("]\n", stdout);
    return rc;
}

/* ---- byteorder ---- */

static const char byteorder_help[] =
    "Usage: sockit byteorder [--json] N...\n"
    "Show each unsigned integer N (decimal, or hex with 0x) in host and network\n"
    "byte order at 16, 32 and 64 bits: the value htons()/htonl()/htobe64()\n"
    "return, read as a number on this host, and the bytes in memory on this\n"
    "host and on the wire (network order is big-endian). A width N does not\n"
    "fit in is said so for that width.\n"
    "\n"
    "Options:\n"
    "  -j, --json   one JSON array of records\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 all shown, 1 some N malformed, negative or over 64 bits (one\n"
    "line each on stderr; the others are still shown), 2 bad options or no N.\n";

static void bytes_hex(const unsigned char *b, int n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, i ? " %02x" : "%02x", b[i]);
}

static const char *hton_name(int bits)
{
    return bits == 16 ? "htons()" : bits == 32 ? "htonl()" : "htobe64()";
}

static const struct option byteorder_longs[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_byteorder = {":jh", byteorder_longs, 0};

int cmd_byteorder(int argc, char **argv)
{
    static const int widths[] = {16, 32, 64};
    const char *cmd = argv[0];
    int json = 0, c, rc = SK_EXIT_OK, first = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_byteorder.shorts, sk_cli_opts_byteorder.longs,
                            NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': fputs(byteorder_help, stdout); return SK_EXIT_OK;
        default:
            if (c == '?' && optopt >= '0' && optopt <= '9')
                return sk_cli_usage(cmd, "'%s': negative numbers are refused (unsigned only)",
                                    argv[optind - 1]);
            return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc)
        return sk_cli_usage(cmd, "which number? (e.g. sockit byteorder 1234)");
    const char *endian = sk_host_big_endian() ? "big" : "little";
    if (json)
        fputs("[", stdout);
    for (int i = optind; i < argc; i++) {
        uint64_t v;
        const char *why = "malformed";
        if (sk_u64_parse(argv[i], &v, &why) < 0) {
            sk_cli_fail(cmd, "%s: %s", argv[i], why);
            rc = SK_EXIT_FAIL;
            if (json)
                sk_cli_json_error("input", argv[i], why, &first);
            continue;
        }
        if (json) {
            sk_cli_json_sep(&first);
            fputs("{\"input\": ", stdout);
            sk_json_str(stdout, argv[i]);
            printf(", \"value\": %" PRIu64 ", \"host_endian\": \"%s\", \"widths\": [", v, endian);
        } else {
            printf("%" PRIu64 " = 0x%" PRIx64 " (this host is %s-endian)\n", v, v, endian);
        }
        for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
            struct sk_byteorder b;
            char hb[24], nb[24];
            int digits = widths[w] / 4;
            sk_byteorder(v, widths[w], &b);
            if (json && !b.fits) {
                printf("%s{\"bits\": %d, \"fits\": false}", w ? ", " : "", b.bits);
                continue;
            }
            if (!b.fits) {
                printf("  %2d bits  does not fit in %d bits\n", b.bits, b.bits);
                continue;
            }
            bytes_hex(b.host_bytes, b.bits / 8, hb, sizeof(hb));
            bytes_hex(b.net_bytes, b.bits / 8, nb, sizeof(nb));
            if (json) {
                printf("%s{\"bits\": %d, \"fits\": true, \"host\": %" PRIu64
                       ", \"host_hex\": \"0x%0*" PRIx64 "\", \"network\": %" PRIu64
                       ", \"network_hex\": \"0x%0*" PRIx64
                       "\", \"host_bytes\": \"%s\", \"network_bytes\": \"%s\"}",
                       w ? ", " : "", b.bits, b.host, digits, b.host, b.net, digits, b.net, hb, nb);
                continue;
            }
            printf("  %2d bits  host       0x%0*" PRIx64 "%*s %-20" PRIu64 "  memory %s\n", b.bits,
                   digits, b.host, 16 - digits, "", b.host, hb);
            printf("           %-10s 0x%0*" PRIx64 "%*s %-20" PRIu64 "  memory %s\n",
                   hton_name(b.bits), digits, b.net, 16 - digits, "", b.net, nb);
        }
        if (json)
            fputs("]}", stdout);
    }
    if (json)
        fputs("]\n", stdout);
    return rc;
}

/* ---- service ---- */

static const char service_help[] =
    "Usage: sockit service [--json] PORT[/PROTO]|NAME[/PROTO]...\n"
    "Look up the services database (/etc/services) in both directions:\n"
    "a port gives its service name (80 -> http), a name gives its port\n"
    "(http -> 80/tcp). PROTO is tcp or udp (or another protocol the database\n"
    "lists); without it both tcp and udp are looked up and each found is shown.\n"
    "\n"
    "Options:\n"
    "  -j, --json   one JSON array of records\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 all found, 1 some query unknown or malformed (a port outside\n"
    "0..65535, an unknown name; one line each on stderr, the others are still\n"
    "answered), 2 bad options or no query.\n";

static void serv_print(const struct sk_servq *q, const struct sk_serv *s, int json, int *first)
{
    char pp[32];
    snprintf(pp, sizeof(pp), "%u/%s", (unsigned)s->port, s->proto);
    if (json) {
        sk_cli_json_sep(first);
        fputs("{\"name\": ", stdout);
        sk_json_str(stdout, s->name);
        printf(", \"port\": %u, \"proto\": ", (unsigned)s->port);
        sk_json_str(stdout, s->proto);
        fputs(", \"aliases\": [", stdout);
        const char *a = s->aliases;
        int n = 0;
        while (*a) {
            size_t len = strcspn(a, " ");
            char one[sizeof(s->aliases)];
            memcpy(one, a, len);
            one[len] = '\0';
            fputs(n++ ? ", " : "", stdout);
            sk_json_str(stdout, one);
            a += len;
            a += *a == ' ';
        }
        fputs("]}", stdout);
        return;
    }
    const char *left = q->by_port ? pp : s->name, *right = q->by_port ? s->name : pp;
    if (s->aliases[0])
        printf("%-12s %-16s aliases: %s\n", left, right, s->aliases);
    else
        printf("%-12s %s\n", left, right);
}

static const struct option service_longs[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
const struct sk_cli_opts sk_cli_opts_service = {":jh", service_longs, 0};

int cmd_service(int argc, char **argv)
{
    static const char *const both[] = {"tcp", "udp"};
    const char *cmd = argv[0];
    int json = 0, c, rc = SK_EXIT_OK, first = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, sk_cli_opts_service.shorts, sk_cli_opts_service.longs,
                            NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': fputs(service_help, stdout); return SK_EXIT_OK;
        default: return sk_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc)
        return sk_cli_usage(cmd, "which port or service? (e.g. sockit service 80 53/udp http)");
    if (json)
        fputs("[", stdout);
    for (int i = optind; i < argc; i++) {
        struct sk_servq q;
        const char *why = "malformed";
        int found = 0, err = 0;
        if (sk_servq_parse(argv[i], &q, &why) < 0) {
            sk_cli_fail(cmd, "%s: %s", argv[i], why);
            rc = SK_EXIT_FAIL;
            if (json)
                sk_cli_json_error("input", argv[i], why, &first);
            continue;
        }
        for (size_t k = 0; k < 2; k++) {
            const char *proto = q.proto[0] ? q.proto : both[k];
            struct sk_serv s;
            int r =
                q.by_port ? sk_serv_by_port(q.port, proto, &s) : sk_serv_by_name(q.name, proto, &s);
            if (r == 0) {
                serv_print(&q, &s, json, &first);
                found++;
            } else if (r != -ENOENT) {
                err = r;
            }
            if (q.proto[0])
                break;
        }
        if (found)
            continue;
        char reason[128];
        if (err)
            snprintf(reason, sizeof(reason), "%s", sk_strerror(err));
        else if (q.by_port)
            snprintf(reason, sizeof(reason), "no service known on port %u/%s", (unsigned)q.port,
                     q.proto[0] ? q.proto : "tcp or udp");
        else
            snprintf(reason, sizeof(reason), "unknown service name (%s)",
                     q.proto[0] ? q.proto : "tcp or udp");
        sk_cli_fail(cmd, "%s: %s", argv[i], reason);
        rc = SK_EXIT_FAIL;
        if (json)
            sk_cli_json_error("input", argv[i], reason, &first);
    }
    if (json)
        fputs("]\n", stdout);
    return rc;
}
