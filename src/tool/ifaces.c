/*
 * ifaces.c - network interfaces and their addresses from getifaddrs(), for
 * `sockit ifaces` and `sockit hostname`: name, index, flags, MTU, hardware
 * address, and each IPv4/IPv6 address with its prefix length.
 */
#include "sockit/tool.h"

#include "sockit/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int sk_netmask_prefix(const struct sockaddr *mask)
{
    const uint8_t *b;
    size_t n;

    if (!mask)
        return -1;
    if (mask->sa_family == AF_INET) {
        b = (const uint8_t *)&((const struct sockaddr_in *)(const void *)mask)->sin_addr;
        n = 4;
    } else if (mask->sa_family == AF_INET6) {
        b = ((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr.s6_addr;
        n = 16;
    } else {
        return -1;
    }
    int bits = 0, ended = 0;
    for (size_t i = 0; i < n; i++) {
        for (int k = 7; k >= 0; k--) {
            int set = (b[i] >> k) & 1;
            if (set && ended)
                return -1; /* a one after a zero: not contiguous */
            if (set)
                bits++;
            else
                ended = 1;
        }
    }
    return bits;
}

int sk_iface_flags_format(unsigned flags, char *buf, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {IFF_UP, "UP"},
        {IFF_BROADCAST, "BROADCAST"},
        {IFF_LOOPBACK, "LOOPBACK"},
        {IFF_POINTOPOINT, "POINTOPOINT"},
        {IFF_RUNNING, "RUNNING"},
        {IFF_NOARP, "NOARP"},
        {IFF_PROMISC, "PROMISC"},
        {IFF_ALLMULTI, "ALLMULTI"},
        {IFF_MULTICAST, "MULTICAST"},
        {IFF_DYNAMIC, "DYNAMIC"},
    };
    size_t used = 0;

    if (size == 0)
        return -ENOSPC;
    buf[0] = '\0';
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++) {
        if (!(flags & names[i].bit))
            continue;
        int w = snprintf(buf + used, size - used, "%s%s", used ? "," : "", names[i].name);
        if (w < 0 || (size_t)w >= size - used)
            return -ENOSPC;
        used += (size_t)w;
    }
    return (int)used;
}

static struct sk_iface *find_or_add(struct sk_iface **v, int *n, int *cap, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*v)[i].name, name) == 0)
            return &(*v)[i];
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        struct sk_iface *nv = realloc(*v, (size_t)nc * sizeof(*nv));
        if (!nv)
            return NULL;
        *v = nv;
        *cap = nc;
    }
    struct sk_iface *f = &(*v)[(*n)++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->index = if_nametoindex(name);
    f->mtu = -1;
    return f;
}

static int add_addr(struct sk_iface *f, const struct ifaddrs *ifa)
{
    struct sk_iface_addr *na = realloc(f->addrs, (f->naddr + 1) * sizeof(*na));
    if (!na)
        return -ENOMEM;
    f->addrs = na;
    struct sk_iface_addr *a = &na[f->naddr++];
    memset(a, 0, sizeof(*a));
    a->family = ifa->ifa_addr->sa_family;
    a->prefix = sk_netmask_prefix(ifa->ifa_netmask);
    if (a->family == AF_INET) {
        const struct sockaddr_in *in = (const void *)ifa->ifa_addr;
        inet_ntop(AF_INET, &in->sin_addr, a->addr, sizeof(a->addr));
        const struct sockaddr_in *o = (const void *)ifa->ifa_broadaddr;
        if (o && o->sin_family == AF_INET) {
            if (ifa->ifa_flags & IFF_BROADCAST)
                inet_ntop(AF_INET, &o->sin_addr, a->broadcast, sizeof(a->broadcast));
            else if (ifa->ifa_flags & IFF_POINTOPOINT)
                inet_ntop(AF_INET, &o->sin_addr, a->peer, sizeof(a->peer));
        }
    } else {
        const struct sockaddr_in6 *in6 = (const void *)ifa->ifa_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, a->addr, sizeof(a->addr));
        if (in6->sin6_scope_id) {
            size_t n = strlen(a->addr);
            snprintf(a->addr + n, sizeof(a->addr) - n, "%%%s", ifa->ifa_name);
        }
        const struct sockaddr_in6 *o = (const void *)ifa->ifa_dstaddr;
        if (o && o->sin6_family == AF_INET6 && (ifa->ifa_flags & IFF_POINTOPOINT))
            inet_ntop(AF_INET6, &o->sin6_addr, a->peer, sizeof(a->peer));
    }
    return 0;
}

static int by_index(const void *a, const void *b)
{
    const struct sk_iface *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

int sk_ifaces(struct sk_iface **out)
{
    struct ifaddrs *list = NULL;
    struct sk_iface *v = NULL;
    int n = 0, cap = 0, err = 0;

    if (getifaddrs(&list) < 0)
        return -errno;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* for SIOCGIFMTU; may fail */
    for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
        struct sk_iface *f = find_or_add(&v, &n, &cap, ifa->ifa_name);
        if (!f) {
            err = -ENOMEM;
            goto out;
        }
        f->flags = ifa->ifa_flags;
        if (!ifa->ifa_addr)
            continue;
        int fam = ifa->ifa_addr->sa_family;
        if (fam == AF_INET || fam == AF_INET6) {
            if ((err = add_addr(f, ifa)) < 0)
                goto out;
        } else if (fam == AF_PACKET) {
            const struct sockaddr_ll *ll = (const void *)ifa->ifa_addr;
            if (ll->sll_halen == 6 && ll->sll_hatype == ARPHRD_ETHER)
                snprintf(f->mac, sizeof(f->mac), "%02x:%02x:%02x:%02x:%02x:%02x", ll->sll_addr[0],
                         ll->sll_addr[1], ll->sll_addr[2], ll->sll_addr[3], ll->sll_addr[4],
                         ll->sll_addr[5]);
        }
    }
    for (int i = 0; i < n && fd >= 0; i++) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", v[i].name);
        if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
            v[i].mtu = ifr.ifr_mtu;
    }
    if (n > 1)
        qsort(v, (size_t)n, sizeof(*v), by_index);
out:
    if (fd >= 0)
        close(fd);
    freeifaddrs(list);
    if (err < 0) {
        sk_ifaces_free(v, n);
        return err;
    }
    *out = v;
    return n;
}

void sk_ifaces_free(struct sk_iface *v, int n)
{
    for (int i = 0; i < n && v; i++)
        free(v[i].addrs);
    free(v);
}
