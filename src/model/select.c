/* select.c - placeholder until the select model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_select = {.name = "select", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
