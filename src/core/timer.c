/* timer.c: the loop's timers, a 4-ary min-heap of entries embedded in their
 * owners (tasks, scopes), so arming allocates nothing once the heap array
 * has grown. Arm and cancel are O(log4 n); each entry remembers its heap
 * index, which is what makes cancel cheap. A 4-ary heap halves the depth
 * of a binary one and keeps siblings in one cache line. */
#include "internal.h"

#include <errno.h>

#define PARENT(i) (((i)-2) / 4 + 1)
#define CHILD0(i) (4 * ((i)-1) + 2)

static inline void place(eddy__heap *h, uint32_t i, eddy_timer_entry *t) {
  h->v[i] = t;
  t->index = i;
}

static void sift_up(eddy__heap *h, uint32_t i) {
  eddy_timer_entry *t = h->v[i];
  while (i > 1) {
    uint32_t p = PARENT(i);
    if (h->v[p]->when <= t->when) break;
    place(h, i, h->v[p]);
    i = p;
  }
  place(h, i, t);
}

static void sift_down(eddy__heap *h, uint32_t i) {
  eddy_timer_entry *t = h->v[i];
  for (;;) {
    uint32_t c = CHILD0(i), best = 0;
    eddy_time_t bw = t->when;
    for (uint32_t k = c; k < c + 4 && k <= h->n; k++)
      if (h->v[k]->when < bw) {
        bw = h->v[k]->when;
        best = k;
      }
    if (!best) break;
    place(h, i, h->v[best]);
    i = best;
  }
  place(h, i, t);
}

int eddy__timer_arm(eddy_loop *loop, eddy_timer_entry *t, eddy_time_t when) {
  eddy__heap *h = &loop->timers;
  if (t->index) { /* re-arm in place */
    eddy_time_t old = t->when;
    t->when = when;
    if (when < old) sift_up(h, t->index);
    else sift_down(h, t->index);
    return 0;
  }
  if (h->n + 1 >= h->cap) {
    uint32_t cap = h->cap ? h->cap * 2 : 64;
    eddy_timer_entry **v = eddy__realloc(h->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    h->v = v;
    h->cap = cap;
  }
  t->when = when;
  h->n++;
  place(h, h->n, t);
  sift_up(h, h->n);
  return 0;
}

void eddy__timer_cancel(eddy_loop *loop, eddy_timer_entry *t) {
  eddy__heap *h = &loop->timers;
  uint32_t i = t->index;
  if (!i) return;
  t->index = 0;
  eddy_timer_entry *last = h->v[h->n--];
  if (i > h->n) return; /* it was the last one */
  place(h, i, last);
  if (i > 1 && last->when < h->v[PARENT(i)]->when) sift_up(h, i);
  else sift_down(h, i);
}

eddy_time_t eddy__timer_next(eddy_loop *loop) {
  return loop->timers.n ? loop->timers.v[1]->when : EDDY_FOREVER;
}

int eddy__timers_run(eddy_loop *loop, eddy_time_t now) {
  eddy__heap *h = &loop->timers;
  int fired = 0;
  while (h->n && h->v[1]->when <= now) {
    eddy_timer_entry *t = h->v[1];
    eddy__timer_cancel(loop, t);
    t->fire(t);
    fired++;
  }
  return fired;
}

void eddy__heap_free(eddy__heap *h) {
  eddy__free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}
