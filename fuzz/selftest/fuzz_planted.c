/* fuzz_planted.c - the fuzz harness's self-test: a target with a bug of the
 * kind named by SK_FUZZ_PLANT, reached by any input starting with '!'.
 *   ub     a double converted to uint64_t out of range (issue 17's size
 *          parser bug: UBSan reports it; only -fno-sanitize-recover stops)
 *   leak   memory that is never freed (only the leak check sees it)
 *   abort  a violated property (the targets' abort())
 *   (unset) no bug: the run must end clean
 * scripts/fuzz.sh --selftest requires a finding for each planted kind, and
 * tests/integration/test_fuzz.py checks the same through fuzz.sh's exit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *plant;
    static int init;
    if (!init) {
        plant = getenv("SK_FUZZ_PLANT");
        init = 1;
    }
    if (!plant || size < 2 || data[0] != '!')
        return 0;
    if (strcmp(plant, "ub") == 0) {
        volatile double d = 1e100 * (1 + data[1]);
        volatile uint64_t v = (uint64_t)d;
        (void)v;
    } else if (strcmp(plant, "leak") == 0) {
        volatile char *p = malloc(64);
        if (p)
            p[0] = (char)data[1];
    } else if (strcmp(plant, "abort") == 0) {
        abort();
    }
    return 0;
}
