/*
 * registry.c - the list of services `sockit serve` knows.
 */
#include "sockit/service.h"

#include <string.h>

extern const struct sk_service sk_service_echo, sk_service_greet, sk_service_discard,
    sk_service_daytime, sk_service_chargen, sk_service_http, sk_service_chat, sk_service_relay,
    sk_service_socks, sk_service_http_proxy, sk_service_exec, sk_service_broker;

const struct sk_service *const sk_services[] = {
    &sk_service_echo,
    &sk_service_greet,
    &sk_service_discard,
    &sk_service_daytime,
    &sk_service_chargen,
    &sk_service_http,
    &sk_service_chat,
    &sk_service_relay,
    &sk_service_socks,
    &sk_service_http_proxy,
    &sk_service_exec,
    &sk_service_broker,
    NULL,
};

const struct sk_service *sk_service_find(const char *name)
{
    for (const struct sk_service *const *s = sk_services; *s; s++)
        if (strcmp((*s)->name, name) == 0)
            return *s;
    return NULL;
}
