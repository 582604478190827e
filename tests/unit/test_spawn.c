/* test_spawn.c - a program per connection (spawn.h): finding it, its
 * environment (table-driven over address kinds), its descriptors, its exec
 * failure, and its end (reaped at once, terminated with its group on
 * release, nothing left after shutdown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/spawn.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void find_table(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int want; /* 0 or the negative errno */
    } t[] = {
        {"sh", 0},
        {"/bin/sh", 0},
        {"no-such-program-anywhere", -ENOENT},
        {"/no/such/program", -ENOENT},
        {"", -ENOENT},
        {NULL, -EACCES}, /* a file made here: there, not executable */
    };
    char buf[4096], plain[] = "/tmp/sockit-spawn-XXXXXX";
    int fd = mkstemp(plain);
    assert_true(fd >= 0);
    close(fd); /* mode 0600: executable by nobody, root included */
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *name = t[i].name ? t[i].name : plain;
        int r = sk_spawn_find(name, buf, sizeof(buf));
        if (r != t[i].want)
            fail_msg("row %zu (%s): %d, expected %d", i, name, r, t[i].want);
        if (r == 0 && buf[0] != '/')
            fail_msg("row %zu (%s): not a path: %s", i, name, buf);
    }
    unlink(plain);
    assert_int_equal(sk_spawn_find("/bin/sh", buf, 4), -ENAMETOOLONG);
}

static const char *env_get(char **env, const char *name)
{
    size_t n = strlen(name);
    for (char **e = env; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

static void env_table(void **state)
{
    (void)state;
    static const struct {
        const char *peer, *local;
        const char *vars[5][2]; /* name, value (NULL: absent) */
    } t[] = {
        {"127.0.0.1:5000",
         "127.0.0.1:7",
         {{"PROTO", "TCP"},
          {"TCPREMOTEIP", "127.0.0.1"},
          {"TCPREMOTEPORT", "5000"},
          {"TCPLOCALIP", "127.0.0.1"},
          {"TCPLOCALPORT", "7"}}},
        {"[::1]:65535",
         "[::1]:80",
         {{"PROTO", "TCP"},
          {"TCPREMOTEIP", "::1"},
          {"TCPREMOTEPORT", "65535"},
          {"TCPLOCALIP", "::1"},
          {"TCPLOCALPORT", "80"}}},
        {"unix:",
         "unix:/tmp/x.sock",
         {{"PROTO", "UNIX"},
          {"UNIXLOCALPATH", "/tmp/x.sock"},
          {"TCPREMOTEIP", NULL},
          {"UNIXREMOTEPID", NULL}, /* no descriptor: no credentials */
          {"TCPLOCALPORT", NULL}}},
    };
    /* A stale variable of ours in the environment is replaced, never kept. */
    setenv("TCPREMOTEIP", "stale", 1);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_addr peer, local;
        const char *why;
        if (strncmp(t[i].peer, "unix:", 5) == 0) {
            memset(&peer, 0, sizeof(peer));
            peer.u.un.sun_family = AF_UNIX;
            peer.len = sizeof(sa_family_t);
            assert_int_equal(sk_addr_unix(t[i].local + 5, &local, &why), 0);
        } else {
            assert_int_equal(sk_addr_parse(t[i].peer, 0, &peer, &why), 0);
            assert_int_equal(sk_addr_parse(t[i].local, 0, &local, &why), 0);
        }
        char **env = sk_spawn_env(&peer, &local, -1);
        assert_non_null(env);
        for (size_t k = 0; k < 5; k++) {
            const char *got = env_get(env, t[i].vars[k][0]);
            const char *want = t[i].vars[k][1];
            if (!want != !got || (want && strcmp(want, got) != 0))
                fail_msg("row %zu: %s=%s, expected %s", i, t[i].vars[k][0], got ? got : "(none)",
                         want ? want : "(none)");
        }
        assert_non_null(env_get(env, "PATH")); /* the rest of ours is kept */
        free(env);
    }
    unsetenv("TCPREMOTEIP");
}

/* Read fd (blocking poll) until EOF or max bytes. */
static size_t read_all(int fd, char *buf, size_t max)
{
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t r = read(fd, buf + n, max - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    return n;
}

static void pipes_and_exit(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "read x; echo got:$x; echo to-null >&2", NULL};
    struct sk_spawn sp = {.file = "/bin/sh",
                          .argv = argv,
                          .envp = NULL,
                          .fd = {SK_SPAWN_PIPE, SK_SPAWN_PIPE, SK_SPAWN_NULL}};
    struct sk_child *ch;
    int fds[3];
    assert_int_equal(sk_spawn_start(&sp, 1, &ch, fds), 0);
    assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[2] == -1);
    assert_true(sk_child_pid(ch) > 0);
    assert_int_equal(write(fds[0], "hi\n", 3), 3);
    close(fds[0]);
    char buf[64];
    size_t n = read_all(fds[1], buf, sizeof(buf) - 1);
    buf[n] = '\0';
    assert_string_equal(buf, "got:hi\n");
    close(fds[1]);
    sk_spawn_release(ch, 1000);
    sk_spawn_shutdown(1000);
    assert_int_equal(sk_spawn_live(), 0);
}

static void exec_failure_is_returned(void **state)
{
    (void)state;
    char *argv[] = {"nothing", NULL};
    struct sk_spawn sp = {.file = "/no/such/program",
                          .argv = argv,
                          .fd = {SK_SPAWN_NULL, SK_SPAWN_NULL, SK_SPAWN_NULL}};
    struct sk_child *ch = NULL;
    int fds[3];
    assert_int_equal(sk_spawn_start(&sp, 2, &ch, fds), -ENOENT);
    assert_null(ch);
    assert_int_equal(sk_spawn_live(), 0);
    sk_spawn_shutdown(100);
}

/* sh -c script with its standard output on a pipe (*out), once it wrote
 * its first line (into buf). */
static struct sk_child *start_sh(char *script, uint64_t id, int *out, char *buf, size_t len)
{
    char *argv[] = {"sh", "-c", script, NULL};
    struct sk_spawn sp = {
        .file = "/bin/sh", .argv = argv, .fd = {SK_SPAWN_NULL, SK_SPAWN_PIPE, SK_SPAWN_NULL}};
    struct sk_child *ch;
    int fds[3];
    assert_int_equal(sk_spawn_start(&sp, id, &ch, fds), 0);
    struct pollfd p = {.fd = fds[1], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    memset(buf, 0, len);
    assert_true(read(fds[1], buf, len - 1) > 0);
    *out = fds[1];
    return ch;
}

static void release_terminates_the_group(void **state)
{
    (void)state;
    /* The program's own child (sleep) is in its group: both go. */
    char buf[32];
    int out;
    struct sk_child *ch = start_sh("sleep 100 & echo $!; wait", 3, &out, buf, sizeof(buf));
    pid_t sleeper = (pid_t)atoi(buf);
    assert_true(sleeper > 0);
    assert_int_equal(kill(sleeper, 0), 0);
    sk_spawn_release(ch, 2000);
    int64_t deadline = sk_now_ms() + 3000;
    while (sk_spawn_live() > 0 && sk_now_ms() < deadline)
        usleep(10 * 1000);
    assert_int_equal(sk_spawn_live(), 0); /* reaped: no zombie of ours */
    while (kill(sleeper, 0) == 0 && sk_now_ms() < deadline)
        usleep(10 * 1000); /* not our child: init reaps it */
    assert_int_not_equal(kill(sleeper, 0), 0);
    close(out);
    sk_spawn_shutdown(100);
}

static void shutdown_kills_what_ignores_sigterm(void **state)
{
    (void)state;
    char buf[16];
    int out;
    struct sk_child *ch = start_sh("trap '' TERM; echo ready; while :; do sleep 0.05; done", 4,
                                   &out, buf, sizeof(buf));
    pid_t pid = sk_child_pid(ch);
    int64_t t0 = sk_now_ms();
    sk_spawn_shutdown(200); /* not released: shutdown terminates it, then kills */
    assert_true(sk_now_ms() - t0 < 3000);
    assert_int_equal(sk_spawn_live(), 0);
    assert_int_not_equal(kill(pid, 0), 0);
    close(out);
}

static void stderr_to_stdout_and_given_descriptors(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char *argv[] = {"sh", "-c", "cat; echo err >&2", NULL};
    /* Our socket as its stdin and stdout (the fork model's way), stderr
     * with them. */
    struct sk_spawn sp = {.file = "/bin/sh", .argv = argv, .fd = {sv[1], sv[1], SK_SPAWN_STDOUT}};
    struct sk_child *ch;
    int fds[3];
    assert_int_equal(sk_spawn_start(&sp, 5, &ch, fds), 0);
    close(sv[1]);
    assert_int_equal(write(sv[0], "abc", 3), 3);
    shutdown(sv[0], SHUT_WR);
    char buf[64];
    size_t n = read_all(sv[0], buf, sizeof(buf) - 1);
    buf[n] = '\0';
    assert_string_equal(buf, "abcerr\n");
    close(sv[0]);
    sk_spawn_release(ch, 1000);
    sk_spawn_shutdown(1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(find_table),
        cmocka_unit_test(env_table),
        cmocka_unit_test(pipes_and_exit),
        cmocka_unit_test(exec_failure_is_returned),
        cmocka_unit_test(release_terminates_the_group),
        cmocka_unit_test(shutdown_kills_what_ignores_sigterm),
        cmocka_unit_test(stderr_to_stdout_and_given_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
