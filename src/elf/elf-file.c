/* SPDX-License-Identifier: MIT */
/* elf-file.c -- symbols, sections and segments of an ELF file, via libelf */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf/elf-file.h"
#include "pmpeek/error.h"

struct pm_elf {
  int fd;
  Elf *elf;
  GElf_Ehdr ehdr;
  size_t shstrndx;
};

int
pm__elf_open(struct pm_elf **out, const char *path)
{
  struct pm_elf *e;

  if (elf_version(EV_CURRENT) == EV_NONE)
    return PM_EELF;
  e = calloc(1, sizeof(*e));
  if (!e)
    return -ENOMEM;
  e->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (e->fd < 0) {
    int err = -errno;
    free(e);
    return err;
  }
  e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
  if (!e->elf || elf_kind(e->elf) != ELF_K_ELF ||
      gelf_getclass(e->elf) != ELFCLASS64 || !gelf_getehdr(e->elf, &e->ehdr) ||
      elf_getshdrstrndx(e->elf, &e->shstrndx) != 0) {
    pm__elf_free(e);
    return PM_EELF;
  }
  *out = e;
  return 0;
}

void
pm__elf_free(struct pm_elf *e)
{
  if (!e)
    return;
  if (e->elf)
    elf_end(e->elf);
  if (e->fd >= 0)
    close(e->fd);
  free(e);
}

int
pm__elf_type(const struct pm_elf *e)
{
  return e->ehdr.e_type;
}

static int
lookup_in(struct pm_elf *e, Elf64_Word type, const char *name,
          uint64_t *value, uint64_t *size)
{
  Elf_Scn *scn = NULL;

  while ((scn = elf_nextscn(e->elf, scn))) {
    GElf_Shdr sh;
    Elf_Data *data;
    size_t n;

    if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
      continue;
    data = elf_getdata(scn, NULL);
    if (!data)
      continue;
    n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; i++) {
      GElf_Sym sym;
      const char *s;
      if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
        continue;
      s = elf_strptr(e->elf, sh.sh_link, sym.st_name);
      if (s && strcmp(s, name) == 0) {
        *value = sym.st_value;
        if (size)
          *size = sym.st_size;
        return 0;
      }
    }
  }
  return PM_ENOSYM;
}

int
pm__elf_symbol(struct pm_elf *e, const char *name, uint64_t *value,
               uint64_t *size)
{
  if (lookup_in(e, SHT_DYNSYM, name, value, size) == 0)
    return 0;
  return lookup_in(e, SHT_SYMTAB, name, value, size);
}

int
pm__elf_section(struct pm_elf *e, const char *name, uint64_t *addr,
                uint64_t *size)
{
  Elf_Scn *scn = NULL;

  while ((scn = elf_nextscn(e->elf, scn))) {
    GElf_Shdr sh;
    const char *s;
    if (!gelf_getshdr(scn, &sh))
      continue;
    s = elf_strptr(e->elf, e->shstrndx, sh.sh_name);
    if (s && strcmp(s, name) == 0) {
      *addr = sh.sh_addr;
      *size = sh.sh_size;
      return 0;
    }
  }
  return PM_ENOSYM;
}

int
pm__elf_load_bias(struct pm_elf *e, uint64_t start, uint64_t offset,
                  uint64_t *bias)
{
  size_t n;
  int found = 0;

  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    uint64_t page_off;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
      continue;
    /* The kernel maps from p_offset rounded down to a page. */
    page_off = ph.p_offset - (ph.p_vaddr & 0xfff);
    if ((ph.p_vaddr & 0xfff) != (ph.p_offset & 0xfff))
      continue;
    /*
     * A file page holding the end of one segment and the start of the next
     * is mapped twice; a mapping that starts on it is the later segment's
     * (the earlier one's mapping starts at its own first page).
     */
    if (offset >= page_off && offset < ph.p_offset + ph.p_filesz) {
      *bias = start + (ph.p_offset - offset) - ph.p_vaddr;
      found = 1;
    }
  }
  return found ? 0 : PM_EELF;
}

int
pm__elf_read_vaddr(struct pm_elf *e, uint64_t vaddr, void *buf, size_t len)
{
  size_t n, fsize;
  char *image = elf_rawfile(e->elf, &fsize);

  if (!image || elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
      continue;
    if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr <= ph.p_filesz &&
        len <= ph.p_filesz - (vaddr - ph.p_vaddr)) {
      uint64_t off = ph.p_offset + (vaddr - ph.p_vaddr);
      if (off > fsize || len > fsize - off)
        return PM_EELF;
      memcpy(buf, image + off, len);
      return 0;
    }
  }
  return -EFAULT;
}

int
pm__elf_find_bytes(struct pm_elf *e, const void *needle, size_t len,
                   uint64_t *vaddr)
{
  size_t n, fsize;
  char *image = elf_rawfile(e->elf, &fsize);

  if (!image || elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    const char *hit;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
        ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset)
      continue;
    hit = memmem(image + ph.p_offset, ph.p_filesz, needle, len);
    if (hit) {
      *vaddr = ph.p_vaddr + (uint64_t)(hit - (image + ph.p_offset));
      return 0;
    }
  }
  return PM_ENOSYM;
}

int
pm__elf_writable_range(struct pm_elf *e, uint64_t *lo, uint64_t *hi)
{
  size_t n;
  int found = 0;

  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
        !(ph.p_flags & PF_W) || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
      continue;
    if (!found || ph.p_vaddr < *lo)
      *lo = ph.p_vaddr;
    if (!found || ph.p_vaddr + ph.p_memsz > *hi)
      *hi = ph.p_vaddr + ph.p_memsz;
    found = 1;
  }
  return found ? 0 : PM_EELF;
}

int
pm__elf_build_id(struct pm_elf *e, char *buf, size_t len)
{
  size_t n;

  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    Elf_Data *data;
    GElf_Nhdr nh;
    size_t off = 0, name_off, desc_off;

    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_NOTE)
      continue;
    data = elf_getdata_rawchunk(e->elf, (int64_t)ph.p_offset, ph.p_filesz,
                                ELF_T_NHDR);
    if (!data)
      continue;
    while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
      const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;
      if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
          memcmp((const char *)data->d_buf + name_off, "GNU", 4) != 0)
        continue;
      if (len < nh.n_descsz * 2 + 1)
        return -ENAMETOOLONG;
      for (size_t k = 0; k < nh.n_descsz; k++) {
        static const char hex[] = "0123456789abcdef";
        buf[2 * k] = hex[d[k] >> 4];
        buf[2 * k + 1] = hex[d[k] & 15];
      }
      buf[nh.n_descsz * 2] = '\0';
      return 0;
    }
  }
  return PM_ENOSYM;
}
