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
 * alternate signal stack, which names the task that overflowed and aborts. */

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

typedef struct slab {
  struct slab *next;
  char *base;
  size_t len;
} slab;

typedef struct free_slot {
  struct free_slot *next;
} free_slot;

typedef struct eddy__pool {
  struct eddy__pool *next;
  size_t usable;     /* bytes above the guard */
  size_t slot;       /* guard + usable, page multiple */
  slab *slabs;
  char *fresh;       /* next never-used slot in the newest slab */
  size_t fresh_left;
  free_slot *free;   /* kept at the top of each free stack */
  size_t nfree;
} eddy__pool;

enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT };
static int guard_mode = GUARD_UNKNOWN; /* probed once per process */

size_t eddy__stack_guard_size(void) { return GUARD_SIZE; }

static size_t page_round(size_t n) {
  size_t pg = 4096;
  return (n + pg - 1) & ~(pg - 1);
}

static eddy__pool *pool_for(eddy_loop *loop, size_t usable) {
  for (eddy__pool *p = loop->pools; p; p = p->next)
    if (p->usable == usable) return p;
  eddy__pool *p = eddy__calloc(1, sizeof *p);
  if (!p) return NULL;
  p->usable = usable;
  p->slot = usable + GUARD_SIZE;
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
  slab *s = eddy__alloc(sizeof *s);
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

int eddy__stack_get(eddy_loop *loop, size_t size, eddy__stack *out) {
  if (size == 0) size = loop->stack_size;
  if (size < EDDY_STACK_MIN || size > EDDY_STACK_MAX) return EDDY_ESTACK;
  eddy__pool *p = pool_for(loop, page_round(size));
  if (!p) return -ENOMEM;
  char *slot;
  if (p->free) {
    free_slot *f = p->free;
    p->free = f->next;
    p->nfree--;
    slot = (char *)f + sizeof(free_slot) - p->slot;
  } else {
    if (!p->fresh_left) {
      int r = slab_new(p);
      if (r) return r;
    }
    slot = p->fresh;
    int r = install_guard(loop, slot);
    if (r) return r; /* the slot stays fresh: the next spawn retries it */
    p->fresh += p->slot;
    p->fresh_left--;
  }
  out->slot = slot;
  out->lo = slot + GUARD_SIZE;
  out->hi = slot + p->slot;
  out->pool = p;
  out->vg_id = VALGRIND_STACK_REGISTER(out->lo, out->hi);
  /* A reused stack still carries ASan's poison from frames that never
   * returned (the previous owner switched away for good). */
  UNPOISON(out->lo, (size_t)(out->hi - out->lo));
  return 0;
}

void eddy__stack_put(eddy_loop *loop, eddy__stack *st) {
  (void)loop;
  eddy__pool *p = st->pool;
  VALGRIND_STACK_DEREGISTER(st->vg_id);
  if (p->nfree >= WARM_FREE_STACKS) /* give the pages back, keep the slot */
    madvise(st->lo, (size_t)(st->hi - st->lo), MADV_DONTNEED);
  free_slot *f = (free_slot *)(st->hi - sizeof(free_slot));
  f->next = p->free;
  p->free = f;
  p->nfree++;
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

static void on_segv(int sig, siginfo_t *si, void *uctx) {
  eddy_loop *loop = eddy__loop_tls;
  eddy_task *t = loop ? loop->current : NULL;
  if (t && t->active) {
    char *a = si->si_addr, *slot = t->active->stack.slot;
    if (slot && a >= slot && a < slot + GUARD_SIZE + 256) {
      say("eddy: stack overflow in task ");
      say_num(t->id);
      say(" '");
      say(t->name[0] ? t->name : "(unnamed)");
      say("' spawned at ");
      say(t->spawn_file ? t->spawn_file : "?");
      say(":");
      say_num((unsigned long long)t->spawn_line);
      if (t->active != &t->coro) say(" (while running a generator)");
      say("; raise its stack_size\n");
      signal(SIGABRT, SIG_DFL);
      abort();
    }
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
