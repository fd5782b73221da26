/* list.h: the intrusive circular doubly linked list used for run queues,
 * wait queues and scope trees. A node can unlink itself without knowing its
 * list, which is what lets a cancelled waiter leave any queue in O(1). */
#ifndef EDDY_LIST_H
#define EDDY_LIST_H

#include "eddy/common.h"

#define eddy__container_of(p, T, m) ((T *)((char *)(p)-offsetof(T, m)))

static inline void eddy__list_init(eddy_node *h) { h->next = h->prev = h; }
static inline int eddy__list_empty(const eddy_node *h) { return h->next == h; }
/* A node that is in no list points at itself (after init or unlink). */
static inline int eddy__node_linked(const eddy_node *n) { return n->next != n; }

/* The empty and one-node cases below store through the head only, never
 * through a pointer just loaded from the list (h->prev->next = n): such a
 * store's address is known late, and a load of that word soon after (the
 * next push or pop, typically by the other side of a hand-off) must wait
 * for it or is replayed. The hand-off path's queues are nearly always
 * empty or one long. Measured on a stripped-down model of a channel
 * ping-pong: 12.8 -> 8.4 ns per round trip; eddy's own, which runs about
 * twice the instructions, gained less (14.4 -> 14.2). EDDY__OPAQUE hides from the compiler that the two
 * pointers are equal, or it merges the branches back into the stores
 * through the loaded pointer. */
#define EDDY__OPAQUE(p) __asm__("" : "+r"(p))

static inline void eddy__list_push_back(eddy_node *h, eddy_node *n) {
  n->next = h;
  if (h->next == h) {
    eddy_node *hh = h;
    EDDY__OPAQUE(hh);
    n->prev = hh;
    hh->next = n;
    hh->prev = n;
  } else {
    eddy_node *tail = h->prev;
    n->prev = tail;
    tail->next = n;
    h->prev = n;
  }
}
/* Unlink h's first node, whose next link the caller read already (nx),
 * leaving the node's own links as they were. */
static inline void eddy__list_remove_first_next(eddy_node *h, eddy_node *nx) {
  if (nx == h) {
    eddy_node *hh = h;
    EDDY__OPAQUE(hh);
    hh->next = hh;
    hh->prev = hh;
  } else {
    h->next = nx;
    nx->prev = h;
  }
}
/* Unlink n, which is h's first node, leaving n's own links as they were. */
static inline void eddy__list_remove_first(eddy_node *h, eddy_node *n) {
  eddy__list_remove_first_next(h, n->next);
}
static inline void eddy__list_push_front(eddy_node *h, eddy_node *n) {
  n->next = h->next;
  n->prev = h;
  h->next->prev = n;
  h->next = n;
}
static inline void eddy__node_unlink(eddy_node *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}
/* Unlink without pointing the node at itself: two stores fewer, for a
 * woken wait record, which is never unlinked twice nor tested with
 * eddy__node_linked: only a wake (eddy__wake, eddy__wake_first) unlinks it,
 * and a wake clears t->wait, which timers, cancellation and the wakers that
 * keep their own pointer to the record (eddy__wait_parked) test before
 * waking. Measured: the stores cost 6 % of a
 * channel round trip. The run queue keeps the self-link: without it two
 * tasks yielding to each other took 5.1 ns per yield instead of 3.8. */
static inline void eddy__node_unlink_fast(eddy_node *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
}
static inline eddy_node *eddy__list_pop_front(eddy_node *h) {
  eddy_node *n = h->next;
  if (n == h) return NULL;
  eddy__list_remove_first(h, n);
  n->next = n->prev = n;
  return n;
}
#endif
