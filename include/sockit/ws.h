/*
 * ws.h - the pure parts of WebSocket (RFC 6455) that the chat service's
 * browser face uses: the frame header parser and encoder, unmasking, the
 * strict UTF-8 check of text messages, and the handshake's accept key.
 *
 * The parser never allocates and never does I/O; it reads at most p + n and
 * answers complete / incomplete / error, so a caller resumes it by calling
 * it again with more bytes appended (a header is at most 14 bytes: reparsing
 * it costs nothing). Everything here is safe to call from any thread.
 */
#ifndef SOCKIT_WS_H
#define SOCKIT_WS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The GUID the handshake appends to the client's key (RFC 6455 1.3). */
#define SK_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* Longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
#define SK_WS_HEAD_MAX 14
/* Length of Sec-WebSocket-Accept's value (base64 of 20 bytes). */
#define SK_WS_ACCEPT_LEN 28

enum {
    SK_WS_CONT = 0x0,
    SK_WS_TEXT = 0x1,
    SK_WS_BINARY = 0x2,
    SK_WS_CLOSE = 0x8,
    SK_WS_PING = 0x9,
    SK_WS_PONG = 0xa,
};

/* Close status codes (RFC 6455 7.4.1) this code sends. */
enum {
    SK_WS_NORMAL = 1000,
    SK_WS_GOING_AWAY = 1001,
    SK_WS_PROTOCOL_ERROR = 1002,
    SK_WS_UNSUPPORTED = 1003,
    SK_WS_INVALID_DATA = 1007,
    SK_WS_POLICY = 1008,
    SK_WS_TOO_BIG = 1009,
};

/* One frame header. */
struct sk_ws_frame {
    int fin;         /* 1: the last frame of its message */
    int opcode;      /* SK_WS_* */
    int masked;      /* the mask bit was set (a client's frames must be) */
    uint8_t mask[4]; /* the masking key when masked */
    uint64_t len;    /* payload length */
    size_t head;     /* header length: the payload starts at p + head */
};

/* Parse the frame header at p[0..n). Returns the header length (2..14) when
 * the header is complete (its payload may not have arrived yet), 0 when more
 * bytes are needed, or minus a close code for a frame that can never be
 * valid: -SK_WS_PROTOCOL_ERROR for reserved bits set (no extension is
 * negotiated), a reserved opcode, a fragmented control frame or one longer
 * than 125 bytes, an extended length not in its shortest form, or a 64-bit
 * length with its top bit set. Masking is reported, not judged. */
ssize_t sk_ws_frame_parse(const uint8_t *p, size_t n, struct sk_ws_frame *f);

/* Write an unmasked (server) frame header for a payload of len bytes into
 * out (at least SK_WS_HEAD_MAX bytes). Returns its length (2, 4 or 10). */
size_t sk_ws_frame_header(uint8_t *out, int fin, int opcode, uint64_t len);

/* XOR p[0..n) with the masking key, p[0] being byte `offset` of the
 * payload (so a payload may be unmasked in pieces). */
void sk_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* Is p[0..n) well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * past U+10FFFF, no truncated sequence)? 1 or 0. */
int sk_ws_utf8_valid(const uint8_t *p, size_t n);

/* The Sec-WebSocket-Accept value for the client's Sec-WebSocket-Key
 * key[0..n): base64(SHA-1(key + SK_WS_GUID)), written to out (at least
 * SK_WS_ACCEPT_LEN + 1 bytes, NUL-terminated). Returns 0, or -EINVAL when
 * the key is not the base64 of 16 bytes (24 characters). */
int sk_ws_accept(const char *key, size_t n, char *out);

#endif
