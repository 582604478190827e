/*
 * chat_room.c - the chat service's room table (see chat_room.h): rooms are
 * created by the first /join, found by name whatever the case, and freed
 * with their topic when the last member leaves (the lobby stays). At most
 * --max-rooms of them besides the lobby, so a client cannot make the server
 * hold an unbounded number of names.
 */
#include "chat_room.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void room_init(struct sk__chat_room *r, const char *name)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->members.prev = r->members.next = &r->members;
}

void sk__chat_rooms_init(struct sk__chat_rooms *t, unsigned max)
{
    room_init(&t->lobby, SK_CHAT_LOBBY);
    t->count = 0;
    t->max = max;
}

void sk__chat_rooms_free(struct sk__chat_rooms *t)
{
    struct sk__chat_room *r = t->lobby.next;
    while (r) {
        struct sk__chat_room *next = r->next;
        free(r);
        r = next;
    }
    t->lobby.next = NULL;
    t->count = 0;
}

struct sk__chat_room *sk__chat_room_find(struct sk__chat_rooms *t, const char *name)
{
    for (struct sk__chat_room *r = &t->lobby; r; r = r->next)
        if (sk_chat_room_equal(r->name, name))
            return r;
    return NULL;
}

int sk__chat_room_open(struct sk__chat_rooms *t, const char *name, struct sk__chat_room **out)
{
    struct sk__chat_room *r = sk__chat_room_find(t, name);
    if (!r) {
        if (t->count >= t->max)
            return -ENOSPC;
        r = malloc(sizeof(*r));
        if (!r)
            return -ENOMEM;
        room_init(r, name);
        r->next = t->lobby.next; /* the newest room right after the lobby */
        t->lobby.next = r;
        t->count++;
    }
    *out = r;
    return 0;
}

void sk__chat_room_add(struct sk__chat_room *r, struct sk__chat_node *n)
{
    n->prev = &r->members;
    n->next = r->members.next;
    r->members.next->prev = n;
    r->members.next = n;
    r->count++;
}

int sk__chat_room_remove(struct sk__chat_rooms *t, struct sk__chat_room *r, struct sk__chat_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
    r->count--;
    if (r->count > 0 || r == &t->lobby)
        return 0;
    for (struct sk__chat_room **p = &t->lobby.next; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    t->count--;
    free(r);
    return 1;
}
