/* version.c: the version of the library actually linked, for programs that
 * compare it with the EDDY_VERSION_* macros they were compiled against. */
#include "internal.h"

EDDY_API unsigned eddy_version(void) { return EDDY_VERSION_HEX; }
EDDY_API const char *eddy_version_string(void) { return EDDY_VERSION_STRING; }
