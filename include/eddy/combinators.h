/* eddy/combinators.h: composable async iterators. Each takes ownership of
 * the iterator(s) it wraps and closes them when it is closed (so a FOR over
 * a chain of combinators closes the whole chain when it is left). Each
 * returns an owned iterator (FOR frees it), or, on failure, an iterator that
 * reports the error on its first next, so they nest inline:
 *
 *   EDDY_FOR(x, eddy_take(eddy_filter(eddy_gen_new(src, NULL, sizeof x),
 *                                     sizeof x, is_even, NULL),
 *                         sizeof x, 10), st) ...
 *
 * Items are fixed-size values; each combinator states its item layout.
 * map/filter/take/take_while/skip/enumerate/chain/zip/timeout_each are pull
 * based and allocate nothing per item. merge, buffer and batch-by-time run
 * the inner iterators in background tasks (structured: closing the
 * combinator cancels and joins them) and pass items through a channel. */
#ifndef EDDY_COMBINATORS_H
#define EDDY_COMBINATORS_H

#include "iter.h"

EDDY_BEGIN_DECLS

/* fn: 0 = item produced in out, negative = error (ends the stream). */
EDDY_API eddy_iter *eddy_map(eddy_iter *in, size_t in_size, size_t out_size,
                             int (*fn)(void *ctx, const void *in, void *out),
                             void *ctx);
/* pred: 1 keep, 0 drop, negative = error. */
EDDY_API eddy_iter *eddy_filter(eddy_iter *in, size_t size,
                                int (*pred)(void *ctx, const void *item),
                                void *ctx);
EDDY_API eddy_iter *eddy_take(eddy_iter *in, size_t size, size_t n);
EDDY_API eddy_iter *eddy_take_while(eddy_iter *in, size_t size,
                                    int (*pred)(void *ctx, const void *item),
                                    void *ctx);
EDDY_API eddy_iter *eddy_skip(eddy_iter *in, size_t size, size_t n);
/* Items: eddy_enumerated header (the index) followed by the inner item. */
typedef struct eddy_enumerated {
  size_t index;
} eddy_enumerated;
EDDY_API eddy_iter *eddy_enumerate(eddy_iter *in, size_t size);
/* One stream after another (takes ownership of the n iterators). */
EDDY_API eddy_iter *eddy_chain(eddy_iter *const *its, int n, size_t size);
/* Pairs: item = a's item then b's item; ends with the shorter stream. */
EDDY_API eddy_iter *eddy_zip(eddy_iter *a, size_t a_size, eddy_iter *b,
                             size_t b_size);
/* Items from all n, as they come, concurrently; ends when all have. */
EDDY_API eddy_iter *eddy_merge(eddy_iter *const *its, int n, size_t size);
/* Batches: item = size_t count followed by up to max items; a batch is cut
 * when it holds max items or max_wait has passed since its first item
 * (max_wait = EDDY_FOREVER: by count only). */
EDDY_API eddy_iter *eddy_batch(eddy_iter *in, size_t size, size_t max,
                               eddy_time_t max_wait);
/* Each next must produce within per_item ns, else -ETIMEDOUT. */
EDDY_API eddy_iter *eddy_timeout_each(eddy_iter *in, eddy_time_t per_item);
/* Prefetch up to n items in a background task. */
EDDY_API eddy_iter *eddy_buffer(eddy_iter *in, size_t size, size_t n);
/* Ticks every period (item: uint64_t tick number, counted from 1); a
 * consumer that falls behind skips the missed ticks instead of bursting. */
EDDY_API eddy_iter *eddy_interval(eddy_time_t period);

EDDY_END_DECLS
#endif
