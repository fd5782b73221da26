/* ht.h: the hash table behind the keyspace and the set, hash and sorted
 * set types: byte-string keys (any bytes, stored inline in the entry, one
 * allocation per entry) to a pointer, separate chaining, power-of-two
 * bucket arrays that double as it fills and halve as it empties. Hashes
 * are seeded per process, so a client cannot pick keys that all collide. */
#ifndef REDIS_LITE_HT_H
#define REDIS_LITE_HT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ht_entry {
  struct ht_entry *next;
  uint64_t hash;
  void *val;
  size_t klen;
  char key[];
} ht_entry;

typedef struct ht {
  ht_entry **b;
  size_t mask;  /* buckets - 1 (0 with no bucket array yet) */
  size_t count;
} ht;

/* Seed the hash function (once, before any table is used). */
void ht_seed(uint64_t seed);
uint64_t ht_hash(const char *k, size_t n);

void ht_init(ht *t);
ht_entry *ht_find(const ht *t, const char *k, size_t n);
ht_entry *ht_find_h(const ht *t, const char *k, size_t n, uint64_t h);
/* Find k, or add it with val NULL (*created = 1). NULL when out of memory. */
ht_entry *ht_upsert(ht *t, const char *k, size_t n, int *created);
/* Unlink and free k's entry; its value goes to *val. 1 if it was there. */
int ht_remove(ht *t, const char *k, size_t n, void **val);
/* Unlink and free an entry known to be in the table. */
void ht_remove_entry(ht *t, ht_entry *e);
/* Free every entry (free_val on each value, if not NULL) and the buckets. */
void ht_clear(ht *t, void (*free_val)(void *));
/* A random entry (NULL if empty); rng is the caller's xorshift state. */
ht_entry *ht_random(const ht *t, uint64_t *rng);
/* Iterate: start with *bucket = 0, *e = NULL; each call returns the next
 * entry, NULL at the end. The successor is saved before returning, so the
 * entry just returned may be removed (ht_remove_entry); nothing else may
 * change the table while iterating. */
ht_entry *ht_next(const ht *t, size_t *bucket, ht_entry **e);
/* Let the table shrink after many removals (not done inside ht_next loops). */
void ht_maybe_shrink(ht *t);
uint64_t ht_rand(uint64_t *rng);

#endif
