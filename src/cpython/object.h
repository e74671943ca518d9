/* SPDX-License-Identifier: MIT */
/* object.h -- reading type objects, names and sys.getsizeof() from outside */
#ifndef PM_OBJECT_H
#define PM_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/python-private.h"

/* Which __sizeof__ implementation applies to instances of a type. */
enum pm_sizer {
  PM_SIZE_DEFAULT,   /* object.__sizeof__: basicsize + itemsize * ob_size */
  PM_SIZE_LIST,
  PM_SIZE_DICT,
  PM_SIZE_SET,
  PM_SIZE_TYPE,
  PM_SIZE_STR,
  PM_SIZE_INT,
  PM_SIZE_BYTEARRAY,
};

#define PM_KIND_NAME_MAX 256

struct pm_type_info {
  uint64_t flags;
  int64_t basicsize;
  int64_t itemsize;
  enum pm_sizer sizer;
  int base; /* nearest enum pm_builtin in the tp_base chain, or -1 */
  char name[PM_KIND_NAME_MAX]; /* as Python prints the type, UTF-8 */
};

/*
 * Reads the type object at type: flags, sizes, which sizer applies, and
 * its name (builtins bare, else module.qualname).  Returns PM_ECORRUPT when
 * type does not look like a type object (its own type is not a type).
 */
int pm__type_read(struct pm_python *py, pm_addr_t type,
                  struct pm_type_info *out);

/*
 * What sys.getsizeof(obj) returns for obj of type ti: __sizeof__ by the
 * type's sizer plus the pre-header that getsizeof adds.
 */
int pm__object_size(struct pm_python *py, const struct pm_type_info *ti,
                    pm_addr_t obj, uint64_t *size);

/*
 * Copies the str object at str into buf as UTF-8, NUL-terminated and cut
 * at len - 1 bytes.  PM_ECORRUPT when it is not a plausible str.
 */
int pm__str_read(struct pm_python *py, pm_addr_t str, char *buf, size_t len);

/*
 * Looks up the str key in the dict at dict by comparing key text; *value is
 * 0 when absent.  Bounded by the dict's size.
 */
int pm__dict_get_str(struct pm_python *py, pm_addr_t dict, const char *key,
                     pm_addr_t *value);

#endif
