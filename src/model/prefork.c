/* prefork.c - placeholder until the prefork model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_prefork = {.name = "prefork", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
