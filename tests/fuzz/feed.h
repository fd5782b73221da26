/* feed.h: run a parser that reads from an eddy_stream against fuzz input.
 * Each input gets its own eddy_run: a socketpair, a peer task that writes
 * the input in pieces (so the reader sees it arrive in parts), shuts its
 * write side down and then drains whatever the reader answers, and the
 * body, which reads from the other end. The peer always ends the stream,
 * so a body that is still waiting after `FEED_ITEM_DEADLINE` hangs: the
 * harness treats that as a bug, not a timeout. */
#ifndef EDDY_FUZZ_FEED_H
#define EDDY_FUZZ_FEED_H

#include <eddy.h>
#include <stddef.h>
#include <stdint.h>

/* every read a body makes has this deadline (per item of an iterator) */
#define FEED_ITEM_DEADLINE EDDY_SEC(2)

typedef int (*feed_body)(eddy_stream *s, void *arg);

/* Feed in[0..n) to body(s, arg) through a socketpair, in pieces of
 * 1 + steps[i % 4] * 4 bytes (steps may be NULL: one write). The stream
 * is made with opts (may be NULL). Returns the body's result; aborts with
 * a message if the loop cannot start, a socket cannot be made, or eddy's
 * allocations are not all given back afterwards (a leak). */
int feed_run(const uint8_t *in, size_t n, const uint8_t *steps, const eddy_stream_opts *opts,
             feed_body body, void *arg);

#endif
