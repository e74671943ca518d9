/* SPDX-License-Identifier: MIT */
/* elf-file.h -- symbols, sections and segments of an ELF file on disk */
#ifndef PM_ELF_FILE_H
#define PM_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>

struct pm_elf;

/*
 * Opens the ELF file at path for reading.  The file is read, never mapped,
 * so that one truncated behind our back cannot raise SIGBUS; anything but a
 * regular file (a FIFO put in a library's place) is refused without
 * blocking.  Returns -errno from open(), PM_EELF when it is not a regular,
 * well-formed 64-bit ELF file.
 */
int pm__elf_open(struct pm_elf **out, const char *path);

/*
 * The questions the functions below answer, by number.  A recording of a
 * target (target/record.c) keeps each question asked with its answer, and
 * its replay answers them again without the file.  The numbers and the
 * answers' shapes are part of the recording format: never renumber.
 */
enum pm_elf_question {
  PM_ELF_Q_TYPE = 1,       /* no key; answer u32 e_type */
  PM_ELF_Q_SYMBOL = 2,     /* key name; answer u64 value, u64 size */
  PM_ELF_Q_SECTION = 3,    /* key name; answer u64 addr, u64 size */
  PM_ELF_Q_LOAD_BIAS = 4,  /* key u64 start, u64 offset; answer u64 bias */
  PM_ELF_Q_READ_VADDR = 5, /* key u64 vaddr, u64 len; answer len bytes */
  PM_ELF_Q_FIND_BYTES = 6, /* key needle; answer u64 vaddr */
  PM_ELF_Q_WRITABLE = 7,   /* no key; answer u64 lo, u64 hi */
  PM_ELF_Q_BUILD_ID = 8,   /* no key; answer the hex text, no NUL */
};

/*
 * Answers question q with key instead of a file: returns 0 and points
 * *answer at *len bytes (valid while the pm_elf lives), or the error the
 * file gave.  Recorded answers are untrusted: an answer of the wrong
 * length is taken for PM_EELF.
 */
typedef int (*pm_elf_ask_fn)(void *arg, int q, const void *key, size_t keylen,
                             const void **answer, size_t *len);

/*
 * Told every question a file answered, with the result (answer NULL
 * unless err is 0).  For recording; it cannot fail the query.
 */
typedef void (*pm_elf_note_fn)(void *arg, int q, const void *key, size_t keylen,
                               int err, const void *answer, size_t len);

/*
 * A pm_elf with no file behind it: every function below asks `ask`.
 * Returns -ENOMEM.
 */
int pm__elf_open_answers(struct pm_elf **out, pm_elf_ask_fn ask, void *arg);

/* From now on tells `note` every question e answers from its file. */
void pm__elf_set_note(struct pm_elf *e, pm_elf_note_fn note, void *arg);

/*
 * One more holder of e: it stays open, with the symbols it has indexed,
 * until each holder has called pm__elf_free().  Returns e.  Not for two
 * threads at once: a lookup may build an index.
 */
struct pm_elf *pm__elf_hold(struct pm_elf *e);

/* Lets go of e: the last holder closes the file.  NULL does nothing. */
void pm__elf_free(struct pm_elf *e);

/*
 * What an upper layer found in e's contents and keeps with it, since it
 * holds for as long as e stays open (a target keeps its files across
 * pauses): NULL until pm__elf_set_derived().  One slot, for one user.
 */
void *pm__elf_derived(const struct pm_elf *e);

/*
 * Keeps derived with e, freed by free_fn (when not NULL) once e is closed
 * or another replaces it.
 */
void pm__elf_set_derived(struct pm_elf *e, void *derived,
                         void (*free_fn)(void *));

/* ET_EXEC, ET_DYN or ET_CORE from the ELF header (0 when unknown). */
int pm__elf_type(const struct pm_elf *e);

/*
 * Indexes both symbol tables now, as the first lookup that needs each
 * would: for a caller that has time now and little later.  Asks nothing
 * that a recording keeps (pm__elf_set_note()).
 */
void pm__elf_index(struct pm_elf *e);

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
int pm__elf_read_vaddr(struct pm_elf *e, uint64_t vaddr, void *buf, size_t len);

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
