/* seed_async_context.c: the seed's first example, in C.
 *
 *   class AsyncContext:
 *       async def __aenter__(self): print("Entering context"); return self
 *       async def __aexit__(self, exc_type, exc, tb): print("Exiting context")
 *
 *   async def main():
 *       async with AsyncContext():
 *           print("Inside block")
 *
 * In eddy a manager is an ops table; enter and exit may block (here they
 * yield to the loop, as an awaiting __aenter__ would). */
#include <eddy.h>
#include <stdio.h>

static int async_context_enter(void *self, void **value) {
  printf("Entering context\n");
  *value = self;
  return eddy_yield(); /* setup may suspend */
}

static int async_context_exit(void *self, int status) {
  (void)self;
  eddy_yield(); /* teardown may suspend too */
  printf("Exiting context\n");
  return status; /* do not suppress */
}

static const eddy_cm_ops async_context = {async_context_enter, async_context_exit, 0};

static int main_task(void *arg) {
  (void)arg;
  EDDY_WITH(ctx, &async_context, NULL);
  if (ctx.status) return ctx.status;
  printf("Inside block\n");
  return 0;
}

int main(void) { return eddy_run(main_task, NULL) ? 1 : 0; }
