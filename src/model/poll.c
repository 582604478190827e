/* poll.c - placeholder until the poll model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_poll = {.name = "poll", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
