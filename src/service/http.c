/* http.c - placeholder until the http service lands (not yet built). */
#include "sockit/service.h"

const struct sk_service sk_service_http = {.name = "http", .summary = "(not built yet)"};
