/* consumer.c: a program built against the *installed* eddy, the way a user
 * would build it (pkg-config or find_package). */
#include <eddy.h>
#include <stdio.h>

static int child(void *arg) {
  eddy_sleep(EDDY_MSEC(1));
  return *(int *)arg * 2;
}

static int main_task(void *arg) {
  (void)arg;
  int v = 21, r = 0;
  eddy_task *t;
  if (eddy_spawn(&t, child, &v) || eddy_join(t, &r)) return 1;
  return r == 42 ? 0 : 1;
}

int main(void) {
  int r = eddy_run(main_task, NULL);
  printf("consumer: eddy %s, result %d\n", eddy_version_string(), r);
  return r;
}
