/*
 * chat_client.c - `sockit chat HOST PORT --nick NAME`: a chat room client
 * for people, and the session loop it shares with p2p.c.
 *
 * The session loop polls the socket and the terminal together. Lines from
 * the other side are cleaned with sk_chat_sanitize() (no escape sequence or
 * control character of theirs reaches our terminal) and printed above the
 * prompt; typed lines are sent as they are completed.
 *
 * The chat client understands the server's conventions (chat.c): lines
 * starting "*** " are notices, shown apart (coloured on a terminal, unless
 * NO_COLOR is set); "*nick* " starts a private message. It follows its own
 * nickname from "*** Welcome, NICK!" and "*** You are now known as NICK", so
 * it can show what you send as "<NICK> text" (the server sends no echo).
 * Until it has joined, the prompt says a nickname is asked for; a --nick the
 * server refuses is said in words at a terminal, and ends a piped session
 * (the lines that follow are messages, never a nickname by accident).
 *
 * Rooms: the client follows its room from "*** You are now in #ROOM" and
 * shows it in the prompt ("alice #dev> "; in #lobby, where everyone starts,
 * the prompt stays "alice> " as before rooms). It remembers the rooms it
 * has heard of (/list replies, "*** NICK joined #ROOM", "*** NICK left for
 * #ROOM": at most KNOWN_ROOMS, the oldest forgotten first), and Tab after
 * "/join " completes them: a single match is completed, several are
 * completed as far as they agree and, when that adds nothing, listed.
 */
#include "client/chat_client.h"

#include "client/chat_session.h"
#include "client/tty_line.h"
#include "sockit/chat.h"
#include "sockit/sock.h"
#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define QUIT_WAIT_MS 3000  /* after /quit, how long the other side may take to close */
#define SEND_WAIT_MS 10000 /* TLS: how long a send may wait for the socket */

/* ---- the session loop (shared with p2p.c) ---- */

void sk__session_show(struct sk_session *s, const char *color, const char *p, size_t n)
{
    static char line[3 * sizeof(s->rbuf) + 64]; /* single-threaded */
    size_t used = 0;

    if (s->timestamps) {
        sk_tty_line_stamp(line, 32);
        used = strlen(line);
    }
    int colored = color && s->tty.color;
    if (colored) {
        memcpy(line + used, color, strlen(color));
        used += strlen(color);
    }
    used += sk_chat_sanitize(p, n, line + used, sizeof(line) - used - 8);
    if (colored) {
        memcpy(line + used, "\x1b[0m", 4);
        used += 4;
    }
    sk_tty_line_print(&s->tty, line, used);
}

int sk__session_tls(struct sk_session *s, struct sk_tls *t, int timeout_ms, char *why,
                    size_t whylen)
{
    int r = sk_tls_handshake(t, timeout_ms);
    if (r == 0) {
        int fl = fcntl(s->fd, F_GETFL);
        if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) < 0)
            r = -errno;
    }
    if (r < 0) {
        snprintf(why, whylen, "%s",
                 sk_is_tls_error(r) || r == -ETIMEDOUT ? sk_tls_why(t) : sk_strerror(r));
        sk_tls_free(t);
        return r;
    }
    s->tls = t;
    s->rwant = POLLIN;
    return 0;
}

int sk__session_write(struct sk_session *s, const char *p, size_t n)
{
    if (!s->tls)
        return sk_write_all(s->fd, p, n);
    int64_t deadline = sk_now_ms() + SEND_WAIT_MS;
    while (n > 0) {
        ssize_t w = sk_tls_write(s->tls, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w != -EAGAIN)
            return (int)w;
        int64_t left = deadline - sk_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pf = {.fd = s->fd, .events = sk_tls_want(s->tls)};
        if (poll(&pf, 1, (int)left) < 0 && errno != EINTR)
            return -errno;
    }
    return 0;
}

void sk__session_shutdown(struct sk_session *s)
{
    if (s->tls)
        sk_tls_shutdown(s->tls); /* best effort: the half-close follows */
    shutdown(s->fd, SHUT_WR);
}

void sk__session_close(struct sk_session *s)
{
    if (s->tls) {
        sk_tls_shutdown(s->tls);
        sk_tls_free(s->tls);
        s->tls = NULL;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

int sk__session_send(struct sk_session *s, const char *p, size_t n)
{
    int r = sk__session_write(s, p, n);
    if (r == 0)
        r = sk__session_write(s, "\n", 1);
    if (r < 0 && !s->err)
        s->err = r;
    return r;
}

void sk__session_leave(struct sk_session *s)
{
    if (s->quitting)
        return;
    s->quitting = 1;
    s->quit_deadline = sk_now_ms() + QUIT_WAIT_MS;
}

static void local_line(void *arg, const char *line, size_t n)
{
    struct sk_session *s = arg;
    if (!s->quitting)
        s->local(s, line, n);
}

/* Split what arrived into lines for s->remote. A line longer than the
 * buffer is shown in pieces. */
static void remote_bytes(struct sk_session *s)
{
    size_t start = 0;
    for (size_t i = 0; i < s->rlen; i++) {
        if (s->rbuf[i] != '\n')
            continue;
        size_t len = i - start;
        if (len > 0 && s->rbuf[start + len - 1] == '\r')
            len--;
        s->remote(s, s->rbuf + start, len);
        start = i + 1;
    }
    if (start == 0 && s->rlen == sizeof(s->rbuf)) {
        s->remote(s, s->rbuf, s->rlen);
        start = s->rlen;
    }
    memmove(s->rbuf, s->rbuf + start, s->rlen - start);
    s->rlen -= start;
}

int sk__session_run(struct sk_session *s)
{
    for (;;) {
        if (sk_tty_line_stop_signal())
            return -EINTR;
        if (s->err)
            return s->err;
        int timeout = -1, held = 0;
        if (s->quitting) {
            int64_t left = s->quit_deadline - sk_now_ms();
            if (left <= 0)
                return SK_SESSION_WE_LEFT;
            timeout = (int)left;
        }
        if (s->hold_until) {
            int64_t left = s->hold_until - sk_now_ms();
            if (left > 0 && (timeout < 0 || left < timeout))
                timeout = (int)left;
            held = left > 0;
            if (!held)
                s->hold_until = 0;
        }
        /* TLS may hold decrypted bytes the socket will not signal again. */
        int buffered = s->tls && sk_tls_pending(s->tls) > 0;
        struct pollfd p[2] = {
            {.fd = s->fd, .events = s->tls ? s->rwant : POLLIN},
            {.fd = s->quitting || s->tty.eof || held ? -1 : s->tty.in_fd, .events = POLLIN},
        };
        int n = poll(p, 2, buffered ? 0 : timeout);
        sk_tty_line_refresh(&s->tty);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[0].revents || buffered) {
            ssize_t r = s->tls ? sk_tls_read(s->tls, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen)
                               : sk_read(s->fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen);
            if (s->tls)
                s->rwant = r == -EAGAIN ? sk_tls_want(s->tls) : POLLIN;
            if (r < 0 && r != -EAGAIN)
                return s->quitting ? SK_SESSION_WE_LEFT : (int)r;
            if (r == 0) {
                if (s->rlen > 0) { /* a last line without its end */
                    s->remote(s, s->rbuf, s->rlen);
                    s->rlen = 0;
                }
                return s->quitting ? SK_SESSION_WE_LEFT : SK_SESSION_THEY_LEFT;
            }
            if (r > 0) {
                s->rlen += (size_t)r;
                remote_bytes(s);
            }
        }
        if (p[1].revents) {
            int r = sk_tty_line_read(&s->tty, local_line, s);
            if (r < 0)
                return r;
            if (r == 1 && !s->quitting)
                s->local_eof(s);
        }
    }
}

/* ---- the chat room client ---- */

#define NICK_WAIT_MS 2000 /* with --nick, typed lines wait this long for the server's verdict */
#define KNOWN_ROOMS 64    /* rooms remembered for /join completion */

struct chat {
    struct sk_session s;
    char nick[SK_CHAT_NICK_MAX + 1];
    char room[SK_CHAT_ROOM_MAX + 1]; /* where we are once joined */
    char known[KNOWN_ROOMS][SK_CHAT_ROOM_MAX + 1];
    unsigned nknown, known_next; /* a ring: the oldest is overwritten */
    const char *wanted;          /* --nick, until the server takes or refuses it */
    int joined;
    int refused;     /* --nick was refused and input is not a terminal: leave */
    int say_refused; /* --nick was refused at a terminal: say so, ask for another */
};

/* "nick> " in the lobby, "nick #room> " elsewhere. */
static void show_prompt(struct chat *c)
{
    char prompt[SK_CHAT_NICK_MAX + SK_CHAT_ROOM_MAX + 8];
    if (c->room[0] && !sk_chat_room_equal(c->room, SK_CHAT_LOBBY))
        snprintf(prompt, sizeof(prompt), "%s %s> ", c->nick, c->room);
    else
        snprintf(prompt, sizeof(prompt), "%s> ", c->nick);
    sk_tty_line_set_prompt(&c->s.tty, prompt);
}

/* Remember a room heard of, p[0..n) (ignored unless a valid room name). */
static void heard_of(struct chat *c, const char *p, size_t n)
{
    const char *why;
    if (sk_chat_room_check(p, n, &why) < 0)
        return;
    char name[SK_CHAT_ROOM_MAX + 1];
    memcpy(name, p, n);
    name[n] = '\0';
    for (unsigned i = 0; i < c->nknown; i++)
        if (sk_chat_room_equal(c->known[i], name))
            return;
    memcpy(c->known[c->known_next], name, n + 1);
    c->known_next = (c->known_next + 1) % KNOWN_ROOMS;
    if (c->nknown < KNOWN_ROOMS)
        c->nknown++;
}

static void set_room(struct chat *c, const char *p, size_t n)
{
    const char *why;
    if (sk_chat_room_check(p, n, &why) < 0)
        return;
    memcpy(c->room, p, n);
    c->room[n] = '\0';
    heard_of(c, p, n);
    show_prompt(c);
}

static void set_nick(struct chat *c, const char *p, size_t n)
{
    const char *why;
    if (sk_chat_nick_check(p, n, &why) < 0)
        return;
    memcpy(c->nick, p, n);
    c->nick[n] = '\0';
    if (!c->joined) {
        snprintf(c->room, sizeof(c->room), "%s", SK_CHAT_LOBBY); /* everyone starts there */
        heard_of(c, SK_CHAT_LOBBY, strlen(SK_CHAT_LOBBY));
    }
    c->joined = 1;
    c->wanted = NULL;
    c->s.hold_until = 0;
    show_prompt(c);
}

static int has(const char *p, size_t n, const char *word)
{
    return memmem(p, n, word, strlen(word)) != NULL;
}

/* Before we joined, the server asks for a nickname or refuses one: say so
 * in the prompt. A refused --nick is said in words on a terminal; with input
 * from a pipe the lines that follow are messages, not nicknames, so the
 * client leaves rather than let one become the nickname. */
static void nick_asked(struct chat *c, const char *p, size_t n)
{
    int refused =
        has(p, n, " is taken") || has(p, n, "Invalid nickname") || has(p, n, " is reserved");
    if (!refused && !has(p, n, "nickname"))
        return;
    if (refused && c->wanted) {
        c->s.hold_until = 0;
        if (!c->s.tty.tty) {
            c->refused = 1;
            c->s.err = -EADDRINUSE;
            return;
        }
        c->say_refused = 1; /* after the server's notice */
    }
    sk_tty_line_set_prompt(&c->s.tty, "nickname> ");
}

/* The length of the room name at p[0..n) (up to a space, ':', '.', ')'
 * or the end). */
static size_t room_word(const char *p, size_t n)
{
    size_t k = 0;
    while (k < n && p[k] != ' ' && p[k] != ':' && p[k] != '.' && p[k] != ')' && p[k] != '(')
        k++;
    return k;
}

/* Follow our room, and the rooms we hear of, from the server's notices:
 * "*** You are now in #R: ...", "***   #R (N people)..." (a /list line),
 * "*** NICK joined #R", "*** NICK left for #R". */
static void track_rooms(struct chat *c, const char *p, size_t n)
{
    static const char now_in[] = "*** You are now in #", listed[] = "***   #";
    size_t nl = sizeof(now_in) - 1, ll = sizeof(listed) - 1;

    if (n > nl && memcmp(p, now_in, nl) == 0) {
        set_room(c, p + nl - 1, room_word(p + nl - 1, n - nl + 1));
        return;
    }
    if (n > ll && memcmp(p, listed, ll) == 0) {
        heard_of(c, p + ll - 1, room_word(p + ll - 1, n - ll + 1));
        return;
    }
    /* "*** NICK joined #R" or "*** NICK left for #R", to the end of the line */
    const char *nick = p + 4, *end = p + n;
    const char *sp = memchr(nick, ' ', (size_t)(end - nick));
    const char *why;
    if (!sp || sk_chat_nick_check(nick, (size_t)(sp - nick), &why) < 0)
        return;
    static const char *const verbs[] = {" joined #", " left for #"};
    for (size_t i = 0; i < 2; i++) {
        size_t vl = strlen(verbs[i]);
        if ((size_t)(end - sp) > vl && memcmp(sp, verbs[i], vl) == 0) {
            const char *room = sp + vl - 1;
            if (room_word(room, (size_t)(end - room)) == (size_t)(end - room))
                heard_of(c, room, (size_t)(end - room));
        }
    }
}

/* Tab after "/join ": complete the room name being typed from the rooms
 * heard of (see tty_line.h for the convention). */
static int complete_room(void *arg, const char *line, size_t pos, size_t *from, char *repl,
                         size_t replmax)
{
    struct chat *c = arg;
    struct sk_chat_cmd cmd;

    sk_chat_parse(line, pos, &cmd);
    if (cmd.kind != SK_CHAT_JOIN || cmd.arg_len || cmd.target + cmd.target_len != line + pos ||
        cmd.target == line || (cmd.target[-1] != ' ' && cmd.target[-1] != '\t'))
        return -1; /* not the room of a /join */
    const char *w = cmd.target;
    size_t wl = cmd.target_len, skip = wl && w[0] == '#' ? 0 : 1; /* "dev" means "#dev" */
    const char *match[KNOWN_ROOMS];
    unsigned nm = 0;
    for (unsigned i = 0; i < c->nknown; i++) {
        const char *k = c->known[i] + skip;
        if (strlen(k) < wl)
            continue;
        size_t j = 0;
        while (j < wl && (k[j] | 0x20) == (w[j] | 0x20))
            j++;
        if (j == wl)
            match[nm++] = c->known[i];
    }
    *from = pos; /* unless a completion replaces the word: nothing changes */
    if (nm == 0 || replmax < SK_CHAT_ROOM_MAX)
        return 0; /* nothing known starts so */
    /* As far as every match agrees (the first one's spelling). */
    size_t common = strlen(match[0]);
    for (unsigned i = 1; i < nm; i++) {
        size_t j = 0;
        while (j < common && match[i][j] && (match[i][j] | 0x20) == (match[0][j] | 0x20))
            j++;
        common = j;
    }
    if (nm > 1 && common <= wl + skip) { /* nothing to add: show the choices */
        char list[KNOWN_ROOMS * (SK_CHAT_ROOM_MAX + 1) + 16];
        size_t used = (size_t)snprintf(list, sizeof(list), "rooms:");
        for (unsigned i = 0; i < nm; i++)
            used += (size_t)snprintf(list + used, sizeof(list) - used, " %s", match[i]);
        sk_tty_line_print(&c->s.tty, list, used);
    }
    if (common < wl + skip)
        return 0; /* keep what was typed */
    *from = (size_t)(w - line);
    memcpy(repl, match[0], common);
    return (int)common;
}

/* Follow our nickname from the server's notices. */
static void track_nick(struct chat *c, const char *p, size_t n)
{
    static const char welcome[] = "*** Welcome, ", known[] = "*** You are now known as ";
    size_t wl = sizeof(welcome) - 1, kl = sizeof(known) - 1;

    if (!c->joined && !(n > wl && memcmp(p, welcome, wl) == 0))
        nick_asked(c, p, n);
    if (n > wl && memcmp(p, welcome, wl) == 0) {
        const char *end = memchr(p + wl, '!', n - wl);
        if (end)
            set_nick(c, p + wl, (size_t)(end - (p + wl)));
    } else if (n > kl && memcmp(p, known, kl) == 0) {
        set_nick(c, p + kl, n - kl);
    }
}

static void chat_remote(struct sk_session *s, const char *p, size_t n)
{
    struct chat *c = (struct chat *)s;
    const char *color = NULL;

    if (n >= 4 && memcmp(p, "*** ", 4) == 0) {
        track_nick(c, p, n);
        track_rooms(c, p, n);
        if (c->refused)
            return;         /* leaving: the CLI says why */
        color = "\x1b[36m"; /* notices: cyan */
    } else if (n >= 2 && p[0] == '*' && p[1] != ' ' && memchr(p + 1, '*', n - 1)) {
        color = "\x1b[1m"; /* a private message: bold */
    } else if (n >= 2 && p[0] == '*' && p[1] == ' ') {
        color = "\x1b[35m"; /* an action: magenta */
    }
    sk__session_show(s, color, p, n);
    if (c->say_refused) {
        char line[SK_CHAT_NICK_MAX + 96];
        int len =
            snprintf(line, sizeof(line),
                     "sockit: chat: the nickname %s is not available; type another one", c->wanted);
        sk_tty_line_print(&s->tty, line, (size_t)SK_MIN((size_t)len, sizeof(line) - 1));
        c->say_refused = 0;
        c->wanted = NULL;
    }
}

static void chat_local(struct sk_session *s, const char *p, size_t n)
{
    struct chat *c = (struct chat *)s;
    struct sk_chat_cmd cmd;

    if (n == 0)
        return;
    sk_chat_parse(p, n, &cmd);
    if (sk__session_send(s, p, n) < 0)
        return;
    if (cmd.kind == SK_CHAT_QUIT) {
        sk__session_leave(s);
        return;
    }
    if (!s->tty.tty || !c->joined)
        return; /* in a pipe, or the line was a nickname: nothing to echo */
    char line[SK_CHAT_NICK_MAX + 8];
    if (cmd.kind == SK_CHAT_TEXT) {
        snprintf(line, sizeof(line), "<%s> ", c->nick);
    } else if (cmd.kind == SK_CHAT_ME && cmd.arg_len) {
        snprintf(line, sizeof(line), "* %s ", c->nick);
    } else {
        return; /* commands: the server answers */
    }
    char echo[SK_TTY_LINE_MAX + sizeof(line)];
    size_t ll = strlen(line);
    size_t al = SK_MIN(cmd.arg_len, sizeof(echo) - ll);
    memcpy(echo, line, ll);
    memcpy(echo + ll, cmd.arg, al);
    sk__session_show(s, cmd.kind == SK_CHAT_ME ? "\x1b[35m" : NULL, echo, ll + al);
}

static void chat_local_eof(struct sk_session *s)
{
    static const char quit[] = "/quit";
    sk__session_send(s, quit, sizeof(quit) - 1);
    sk__session_leave(s);
}

int sk_chat_client_run(const struct sk_chat_client_opts *o)
{
    static struct chat c; /* large buffers: not on the stack */
    struct sk_addr peer;

    memset(&c, 0, sizeof(c));
    int fd = sk_tty_connect(o->host, o->port, o->family, 10000, &peer);
    if (fd < 0)
        return fd;
    c.s.fd = fd;
    if (o->tls.ctx) {
        struct sk_tls *t;
        int r = sk_tls_client(o->tls.ctx, fd, o->host, o->tls.sni, &t);
        if (r == 0)
            r = sk__session_tls(&c.s, t, 10000, o->tls.why, o->tls.whylen);
        else
            snprintf(o->tls.why, o->tls.whylen, "%s", sk_strerror(r));
        if (r < 0) {
            close(fd);
            return r;
        }
    }
    c.s.timestamps = o->timestamps;
    c.s.remote = chat_remote;
    c.s.local = chat_local;
    c.s.local_eof = chat_local_eof;
    int r = sk_tty_line_open(&c.s.tty, STDIN_FILENO, STDOUT_FILENO, "> ");
    if (r < 0) {
        sk__session_close(&c.s);
        return r;
    }
    c.s.tty.complete = complete_room;
    c.s.tty.complete_arg = &c;
    if (o->nick) {
        char line[256];
        int n = snprintf(line, sizeof(line), "/nick %s", o->nick);
        sk__session_send(&c.s, line, (size_t)SK_MIN((size_t)n, sizeof(line) - 1));
        c.wanted = o->nick;
        c.s.hold_until = sk_now_ms() + NICK_WAIT_MS;
    }
    r = sk__session_run(&c.s);
    if (r == -EINTR) { /* Ctrl-C: still say goodbye */
        static const char quit[] = "/quit\n";
        sk__session_write(&c.s, quit, sizeof(quit) - 1);
    }
    sk_tty_line_close(&c.s.tty);
    sk__session_close(&c.s);
    if (r == SK_SESSION_WE_LEFT)
        return 0;
    if (r == SK_SESSION_THEY_LEFT)
        return -ECONNABORTED;
    return r;
}
