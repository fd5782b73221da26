/* seed_async_iterator.c: the seed's AsyncIterator, in C: values that
 * arrive over time, consumed with FOR; the end of the stream is its own
 * signal (Python's StopAsyncIteration, eddy's EDDY_DONE).
 *
 *   class AsyncIterator:
 *       def __init__(self): self.count = 0
 *       def __aiter__(self): return self
 *       async def __anext__(self):
 *           if self.count < 5:
 *               await asyncio.sleep(0.1); self.count += 1; return self.count
 *           raise StopAsyncIteration
 *
 *   async for value in AsyncIterator(): print(value)
 *
 * The iterator here is written the protocol way (an ops table with next),
 * then the same stream as an async generator. */
#include <eddy.h>
#include <stdio.h>

typedef struct async_iterator {
  eddy_iter it; /* first: this object is an eddy_iter */
  int count;
} async_iterator;

static int anext(eddy_iter *it, void *item) {
  async_iterator *self = (async_iterator *)it;
  if (self->count >= 5) return EDDY_DONE; /* StopAsyncIteration */
  int r = eddy_sleep(EDDY_MSEC(100));     /* the value arrives over time */
  if (r) return r;
  *(int *)item = ++self->count;
  return 0;
}
static const eddy_iter_ops async_iterator_ops = {anext, NULL, NULL};

static int counting(eddy_gen *g, void *arg) {
  (void)arg;
  for (int i = 1; i <= 5; i++) {
    eddy_sleep(EDDY_MSEC(100));
    if (eddy_gen_yield(g, &i)) return 0; /* the consumer left */
  }
  return 0; /* returning is the end of the stream */
}

static int main_task(void *arg) {
  (void)arg;
  async_iterator ai = {.count = 0};
  eddy_iter_init(&ai.it, &async_iterator_ops);
  int value, st;
  EDDY_FOR(value, &ai.it, st) printf("%d\n", value);
  if (st == 0) printf("StopAsyncIteration: end of stream\n");

  printf("the same as an async generator:\n");
  EDDY_FOR(value, eddy_gen_new(counting, NULL, sizeof value), st) printf("%d\n", value);
  if (st == 0) printf("StopAsyncIteration: end of stream\n");
  return 0;
}

int main(void) { return eddy_run(main_task, NULL) ? 1 : 0; }
