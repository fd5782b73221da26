/* history.c: each room's messages in an append-only log, one record a
 * line: seq, time, nick, text and a checksum, tab-separated. Loading keeps
 * every record whose checksum holds and skips the rest, so a torn last
 * record (a crash or kill -9 mid-write) costs that record only. Writes go
 * through eddy's file I/O, in the order everyone saw.
 *
 * Group commit. When each message must be durable (fsync_each), a post
 * queues its message and, if no write is under way for the room, its
 * poster becomes the room's writer and writes everything queued, batch
 * after batch, one write and one fsync per batch, until the queue is
 * empty; the others wait for their batch, and a message is published only
 * after its batch's fsync. In batched mode a post queues its message,
 * publishes it and returns: the logger task (history_logger) writes every
 * room's queue, one write per batch, and fsyncs every fsync_ms. Nobody
 * waits for the disk on the way to the room, so a reader goes on to its
 * client's next line at once and every line read in a turn of the loop
 * reaches the members in that turn; a kill -9 loses what was posted since
 * the logger's last write (the last turn or so), a machine crash what was
 * not yet fsynced. */
#include "chat.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  chat_msg_fill(m, f[2], f[3]);
  m->seq = strtoull(f[0], NULL, 10);
  m->time_ms = strtoll(f[1], NULL, 10);
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

#define PEND_MAX 1024 /* queued messages per room before posters wait */
#define RECORD_MAX (TEXT_MAX + NICK_MAX + 96)

/* Only r->pend grows here: the writer may be writing r->spare's old
 * contents (the batch it took) while the lock is let go. */
static int queue(room *r, const chat_msg *m) {
  if (r->npend == r->pendcap) {
    int ncap = r->pendcap ? r->pendcap * 2 : 16;
    chat_msg *a = realloc(r->pend, (size_t)ncap * sizeof *a);
    if (!a) return -ENOMEM;
    r->pend = a;
    r->pendcap = ncap;
  }
  r->pend[r->npend++] = *m;
  return 0;
}

/* Write the queue until it is empty (the caller is the room's writer and
 * holds s->log_lock; it is let go during each write so posts can queue).
 * Each batch is shielded, with a deadline of its own (--log-timeout-ms): a
 * batch taken off the queue is written even if the writer's task is being
 * cancelled, and a disk that stalls fails that batch ("timed out"), not
 * the ones after it. (One deadline over the whole loop failed every batch
 * once posts had kept the queue from emptying that long.) Returns the
 * result for the batch holding seq. */
static int write_queue(server *s, room *r, uint64_t seq) {
  int mine = 0;
  r->writing = 1;
  while (r->npend) {
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_MSEC(s->opts.log_timeout_ms)));
    EDDY_WITH(gs, &eddy_shield_cm, &sh);
    chat_msg *batch = r->pend;
    int n = r->npend, cap = r->pendcap;
    r->pend = r->spare;
    r->pendcap = r->sparecap;
    r->spare = batch;
    r->sparecap = cap;
    r->npend = 0;
    size_t need = (size_t)n * RECORD_MAX, len = 0;
    int rc = 0;
    if (need > r->logcap) {
      char *nb = realloc(r->logbuf, need);
      if (nb) {
        r->logbuf = nb;
        r->logcap = need;
      } else {
        rc = -ENOMEM;
      }
    }
    for (int i = 0; i < n && !rc; i++) {
      int k = format(&batch[i], r->logbuf + len, RECORD_MAX);
      if (k > 0) len += (size_t)k;
    }
    eddy_lock_release(&s->log_lock);
    if (!rc) rc = eddy_file_write(r->log, r->logbuf, len);
    if (rc == 0 && s->opts.fsync_each) rc = eddy_file_datasync(r->log);
    else if (rc == 0) r->dirty = 1;
    if (rc == -ECANCELED && eddy_scope_cancelled(&sh.scope)) rc = -ETIMEDOUT; /* its deadline */
    eddy_lock_acquire(&s->log_lock);
    /* publish even if the disk failed: the room goes on; the error is told */
    if (s->opts.fsync_each)
      for (int i = 0; i < n; i++)
        eddy_bcast_publish_n(r->b, &batch[i], chat_msg_size(&batch[i]),
                             eddy_deadline_in(EDDY_SEC(5)));
    r->last_err = rc;
    if (rc) {
      r->failed_from = batch[0].seq;
      r->failed_upto = batch[n - 1].seq;
      r->failed_err = rc;
    }
    if (seq >= batch[0].seq && seq <= batch[n - 1].seq) mine = rc;
    r->written_seq = batch[n - 1].seq;
    eddy_cond_broadcast(&r->log_done);
  }
  r->writing = 0;
  return mine;
}

int history_post(server *s, room *r, chat_msg *m) {
  int rc;
  while (r->npend >= PEND_MAX) /* the disk is behind: wait for it */
    if ((rc = eddy_cond_wait(&r->log_done, &s->log_lock)) != 0) return rc;
  m->seq = r->next_seq++;
  if ((rc = queue(r, m)) != 0) {
    r->next_seq--;
    return rc;
  }
  remember(r, m);
  if (!s->opts.fsync_each) {
    eddy_bcast_publish_n(r->b, m, chat_msg_size(m), eddy_deadline_in(EDDY_SEC(5)));
    eddy_cond_signal(&s->log_wanted); /* the logger writes it */
    return r->last_err; /* the disk refused the room's last batch */
  }
  if (!r->writing) return write_queue(s, r, m->seq);
  while (r->written_seq < m->seq) /* another poster writes our batch */
    if ((rc = eddy_cond_wait(&r->log_done, &s->log_lock)) != 0) return rc;
  return m->seq >= r->failed_from && m->seq <= r->failed_upto ? r->failed_err : 0;
}

void history_free(room *r) {
  free(r->pend);
  free(r->spare);
  free(r->logbuf);
  r->pend = r->spare = NULL;
  r->logbuf = NULL;
}

int history_flush(server *s, room *r) {
  (void)s;
  if (!r->log || !r->dirty) return 0;
  r->dirty = 0;
  return eddy_file_datasync(r->log);
}

/* Write every room's queue; with s->log_lock held. Shielded by the
 * caller: a batch taken off a queue is written. */
static void write_all(server *s) {
  for (room *rm = s->rooms; rm; rm = rm->next)
    if (rm->npend && !rm->writing && rm->log) write_queue(s, rm, 0);
}

static int pending(const server *s) {
  for (const room *rm = s->rooms; rm; rm = rm->next)
    if (rm->npend && !rm->writing && rm->log) return 1;
  return 0;
}

int history_pending_write(server *s) {
  eddy_shield sh;
  eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(10)));
  EDDY_WITH(gs, &eddy_shield_cm, &sh);
  EDDY_WITH(g, &eddy_lock_cm, &s->log_lock);
  if (g.status) return g.status;
  write_all(s);
  return 0;
}

int history_logger(void *arg) {
  server *s = arg;
  for (;;) {
    eddy_time_t sync_at = eddy_deadline_in(EDDY_MSEC(s->opts.fsync_ms));
    int r = 0;
    {
      EDDY_WITH(g, &eddy_lock_cm, &s->log_lock);
      if (g.status) return 0;
      while (r == 0) {
        while (r == 0 && !pending(s)) r = eddy_cond_wait_until(&s->log_wanted, &s->log_lock, sync_at);
        /* write even when cancelled (shutdown): queued history is written;
         * each batch has a deadline of its own (write_queue) */
        eddy_shield sh;
        eddy_shield_init(&sh, EDDY_FOREVER);
        EDDY_WITH(gs, &eddy_shield_cm, &sh);
        write_all(s);
      }
    }
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(5)));
    {
      EDDY_WITH(g, &eddy_shield_cm, &sh);
      for (room *rm = s->rooms; rm; rm = rm->next) history_flush(s, rm);
    }
    if (r != -ETIMEDOUT) return 0; /* cancelled: the server is shutting down */
  }
}
