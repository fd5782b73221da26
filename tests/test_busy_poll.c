/* test_busy_poll.c: eddy_loop_opts.busy_poll. A loop that spins before
 * sleeping still does its I/O, timers and cross-thread completions on time;
 * under a steady stream of work it catches the work awake instead of
 * sleeping for each piece; once idle, or when it shares its CPU with a busy
 * thread, it stops spinning. The option only
 * acts on io_uring (epoll cannot watch for work without a system call), so
 * the tests run on the backend the environment picks (the CI runs the
 * suite on both) and check the spinning itself only on io_uring. */
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

static int on_uring(void) { return strcmp(eddy_backend_name(), "io_uring") == 0; }

static int cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

/* The n-th CPU this process may run on (-1: none). */
static int nth_cpu(int n) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set) && n-- == 0) return c;
  return -1;
}

static void pin(pthread_t th, int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ASSERT_EQ(pthread_setaffinity_np(th, sizeof one, &one), 0);
}

/* Times this thread went to sleep (voluntary context switches). */
static long sleeps(void) {
  struct rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

/* Time (ns) this thread has spent runnable but waiting for its CPU. */
static unsigned long long run_queue_wait(void) {
  FILE *f = fopen("/proc/thread-self/schedstat", "r");
  unsigned long long oncpu = 0, waited = 0;
  if (f) {
    if (fscanf(f, "%llu %llu", &oncpu, &waited) != 2) waited = 0;
    fclose(f);
  }
  return waited;
}

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The peer: a plain thread echoing bytes on a blocking socket until EOF. */
static void *echo_thread(void *arg) {
  int fd = *(int *)arg;
  char b[256];
  ssize_t n;
  while ((n = read(fd, b, sizeof b)) > 0)
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(fd, b + off, (size_t)(n - off));
      if (w <= 0) break;
      off += w;
    }
  close(fd);
  return NULL;
}

#define ROUNDS 2000

typedef struct trips {
  long slept;    /* sleeps of the loop's thread during the round trips */
  double waited; /* share of the time it was runnable but kept off its CPU */
  double awake;  /* share of the time spent in round trips it made without sleeping */
} trips;

/* A thread that only burns its CPU until told to stop. */
static volatile int hog_stop;
static void *hog_thread(void *arg) {
  (void)arg;
  while (!hog_stop) {
  }
  return NULL;
}

/* One-byte round trips with an echo thread: first for `warm` ns (they let
 * the loop see its company), then, measured, until both `rounds` round
 * trips and `span` ns are done. With two CPUs or more the loop and the
 * peer are pinned to different ones (left together, the woken peer would
 * preempt the loop and answer before it could sleep at all); with `hog`, a
 * busy thread shares the loop's CPU. */
static trips ping_pong(int rounds, eddy_time_t warm, eddy_time_t span, int hog) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  pthread_t th, hg;
  ASSERT_EQ(pthread_create(&th, NULL, echo_thread, &sv[1]), 0);
  int a = nth_cpu(0), b = nth_cpu(1);
  if (b >= 0) {
    pin(pthread_self(), a);
    pin(th, b);
  }
  hog_stop = 0;
  if (hog) {
    ASSERT_EQ(pthread_create(&hg, NULL, hog_thread, NULL), 0);
    pin(hg, a);
  }
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  long before = 0;
  unsigned long long w0 = 0;
  eddy_time_t t0 = eddy_now() + warm, awake = 0;
  int measuring = 0;
  for (int i = 0; !measuring || i < rounds || eddy_now() - t0 < span; i++) {
    if (!measuring && eddy_now() >= t0) {
      measuring = 1;
      i = 0;
      before = sleeps();
      w0 = run_queue_wait();
      t0 = eddy_now();
    }
    long s0 = sleeps();
    eddy_time_t r0 = eddy_now();
    char c = (char)i, got = 0;
    ASSERT_RC(eddy_stream_write(s, &c, 1, NULL, EDDY_FOREVER), 0);
    ASSERT_RC(eddy_stream_read_exact(s, &got, 1, EDDY_FOREVER), 0);
    ASSERT_EQ(got, c);
    if (measuring && sleeps() == s0) awake += eddy_now() - r0;
  }
  eddy_time_t took = eddy_now() - t0;
  trips r = {.slept = sleeps() - before,
             .waited = (double)(run_queue_wait() - w0) / (double)took,
             .awake = (double)awake / (double)took};
  hog_stop = 1;
  if (hog) pthread_join(hg, NULL);
  eddy_stream_close(s); /* the echo thread sees the end and closes its side */
  pthread_join(th, NULL);
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  return r;
}

/* The loop spun through the round trips. Only promised on io_uring, with
 * the peer on another CPU, and while nothing else wants the loop's CPU: on
 * a machine others are using, the loop may rightly stop spinning (see
 * contention_check in src/backend/uring.c), and then this says so and
 * checks nothing more. */
static void expect_few_sleeps(trips r) {
  if (!on_uring() || cpus() < 2) return;
  if (r.waited > 0.02) {
    fprintf(stderr, "the loop's CPU was shared (kept waiting %.1f%% of the time): "
                    "spinning not expected\n", r.waited * 100);
    return;
  }
  if (r.slept >= ROUNDS / 10) fprintf(stderr, "slept %ld times in %d round trips\n", r.slept, ROUNDS);
  ASSERT(r.slept < ROUNDS / 10);
}

/* Spinning makes a loop catch replies awake: with a peer on another CPU
 * answering within microseconds, the loop hardly ever sleeps (without the
 * option it sleeps about once per round trip). */
static int awake_main(void *arg) {
  (void)arg;
  expect_few_sleeps(ping_pong(ROUNDS, 0, 0, 0));
  return 0;
}
TEST(spinning_loop_catches_replies_awake) {
  eddy_loop_opts o = {.busy_poll = EDDY_MSEC(2)};
  ASSERT_RC(eddy_run_opts(awake_main, NULL, &o), 0);
}

/* A loop that shares its CPU with a busy thread does not spin (spinning
 * would spend the CPU time it needs for its work): it sleeps for replies
 * as if the option were off, once it has seen its company. It still tries
 * a spin now and then (for at most a contention window every hold period,
 * see contention_check in src/backend/uring.c) to learn whether the
 * company has left, and round trips made spinning are quick, so the share
 * of round trips made awake says little; the share of the time spent in
 * them, measured over several hold periods, is what tells a loop that
 * spins now and then from one that spins all along (near all of it). */
static int shared_main(void *arg) {
  (void)arg;
  /* Only io_uring spins. On epoll (and under valgrind, where loops run on
   * epoll and threads take turns, so replies are often there before the
   * loop looks) the sleep count says nothing about spinning. */
  if (!on_uring()) return 0;
  trips r = ping_pong(ROUNDS, EDDY_MSEC(100), EDDY_MSEC(700), 1);
  if (r.awake >= 0.5)
    fprintf(stderr, "%.1f%% of the time in round trips made awake (%ld sleeps)\n",
            r.awake * 100, r.slept);
  ASSERT(r.awake < 0.5);
  return 0;
}
TEST(loop_sharing_its_cpu_does_not_spin) {
  if (cpus() < 2) return; /* the hog would take the echo thread's CPU too */
  eddy_loop_opts o = {.busy_poll = EDDY_MSEC(2)};
  ASSERT_RC(eddy_run_opts(shared_main, NULL, &o), 0);
}

/* An idle loop stops spinning after one fruitless spin: twenty 10 ms
 * sleeps with a 5 ms spin cost far less than the 100 ms of CPU that
 * spinning before each of them would. */
static int idle_main(void *arg) {
  double *used = arg;
  double c0 = cpu_ms();
  for (int i = 0; i < 20; i++) ASSERT_RC(eddy_sleep(EDDY_MSEC(10)), 0);
  *used = cpu_ms() - c0;
  return 0;
}
TEST(idle_loop_stops_spinning) {
  eddy_loop_opts o = {.busy_poll = EDDY_MSEC(5)};
  double used = 0;
  ASSERT_RC(eddy_run_opts(idle_main, &used, &o), 0);
  if (used >= 40) fprintf(stderr, "CPU used: %.1f ms\n", used);
  ASSERT(used < 40);
}

/* After an idle spell (which turns spinning off), dense work turns it back
 * on. */
static int resume_main(void *arg) {
  (void)arg;
  for (int i = 0; i < 5; i++) ASSERT_RC(eddy_sleep(EDDY_MSEC(10)), 0);
  expect_few_sleeps(ping_pong(ROUNDS, 0, 0, 0));
  return 0;
}
TEST(spinning_resumes_when_work_returns) {
  eddy_loop_opts o = {.busy_poll = EDDY_MSEC(2)};
  ASSERT_RC(eddy_run_opts(resume_main, NULL, &o), 0);
}

/* A spin far longer than the next timer or a thread's completion does not
 * delay them: the spin ends at the timer's due time, and a completion
 * posted from another thread is seen while spinning. */
static int slow_job(void *arg) {
  (void)arg;
  usleep(20 * 1000);
  return 7;
}
static int on_time_main(void *arg) {
  (void)arg;
  /* first the thread (the loop spins: nothing has turned spinning off) */
  eddy_time_t t0 = eddy_now();
  int result = 0;
  ASSERT_RC(eddy_to_thread(slow_job, NULL, &result), 0);
  ASSERT_EQ(result, 7);
  eddy_time_t took = eddy_now() - t0;
  ASSERT(took < EDDY_MSEC(500));
  /* then a timer, due long before the spin would end */
  t0 = eddy_now();
  ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0);
  took = eddy_now() - t0;
  ASSERT(took >= EDDY_MSEC(20) && took < EDDY_MSEC(500));
  return 0;
}
TEST(timers_and_thread_completions_are_not_delayed_by_a_long_spin) {
  eddy_loop_opts o = {.busy_poll = EDDY_SEC(2)};
  ASSERT_RC(eddy_run_opts(on_time_main, NULL, &o), 0);
}
