/* bcast.c: broadcast channels for fan-out (the chat server's rooms).
 *
 * One ring per broadcast, shared by every subscriber: an item is copied in
 * once, whatever the number of subscribers, and each subscriber keeps only
 * its position (the sequence number of the next item it reads). A room of
 * a thousand members therefore holds one ring, not a thousand, and a
 * publish costs one copy plus a comparison per subscriber (and the hand-off
 * to each subscriber that waits, which any fan-out pays).
 *
 * Every item has a sequence number; item q lives in slot q & (ring_cap-1).
 * A subscriber never has more than its capacity unread, and the ring is at
 * least as large as the largest capacity, so the slots a publish overwrites
 * are ones every subscriber has read or skipped. A subscriber that is full
 * is handled by its policy before the publish: the publisher waits for it
 * (EDDY_SUB_WAIT), its oldest item is skipped and counted
 * (EDDY_SUB_DROP_OLDEST), or it is cut off (EDDY_SUB_FAIL). A cut-off
 * subscriber still reads what was queued for it (its recv gives -ENOBUFS
 * after that), so those items are copied out to a buffer of its own as it
 * fails: the rare case pays, not every publish.
 *
 * An item may be shorter than the broadcast's item size
 * (eddy_bcast_publish_n): only its bytes are copied in, and out to each
 * subscriber, and the slot's length goes with it. A chat room's messages
 * are mostly a few dozen bytes of a slot sized for the longest. */
#include "../core/internal.h"
#include "eddy/chan.h"

#include <stdint.h>
#include <string.h>

struct eddy_sub {
  eddy_bcast *b;
  eddy_node link;
  uint64_t next;       /* sequence number of the next item to read */
  size_t cap;
  int policy, failed;
  unsigned long dropped;
  uint32_t *kept_lens; /* failed: the lengths of what it had not read, */
  char *kept;          /* and the items, oldest first (one allocation) */
  size_t kept_head, kept_len;
  eddy_node waiters;   /* its receiver (one at a time in practice) */
};

struct eddy_bcast {
  size_t item;
  char *ring;
  uint32_t *lens;      /* each slot's item length (ring_cap of them) */
  size_t ring_cap;     /* a power of two, >= every subscriber's capacity */
  uint64_t tail;       /* sequence number of the next item published */
  eddy_node subs;
  size_t nsubs;
  eddy_node space;     /* publishers waiting for a WAIT subscriber */
  size_t most_unread;  /* after the last publish (eddy_bcast_most_unread) */
  int closed;
  /* Publishers between a wait for room and their next look at the
   * broadcast: one woken for room (by a read or an unsubscribe) has not
   * run yet when the broadcast may be freed, so a free while any is out
   * is left to the last of them (freed). */
  int waking, freed;
};

static inline char *bslot(const eddy_bcast *b, uint64_t q) {
  return b->ring + (size_t)(q & (b->ring_cap - 1)) * b->item;
}
static inline uint32_t *blen(const eddy_bcast *b, uint64_t q) {
  return &b->lens[q & (b->ring_cap - 1)];
}
static inline size_t unread(const eddy_sub *s) { return (size_t)(s->b->tail - s->next); }

/* What a receiver parked in eddy_sub_recv_n gives a publisher to fill. */
typedef struct recv_into {
  void *item;
  size_t *len;
} recv_into;

EDDY_API int eddy_bcast_new(eddy_bcast **out, size_t item_size) {
  if (!out || !item_size || item_size > UINT32_MAX) return -EINVAL;
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
    eddy__wake_first(q, result);
}

EDDY_API void eddy_bcast_close(eddy_bcast *b) {
  if (!b || b->closed) return;
  b->closed = 1;
  for (eddy_node *n = b->subs.next; n != &b->subs; n = n->next)
    wake_all(&eddy__container_of(n, eddy_sub, link)->waiters, EDDY_DONE);
  wake_all(&b->space, EDDY_ECLOSED);
}

static void bcast_release(eddy_bcast *b) {
  eddy__free(b->ring);
  eddy__free(b->lens);
  eddy__free(b);
}

EDDY_API void eddy_bcast_free(eddy_bcast *b) {
  if (!b) return;
  eddy_bcast_close(b);
  while (!eddy__list_empty(&b->subs))
    eddy_sub_unsubscribe(eddy__container_of(b->subs.next, eddy_sub, link));
  if (b->waking) b->freed = 1; /* the last publisher out frees it */
  else bcast_release(b);
}

EDDY_API size_t eddy_bcast_subscribers(const eddy_bcast *b) { return b ? b->nsubs : 0; }
EDDY_API size_t eddy_bcast_most_unread(const eddy_bcast *b) { return b ? b->most_unread : 0; }

/* Make the ring hold at least cap items, keeping the unread ones of every
 * subscriber in their slots of the larger ring. */
static int reserve(eddy_bcast *b, size_t cap) {
  if (cap <= b->ring_cap) return 0;
  size_t nc = 1;
  while (nc < cap) {
    if (nc > SIZE_MAX / 2 / b->item) return -ENOMEM;
    nc *= 2;
  }
  char *nr = eddy__alloc(nc * b->item);
  uint32_t *nl = eddy__alloc(nc * sizeof *nl);
  if (!nr || !nl) {
    eddy__free(nr);
    eddy__free(nl);
    return -ENOMEM;
  }
  char *old = b->ring;
  uint32_t *oldl = b->lens;
  size_t oc = b->ring_cap;
  b->ring = nr;
  b->lens = nl;
  b->ring_cap = nc;
  /* the live items are at most the old ring's worth, ending at tail */
  uint64_t from = b->tail >= oc ? b->tail - oc : 0;
  for (uint64_t q = from; q < b->tail; q++) {
    uint32_t n = oldl[q & (oc - 1)];
    *blen(b, q) = n;
    memcpy(bslot(b, q), old + (size_t)(q & (oc - 1)) * b->item, n);
  }
  eddy__free(old);
  eddy__free(oldl);
  return 0;
}

EDDY_API int eddy_bcast_subscribe(eddy_bcast *b, size_t capacity, int policy,
                                  eddy_sub **out) {
  if (!b || !out || capacity == 0 || policy < EDDY_SUB_WAIT || policy > EDDY_SUB_FAIL)
    return -EINVAL;
  if (b->closed) return EDDY_ECLOSED;
  if (capacity > SIZE_MAX / b->item) return -ENOMEM;
  eddy_sub *s = eddy__calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  int r = reserve(b, capacity);
  if (r) {
    eddy__free(s);
    return r;
  }
  s->b = b;
  s->next = b->tail; /* items published from now on */
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
  eddy__free(s->kept_lens);
  eddy__free(s);
  wake_all(&b->space, 0); /* a WAIT subscriber may have been the holdup */
}

EDDY_API unsigned long eddy_sub_dropped(const eddy_sub *s) { return s ? s->dropped : 0; }

/* Cut s off: its unread items move to a buffer of its own (the ring will
 * reuse their slots). Without memory for that they are lost, and counted. */
static void cut_off(eddy_sub *s) {
  eddy_bcast *b = s->b;
  size_t n = unread(s);
  s->failed = 1;
  s->dropped++; /* the item it could not take */
  if (n && (s->kept_lens = eddy__alloc(n * (sizeof(uint32_t) + b->item))) != NULL) {
    s->kept = (char *)(s->kept_lens + n);
    for (size_t i = 0; i < n; i++) {
      s->kept_lens[i] = *blen(b, s->next + i);
      memcpy(s->kept + i * b->item, bslot(b, s->next + i), s->kept_lens[i]);
    }
    s->kept_len = n;
  } else {
    s->dropped += n;
  }
  s->next = b->tail;
}

EDDY_API int eddy_bcast_publish(eddy_bcast *b, const void *item,
                                eddy_time_t deadline) {
  return eddy_bcast_publish_n(b, item, b ? b->item : 0, deadline);
}

EDDY_API int eddy_bcast_publish_n(eddy_bcast *b, const void *item, size_t len,
                                  eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!b || (!item && len)) return -EINVAL;
  if (len > b->item) return -EMSGSIZE;
  for (;;) {
    if (b->closed) return EDDY_ECLOSED;
    /* All or nothing: wait first until every WAIT subscriber has room, so
     * a cancelled publish delivered to nobody. */
    int blocked = 0;
    for (eddy_node *n = b->subs.next; n != &b->subs && !blocked; n = n->next) {
      eddy_sub *s = eddy__container_of(n, eddy_sub, link);
      blocked = !s->failed && s->policy == EDDY_SUB_WAIT && unread(s) == s->cap;
    }
    if (!blocked) break;
    eddy__wait w;
    eddy__wait_init(&w, t);
    eddy__list_push_back(&b->space, &w.node);
    b->waking++;
    r = eddy__park(&w, deadline, "publish", __builtin_return_address(0));
    if (--b->waking == 0 && b->freed) {
      bcast_release(b);
      return r ? r : EDDY_ECLOSED;
    }
    if (r) return r;
  }
  if (!b->nsubs) return 0; /* nobody to see it */
  /* Room first: a full subscriber skips its oldest or is cut off, so the
   * slot written next belongs to no one's unread items. */
  for (eddy_node *n = b->subs.next; n != &b->subs; n = n->next) {
    eddy_sub *s = eddy__container_of(n, eddy_sub, link);
    if (s->failed || unread(s) < s->cap) continue;
    if (s->policy == EDDY_SUB_DROP_OLDEST) {
      s->next++;
      s->dropped++;
    } else if (s->policy == EDDY_SUB_FAIL) {
      cut_off(s);
    }
  }
  if (len) memcpy(bslot(b, b->tail), item, len);
  *blen(b, b->tail) = (uint32_t)len;
  uint64_t q = b->tail++;
  /* A waiting reader has read everything before q: hand it q directly. */
  size_t most = 0;
  for (eddy_node *n = b->subs.next; n != &b->subs; n = n->next) {
    eddy_sub *s = eddy__container_of(n, eddy_sub, link);
    if (s->failed) continue;
    if (!eddy__list_empty(&s->waiters) && s->next == q) {
      eddy__wait *w = eddy__container_of(s->waiters.next, eddy__wait, node);
      recv_into *into = w->data;
      if (len) memcpy(into->item, item, len);
      if (into->len) *into->len = len;
      s->next = q + 1;
      eddy__wake_first(&s->waiters, 0);
    } else if (unread(s) > most) {
      most = unread(s);
    }
  }
  b->most_unread = most;
  return 0;
}

EDDY_API size_t eddy_sub_pending(const eddy_sub *s) {
  if (!s) return 0;
  return s->failed ? s->kept_len : unread(s);
}

EDDY_API int eddy_sub_recv(eddy_sub *s, void *item, eddy_time_t deadline) {
  return eddy_sub_recv_n(s, item, NULL, deadline);
}

EDDY_API int eddy_sub_recv_n(eddy_sub *s, void *item, size_t *len, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || !item) return -EINVAL;
  eddy_bcast *b = s->b;
  if (s->failed) { /* what was queued when it was cut off, then the error */
    if (!s->kept_len) return -ENOBUFS;
    uint32_t n = s->kept_lens[s->kept_head];
    memcpy(item, s->kept + s->kept_head * b->item, n);
    if (len) *len = n;
    s->kept_head++;
    if (--s->kept_len == 0) {
      eddy__free(s->kept_lens);
      s->kept_lens = NULL;
      s->kept = NULL;
    }
    return 0;
  }
  if (s->next != b->tail) {
    uint32_t n = *blen(b, s->next);
    memcpy(item, bslot(b, s->next), n);
    if (len) *len = n;
    s->next++;
    if (!eddy__list_empty(&b->space)) /* a publisher waited for room */
      eddy__wake_first(&b->space, 0);
    return 0;
  }
  if (b->closed) return EDDY_DONE;
  recv_into into = {item, len};
  eddy__wait w;
  eddy__wait_init(&w, t);
  w.data = &into;
  eddy__list_push_back(&s->waiters, &w.node);
  return eddy__park(&w, deadline, "subscription", __builtin_return_address(0));
}
