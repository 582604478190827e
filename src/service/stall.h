/*
 * stall.h - the stalled-reader rule the hub services share (chat, broker):
 * a client whose queue is over a bound and that has taken nothing from it
 * for a while is dropped; one that is merely behind keeps making progress
 * and is left alone up to the hard --max-output.
 */
#ifndef SOCKIT_SERVICE_STALL_H
#define SOCKIT_SERVICE_STALL_H

#include "sockit/util.h"

#include <stddef.h>
#include <stdint.h>

/* With pending bytes queued for a client that has been sent `sent` bytes
 * so far: 1 when pending is over max_queue and sent has not moved for
 * stall_ms, else 0. *over_since (0: not over) and *seen_out are the
 * client's own state, zeroed when it joins. */
static inline int sk__stalled(int64_t *over_since, uint64_t *seen_out, uint64_t sent,
                              size_t pending, size_t max_queue, int stall_ms)
{
    if (pending <= max_queue) {
        *over_since = 0;
        return 0;
    }
    int64_t now = sk_now_ms();
    if (*over_since == 0 || sent != *seen_out) {
        *over_since = now;
        *seen_out = sent;
    }
    return now - *over_since >= stall_ms;
}

#endif
