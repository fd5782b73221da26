/* test_stack.c: stacks: sizes, pooling, the guard page (MADV_GUARD_INSTALL
 * and the mprotect fallback), a clear error when no guard can be had, the
 * overflow report, and a million idle tasks. */
#include "test.h"

#include <sys/resource.h>


static int noop(void *arg) {
  (void)arg;
  return 0;
}

static int sizes_main(void *arg) {
  (void)arg;
  eddy_spawn_opts small = {.stack_size = 1024};
  ASSERT_RC(eddy_spawn_ex(NULL, noop, NULL, &small), EDDY_ESTACK);
  eddy_spawn_opts huge = {.stack_size = (size_t)1 << 40};
  ASSERT_RC(eddy_spawn_ex(NULL, noop, NULL, &huge), EDDY_ESTACK);
  eddy_spawn_opts big = {.stack_size = 1 << 20};
  eddy_task *t;
  ASSERT_RC(eddy_spawn_ex(&t, noop, NULL, &big), 0);
  return eddy_join(t, NULL);
}
TEST(stack_size_limits) { ASSERT_EQ(eddy_run(sizes_main, NULL), 0); }

TEST(loop_default_stack_size_checked) {
  eddy_loop_opts o = {.stack_size = 100};
  ASSERT_RC(eddy_run_opts(noop, NULL, &o), EDDY_ESTACK);
}

static int deep(int n) {
  volatile char buf[1024];
  buf[0] = (char)n;
  return n ? deep(n - 1) + buf[0] : 0;
}
static int big_frame_user(void *arg) {
  (void)arg;
  return deep(200) > 0 ? 0 : 1; /* ~200 KiB of stack */
}
static int big_stack_main(void *arg) {
  (void)arg;
  eddy_spawn_opts o = {.stack_size = 512 * 1024};
  eddy_task *t;
  int res = -1;
  eddy_spawn_ex(&t, big_frame_user, NULL, &o);
  eddy_join(t, &res);
  return res;
}
TEST(configured_stack_size_is_usable) { ASSERT_EQ(eddy_run(big_stack_main, NULL), 0); }

static int recurse_forever(void *arg) {
  (void)arg;
  return deep(1 << 20);
}
static int overflow_main(void *arg) {
  (void)arg;
  eddy_spawn_opts o = {.name = "deep-diver"};
  eddy_spawn_ex(NULL, recurse_forever, NULL, &o);
  return 0;
}
static void overflow_child(void *arg) {
  (void)arg;
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl); /* no core file for the expected abort */
  eddy_run(overflow_main, NULL);
}
TEST(overflow_names_the_task) {
#if defined(TEST_ASAN)
  return; /* ASan reports the overflow itself, before our handler */
#endif
  char buf[512];
  int st = run_in_child(overflow_child, NULL, buf, sizeof buf);
  ASSERT(WIFSIGNALED(st));
  ASSERT_EQ(WTERMSIG(st), SIGABRT);
  ASSERT(strstr(buf, "stack overflow in task") != NULL);
  ASSERT(strstr(buf, "'deep-diver'") != NULL);
  ASSERT(strstr(buf, "test_stack.c:") != NULL);
}

static int spawn_one(void *arg) {
  int expect = (int)(intptr_t)arg;
  eddy_task *t;
  int r = eddy_spawn(&t, noop, NULL);
  if (r == 0) eddy_join(t, NULL);
  ASSERT_RC(r, expect);
  return 0;
}
TEST(mprotect_fallback_when_madvise_guard_missing) {
  /* An older kernel answers EINVAL to MADV_GUARD_INSTALL: fall back. */
  eddy__fault_set(EDDY_SYS_MADVISE_GUARD, 0, EINVAL, 0);
  ASSERT_EQ(eddy_run(spawn_one, (void *)0), 0);
}
TEST(no_guard_is_a_clear_error) {
  /* With the fallback out of map entries (ENOMEM), say so. */
  eddy__fault_set(EDDY_SYS_MADVISE_GUARD, 0, EINVAL, 0); /* an older kernel */
  eddy__fault_set(EDDY_SYS_MPROTECT, 1, ENOMEM, 0); /* main gets its guard */
  ASSERT_EQ(eddy_run(spawn_one, (void *)(intptr_t)EDDY_ENOGUARD), 0);
}
TEST(unguarded_stacks_when_asked) {
  eddy_loop_opts o = {.stack_guard = -1};
  eddy__fault_set(EDDY_SYS_MADVISE_GUARD, 0, EINVAL, 0);
  eddy__fault_set(EDDY_SYS_MPROTECT, 0, ENOMEM, 0);
  ASSERT_EQ(eddy_run_opts(spawn_one, (void *)0, &o), 0);
}
TEST(stack_mmap_failure_is_enomem) {
  eddy__fault_set(EDDY_SYS_MMAP, 1, ENOMEM, 0); /* the altstack, then main's slab */
  int r = eddy_run(noop, NULL);
  ASSERT(r == -ENOMEM || r == 0);
  eddy__fault_clear();
  eddy__fault_set(EDDY_SYS_MMAP, 0, ENOMEM, 0);
  ASSERT_RC(eddy_run(noop, NULL), -ENOMEM);
}

static int pooled_main(void *arg) {
  (void)arg;
  eddy_task *t1, *t2;
  eddy_spawn(&t1, noop, NULL);
  eddy_join(t1, NULL);
  void *first = t1;
  eddy_spawn(&t2, noop, NULL); /* the warm stack is reused */
  ASSERT(first == (void *)t2);
  return eddy_join(t2, NULL);
}
TEST(stacks_are_pooled) { ASSERT_EQ(eddy_run(pooled_main, NULL), 0); }

/* A million concurrent idle tasks on the default configuration. */
static eddy_event gate;
static long woke;
static int idle_task(void *arg) {
  (void)arg;
  int r = eddy_event_wait(&gate);
  if (r == 0) woke++;
  return r;
}
static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &v) == 1) break;
  if (f) fclose(f);
  return v;
}
static int million_main(void *arg) {
  long n = (long)(intptr_t)arg;
  eddy_event_init(&gate);
  long before = rss_kib();
  for (long i = 0; i < n; i++) ASSERT_RC(eddy_spawn(NULL, idle_task, NULL), 0);
  eddy_yield(); /* every task runs up to its wait */
  long after = rss_kib();
  fprintf(stderr, "%ld idle tasks: %.0f bytes RSS each\n", n,
          (double)(after - before) * 1024.0 / (double)n);
#if !defined(TEST_ASAN)
  /* ASan's shadow and redzones add their own memory; the bound is for the
   * plain build. */
  ASSERT((after - before) * 1024 / n <= 4608); /* 4.5 KiB */
#endif
  eddy_event_set(&gate);
  return 0;
}
TEST(million_idle_tasks) {
  const char *s = getenv("EDDY_TEST_TASKS");
  long n = s ? atol(s) : 1000000;
  ASSERT_EQ(eddy_run(million_main, (void *)(intptr_t)n), 0);
  ASSERT_EQ(woke, n);
}

/* Stacks freed beyond the warm ones give their pages back (in runs of
 * adjacent slots) when the loop sleeps, after a delay, or at once; and
 * their slots are reused afterwards. */
static eddy_event deep_gate;
static __attribute__((noinline)) int touch_deep(void) {
  char buf[48 * 1024];
  memset(buf, 1, sizeof buf);
  /* the array escapes: the compiler must keep it whole, in the frame */
  __asm__ volatile("" : : "r"(buf) : "memory");
  int r = eddy_event_wait(&deep_gate);
  __asm__ volatile("" : : "r"(buf) : "memory");
  return r + buf[100] - 1;
}
static int deep_task(void *arg) {
  (void)arg;
  return touch_deep();
}
/* One burst: n tasks touch 48 KiB of stack each, wait, then finish. Returns
 * the RSS at the peak (KiB) and leaves every task finished. */
static long burst(long n) {
  eddy_event_init(&deep_gate);
  for (long i = 0; i < n; i++)
    if (eddy_spawn(NULL, deep_task, NULL)) return -1;
  eddy_yield(); /* every task has touched its 48 KiB and waits */
  long peak = rss_kib();
  eddy_event_set(&deep_gate);
  eddy_yield(); /* every task finishes */
  eddy_yield();
  return peak;
}
#define BURST 3000L
/* All but the 1024 warm stacks gave back at least 40 KiB each; `spare`
 * more may be left pending (an unfinished round of 256). */
#define RELEASED(peak, after, spare) ((peak) - (after) >= (BURST - 1024 - (spare)) * 40)

static int release_when_idle_main(void *arg) {
  (void)arg;
  for (int round = 0; round < 2; round++) {
    long peak = burst(BURST);
    ASSERT(peak > 0);
    eddy_sleep(EDDY_MSEC(20)); /* the loop sleeps */
    long after = rss_kib();
    fprintf(stderr, "round %d: %ld KiB at the peak, %ld KiB after a sleep\n", round, peak, after);
    ASSERT(RELEASED(peak, after, 0));
  }
  return 0;
}
TEST(stack_release_freed_stacks_give_their_pages_back_when_the_loop_sleeps) {
  eddy_loop_opts o = {.stack_release_delay = EDDY_SEC(3600)};
  ASSERT_EQ(eddy_run_opts(release_when_idle_main, NULL, &o), 0);
}

/* Before the loop sleeps, the freed stacks keep their pages, and the next
 * burst of spawns takes them (its stacks need no new memory). */
static int release_deferred_main(void *arg) {
  (void)arg;
  long peak = burst(BURST);
  long kept = rss_kib();
  long peak2 = burst(BURST);
  long kept2 = rss_kib();
  fprintf(stderr, "peak %ld KiB, after %ld, second peak %ld, after %ld\n", peak, kept, peak2,
          kept2);
  ASSERT(peak > 0 && peak2 > 0);
  ASSERT(peak - kept < BURST * 4);   /* nothing given back... */
  ASSERT(peak2 - peak < BURST * 4);  /* ...and the second burst reused it */
  eddy_sleep(EDDY_MSEC(20));
  ASSERT(RELEASED(peak2, rss_kib(), 0));
  return 0;
}
TEST(stack_release_a_burst_of_exits_keeps_its_pages_for_the_next_spawns) {
  eddy_loop_opts o = {.stack_release_delay = EDDY_SEC(3600)};
  ASSERT_EQ(eddy_run_opts(release_deferred_main, NULL, &o), 0);
}

/* A loop that never sleeps gives the pages back once the delay is over. */
static int release_busy_main(void *arg) {
  (void)arg;
  long peak = burst(BURST);
  ASSERT(peak > 0);
  eddy_time_t end = eddy_deadline_in(EDDY_MSEC(200));
  while (eddy_now() < end) eddy_yield(); /* always ready: no sleep */
  long after = rss_kib();
  fprintf(stderr, "%ld KiB at the peak, %ld KiB after 200 ms busy\n", peak, after);
  ASSERT(RELEASED(peak, after, 0));
  return 0;
}
TEST(stack_release_a_loop_that_never_sleeps_releases_after_the_delay) {
  eddy_loop_opts o = {.stack_release_delay = EDDY_MSEC(20)};
  ASSERT_EQ(eddy_run_opts(release_busy_main, NULL, &o), 0);
}

/* A negative delay: given back at once, 256 at a time, without a sleep. */
static int release_at_once_main(void *arg) {
  (void)arg;
  for (int round = 0; round < 2; round++) {
    long peak = burst(BURST);
    long after = rss_kib();
    fprintf(stderr, "round %d: %ld KiB at the peak, %ld KiB after\n", round, peak, after);
    ASSERT(peak > 0);
    ASSERT(RELEASED(peak, after, 256));
  }
  return 0;
}
TEST(stack_release_at_once_when_the_delay_is_negative) {
  eddy_loop_opts o = {.stack_release_delay = -1};
  ASSERT_EQ(eddy_run_opts(release_at_once_main, NULL, &o), 0);
}

/* A negative delay gives pages back in rounds of 256 freed stacks, not at
 * every turn of a busy loop (one madvise per stack is what the rounds
 * save); what is left of a round goes back when the loop sleeps. */
#define FEW 200L /* freed beyond the warm ones: less than a round */
static int release_rounds_main(void *arg) {
  (void)arg;
  long peak = burst(1024 + FEW);
  ASSERT(peak > 0);
  for (int i = 0; i < 8 * 1024; i++) eddy_yield(); /* turns, never a sleep */
  long kept = rss_kib();
  eddy_sleep(EDDY_MSEC(20));
  long after = rss_kib();
  fprintf(stderr, "%ld KiB at the peak, %ld KiB after busy turns, %ld after a sleep\n", peak, kept,
          after);
  ASSERT(peak - kept < FEW * 10); /* less than a round: still pending */
  ASSERT(kept - after >= FEW * 40); /* the loop slept: given back */
  return 0;
}
TEST(stack_release_at_once_gives_back_in_rounds_not_every_turn) {
  eddy_loop_opts o = {.stack_release_delay = -1};
  ASSERT_EQ(eddy_run_opts(release_rounds_main, NULL, &o), 0);
}

/* Whatever the delay, a stack in use is never given back: tasks of two
 * stack sizes and generators write a pattern into their stacks, then
 * yield, sleep, spawn and join while others finish and the loop releases
 * pending stacks (1 ns: at every turn; < 0: in rounds as stacks are
 * freed; the default: when the loop sleeps). A released live stack reads
 * back zeros (or takes its control block with it and crashes). */
static unsigned long long live_rng = 88172645463325252ULL;
static long live_bad, live_done;
static unsigned live_rnd(unsigned n) {
  live_rng ^= live_rng << 13;
  live_rng ^= live_rng >> 7;
  live_rng ^= live_rng << 17;
  return (unsigned)(live_rng % n);
}
static void pattern_fill(volatile unsigned char *b, size_t n, unsigned k) {
  for (size_t i = 0; i < n; i += 64) b[i] = (unsigned char)(k + i / 64 + 1);
}
static int pattern_ok(volatile unsigned char *b, size_t n, unsigned k) {
  for (size_t i = 0; i < n; i += 64)
    if (b[i] != (unsigned char)(k + i / 64 + 1)) return 0;
  return 1;
}
static int live_gen(eddy_gen *g, void *arg) {
  unsigned k = (unsigned)(uintptr_t)arg;
  volatile unsigned char buf[6000];
  pattern_fill(buf, sizeof buf, k);
  for (int i = 0; i < 3; i++) {
    if (eddy_gen_yield(g, &i)) break;
    if (!pattern_ok(buf, sizeof buf, k)) live_bad++;
  }
  if (!pattern_ok(buf, sizeof buf, k)) live_bad++;
  return 0;
}
static int live_task(void *arg) {
  unsigned k = (unsigned)(uintptr_t)arg;
  volatile unsigned char buf[12000];
  pattern_fill(buf, sizeof buf, k);
  for (int s = (int)live_rnd(5); s > 0; s--) {
    switch (live_rnd(4)) {
    case 0: eddy_yield(); break;
    case 1: eddy_sleep(EDDY_USEC(live_rnd(2000))); break;
    case 2: {
      eddy_iter *it = eddy_gen_new(live_gen, (void *)(uintptr_t)(k * 7), sizeof(int));
      int x;
      for (int i = (int)live_rnd(5); i > 0 && eddy_iter_next(it, &x) == 0; i--) eddy_yield();
      eddy_gen_free(it);
      break;
    }
    default: {
      eddy_spawn_opts o = {.stack_size = 32 * 1024};
      eddy_task *t;
      if (eddy_spawn_ex(&t, live_task, (void *)(uintptr_t)(k + 1), &o) != 0) live_bad++;
      else if (live_rnd(2)) eddy_join(t, NULL);
      else eddy_detach(t);
    }
    }
    if (!pattern_ok(buf, sizeof buf, k)) live_bad++;
  }
  if (!pattern_ok(buf, sizeof buf, k)) live_bad++;
  live_done++;
  return 0;
}
static int live_main(void *arg) {
  (void)arg;
  for (int round = 0; round < 12; round++) {
    for (unsigned n = live_rnd(3000); n > 0; n--) {
      eddy_spawn_opts o = {.stack_size = live_rnd(3) ? 0 : 32 * 1024};
      ASSERT_RC(eddy_spawn_ex(NULL, live_task, (void *)(uintptr_t)live_rnd(1000), &o), 0);
    }
    if (live_rnd(2)) eddy_sleep(EDDY_MSEC(live_rnd(3)));
    else
      for (int i = (int)live_rnd(3000); i > 0; i--) eddy_yield();
  }
  return 0;
}
TEST(stack_release_never_gives_back_a_stack_in_use) {
  eddy_time_t delays[] = {1, -1, 0};
  for (int d = 0; d < 3; d++) {
    eddy_loop_opts o = {.stack_release_delay = delays[d]};
    live_bad = live_done = 0;
    ASSERT_EQ(eddy_run_opts(live_main, NULL, &o), 0);
    fprintf(stderr, "delay %lld: %ld tasks, %ld damaged\n", (long long)delays[d], live_done,
            live_bad);
    ASSERT(live_done > 5000); /* well past the 1024 warm stacks, many times */
    ASSERT_EQ(live_bad, 0);
  }
}

/* ---- packed stacks: under a page, in a loop without guards */

#define SMALL EDDY_STACK_MIN_UNGUARDED
/* An idle task's wait takes under 1 KiB of stack in any build but ASan's,
 * whose frames carry redzones and whose interceptors are deep: there even
 * a wait on an event can take more than the 4032 bytes of the largest
 * packed stack, so the tests that run tasks on packed stacks skip
 * themselves (SKIP_UNDER_ASAN). */
#define IDLE_STACK SMALL
#define IDLE_STACK2 ((size_t)3000)
#define KEEP_BYTES 512
#if defined(TEST_ASAN)
#define SKIP_UNDER_ASAN return
#else
#define SKIP_UNDER_ASAN (void)0
#endif
static eddy_event packed_gate;
static int packed_wait(void *arg) {
  (void)arg;
  return eddy_event_wait(&packed_gate);
}

static int small_refused_main(void *arg) {
  size_t size = (size_t)(uintptr_t)arg;
  eddy_spawn_opts o = {.stack_size = size};
  ASSERT_RC(eddy_spawn_ex(NULL, noop, NULL, &o), EDDY_ESTACK);
  return 0;
}
TEST(packed_stacks_need_a_loop_without_guards) {
  /* with guards: nothing under EDDY_STACK_MIN, per task or per loop */
  ASSERT_EQ(eddy_run(small_refused_main, (void *)(uintptr_t)SMALL), 0);
  eddy_loop_opts guarded = {.stack_size = SMALL};
  ASSERT_RC(eddy_run_opts(noop, NULL, &guarded), EDDY_ESTACK);
  /* without: nothing under EDDY_STACK_MIN_UNGUARDED */
  eddy_loop_opts bare = {.stack_guard = -1};
  ASSERT_EQ(eddy_run_opts(small_refused_main, (void *)(uintptr_t)(SMALL - 1), &bare), 0);
  eddy_loop_opts bare_small = {.stack_guard = -1, .stack_size = SMALL - 1};
  ASSERT_RC(eddy_run_opts(noop, NULL, &bare_small), EDDY_ESTACK);
}

/* Consecutive small stacks lie side by side, 64-byte aligned: two 2 KiB
 * tasks share a page. */
static int side_by_side_main(void *arg) {
  (void)arg;
  eddy_event_init(&packed_gate);
  size_t sizes[] = {IDLE_STACK, IDLE_STACK2};
  size_t strides[] = {IDLE_STACK, (IDLE_STACK2 + 63) & ~(size_t)63};
  for (int k = 0; k < 2; k++) {
    eddy_spawn_opts o = {.stack_size = sizes[k]};
    eddy_task *a, *b, *c;
    ASSERT_RC(eddy_spawn_ex(&a, packed_wait, NULL, &o), 0);
    ASSERT_RC(eddy_spawn_ex(&b, packed_wait, NULL, &o), 0);
    ASSERT_RC(eddy_spawn_ex(&c, packed_wait, NULL, &o), 0);
    ASSERT_EQ((long)((char *)b - (char *)a), (long)strides[k]);
    ASSERT_EQ((long)((char *)c - (char *)b), (long)strides[k]);
    eddy_yield(); /* each runs up to its wait on its own stack */
    eddy_event_set(&packed_gate);
    ASSERT_RC(eddy_join(a, NULL), 0);
    ASSERT_RC(eddy_join(b, NULL), 0);
    ASSERT_RC(eddy_join(c, NULL), 0);
    eddy_event_init(&packed_gate);
  }
  return 0;
}
TEST(packed_stacks_lie_side_by_side) {
  SKIP_UNDER_ASAN;
  eddy_loop_opts o = {.stack_guard = -1};
  ASSERT_EQ(eddy_run_opts(side_by_side_main, NULL, &o), 0);
}

/* Tasks and generators on packed stacks do what tasks do: wait, sleep,
 * pass items over a channel, yield items, and are pooled and reused. The
 * deepest of these paths (a sleep that grows the timer heap: malloc) takes
 * about 0.6 KiB of stack in an optimized build and twice that unoptimized,
 * which gets the largest packed size. */
#if !defined(__OPTIMIZE__)
#define WORK_STACK ((size_t)4032)
#else
#define WORK_STACK SMALL
#endif
static eddy_chan *packed_ch;
static int packed_gen(eddy_gen *g, void *arg) {
  (void)arg;
  for (int i = 0; i < 5; i++)
    if (eddy_gen_yield(g, &i)) break;
  return 0;
}
static int packed_producer(void *arg) {
  int n = (int)(intptr_t)arg;
  eddy_sleep(EDDY_MSEC(1));
  for (int i = 0; i < n; i++) {
    int r = eddy_chan_send(packed_ch, &i, EDDY_FOREVER);
    if (r) return r;
  }
  return 0;
}
static int packed_consumer(void *arg) {
  int n = (int)(intptr_t)arg, sum = 0, x;
  for (int i = 0; i < n; i++) {
    int r = eddy_chan_recv(packed_ch, &x, EDDY_FOREVER);
    if (r) return r;
    sum += x;
  }
  eddy_iter *it = eddy_gen_new_at(packed_gen, NULL, sizeof(int), WORK_STACK, __FILE__, __LINE__);
  while (eddy_iter_next(it, &x) == 0) sum += x;
  eddy_gen_free(it);
  return sum; /* what it received (from any producer) and 0+1+2+3+4 */
}
static int packed_work_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_chan_new(&packed_ch, sizeof(int), 1, NULL), 0);
  eddy_spawn_opts o = {.stack_size = WORK_STACK};
  for (int round = 0; round < 3; round++) {
    eddy_task *p[50], *c[50];
    for (int i = 0; i < 50; i++) {
      ASSERT_RC(eddy_spawn_ex(&p[i], packed_producer, (void *)(intptr_t)100, &o), 0);
      ASSERT_RC(eddy_spawn_ex(&c[i], packed_consumer, (void *)(intptr_t)100, &o), 0);
    }
    long total = 0;
    for (int i = 0; i < 50; i++) {
      int rp = -1, rc = -1;
      ASSERT_RC(eddy_join(p[i], &rp), 0);
      ASSERT_RC(eddy_join(c[i], &rc), 0);
      ASSERT_EQ(rp, 0);
      total += rc;
    }
    ASSERT_EQ(total, 50L * (99 * 100 / 2 + 10));
  }
  eddy_chan_free(packed_ch);
  return 0;
}
TEST(packed_stacks_run_tasks_and_generators) {
  SKIP_UNDER_ASAN;
  eddy_loop_opts o = {.stack_guard = -1};
  ASSERT_EQ(eddy_run_opts(packed_work_main, NULL, &o), 0);
}

/* An overflow of a packed stack is found when the task ends: its canary
 * is gone. The task is named, and the process aborts. */
static __attribute__((noinline)) int fill_frame(size_t n) {
  volatile char buf[3000];
  for (size_t i = 0; i < n && i < sizeof buf; i++) buf[i] = (char)i;
  return buf[0];
}
static int overrun(void *arg) {
  (void)arg;
  return fill_frame(3000); /* 3000 bytes of frame on a 2 KiB stack */
}
static int packed_overflow_main(void *arg) {
  (void)arg;
  eddy_event_init(&packed_gate);
  eddy_spawn_opts below = {.stack_size = SMALL}; /* the slot it runs into */
  eddy_spawn_ex(NULL, packed_wait, NULL, &below);
  eddy_spawn_opts o = {.name = "overrunner", .stack_size = SMALL};
  eddy_task *t;
  eddy_spawn_ex(&t, overrun, NULL, &o);
  eddy_join(t, NULL);
  fprintf(stderr, "not caught\n");
  return 0;
}
static void packed_overflow_child(void *arg) {
  (void)arg;
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  eddy_loop_opts o = {.stack_guard = -1};
  eddy_run_opts(packed_overflow_main, NULL, &o);
}
TEST(packed_stack_overflow_is_caught_when_the_task_ends) {
  SKIP_UNDER_ASAN;
  char buf[1024];
  int st = run_in_child(packed_overflow_child, NULL, buf, sizeof buf);
  ASSERT(WIFSIGNALED(st));
  ASSERT_EQ(WTERMSIG(st), SIGABRT);
  ASSERT(strstr(buf, "stack overflow in task") != NULL);
  ASSERT(strstr(buf, "'overrunner'") != NULL);
  ASSERT(strstr(buf, "canary") != NULL);
  ASSERT(strstr(buf, "not caught") == NULL);
}

/* A million idle tasks on 2 KiB packed stacks: half a page each. */
static int packed_million_main(void *arg) {
  long n = (long)(intptr_t)arg;
  eddy_event_init(&gate);
  eddy_spawn_opts o = {.stack_size = IDLE_STACK};
  long before = rss_kib();
  for (long i = 0; i < n; i++) ASSERT_RC(eddy_spawn_ex(NULL, idle_task, NULL, &o), 0);
  eddy_yield();
  long after = rss_kib();
  fprintf(stderr, "%ld idle tasks on packed stacks: %.0f bytes RSS each\n", n,
          (double)(after - before) * 1024.0 / (double)n);
  ASSERT((after - before) * 1024 / n <= 2355); /* 2.3 KiB */
  eddy_event_set(&gate);
  return 0;
}
TEST(packed_million_idle_tasks) {
  SKIP_UNDER_ASAN;
  const char *s = getenv("EDDY_TEST_TASKS");
  long n = s ? atol(s) : 1000000;
  woke = 0;
  eddy_loop_opts o = {.stack_guard = -1};
  ASSERT_EQ(eddy_run_opts(packed_million_main, (void *)(intptr_t)n, &o), 0);
  ASSERT_EQ(woke, n);
}

/* Packed slots give back only the whole pages inside a run of free ones:
 * a page shared with a slot in use stays. Every other task of a burst
 * ends (beyond the warm stacks, their slots are pending), the loop sleeps
 * and gives back what it may; the tasks in between still find the pattern
 * in their frames. */
static eddy_event packed_gate2;
static long packed_bad;
static int pattern_keeper(void *arg) {
  unsigned k = (unsigned)(uintptr_t)arg;
  volatile unsigned char buf[KEEP_BYTES];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(k + i + 1);
  int r = (k & 1) ? eddy_event_wait(&packed_gate) : eddy_event_wait(&packed_gate2);
  for (size_t i = 0; i < sizeof buf; i++)
    if (buf[i] != (unsigned char)(k + i + 1)) {
      packed_bad++;
      break;
    }
  return r;
}
static long packed_burst_rss(void) {
  return rss_kib();
}
static int packed_release_main(void *arg) {
  (void)arg;
  eddy_event_init(&packed_gate);
  eddy_event_init(&packed_gate2);
  eddy_spawn_opts o = {.stack_size = IDLE_STACK};
  for (unsigned k = 0; k < 6000; k++)
    ASSERT_RC(eddy_spawn_ex(NULL, pattern_keeper, (void *)(uintptr_t)k, &o), 0);
  eddy_yield();
  eddy_event_set(&packed_gate); /* the odd ones end */
  eddy_yield();
  eddy_yield();
  eddy_sleep(EDDY_MSEC(20)); /* the loop sleeps: pending slots are given back */
  ASSERT_EQ(packed_bad, 0);
  long held = packed_burst_rss();
  eddy_event_set(&packed_gate2); /* the even ones end: now whole runs are free */
  eddy_yield();
  eddy_yield();
  ASSERT_EQ(packed_bad, 0);
  eddy_sleep(EDDY_MSEC(20));
  long after = packed_burst_rss();
  fprintf(stderr, "%ld KiB with half the tasks, %ld KiB after all ended\n", held, after);
  /* all but the warm stacks' pages went back: 6000 slots of about 2-4 KiB,
   * at least 4000 of them pending, nearly all in whole pages */
  ASSERT(held - after >= 4000L * (long)IDLE_STACK / 1024 * 8 / 10);
  return 0;
}
TEST(packed_stack_release_gives_back_whole_pages_and_keeps_shared_ones) {
  SKIP_UNDER_ASAN;
  eddy_loop_opts o = {.stack_guard = -1, .stack_release_delay = EDDY_SEC(3600)};
  ASSERT_EQ(eddy_run_opts(packed_release_main, NULL, &o), 0);
}
