/*
 * exec_floor.c - the least a server can do to run a program per
 * connection: accept, start the program with the socket as its standard
 * input and output (posix_spawn(), which is vfork() + execve() in glibc),
 * close our copy, reap. No environment of its own, no logging, no limit, no
 * stop handling. Its CPU per connection (with its programs) is the floor
 * any `serve exec` shares, so (client + inetd) / (client + this) is the best
 * ratio over inetd any server could reach on the same machine.
 *
 *   exec_floor PORT PROGRAM [ARG...]      (binds 127.0.0.1:PORT)
 *
 * Built and run by bench/exec_inetd.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: exec_floor PORT PROGRAM [ARG...]\n");
        return 2;
    }
    signal(SIGCHLD, SIG_IGN); /* the kernel reaps: no zombie, no wait call */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1024) < 0) {
        perror("exec_floor");
        return 1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t dfl;
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGCHLD); /* the program gets it back */
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("exec_floor: accept");
            return 1;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fd, 0);
        posix_spawn_file_actions_adddup2(&fa, fd, 1);
        pid_t pid;
        int r = posix_spawn(&pid, argv[2], &fa, &at, argv + 2, environ);
        if (r != 0)
            fprintf(stderr, "exec_floor: %s: %s\n", argv[2], strerror(r));
        posix_spawn_file_actions_destroy(&fa);
        close(fd);
    }
}
