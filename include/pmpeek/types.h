/* SPDX-License-Identifier: MIT */
/* types.h -- basic types shared by every layer */
#ifndef PMPEEK_TYPES_H
#define PMPEEK_TYPES_H

#include <stdint.h>

/*
 * An address in the target's address space.  It is a number, never a local
 * pointer: pmpeek reads the target only through pm_target_read().
 */
typedef uint64_t pm_addr_t;

#endif
