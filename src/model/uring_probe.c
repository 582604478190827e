/*
 * uring_probe.c - can io_uring carry a model here? Asked the same way by
 * both io_uring models (the stream model, uring.c, and the datagram model,
 * udp_uring.c): the test hook SOCKIT_URING_REFUSE, a ring the kernel sets
 * up, the operations the model submits, and provided buffer rings where the
 * model receives into them.
 */
#include "internal.h"

#include "sockit/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SK_HAVE_URING
#include <liburing.h>
#include <sys/mman.h>

/* Does the ring take a provided buffer ring (Linux 5.19)? */
static int has_buf_ring(struct io_uring *ring)
{
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)m, .ring_entries = 1, .bgid = 1};
    int ok = io_uring_register_buf_ring(ring, &reg, 0) == 0;
    munmap(m, 4096);
    return ok;
}

int sk__uring_probe(const int *ops, size_t nops, int buf_ring, const char *lacks, char *why,
                    size_t len)
{
    const char *hook = getenv("SOCKIT_URING_REFUSE");
    if (hook && *hook && strcmp(hook, "0") != 0) {
        snprintf(why, len, "io_uring refused (SOCKIT_URING_REFUSE is set)");
        return -EPERM;
    }
    struct io_uring ring;
    int r = io_uring_queue_init(4, &ring, 0);
    if (r < 0) {
        int disabled = 0;
        FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
        if (f) {
            if (fscanf(f, "%d", &disabled) != 1)
                disabled = 0;
            fclose(f);
        }
        snprintf(why, len, "the kernel refuses io_uring: %s%s", sk_strerror(r),
                 disabled ? " (sysctl kernel.io_uring_disabled is set)" : "");
        return r;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    int ok = probe != NULL;
    for (size_t i = 0; ok && i < nops; i++)
        ok = io_uring_opcode_supported(probe, ops[i]);
    if (probe)
        io_uring_free_probe(probe);
    if (ok && buf_ring)
        ok = has_buf_ring(&ring);
    io_uring_queue_exit(&ring);
    if (!ok) {
        snprintf(why, len, "this kernel's io_uring lacks %s", lacks);
        return -ENOSYS;
    }
    return 0;
}
#endif
