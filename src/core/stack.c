/* stack.c: task stacks. Stacks come from per-size pools. A pool maps slabs
 * of many slots with one mmap each (MAP_NORESERVE: memory is committed page
 * by page as a task touches it), so an idle task costs the pages it used,
 * not its stack size. A freed stack goes back on its pool's free list,
 * still warm; spawn after join reuses it without a system call.
 *
 * Every slot starts with a guard page. MADV_GUARD_INSTALL (Linux 6.13)
 * makes it fault without splitting the mapping; mprotect(PROT_NONE), the
 * fallback, splits it in three, and vm.max_map_count (65530) then caps a
 * process near 32k stacks. When the guard cannot be installed we fail the
 * spawn with EDDY_ENOGUARD instead of running unguarded, unless the loop
 * was configured with stack_guard = -1.
 *
 * A fault in a guard page is caught by a SIGSEGV handler running on an
 * alternate signal stack, which names the task that overflowed and aborts.
 *
 * Packed stacks. A loop without guards (stack_guard = -1) also takes stacks
 * smaller than a page (EDDY_STACK_MIN_UNGUARDED up): their slots are packed
 * side by side, 64-byte aligned, so two 2 KiB tasks share one page and an
 * idle one costs half a page, not a page. Nothing faults when such a stack
 * overflows (it runs into the slot below), so a canary word at its bottom
 * is checked when the stack is given back: a broken one names the task
 * and aborts, since the neighbour's memory is already spoilt. Giving pages
 * back works on the whole pages inside a run of free slots; the pages a
 * run shares with slots in use stay. */

#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0
#define VALGRIND_STACK_DEREGISTER(id) ((void)0)
#endif

#ifdef EDDY__ASAN
#include <sanitizer/asan_interface.h>
#define UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define UNPOISON(p, n) ((void)0)
#endif

#define GUARD_SIZE ((size_t)4096)
#define SLAB_BYTES ((size_t)16 << 20)
#define MAX_SLOTS_PER_SLAB 256
#define WARM_FREE_STACKS 1024 /* free stacks kept with their pages */
#define RELEASE_BATCH 256     /* pending stacks that make a round when the
                               * loop releases at once (delay < 0) */
#define WORDS (MAX_SLOTS_PER_SLAB / 64)

/* Free stacks beyond the warm ones give their pages back, but neither one
 * madvise each nor at once: a slot is marked pending in its slab, and the
 * loop gives the pending ones back later (eddy__stacks_release), one
 * madvise per run of adjacent pending slots (guard pages inside a run keep
 * their guard: MADV_DONTNEED leaves guard markers and PROT_NONE mappings
 * alone). Measured here: 1.07 us per stack one by one, 0.25 us batched;
 * deferred, a burst of exits costs no system call at all (waking 1M idle
 * tasks that then finish: 560 -> 236 ns each), and a burst of spawns soon
 * after takes the pending slots first, their pages still there (no fault,
 * 1.2 us each here). The memory held meanwhile is never more than the
 * peak the tasks reached. A released slot is cold, found through its
 * slab's bitmap, so nothing is written into its released pages (a link
 * there would fault a page back in). */
typedef struct eddy__slab {
  struct eddy__slab *next;       /* every slab of the pool */
  struct eddy__slab *next_spare; /* slabs with pending or cold slots */
  struct eddy__slab *next_batch; /* slabs with pending slots */
  char *base;
  size_t len;
  uint64_t pending[WORDS];       /* free, pages still there until released */
  uint64_t cold[WORDS];          /* free, pages given back */
  int on_spare, in_batch;
} slab;

typedef struct free_slot {
  struct free_slot *next;
  slab *slab;
} free_slot;

typedef struct eddy__pool {
  struct eddy__pool *next;
  size_t usable;     /* bytes above the guard */
  size_t guard;      /* GUARD_SIZE, or 0 for packed slots */
  size_t slot;       /* guard + usable: a page multiple, or packed */
  slab *slabs;
  char *fresh;       /* next never-used slot in the newest slab */
  size_t fresh_left;
  free_slot *free;   /* warm: kept at the top of each free stack */
  size_t nfree;
  slab *spare;       /* slabs holding pending or cold slots */
  slab *batch;       /* slabs with pending slots */
  size_t npending;
} eddy__pool;

enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT };
static int guard_mode = GUARD_UNKNOWN; /* probed once per process */

size_t eddy__stack_guard_size(void) { return GUARD_SIZE; }

#define PAGE ((size_t)4096)
#define PACKED_ALIGN ((size_t)64)
#define CANARY 0x65646479c0ffee5aULL /* any value a stack rarely holds */

static size_t page_round(size_t n) { return (n + PAGE - 1) & ~(PAGE - 1); }

static eddy__pool *pool_for(eddy_loop *loop, size_t usable, size_t guard) {
  for (eddy__pool *p = loop->pools; p; p = p->next)
    if (p->usable == usable && p->guard == guard) return p;
  eddy__pool *p = eddy__calloc(1, sizeof *p);
  if (!p) return NULL;
  p->usable = usable;
  p->guard = guard;
  p->slot = usable + guard;
  p->next = loop->pools;
  loop->pools = p;
  return p;
}

/* Does touching the guard fault? Asked of the kernel without faulting:
 * write(2) from the guard into a pipe fails with EFAULT when it is guarded. */
static int guard_works(char *slot) {
  int p[2];
  if (pipe(p) != 0) return 1; /* cannot tell: trust the kernel */
  ssize_t n = write(p[1], slot, 1);
  int e = errno;
  close(p[0]);
  close(p[1]);
  return n < 0 && e == EFAULT;
}

static int install_guard(eddy_loop *loop, char *slot) {
  if (loop->stack_guard < 0) return 0;
  if (guard_mode != GUARD_MPROTECT) {
    int r = eddy__sys_madvise_guard(slot, GUARD_SIZE);
    if (r == 0 && guard_mode == GUARD_UNKNOWN && !guard_works(slot)) {
      /* Accepted but not done (emulators treat unknown advice as a hint):
       * never believe in a guard that is not there. */
      r = -EINVAL;
    }
    if (r == 0) {
      guard_mode = GUARD_MADVISE;
      return 0;
    }
    if (r != -EINVAL && r != -ENOSYS && r != -EPERM) return r;
    guard_mode = GUARD_MPROTECT; /* kernel older than 6.13 */
  }
  int r = eddy__sys_mprotect_none(slot, GUARD_SIZE);
  if (r == -ENOMEM) return EDDY_ENOGUARD; /* out of map entries */
  return r;
}

static int slab_new(eddy__pool *p) {
  size_t n = SLAB_BYTES / p->slot;
  if (n < 1) n = 1;
  if (n > MAX_SLOTS_PER_SLAB) n = MAX_SLOTS_PER_SLAB;
  slab *s = eddy__calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  int err = 0;
  s->len = n * p->slot;
  s->base = eddy__sys_mmap(s->len, &err);
  if (!s->base) {
    eddy__free(s);
    return err == -ENOMEM || err == 0 ? -ENOMEM : err;
  }
  s->next = p->slabs;
  p->slabs = s;
  p->fresh = s->base;
  p->fresh_left = n;
  return 0;
}

static int has_bits(const uint64_t *w) {
  for (int i = 0; i < WORDS; i++)
    if (w[i]) return 1;
  return 0;
}

/* Take the lowest set bit of w, or -1. */
static int take_bit(uint64_t *w) {
  for (int i = 0; i < WORDS; i++)
    if (w[i]) {
      int b = __builtin_ctzll(w[i]);
      w[i] &= w[i] - 1;
      return i * 64 + b;
    }
  return -1;
}

/* The first index >= i whose bit in w is `set`, or MAX_SLOTS_PER_SLAB. */
static size_t find_bit(const uint64_t *w, size_t i, int set) {
  if (i >= MAX_SLOTS_PER_SLAB) return MAX_SLOTS_PER_SLAB;
  size_t k = i / 64;
  uint64_t m = (set ? w[k] : ~w[k]) & (~(uint64_t)0 << (i % 64));
  while (!m) {
    if (++k == WORDS) return MAX_SLOTS_PER_SLAB;
    m = set ? w[k] : ~w[k];
  }
  return k * 64 + (size_t)__builtin_ctzll(m);
}

/* Give back the pages of the pending slots of up to `max_slabs` slabs,
 * one madvise per run of adjacent ones; they become cold. */
static size_t release_pool(eddy_loop *loop, eddy__pool *p, size_t max_slabs) {
  size_t done = 0;
  while (p->batch && done < max_slabs) {
    slab *s = p->batch;
    p->batch = s->next_batch;
    s->in_batch = 0;
    done++;
    size_t n = 0;
    for (size_t i = find_bit(s->pending, 0, 1); i < MAX_SLOTS_PER_SLAB;) {
      size_t j = find_bit(s->pending, i, 0), a = i, b = j;
      if (!p->guard) {
        /* Packed slots share their edge pages with their neighbours: only
         * the whole pages of the run go, and the run takes in the cold
         * slots beside it (given back already, as far as their own pages
         * went), so that a page shared with one of them goes too. */
        while (a > 0 && (s->cold[(a - 1) / 64] >> ((a - 1) % 64) & 1)) a--;
        b = find_bit(s->cold, j, 0);
      }
      uintptr_t lo = (uintptr_t)page_round((size_t)(s->base + a * p->slot + p->guard));
      uintptr_t hi = (uintptr_t)(s->base + b * p->slot) & ~(uintptr_t)(PAGE - 1);
      if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
      n += j - i;
      i = find_bit(s->pending, j, 1);
    }
    for (int w = 0; w < WORDS; w++) {
      s->cold[w] |= s->pending[w];
      s->pending[w] = 0;
    }
    p->npending -= n;
    loop->stack_pending -= n;
  }
  return done;
}

int eddy__stacks_release(eddy_loop *loop, size_t max_slabs) {
  for (eddy__pool *p = loop->pools; p && max_slabs; p = p->next)
    max_slabs -= release_pool(loop, p, max_slabs);
  return loop->stack_pending > 0;
}

/* A free slot from the spare slabs: a pending one (its pages are still
 * there) before a cold one. NULL when there is none. */
static char *take_spare(eddy_loop *loop, eddy__pool *p, slab **from) {
  slab *s = p->spare;
  if (!s) return NULL;
  int i = take_bit(s->pending);
  if (i >= 0) {
    p->npending--;
    loop->stack_pending--;
  } else {
    i = take_bit(s->cold);
  }
  if (!has_bits(s->pending) && !has_bits(s->cold)) {
    p->spare = s->next_spare;
    s->on_spare = 0;
  }
  *from = s;
  return s->base + (size_t)i * p->slot;
}

int eddy__stack_get(eddy_loop *loop, size_t size, eddy__stack *out) {
  if (size == 0) size = loop->stack_size;
  if (size < eddy__stack_min(loop->stack_guard) || size > EDDY_STACK_MAX) return EDDY_ESTACK;
  int packed = size < PAGE; /* unguarded loops only, by the check above */
  eddy__pool *p = packed ? pool_for(loop, (size + PACKED_ALIGN - 1) & ~(PACKED_ALIGN - 1), 0)
                         : pool_for(loop, page_round(size), GUARD_SIZE);
  if (!p) return -ENOMEM;
  char *slot;
  slab *from;
  if (p->free) {
    free_slot *f = p->free;
    p->free = f->next;
    p->nfree--;
    from = f->slab;
    slot = (char *)f + sizeof(free_slot) - p->slot;
  } else if ((slot = take_spare(loop, p, &from)) == NULL) {
    if (!p->fresh_left) {
      int r = slab_new(p);
      if (r) return r;
    }
    slot = p->fresh;
    from = p->slabs;
    int r = p->guard ? install_guard(loop, slot) : 0;
    if (r) return r; /* the slot stays fresh: the next spawn retries it */
    p->fresh += p->slot;
    p->fresh_left--;
  }
  out->slot = slot;
  out->lo = slot + p->guard;
  out->hi = slot + p->slot;
  out->pool = p;
  out->slab = from;
  out->vg_id = VALGRIND_STACK_REGISTER(out->lo, out->hi);
  /* A reused stack still carries ASan's poison from frames that never
   * returned (the previous owner switched away for good). */
  UNPOISON(out->lo, (size_t)(out->hi - out->lo));
  if (!p->guard) *(uint64_t *)out->lo = CANARY;
  return 0;
}

size_t eddy__stack_min(int stack_guard) {
  return stack_guard < 0 ? EDDY_STACK_MIN_UNGUARDED : EDDY_STACK_MIN;
}

int eddy__stack_intact(const eddy__stack *st) {
  return st->pool->guard || *(const uint64_t *)st->lo == CANARY;
}

void eddy__stack_put(eddy_loop *loop, eddy__stack *st) {
  eddy__pool *p = st->pool;
  VALGRIND_STACK_DEREGISTER(st->vg_id);
  if (p->nfree < WARM_FREE_STACKS) {
    free_slot *f = (free_slot *)(st->hi - sizeof(free_slot));
    f->next = p->free;
    f->slab = st->slab;
    p->free = f;
    p->nfree++;
    return;
  }
  slab *s = st->slab;
  size_t i = (size_t)(st->slot - s->base) / p->slot;
  s->pending[i / 64] |= (uint64_t)1 << (i % 64);
  if (!s->on_spare) {
    s->on_spare = 1;
    s->next_spare = p->spare;
    p->spare = s;
  }
  if (!s->in_batch) {
    s->in_batch = 1;
    s->next_batch = p->batch;
    p->batch = s;
  }
  p->npending++;
  if (loop->stack_pending++ == 0) loop->stack_pending_since = eddy_now();
  if (loop->stack_release_delay < 0 && p->npending >= RELEASE_BATCH)
    release_pool(loop, p, (size_t)-1);
}

void eddy__stacks_destroy(eddy_loop *loop) {
  eddy__pool *p = loop->pools;
  while (p) {
    eddy__pool *next = p->next;
    for (slab *s = p->slabs, *n; s; s = n) {
      n = s->next;
      eddy__sys_munmap(s->base, s->len);
      eddy__free(s);
    }
    eddy__free(p);
    p = next;
  }
  loop->pools = NULL;
}

/* ------------------------------------------------------- overflow report */

static struct sigaction old_segv;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static __thread void *altstack;

static void say(const char *s) {
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

static void say_num(unsigned long long v) {
  char buf[24];
  int i = sizeof buf;
  buf[--i] = 0;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) && i > 0);
  say(buf + i);
}

/* Name the task whose stack overflowed and abort (async-signal-safe: the
 * SIGSEGV handler calls it). `c` is the coroutine whose stack it was. */
void eddy__stack_overflow_abort(const eddy_task *t, const eddy__coro *c, const char *how) {
  say("eddy: stack overflow in task ");
  say_num(t->id);
  say(" '");
  say(t->name[0] ? t->name : "(unnamed)");
  say("' spawned at ");
  say(t->spawn_file ? t->spawn_file : "?");
  say(":");
  say_num((unsigned long long)t->spawn_line);
  if (c != &t->coro) say(" (while running a generator)");
  say(how);
  say("; raise its stack_size\n");
  signal(SIGABRT, SIG_DFL);
  abort();
}

static void on_segv(int sig, siginfo_t *si, void *uctx) {
  eddy_loop *loop = eddy__loop_tls;
  eddy_task *t = loop ? loop->current : NULL;
  if (t && t->active) {
    char *a = si->si_addr, *slot = t->active->stack.slot;
    if (slot && t->active->stack.pool->guard && a >= slot && a < slot + GUARD_SIZE + 256)
      eddy__stack_overflow_abort(t, t->active, "");
  }
  /* Not ours: hand over to whoever was there before, or crash normally. */
  if (old_segv.sa_flags & SA_SIGINFO) {
    if (old_segv.sa_sigaction) {
      old_segv.sa_sigaction(sig, si, uctx);
      return;
    }
  } else if (old_segv.sa_handler != SIG_DFL && old_segv.sa_handler != SIG_IGN) {
    old_segv.sa_handler(sig);
    return;
  }
  signal(SIGSEGV, SIG_DFL); /* the faulting instruction runs again */
}

static void install_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
}

void eddy__overflow_handler_install(void) {
  /* The handler needs a stack of its own: the faulting one is full. */
  if (!altstack) {
    size_t sz = 64 * 1024;
    int err;
    altstack = eddy__sys_mmap(sz, &err);
    if (altstack) {
      stack_t ss = {.ss_sp = altstack, .ss_size = sz, .ss_flags = 0};
      stack_t old;
      if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
        eddy__sys_munmap(altstack, sz); /* the program has its own */
        altstack = (void *)1;
      } else {
        sigaltstack(&ss, NULL);
      }
    }
  }
  pthread_once(&handler_once, install_handler);
}
