/* SPDX-License-Identifier: MIT */
/* elf-core.h -- segments and notes of an ELF core file, validated */
#ifndef PM_ELF_CORE_H
#define PM_ELF_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One PT_LOAD of the core: the process memory [vaddr, vaddr + memsz), of
 * which only the first filesz bytes are in the core, at offset.  The
 * kernel and gdb leave out pages they expect to find in the mapped file
 * (filesz 0, or one page for the ELF header of a mapped ELF file).
 */
struct pm_core_segment {
  uint64_t vaddr;
  uint64_t memsz;
  uint64_t offset;
  uint64_t filesz;
  unsigned flags; /* PF_R, PF_W, PF_X */
};

/*
 * One entry of the NT_FILE note: [start, end) maps the file path from
 * byte offset on.  path points into the core object.
 */
struct pm_core_mapping {
  uint64_t start;
  uint64_t end;
  uint64_t offset;
  const char *path;
};

/*
 * A parsed core.  Both arrays are sorted by address and free of overlaps,
 * so that an address maps to at most one entry of each (binary search).
 */
struct pm_elf_core {
  int fd;
  uint64_t file_size;   /* of the core, when it was opened */
  uint64_t needed_size; /* what its headers describe; > file_size: cut */
  struct pm_core_segment *segs;
  size_t nsegs;
  struct pm_core_mapping *maps;
  size_t nmaps;
  char *names;       /* storage of the mapping paths */
  pid_t pid;         /* NT_PRPSINFO, else the first NT_PRSTATUS; 0 */
  int signal;        /* cursig of the first NT_PRSTATUS (0: gcore) */
  char fname[17];    /* NT_PRPSINFO's command name, may be empty */
  uint64_t at_phdr;  /* NT_AUXV: the executable's program headers; 0 */
  uint64_t at_entry; /* NT_AUXV: its entry point; 0 */
};

/*
 * Opens and checks the core at path: ELF header, program headers, every
 * PT_LOAD and note against the file's size, NT_FILE entry by entry.
 * Segments that run past the end of a cut file are clipped to it (and
 * needed_size tells by how much).  Returns -errno from open(),
 * PM_ENOTCORE (not ELF, or an ELF file but not a core; empty files too),
 * PM_ECORE (a corrupt or unsupported core), -ENOMEM.  When why is not
 * NULL it receives on failure a short lowercase description for messages.
 */
int pm__core_open(struct pm_elf_core **out, const char *path, char *why,
                  size_t whylen);

/* Closes the core.  NULL does nothing. */
void pm__core_free(struct pm_elf_core *c);

/* The PT_LOAD whose [vaddr, vaddr + memsz) holds addr, or NULL. */
const struct pm_core_segment *pm__core_segment(const struct pm_elf_core *c,
                                               uint64_t addr);

/*
 * The first PT_LOAD that starts above addr, or NULL: where the next core
 * bytes may begin for an address that no segment holds.
 */
const struct pm_core_segment *
pm__core_segment_after(const struct pm_elf_core *c, uint64_t addr);

/* The NT_FILE entry whose [start, end) holds addr, or NULL. */
const struct pm_core_mapping *pm__core_mapping(const struct pm_elf_core *c,
                                               uint64_t addr);

/*
 * Copies the len bytes of memory at addr that the core itself holds (the
 * first filesz bytes of one segment).  -EFAULT when any of them is not in
 * the core, PM_ECORE when the file is shorter than when it was opened.
 */
int pm__core_read(const struct pm_elf_core *c, uint64_t addr, void *buf,
                  size_t len);

/*
 * The GNU build-id of an ELF file from an image of its first bytes (as a
 * core keeps the first page of a mapped ELF file), as lowercase hex into
 * buf.  Only notes that lie inside the image are seen.  PM_ENOSYM when it
 * has none there, PM_EELF when image is not the start of a 64-bit ELF
 * file, -ENAMETOOLONG when buf is too small.
 */
int pm__elf_image_build_id(const void *image, size_t len, char *buf,
                           size_t buflen);

#endif
