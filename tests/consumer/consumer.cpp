// consumer.cpp: the public headers must compile as C++.
#include <eddy.h>
#include <cstdio>

static int main_task(void *) { return eddy_yield(); }

int main() {
  int r = eddy_run(main_task, nullptr);
  std::printf("c++ consumer: %s %d\n", eddy_version_string(), r);
  return r;
}
