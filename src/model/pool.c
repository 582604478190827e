/* pool.c - placeholder until the pool model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_pool = {.name = "pool", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
