/*
 * chat_operator.h - the operator's terminal for `serve chat --operator NICK`
 * (internal to the chat service).
 */
#ifndef SOCKIT_CHAT_OPERATOR_H
#define SOCKIT_CHAT_OPERATOR_H

#include <stddef.h>

struct sk_addr;
struct sk_chat_operator;

/* Start the relay thread: it connects to addr (the server's own listening
 * address) as an ordinary client, introduces itself with "/operator TOKEN"
 * (TOKEN random, known only to this process), then copies stdin lines to the
 * room and the room's traffic to stdout. stop_fd is the server's stop
 * descriptor (readable once it stops: then the end is not news). Call once
 * the server is bound. Returns 0 or a negative errno; *out is set on success. */
int sk__chat_operator_start(struct sk_chat_operator **out, const struct sk_addr *addr, int stop_fd);

/* Is tok[0..n) this operator's token? 1 or 0. Safe under the hub lock. */
int sk__chat_operator_token_ok(const struct sk_chat_operator *op, const char *tok, size_t n);

/* Stop the relay thread and release it; op may be NULL. */
void sk__chat_operator_stop(struct sk_chat_operator *op);

#endif
