/* eddy/cmgen.h: generator-style managers (Python's @asynccontextmanager):
 * one function that sets up, yields the resource once into the block, and
 * tears down. It runs on its own (pooled) stack on behalf of the task that
 * enters it, so setup and teardown may block.
 *
 *   static int opened_file(eddy_cmgen *g, void *arg) {
 *     FILE *f = fopen(arg, "r");
 *     if (!f) return -errno;                 // enter fails: no block, no exit
 *     int status = eddy_cmgen_yield(g, f);   // the block runs here
 *     fclose(f);                             // teardown, sees the outcome
 *     return status;                         // propagate (0 = suppress)
 *   }
 *
 *   eddy_cmgen cm;
 *   eddy_cmgen_init(&cm, opened_file, "data.txt", 0);
 *   EDDY_WITH(g, &eddy_cmgen_cm, &cm);
 *   if (g.status) return g.status;
 *   FILE *f = g.value;
 *
 * Rules (R11): a function that returns without yielding fails enter (with
 * its error, or EDDY_EPROTOCOL if it returned 0); the block's error (or
 * -ECANCELED) is what eddy_cmgen_yield() returns; returning 0 suppresses it,
 * returning it propagates it; yielding a second time is EDDY_EPROTOCOL and
 * that yield returns EDDY_ECLOSING at once (so does every later one) until
 * the function returns. Single use. */
#ifndef EDDY_CMGEN_H
#define EDDY_CMGEN_H

#include "with.h"

EDDY_BEGIN_DECLS

typedef struct eddy_cmgen eddy_cmgen;
typedef int (*eddy_cmgen_fn)(eddy_cmgen *g, void *arg);

struct eddy_cmgen {
  /* private */
  eddy_cmgen_fn fn;
  void *arg;
  size_t stack_size;
  void *coro;      /* the generator's coroutine (on its own stack) */
  void *value;
  int state;       /* 0 new, 1 running setup, 2 yielded, 3 teardown, 4 done */
  int sent;        /* status delivered at the yield */
  int result;
  int yields;
};

EDDY_API void eddy_cmgen_init(eddy_cmgen *g, eddy_cmgen_fn fn, void *arg,
                              size_t stack_size);
EDDY_API int eddy_cmgen_yield(eddy_cmgen *g, void *value);
EDDY_API extern const eddy_cm_ops eddy_cmgen_cm;

EDDY_END_DECLS
#endif
