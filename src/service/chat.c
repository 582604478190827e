/* chat.c - placeholder until the chat service lands (not yet built). */
#include "sockit/service.h"

const struct sk_service sk_service_chat = {.name = "chat", .summary = "(not built yet)"};
