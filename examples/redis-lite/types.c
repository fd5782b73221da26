/* types.c: the aggregate value types: lists (a ring buffer of elements,
 * O(1) push and pop at both ends), sets and hashes (hash tables), sorted
 * sets (a hash table of members plus an array kept sorted by score, which
 * is simple and fast for the sizes a lite server holds; insertion is a
 * binary search and a memmove). */
#include "db.h"

#include <stdlib.h>
#include <string.h>

str *str_new(const char *s, size_t n) {
  str *x = malloc(sizeof *x + n);
  if (!x) return NULL;
  x->len = n;
  memcpy(x->data, s, n);
  return x;
}

/* ---- lists (the capacity is a power of two, so wrapping is a mask) */
list *list_new(void) { return calloc(1, sizeof(list)); }

void list_free(list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->len; i++) free(l->a[(l->head + i) & (l->cap - 1)]);
  free(l->a);
  free(l);
}

int list_push(list *l, str *s, int left) {
  if (l->len == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 8;
    str **a = malloc(ncap * sizeof *a);
    if (!a) return -1;
    for (size_t i = 0; i < l->len; i++) a[i] = l->a[(l->head + i) & (l->cap - 1)];
    free(l->a);
    l->a = a;
    l->cap = ncap;
    l->head = 0;
  }
  if (left) {
    l->head = (l->head + l->cap - 1) & (l->cap - 1);
    l->a[l->head] = s;
  } else {
    l->a[(l->head + l->len) & (l->cap - 1)] = s;
  }
  l->len++;
  return 0;
}

str *list_pop(list *l, int left) {
  if (!l->len) return NULL;
  str *s;
  if (left) {
    s = l->a[l->head];
    l->head = (l->head + 1) & (l->cap - 1);
  } else {
    s = l->a[(l->head + l->len - 1) & (l->cap - 1)];
  }
  l->len--;
  if (l->len == 0) l->head = 0;
  return s;
}

str *list_at(const list *l, size_t i) { return l->a[(l->head + i) & (l->cap - 1)]; }

/* ---- sets and hashes */
ht *hashset_new(void) {
  ht *t = malloc(sizeof *t);
  if (t) ht_init(t);
  return t;
}

void set_free(ht *s) {
  if (!s) return;
  ht_clear(s, NULL);
  free(s);
}

void hash_free(ht *h) {
  if (!h) return;
  ht_clear(h, free);
  free(h);
}

/* ---- sorted sets */
zset *zset_new(void) {
  zset *z = calloc(1, sizeof *z);
  if (z) ht_init(&z->members);
  return z;
}

void zset_free(zset *z) {
  if (!z) return;
  ht_clear(&z->members, free);
  free(z->a);
  free(z);
}

static int zcmp(double s, const char *m, size_t n, const znode *b) {
  if (s < b->score) return -1;
  if (s > b->score) return 1;
  size_t k = n < b->e->klen ? n : b->e->klen;
  int c = memcmp(m, b->e->key, k);
  if (c) return c;
  return n < b->e->klen ? -1 : n > b->e->klen;
}

/* Index of the first node not less than (s, m). */
static size_t zsearch(const zset *z, double s, const char *m, size_t n) {
  size_t lo = 0, hi = z->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (zcmp(s, m, n, z->a[mid]) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static void zunlink(zset *z, znode *x) {
  size_t i = zsearch(z, x->score, x->e->key, x->e->klen);
  memmove(z->a + i, z->a + i + 1, (z->n - i - 1) * sizeof *z->a);
  z->n--;
}

static void zlink(zset *z, znode *x) { /* room is reserved by the caller */
  size_t i = zsearch(z, x->score, x->e->key, x->e->klen);
  memmove(z->a + i + 1, z->a + i, (z->n - i) * sizeof *z->a);
  z->a[i] = x;
  z->n++;
}

int zset_add(zset *z, const char *m, size_t n, double score) {
  if (z->n == z->cap) {
    size_t ncap = z->cap ? z->cap * 2 : 8;
    znode **a = realloc(z->a, ncap * sizeof *a);
    if (!a) return -1;
    z->a = a;
    z->cap = ncap;
  }
  int created;
  ht_entry *e = ht_upsert(&z->members, m, n, &created);
  if (!e) return -1;
  if (!created) {
    znode *x = e->val;
    if (x->score != score) {
      zunlink(z, x);
      x->score = score;
      zlink(z, x);
    }
    return 0;
  }
  znode *x = malloc(sizeof *x);
  if (!x) {
    ht_remove_entry(&z->members, e);
    return -1;
  }
  x->score = score;
  x->e = e;
  e->val = x;
  zlink(z, x);
  return 1;
}

int zset_pop_min(zset *z, char **member, size_t *n, double *score) {
  if (!z->n) return 0;
  znode *x = z->a[0];
  char *m = malloc(x->e->klen ? x->e->klen : 1);
  if (!m) return -1;
  memcpy(m, x->e->key, x->e->klen);
  *member = m;
  *n = x->e->klen;
  *score = x->score;
  memmove(z->a, z->a + 1, (z->n - 1) * sizeof *z->a);
  z->n--;
  ht_remove_entry(&z->members, x->e);
  free(x);
  ht_maybe_shrink(&z->members);
  return 1;
}
