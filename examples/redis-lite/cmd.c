/* cmd.c: the commands: a table from name to handler with Redis's arity
 * convention (n: exactly n words including the name; -n: at least n), and
 * the handlers, which read the arguments, change the keyspace and append
 * one reply each. Error texts follow Redis so clients recognise them. */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define A(i) (cmd->argv[i])
#define L(i) (cmd->lens[i])

static const char E_WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
static const char E_NOTINT[] = "ERR value is not an integer or out of range";
static const char E_SYNTAX[] = "ERR syntax error";
static const char E_OOM[] = "OOM command not allowed when used memory > 'maxmemory'";
static const char E_NOTFLOAT[] = "ERR value is not a valid float";

int64_t now_ms(void) { return eddy_now() / 1000000; }

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is(const resp_cmd *cmd, int i, const char *word) {
  size_t n = strlen(word);
  return L(i) == n && strncasecmp(A(i), word, n) == 0;
}

static int arg_ll(client *c, const resp_cmd *cmd, int i, long long *v) {
  if (resp_to_ll(A(i), L(i), v)) {
    resp_out_error(&c->out, E_NOTINT);
    return -1;
  }
  return 0;
}

/* A live key of the given type: the object, NULL when absent; *bad = 1
 * (and the WRONGTYPE reply written) when it holds another type. */
static obj *lookup(client *c, const char *k, size_t n, int type, int *bad) {
  obj *o = db_get(&c->srv->db, k, n, now_ms());
  *bad = 0;
  if (o && o->type != type) {
    resp_out_error(&c->out, E_WRONGTYPE);
    *bad = 1;
    return NULL;
  }
  return o;
}

/* The key's aggregate, created empty if absent. NULL: reply written. */
static obj *lookup_or_create(client *c, const char *k, size_t n, int type) {
  int bad;
  obj *o = lookup(c, k, n, type, &bad);
  if (bad) return NULL;
  if (!o && !(o = db_add_empty(&c->srv->db, k, n, type))) resp_out_error(&c->out, E_OOM);
  return o;
}

/* ---------------------------------------------------------- connection */
static void c_ping(client *c, const resp_cmd *cmd) {
  if (cmd->argc == 1) resp_out_raw(&c->out, "+PONG\r\n", 7);
  else resp_out_bulk(&c->out, A(1), L(1));
}

static void c_echo(client *c, const resp_cmd *cmd) { resp_out_bulk(&c->out, A(1), L(1)); }

static void c_quit(client *c, const resp_cmd *cmd) {
  (void)cmd;
  resp_out_ok(&c->out);
  c->quit = 1;
}

static void c_select(client *c, const resp_cmd *cmd) {
  long long index;
  if (resp_to_ll(A(1), L(1), &index)) resp_out_error(&c->out, E_NOTINT);
  else if (index != 0) resp_out_error(&c->out, "ERR DB index is out of range");
  else resp_out_ok(&c->out);
}

static void c_client(client *c, const resp_cmd *cmd) {
  if (is(cmd, 1, "setname") && cmd->argc == 3) {
    for (size_t i = 0; i < L(2); i++)
      if (A(2)[i] <= ' ' || A(2)[i] > '~') {
        resp_out_error(&c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    size_t n = L(2) < sizeof c->name - 1 ? L(2) : sizeof c->name - 1;
    memcpy(c->name, A(2), n);
    c->name[n] = 0;
    resp_out_ok(&c->out);
  } else if (is(cmd, 1, "getname") && cmd->argc == 2) {
    if (c->name[0]) resp_out_bulk(&c->out, c->name, strlen(c->name));
    else resp_out_null(&c->out);
  } else if (is(cmd, 1, "id") && cmd->argc == 2) {
    resp_out_int(&c->out, (long long)c->id);
  } else if (is(cmd, 1, "setinfo") && cmd->argc == 4) {
    resp_out_ok(&c->out);
  } else {
    resp_out_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLIENT HELP.",
                    (int)(L(1) > 40 ? 40 : L(1)), A(1));
  }
}

/* Redis's glob for CONFIG GET: * ? and literal characters, nocase.
 * Iterative, backtracking only to the last star: O(pattern x name) even
 * for a hostile "*a*a*a*..." pattern. */
static int glob(const char *p, const char *s) {
  const char *star = NULL, *resume = NULL;
  while (*s) {
    if (*p == '*') {
      star = p++;
      resume = s;
    } else if (*p && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
      p++;
      s++;
    } else if (star) {
      p = star + 1;
      s = ++resume;
    } else {
      return 0;
    }
  }
  while (*p == '*') p++;
  return !*p;
}

static void c_config(client *c, const resp_cmd *cmd) {
  if (is(cmd, 1, "get") && cmd->argc >= 3) {
    server_cfg *cf = &c->srv->cfg;
    char v[6][32];
    snprintf(v[0], sizeof v[0], "%zu", cf->max_clients);
    snprintf(v[1], sizeof v[1], "%zu", cf->lim.max_bulk);
    snprintf(v[2], sizeof v[2], "%d", cf->port);
    snprintf(v[3], sizeof v[3], "%zu", cf->lim.max_inline);
    const char *names[] = {"save", "appendonly", "databases", "maxclients", "proto-max-bulk-len",
                           "port", "bind", "maxmemory"};
    const char *vals[] = {"", "no", "1", v[0], v[1], v[2], cf->bind, "0"};
    size_t nn = sizeof names / sizeof *names;
    int hit[sizeof names / sizeof *names] = {0};
    size_t nhit = 0;
    for (int i = 2; i < cmd->argc; i++) {
      char pat[128];
      size_t n = L(i) < sizeof pat - 1 ? L(i) : sizeof pat - 1;
      memcpy(pat, A(i), n);
      pat[n] = 0;
      for (size_t k = 0; k < nn; k++)
        if (!hit[k] && glob(pat, names[k])) {
          hit[k] = 1;
          nhit++;
        }
    }
    resp_out_array(&c->out, (long long)nhit * 2);
    for (size_t k = 0; k < nn; k++)
      if (hit[k]) {
        resp_out_bulk(&c->out, names[k], strlen(names[k]));
        resp_out_bulk(&c->out, vals[k], strlen(vals[k]));
      }
  } else if (is(cmd, 1, "resetstat") && cmd->argc == 2) {
    resp_out_ok(&c->out);
  } else if (is(cmd, 1, "set")) {
    resp_out_error(&c->out, "ERR CONFIG SET is not supported by this server");
  } else {
    resp_out_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CONFIG HELP.",
                    (int)(L(1) > 40 ? 40 : L(1)), A(1));
  }
}

static void c_dbsize(client *c, const resp_cmd *cmd) {
  (void)cmd;
  resp_out_int(&c->out, (long long)db_size(&c->srv->db));
}

static void c_flushall(client *c, const resp_cmd *cmd) {
  if (cmd->argc > 2 || (cmd->argc == 2 && !is(cmd, 1, "sync") && !is(cmd, 1, "async"))) {
    resp_out_error(&c->out, E_SYNTAX);
    return;
  }
  db_flush(&c->srv->db);
  resp_out_ok(&c->out);
}

static void c_info(client *c, const resp_cmd *cmd) {
  (void)cmd;
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nserver_name:redis-lite\r\n"
                   "tcp_port:%d\r\n\r\n# Clients\r\nconnected_clients:%zu\r\n\r\n"
                   "# Stats\r\ntotal_commands_processed:%llu\r\n\r\n# Keyspace\r\n",
                   c->srv->cfg.port, c->srv->nclients, (unsigned long long)c->srv->commands);
  if (db_size(&c->srv->db) && n < (int)sizeof buf)
    n += snprintf(buf + n, sizeof buf - (size_t)n, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n",
                  db_size(&c->srv->db), c->srv->db.nexpire);
  resp_out_bulk(&c->out, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---------------------------------------------------------- keys */
static void c_del(client *c, const resp_cmd *cmd) {
  long long n = 0;
  int64_t now = now_ms();
  for (int i = 1; i < cmd->argc; i++) n += db_del(&c->srv->db, A(i), L(i), now);
  resp_out_int(&c->out, n);
}

static void c_exists(client *c, const resp_cmd *cmd) {
  long long n = 0;
  int64_t now = now_ms();
  for (int i = 1; i < cmd->argc; i++) n += db_get(&c->srv->db, A(i), L(i), now) != NULL;
  resp_out_int(&c->out, n);
}

static void c_type(client *c, const resp_cmd *cmd) {
  static const char *names[] = {"string", "list", "set", "hash", "zset"};
  obj *o = db_get(&c->srv->db, A(1), L(1), now_ms());
  resp_out_simple(&c->out, o ? names[o->type] : "none");
}

/* EXPIRE/PEXPIRE key time [NX|XX|GT|LT] */
static void expire_generic(client *c, const resp_cmd *cmd, int64_t unit) {
  long long t;
  if (arg_ll(c, cmd, 2, &t)) return;
  int nx = 0, xx = 0, gt = 0, lt = 0;
  for (int i = 3; i < cmd->argc; i++) {
    if (is(cmd, i, "nx")) nx = 1;
    else if (is(cmd, i, "xx")) xx = 1;
    else if (is(cmd, i, "gt")) gt = 1;
    else if (is(cmd, i, "lt")) lt = 1;
    else {
      resp_out_errorf(&c->out, "ERR Unsupported option %.*s", (int)(L(i) > 40 ? 40 : L(i)), A(i));
      return;
    }
  }
  if (nx + xx + gt + lt > 1 && !(xx && (gt || lt) && nx + xx + gt + lt == 2)) {
    resp_out_error(&c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  int64_t now = now_ms();
  if (t > (INT64_MAX - now) / unit || t < (INT64_MIN + now) / unit) {
    resp_out_errorf(&c->out, "ERR invalid expire time in '%s' command", unit == 1 ? "pexpire" : "expire");
    return;
  }
  obj *o = db_get(&c->srv->db, A(1), L(1), now);
  if (!o) {
    resp_out_int(&c->out, 0);
    return;
  }
  int64_t when = now + t * unit;
  int64_t cur = o->expire; /* 0: none, i.e. infinite */
  if ((nx && cur) || (xx && !cur) || (gt && (!cur || when <= cur)) || (lt && cur && when >= cur)) {
    resp_out_int(&c->out, 0);
    return;
  }
  if (when <= now) db_del(&c->srv->db, A(1), L(1), now);
  else db_set_expire(&c->srv->db, o, when);
  resp_out_int(&c->out, 1);
}
static void c_expire(client *c, const resp_cmd *cmd) { expire_generic(c, cmd, 1000); }
static void c_pexpire(client *c, const resp_cmd *cmd) { expire_generic(c, cmd, 1); }

static void ttl_generic(client *c, const resp_cmd *cmd, int ms) {
  int64_t now = now_ms();
  obj *o = db_get(&c->srv->db, A(1), L(1), now);
  if (!o) resp_out_int(&c->out, -2);
  else if (!o->expire) resp_out_int(&c->out, -1);
  else if (ms) resp_out_int(&c->out, o->expire - now);
  else resp_out_int(&c->out, (o->expire - now + 500) / 1000);
}
static void c_ttl(client *c, const resp_cmd *cmd) { ttl_generic(c, cmd, 0); }
static void c_pttl(client *c, const resp_cmd *cmd) { ttl_generic(c, cmd, 1); }

static void c_persist(client *c, const resp_cmd *cmd) {
  obj *o = db_get(&c->srv->db, A(1), L(1), now_ms());
  if (!o || !o->expire) {
    resp_out_int(&c->out, 0);
    return;
  }
  db_set_expire(&c->srv->db, o, 0);
  resp_out_int(&c->out, 1);
}

/* ---------------------------------------------------------- strings */
static void c_get(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_STRING, &bad);
  if (bad) return;
  if (o) resp_out_bulk(&c->out, o->data, o->len);
  else resp_out_null(&c->out);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL] */
static void c_set(client *c, const resp_cmd *cmd) {
  if (cmd->argc == 3) { /* no options: nothing to read first, no clock */
    if (db_set_string(&c->srv->db, A(1), L(1), A(2), L(2), 0, 0)) resp_out_ok(&c->out);
    else resp_out_error(&c->out, E_OOM);
    return;
  }
  int nx = 0, xx = 0, get = 0, keepttl = 0, has_exp = 0;
  int64_t now = now_ms(), expire = 0;
  for (int i = 3; i < cmd->argc; i++) {
    if (is(cmd, i, "nx") && !xx) nx = 1;
    else if (is(cmd, i, "xx") && !nx) xx = 1;
    else if (is(cmd, i, "get")) get = 1;
    else if (is(cmd, i, "keepttl") && !has_exp) keepttl = 1;
    else if ((is(cmd, i, "ex") || is(cmd, i, "px") || is(cmd, i, "exat") || is(cmd, i, "pxat")) &&
             !has_exp && !keepttl && i + 1 < cmd->argc) {
      long long t;
      if (arg_ll(c, cmd, i + 1, &t)) return;
      int secs = toupper((unsigned char)A(i)[0]) == 'E';
      int at = L(i) == 4;
      if (t <= 0 || (secs && t > INT64_MAX / 1000 / 2)) {
        resp_out_error(&c->out, "ERR invalid expire time in 'set' command");
        return;
      }
      int64_t ms = secs ? (int64_t)t * 1000 : (int64_t)t;
      if (at) expire = now + (ms - wall_ms());
      else if (ms > INT64_MAX - now) {
        resp_out_error(&c->out, "ERR invalid expire time in 'set' command");
        return;
      } else expire = now + ms;
      if (expire <= 0) expire = 1; /* in the past: expires at once, but is not "none" */
      has_exp = 1;
      i++;
    } else {
      resp_out_error(&c->out, E_SYNTAX);
      return;
    }
  }
  db *d = &c->srv->db;
  obj *old = db_get(d, A(1), L(1), now);
  if (get) {
    if (old && old->type != T_STRING) {
      resp_out_error(&c->out, E_WRONGTYPE);
      return;
    }
    if (old) resp_out_bulk(&c->out, old->data, old->len);
    else resp_out_null(&c->out);
  }
  if ((nx && old) || (xx && !old)) {
    if (!get) resp_out_null(&c->out);
    return;
  }
  if (keepttl && old) expire = old->expire;
  if (!db_set_string(d, A(1), L(1), A(2), L(2), expire, now)) {
    if (!get) resp_out_error(&c->out, E_OOM);
    return;
  }
  if (!get) resp_out_ok(&c->out);
}

static void c_setnx(client *c, const resp_cmd *cmd) {
  int64_t now = now_ms();
  if (db_get(&c->srv->db, A(1), L(1), now)) {
    resp_out_int(&c->out, 0);
    return;
  }
  if (!db_set_string(&c->srv->db, A(1), L(1), A(2), L(2), 0, now)) resp_out_error(&c->out, E_OOM);
  else resp_out_int(&c->out, 1);
}

static void c_strlen(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_STRING, &bad);
  if (!bad) resp_out_int(&c->out, o ? (long long)o->len : 0);
}

static void c_append(client *c, const resp_cmd *cmd) {
  int bad;
  int64_t now = now_ms();
  obj *o = lookup(c, A(1), L(1), T_STRING, &bad);
  if (bad) return;
  size_t old = o ? o->len : 0;
  if (old + L(2) > c->srv->cfg.lim.max_bulk) {
    resp_out_error(&c->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return;
  }
  char *tmp = malloc(old + L(2) + 1);
  if (!tmp) {
    resp_out_error(&c->out, E_OOM);
    return;
  }
  if (o) memcpy(tmp, o->data, old);
  memcpy(tmp + old, A(2), L(2));
  obj *n = db_set_string(&c->srv->db, A(1), L(1), tmp, old + L(2), o ? o->expire : 0, now);
  free(tmp);
  if (!n) resp_out_error(&c->out, E_OOM);
  else resp_out_int(&c->out, (long long)n->len);
}

static void incr_generic(client *c, const resp_cmd *cmd, long long by) {
  int bad;
  int64_t now = now_ms();
  obj *o = lookup(c, A(1), L(1), T_STRING, &bad);
  if (bad) return;
  long long v = 0;
  if (o && resp_to_ll(o->data, o->len, &v)) {
    resp_out_error(&c->out, E_NOTINT);
    return;
  }
  if ((by < 0 && v < LLONG_MIN - by) || (by > 0 && v > LLONG_MAX - by)) {
    resp_out_error(&c->out, "ERR increment or decrement would overflow");
    return;
  }
  v += by;
  char buf[24];
  size_t n = resp_ll_to_str(buf, v);
  if (!db_set_string(&c->srv->db, A(1), L(1), buf, n, o ? o->expire : 0, now)) {
    resp_out_error(&c->out, E_OOM);
    return;
  }
  resp_out_int(&c->out, v);
}
static void c_incr(client *c, const resp_cmd *cmd) { incr_generic(c, cmd, 1); }
static void c_decr(client *c, const resp_cmd *cmd) { incr_generic(c, cmd, -1); }
static void c_incrby(client *c, const resp_cmd *cmd) {
  long long by;
  if (!arg_ll(c, cmd, 2, &by)) incr_generic(c, cmd, by);
}
static void c_decrby(client *c, const resp_cmd *cmd) {
  long long by;
  if (arg_ll(c, cmd, 2, &by)) return;
  if (by == LLONG_MIN) {
    resp_out_error(&c->out, "ERR decrement would overflow");
    return;
  }
  incr_generic(c, cmd, -by);
}

static void c_mget(client *c, const resp_cmd *cmd) {
  int64_t now = now_ms();
  resp_out_array(&c->out, cmd->argc - 1);
  for (int i = 1; i < cmd->argc; i++) {
    obj *o = db_get(&c->srv->db, A(i), L(i), now);
    if (o && o->type == T_STRING) resp_out_bulk(&c->out, o->data, o->len);
    else resp_out_null(&c->out);
  }
}

static void c_mset(client *c, const resp_cmd *cmd) {
  if (cmd->argc % 2 == 0) {
    resp_out_error(&c->out, "ERR wrong number of arguments for 'mset' command");
    return;
  }
  int64_t now = now_ms();
  for (int i = 1; i < cmd->argc; i += 2)
    if (!db_set_string(&c->srv->db, A(i), L(i), A(i + 1), L(i + 1), 0, now)) {
      resp_out_error(&c->out, E_OOM);
      return;
    }
  resp_out_ok(&c->out);
}

/* ---------------------------------------------------------- lists */
static void push_generic(client *c, const resp_cmd *cmd, int left) {
  obj *o = lookup_or_create(c, A(1), L(1), T_LIST);
  if (!o) return;
  list *l = o->p;
  for (int i = 2; i < cmd->argc; i++) {
    str *s = str_new(A(i), L(i));
    if (!s || list_push(l, s, left)) {
      free(s);
      db_del_if_empty(&c->srv->db, A(1), L(1), o);
      resp_out_error(&c->out, E_OOM);
      return;
    }
  }
  resp_out_int(&c->out, (long long)l->len);
}
static void c_lpush(client *c, const resp_cmd *cmd) { push_generic(c, cmd, 1); }
static void c_rpush(client *c, const resp_cmd *cmd) { push_generic(c, cmd, 0); }

/* An optional positive COUNT argument at index 2: -1 absent, -2 invalid
 * (reply written). */
static long long opt_count(client *c, const resp_cmd *cmd) {
  if (cmd->argc < 3) return -1;
  long long n;
  if (cmd->argc > 3) {
    resp_out_error(&c->out, E_SYNTAX);
    return -2;
  }
  if (resp_to_ll(A(2), L(2), &n) || n < 0) {
    resp_out_error(&c->out, "ERR value is out of range, must be positive");
    return -2;
  }
  return n;
}

static void pop_generic(client *c, const resp_cmd *cmd, int left) {
  long long count = opt_count(c, cmd);
  if (count == -2) return;
  int bad;
  obj *o = lookup(c, A(1), L(1), T_LIST, &bad);
  if (bad) return;
  if (!o) {
    if (count >= 0) resp_out_raw(&c->out, "*-1\r\n", 5);
    else resp_out_null(&c->out);
    return;
  }
  list *l = o->p;
  long long n = count < 0 ? 1 : count;
  if ((size_t)n > l->len) n = (long long)l->len;
  if (count >= 0) resp_out_array(&c->out, n);
  for (long long i = 0; i < n; i++) {
    str *s = list_pop(l, left);
    resp_out_bulk(&c->out, s->data, s->len);
    free(s);
  }
  db_del_if_empty(&c->srv->db, A(1), L(1), o);
}
static void c_lpop(client *c, const resp_cmd *cmd) { pop_generic(c, cmd, 1); }
static void c_rpop(client *c, const resp_cmd *cmd) { pop_generic(c, cmd, 0); }

static void c_llen(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_LIST, &bad);
  if (!bad) resp_out_int(&c->out, o ? (long long)((list *)o->p)->len : 0);
}

static void c_lrange(client *c, const resp_cmd *cmd) {
  long long start, stop;
  if (arg_ll(c, cmd, 2, &start) || arg_ll(c, cmd, 3, &stop)) return;
  int bad;
  obj *o = lookup(c, A(1), L(1), T_LIST, &bad);
  if (bad) return;
  if (!o) {
    resp_out_array(&c->out, 0);
    return;
  }
  list *l = o->p;
  long long len = (long long)l->len;
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (stop >= len) stop = len - 1;
  if (start > stop || start >= len) {
    resp_out_array(&c->out, 0);
    return;
  }
  resp_out_array(&c->out, stop - start + 1);
  for (long long i = start; i <= stop; i++) {
    str *s = list_at(l, (size_t)i);
    resp_out_bulk(&c->out, s->data, s->len);
  }
}

/* ---------------------------------------------------------- sets */
static void c_sadd(client *c, const resp_cmd *cmd) {
  obj *o = lookup_or_create(c, A(1), L(1), T_SET);
  if (!o) return;
  long long added = 0;
  for (int i = 2; i < cmd->argc; i++) {
    int created;
    if (!ht_upsert(o->p, A(i), L(i), &created)) {
      db_del_if_empty(&c->srv->db, A(1), L(1), o);
      resp_out_error(&c->out, E_OOM);
      return;
    }
    added += created;
  }
  resp_out_int(&c->out, added);
}

static void c_srem(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_SET, &bad);
  if (bad) return;
  long long n = 0;
  for (int i = 2; o && i < cmd->argc; i++) n += ht_remove(o->p, A(i), L(i), NULL);
  if (o) db_del_if_empty(&c->srv->db, A(1), L(1), o);
  resp_out_int(&c->out, n);
}

static void c_scard(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_SET, &bad);
  if (!bad) resp_out_int(&c->out, o ? (long long)((ht *)o->p)->count : 0);
}

static void c_sismember(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_SET, &bad);
  if (!bad) resp_out_int(&c->out, o && ht_find(o->p, A(2), L(2)) ? 1 : 0);
}

static void c_smembers(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_SET, &bad);
  if (bad) return;
  if (!o) {
    resp_out_array(&c->out, 0);
    return;
  }
  ht *t = o->p;
  resp_out_array(&c->out, (long long)t->count);
  size_t b = 0;
  ht_entry *cur = NULL, *e;
  while ((e = ht_next(t, &b, &cur))) resp_out_bulk(&c->out, e->key, e->klen);
}

static void c_spop(client *c, const resp_cmd *cmd) {
  long long count = opt_count(c, cmd);
  if (count == -2) return;
  int bad;
  obj *o = lookup(c, A(1), L(1), T_SET, &bad);
  if (bad) return;
  if (!o) {
    if (count >= 0) resp_out_array(&c->out, 0);
    else resp_out_null(&c->out);
    return;
  }
  ht *t = o->p;
  long long n = count < 0 ? 1 : count;
  if ((size_t)n > t->count) n = (long long)t->count;
  if (count >= 0) resp_out_array(&c->out, n);
  for (long long i = 0; i < n; i++) {
    ht_entry *e = ht_random(t, &c->srv->db.rng);
    resp_out_bulk(&c->out, e->key, e->klen);
    ht_remove_entry(t, e);
  }
  ht_maybe_shrink(t);
  db_del_if_empty(&c->srv->db, A(1), L(1), o);
}

/* ---------------------------------------------------------- hashes */
static void c_hset(client *c, const resp_cmd *cmd) {
  if (cmd->argc % 2) {
    resp_out_errorf(&c->out, "ERR wrong number of arguments for '%s' command",
                    L(0) == 5 ? "hmset" : "hset");
    return;
  }
  obj *o = lookup_or_create(c, A(1), L(1), T_HASH);
  if (!o) return;
  long long added = 0;
  for (int i = 2; i < cmd->argc; i += 2) {
    int created;
    str *v = str_new(A(i + 1), L(i + 1));
    ht_entry *e = v ? ht_upsert(o->p, A(i), L(i), &created) : NULL;
    if (!e) {
      free(v);
      db_del_if_empty(&c->srv->db, A(1), L(1), o);
      resp_out_error(&c->out, E_OOM);
      return;
    }
    free(e->val);
    e->val = v;
    added += created;
  }
  if (L(0) == 5) resp_out_ok(&c->out); /* HMSET */
  else resp_out_int(&c->out, added);
}

static void c_hget(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_HASH, &bad);
  if (bad) return;
  ht_entry *e = o ? ht_find(o->p, A(2), L(2)) : NULL;
  if (e) resp_out_bulk(&c->out, ((str *)e->val)->data, ((str *)e->val)->len);
  else resp_out_null(&c->out);
}

static void c_hdel(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_HASH, &bad);
  if (bad) return;
  long long n = 0;
  for (int i = 2; o && i < cmd->argc; i++) {
    void *v;
    if (ht_remove(o->p, A(i), L(i), &v)) {
      free(v);
      n++;
    }
  }
  if (o) db_del_if_empty(&c->srv->db, A(1), L(1), o);
  resp_out_int(&c->out, n);
}

static void c_hlen(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_HASH, &bad);
  if (!bad) resp_out_int(&c->out, o ? (long long)((ht *)o->p)->count : 0);
}

static void c_hgetall(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_HASH, &bad);
  if (bad) return;
  if (!o) {
    resp_out_array(&c->out, 0);
    return;
  }
  ht *t = o->p;
  resp_out_array(&c->out, (long long)t->count * 2);
  size_t b = 0;
  ht_entry *cur = NULL, *e;
  while ((e = ht_next(t, &b, &cur))) {
    resp_out_bulk(&c->out, e->key, e->klen);
    resp_out_bulk(&c->out, ((str *)e->val)->data, ((str *)e->val)->len);
  }
}

/* ---------------------------------------------------------- sorted sets */
static int parse_score(const char *s, size_t n, double *d) {
  char buf[64];
  if (n == 0 || n >= sizeof buf) return -1;
  memcpy(buf, s, n);
  buf[n] = 0;
  if (isspace((unsigned char)buf[0])) return -1;
  char *end;
  errno = 0;
  *d = strtod(buf, &end);
  if (*end || isnan(*d) || (errno == ERANGE && !isinf(*d))) return -1;
  return 0;
}

/* Redis prints scores in the shortest form that reads back the same. */
static size_t format_score(char *buf, size_t cap, double d) {
  if (isinf(d)) return (size_t)snprintf(buf, cap, d > 0 ? "inf" : "-inf");
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  return strlen(buf);
}

static void c_zadd(client *c, const resp_cmd *cmd) {
  if ((cmd->argc - 2) % 2) {
    resp_out_error(&c->out, E_SYNTAX);
    return;
  }
  for (int i = 2; i < cmd->argc; i += 2) {
    double d;
    if (parse_score(A(i), L(i), &d)) {
      resp_out_error(&c->out, E_NOTFLOAT);
      return;
    }
  }
  obj *o = lookup_or_create(c, A(1), L(1), T_ZSET);
  if (!o) return;
  long long added = 0;
  for (int i = 2; i < cmd->argc; i += 2) {
    double d;
    parse_score(A(i), L(i), &d);
    int r = zset_add(o->p, A(i + 1), L(i + 1), d);
    if (r < 0) {
      db_del_if_empty(&c->srv->db, A(1), L(1), o);
      resp_out_error(&c->out, E_OOM);
      return;
    }
    added += r;
  }
  resp_out_int(&c->out, added);
}

static void c_zpopmin(client *c, const resp_cmd *cmd) {
  long long count = opt_count(c, cmd);
  if (count == -2) return;
  int bad;
  obj *o = lookup(c, A(1), L(1), T_ZSET, &bad);
  if (bad) return;
  long long n = count < 0 ? 1 : count;
  zset *z = o ? o->p : NULL;
  if (!z) n = 0;
  else if ((size_t)n > z->n) n = (long long)z->n;
  resp_out_array(&c->out, n * 2);
  for (long long i = 0; i < n; i++) {
    char *m, sbuf[64];
    size_t mn;
    double sc;
    if (zset_pop_min(z, &m, &mn, &sc) <= 0) break; /* cannot fail short of memory */
    resp_out_bulk(&c->out, m, mn);
    free(m);
    resp_out_bulk(&c->out, sbuf, format_score(sbuf, sizeof sbuf, sc));
  }
  if (o) db_del_if_empty(&c->srv->db, A(1), L(1), o);
}

static void c_zcard(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_ZSET, &bad);
  if (!bad) resp_out_int(&c->out, o ? (long long)((zset *)o->p)->n : 0);
}

static void c_zscore(client *c, const resp_cmd *cmd) {
  int bad;
  obj *o = lookup(c, A(1), L(1), T_ZSET, &bad);
  if (bad) return;
  ht_entry *e = o ? ht_find(&((zset *)o->p)->members, A(2), L(2)) : NULL;
  if (!e) {
    resp_out_null(&c->out);
    return;
  }
  char sbuf[64];
  resp_out_bulk(&c->out, sbuf, format_score(sbuf, sizeof sbuf, ((znode *)e->val)->score));
}

/* ---------------------------------------------------------- the table */
typedef void (*handler)(client *, const resp_cmd *);
typedef struct command {
  const char *name;
  int arity;
  handler fn;
} command;

static void c_command(client *c, const resp_cmd *cmd);

static const command commands[] = {
    {"ping", -1, c_ping},       {"echo", 2, c_echo},         {"quit", -1, c_quit},
    {"select", 2, c_select},    {"client", -2, c_client},    {"config", -2, c_config},
    {"command", -1, c_command}, {"dbsize", 1, c_dbsize},     {"flushall", -1, c_flushall},
    {"flushdb", -1, c_flushall}, {"info", -1, c_info},       {"del", -2, c_del},
    {"unlink", -2, c_del},      {"exists", -2, c_exists},    {"type", 2, c_type},
    {"expire", -3, c_expire},   {"pexpire", -3, c_pexpire},  {"ttl", 2, c_ttl},
    {"pttl", 2, c_pttl},        {"persist", 2, c_persist},   {"get", 2, c_get},
    {"set", -3, c_set},         {"setnx", 3, c_setnx},       {"strlen", 2, c_strlen},
    {"append", 3, c_append},    {"incr", 2, c_incr},         {"decr", 2, c_decr},
    {"incrby", 3, c_incrby},    {"decrby", 3, c_decrby},     {"mget", -2, c_mget},
    {"mset", -3, c_mset},       {"lpush", -3, c_lpush},      {"rpush", -3, c_rpush},
    {"lpop", -2, c_lpop},       {"rpop", -2, c_rpop},        {"llen", 2, c_llen},
    {"lrange", 4, c_lrange},    {"sadd", -3, c_sadd},        {"srem", -3, c_srem},
    {"scard", 2, c_scard},      {"sismember", 3, c_sismember}, {"smembers", 2, c_smembers},
    {"spop", -2, c_spop},       {"hset", -4, c_hset},        {"hmset", -4, c_hset},
    {"hget", 3, c_hget},        {"hdel", -3, c_hdel},        {"hlen", 2, c_hlen},
    {"hgetall", 2, c_hgetall},  {"zadd", -4, c_zadd},        {"zpopmin", -2, c_zpopmin},
    {"zcard", 2, c_zcard},      {"zscore", 3, c_zscore},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

/* Name lookup: open addressing over a small power-of-two table, keyed by
 * the lower-cased name (no allocation, a few compares per command). */
#define SLOTS 256
static const command *slots[SLOTS];

static unsigned name_hash(const char *s, size_t n) {
  unsigned h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)(s[i] | 0x20)) * 16777619u;
  return h;
}

void cmd_init(void) {
  for (size_t i = 0; i < NCOMMANDS; i++) {
    unsigned h = name_hash(commands[i].name, strlen(commands[i].name));
    while (slots[h & (SLOTS - 1)]) h++;
    slots[h & (SLOTS - 1)] = &commands[i];
  }
}

/* Names are lower-case letters, so c | 0x20 == name[i] matches a letter
 * in either case and nothing else. */
static int same_name(const char *name, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] | 0x20) != (unsigned char)name[i]) return 0;
  return name[n] == 0;
}

static const command *find(const char *s, size_t n) {
  if (n > 16) return NULL;
  unsigned h = name_hash(s, n);
  for (;; h++) {
    const command *c = slots[h & (SLOTS - 1)];
    if (!c) return NULL;
    if (same_name(c->name, s, n)) return c;
  }
}

static void c_command(client *c, const resp_cmd *cmd) {
  if (cmd->argc == 1) { /* COMMAND: [name, arity, flags, first, last, step] each */
    resp_out_array(&c->out, (long long)NCOMMANDS);
    for (size_t i = 0; i < NCOMMANDS; i++) {
      const command *k = &commands[i];
      int keyed = k->arity > 1 || k->arity < -1;
      resp_out_array(&c->out, 6);
      resp_out_bulk(&c->out, k->name, strlen(k->name));
      resp_out_int(&c->out, k->arity);
      resp_out_array(&c->out, 0);
      resp_out_int(&c->out, keyed);
      resp_out_int(&c->out, keyed);
      resp_out_int(&c->out, keyed);
    }
  } else if (is(cmd, 1, "count") && cmd->argc == 2) {
    resp_out_int(&c->out, (long long)NCOMMANDS);
  } else if (is(cmd, 1, "docs")) { /* no documentation: an empty map */
    resp_out_array(&c->out, 0);
  } else if (is(cmd, 1, "info")) {
    resp_out_array(&c->out, cmd->argc - 2);
    for (int i = 2; i < cmd->argc; i++) {
      const command *k = find(A(i), L(i));
      if (!k) {
        resp_out_raw(&c->out, "*-1\r\n", 5);
        continue;
      }
      resp_out_array(&c->out, 6);
      resp_out_bulk(&c->out, k->name, strlen(k->name));
      resp_out_int(&c->out, k->arity);
      resp_out_array(&c->out, 0);
      resp_out_int(&c->out, 1);
      resp_out_int(&c->out, 1);
      resp_out_int(&c->out, 1);
    }
  } else {
    resp_out_errorf(&c->out, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
                    (int)(L(1) > 40 ? 40 : L(1)), A(1));
  }
}

void cmd_exec(client *c, const resp_cmd *cmd) {
  c->srv->commands++;
  const command *k = find(A(0), L(0));
  if (!k) {
    char args[128];
    size_t w = 0;
    for (int i = 1; i < cmd->argc && w < 100; i++) {
      int n = snprintf(args + w, sizeof args - w, "'%.*s' ", (int)(L(i) > 20 ? 20 : L(i)), A(i));
      if (n > 0) w += (size_t)n;
    }
    args[w < sizeof args ? w : sizeof args - 1] = 0;
    resp_out_errorf(&c->out, "ERR unknown command '%.*s', with args beginning with: %s",
                    (int)(L(0) > 40 ? 40 : L(0)), A(0), args);
    return;
  }
  if ((k->arity > 0 && cmd->argc != k->arity) || (k->arity < 0 && cmd->argc < -k->arity)) {
    resp_out_errorf(&c->out, "ERR wrong number of arguments for '%s' command", k->name);
    return;
  }
  k->fn(c, cmd);
}
