/* combinators.c: iterator combinators. One wrapper struct serves the pull
 * based ones (a kind tag picks the step); merge, buffer and time-cut batches
 * pump their inputs from background tasks into a channel. Every wrapper owns
 * what it wraps: closing it closes (and frees) the inner iterators first
 * for pull combinators, or cancels and joins the pumps, which close theirs. */
#include "../core/internal.h"
#include "eddy/chan.h"
#include "eddy/combinators.h"

#include <string.h>

enum { K_MAP, K_FILTER, K_TAKE, K_TAKE_WHILE, K_SKIP, K_ENUM, K_CHAIN, K_ZIP,
       K_TIMEOUT, K_INTERVAL, K_PUMPED, K_BATCH };

typedef struct pump pump;

typedef struct comb {
  eddy_iter it;
  int kind;
  eddy_iter **in;        /* inner iterators (owned) */
  int nin, cur;
  size_t size, out_size, n, count;
  int (*fn)(void *, const void *, void *);
  int (*pred)(void *, const void *);
  void *ctx;
  eddy_time_t per, next_tick, max_wait;
  char *scratch;         /* zip's / map's / batch's staging item */
  /* pumped kinds */
  eddy_chan *ch;
  pump *pumps;
  int live_pumps, error;
} comb;

struct pump {
  comb *c;
  eddy_iter *in;
  eddy_task *task;
};

static void close_inner(eddy_iter *in) {
  if (!in) return;
  eddy_iter_close(in);
  if (in->owned && in->ops && in->ops->release) in->ops->release(in);
}

static int comb_close(eddy_iter *it) {
  comb *c = (comb *)it;
  if (c->pumps) {
    for (int i = 0; i < c->nin; i++)
      if (c->pumps[i].task) eddy_cancel(c->pumps[i].task);
    for (int i = 0; i < c->nin; i++)
      if (c->pumps[i].task) {
        eddy_join(c->pumps[i].task, NULL); /* shielded by the caller's close */
        c->pumps[i].task = NULL;
      }
  } else {
    for (int i = 0; i < c->nin; i++) close_inner(c->in[i]);
  }
  return 0;
}

static void comb_release(eddy_iter *it) {
  comb *c = (comb *)it;
  if (c->ch) eddy_chan_free(c->ch);
  eddy__free(c->pumps);
  eddy__free(c->scratch);
  eddy__free(c->in);
  eddy__free(c);
}

static int next_in(comb *c, int i, void *item) { return eddy_iter_next(c->in[i], item); }

static int comb_next(eddy_iter *it, void *item) {
  comb *c = (comb *)it;
  int r;
  switch (c->kind) {
  case K_MAP:
    if ((r = next_in(c, 0, c->scratch))) return r;
    return c->fn(c->ctx, c->scratch, item);
  case K_FILTER:
  case K_TAKE_WHILE:
    for (;;) {
      if ((r = next_in(c, 0, item))) return r;
      int keep = c->pred(c->ctx, item);
      if (keep < 0) return keep;
      if (keep) return 0;
      if (c->kind == K_TAKE_WHILE) return EDDY_DONE;
    }
  case K_TAKE:
    if (c->count >= c->n) return EDDY_DONE;
    if ((r = next_in(c, 0, item))) return r;
    c->count++;
    return 0;
  case K_SKIP:
    while (c->count < c->n) {
      if ((r = next_in(c, 0, item))) return r;
      c->count++;
    }
    return next_in(c, 0, item);
  case K_ENUM: {
    eddy_enumerated *h = item;
    if ((r = next_in(c, 0, (char *)item + sizeof *h))) return r;
    h->index = c->count++;
    return 0;
  }
  case K_CHAIN:
    while (c->cur < c->nin) {
      r = next_in(c, c->cur, item);
      if (r != EDDY_DONE) return r;
      close_inner(c->in[c->cur]);
      c->in[c->cur++] = NULL;
    }
    return EDDY_DONE;
  case K_ZIP:
    if ((r = next_in(c, 0, item))) return r;
    return next_in(c, 1, (char *)item + c->size);
  case K_TIMEOUT:
    return eddy_iter_next_until(c->in[0], item, eddy_deadline_in(c->per));
  case K_INTERVAL: {
    eddy_time_t now = eddy_now();
    if (!c->next_tick) c->next_tick = now + c->per;
    if (c->next_tick <= now) /* fell behind: skip the missed ticks */
      c->next_tick += ((now - c->next_tick) / c->per + 1) * c->per;
    if ((r = eddy_sleep_until(c->next_tick))) return r;
    c->next_tick += c->per;
    c->count++;
    *(uint64_t *)item = c->count;
    return 0;
  }
  case K_PUMPED:
    r = eddy_chan_recv(c->ch, item, EDDY_FOREVER);
    if (r == EDDY_DONE && c->error) return c->error;
    return r;
  case K_BATCH: {
    size_t *n = item;
    char *dst = (char *)item + sizeof(size_t);
    *n = 0;
    eddy_time_t deadline = EDDY_FOREVER;
    while (*n < c->n) {
      r = eddy_chan_recv(c->ch, dst + *n * c->size, *n ? deadline : EDDY_FOREVER);
      if (r == -ETIMEDOUT) break; /* time cut: nothing was taken */
      if (r == EDDY_DONE) {
        if (*n) break;
        return c->error ? c->error : EDDY_DONE;
      }
      if (r) return r;
      if (*n == 0 && c->max_wait != EDDY_FOREVER) deadline = eddy_deadline_in(c->max_wait);
      (*n)++;
    }
    return 0;
  }
  }
  return -EINVAL;
}

static const eddy_iter_ops comb_ops = {comb_next, comb_close, comb_release};

/* Allocate a wrapper taking ownership of `in`; on failure close them. */
static comb *make(int kind, eddy_iter *const *in, int nin, size_t scratch) {
  comb *c = eddy__calloc(1, sizeof *c);
  eddy_iter **v = nin ? eddy__calloc((size_t)nin, sizeof *v) : NULL;
  char *s = scratch ? eddy__alloc(scratch) : NULL;
  if (!c || (nin && !v) || (scratch && !s)) {
    eddy__free(c);
    eddy__free(v);
    eddy__free(s);
    for (int i = 0; i < nin; i++) close_inner(in[i]);
    return NULL;
  }
  eddy_iter_init(&c->it, &comb_ops);
  c->it.owned = 1;
  c->kind = kind;
  c->in = v;
  c->nin = nin;
  for (int i = 0; i < nin; i++) c->in[i] = in[i];
  c->scratch = s;
  return c;
}

#define OR_ERROR(c) ((c) ? &(c)->it : eddy_iter_error(-ENOMEM))

static int bad_args(eddy_iter *const *in, int nin) {
  for (int i = 0; i < nin; i++)
    if (!in[i]) return 1;
  return nin <= 0;
}

EDDY_API eddy_iter *eddy_map(eddy_iter *in, size_t in_size, size_t out_size,
                             int (*fn)(void *, const void *, void *), void *ctx) {
  if (!in || !fn || !in_size) return eddy_iter_error(-EINVAL);
  comb *c = make(K_MAP, &in, 1, in_size);
  if (c) {
    c->fn = fn;
    c->ctx = ctx;
    c->size = in_size;
    c->out_size = out_size;
  }
  return OR_ERROR(c);
}

static eddy_iter *pred_comb(int kind, eddy_iter *in, size_t size,
                            int (*pred)(void *, const void *), void *ctx) {
  if (!in || !pred) return eddy_iter_error(-EINVAL);
  comb *c = make(kind, &in, 1, 0);
  if (c) {
    c->pred = pred;
    c->ctx = ctx;
    c->size = size;
  }
  return OR_ERROR(c);
}

EDDY_API eddy_iter *eddy_filter(eddy_iter *in, size_t size,
                                int (*pred)(void *, const void *), void *ctx) {
  return pred_comb(K_FILTER, in, size, pred, ctx);
}

EDDY_API eddy_iter *eddy_take_while(eddy_iter *in, size_t size,
                                    int (*pred)(void *, const void *), void *ctx) {
  return pred_comb(K_TAKE_WHILE, in, size, pred, ctx);
}

static eddy_iter *count_comb(int kind, eddy_iter *in, size_t size, size_t n) {
  if (!in) return eddy_iter_error(-EINVAL);
  comb *c = make(kind, &in, 1, 0);
  if (c) {
    c->n = n;
    c->size = size;
  }
  return OR_ERROR(c);
}

EDDY_API eddy_iter *eddy_take(eddy_iter *in, size_t size, size_t n) {
  return count_comb(K_TAKE, in, size, n);
}
EDDY_API eddy_iter *eddy_skip(eddy_iter *in, size_t size, size_t n) {
  return count_comb(K_SKIP, in, size, n);
}
EDDY_API eddy_iter *eddy_enumerate(eddy_iter *in, size_t size) {
  return count_comb(K_ENUM, in, size, 0);
}

EDDY_API eddy_iter *eddy_chain(eddy_iter *const *its, int n, size_t size) {
  if (!its || bad_args(its, n)) return eddy_iter_error(-EINVAL);
  comb *c = make(K_CHAIN, its, n, 0);
  if (c) c->size = size;
  return OR_ERROR(c);
}

EDDY_API eddy_iter *eddy_zip(eddy_iter *a, size_t a_size, eddy_iter *b,
                             size_t b_size) {
  eddy_iter *v[2] = {a, b};
  if (!a || !b) return eddy_iter_error(-EINVAL);
  comb *c = make(K_ZIP, v, 2, 0);
  if (c) {
    c->size = a_size;
    c->out_size = a_size + b_size;
  }
  return OR_ERROR(c);
}

EDDY_API eddy_iter *eddy_timeout_each(eddy_iter *in, eddy_time_t per_item) {
  if (!in || per_item <= 0) return eddy_iter_error(-EINVAL);
  comb *c = make(K_TIMEOUT, &in, 1, 0);
  if (c) c->per = per_item;
  return OR_ERROR(c);
}

EDDY_API eddy_iter *eddy_interval(eddy_time_t period) {
  if (period <= 0) return eddy_iter_error(-EINVAL);
  comb *c = make(K_INTERVAL, NULL, 0, 0);
  if (c) c->per = period;
  return OR_ERROR(c);
}

/* ---- pumped: merge, buffer, batch */

static int pump_task(void *arg) {
  pump *p = arg;
  comb *c = p->c;
  char item[256];
  void *buf = c->size <= sizeof item ? item : NULL;
  int st = -ENOMEM;
  if (buf) {
    /* FOR closes the inner iterator however this task ends */
    EDDY_FOR(*(char *)buf, p->in, st) {
      (void)0;
      int r = eddy_chan_send(c->ch, buf, EDDY_FOREVER);
      if (r) {
        EDDY_FOR_FAIL(st, r);
        break;
      }
    } /* FOR closed (and, if owned, freed) the inner iterator */
  } else {
    close_inner(p->in);
  }
  p->in = NULL;
  if (st != 0 && st != -ECANCELED && st != EDDY_ECLOSED && !c->error) c->error = st;
  if (--c->live_pumps == 0) eddy_chan_close(c->ch); /* all done: end of stream */
  return 0;
}

static eddy_iter *pumped(int kind, eddy_iter *const *its, int n, size_t size,
                         size_t cap) {
  if (!its || bad_args(its, n) || !size) return eddy_iter_error(-EINVAL);
  if (size > 256) {
    for (int i = 0; i < n; i++) close_inner(its[i]);
    return eddy_iter_error(-EMSGSIZE); /* pumped items are at most 256 bytes */
  }
  comb *c = make(kind, its, n, 0);
  if (!c) return eddy_iter_error(-ENOMEM);
  c->size = size;
  c->pumps = eddy__calloc((size_t)n, sizeof *c->pumps);
  int r = c->pumps ? eddy_chan_new(&c->ch, size, cap, NULL) : -ENOMEM;
  for (int i = 0; r == 0 && i < n; i++) {
    c->pumps[i].c = c;
    c->pumps[i].in = its[i];
    eddy_spawn_opts o = {.name = "pump"};
    r = eddy_spawn_ex(&c->pumps[i].task, pump_task, &c->pumps[i], &o);
    if (r == 0) c->live_pumps++;
  }
  if (r) { /* undo: cancel what started, close what did not */
    for (int i = 0; i < n; i++)
      if (!c->pumps || !c->pumps[i].task) close_inner(its[i]);
    if (c->pumps) {
      comb_close(&c->it);
    }
    comb_release(&c->it);
    return eddy_iter_error(r);
  }
  return &c->it;
}

EDDY_API eddy_iter *eddy_merge(eddy_iter *const *its, int n, size_t size) {
  return pumped(K_PUMPED, its, n, size, (size_t)n);
}

EDDY_API eddy_iter *eddy_buffer(eddy_iter *in, size_t size, size_t n) {
  if (n == 0) n = 1;
  return pumped(K_PUMPED, &in, 1, size, n);
}

EDDY_API eddy_iter *eddy_batch(eddy_iter *in, size_t size, size_t max,
                               eddy_time_t max_wait) {
  if (max == 0) return eddy_iter_error(-EINVAL);
  eddy_iter *it = pumped(K_BATCH, &in, 1, size, max);
  comb *c = it->ops == &comb_ops ? (comb *)it : NULL;
  if (c) {
    c->n = max;
    c->max_wait = max_wait;
  }
  return it;
}
