/* The control for R65's compile-fail test: the same file without the jump
 * compiles, so the failure above is the jump's and not a typo's. */
#include <eddy.h>

int no_jump(eddy_lock *l, int skip);
int no_jump(eddy_lock *l, int skip) {
  if (skip) return 1;
  {
    EDDY_WITH(g, &eddy_lock_cm, l);
    return g.status;
  }
}
