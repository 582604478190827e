/* fork.c - placeholder until the fork model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_fork = {.name = "fork", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
