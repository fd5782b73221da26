/* history.c: each room's messages in an append-only log, one record a
 * line: seq, time, nick, text and a checksum, tab-separated. Loading keeps
 * every record whose checksum holds and skips the rest, so a torn last
 * record (a crash or kill -9 mid-write) costs that record only. Writes go
 * through eddy's file I/O (the thread pool), serialised by one lock so the
 * log's order is the order everyone saw; durability is an fsync after each
 * message, or one every fsync_ms by a flusher task. */
#include "chat.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t fnv1a(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static int format(const chat_msg *m, char *out, size_t cap) {
  int n = snprintf(out, cap, "%" PRIu64 "\t%" PRId64 "\t%s\t%s", m->seq, m->time_ms,
                   m->nick, m->text);
  if (n < 0 || (size_t)n + 12 > cap) return -EMSGSIZE;
  n += snprintf(out + n, cap - (size_t)n, "\t%08x\n", fnv1a(out, (size_t)n));
  return n;
}

/* Parse one line (without its '\n'); 0 if the record is intact. */
static int parse(char *line, size_t len, chat_msg *m) {
  char *tab = memrchr(line, '\t', len);
  if (!tab || line + len - tab != 9) return -1;
  unsigned crc;
  if (sscanf(tab + 1, "%8x", &crc) != 1 || crc != fnv1a(line, (size_t)(tab - line))) return -1;
  *tab = 0;
  char *f[4], *p = line;
  for (int i = 0; i < 4; i++) {
    f[i] = p;
    char *t = i < 3 ? strchr(p, '\t') : NULL;
    if (i < 3 && !t) return -1;
    if (t) {
      *t = 0;
      p = t + 1;
    }
  }
  memset(m, 0, sizeof *m);
  m->seq = strtoull(f[0], NULL, 10);
  m->time_ms = strtoll(f[1], NULL, 10);
  snprintf(m->nick, sizeof m->nick, "%s", f[2]);
  snprintf(m->text, sizeof m->text, "%s", f[3]);
  return m->seq ? 0 : -1;
}

static void remember(room *r, const chat_msg *m) {
  int i = (r->head + r->nrecent) % RECENT_MAX;
  if (r->nrecent == RECENT_MAX) {
    i = r->head;
    r->head = (r->head + 1) % RECENT_MAX;
  } else {
    r->nrecent++;
  }
  r->recent[i] = *m;
}

int history_open(server *s, room *r) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.log", s->opts.data_dir, r->name);
  int rc = eddy_file_open(path, O_RDWR | O_CREAT | O_APPEND, 0644, &r->log);
  if (rc) return rc;
  /* load: every intact record, in order */
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  if (!buf) return -ENOMEM;
  long n;
  off_t off = 0;
  while ((n = eddy_file_pread(r->log, buf + len, cap - len, off)) > 0) {
    len += (size_t)n;
    off += n;
    if (len == cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) break;
      buf = nb;
      cap *= 2;
    }
  }
  r->next_seq = 1;
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (buf[i] != '\n') continue;
    chat_msg m;
    if (parse(buf + start, i - start, &m) == 0 && m.seq >= r->next_seq) {
      remember(r, &m);
      r->next_seq = m.seq + 1;
    }
    start = i + 1;
  }
  int torn = start < len; /* a last record without its newline */
  free(buf);
  if (torn) rc = eddy_file_write(r->log, "\n", 1); /* keep later records apart */
  return rc < 0 ? rc : 0;
}

int history_append(server *s, room *r, const chat_msg *m) {
  char line[TEXT_MAX + NICK_MAX + 96];
  int n = format(m, line, sizeof line);
  if (n < 0) return n;
  remember(r, m);
  int rc = eddy_file_write(r->log, line, (size_t)n);
  if (rc == 0 && s->opts.fsync_each) rc = eddy_file_datasync(r->log);
  else if (rc == 0) r->dirty = 1;
  return rc;
}

int history_flush(server *s, room *r) {
  (void)s;
  if (!r->log || !r->dirty) return 0;
  r->dirty = 0;
  return eddy_file_datasync(r->log);
}

int history_flusher(void *arg) {
  server *s = arg;
  for (;;) {
    int r = eddy_sleep(EDDY_MSEC(s->opts.fsync_ms));
    /* flush even when cancelled (shutdown): pending history is written */
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(5)));
    {
      EDDY_WITH(g, &eddy_shield_cm, &sh);
      for (room *rm = s->rooms; rm; rm = rm->next) history_flush(s, rm);
    }
    if (r) return 0;
  }
}
