/* db.c: the keyspace: keys to values in a hash table, deadlines, lazy and
 * swept expiry (see db.h). A string value lives in the same allocation as
 * its header, and SET over a string that fits reuses it, so overwriting a
 * key allocates nothing. */
#include "db.h"

#include <stdlib.h>
#include <string.h>

void db_init(db *d, uint64_t seed) {
  ht_init(&d->keys);
  d->nexpire = 0;
  d->cursor = 0;
  d->rng = seed | 1;
}

static void obj_free(void *p) {
  obj *o = p;
  if (!o) return;
  switch (o->type) {
  case T_LIST: list_free(o->p); break;
  case T_SET: set_free(o->p); break;
  case T_HASH: hash_free(o->p); break;
  case T_ZSET: zset_free(o->p); break;
  default: break;
  }
  free(o);
}

void db_fini(db *d) { db_flush(d); }

void db_flush(db *d) {
  ht_clear(&d->keys, obj_free);
  d->nexpire = 0;
  d->cursor = 0;
}

size_t db_size(const db *d) { return d->keys.count; }

static void drop(db *d, ht_entry *e) {
  obj *o = e->val;
  if (o->expire) d->nexpire--;
  obj_free(o);
  ht_remove_entry(&d->keys, e);
}

obj *db_get(db *d, const char *k, size_t n, int64_t now) {
  ht_entry *e = ht_find(&d->keys, k, n);
  if (!e) return NULL;
  obj *o = e->val;
  if (o->expire && o->expire <= now) {
    drop(d, e);
    ht_maybe_shrink(&d->keys);
    return NULL;
  }
  return o;
}

void db_set_expire(db *d, obj *o, int64_t expire) {
  if (!o->expire && expire) d->nexpire++;
  if (o->expire && !expire) d->nexpire--;
  o->expire = expire;
}

obj *db_set_string(db *d, const char *k, size_t n, const char *v, size_t vn,
                   int64_t expire, int64_t now) {
  (void)now;
  int created;
  ht_entry *e = ht_upsert(&d->keys, k, n, &created);
  if (!e) return NULL;
  obj *o = e->val;
  if (o && o->type == T_STRING && o->cap >= vn && o->cap <= 2 * vn + 64) {
    memcpy(o->data, v, vn);
    o->len = vn;
    db_set_expire(d, o, expire);
    return o;
  }
  size_t cap = vn < 16 ? 16 : vn;
  obj *no = malloc(sizeof *no + cap);
  if (!no) {
    if (created) ht_remove_entry(&d->keys, e);
    return NULL;
  }
  if (o) {
    if (o->expire) d->nexpire--;
    obj_free(o);
  }
  no->type = T_STRING;
  no->expire = 0;
  no->len = vn;
  no->cap = cap;
  no->p = NULL;
  memcpy(no->data, v, vn);
  e->val = no;
  db_set_expire(d, no, expire);
  return no;
}

obj *db_add_empty(db *d, const char *k, size_t n, int type) {
  void *p = NULL;
  switch (type) {
  case T_LIST: p = list_new(); break;
  case T_SET:
  case T_HASH: p = hashset_new(); break;
  case T_ZSET: p = zset_new(); break;
  default: return NULL;
  }
  if (!p) return NULL;
  obj *o = malloc(sizeof *o);
  int created;
  ht_entry *e = o ? ht_upsert(&d->keys, k, n, &created) : NULL;
  if (!e) {
    free(o);
    if (type == T_LIST) list_free(p);
    else if (type == T_ZSET) zset_free(p);
    else set_free(p); /* empty: hash_free would do the same */
    return NULL;
  }
  if (!created) { /* the caller checked it was absent; replace anyway */
    obj *old = e->val;
    if (old->expire) d->nexpire--;
    obj_free(old);
  }
  o->type = type;
  o->expire = 0;
  o->len = o->cap = 0;
  o->p = p;
  e->val = o;
  return o;
}

int db_del(db *d, const char *k, size_t n, int64_t now) {
  if (!db_get(d, k, n, now)) return 0;
  ht_entry *e = ht_find(&d->keys, k, n);
  drop(d, e);
  ht_maybe_shrink(&d->keys);
  return 1;
}

size_t obj_elements(const obj *o) {
  switch (o->type) {
  case T_LIST: return ((list *)o->p)->len;
  case T_SET:
  case T_HASH: return ((ht *)o->p)->count;
  case T_ZSET: return ((zset *)o->p)->n;
  default: return 0;
  }
}

void db_del_if_empty(db *d, const char *k, size_t n, obj *o) {
  if (o->type != T_STRING && obj_elements(o) == 0) {
    ht_entry *e = ht_find(&d->keys, k, n);
    if (e && e->val == o) {
      drop(d, e);
      ht_maybe_shrink(&d->keys);
    }
  }
}

size_t db_sweep(db *d, size_t budget, int64_t now) {
  ht *t = &d->keys;
  if (!d->nexpire || !t->b) return 0;
  size_t deleted = 0;
  while (budget--) {
    if (d->cursor > t->mask) d->cursor = 0;
    ht_entry *e = t->b[d->cursor];
    while (e) {
      ht_entry *next = e->next;
      obj *o = e->val;
      if (o->expire && o->expire <= now) {
        drop(d, e);
        deleted++;
      }
      e = next;
    }
    d->cursor++;
  }
  if (deleted) ht_maybe_shrink(t);
  return deleted;
}
