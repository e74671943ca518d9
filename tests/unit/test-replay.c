/* SPDX-License-Identifier: MIT */
/* test-replay.c -- recordings: written, read back, and refused when bad */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake-target.h"
#include "pmpeek/error.h"
#include "target/record-format.h"
#include "target/target-elf.h"

#define BASE 0x10000000ull

static const char maps_text[]
    = "10000000-10010000 rw-p 00000000 00:00 0\n"
      "10010000-10020000 r--p 00000000 fe:00 77     /usr/lib/libpython3.x.so\n";

/* -- a recording built by hand --------------------------------------------- */

struct buf {
  unsigned char b[8192];
  size_t n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
  ck_assert_uint_le(b->n + n, sizeof(b->b));
  memcpy(b->b + b->n, p, n);
  b->n += n;
}

static void
u32(struct buf *b, uint32_t v)
{
  put(b, &v, 4);
}

static void
u64(struct buf *b, uint64_t v)
{
  put(b, &v, 8);
}

static void
head(struct buf *b, uint32_t type, uint32_t len)
{
  u32(b, type);
  u32(b, len);
}

static void
region(struct buf *b, uint64_t start, uint64_t end, unsigned prot,
       const char *path)
{
  head(b, PM_REC_REGION, 36 + (path ? (uint32_t)strlen(path) : 0));
  u64(b, start);
  u64(b, end);
  u64(b, 0);
  u64(b, 0);
  u32(b, prot);
  if (path)
    put(b, path, strlen(path));
}

static void
memory(struct buf *b, uint64_t addr, const char *bytes)
{
  head(b, PM_REC_MEMORY, 8 + (uint32_t)strlen(bytes));
  u64(b, addr);
  put(b, bytes, strlen(bytes));
}

/* Two regions, three memory runs (two adjacent), one file with answers. */
static void
good(struct buf *b)
{
  uint64_t sym[2] = { 0x1234, 64 };

  b->n = 0;
  put(b, PM_RECORD_MAGIC, PM_RECORD_MAGIC_LEN);
  head(b, PM_REC_TARGET, 4 + 7);
  u32(b, 4242);
  put(b, "/bin/py", 7);
  region(b, 0x1000, 0x3000, PM_PROT_READ | PM_PROT_WRITE, NULL);
  region(b, 0x3000, 0x4000, PM_PROT_READ, "/lib/libpython.so");
  memory(b, 0x1000, "hello");
  memory(b, 0x1005, "world");
  memory(b, 0x2000, "far");
  head(b, PM_REC_FILE, 17);
  put(b, "/lib/libpython.so", 17);
  head(b, PM_REC_ANSWER, 12 + 10 + 16);
  u32(b, PM_ELF_Q_SYMBOL);
  u32(b, 0);
  u32(b, 10);
  put(b, "_PyRuntime", 10);
  put(b, sym, 16);
  head(b, PM_REC_ANSWER, 12 + 3);
  u32(b, PM_ELF_Q_SECTION);
  u32(b, (uint32_t)PM_ENOSYM);
  u32(b, 3);
  put(b, ".xy", 3);
}

static struct pm_target *
open_buf(const struct buf *b, int want, char *why, size_t whylen)
{
  struct pm_target *t = NULL;
  int err = pm_target_open_replay_mem(&t, b->b, b->n, why, whylen);

  ck_assert_msg(err == want, "open: %d (%s), want %d", err, why, want);
  return t;
}

START_TEST(test_reads)
{
  struct buf b;
  struct pm_target *t;
  char why[128], out[16] = { 0 };

  good(&b);
  t = open_buf(&b, 0, why, sizeof(why));
  ck_assert_int_eq(pm_target_pid(t), 4242);
  ck_assert_str_eq(pm_target_exe(t), "/bin/py");
  ck_assert_uint_eq(pm_target_maps(t)->n, 2);
  ck_assert_ptr_null(pm_target_core_info(t));
  ck_assert_int_eq(pm_target_pause(t), 0);
  /* Across two adjacent runs. */
  ck_assert_int_eq(pm_target_read(t, 0x1003, out, 5), 0);
  ck_assert_mem_eq(out, "lowor", 5);
  ck_assert_int_eq(pm_target_read(t, 0x2000, out, 3), 0);
  ck_assert_mem_eq(out, "far", 3);
  /* Not recorded, or past a run's end: as if unmapped. */
  ck_assert_int_eq(pm_target_read(t, 0x1800, out, 1), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x2001, out, 4), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x5000, out, 1), -EFAULT);
  pm_target_free(t);
}
END_TEST

START_TEST(test_answers)
{
  struct buf b;
  struct pm_target *t;
  struct pm_elf *e;
  uint64_t v = 0, s = 0;
  char why[128];

  good(&b);
  t = open_buf(&b, 0, why, sizeof(why));
  ck_assert_int_eq(pm__target_elf_open(t, &pm_target_maps(t)->v[1], &e), 0);
  ck_assert_int_eq(pm__elf_symbol(e, "_PyRuntime", &v, &s), 0);
  ck_assert_uint_eq(v, 0x1234);
  ck_assert_uint_eq(s, 64);
  ck_assert_int_eq(pm__elf_section(e, ".xy", &v, &s), PM_ENOSYM);
  /* Never asked while recording: what a file without it answers. */
  ck_assert_int_eq(pm__elf_symbol(e, "Py_Version", &v, NULL), PM_ENOSYM);
  ck_assert_int_eq(pm__elf_read_vaddr(e, 0, &v, 8), -EFAULT);
  ck_assert_int_eq(pm__elf_load_bias(e, 0, 0, &v), PM_EELF);
  ck_assert_int_eq(pm__elf_type(e), 0);
  pm__elf_free(e);
  /* An anonymous region has no file. */
  ck_assert_int_eq(pm__target_elf_open(t, &pm_target_maps(t)->v[0], &e),
                   -ENOENT);
  pm_target_free(t);
}
END_TEST

/* Each damage must be refused with a reason, never crash. */
START_TEST(test_refused)
{
  static const struct {
    size_t at; /* byte to change, or truncate to when len is 0 */
    unsigned char v;
    int cut;
    const char *why;
  } cases[] = {
    { 0, 'X', 0, "not a pmpeek recording" },
    { 7, 2, 0, "recording format 2" },
    { 10, 0, 1, "truncated" },
    { 20, 0, 1, "truncated" },
    { 8, 99, 0, "unknown record type 99" },
  };
  struct buf b;
  char why[128];

  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    good(&b);
    if (cases[i].cut)
      b.n = cases[i].at;
    else
      b.b[cases[i].at] = cases[i].v;
    why[0] = '\0';
    open_buf(&b, PM_ERECORD, why, sizeof(why));
    ck_assert_msg(strstr(why, cases[i].why), "case %zu: '%s'", i, why);
  }
}
END_TEST

START_TEST(test_refused_order)
{
  struct buf b;
  char why[128];

  /* Regions out of order. */
  b.n = 0;
  put(&b, PM_RECORD_MAGIC, PM_RECORD_MAGIC_LEN);
  region(&b, 0x3000, 0x4000, PM_PROT_READ, NULL);
  region(&b, 0x1000, 0x2000, PM_PROT_READ, NULL);
  open_buf(&b, PM_ERECORD, why, sizeof(why));
  ck_assert_ptr_nonnull(strstr(why, "out of order"));
  /* Overlapping memory. */
  b.n = 0;
  put(&b, PM_RECORD_MAGIC, PM_RECORD_MAGIC_LEN);
  region(&b, 0x1000, 0x2000, PM_PROT_READ, NULL);
  memory(&b, 0x1000, "abcd");
  memory(&b, 0x1002, "xy");
  open_buf(&b, PM_ERECORD, why, sizeof(why));
  ck_assert_ptr_nonnull(strstr(why, "overlaps"));
  /* An answer before any file. */
  b.n = 0;
  put(&b, PM_RECORD_MAGIC, PM_RECORD_MAGIC_LEN);
  head(&b, PM_REC_ANSWER, 12);
  u32(&b, PM_ELF_Q_TYPE);
  u32(&b, 0);
  u32(&b, 0);
  open_buf(&b, PM_ERECORD, why, sizeof(why));
  /* A positive error code. */
  b.n = 0;
  put(&b, PM_RECORD_MAGIC, PM_RECORD_MAGIC_LEN);
  region(&b, 0x1000, 0x2000, PM_PROT_READ, "/x");
  head(&b, PM_REC_FILE, 2);
  put(&b, "/x", 2);
  head(&b, PM_REC_ANSWER, 12);
  u32(&b, PM_ELF_Q_TYPE);
  u32(&b, 5);
  u32(&b, 0);
  open_buf(&b, PM_ERECORD, why, sizeof(why));
  /* No regions at all. */
  b.n = 0;
  put(&b, PM_RECORD_MAGIC, PM_RECORD_MAGIC_LEN);
  open_buf(&b, PM_ERECORD, why, sizeof(why));
  ck_assert_ptr_nonnull(strstr(why, "no regions"));
}
END_TEST

/* -- recording a target, then replaying it --------------------------------- */

START_TEST(test_round_trip)
{
  struct fake_target f;
  struct pm_target *t, *r;
  char path[] = "/tmp/pmpeek-test-replay-XXXXXX", why[128];
  unsigned char a[300], x[300];
  int fd;
  FILE *out;

  fake_init(&f, BASE, 0x20000, maps_text);
  for (size_t i = 0; i < f.len; i++)
    f.mem[i] = (unsigned char)(i * 7 + 3);
  t = fake_open(&f);
  ck_assert_int_eq(pm_target_record_start(t), 0);
  ck_assert_int_eq(pm_target_record_start(t), -EBUSY);
  ck_assert_int_eq(pm_target_pause(t), 0);
  /* Reads across a page and a region boundary, and a repeat. */
  ck_assert_int_eq(pm_target_read(t, BASE + 0xff0, a, 300), 0);
  ck_assert_int_eq(pm_target_read(t, BASE + 0xfff8, x, 16), 0);
  ck_assert_int_eq(pm_target_read(t, BASE + 0xff0, a, 300), 0);
  ck_assert_int_eq(pm_target_read(t, BASE + 0x30000, x, 1), -EFAULT);
  fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  out = fdopen(fd, "w");
  ck_assert_int_eq(pm_target_record_write(t, out), 0);
  ck_assert_int_eq(fclose(out), 0);
  pm_target_free(t);

  ck_assert(pm_target_is_recording(path));
  ck_assert_int_eq(pm_target_open_replay(&r, path, why, sizeof(why)), 0);
  unlink(path);
  ck_assert_int_eq(pm_target_pid(r), 4242);
  ck_assert_uint_eq(pm_target_maps(r)->n, 2);
  ck_assert_str_eq(pm_target_maps(r)->v[1].path, "/usr/lib/libpython3.x.so");
  ck_assert_int_eq(pm_target_read(r, BASE + 0xff0, x, 300), 0);
  ck_assert_mem_eq(x, a, 300);
  ck_assert_int_eq(pm_target_read(r, BASE + 0xfff8, x, 16), 0);
  ck_assert_mem_eq(x, f.mem + 0xfff8, 16);
  /* What was not read was not recorded. */
  ck_assert_int_eq(pm_target_read(r, BASE + 0x2000, x, 1), -EFAULT);
  ck_assert_int_eq(pm_target_read(r, BASE + 0xfef, x, 1), -EFAULT);
  pm_target_free(r);
  fake_release(&f);
}
END_TEST

START_TEST(test_write_needs_recording)
{
  struct fake_target f;
  struct pm_target *t;
  FILE *out = fopen("/dev/null", "w");

  fake_init(&f, BASE, 0x20000, maps_text);
  t = fake_open(&f);
  ck_assert_int_eq(pm_target_record_write(t, out), -EINVAL);
  fclose(out);
  pm_target_free(t);
  fake_release(&f);
}
END_TEST

START_TEST(test_not_a_recording)
{
  char why[128];
  struct pm_target *t;

  ck_assert(!pm_target_is_recording("/etc/hostname"));
  ck_assert(!pm_target_is_recording("/nonexistent"));
  ck_assert_int_eq(pm_target_open_replay(&t, "/nonexistent", why, sizeof(why)),
                   -ENOENT);
  ck_assert_int_eq(pm_target_open_replay(&t, "/tmp", why, sizeof(why)),
                   PM_ERECORD);
}
END_TEST

static Suite *
replay_suite(void)
{
  Suite *s = suite_create("replay");
  TCase *tc = tcase_create("read");

  tcase_add_test(tc, test_reads);
  tcase_add_test(tc, test_answers);
  tcase_add_test(tc, test_refused);
  tcase_add_test(tc, test_refused_order);
  tcase_add_test(tc, test_not_a_recording);
  suite_add_tcase(s, tc);
  tc = tcase_create("record");
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_write_needs_recording);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(replay_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
