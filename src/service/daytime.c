/* daytime.c - placeholder until the daytime service lands (not yet built). */
#include "sockit/service.h"

const struct sk_service sk_service_daytime = {.name = "daytime", .summary = "(not built yet)"};
