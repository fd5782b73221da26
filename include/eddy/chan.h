/* eddy/chan.h: channels (queues) between tasks, and broadcast channels for
 * fan-out. Items are fixed-size values copied in and out, so a bounded
 * channel allocates nothing per item.
 *
 * Rules (tested in tests/test_chan.c):
 *  - bounded by default (backpressure: a full channel makes senders wait);
 *    unbounded only when asked (EDDY_CHAN_UNBOUNDED); capacity 0 is a
 *    rendezvous (the sender waits for a receiver);
 *  - many senders and receivers, FIFO on both sides;
 *  - every send and recv is a checkpoint, even when it could complete;
 *  - no item is lost or duplicated by cancellation: a cancelled (or timed
 *    out) recv took nothing, a cancelled send queued nothing and the item
 *    is still the caller's; a hand-off that happened before the
 *    cancellation was noticed stands (completion wins);
 *  - graceful close: sends fail with EDDY_ECLOSED, receivers drain what is
 *    queued and then get EDDY_DONE; immediate close: queued items go to the
 *    disposer (once each) and receivers get EDDY_ECLOSED;
 *  - when the last receiver is gone (eddy_chan_rx_close), sends fail with
 *    -EPIPE and queued items go to the disposer. */
#ifndef EDDY_CHAN_H
#define EDDY_CHAN_H

#include "inline_switch.h"
#include "iter.h"

EDDY_BEGIN_DECLS

typedef struct eddy_chan eddy_chan;
#define EDDY_CHAN_UNBOUNDED ((size_t)-1)

/* dispose(item) is called for items dropped by close_now or by the last
 * receiver leaving (may be NULL). */
EDDY_API int eddy_chan_new(eddy_chan **out, size_t item_size, size_t capacity,
                           void (*dispose)(void *item));
EDDY_API void eddy_chan_free(eddy_chan *ch);
EDDY_API int eddy_chan_send(eddy_chan *ch, const void *item, eddy_time_t deadline);
EDDY_API int eddy_chan_recv(eddy_chan *ch, void *item, eddy_time_t deadline);

/* Not API: send and receive with the switch of a wait inlined into the
 * caller's own code (see eddy/inline_switch.h): a task that parks in one
 * function and is resumed in another would otherwise mispredict a return
 * per hand-off, which measured here as a third of a ping-pong round trip.
 * _step does the transfer, or parks the task in `ticket` (a wait record in
 * the caller's frame) and returns the context to switch to; `to` NULL with
 * `rc` when there is nothing to switch (done, failed, or parked and resumed
 * already: a library whose switch cannot be inlined). The pair comes back
 * in two registers, so a transfer that completes at once touches no
 * memory for its result.
 *
 * After the switch, the resumed side stores the context it came from in
 * the slot the switcher passed (step.self: its task's resume slot; see
 * src/core/task.c) and reads the wait's outcome. The library's wait record
 * keeps `int result; int flags` at EDDY__TICKET_OUTCOME_OFFSET (checked
 * where it is defined), so the usual outcome, woken with 0 and no deadline
 * timer to disarm, is one compare here; anything else (an error, a
 * cancellation to count, a timer) goes to eddy__park_ticket_finish.
 *
 * These names are not API, but programs compiled against this header call
 * them: a change to what one takes or gives changes its name, so that such
 * a program fails to load against a library it would misread. */
typedef struct eddy__park_ticket {
  void *wait[8]; /* the library's wait record */
} eddy__park_ticket;
typedef struct eddy__park_step {
  void *to; /* the context to switch to, or NULL */
  union {
    long rc;     /* `to` NULL: the result (a long: the pair is two whole registers) */
    void **self; /* else: the slot for the context the switch comes back from */
  };
} eddy__park_step;
#define EDDY__TICKET_OUTCOME_OFFSET 24
EDDY_API eddy__park_step eddy__chan_send_step(eddy_chan *ch, const void *item,
                                               eddy_time_t deadline, eddy__park_ticket *ticket);
EDDY_API eddy__park_step eddy__chan_recv_step(eddy_chan *ch, void *item, eddy_time_t deadline,
                                               eddy__park_ticket *ticket);
/* The same without deadline (EDDY_FOREVER): one argument and one test fewer. */
EDDY_API eddy__park_step eddy__chan_send_step_forever(eddy_chan *ch, const void *item,
                                                       eddy__park_ticket *ticket);
EDDY_API eddy__park_step eddy__chan_recv_step_forever(eddy_chan *ch, void *item,
                                                       eddy__park_ticket *ticket);
EDDY_API int eddy__park_ticket_finish(eddy__park_ticket *ticket);
#if defined(EDDY__HAVE_INLINE_SWITCH) && !defined(EDDY_BUILDING)
static inline __attribute__((always_inline)) int eddy__park_ticket_end_inline(eddy__park_ticket *tk,
                                                                             eddy__transfer tr) {
  unsigned long long outcome;
  *(void **)tr.data = tr.ctx;
  __builtin_memcpy(&outcome, (char *)tk->wait + EDDY__TICKET_OUTCOME_OFFSET, sizeof outcome);
  /* result 0, flags cancellable only (little-endian, as x86_64 is) */
  if (__builtin_expect(outcome == 1ull << 32, 1)) return 0;
  return eddy__park_ticket_finish(tk);
}
static inline __attribute__((always_inline)) int eddy__chan_send_inline(eddy_chan *ch,
                                                                        const void *item,
                                                                        eddy_time_t deadline) {
  eddy__park_ticket tk;
  /* folded away when the deadline is a constant, as it usually is */
  eddy__park_step s = deadline == EDDY_FOREVER ? eddy__chan_send_step_forever(ch, item, &tk)
                                               : eddy__chan_send_step(ch, item, deadline, &tk);
  if (!s.to) return (int)s.rc;
  return eddy__park_ticket_end_inline(&tk, eddy__ctx_switch_inline_nofp(s.to, s.self));
}
static inline __attribute__((always_inline)) int eddy__chan_recv_inline(eddy_chan *ch, void *item,
                                                                        eddy_time_t deadline) {
  eddy__park_ticket tk;
  /* folded away when the deadline is a constant, as it usually is */
  eddy__park_step s = deadline == EDDY_FOREVER ? eddy__chan_recv_step_forever(ch, item, &tk)
                                               : eddy__chan_recv_step(ch, item, deadline, &tk);
  if (!s.to) return (int)s.rc;
  return eddy__park_ticket_end_inline(&tk, eddy__ctx_switch_inline_nofp(s.to, s.self));
}
#define eddy_chan_send(ch, item, deadline) eddy__chan_send_inline((ch), (item), (deadline))
#define eddy_chan_recv(ch, item, deadline) eddy__chan_recv_inline((ch), (item), (deadline))
#endif
/* Not checkpoints: 0, -EAGAIN (full / empty), or the closed codes. */
EDDY_API int eddy_chan_try_send(eddy_chan *ch, const void *item);
EDDY_API int eddy_chan_try_recv(eddy_chan *ch, void *item);
EDDY_API void eddy_chan_close(eddy_chan *ch);
EDDY_API void eddy_chan_close_now(eddy_chan *ch);
/* Receiver counting for -EPIPE: a channel starts with one receiver. */
EDDY_API void eddy_chan_rx_add(eddy_chan *ch);
EDDY_API void eddy_chan_rx_close(eddy_chan *ch);
EDDY_API size_t eddy_chan_len(const eddy_chan *ch);

/* FOR over a channel: each item received; the loop ends with status 0 on a
 * graceful close, with the error otherwise. Closing the loop early does not
 * close the channel. */
typedef struct eddy_chan_iter {
  eddy_iter it;
  eddy_chan *ch;
} eddy_chan_iter;
EDDY_API eddy_iter *eddy_chan_iter_init(eddy_chan_iter *ci, eddy_chan *ch);

/* ---- broadcast: every subscriber gets every item published after it
 * subscribed. Items are copied once into a ring shared by all subscribers
 * (as large as the largest capacity; it never shrinks), and each
 * subscriber's capacity bounds how many it may leave unread: one that
 * falls that far behind is handled by its policy. Publishing allocates
 * nothing (cutting a subscriber off copies its unread items out). */
typedef struct eddy_bcast eddy_bcast;
typedef struct eddy_sub eddy_sub;

enum {
  EDDY_SUB_WAIT = 0,    /* the publisher waits for it (backpressure) */
  EDDY_SUB_DROP_OLDEST, /* its oldest unread item is dropped (counted) */
  EDDY_SUB_FAIL,        /* it is cut off: once it has read what was already
                         * queued, its recv gives -ENOBUFS */
};

EDDY_API int eddy_bcast_new(eddy_bcast **out, size_t item_size);
/* Close: subscribers drain, then EDDY_DONE. Free after every subscriber
 * has unsubscribed. */
EDDY_API void eddy_bcast_close(eddy_bcast *b);
EDDY_API void eddy_bcast_free(eddy_bcast *b);
EDDY_API int eddy_bcast_publish(eddy_bcast *b, const void *item,
                                eddy_time_t deadline);
/* Publish an item of len bytes, at most the item size (-EMSGSIZE): only
 * those are copied, in and out; eddy_sub_recv_n tells a subscriber the
 * length, and eddy_sub_recv leaves the bytes past it as they were. For
 * items mostly shorter than the largest (a chat line in a slot sized for
 * the longest). */
EDDY_API int eddy_bcast_publish_n(eddy_bcast *b, const void *item, size_t len,
                                  eddy_time_t deadline);
EDDY_API size_t eddy_bcast_subscribers(const eddy_bcast *b);
/* The most items a subscriber not cut off had left unread after the last
 * publish. A publisher that posts a burst can pause when this nears the
 * subscribers' capacity (eddy_wait_turn_end lets their readers run), so
 * that a reader merely not scheduled yet is not taken for a slow one. */
EDDY_API size_t eddy_bcast_most_unread(const eddy_bcast *b);
EDDY_API int eddy_bcast_subscribe(eddy_bcast *b, size_t capacity, int policy,
                                  eddy_sub **out);
EDDY_API int eddy_sub_recv(eddy_sub *s, void *item, eddy_time_t deadline);
/* The same, with the item's length in *len (NULL: not wanted). */
EDDY_API int eddy_sub_recv_n(eddy_sub *s, void *item, size_t *len, eddy_time_t deadline);
/* Items waiting in the subscription: that many eddy_sub_recv calls return
 * at once (a consumer can batch its output on it). */
EDDY_API size_t eddy_sub_pending(const eddy_sub *s);
EDDY_API unsigned long eddy_sub_dropped(const eddy_sub *s);
EDDY_API void eddy_sub_unsubscribe(eddy_sub *s);

EDDY_END_DECLS
#endif
