/* SPDX-License-Identifier: MIT */
/* utf8.c -- text from the target made valid UTF-8, for every layer */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "pmpeek/error.h"
#include "utf8.h"

/* Whether c is in [lo, hi], a part of the continuation bytes 0x80-0xbf. */
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

int
pm__utf8_put(char *buf, size_t len, size_t *pos, uint32_t c)
{
  char tmp[8];
  size_t n;

  if (c < 0x80)
    tmp[0] = (char)c, n = 1;
  else if (c < 0x800)
    tmp[0] = (char)(0xc0 | (c >> 6)), tmp[1] = (char)(0x80 | (c & 0x3f)), n = 2;
  else if (c >= 0xd800 && c <= 0xdfff)
    n = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)c);
  else if (c < 0x10000)
    tmp[0] = (char)(0xe0 | (c >> 12)),
    tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
    tmp[2] = (char)(0x80 | (c & 0x3f)), n = 3;
  else if (c < 0x110000)
    tmp[0] = (char)(0xf0 | (c >> 18)),
    tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
    tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f)),
    tmp[3] = (char)(0x80 | (c & 0x3f)), n = 4;
  else
    return PM_ECORRUPT;
  if (*pos + n >= len)
    return 1; /* full */
  memcpy(buf + *pos, tmp, n);
  *pos += n;
  return 0;
}

void
pm__utf8_trim(char *s)
{
  size_t n = strlen(s), i = n, need;
  unsigned char lead;

  while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
    i--;
  if (i == 0)
    return;
  lead = (unsigned char)s[i - 1];
  if (lead >= 0xf0)
    need = 4;
  else if (lead >= 0xe0)
    need = 3;
  else if (lead >= 0xc0)
    need = 2;
  else
    need = 1;
  if (n - (i - 1) < need)
    s[i - 1] = '\0';
}

size_t
pm__utf8_shown(const char *s, int *shown)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t n = pm__utf8_char(u);

  *shown = n > 0 && u[0] >= 0x20 && u[0] != 0x7f
           && !(n == 2 && u[0] == 0xc2 && u[1] < 0xa0);
  return n ? n : 1;
}

void
pm__utf8_write_shown(FILE *f, const char *s, int html)
{
  int shown;

  while (*s) {
    size_t n = pm__utf8_shown(s, &shown);
    if (!shown)
      for (size_t i = 0; i < n; i++)
        fprintf(f, "\\x%02x", (unsigned char)s[i]);
    else if (html && *s == '<')
      fputs("&lt;", f);
    else if (html && *s == '>')
      fputs("&gt;", f);
    else if (html && *s == '&')
      fputs("&amp;", f);
    else if (html && *s == '"')
      fputs("&quot;", f);
    else
      fwrite(s, 1, n, f);
    s += n;
  }
}
