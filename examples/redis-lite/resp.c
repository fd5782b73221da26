/* resp.c: the RESP2 parser and reply writer (see resp.h). Error texts are
 * Redis's own, so clients and scripts that match on them keep working. */
#include "resp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 32 /* "*<count>" or "$<len>" without CRLF, at most */

void resp_parser_init(resp_parser *p, const resp_limits *lim) {
  memset(p, 0, sizeof *p);
  p->lim = *lim;
}

void resp_parser_fini(resp_parser *p) {
  free(p->off);
  free(p->lens);
  free(p->argv);
  free(p->scratch);
  p->off = p->lens = NULL;
  p->argv = NULL;
  p->scratch = NULL;
  p->cap = p->scratch_cap = 0;
}

void resp_parser_trim(resp_parser *p) {
  if (p->cap > 1024 || p->scratch_cap > 64 * 1024) {
    resp_limits lim = p->lim;
    resp_parser_fini(p);
    resp_parser_init(p, &lim);
  }
}

static long fail(resp_parser *p, const char *msg) {
  p->err = msg;
  p->expect = p->nargs = p->pos = 0;
  return RESP_EPROTO;
}

static int grow_args(resp_parser *p, size_t want) {
  if (want <= p->cap) return 0;
  size_t ncap = p->cap ? p->cap : 16;
  while (ncap < want) ncap *= 2;
  size_t *off = realloc(p->off, ncap * sizeof *off);
  if (!off) return -1;
  p->off = off;
  size_t *lens = realloc(p->lens, ncap * sizeof *lens);
  if (!lens) return -1;
  p->lens = lens;
  const char **argv = realloc(p->argv, ncap * sizeof *argv);
  if (!argv) return -1;
  p->argv = argv;
  p->cap = ncap;
  return 0;
}

int resp_to_ll(const char *s, size_t n, long long *v) {
  if (n == 0 || n > 20) return -1;
  size_t i = 0;
  int neg = 0;
  if (s[0] == '-') {
    neg = 1;
    i = 1;
    if (n == 1) return -1;
  }
  if (s[i] == '0') {
    if (n == 1) {
      *v = 0;
      return 0;
    }
    return -1; /* leading zero, or "-0" */
  }
  unsigned long long acc = 0;
  for (; i < n; i++) {
    unsigned d = (unsigned char)s[i] - '0';
    if (d > 9) return -1;
    /* 18 digits cannot overflow; past that, check each step */
    if (i >= 18 && acc > (ULLONG_MAX - d) / 10) return -1;
    acc = acc * 10 + d;
  }
  if (neg) {
    if (acc > (unsigned long long)LLONG_MAX + 1) return -1;
    *v = (long long)(0 - acc);
  } else {
    if (acc > (unsigned long long)LLONG_MAX) return -1;
    *v = (long long)acc;
  }
  return 0;
}

size_t resp_ll_to_str(char *buf, long long v) {
  char tmp[24];
  size_t n = 0;
  unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t k = 0;
  if (v < 0) buf[k++] = '-';
  while (n) buf[k++] = tmp[--n];
  buf[k] = 0;
  return k;
}

/* A header line "<c><number>\r\n" at buf[pos]: 1 with *v and *end (just
 * past the LF), 0 if incomplete, -1 if malformed. Digits are read in the
 * same pass that looks for the CR. header() below tries the usual short
 * shape first; this reads every other header (and rejects the bad ones). */
__attribute__((noinline)) static int header_any(const char *buf, size_t len, size_t pos,
                                                long long *v, size_t *end) {
  size_t i = pos + 1, lim = pos + 1 + MAX_HEADER;
  if (lim > len) lim = len;
  int neg = i < lim && buf[i] == '-';
  size_t first = i + (size_t)neg;
  unsigned long long acc = 0;
  for (i = first; i < lim; i++) {
    unsigned d = (unsigned char)buf[i] - '0';
    if (d > 9) break;
    acc = acc * 10 + d;
  }
  if (i >= lim) return lim == len ? 0 : -1;
  size_t ndig = i - first;
  if (buf[i] != '\r' || ndig == 0) return -1;
  if (i + 1 >= len) return 0;
  if (buf[i + 1] != '\n') return -1;
  if (ndig >= 19) { /* near the 64-bit range: the careful way */
    if (resp_to_ll(buf + pos + 1, i - pos - 1, v)) return -1;
  } else {
    if ((buf[first] == '0' && (ndig > 1 || neg))) return -1; /* "01", "-0" */
    *v = neg ? -(long long)acc : (long long)acc;
  }
  *end = i + 2;
  return 1;
}

/* The same, for the shape nearly every header has: one or two digits, no
 * leading zero ("$3\r\n", "*16\r\n"). Four headers make a SET, so the
 * general loop above cost a quarter of a pipelined SET's instructions. */
static inline int header(const char *buf, size_t len, size_t pos, long long *v,
                         size_t *end) {
  const unsigned char *s = (const unsigned char *)buf + pos;
  if (len - pos >= 4) {
    unsigned a = s[1] - (unsigned)'1'; /* 0..8 for "1".."9" */
    if (a < 9) {
      if (s[2] == '\r' && s[3] == '\n') {
        *v = a + 1;
        *end = pos + 4;
        return 1;
      }
      unsigned b = s[2] - (unsigned)'0';
      if (b < 10 && len - pos >= 5 && s[3] == '\r' && s[4] == '\n') {
        *v = (a + 1) * 10 + b;
        *end = pos + 5;
        return 1;
      }
    }
  }
  return header_any(buf, len, pos, v, end);
}

/* ---- inline commands: Redis's splitting rules (sdssplitargs) */
static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Split line[0..n) into arguments written to p->scratch. Returns argc, or
 * -1 for unbalanced quotes, -2 out of memory. */
static long split_inline(resp_parser *p, const char *line, size_t n) {
  if (n + 1 > p->scratch_cap) {
    char *s = realloc(p->scratch, n + 1);
    if (!s) return -2;
    p->scratch = s;
    p->scratch_cap = n + 1;
  }
  char *out = p->scratch;
  size_t w = 0, i = 0, argc = 0;
  for (;;) {
    while (i < n && is_space(line[i])) i++;
    if (i >= n) break;
    size_t start = w;
    int inq = 0, insq = 0, done = 0;
    while (!done) {
      char c = i < n ? line[i] : 0;
      if (inq) {
        if (i >= n) return -1;
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && hexval(line[i + 2]) >= 0 &&
            hexval(line[i + 3]) >= 0) {
          out[w++] = (char)(hexval(line[i + 2]) * 16 + hexval(line[i + 3]));
          i += 3;
        } else if (c == '\\' && i + 1 < n) {
          char e = line[++i];
          out[w++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b'
                   : e == 'a' ? '\a' : e;
        } else if (c == '"') {
          if (i + 1 < n && !is_space(line[i + 1])) return -1;
          done = 1;
        } else {
          out[w++] = c;
        }
      } else if (insq) {
        if (i >= n) return -1;
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          out[w++] = '\'';
          i++;
        } else if (c == '\'') {
          if (i + 1 < n && !is_space(line[i + 1])) return -1;
          done = 1;
        } else {
          out[w++] = c;
        }
      } else if (i >= n || is_space(c)) {
        done = 1;
      } else if (c == '"') {
        inq = 1;
      } else if (c == '\'') {
        insq = 1;
      } else {
        out[w++] = c;
      }
      if (i < n) i++;
    }
    if (grow_args(p, argc + 1)) return -2;
    p->off[argc] = start;
    p->lens[argc] = w - start;
    argc++;
    if (argc > p->lim.max_args) return -3;
  }
  for (size_t k = 0; k < argc; k++) p->argv[k] = out + p->off[k];
  return (long)argc;
}

static long parse_inline(resp_parser *p, const char *buf, size_t len,
                         resp_cmd *cmd) {
  const char *nl = memchr(buf, '\n', len);
  if (!nl) {
    if (len > p->lim.max_inline) return fail(p, "ERR Protocol error: too big inline request");
    return 0;
  }
  size_t n = (size_t)(nl - buf);
  if (n > p->lim.max_inline) return fail(p, "ERR Protocol error: too big inline request");
  long argc = split_inline(p, buf, n);
  if (argc == -1) return fail(p, "ERR Protocol error: unbalanced quotes in request");
  if (argc == -2) return RESP_ENOMEM;
  if (argc == -3) return fail(p, "ERR Protocol error: too many arguments");
  cmd->argc = (int)argc;
  cmd->argv = p->argv;
  cmd->lens = p->lens;
  return (long)n + 1;
}

/* Keep a multibulk's progress for the next call; 0 (more bytes needed). */
static long suspend(resp_parser *p, size_t nargs, size_t pos) {
  p->nargs = nargs;
  p->pos = pos;
  return 0;
}

long resp_parse(resp_parser *p, const char *buf, size_t len, resp_cmd *cmd) {
  size_t base = 0; /* empty commands skipped in this call */
  cmd->argc = 0;   /* returned with base > 0: bytes used, no command */
  for (;;) {
    const char *b = buf + base;
    size_t n = len - base;
    if (p->expect == 0) {
      if (n == 0) return base ? (long)base : 0;
      if (b[0] != '*') {
        long r = parse_inline(p, b, n, cmd);
        if (r > 0 && cmd->argc == 0) {
          base += (size_t)r;
          continue;
        }
        if (r > 0) return (long)base + r;
        if (r == 0 && base) {
          cmd->argc = 0;
          return (long)base;
        }
        return r;
      }
      long long count;
      size_t end;
      int h = header(b, n, 0, &count, &end);
      if (h == 0) return base ? (long)base : 0;
      if (h < 0 || count > (long long)p->lim.max_args)
        return fail(p, "ERR Protocol error: invalid multibulk length");
      if (count <= 0) {
        base += end;
        continue;
      }
      p->expect = (size_t)count;
      p->nargs = 0;
      p->pos = end;
    }
    /* an incomplete multibulk may only be resumed from the buffer start */
    if (base) return (long)base;
    /* the argument loop works on locals: a store through p->off could
     * alias p's own fields and make the compiler reload them per argument */
    size_t nargs = p->nargs, pos = p->pos, expect = p->expect;
    size_t *off = p->off, *lens = p->lens;
    while (nargs < expect) {
      if (pos >= len) return suspend(p, nargs, pos);
      if (buf[pos] != '$') {
        snprintf(p->errbuf, sizeof p->errbuf, "ERR Protocol error: expected '$', got '%c'",
                 buf[pos] >= 32 && buf[pos] < 127 ? buf[pos] : '?');
        return fail(p, p->errbuf);
      }
      long long blen;
      size_t data;
      int h = header(buf, len, pos, &blen, &data);
      if (h == 0) return suspend(p, nargs, pos);
      if (h < 0 || blen < 0 || (unsigned long long)blen > p->lim.max_bulk)
        return fail(p, "ERR Protocol error: invalid bulk length");
      size_t need = data + (size_t)blen + 2;
      if (need > p->lim.max_command)
        return fail(p, "ERR Protocol error: command larger than the pending command limit");
      if (len < need) return suspend(p, nargs, pos);
      if (buf[need - 2] != '\r' || buf[need - 1] != '\n')
        return fail(p, "ERR Protocol error: expected CRLF after bulk data");
      if (nargs == p->cap) {
        if (grow_args(p, nargs + 1)) return suspend(p, nargs, pos) + RESP_ENOMEM;
        off = p->off;
        lens = p->lens;
      }
      off[nargs] = data;
      lens[nargs] = (size_t)blen;
      nargs++;
      pos = need;
    }
    const char **argv = p->argv;
    for (size_t i = 0; i < nargs; i++) argv[i] = buf + off[i];
    cmd->argc = (int)nargs;
    cmd->argv = argv;
    cmd->lens = lens;
    p->expect = p->nargs = p->pos = 0;
    return (long)pos;
  }
}

/* ---- replies */
void resp_out_fini(resp_out *o) {
  free(o->buf);
  o->buf = NULL;
  o->len = o->cap = 0;
}

int resp_out_reserve(resp_out *o, size_t n) {
  if (o->cap - o->len >= n) return 0;
  if (o->oom) return -1;
  size_t ncap = o->cap ? o->cap : 4096;
  while (ncap - o->len < n) ncap *= 2;
  char *b = realloc(o->buf, ncap);
  if (!b) {
    o->oom = 1;
    return -1;
  }
  o->buf = b;
  o->cap = ncap;
  return 0;
}

void resp_out_raw(resp_out *o, const char *s, size_t n) {
  if (resp_out_reserve(o, n)) return;
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static void prefixed(resp_out *o, char c, const char *s, size_t n) {
  if (resp_out_reserve(o, n + 3)) return;
  char *w = o->buf + o->len;
  w[0] = c;
  memcpy(w + 1, s, n);
  w[n + 1] = '\r';
  w[n + 2] = '\n';
  o->len += n + 3;
}

void resp_out_simple(resp_out *o, const char *s) { prefixed(o, '+', s, strlen(s)); }

void resp_out_error(resp_out *o, const char *s) {
  /* an error line must not contain CR or LF */
  char clean[256];
  size_t n = strlen(s);
  if (n > sizeof clean) n = sizeof clean;
  for (size_t i = 0; i < n; i++) clean[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
  prefixed(o, '-', clean, n);
}

void resp_out_errorf(resp_out *o, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  resp_out_error(o, buf);
}

static void number_line(resp_out *o, char c, long long v) {
  if (resp_out_reserve(o, 24)) return;
  char *w = o->buf + o->len;
  w[0] = c;
  size_t k = resp_ll_to_str(w + 1, v);
  w[k + 1] = '\r';
  w[k + 2] = '\n';
  o->len += k + 3;
}

void resp_out_int(resp_out *o, long long v) { number_line(o, ':', v); }
void resp_out_array(resp_out *o, long long n) { number_line(o, '*', n); }
void resp_out_null(resp_out *o) { resp_out_raw(o, "$-1\r\n", 5); }

void resp_out_bulk(resp_out *o, const char *s, size_t n) {
  if (resp_out_reserve(o, n + 26)) return;
  char *w = o->buf + o->len;
  w[0] = '$';
  size_t k = resp_ll_to_str(w + 1, (long long)n) + 1;
  w[k++] = '\r';
  w[k++] = '\n';
  memcpy(w + k, s, n);
  k += n;
  w[k++] = '\r';
  w[k++] = '\n';
  o->len += k;
}
