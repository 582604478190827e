/* udp_batch.c - placeholder until the UDP batch model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_udp_batch = {.name = "batch", .summary = "(not built yet)", .caps = SK_MODEL_DGRAM};
