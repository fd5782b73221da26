// consumer.cpp: the public headers must compile as C++, macros included
// (built with -Wall -Wextra -Werror: a macro that only C accepts fails).
#include <eddy.h>
#include <cstdio>

static int main_task(void *) {
  eddy_lock lock;
  eddy_lock_init(&lock);
  {
    EDDY_WITH(g, &eddy_lock_cm, &lock);
    if (g.status) return g.status;
    if (!eddy_lock_held(&lock)) return -1;
  }
  int rc = 0;
  EDDY_WITH_BLOCK(h, &eddy_lock_cm, &lock, &rc) {
    if (!eddy_lock_held(&lock)) return -1;
  }
  if (rc || eddy_lock_held(&lock)) return -1;
  return eddy_yield();
}

int main() {
  int r = eddy_run(main_task, nullptr);
  std::printf("c++ consumer: %s %d\n", eddy_version_string(), r);
  return r;
}
