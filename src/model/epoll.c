/* epoll.c - placeholder until the epoll model lands (not yet built). */
#include "sockit/model.h"

const struct sk_model sk_model_epoll = {.name = "epoll", .summary = "(not built yet)", .caps = SK_MODEL_STREAM};
