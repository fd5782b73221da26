/* seed_producer_consumer.c: the seed's "process items as they become
 * available": a producer task sends items over a channel as they are made
 * (with a delay each), and the consumer handles each one the moment it
 * arrives, with FOR. Closing the channel is the end of the stream. */
#include <eddy.h>
#include <stdio.h>

static int producer(void *arg) {
  eddy_chan *ch = arg;
  for (int i = 1; i <= 5; i++) {
    eddy_sleep(EDDY_MSEC(50)); /* the item takes a while to make */
    printf("produced item %d\n", i);
    if (eddy_chan_send(ch, &i, EDDY_FOREVER)) break;
  }
  eddy_chan_close(ch); /* graceful: the consumer drains, then ends */
  return 0;
}

static int main_task(void *arg) {
  (void)arg;
  eddy_chan *ch;
  int r = eddy_chan_new(&ch, sizeof(int), 1, NULL);
  if (r) return r;
  eddy_spawn(NULL, producer, ch);
  eddy_chan_iter ci;
  int item, st;
  EDDY_FOR(item, eddy_chan_iter_init(&ci, ch), st)
    printf("consumed item %d\n", item); /* as soon as it is available */
  printf("channel closed: %s\n", st == 0 ? "end of stream" : eddy_strerror(st));
  eddy_chan_free(ch);
  return 0;
}

int main(void) { return eddy_run(main_task, NULL) ? 1 : 0; }
