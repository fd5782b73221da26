/* types.c: the aggregate value types: lists (a ring buffer of elements,
 * O(1) push and pop at both ends), sets and hashes (hash tables), sorted
 * sets (a hash table of members plus a skip list ordered by score, then
 * member). */
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

/* ---- sorted sets: a skip list (O(log n) insert, delete and update; the
 * lowest member is the head's first link) */
zset *zset_new(void) {
  zset *z = calloc(1, sizeof *z);
  if (!z) return NULL;
  z->head = calloc(1, sizeof *z->head + ZSET_MAXLEVEL * sizeof(znode *));
  if (!z->head) {
    free(z);
    return NULL;
  }
  ht_init(&z->members);
  z->level = 1;
  z->rng = (uint64_t)(uintptr_t)z * 0x9e3779b97f4a7c15ull;
  return z;
}

void zset_free(zset *z) {
  if (!z) return;
  ht_clear(&z->members, free); /* the values are the nodes */
  free(z->head);
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

/* The last node before x at every level. */
static void zpredecessors(zset *z, const znode *x, znode **update) {
  znode *p = z->head;
  for (int i = z->level - 1; i >= 0; i--) {
    while (p->next[i] && p->next[i] != x &&
           zcmp(x->score, x->e->key, x->e->klen, p->next[i]) > 0)
      p = p->next[i];
    update[i] = p;
  }
}

static void zlink(zset *z, znode *x) {
  znode *update[ZSET_MAXLEVEL];
  zpredecessors(z, x, update);
  for (int i = z->level; i < x->level; i++) update[i] = z->head;
  if (x->level > z->level) z->level = x->level;
  for (int i = 0; i < x->level; i++) {
    x->next[i] = update[i]->next[i];
    update[i]->next[i] = x;
  }
  z->n++;
}

static void zunlink(zset *z, znode *x) {
  znode *update[ZSET_MAXLEVEL];
  zpredecessors(z, x, update);
  for (int i = 0; i < z->level; i++)
    if (update[i]->next[i] == x) update[i]->next[i] = x->next[i];
  while (z->level > 1 && !z->head->next[z->level - 1]) z->level--;
  z->n--;
}

int zset_add(zset *z, const char *m, size_t n, double score) {
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
  int level = 1; /* each level with probability 1/4 */
  while (level < ZSET_MAXLEVEL && (ht_rand(&z->rng) & 3) == 0) level++;
  znode *x = malloc(sizeof *x + (size_t)level * sizeof(znode *));
  if (!x) {
    ht_remove_entry(&z->members, e);
    return -1;
  }
  x->score = score;
  x->e = e;
  x->level = level;
  e->val = x;
  zlink(z, x);
  return 1;
}

int zset_pop_min(zset *z, char **member, size_t *n, double *score) {
  znode *x = z->head->next[0];
  if (!x) return 0;
  char *m = malloc(x->e->klen ? x->e->klen : 1);
  if (!m) return -1;
  memcpy(m, x->e->key, x->e->klen);
  *member = m;
  *n = x->e->klen;
  *score = x->score;
  zunlink(z, x);
  ht_remove_entry(&z->members, x->e);
  free(x);
  ht_maybe_shrink(&z->members);
  return 1;
}
