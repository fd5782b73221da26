/* eddy/version.h: compile-time and run-time version numbers.
 * Versions with the same major number are ABI compatible; the shared
 * library's SONAME carries the major number. */
#ifndef EDDY_VERSION_H
#define EDDY_VERSION_H

#include "common.h"

#define EDDY_VERSION_MAJOR 0
#define EDDY_VERSION_MINOR 1
#define EDDY_VERSION_PATCH 0
#define EDDY_VERSION_HEX \
  ((EDDY_VERSION_MAJOR << 16) | (EDDY_VERSION_MINOR << 8) | EDDY_VERSION_PATCH)
#define EDDY_VERSION_STRING "0.1.0"

EDDY_BEGIN_DECLS
/* EDDY_VERSION_HEX of the library actually linked. */
EDDY_API unsigned eddy_version(void);
EDDY_API const char *eddy_version_string(void);
EDDY_END_DECLS
#endif
