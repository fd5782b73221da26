/* R65: jumping into a WITH scope must not compile: the guard's cleanup
 * would run on an uninitialised guard. gcc needs -Wjump-misses-init (the
 * build turns it on, with -Werror); clang rejects it by default. */
#include <eddy.h>

int jump_in(eddy_lock *l, int skip);
int jump_in(eddy_lock *l, int skip) {
  if (skip) goto inside;
  {
    EDDY_WITH(g, &eddy_lock_cm, l);
  inside:
    return 0;
  }
}
