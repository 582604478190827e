/*
 * chat_page.c - the chat's built-in web page (src/service/chat_page.html:
 * HTML, CSS and JS in one file, no external asset) embedded in the binary
 * with the assembler's .incbin, so the page is edited as a page and needs no
 * generator. The Makefile makes this object depend on the HTML file. Served
 * by chat_ws.c at "GET /" on the chat port.
 */
#include "chat_ws.h"

#include <stddef.h>

__asm__(".section .rodata\n"
        ".global sk__chat_page\n"
        ".type sk__chat_page, @object\n"
        ".balign 16\n"
        "sk__chat_page:\n"
        ".incbin \"src/service/chat_page.html\"\n"
        "sk__chat_page_end:\n"
        ".byte 0\n"
        ".size sk__chat_page, . - sk__chat_page\n"
        ".balign 8\n"
        ".global sk__chat_page_len\n"
        ".type sk__chat_page_len, @object\n"
        "sk__chat_page_len:\n"
        ".quad sk__chat_page_end - sk__chat_page\n"
        ".size sk__chat_page_len, 8\n"
        ".previous\n");
