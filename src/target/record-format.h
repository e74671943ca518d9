/* SPDX-License-Identifier: MIT */
/* record-format.h -- the layout of a pmpeek recording, for writer and reader */
#ifndef PM_RECORD_FORMAT_H
#define PM_RECORD_FORMAT_H

/*
 * A recording is the 8-byte magic, then records until the end of the
 * file, each a little-endian u32 type, a u32 payload length and the
 * payload.  Integers are little-endian; text has no NUL and runs to the
 * end of its payload.
 *
 *   TARGET  i32 pid, then the executable's path (empty: unknown)
 *   REGION  u64 start, end, offset, inode, u32 prot (PM_PROT_*), path
 *           (empty: anonymous); sorted by start, not overlapping
 *   MEMORY  u64 address, then the bytes there; sorted, not overlapping
 *   FILE    the path of a mapped ELF file, as its regions name it; the
 *           ANSWERs that follow are about it
 *   ANSWER  u32 question (enum pm_elf_question), i32 error (0 or
 *           negative), u32 key length, the key, then the answer
 *
 * Memory the walk did not read is absent: reading it fails with -EFAULT,
 * as reading an unmapped address does.  The last byte of the magic is the
 * format's version; a reader refuses any other.
 */
#define PM_RECORD_MAGIC "PMPKREC\001"
#define PM_RECORD_MAGIC_LEN 8

enum {
  PM_REC_TARGET = 1,
  PM_REC_REGION = 2,
  PM_REC_MEMORY = 3,
  PM_REC_FILE = 4,
  PM_REC_ANSWER = 5,
};

/* A writer splits memory into records of at most this many bytes. */
#define PM_RECORD_MEMORY_MAX ((size_t)16 << 20)

#endif
