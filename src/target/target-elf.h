/* SPDX-License-Identifier: MIT */
/* target-elf.h -- the ELF files a target maps, for the layers above */
#ifndef PM_TARGET_ELF_H
#define PM_TARGET_ELF_H

#include "elf/elf-file.h"
#include "pmpeek/target.h"

/*
 * Opens the ELF file behind region r of t for the pm__elf_* queries: the
 * file on disk (through pm_target_region_file()) for a live process or a
 * core, the recorded answers for a replay.  While t records, every answer
 * the file gives is recorded too, so that a replay answers alike.  t keeps
 * what it opened (up to eight files, PM_TARGET_ELF_KEPT; not a clone),
 * with the symbols indexed so far, and hands it out again for the same
 * mapping (path, place, offset, device, inode) until t is freed.  Let go
 * of each with pm__elf_free(); it does not outlive t.  Returns -ENOENT for
 * an anonymous region or a file the recording does not hold, else what
 * pm__elf_open() returns.  Main thread only.
 */
int pm__target_elf_open(struct pm_target *t, const struct pm_region *r,
                        struct pm_elf **out);

#endif
