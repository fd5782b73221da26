/* bcast.c: broadcast channels for fan-out (the chat server's rooms). Each
 * subscriber has its own bounded ring; publishing copies the item into
 * every ring. A subscriber that is full is handled by its policy: the
 * publisher waits for it (EDDY_SUB_WAIT), its oldest item is dropped and
 * counted (EDDY_SUB_DROP_OLDEST), or it is cut off (EDDY_SUB_FAIL: its next
 * recv gives -ENOBUFS). So a slow subscriber costs bounded memory and, with
 * the last two policies, never slows the others. */
#include "../core/internal.h"
#include "eddy/chan.h"

#include <string.h>

struct eddy_sub {
  eddy_bcast *b;
  eddy_node link;
  char *ring;
  size_t cap, head, len;
  int policy, failed;
  unsigned long dropped;
  eddy_node waiters;   /* its receiver (one at a time in practice) */
};

struct eddy_bcast {
  size_t item;
  eddy_node subs;
  size_t nsubs;
  eddy_node space;     /* publishers waiting for a WAIT subscriber */
  int closed;
};

#define SSLOT(s, i) ((s)->ring + (((s)->head + (i)) % (s)->cap) * (s)->b->item)

EDDY_API int eddy_bcast_new(eddy_bcast **out, size_t item_size) {
  if (!out || !item_size) return -EINVAL;
  eddy_bcast *b = eddy__calloc(1, sizeof *b);
  if (!b) return -ENOMEM;
  b->item = item_size;
  eddy__list_init(&b->subs);
  eddy__list_init(&b->space);
  *out = b;
  return 0;
}

static void wake_all(eddy_node *q, int result) {
  while (!eddy__list_empty(q))
    eddy__wake(eddy__container_of(q->next, eddy__wait, node), result);
}

EDDY_API void eddy_bcast_close(eddy_bcast *b) {
  if (!b || b->closed) return;
  b->closed = 1;
  for (eddy_node *n = b->subs.next; n != &b->subs; n = n->next)
    wake_all(&eddy__container_of(n, eddy_sub, link)->waiters, EDDY_DONE);
  wake_all(&b->space, EDDY_ECLOSED);
}

EDDY_API void eddy_bcast_free(eddy_bcast *b) {
  if (!b) return;
  eddy_bcast_close(b);
  while (!eddy__list_empty(&b->subs))
    eddy_sub_unsubscribe(eddy__container_of(b->subs.next, eddy_sub, link));
  eddy__free(b);
}

EDDY_API size_t eddy_bcast_subscribers(const eddy_bcast *b) { return b ? b->nsubs : 0; }

EDDY_API int eddy_bcast_subscribe(eddy_bcast *b, size_t capacity, int policy,
                                  eddy_sub **out) {
  if (!b || !out || capacity == 0 || policy < EDDY_SUB_WAIT || policy > EDDY_SUB_FAIL)
    return -EINVAL;
  if (b->closed) return EDDY_ECLOSED;
  eddy_sub *s = eddy__calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  s->ring = eddy__alloc(capacity * b->item);
  if (!s->ring) {
    eddy__free(s);
    return -ENOMEM;
  }
  s->b = b;
  s->cap = capacity;
  s->policy = policy;
  eddy__list_init(&s->waiters);
  eddy__list_push_back(&b->subs, &s->link);
  b->nsubs++;
  *out = s;
  return 0;
}

EDDY_API void eddy_sub_unsubscribe(eddy_sub *s) {
  if (!s) return;
  eddy_bcast *b = s->b;
  wake_all(&s->waiters, EDDY_ECLOSED);
  eddy__node_unlink(&s->link);
  b->nsubs--;
  eddy__free(s->ring);
  eddy__free(s);
  wake_all(&b->space, 0); /* a WAIT subscriber may have been the holdup */
}

EDDY_API unsigned long eddy_sub_dropped(const eddy_sub *s) { return s ? s->dropped : 0; }

static void deliver(eddy_sub *s, const void *item) {
  if (!eddy__list_empty(&s->waiters)) { /* straight to the waiting reader */
    eddy__wait *w = eddy__container_of(s->waiters.next, eddy__wait, node);
    memcpy(w->data, item, s->b->item);
    eddy__wake(w, 0);
    return;
  }
  memcpy(SSLOT(s, s->len), item, s->b->item);
  s->len++;
}

EDDY_API int eddy_bcast_publish(eddy_bcast *b, const void *item,
                                eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!b || !item) return -EINVAL;
  for (;;) {
    if (b->closed) return EDDY_ECLOSED;
    /* All or nothing: wait first until every WAIT subscriber has room, so
     * a cancelled publish delivered to nobody. */
    int blocked = 0;
    for (eddy_node *n = b->subs.next; n != &b->subs; n = n->next) {
      eddy_sub *s = eddy__container_of(n, eddy_sub, link);
      if (!s->failed && s->policy == EDDY_SUB_WAIT && s->len == s->cap) blocked = 1;
    }
    if (!blocked) break;
    eddy__wait w;
    eddy__wait_init(&w, t);
    eddy__list_push_back(&b->space, &w.node);
    r = eddy__park(&w, deadline, "publish", __builtin_return_address(0));
    if (r) return r;
  }
  for (eddy_node *n = b->subs.next; n != &b->subs; n = n->next) {
    eddy_sub *s = eddy__container_of(n, eddy_sub, link);
    if (s->failed) continue;
    if (s->len == s->cap && eddy__list_empty(&s->waiters)) {
      if (s->policy == EDDY_SUB_DROP_OLDEST) {
        s->head = (s->head + 1) % s->cap;
        s->len--;
        s->dropped++;
      } else if (s->policy == EDDY_SUB_FAIL) {
        s->failed = 1;
        s->dropped++;
        continue;
      }
    }
    deliver(s, item);
  }
  return 0;
}

EDDY_API size_t eddy_sub_pending(const eddy_sub *s) { return s ? s->len : 0; }

EDDY_API int eddy_sub_recv(eddy_sub *s, void *item, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || !item) return -EINVAL;
  if (s->len) {
    memcpy(item, SSLOT(s, 0), s->b->item);
    s->head = (s->head + 1) % s->cap;
    s->len--;
    if (!eddy__list_empty(&s->b->space)) /* a publisher waited for room */
      eddy__wake(eddy__container_of(s->b->space.next, eddy__wait, node), 0);
    return 0;
  }
  if (s->failed) return -ENOBUFS; /* fell too far behind (after draining) */
  if (s->b->closed) return EDDY_DONE;
  eddy__wait w;
  eddy__wait_init(&w, t);
  w.data = item;
  eddy__list_push_back(&s->waiters, &w.node);
  return eddy__park(&w, deadline, "subscription", __builtin_return_address(0));
}
