/* SPDX-License-Identifier: MIT */
/* utf8.h -- text from the target made valid UTF-8, for every layer */
#ifndef PM_UTF8_H
#define PM_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The length (1 to 4) of the well-formed UTF-8 character that s starts
 * with, or 0 when it starts with none (a stray continuation byte, an
 * overlong form, a surrogate, a code point past U+10FFFF, a sequence cut
 * short, or the NUL that ends s).  Reads no byte past a NUL.
 */
size_t pm__utf8_char(const unsigned char *s);

/*
 * Copies the NUL-terminated s into buf (len bytes, at least 1) as valid
 * UTF-8: each byte that starts no well-formed character is written as the
 * four characters "\xNN" (NN its value in hex), as Python's
 * backslashreplace writes a byte it cannot decode.  A name the target holds
 * need not be UTF-8: a static type's tp_name is bytes, a str may hold a lone
 * surrogate, a damaged core anything.  Cut before a character or escape that
 * would not fit; buf always ends with a NUL.  Returns 1 when s was copied whole
 * and unchanged, 0 when it was changed or cut.  4 * strlen(s) + 1 bytes always
 * hold the whole of it.
 */
int pm__utf8_clean(char *buf, size_t len, const char *s);

/*
 * Appends the code point c to buf (len bytes) at *pos as UTF-8, leaving
 * room for a NUL: 0, 1 when it does not fit (nothing written), or
 * PM_ECORRUPT past U+10FFFF.  A lone surrogate (U+D800 to U+DFFF, which a
 * str may hold and UTF-8 may not) is written as the six characters
 * "\uXXXX", as Python's backslashreplace writes it.
 */
int pm__utf8_put(char *buf, size_t len, size_t *pos, uint32_t c);

/*
 * For text a person reads (a terminal, a page): the length of the
 * character that the non-empty s starts with, 1 for a byte that starts no
 * well-formed character, and in *shown whether it may be shown as it is:
 * not a control character (C0, DEL, or C1, which a terminal may take as
 * the start of an escape sequence) and well-formed (a stray byte 0x80 to
 * 0x9f is a C1 control to a terminal in an 8-bit mode).
 */
size_t pm__utf8_shown(const char *s, int *shown);

/*
 * Writes s to f for a person to read: what pm__utf8_shown() lets through as
 * it is, the bytes of anything else as "\xNN" each (NN in hex); and, when
 * html, <, >, & and " as HTML's entities.
 */
void pm__utf8_write_shown(FILE *f, const char *s, int html);

/* Drops an incomplete UTF-8 sequence left at the end of s by a cut. */
void pm__utf8_trim(char *s);

#endif
