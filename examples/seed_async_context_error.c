/* seed_async_context_error.c: the seed's AsyncContext whose block raises an
 * error: the exit still runs ("Exiting context") and sees the error, which
 * then propagates (the exit does not suppress it).
 *
 *   async with AsyncContext():
 *       print("Inside block")
 *       raise ValueError("something went wrong")   */
#include <eddy.h>
#include <stdio.h>

static int async_context_enter(void *self, void **value) {
  printf("Entering context\n");
  *value = self;
  return eddy_yield();
}

static int async_context_exit(void *self, int status) {
  (void)self;
  eddy_yield();
  printf("Exiting context (saw: %s)\n", eddy_errname(status));
  return status;
}

static const eddy_cm_ops async_context = {async_context_enter, async_context_exit, 0};

static int block(void) {
  EDDY_WITH(ctx, &async_context, NULL);
  if (ctx.status) return ctx.status;
  printf("Inside block\n");
  return eddy_with_close(&ctx, -EINVAL); /* raise: leave with an error */
}

static int main_task(void *arg) {
  (void)arg;
  int r = block();
  printf("Error propagated: %s\n", eddy_strerror(r));
  return 0;
}

int main(void) { return eddy_run(main_task, NULL) ? 1 : 0; }
