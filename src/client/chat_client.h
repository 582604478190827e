/*
 * chat_client.h - the interactive clients for people: `sockit chat` (a chat
 * room client) and `sockit p2p` (two-party chat, both may type any time).
 *
 * Both read the terminal (stdin) and the socket together with poll(), keep
 * the prompt line intact while text arrives (tty_line.h), strip terminal
 * control sequences from what the other side sends, and print to stdout.
 * They return 0 when the user left (/quit, end of input) or the peer ended
 * the p2p session, -ECONNABORTED when the chat server closed the connection
 * on its own, -EINTR when a signal (SIGINT, SIGTERM, SIGHUP) stopped them,
 * or another negative error. The terminal is restored before they return.
 */
#ifndef SOCKIT_CLIENT_CHAT_CLIENT_H
#define SOCKIT_CLIENT_CHAT_CLIENT_H

#include "sockit/addr.h"

struct sk_chat_client_opts {
    const char *host, *port;
    int family;       /* AF_UNSPEC, AF_INET, AF_INET6 */
    const char *nick; /* sent as /nick NAME on connect; NULL: the server asks */
    int timestamps;   /* prefix every printed line with [HH:MM:SS] */
};

/* Connect, then chat until /quit, end of input, or the server goes away.
 * Connection errors are returned before anything is printed. */
int sk_chat_client_run(const struct sk_chat_client_opts *o);

struct sk_p2p_opts {
    /* listen: bind address (NULL or "localhost": 127.0.0.1 and ::1) */
    const char *host, *port;
    int listen;
    int family;
    int timestamps;
    /* Called with the n bound addresses once listening (to print them). */
    void (*listening)(const struct sk_addr *a, unsigned n);
};

/* Wait for one peer (listen) or connect to one, then chat with it. */
int sk_p2p_run(const struct sk_p2p_opts *o);

#endif
