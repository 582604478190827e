/*
 * ws_frame.c - the pure parts of WebSocket (see ws.h): the frame header
 * parser and encoder, unmasking, the strict UTF-8 check and the accept key
 * of the opening handshake. No allocation, no I/O, no state between calls:
 * the chat service's browser face (chat_ws.c) resumes the parser by calling
 * it again once more bytes arrived. Fuzzed by fuzz/fuzz_ws.c.
 */
#include "sockit/ws.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

ssize_t sk_ws_frame_parse(const uint8_t *p, size_t n, struct sk_ws_frame *f)
{
    if (n < 2)
        return 0;
    memset(f, 0, sizeof(*f));
    f->fin = (p[0] & 0x80) != 0;
    f->opcode = p[0] & 0x0f;
    f->masked = (p[1] & 0x80) != 0;
    if (p[0] & 0x70)
        return -SK_WS_PROTOCOL_ERROR; /* RSV1-3: no extension was negotiated */
    switch (f->opcode) {
    case SK_WS_CONT:
    case SK_WS_TEXT:
    case SK_WS_BINARY: break;
    case SK_WS_CLOSE:
    case SK_WS_PING:
    case SK_WS_PONG:
        if (!f->fin || (p[1] & 0x7f) > 125)
            return -SK_WS_PROTOCOL_ERROR; /* control frames: whole and short */
        break;
    default: return -SK_WS_PROTOCOL_ERROR;
    }
    size_t at = 2;
    uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        at = 4;
        if (len < 126)
            return -SK_WS_PROTOCOL_ERROR; /* not the shortest form */
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        at = 10;
        if (len >> 63 || len <= 0xffff)
            return -SK_WS_PROTOCOL_ERROR;
    }
    if (f->masked) {
        if (n < at + 4)
            return 0;
        memcpy(f->mask, p + at, 4);
        at += 4;
    }
    f->len = len;
    f->head = at;
    return (ssize_t)at;
}

size_t sk_ws_frame_header(uint8_t *out, int fin, int opcode, uint64_t len)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

void sk_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    /* Eight bytes at a time (the key, turned to this offset, twice), then
     * the tail: a step of 8 keeps the key's phase. */
    uint8_t key8[8];
    for (size_t k = 0; k < 8; k++)
        key8[k] = mask[(offset + k) & 3];
    uint64_t key, v;
    memcpy(&key, key8, 8);
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        memcpy(&v, p + i, 8);
        v ^= key;
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++)
        p[i] ^= mask[(offset + i) & 3];
}

int sk_ws_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
        if (b >= 0xc2 && b <= 0xdf) {
            need = 2;
        } else if (b >= 0xe0 && b <= 0xef) {
            need = 3;
            if (b == 0xe0)
                lo = 0xa0; /* overlong */
            else if (b == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (b >= 0xf0 && b <= 0xf4) {
            need = 4;
            if (b == 0xf0)
                lo = 0x90; /* overlong */
            else if (b == 0xf4)
                hi = 0x8f; /* past U+10FFFF */
        } else {
            return 0;
        }
        if (n - i < need || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k < need; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += need;
    }
    return 1;
}

int sk_ws_accept(const char *key, size_t n, char *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    /* 16 bytes in base64: 22 characters from the alphabet, then "==". */
    if (n != 24 || key[22] != '=' || key[23] != '=')
        return -EINVAL;
    for (size_t i = 0; i < 22; i++)
        if (!memchr(b64, key[i], 64) || key[i] == '\0')
            return -EINVAL;
    char cat[24 + sizeof(SK_WS_GUID)];
    memcpy(cat, key, 24);
    memcpy(cat + 24, SK_WS_GUID, sizeof(SK_WS_GUID) - 1);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)cat, 24 + sizeof(SK_WS_GUID) - 1, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH); /* NUL-terminated */
    return 0;
}
