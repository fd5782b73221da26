/* test_busy_poll.c: eddy_loop_opts.busy_poll. A loop that spins before
 * sleeping still does its I/O, timers and cross-thread completions on time;
 * under a steady stream of work it catches the work awake instead of
 * sleeping for each piece; once idle it stops spinning. The option only
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

/* ROUNDS one-byte round trips with the echo thread; the sleeps the loop's
 * thread took meanwhile go to *slept. With two CPUs or more the loop and
 * the peer are pinned to different ones: left together, the woken peer
 * would preempt the loop and answer before it could sleep at all. */
static void ping_pong(long *slept) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, echo_thread, &sv[1]), 0);
  if (cpus() >= 2) {
    int a = nth_cpu(0), b = nth_cpu(1);
    pin(pthread_self(), a);
    pin(th, b);
  }
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  long before = sleeps();
  for (int i = 0; i < ROUNDS; i++) {
    char c = (char)i, got = 0;
    ASSERT_RC(eddy_stream_write(s, &c, 1, NULL, EDDY_FOREVER), 0);
    ASSERT_RC(eddy_stream_read_exact(s, &got, 1, EDDY_FOREVER), 0);
    ASSERT_EQ(got, c);
  }
  *slept = sleeps() - before;
  eddy_stream_close(s); /* the echo thread sees the end and closes its side */
  pthread_join(th, NULL);
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
}

static void expect_few_sleeps(long slept) {
  if (slept >= ROUNDS / 10) fprintf(stderr, "slept %ld times in %d round trips\n", slept, ROUNDS);
  ASSERT(slept < ROUNDS / 10);
}

/* Spinning makes a loop catch replies awake: with a peer on another CPU
 * answering within microseconds, the loop hardly ever sleeps (without the
 * option it sleeps about once per round trip). */
static int awake_main(void *arg) {
  (void)arg;
  long slept;
  ping_pong(&slept);
  if (on_uring() && cpus() >= 2) expect_few_sleeps(slept);
  return 0;
}
TEST(spinning_loop_catches_replies_awake) {
  eddy_loop_opts o = {.busy_poll = EDDY_MSEC(2)};
  ASSERT_RC(eddy_run_opts(awake_main, NULL, &o), 0);
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
  long slept;
  ping_pong(&slept);
  if (on_uring() && cpus() >= 2) expect_few_sleeps(slept);
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
