/* uring.c - placeholder until the uring model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_uring = {.name = "uring", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
