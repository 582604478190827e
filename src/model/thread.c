/* thread.c - placeholder until the thread model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_thread = {.name = "thread", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
