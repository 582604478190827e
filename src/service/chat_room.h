/*
 * chat_room.h - the chat service's rooms (internal to the chat service): a
 * bounded table of named rooms, each with a topic and an intrusive list of
 * its members. The table knows nothing of members beyond their list nodes;
 * chat.c embeds a node in each member and does the talking. Not thread-safe:
 * every call is made under the hub lock, like every chat callback.
 */
#ifndef SOCKIT_CHAT_ROOM_H
#define SOCKIT_CHAT_ROOM_H

#include "sockit/chat.h"

#include <stddef.h>
#include <stdint.h>

/* A member's place in its room's list (circular, the room holds the head). */
struct sk__chat_node {
    struct sk__chat_node *prev, *next;
};

struct sk__chat_room {
    char name[SK_CHAT_ROOM_MAX + 1];   /* as first written */
    char topic[SK_CHAT_TOPIC_MAX + 1]; /* sanitised; "" for none */
    /* --cluster: the topic's version (the highest heard), the number the
     * last set here was sent with (its echo is the one that counts), and
     * whether a set waits for Redis (dirty) */
    uint64_t topic_ver, topic_seq;
    int topic_dirty;
    unsigned count;               /* members in it */
    struct sk__chat_node members; /* the head: newest member first */
    struct sk__chat_room *next;   /* the table's list */
};

struct sk__chat_rooms {
    struct sk__chat_room lobby; /* SK_CHAT_LOBBY: always there, first in the list */
    unsigned count;             /* rooms besides the lobby */
    unsigned max;               /* at most this many of them (--max-rooms) */
};

/* Set up the table with only the lobby. Do not move *t afterwards. */
void sk__chat_rooms_init(struct sk__chat_rooms *t, unsigned max);

/* Free every room but the lobby (their member lists must be empty). */
void sk__chat_rooms_free(struct sk__chat_rooms *t);

/* The room called name (NUL-terminated, any case), or NULL. */
struct sk__chat_room *sk__chat_room_find(struct sk__chat_rooms *t, const char *name);

/* The room called name (a valid room name), created empty with that
 * spelling when there is none. Returns 0 and sets *out, -ENOSPC when the
 * table already holds max rooms besides the lobby, or -ENOMEM. */
int sk__chat_room_open(struct sk__chat_rooms *t, const char *name, struct sk__chat_room **out);

/* Put node n into r's member list (n must be in no list). */
void sk__chat_room_add(struct sk__chat_room *r, struct sk__chat_node *n);

/* Take node n out of r's member list. A room other than the lobby that is
 * left empty is removed from the table and freed, its topic with it:
 * returns 1 then (r is gone), else 0. */
int sk__chat_room_remove(struct sk__chat_rooms *t, struct sk__chat_room *r,
                         struct sk__chat_node *n);

#endif
