/* SPDX-License-Identifier: MIT */
/* error.c -- messages and exit statuses for pmpeek's error codes */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "pmpeek/error.h"

const char *
pm_strerror(int err)
{
  switch (err) {
#define PM__ERR_MSG(name, value, status, msg)                                  \
  case value:                                                                  \
    return msg;
    PM_ERRNO_MAP(PM__ERR_MSG)
#undef PM__ERR_MSG
  case 0:
    return "success";
  }
  if (err < 0 && err > -4000)
    return strerror(-err);
  return "unknown error";
}

int
pm_exit_status(int err)
{
  switch (err) {
  case 0:
    return 0;
#define PM__ERR_STATUS(name, value, status, msg)                               \
  case value:                                                                  \
    return status;
    PM_ERRNO_MAP(PM__ERR_STATUS)
#undef PM__ERR_STATUS
  case -ESRCH:
    return 3;
  case -EPERM:
  case -EACCES:
    return 4;
  case -EFAULT:
  case -EIO:
    return 8;
  }
  return 9;
}
