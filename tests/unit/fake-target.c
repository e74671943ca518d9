/* SPDX-License-Identifier: MIT */
/* fake-target.c -- an in-memory pm_target backend for unit tests */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake-target.h"

static int
fake_read(void *ctx, pm_addr_t addr, void *buf, size_t len)
{
  struct fake_target *f = ctx;
  struct pm_maps maps;
  const struct pm_region *r;

  f->reads++;
  f->bytes += len;
  if (f->fail_read)
    return f->fail_read;
  /* The generic layer promises one readable region per call. */
  pm_maps_init(&maps);
  ck_assert_int_eq(pm_maps_parse(&maps, f->maps_text), 0);
  r = pm_maps_find(&maps, addr);
  if (!r || !(r->prot & PM_PROT_READ) || len > r->end - addr)
    f->outside++;
  pm_maps_release(&maps);
  if (addr < f->base || addr - f->base > f->len
      || len > f->len - (addr - f->base))
    return -EFAULT;
  memcpy(buf, f->mem + (addr - f->base), len);
  return 0;
}

static int
fake_pause(void *ctx)
{
  struct fake_target *f = ctx;

  f->pauses++;
  return f->pause_err;
}

static int
fake_resume(void *ctx)
{
  struct fake_target *f = ctx;

  f->resumes++;
  return 0;
}

static int
fake_refresh_maps(void *ctx, struct pm_maps *maps)
{
  struct fake_target *f = ctx;

  f->refreshes++;
  return pm_maps_parse(maps, f->maps_text);
}

static int
fake_region_file(void *ctx, const struct pm_region *r, char *buf, size_t len)
{
  (void)ctx;
  if (strlen(r->path) + 1 > len)
    return -ENAMETOOLONG;
  strcpy(buf, r->path);
  return 0;
}

static void
fake_close(void *ctx)
{
  struct fake_target *f = ctx;

  f->closes++;
}

const struct pm_target_ops fake_target_ops = {
  .read = fake_read,
  .pause = fake_pause,
  .resume = fake_resume,
  .refresh_maps = fake_refresh_maps,
  .region_file = fake_region_file,
  .close = fake_close,
};

void
fake_init(struct fake_target *f, pm_addr_t base, size_t len,
          const char *maps_text)
{
  memset(f, 0, sizeof(*f));
  f->base = base;
  f->len = len;
  f->mem = calloc(1, len);
  ck_assert_ptr_nonnull(f->mem);
  f->maps_text = maps_text;
  f->next_free = base + 0x100;
}

void
fake_release(struct fake_target *f)
{
  free(f->mem);
  f->mem = NULL;
}

struct pm_target *
fake_open(struct fake_target *f)
{
  struct pm_target *t = NULL;

  ck_assert_int_eq(pm__target_new(&t, &fake_target_ops, f, 4242), 0);
  ck_assert_ptr_nonnull(t);
  return t;
}

unsigned char *
fake_at(struct fake_target *f, pm_addr_t addr, size_t len)
{
  ck_assert_uint_ge(addr, f->base);
  ck_assert_uint_le(addr - f->base + len, f->len);
  return f->mem + (addr - f->base);
}

void
fake_put_u64(struct fake_target *f, pm_addr_t addr, uint64_t v)
{
  memcpy(fake_at(f, addr, 8), &v, 8);
}

void
fake_put_u32(struct fake_target *f, pm_addr_t addr, uint32_t v)
{
  memcpy(fake_at(f, addr, 4), &v, 4);
}

void
fake_put_u8(struct fake_target *f, pm_addr_t addr, uint8_t v)
{
  *fake_at(f, addr, 1) = v;
}

pm_addr_t
fake_alloc(struct fake_target *f, size_t size, size_t pre)
{
  pm_addr_t a = f->next_free + pre;

  f->next_free = (a + size + 15) & ~(pm_addr_t)15;
  ck_assert_uint_le(f->next_free, f->base + f->len);
  return a;
}

void
fake_put(struct fake_target *f, pm_addr_t addr, int64_t off, uint64_t v)
{
  ck_assert_int_ge(off, 0);
  fake_put_u64(f, addr + (pm_addr_t)off, v);
}

pm_addr_t
fake_cstring(struct fake_target *f, const char *s)
{
  pm_addr_t a = fake_alloc(f, strlen(s) + 1, 0);

  memcpy(fake_at(f, a, strlen(s) + 1), s, strlen(s) + 1);
  return a;
}

pm_addr_t
fake_object(struct fake_target *f, const struct pm_layout *L, pm_addr_t type,
            size_t size, size_t pre)
{
  pm_addr_t o = fake_alloc(f, size, pre);

  fake_put(f, o, L->object_refcnt, 1);
  fake_put(f, o, L->object_type, type);
  return o;
}

pm_addr_t
fake_ascii(struct fake_target *f, const struct pm_layout *L, pm_addr_t str_type,
           const char *s)
{
  size_t n = strlen(s);
  pm_addr_t o = fake_object(f, L, str_type, (size_t)L->ascii_size + n + 1, 0);

  fake_put(f, o, L->ascii_length, n);
  fake_put_u32(f, o + (pm_addr_t)L->ascii_state,
               FAKE_STR_KIND(1) | FAKE_STR_COMPACT | FAKE_STR_ASCII
                   | FAKE_STR_READY);
  memcpy(fake_at(f, o + (pm_addr_t)L->ascii_size, n), s, n);
  return o;
}

void
fake_type_fields(struct fake_target *f, const struct pm_layout *L, pm_addr_t t,
                 const char *tp_name, uint64_t flags, int64_t basicsize,
                 int64_t itemsize, pm_addr_t base)
{
  fake_put(f, t, L->type_name, fake_cstring(f, tp_name));
  fake_put(f, t, L->type_flags, flags);
  fake_put(f, t, L->type_basicsize, (uint64_t)basicsize);
  fake_put(f, t, L->type_itemsize, (uint64_t)itemsize);
  fake_put(f, t, L->type_base, base);
}
