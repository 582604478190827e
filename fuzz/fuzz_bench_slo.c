/* fuzz_bench_slo.c - the bench's pure argument parsers: --slo goals and
 * --source address lists. Any bytes (as a NUL-terminated string) must give
 * a goal with 1..4 percentiles in (0, 100) and bounds in (0, 60 s], an
 * address list within the room given, or -EINVAL with a reason. */
#include "sockit/bench.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct sk_bench_slo slo;
    const char *why = NULL;
    int r = sk_bench_slo_parse(s, &slo, &why);
    if (r == 0) {
        if (slo.n < 1 || slo.n > SK_BENCH_SLO_MAX)
            abort();
        for (unsigned i = 0; i < slo.n; i++)
            if (!(slo.pct[i] > 0 && slo.pct[i] < 100) || slo.max_ns[i] <= 0 ||
                slo.max_ns[i] > 60000000000LL)
                abort();
    } else if (r != -EINVAL || !why) {
        abort();
    }
    struct sk_addr a[16];
    why = NULL;
    int n = sk_bench_source_parse(s, a, 16, &why);
    if (n > 16 || (n <= 0 && (n != -EINVAL || !why)))
        abort();
    for (int i = 0; i < n; i++)
        if (a[i].u.in4.sin_family != AF_INET || a[i].u.in4.sin_port != 0)
            abort();
    free(s);
    return 0;
}
