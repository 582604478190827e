/* fuzz_chatbench.c - what `sockit bench chat` does with a line a server
 * sent it (untrusted): sk_chatb_classify() over any bytes, in both
 * protocols, must stay inside the line, point its argument inside the line,
 * and give a message only when the payload after the tag decodes to the
 * same values and re-encodes to a payload that decodes alike. */
#include "sockit/chatbench.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    for (int irc = 0; irc <= 1; irc++) {
        struct sk_chatb_msg m = {0};
        const char *arg = NULL;
        size_t al = 0;
        enum sk_chatb_kind k = sk_chatb_classify(line, size, irc, &m, &arg, &al);
        if (!arg || arg < line || arg + al > line + size)
            abort();
        if (k == SK_CHATB_MSG) {
            char buf[128];
            int n = sk_chatb_encode(&m, 0, buf, sizeof(buf));
            struct sk_chatb_msg back;
            if (n <= 0 || sk_chatb_decode(buf, (size_t)n, &back) != 0 || back.sender != m.sender ||
                back.seq != m.seq || back.t_ns != m.t_ns || m.t_ns < 0)
                abort();
        }
    }
    free(line);
    return 0;
}
