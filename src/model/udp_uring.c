/* udp_uring.c - placeholder until the UDP uring model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_udp_uring = {.name = "uring", .summary = "(not built yet)", .caps = SK_MODEL_DGRAM};
