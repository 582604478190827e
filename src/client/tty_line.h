/*
 * tty_line.h - what the interactive clients (chat, p2p) share: a prompt line
 * that incoming text does not tear up, and connecting to HOST PORT.
 *
 * When the input is a terminal, it is put in a raw-ish mode (no canonical
 * input, no echo; signals still work) and the line being typed is kept here:
 * sk_tty_line_print() erases the prompt line, prints the text, and draws the
 * prompt and the partial input again below it. Editing (as in readline):
 * Left/Right (Ctrl-B/Ctrl-F), Home/End (Ctrl-A/Ctrl-E), Backspace, Delete,
 * Ctrl-U (erase to the start), Ctrl-K (erase to the end), Ctrl-W (erase a
 * word), Up/Down (history), Ctrl-L (clear the screen), Ctrl-D (delete, or
 * end of input on an empty line), Tab (the client's completion where it
 * has one, else a space); other keys are ignored.
 * When the input is not a terminal, lines are read as they come and nothing
 * is drawn: the clients then work in pipes and scripts.
 * Single-threaded; one instance per process (it owns the terminal's mode and
 * the SIGINT/SIGTERM/SIGHUP/SIGWINCH handlers while open).
 */
#ifndef SOCKIT_CLIENT_TTY_LINE_H
#define SOCKIT_CLIENT_TTY_LINE_H

#include "sockit/addr.h"

#include <stddef.h>
#include <termios.h>

#define SK_TTY_LINE_MAX 4096
#define SK_TTY_HISTORY 32 /* lines Up and Down recall */

/*
 * Tab completion: called with the line typed so far up to the cursor,
 * line[0..pos). Returns -1 where the client completes nothing (Tab then
 * types a space), else the length k of repl (at most replmax bytes), which
 * replaces line[*from..pos) (from <= pos). It may print (a list of
 * candidates) with sk_tty_line_print().
 */
typedef int sk_tty_complete_fn(void *arg, const char *line, size_t pos, size_t *from, char *repl,
                               size_t replmax);

struct sk_tty_line {
    int in_fd, out_fd;
    int tty;   /* in_fd is a terminal: raw mode, prompt and editing */
    int raw;   /* the terminal's mode was changed (restore it) */
    int color; /* out_fd is a terminal and NO_COLOR is unset */
    struct termios saved;
    char prompt[64];
    char line[SK_TTY_LINE_MAX]; /* the line being typed (or read) */
    size_t len;
    size_t pos;    /* the cursor, a byte offset at a character start */
    int esc;       /* a key's escape sequence: 1 after ESC, 2 inside */
    char param[8]; /* its parameter bytes (e.g. "3" of ESC [ 3 ~) */
    size_t plen;
    char hist[SK_TTY_HISTORY][SK_TTY_LINE_MAX]; /* NUL-terminated, a ring */
    unsigned hist_n, hist_next, hist_at;        /* hist_at: 0 = the draft */
    char draft[SK_TTY_LINE_MAX];                /* the line before Up was pressed */
    int eof;
    sk_tty_complete_fn *complete; /* NULL: Tab types a space */
    void *complete_arg;
};

/* Called for each complete input line (without its line end). */
typedef void sk_tty_line_fn(void *arg, const char *line, size_t n);

/* Start reading lines from in_fd and printing to out_fd. Returns 0 or a
 * negative errno (the terminal could not be set up). */
int sk_tty_line_open(struct sk_tty_line *t, int in_fd, int out_fd, const char *prompt);

/* Restore the terminal (idempotent); the prompt line is erased. */
void sk_tty_line_close(struct sk_tty_line *t);

/* Read what in_fd has (call when poll() says it is readable) and call fn for
 * each completed line. Returns 0, 1 once the input has ended (EOF, or
 * Ctrl-D on an empty line; a last unterminated line is delivered first), or
 * a negative errno. */
int sk_tty_line_read(struct sk_tty_line *t, sk_tty_line_fn *fn, void *arg);

/* Print one line of output (no line end in s) above the prompt. */
void sk_tty_line_print(struct sk_tty_line *t, const char *s, size_t n);

/* Redraw the prompt line if the terminal was resized since the last call
 * (call after poll() returns, EINTR included). */
void sk_tty_line_refresh(struct sk_tty_line *t);

/* Change the prompt (and redraw it). */
void sk_tty_line_set_prompt(struct sk_tty_line *t, const char *prompt);

/* The signal that asked us to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
int sk_tty_line_stop_signal(void);

/* "[HH:MM:SS] " for the local time now, into buf (at least 16 bytes). */
void sk_tty_line_stamp(char *buf, size_t len);

/* Connect a TCP socket to host:port, trying each address the resolver gives
 * (family AF_UNSPEC, AF_INET or AF_INET6) until one answers. Returns the
 * descriptor (blocking) and stores the peer, or a negative error. */
int sk_tty_connect(const char *host, const char *port, int family, int timeout_ms,
                   struct sk_addr *peer);

#endif
