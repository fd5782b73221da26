/* sync.c: event, lock, semaphore, condition. Each is a FIFO wait queue of
 * wait records on the waiters' stacks. Releasing hands the resource to the
 * first waiter directly (the waiter's wait returns 0 already owning it), so
 * a cancellation that arrives after the hand-off cannot lose the resource:
 * the waiter owns it and sees the cancellation at its next checkpoint.
 * A waiter that is cancelled before a hand-off simply leaves the queue. */
#include "internal.h"

#include <errno.h>

#define PC __builtin_return_address(0)

static void wake_first(eddy_node *q, int result) {
  eddy_node *n = q->next;
  if (n == q) return;
  eddy__wake_first(q, result);
}

/* ------------------------------------------------------------- event */

EDDY_API void eddy_event_init(eddy_event *e) {
  eddy__list_init(&e->waiters);
  e->set = 0;
}

EDDY_API void eddy_event_set(eddy_event *e) {
  e->set = 1;
  while (!eddy__list_empty(&e->waiters)) wake_first(&e->waiters, 0);
}

EDDY_API void eddy_event_clear(eddy_event *e) { e->set = 0; }
EDDY_API int eddy_event_is_set(const eddy_event *e) { return e->set; }

EDDY_API int eddy_event_wait_until(eddy_event *e, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (e->set) return 0;
  eddy__wait w;
  eddy__wait_init(&w, t);
  eddy__list_push_back(&e->waiters, &w.node);
  return eddy__park(&w, deadline, "event", PC);
}

EDDY_API int eddy_event_wait(eddy_event *e) {
  return eddy_event_wait_until(e, EDDY_FOREVER);
}

/* ------------------------------------------------------------- lock */

EDDY_API void eddy_lock_init(eddy_lock *l) {
  eddy__list_init(&l->waiters);
  l->owner = NULL;
}

EDDY_API int eddy_lock_try(eddy_lock *l) {
  eddy_task *t = eddy__self();
  if (!t) return EDDY_ENOTTASK;
  if (l->owner) return -EBUSY;
  l->owner = t;
  return 0;
}

static int lock_wait(eddy_lock *l, eddy_task *t, eddy_time_t deadline,
                     int cancellable) {
  if (!l->owner) {
    l->owner = t;
    return 0;
  }
  if (l->owner == t) return -EDEADLK;
  eddy__wait w;
  eddy__wait_init(&w, t);
  w.flags = cancellable ? EDDY__WAIT_CANCELLABLE : 0;
  eddy__list_push_back(&l->waiters, &w.node);
  return eddy__park(&w, deadline, "lock", PC);
  /* on 0 the releaser has already made us the owner */
}

EDDY_API int eddy_lock_acquire_until(eddy_lock *l, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  return lock_wait(l, t, deadline, 1);
}

EDDY_API int eddy_lock_acquire(eddy_lock *l) {
  return eddy_lock_acquire_until(l, EDDY_FOREVER);
}

EDDY_API int eddy_lock_release(eddy_lock *l) {
  eddy_task *t = eddy__self();
  if (!t || l->owner != t) return -EPERM;
  eddy_node *n = l->waiters.next;
  if (n == &l->waiters) {
    l->owner = NULL;
    return 0;
  }
  eddy__wait *w = eddy__container_of(n, eddy__wait, node);
  l->owner = w->task; /* hand-off */
  eddy__wake_first(&l->waiters, 0);
  return 0;
}

EDDY_API int eddy_lock_held(const eddy_lock *l) { return l->owner != NULL; }

/* ------------------------------------------------------------- semaphore */

EDDY_API int eddy_sem_init(eddy_sem *s, long initial, long max) {
  if (initial < 0 || max < 0 || (max && initial > max)) return -EINVAL;
  eddy__list_init(&s->waiters);
  s->value = initial;
  s->max = max;
  return 0;
}

EDDY_API int eddy_sem_try(eddy_sem *s) {
  if (s->value <= 0 || !eddy__list_empty(&s->waiters)) return -EAGAIN;
  s->value--;
  return 0;
}

EDDY_API int eddy_sem_acquire_until(eddy_sem *s, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  /* FIFO: a permit goes to a queued waiter before a newcomer */
  if (s->value > 0 && eddy__list_empty(&s->waiters)) {
    s->value--;
    return 0;
  }
  eddy__wait w;
  eddy__wait_init(&w, t);
  eddy__list_push_back(&s->waiters, &w.node);
  return eddy__park(&w, deadline, "semaphore", PC);
}

EDDY_API int eddy_sem_acquire(eddy_sem *s) {
  return eddy_sem_acquire_until(s, EDDY_FOREVER);
}

EDDY_API int eddy_sem_release(eddy_sem *s) {
  if (!eddy__list_empty(&s->waiters)) {
    wake_first(&s->waiters, 0); /* the permit passes straight to it */
    return 0;
  }
  if (s->max && s->value >= s->max) return -EOVERFLOW;
  s->value++;
  return 0;
}

EDDY_API long eddy_sem_value(const eddy_sem *s) { return s->value; }

/* ------------------------------------------------------------- condition */

EDDY_API void eddy_cond_init(eddy_cond *c) { eddy__list_init(&c->waiters); }

EDDY_API int eddy_cond_wait_until(eddy_cond *c, eddy_lock *l,
                                  eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (l->owner != t) return -EPERM;
  eddy__wait w;
  eddy__wait_init(&w, t);
  eddy__list_push_back(&c->waiters, &w.node);
  eddy_lock_release(l);
  r = eddy__park(&w, deadline, "condition", PC);
  /* Re-acquire whatever happened, not interruptible by cancellation, so
   * the caller always holds the lock on return. */
  int lr = lock_wait(l, t, EDDY_FOREVER, 0);
  (void)lr;
  return r;
}

EDDY_API int eddy_cond_wait(eddy_cond *c, eddy_lock *l) {
  return eddy_cond_wait_until(c, l, EDDY_FOREVER);
}

EDDY_API void eddy_cond_signal(eddy_cond *c) { wake_first(&c->waiters, 0); }

EDDY_API void eddy_cond_broadcast(eddy_cond *c) {
  while (!eddy__list_empty(&c->waiters)) wake_first(&c->waiters, 0);
}
