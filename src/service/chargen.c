/* chargen.c - placeholder until the chargen service lands (not yet built). */
#include "sockit/service.h"

const struct sk_service sk_service_chargen = {.name = "chargen", .summary = "(not built yet)"};
