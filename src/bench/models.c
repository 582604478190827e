/*
 * models.c - `sockit bench models`: start `sockit serve SERVICE --model M`
 * as a child for each model and connection count in turn, wait for its
 * "listening on" line, load it, stop it with SIGTERM, and take its CPU time
 * and peak RSS from wait4()'s rusage (the measure of Stevens' server-design
 * table, UNP ch. 30).
 *
 * The child runs in its own process group, so a forking model's workers can
 * be counted (through /proc, for those its parent never reaped) and cleaned
 * up. The server's stdout is a pipe we read the first line from; its stderr
 * goes to an unlinked temporary file, read back for the note when it fails.
 *
 * With --tls each server is started with `--tls` (an ephemeral
 * certificate) and loaded over TLS with the fingerprint its listening line
 * shows pinned.
 */
#include "sockit/bench.h"

#include "sockit/tls.h"
#include "sockit/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000

struct child {
    pid_t pid;
    int out; /* its stdout */
    int err; /* its stderr (a temporary file) */
};

/* CPU seconds of every process in group pgid: their own time, plus the
 * time of the children the leader reaped. */
static double group_cpu_s(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    long ticks = 0, hz = sysconf(_SC_CLK_TCK);
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof(path), "/proc/%.255s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p)
            continue;
        /* After ") ": state ppid pgrp session tty tpgid flags minflt cminflt
         * majflt cmajflt utime stime cutime cstime */
        char state;
        long ppid, pgrp, x, ut, st, cut, cst;
        if (sscanf(p + 2, "%c %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &state,
                   &ppid, &pgrp, &x, &x, &x, &x, &x, &x, &x, &x, &ut, &st, &cut, &cst) != 15)
            continue;
        if (pgrp != pgid)
            continue;
        ticks += ut + st;
        if (atol(e->d_name) == pgid)
            ticks += cut + cst;
    }
    closedir(d);
    return hz > 0 ? (double)ticks / (double)hz : 0;
}

/* VmHWM of a process in KiB (0 when unknown). */
/* A "NAME: N kB" field of /proc/PID/status (VmHWM, VmRSS), 0 if absent. */
static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256], fmt[48];
    long kb = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    snprintf(fmt, sizeof(fmt), "%s: %%ld kB", field);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, fmt, &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static long vm_hwm_kb(pid_t pid)
{
    return status_kb(pid, "VmHWM");
}

static void read_note(int fd, char *note, size_t len)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return;
    buf[n] = '\0';
    /* The first line, without the "sockit: " prefix. */
    char *s = buf;
    if (strncmp(s, "sockit: ", 8) == 0)
        s += 8;
    s[strcspn(s, "\n")] = '\0';
    size_t n2 = strlen(s);
    if (n2 >= len)
        n2 = len - 1;
    memcpy(note, s, n2);
    note[n2] = '\0';
}

static int start_server(const struct sk_bench_models_cfg *cfg, const char *model, unsigned conns,
                        struct child *ch, struct sk_addr *addr, char fp[SK_TLS_FP_STRLEN],
                        char *note, size_t nlen)
{
    int udp = cfg->load.kind == SK_BENCH_UDP_ECHO;
    char maxc[32];
    snprintf(maxc, sizeof(maxc), "%u", conns + 64);
    const char *argv[64];
    int ac = 0;
    argv[ac++] = "sockit";
    argv[ac++] = "serve";
    argv[ac++] = cfg->service;
    argv[ac++] = "--model";
    argv[ac++] = model;
    argv[ac++] = "-p";
    argv[ac++] = "0";
    argv[ac++] = "-b";
    argv[ac++] = "127.0.0.1";
    argv[ac++] = "-q";
    if (udp) {
        argv[ac++] = "-u";
    } else {
        argv[ac++] = "--max-conns";
        argv[ac++] = maxc;
    }
    if (cfg->tls)
        argv[ac++] = "--tls";
    for (unsigned i = 0; i < cfg->nserver_args && ac < 62; i++)
        argv[ac++] = cfg->server_args[i];
    argv[ac] = NULL;

    int p[2];
    char tmpl[] = "/tmp/sockit-bench-XXXXXX";
    ch->err = mkostemp(tmpl, O_CLOEXEC);
    if (ch->err < 0)
        return -errno;
    unlink(tmpl);
    if (pipe2(p, O_CLOEXEC) < 0) {
        int e = -errno;
        close(ch->err);
        return e;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(p[0]);
        close(p[1]);
        close(ch->err);
        return e;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(p[1], 1);
        dup2(ch->err, 2);
        execv(cfg->exe, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so no race with a signal to the group */
    close(p[1]);
    ch->pid = pid;
    ch->out = p[0];

    /* The first line: "sockit: SERVICE listening on ADDR (...)". */
    char line[512];
    size_t have = 0;
    int64_t deadline = sk_now_ms() + START_TIMEOUT_MS;
    while (have < sizeof(line) - 1) {
        int64_t left = deadline - sk_now_ms();
        struct pollfd pfd = {.fd = ch->out, .events = POLLIN};
        if (left <= 0) {
            snprintf(note, nlen, "no listening line within %d s", START_TIMEOUT_MS / 1000);
            return -ETIMEDOUT;
        }
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(ch->out, line + have, sizeof(line) - 1 - have);
        if (n <= 0) {
            /* It exited: let it go and say why. */
            waitpid(pid, NULL, 0);
            ch->pid = 0;
            read_note(ch->err, note, nlen);
            if (!note[0])
                snprintf(note, nlen, "the server exited before listening");
            return -ECHILD;
        }
        have += (size_t)n;
        line[have] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    line[have] = '\0';
    const char *at = strstr(line, "listening on ");
    const char *why = NULL;
    if (!at) {
        snprintf(note, nlen, "unexpected first line: %.60s", line);
        return -EPROTO;
    }
    at += strlen("listening on ");
    char a[128];
    size_t al = strcspn(at, " \n");
    snprintf(a, sizeof(a), "%.*s", (int)(al < sizeof(a) ? al : sizeof(a) - 1), at);
    if (sk_addr_parse(a, 0, addr, &why) < 0) {
        snprintf(note, nlen, "cannot parse the address '%.64s'", a);
        return -EPROTO;
    }
    fp[0] = '\0';
    if (cfg->tls) {
        const char *f = strstr(at, ") sha256:");
        size_t fl = f ? strcspn(f + 2, " \n:") : 0;
        if (!f || fl != 6 || strlen(f + 2) < SK_TLS_FP_STRLEN - 1) {
            snprintf(note, nlen, "no certificate fingerprint on the listening line");
            return -EPROTO;
        }
        snprintf(fp, SK_TLS_FP_STRLEN, "%s", f + 2);
    }
    return 0;
}

/* SIGTERM, wait (bounded), then SIGKILL; rusage of the child. */
static int stop_server(struct child *ch, struct rusage *ru, int *status)
{
    memset(ru, 0, sizeof(*ru));
    *status = 0;
    if (ch->pid <= 0)
        return -ECHILD;
    kill(ch->pid, SIGTERM);
    int64_t deadline = sk_now_ms() + STOP_TIMEOUT_MS;
    pid_t r;
    while ((r = wait4(ch->pid, status, WNOHANG, ru)) == 0 && sk_now_ms() < deadline) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (r == 0) {
        kill(-ch->pid, SIGKILL);
        r = wait4(ch->pid, status, 0, ru);
    }
    kill(-ch->pid, SIGKILL); /* stray workers of a forking model */
    ch->pid = 0;
    return r < 0 ? -errno : 0;
}

static void child_release(struct child *ch)
{
    if (ch->pid > 0) {
        kill(-ch->pid, SIGKILL);
        waitpid(ch->pid, NULL, 0);
    }
    if (ch->out >= 0)
        close(ch->out);
    if (ch->err >= 0)
        close(ch->err);
    ch->out = ch->err = -1;
    ch->pid = 0;
}

static void measure(const struct sk_bench_models_cfg *cfg, const char *model, unsigned conns,
                    struct sk_bench_point *pt)
{
    struct child ch = {.pid = 0, .out = -1, .err = -1};
    struct sk_bench_cfg load = cfg->load;
    struct sk_bench_result *res = malloc(sizeof(*res));

    pt->model = model;
    pt->conns = conns;
    if (!res) {
        snprintf(pt->note, sizeof(pt->note), "out of memory");
        return;
    }
    char fp[SK_TLS_FP_STRLEN];
    if (start_server(cfg, model, conns, &ch, &load.addr, fp, pt->note, sizeof(pt->note)) < 0) {
        if (!pt->note[0])
            snprintf(pt->note, sizeof(pt->note), "the server did not start");
        child_release(&ch);
        free(res);
        return;
    }
    struct sk_tls_ctx *tls = NULL;
    if (cfg->tls) {
        struct sk_tls_client_opts to = {.pin = fp,
                                        .alpn = load.kind == SK_BENCH_HTTP ? "http/1.1" : NULL};
        char why[256];
        if (sk_tls_client_ctx(&to, &tls, why, sizeof(why)) < 0) {
            snprintf(pt->note, sizeof(pt->note), "%.120s", why);
            struct rusage ru0;
            int st0;
            stop_server(&ch, &ru0, &st0);
            child_release(&ch);
            free(res);
            return;
        }
        load.tls = tls;
        load.tls_name = "127.0.0.1";
    }
    /* The resident set before any connection: what each one adds is
     * (peak - base) / conns. */
    pt->base_rss_kb = status_kb(ch.pid, "VmRSS");
    load.conns = conns;
    if (cfg->rates)
        load.rate = pt->rate;
    if (load.threads > conns)
        load.threads = conns;
    load.progress = NULL;
    load.label = model;
    int r = sk_bench_run(&load, res);
    sk_tls_ctx_free(tls);
    double proc_cpu = group_cpu_s(ch.pid);
    long hwm = vm_hwm_kb(ch.pid);
    struct rusage ru;
    int status;
    stop_server(&ch, &ru, &status);
    if (r < 0) {
        snprintf(pt->note, sizeof(pt->note), "load failed: %s", strerror(-r));
    } else {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        /* Workers the server never reaped are not in its rusage. */
        if (proc_cpu > cpu + 0.02)
            cpu = proc_cpu;
        pt->ok = 1;
        pt->requests = res->requests;
        pt->errors = sk_bench_errors_total(res);
        pt->starved = res->starved;
        pt->rps = res->elapsed_s > 0 ? (double)res->requests / res->elapsed_s : 0;
        pt->p50_ns = sk_hist_percentile(&res->hist, 50);
        pt->p99_ns = sk_hist_percentile(&res->hist, 99);
        pt->cpu_us_per_req = res->requests ? cpu * 1e6 / (double)res->requests : 0;
        pt->peak_rss_kb = ru.ru_maxrss > hwm ? ru.ru_maxrss : hwm;
        if (pt->base_rss_kb > 0 && pt->peak_rss_kb > pt->base_rss_kb)
            pt->kb_per_conn = (double)(pt->peak_rss_kb - pt->base_rss_kb) / conns;
        if (res->requests == 0) {
            read_note(ch.err, pt->note, sizeof(pt->note));
            if (!pt->note[0])
                snprintf(pt->note, sizeof(pt->note), "no reply");
        } else if (res->starved) {
            snprintf(pt->note, sizeof(pt->note), "%llu of %u connection%s never served",
                     (unsigned long long)res->starved, conns, conns == 1 ? "" : "s");
        } else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM) {
            snprintf(pt->note, sizeof(pt->note), "server died of signal %d", WTERMSIG(status));
        } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            snprintf(pt->note, sizeof(pt->note), "server exited with status %d",
                     WEXITSTATUS(status));
        }
    }
    child_release(&ch);
    free(res);
}

int sk_bench_models_run(const struct sk_bench_models_cfg *cfg, struct sk_bench_point *points)
{
    size_t nm = 0;
    while (cfg->models[nm])
        nm++;
    for (size_t ci = 0; ci < cfg->nconns; ci++) {
        for (size_t mi = 0; mi < nm; mi++) {
            struct sk_bench_point *pt = &points[mi * cfg->nconns + ci];
            pt->model = cfg->models[mi];
            pt->conns = cfg->conns[ci];
            pt->rate = cfg->rates ? cfg->rates[ci] : cfg->load.rate;
            if (sk_bench_interrupted()) {
                snprintf(pt->note, sizeof(pt->note), "interrupted");
                continue;
            }
            measure(cfg, cfg->models[mi], cfg->conns[ci], pt);
            if (cfg->progress) {
                char a[32], b[32];
                if (pt->ok)
                    fprintf(stderr, "  %-10s %6u conns %12.0f/s  p50 %-8s p99 %-8s %s\n", pt->model,
                            pt->conns, pt->rps, sk_bench_fmt_ns(pt->p50_ns, a, sizeof(a)),
                            sk_bench_fmt_ns(pt->p99_ns, b, sizeof(b)), pt->note);
                else
                    fprintf(stderr, "  %-10s %6u conns  failed: %s\n", pt->model, pt->conns,
                            pt->note);
            }
        }
    }
    return 0;
}
