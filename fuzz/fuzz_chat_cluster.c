/* fuzz_chat_cluster.c - a message another chat server published through
 * Redis (chat_cluster.h: a notice, a kept line, a topic) is untrusted:
 * sk__chat_cluster_parse() must accept or reject any bytes without reading
 * outside them, and what it accepts must hold: a 16-digit origin, a folded
 * valid room name, a valid nickname, and a one-line text, all inside the
 * input; not empty but for a topic, which is at most SK_CHAT_TOPIC_MAX. */
#include "service/chat_cluster.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1); /* exactly size bytes: over-reads show */
    if (!p)
        return 0;
    memcpy(p, data, size);
    struct sk__chat_cluster_msg m;
    if (sk__chat_cluster_parse(p, size, &m) == 0) {
        const char *why;
        char room[SK_CHAT_ROOM_MAX + 1];
        int topic = m.kind == SK__CHAT_CLUSTER_TOPIC;
        if (m.kind < SK__CHAT_CLUSTER_LINE || m.kind > SK__CHAT_CLUSTER_TOPIC || m.room < p ||
            m.room + m.room_len > p + size || m.text < p || m.text + m.text_len != p + size ||
            (!topic && m.text_len == 0) || (topic && m.text_len > SK_CHAT_TOPIC_MAX) ||
            memchr(m.text, '\n', m.text_len) ||
            sk_chat_room_name(m.room, m.room_len, room, &why) < 0 ||
            sk_chat_nick_check(m.sender, m.sender_len, &why) < 0)
            abort();
    }
    free(p);
    return 0;
}
