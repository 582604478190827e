/*
 * addr_of.h - a socket address from its text, for table-driven unit tests
 * (an unparsable one fails the test). Header-only, static inline; include
 * after <cmocka.h>.
 */
#ifndef SOCKIT_TEST_ADDR_OF_H
#define SOCKIT_TEST_ADDR_OF_H

#include "sockit/addr.h"

static inline struct sk_addr addr(const char *s)
{
    struct sk_addr a;
    const char *why = NULL;
    if (sk_addr_parse(s, 0, &a, &why) < 0)
        fail_msg("bad address %s: %s", s, why);
    return a;
}

#endif
