/* SPDX-License-Identifier: MIT */
/* utf8.c -- text from the target made valid UTF-8, for every layer */
#include <config.h>

#include <string.h>

#include "utf8.h"

/* Whether c is a continuation byte within [lo, hi] (10xxxxxx at most). */
static int
cont(unsigned char c, unsigned char lo, unsigned char hi)
{
  return c >= lo && c <= hi;
}

size_t
pm__utf8_char(const unsigned char *s)
{
  unsigned char c = s[0];

  /* The second byte's range is the lead's (Unicode's table 3-7). */
  if (c == 0)
    return 0;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return cont(s[1], 0x80, 0xbf) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return cont(s[1], lo, hi) && cont(s[2], 0x80, 0xbf) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return cont(s[1], lo, hi) && cont(s[2], 0x80, 0xbf)
                   && cont(s[3], 0x80, 0xbf)
               ? 4
               : 0;
  }
  return 0;
}

int
pm__utf8_clean(char *buf, size_t len, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t pos = 0;
  int same = 1;

  while (*p) {
    size_t n = pm__utf8_char(p);
    if (n) {
      if (pos + n >= len)
        break;
      memcpy(buf + pos, p, n);
      p += n;
    } else {
      if (pos + 4 >= len)
        break;
      buf[pos] = '\\';
      buf[pos + 1] = 'x';
      buf[pos + 2] = hex[*p >> 4];
      buf[pos + 3] = hex[*p & 15];
      n = 4;
      p++;
      same = 0;
    }
    pos += n;
  }
  buf[pos] = '\0';
  return same && !*p;
}
