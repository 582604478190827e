/* greet.c - placeholder until the greet service lands (not yet built). */
#include "sockit/service.h"

const struct sk_service sk_service_greet = {.name = "greet", .summary = "(not built yet)"};
