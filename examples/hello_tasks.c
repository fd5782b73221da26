/* hello_tasks.c: the runtime core in one page. Three tasks sleep for
 * different times and finish in deadline order; one is cancelled while it
 * sleeps and unwinds with -ECANCELED; main joins them all and prints their
 * results. Compare: asyncio.run(main()) with create_task / cancel. */
#include <eddy.h>
#include <stdio.h>

static int worker(void *arg) {
  int ms = (int)(intptr_t)arg;
  int r = eddy_sleep(EDDY_MSEC(ms));
  if (r) {
    printf("worker %d ms: %s\n", ms, eddy_strerror(r));
    return r;
  }
  printf("worker %d ms: done\n", ms);
  return ms;
}

static int main_task(void *arg) {
  (void)arg;
  int delays[] = {30, 10, 20, 1000};
  eddy_task *t[4];
  for (int i = 0; i < 4; i++) {
    eddy_spawn_opts o = {.name = "worker"};
    int r = eddy_spawn_ex(&t[i], worker, (void *)(intptr_t)delays[i], &o);
    if (r) return r;
  }
  eddy_sleep(EDDY_MSEC(50));
  eddy_cancel(t[3]); /* the slow one: cancellation is an error code */
  for (int i = 0; i < 4; i++) {
    int result = 0;
    eddy_join(t[i], &result);
    printf("joined task %d: %d\n", i, result);
  }
  return 0;
}

int main(void) {
  int r = eddy_run(main_task, NULL);
  if (r) fprintf(stderr, "eddy_run: %s\n", eddy_strerror(r));
  return r ? 1 : 0;
}
