/* test_poller.c - the select, poll and epoll backends behave alike:
 * readiness by interest, interest changes, removal, hang-ups, and select's
 * refusal of descriptors it cannot watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/poller.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct sk_poller_ops *const backends[] = {&sk__poller_select, &sk__poller_poll,
                                                       &sk__poller_epoll};

/* Events for fd after a wait of at most ms (0 when none). */
static unsigned events_for(const struct sk_poller_ops *ops, void *p, int fd, int ms)
{
    struct sk_pevent ev[8];
    int n = ops->wait(p, ev, 8, ms);
    assert_true(n >= 0);
    unsigned e = 0;
    for (int i = 0; i < n; i++)
        if (ev[i].fd == fd)
            e |= ev[i].ev;
    return e;
}

static void interest_drives_readiness(void **state)
{
    (void)state;
    for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
        const struct sk_poller_ops *ops = backends[b];
        void *p;
        int sv[2];
        assert_int_equal(ops->create(&p), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

        /* Read interest, nothing to read: no event. */
        assert_int_equal(ops->add(p, sv[0], SK_EV_IN), 0);
        assert_int_equal(events_for(ops, p, sv[0], 0), 0);
        /* Data arrives: readable, and stays so (level-triggered). */
        assert_int_equal(write(sv[1], "x", 1), 1);
        assert_true(events_for(ops, p, sv[0], 1000) & SK_EV_IN);
        assert_true(events_for(ops, p, sv[0], 0) & SK_EV_IN);
        /* Interest off: silent though readable (backpressure). */
        assert_int_equal(ops->mod(p, sv[0], SK_EV_IN, 0), 0);
        assert_int_equal(events_for(ops, p, sv[0], 0) & (SK_EV_IN | SK_EV_OUT), 0);
        /* Write interest: writable at once. */
        assert_int_equal(ops->mod(p, sv[0], 0, SK_EV_OUT), 0);
        assert_int_equal(events_for(ops, p, sv[0], 0), SK_EV_OUT);
        assert_int_equal(ops->mod(p, sv[0], SK_EV_OUT, SK_EV_IN | SK_EV_OUT), 0);
        assert_int_equal(events_for(ops, p, sv[0], 0), SK_EV_IN | SK_EV_OUT);
        /* Removed: nothing more, and a second removal is an error. */
        assert_int_equal(ops->del(p, sv[0], SK_EV_IN | SK_EV_OUT), 0);
        assert_int_equal(events_for(ops, p, sv[0], 0), 0);
        assert_true(ops->del(p, sv[0], 0) < 0);

        close(sv[0]);
        close(sv[1]);
        ops->destroy(p);
    }
}

static void many_descriptors_only_ready_ones_reported(void **state)
{
    (void)state;
    for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
        const struct sk_poller_ops *ops = backends[b];
        void *p;
        int sv[40][2];
        assert_int_equal(ops->create(&p), 0);
        for (int i = 0; i < 40; i++) {
            assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
            assert_int_equal(ops->add(p, sv[i][0], SK_EV_IN), 0);
        }
        /* Remove some from the middle (poll's dense array swaps slots). */
        for (int i = 0; i < 40; i += 3)
            assert_int_equal(ops->del(p, sv[i][0], SK_EV_IN), 0);
        for (int i = 0; i < 40; i += 2)
            assert_int_equal(write(sv[i][1], "y", 1), 1);
        struct sk_pevent ev[64];
        int n = ops->wait(p, ev, 64, 1000);
        int want = 0;
        for (int i = 0; i < 40; i += 2)
            want += i % 3 != 0;
        assert_int_equal(n, want);
        for (int k = 0; k < n; k++) {
            int found = -1;
            for (int i = 0; i < 40; i++)
                if (sv[i][0] == ev[k].fd)
                    found = i;
            assert_true(found >= 0 && found % 2 == 0 && found % 3 != 0);
            assert_true(ev[k].ev & SK_EV_IN);
        }
        for (int i = 0; i < 40; i++) {
            close(sv[i][0]);
            close(sv[i][1]);
        }
        ops->destroy(p);
    }
}

static void hangup_is_reported(void **state)
{
    (void)state;
    for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
        const struct sk_poller_ops *ops = backends[b];
        void *p;
        int sv[2];
        assert_int_equal(ops->create(&p), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        assert_int_equal(ops->add(p, sv[0], SK_EV_IN), 0);
        close(sv[1]);
        /* select says readable (read() then sees EOF); poll/epoll may add ERR. */
        assert_true(events_for(ops, p, sv[0], 1000) & (SK_EV_IN | SK_EV_ERR));
        close(sv[0]);
        ops->destroy(p);
    }
}

static void select_refuses_descriptors_past_fd_setsize(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur <= FD_SETSIZE + 10) {
        rl.rlim_cur = rl.rlim_max > FD_SETSIZE + 100 ? FD_SETSIZE + 100 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur <= FD_SETSIZE + 10)
            skip();
    }
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int high = dup2(sv[0], FD_SETSIZE + 5);
    assert_int_equal(high, FD_SETSIZE + 5);
    assert_int_equal(sk__poller_select.fd_limit, FD_SETSIZE);
    for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
        const struct sk_poller_ops *ops = backends[b];
        void *p;
        assert_int_equal(ops->create(&p), 0);
        int r = ops->add(p, high, SK_EV_IN);
        if (ops == &sk__poller_select) {
            assert_int_equal(r, -ERANGE);
            assert_true(ops->mod(p, high, 0, SK_EV_IN) < 0);
        } else {
            assert_int_equal(r, 0);
            assert_int_equal(write(sv[1], "z", 1), 1);
            assert_true(events_for(ops, p, high, 1000) & SK_EV_IN);
            char c;
            assert_int_equal(read(high, &c, 1), 1);
        }
        ops->destroy(p);
    }
    close(high);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interest_drives_readiness),
        cmocka_unit_test(many_descriptors_only_ready_ones_reported),
        cmocka_unit_test(hangup_is_reported),
        cmocka_unit_test(select_refuses_descriptors_past_fd_setsize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
