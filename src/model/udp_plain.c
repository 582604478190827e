/* udp_plain.c - placeholder until the UDP plain model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_udp_plain = {.name = "plain", .summary = "(not built yet)", .caps = SK_MODEL_DGRAM};
