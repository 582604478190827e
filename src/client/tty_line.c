/*
 * tty_line.c - the prompt line of the interactive clients (see tty_line.h):
 * raw-ish terminal input with a little line editing, output printed above
 * the prompt, and the plain line-by-line mode for pipes. Also the connect
 * helper chat and p2p share.
 */
#include "client/tty_line.h"

#include "sockit/resolve.h"
#include "sockit/sock.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal, resized;

static void on_stop(int sig)
{
    stop_signal = sig;
}
static void on_winch(int sig)
{
    (void)sig;
    resized = 1;
}

int sk_tty_line_stop_signal(void)
{
    return stop_signal;
}

/* Write everything, ignoring errors: the terminal is gone if it fails. */
static void out(struct sk_tty_line *t, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(t->out_fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void outs(struct sk_tty_line *t, const char *s)
{
    out(t, s, strlen(s));
}

static int columns(const struct sk_tty_line *t)
{
    struct winsize ws;
    if (ioctl(t->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Columns a code point takes: 0 for combining marks, 2 for East Asian wide
 * and emoji ranges, else 1 (a small table, independent of the locale). */
static int cp_width(uint32_t cp)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036f},
        {0x200b, 0x200f},
        {0x20d0, 0x20ff},
        {0xfe00, 0xfe0f},
    };
    static const uint32_t wide[][2] = {
        {0x1100, 0x115f},   {0x2e80, 0x303e},   {0x3041, 0x33ff}, {0x3400, 0x4dbf},
        {0x4e00, 0x9fff},   {0xa000, 0xa4cf},   {0xac00, 0xd7a3}, {0xf900, 0xfaff},
        {0xfe30, 0xfe4f},   {0xff00, 0xff60},   {0xffe0, 0xffe6}, {0x1f300, 0x1f64f},
        {0x1f900, 0x1f9ff}, {0x20000, 0x3fffd},
    };
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
        if (cp >= zero[i][0] && cp <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
        if (cp >= wide[i][0] && cp <= wide[i][1])
            return 2;
    return 1;
}

/* Terminal columns s[0..n) takes (UTF-8; a malformed byte counts as 1). */
static size_t width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        unsigned char b = (unsigned char)s[i];
        size_t len = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (len == 1 || i + len > n) {
            w++;
            i++;
            continue;
        }
        uint32_t cp = b & (0x7f >> len);
        for (size_t k = 1; k < len; k++)
            cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
        w += (size_t)cp_width(cp);
        i += len;
    }
    return w;
}

static int is_cont(char c)
{
    return ((unsigned char)c & 0xc0) == 0x80;
}

static size_t next_char(const struct sk_tty_line *t, size_t i)
{
    if (i < t->len)
        i++;
    while (i < t->len && is_cont(t->line[i]))
        i++;
    return i;
}

static size_t prev_char(const struct sk_tty_line *t, size_t i)
{
    if (i > 0)
        i--;
    while (i > 0 && is_cont(t->line[i]))
        i--;
    return i;
}

/* Erase the prompt line and draw the prompt and the part of the input around
 * the cursor that fits in the terminal's width; then put the cursor back. */
static void redraw(struct sk_tty_line *t)
{
    if (!t->tty)
        return;
    size_t cols = (size_t)columns(t);
    size_t pw = width(t->prompt, strlen(t->prompt));
    size_t room = cols > pw + 1 ? cols - pw - 1 : 1;
    size_t start = 0, end;
    while (width(t->line + start, t->pos - start) > room)
        start = next_char(t, start);
    for (end = t->pos; end < t->len;) {
        size_t nx = next_char(t, end);
        if (width(t->line + start, nx - start) > room)
            break;
        end = nx;
    }
    outs(t, "\r\x1b[K");
    outs(t, t->prompt);
    out(t, t->line + start, end - start);
    size_t back = width(t->line + t->pos, end - t->pos);
    if (back) {
        char mv[32];
        snprintf(mv, sizeof(mv), "\x1b[%zuD", back);
        outs(t, mv);
    }
}

int sk_tty_line_open(struct sk_tty_line *t, int in_fd, int out_fd, const char *prompt)
{
    memset(t, 0, sizeof(*t));
    t->in_fd = in_fd;
    t->out_fd = out_fd;
    snprintf(t->prompt, sizeof(t->prompt), "%s", prompt ? prompt : "");
    t->tty = isatty(in_fd) && isatty(out_fd);
    const char *nc = getenv("NO_COLOR");
    t->color = isatty(out_fd) && !(nc && *nc);

    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!t->tty)
        return 0;
    if (tcgetattr(in_fd, &t->saved) < 0)
        return -errno;
    struct termios raw = t->saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | IEXTEN);
    raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL | INLCR);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(in_fd, TCSANOW, &raw) < 0)
        return -errno;
    t->raw = 1;
    redraw(t);
    return 0;
}

void sk_tty_line_close(struct sk_tty_line *t)
{
    if (t->tty)
        outs(t, "\r\x1b[K");
    if (t->raw)
        tcsetattr(t->in_fd, TCSANOW, &t->saved);
    t->raw = 0;
    t->tty = 0;
}

void sk_tty_line_print(struct sk_tty_line *t, const char *s, size_t n)
{
    if (t->tty) {
        outs(t, "\r\x1b[K");
        out(t, s, n);
        outs(t, "\r\n");
        redraw(t);
    } else {
        out(t, s, n);
        outs(t, "\n");
    }
}

void sk_tty_line_refresh(struct sk_tty_line *t)
{
    if (resized) {
        resized = 0;
        redraw(t);
    }
}

void sk_tty_line_set_prompt(struct sk_tty_line *t, const char *prompt)
{
    snprintf(t->prompt, sizeof(t->prompt), "%s", prompt);
    redraw(t);
}

void sk_tty_line_stamp(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, len, "[%H:%M:%S] ", &tm);
}

static void remember(struct sk_tty_line *t, const char *line, size_t n)
{
    if (n == 0 || !t->tty)
        return;
    if (t->hist_n) {
        const char *last = t->hist[(t->hist_next + SK_TTY_HISTORY - 1) % SK_TTY_HISTORY];
        if (strlen(last) == n && memcmp(last, line, n) == 0)
            return; /* the same line again */
    }
    memcpy(t->hist[t->hist_next], line, n);
    t->hist[t->hist_next][n] = '\0';
    t->hist_next = (t->hist_next + 1) % SK_TTY_HISTORY;
    if (t->hist_n < SK_TTY_HISTORY)
        t->hist_n++;
}

/* Hand the typed line to fn, then start a fresh one. */
static void submit(struct sk_tty_line *t, sk_tty_line_fn *fn, void *arg)
{
    char line[SK_TTY_LINE_MAX];
    size_t n = t->len;
    memcpy(line, t->line, n);
    remember(t, line, n);
    t->len = t->pos = 0;
    t->hist_at = 0;
    redraw(t);
    fn(arg, line, n);
}

static void set_line(struct sk_tty_line *t, const char *s)
{
    t->len = t->pos = strlen(s);
    memcpy(t->line, s, t->len);
}

/* Up (dir 1) or Down (dir -1) through the history. */
static void recall(struct sk_tty_line *t, int dir)
{
    if (dir > 0 && t->hist_at < t->hist_n) {
        if (t->hist_at == 0) {
            memcpy(t->draft, t->line, t->len);
            t->draft[t->len] = '\0';
        }
        t->hist_at++;
    } else if (dir < 0 && t->hist_at > 0) {
        t->hist_at--;
    } else {
        return;
    }
    if (t->hist_at == 0)
        set_line(t, t->draft);
    else
        set_line(t, t->hist[(t->hist_next + SK_TTY_HISTORY - t->hist_at) % SK_TTY_HISTORY]);
}

/* Remove line[from..to). */
static void cut(struct sk_tty_line *t, size_t from, size_t to)
{
    memmove(t->line + from, t->line + to, t->len - to);
    t->len -= to - from;
    t->pos = from;
}

static void insert(struct sk_tty_line *t, unsigned char c)
{
    if (t->len + 1 >= sizeof(t->line))
        return;
    memmove(t->line + t->pos + 1, t->line + t->pos, t->len - t->pos);
    t->line[t->pos++] = (char)c;
    t->len++;
}

static void erase_word(struct sk_tty_line *t)
{
    size_t i = t->pos;
    while (i > 0 && t->line[i - 1] == ' ')
        i--;
    while (i > 0 && t->line[i - 1] != ' ')
        i--;
    cut(t, i, t->pos);
}

/* Tab: the client's completion replaces the word before the cursor, or a
 * space is typed. */
static void tab(struct sk_tty_line *t)
{
    char repl[256];
    size_t from = t->pos;
    int k =
        t->complete ? t->complete(t->complete_arg, t->line, t->pos, &from, repl, sizeof(repl)) : -1;
    if (k < 0) {
        insert(t, ' ');
        return;
    }
    if (from > t->pos || (size_t)k > sizeof(repl) ||
        t->len - (t->pos - from) + (size_t)k >= sizeof(t->line))
        return; /* nothing sensible to do: leave the line as it is */
    cut(t, from, t->pos);
    memmove(t->line + t->pos + (size_t)k, t->line + t->pos, t->len - t->pos);
    memcpy(t->line + t->pos, repl, (size_t)k);
    t->pos += (size_t)k;
    t->len += (size_t)k;
}

/* A complete escape sequence: final byte f, parameters in t->param. */
static void escape_key(struct sk_tty_line *t, unsigned char f)
{
    t->param[t->plen] = '\0';
    if (f == '~') {
        if (!strcmp(t->param, "1") || !strcmp(t->param, "7"))
            f = 'H';
        else if (!strcmp(t->param, "4") || !strcmp(t->param, "8"))
            f = 'F';
        else if (!strcmp(t->param, "3") && t->pos < t->len)
            cut(t, t->pos, next_char(t, t->pos));
    }
    switch (f) {
    case 'A': recall(t, 1); break;
    case 'B': recall(t, -1); break;
    case 'C': t->pos = next_char(t, t->pos); break;
    case 'D': t->pos = prev_char(t, t->pos); break;
    case 'H': t->pos = 0; break;
    case 'F': t->pos = t->len; break;
    default: break;
    }
}

/* One byte typed on the terminal. Returns 1 at end of input. */
static int key(struct sk_tty_line *t, unsigned char c, sk_tty_line_fn *fn, void *arg)
{
    if (t->esc == 1) { /* after ESC: '[' or 'O' start a sequence */
        t->esc = (c == '[' || c == 'O') ? 2 : 0;
        t->plen = 0;
        return 0;
    }
    if (t->esc == 2) { /* parameters until a final byte */
        if (c >= 0x40 && c <= 0x7e) {
            t->esc = 0;
            escape_key(t, c);
            redraw(t);
        } else if (t->plen + 1 < sizeof(t->param)) {
            t->param[t->plen++] = (char)c;
        }
        return 0;
    }
    switch (c) {
    case '\r':
    case '\n': submit(t, fn, arg); return 0;
    case 0x7f: /* Backspace */
    case 0x08:
        if (t->pos > 0)
            cut(t, prev_char(t, t->pos), t->pos);
        break;
    case 0x01: t->pos = 0; break;                    /* Ctrl-A */
    case 0x05: t->pos = t->len; break;               /* Ctrl-E */
    case 0x02: t->pos = prev_char(t, t->pos); break; /* Ctrl-B */
    case 0x06: t->pos = next_char(t, t->pos); break; /* Ctrl-F */
    case 0x0b: t->len = t->pos; break;               /* Ctrl-K */
    case 0x15: cut(t, 0, t->pos); break;             /* Ctrl-U */
    case 0x17: erase_word(t); break;                 /* Ctrl-W */
    case 0x0c: outs(t, "\x1b[H\x1b[2J"); break;      /* Ctrl-L */
    case 0x04:                                       /* Ctrl-D */
        if (t->len == 0)
            return 1;
        if (t->pos < t->len)
            cut(t, t->pos, next_char(t, t->pos));
        break;
    case 0x1b: t->esc = 1; return 0;
    case '\t': tab(t); break;
    default:
        if (c < 0x20)
            return 0; /* other control keys do nothing */
        insert(t, c);
        break;
    }
    redraw(t);
    return 0;
}

int sk_tty_line_read(struct sk_tty_line *t, sk_tty_line_fn *fn, void *arg)
{
    char buf[4096];

    if (t->eof)
        return 1;
    ssize_t n = read(t->in_fd, buf, sizeof(buf));
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    if (n == 0) {
        if (t->len > 0) /* a last line without its end */
            submit(t, fn, arg);
        t->eof = 1;
        return 1;
    }
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (t->tty) {
            if (key(t, c, fn, arg)) {
                t->eof = 1;
                return 1;
            }
            continue;
        }
        if (c == '\n') {
            if (t->len > 0 && t->line[t->len - 1] == '\r')
                t->len--;
            submit(t, fn, arg);
        } else if (t->len + 1 < sizeof(t->line)) {
            t->line[t->len++] = (char)c;
        } else { /* a very long line goes out in pieces */
            submit(t, fn, arg);
            t->line[t->len++] = (char)c;
        }
    }
    return 0;
}

int sk_tty_connect(const char *host, const char *port, int family, int timeout_ms,
                   struct sk_addr *peer)
{
    struct sk_resolve_opts o = {.family = family, .socktype = SOCK_STREAM};
    struct sk_addrinfo *ai;

    int n = sk_resolve(host, port, &o, &ai, NULL, 0);
    if (n < 0)
        return n;
    int fd = -ENOENT;
    for (int i = 0; i < n; i++) {
        fd = sk_sock_connect(&ai[i].addr, SOCK_STREAM, timeout_ms, SK_SOCK_NODELAY);
        if (fd >= 0) {
            if (peer)
                *peer = ai[i].addr;
            break;
        }
    }
    free(ai);
    return fd;
}
