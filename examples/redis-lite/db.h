/* db.h: the keyspace (one database, as SELECT 0 implies) and the value
 * types it holds. Expiry is by absolute deadline in milliseconds on the
 * caller's clock: lazy (every lookup of an expired key deletes it) plus
 * db_sweep(), which a periodic task calls to reclaim keys nobody reads.
 * Nothing here does I/O or knows about connections. */
#ifndef REDIS_LITE_DB_H
#define REDIS_LITE_DB_H

#include "ht.h"

#include <stddef.h>
#include <stdint.h>

enum { T_STRING, T_LIST, T_SET, T_HASH, T_ZSET };

typedef struct str { /* a list element or a hash field's value */
  size_t len;
  char data[];
} str;

typedef struct list { /* a ring buffer of elements */
  str **a;
  size_t head, len, cap;
} list;

typedef struct znode { /* a sorted-set member: a skip-list node */
  double score;
  ht_entry *e; /* the member (its key) in zset.members; e->val == this */
  int level;
  struct znode *next[];
} znode;

#define ZSET_MAXLEVEL 32

typedef struct zset { /* members by name, and a skip list by (score, member) */
  ht members;
  znode *head; /* ZSET_MAXLEVEL links, no member */
  int level;
  size_t n;
  uint64_t rng;
} zset;

typedef struct obj {
  int type;
  int64_t expire; /* ms deadline, 0 = none */
  size_t len, cap; /* strings: bytes in data, capacity of data */
  void *p;         /* list *, ht * (set: values NULL; hash: str *), zset * */
  char data[];
} obj;

typedef struct db {
  ht keys;         /* key -> obj * */
  size_t nexpire;  /* keys with a deadline */
  size_t cursor;   /* the sweep's next bucket */
  uint64_t rng;
} db;

void db_init(db *d, uint64_t seed);
void db_fini(db *d);          /* frees everything */
size_t db_size(const db *d);
/* The live value of k, or NULL (an expired key is deleted here). */
obj *db_get(db *d, const char *k, size_t n, int64_t now);
/* Set k to a string, reusing the old allocation when it fits; the key's
 * deadline becomes `expire` (0: none). NULL when out of memory. */
obj *db_set_string(db *d, const char *k, size_t n, const char *v, size_t vn,
                   int64_t expire, int64_t now);
/* Create k holding an empty value of the given aggregate type. */
obj *db_add_empty(db *d, const char *k, size_t n, int type);
int db_del(db *d, const char *k, size_t n, int64_t now); /* 1 if it existed */
void db_set_expire(db *d, obj *o, int64_t expire);
/* Delete an aggregate key that has become empty. */
void db_del_if_empty(db *d, const char *k, size_t n, obj *o);
void db_flush(db *d);
/* Visit up to `budget` buckets from the cursor, deleting expired keys;
 * returns how many it deleted. */
size_t db_sweep(db *d, size_t budget, int64_t now);
size_t obj_elements(const obj *o); /* elements of an aggregate (0 for strings) */

/* ---- the types (types.c) */
str *str_new(const char *s, size_t n);
list *list_new(void);
void list_free(list *l);
int list_push(list *l, str *s, int left); /* 0 or -1 (no memory) */
str *list_pop(list *l, int left);
str *list_at(const list *l, size_t i);

zset *zset_new(void);
void zset_free(zset *z);
/* Add or update: 1 added, 0 updated (or unchanged), -1 no memory. */
int zset_add(zset *z, const char *m, size_t n, double score);
/* Remove the lowest-scored member; its name goes to buf (caller frees). */
int zset_pop_min(zset *z, char **member, size_t *n, double *score);

ht *hashset_new(void);
void set_free(ht *s);
void hash_free(ht *h);

#endif
