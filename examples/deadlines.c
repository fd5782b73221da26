/* deadlines.c: every blocking call takes a deadline, and cancellation
 * scopes bound whole regions. A consumer waits for an event with a per-call
 * deadline, then a region gets a deadline scope; a shielded cleanup still
 * finishes after the region is cancelled. */
#include <eddy.h>
#include <stdio.h>

static eddy_event ready;

static int producer(void *arg) {
  (void)arg;
  eddy_sleep(EDDY_MSEC(30));
  eddy_event_set(&ready);
  return 0;
}

static int main_task(void *arg) {
  (void)arg;
  eddy_event_init(&ready);
  eddy_spawn(NULL, producer, NULL);
  int r = eddy_event_wait_until(&ready, eddy_deadline_in(EDDY_MSEC(10)));
  printf("wait with a 10 ms deadline: %s\n", eddy_strerror(r));
  r = eddy_event_wait_until(&ready, eddy_deadline_in(EDDY_MSEC(100)));
  printf("wait with a 100 ms deadline: %s\n", eddy_strerror(r));

  eddy_scope region;
  eddy_scope_enter(&region, eddy_deadline_in(EDDY_MSEC(20)), 0);
  r = eddy_sleep(EDDY_SEC(10));
  printf("10 s sleep in a 20 ms region: %s\n", eddy_strerror(r));
  eddy_scope shield;
  eddy_scope_enter(&shield, eddy_deadline_in(EDDY_MSEC(500)), EDDY_SCOPE_SHIELD);
  r = eddy_sleep(EDDY_MSEC(5));
  printf("shielded cleanup sleep: %s\n", eddy_strerror(r));
  eddy_scope_exit(&shield);
  printf("region timed out: %s\n", eddy_scope_exit(&region) == 1 ? "yes" : "no");
  return 0;
}

int main(void) { return eddy_run(main_task, NULL) ? 1 : 0; }
