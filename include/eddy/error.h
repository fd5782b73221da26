/* eddy/error.h: how eddy reports outcomes.
 *
 * Every eddy function that can fail returns an int: 0 on success, a
 * negative errno-style code on failure (-ENOMEM, -ECANCELED, -ETIMEDOUT...),
 * never -1 with errno set: another task may run, and overwrite errno,
 * across any suspension. Codes eddy adds to the errno set live below
 * EDDY_ERRBASE. The positive EDDY_DONE is not an error: it is the end of
 * a stream (Python's StopAsyncIteration). */
#ifndef EDDY_ERROR_H
#define EDDY_ERROR_H

#include "common.h"

#include <errno.h> /* callers compare with -ECANCELED, -ETIMEDOUT, ... */

#define EDDY_DONE 1  /* end of stream; never an errno */
#define EDDY_BROKE 2 /* FOR status: the loop was left before the end */

#define EDDY_ERRBASE (-10000)
#define EDDY_ENOTTASK (EDDY_ERRBASE - 1)  /* blocking call made outside a task */
#define EDDY_ENOGUARD (EDDY_ERRBASE - 2)  /* no stack guard could be installed */
#define EDDY_ESTACK (EDDY_ERRBASE - 3)    /* stack size out of range */
#define EDDY_ESCOPE (EDDY_ERRBASE - 4)    /* yield across a scope the generator opened */
#define EDDY_EMULTI (EDDY_ERRBASE - 5)    /* several children failed; enumerate them */
#define EDDY_ECLOSED (EDDY_ERRBASE - 6)   /* object already closed / finished */
#define EDDY_ECLOSING (EDDY_ERRBASE - 7)  /* generator is being closed: return now */
#define EDDY_EPROTOCOL (EDDY_ERRBASE - 8) /* an iterator/generator broke the protocol */
#define EDDY_ELAST (EDDY_ERRBASE - 8)

EDDY_BEGIN_DECLS
/* A static English description of any code eddy returns (errno or eddy's
 * own); never NULL, thread-safe. */
EDDY_API const char *eddy_strerror(int code);
/* The symbolic name ("ECANCELED", "EDDY_DONE", ...); "EUNKNOWN" if none. */
EDDY_API const char *eddy_errname(int code);
EDDY_END_DECLS
#endif
