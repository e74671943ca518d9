/* SPDX-License-Identifier: MIT */
/* elf-file.h -- symbols, sections and segments of an ELF file on disk */
#ifndef PM_ELF_FILE_H
#define PM_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>

struct pm_elf;

/*
 * Opens the ELF file at path for reading.  Returns -errno from open(),
 * PM_EELF when it is not a well-formed 64-bit ELF file.
 */
int pm__elf_open(struct pm_elf **out, const char *path);

/* Closes the file.  NULL does nothing. */
void pm__elf_free(struct pm_elf *e);

/* ET_EXEC, ET_DYN or ET_CORE from the ELF header. */
int pm__elf_type(const struct pm_elf *e);

/*
 * Looks name up in .dynsym, then .symtab: its link-time value and size.
 * Returns PM_ENOSYM when neither table defines it.
 */
int pm__elf_symbol(struct pm_elf *e, const char *name, uint64_t *value,
                   uint64_t *size);

/* Link-time address and size of the section called name, or PM_ENOSYM. */
int pm__elf_section(struct pm_elf *e, const char *name, uint64_t *addr,
                    uint64_t *size);

/*
 * The load bias of the file when its bytes at file offset `offset` are
 * mapped at `start` (one line of /proc/PID/maps): runtime address minus
 * link-time address.  PM_EELF when no PT_LOAD covers offset.
 */
int pm__elf_load_bias(struct pm_elf *e, uint64_t start, uint64_t offset,
                      uint64_t *bias);

/*
 * Copies len bytes of the file's initialised contents at link-time address
 * vaddr (a PT_LOAD's file bytes).  -EFAULT when not backed by the file.
 */
int pm__elf_read_vaddr(struct pm_elf *e, uint64_t vaddr, void *buf,
                       size_t len);

/*
 * Scans the file's PT_LOAD data for the first occurrence of needle and
 * gives its link-time address.  PM_ENOSYM when absent.
 */
int pm__elf_find_bytes(struct pm_elf *e, const void *needle, size_t len,
                       uint64_t *vaddr);

/*
 * The link-time address range [lo, hi) of the file's writable PT_LOAD
 * segments (.data and .bss), or PM_EELF when it has none.
 */
int pm__elf_writable_range(struct pm_elf *e, uint64_t *lo, uint64_t *hi);

/* The GNU build-id as lowercase hex into buf, or PM_ENOSYM. */
int pm__elf_build_id(struct pm_elf *e, char *buf, size_t len);

#endif
