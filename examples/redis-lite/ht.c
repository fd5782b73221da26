/* ht.c: the hash table (see ht.h). The hash is a seeded multiply-rotate
 * over 8-byte words (keys are short; this is a few cycles per key). The
 * resize is done at once: simple, and a table of a million keys rehashes
 * in milliseconds. */
#include "ht.h"

#include <stdlib.h>
#include <string.h>

static uint64_t seed_ = 0x9e3779b97f4a7c15ull;

void ht_seed(uint64_t seed) { seed_ = seed | 1; }

static inline uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t ht_hash(const char *k, size_t n) {
  uint64_t h = seed_ ^ (n * 0xa0761d6478bd642full);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, k + i, 8);
    h = mix(h ^ w, 0xe7037ed1a0b428dbull);
  }
  uint64_t w = 0;
  memcpy(&w, k + i, n - i);
  h = mix(h ^ w ^ 0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull);
  return mix(h, seed_ ^ 0x1d8e4e27c47d124full);
}

uint64_t ht_rand(uint64_t *rng) {
  uint64_t x = *rng ? *rng : 0x2545f4914f6cdd1dull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *rng = x;
  return x;
}

void ht_init(ht *t) {
  t->b = NULL;
  t->mask = 0;
  t->count = 0;
}

ht_entry *ht_find_h(const ht *t, const char *k, size_t n, uint64_t h) {
  if (!t->b) return NULL;
  for (ht_entry *e = t->b[h & t->mask]; e; e = e->next)
    if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0) return e;
  return NULL;
}

ht_entry *ht_find(const ht *t, const char *k, size_t n) {
  return t->b ? ht_find_h(t, k, n, ht_hash(k, n)) : NULL;
}

static int resize(ht *t, size_t nb) {
  ht_entry **b = calloc(nb, sizeof *b);
  if (!b) return -1;
  size_t old = t->b ? t->mask + 1 : 0;
  for (size_t i = 0; i < old; i++) {
    ht_entry *e = t->b[i];
    while (e) {
      ht_entry *next = e->next;
      size_t j = e->hash & (nb - 1);
      e->next = b[j];
      b[j] = e;
      e = next;
    }
  }
  free(t->b);
  t->b = b;
  t->mask = nb - 1;
  return 0;
}

ht_entry *ht_upsert(ht *t, const char *k, size_t n, int *created) {
  uint64_t h = ht_hash(k, n);
  ht_entry *e = ht_find_h(t, k, n, h);
  *created = 0;
  if (e) return e;
  if (!t->b || t->count >= t->mask + 1) {
    size_t nb = t->b ? (t->mask + 1) * 2 : 8;
    if (resize(t, nb) && !t->b) return NULL; /* a failed grow only slows */
  }
  e = malloc(sizeof *e + n);
  if (!e) return NULL;
  e->hash = h;
  e->val = NULL;
  e->klen = n;
  memcpy(e->key, k, n);
  ht_entry **slot = &t->b[h & t->mask];
  e->next = *slot;
  *slot = e;
  t->count++;
  *created = 1;
  return e;
}

void ht_remove_entry(ht *t, ht_entry *e) {
  ht_entry **p = &t->b[e->hash & t->mask];
  while (*p != e) p = &(*p)->next;
  *p = e->next;
  t->count--;
  free(e);
}

int ht_remove(ht *t, const char *k, size_t n, void **val) {
  ht_entry *e = ht_find(t, k, n);
  if (!e) return 0;
  if (val) *val = e->val;
  ht_remove_entry(t, e);
  ht_maybe_shrink(t);
  return 1;
}

void ht_maybe_shrink(ht *t) {
  if (t->b && t->mask + 1 > 64 && t->count < (t->mask + 1) / 8)
    resize(t, (t->mask + 1) / 2); /* on failure the table stays as it is */
}

void ht_clear(ht *t, void (*free_val)(void *)) {
  size_t nb = t->b ? t->mask + 1 : 0;
  for (size_t i = 0; i < nb; i++) {
    ht_entry *e = t->b[i];
    while (e) {
      ht_entry *next = e->next;
      if (free_val) free_val(e->val);
      free(e);
      e = next;
    }
  }
  free(t->b);
  ht_init(t);
}

ht_entry *ht_random(const ht *t, uint64_t *rng) {
  if (!t->count) return NULL;
  for (;;) { /* load factor stays >= 1/8, so this ends quickly */
    ht_entry *e = t->b[ht_rand(rng) & t->mask];
    if (!e) continue;
    size_t len = 0;
    for (ht_entry *x = e; x; x = x->next) len++;
    size_t pick = (size_t)(ht_rand(rng) % len);
    while (pick--) e = e->next;
    return e;
  }
}

ht_entry *ht_next(const ht *t, size_t *bucket, ht_entry **e) {
  if (!t->b) return NULL;
  ht_entry *cur = *e;
  while (!cur) {
    if (*bucket > t->mask) return NULL;
    cur = t->b[(*bucket)++];
  }
  *e = cur->next;
  return cur;
}
