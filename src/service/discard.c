/* discard.c - placeholder until the discard service lands (not yet built). */
#include "sockit/service.h"

const struct sk_service sk_service_discard = {.name = "discard", .summary = "(not built yet)"};
