/* test.h: the test harness. Each tests/test_*.c is one program holding
 * several TEST()s. `prog NAME` runs one test; `prog` runs all, each in a
 * child process with a timeout, and ends with "N passed, N failed". CMake
 * registers every TEST() as its own ctest test (named file.NAME), so a test
 * named after a spec rule (R7_nested_order) is found by that rule.
 *
 * After each test the harness checks that eddy's allocation counter is back
 * to zero: a test that leaks fails. */
#ifndef EDDY_TEST_H
#define EDDY_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* Fault injection and allocation counting (src/core/sys.h, internal): the
 * kinds are EDDY_SYS_ALLOC, EDDY_SYS_MMAP, ... */
#include "core/sys.h"

/* A wait queue (eddy_node head) with nobody in it. */
static inline int eddy__list_empty_(const eddy_node *h) { return h->next == h; }

typedef void (*test_fn)(void);
static struct {
  const char *name;
  test_fn fn;
} tests_[256];
static int ntests_;

static inline void test_register_(const char *name, test_fn fn) {
  tests_[ntests_].name = name;
  tests_[ntests_].fn = fn;
  ntests_++;
}

#define TEST(name)                                                          \
  static void test_##name(void);                                            \
  __attribute__((constructor)) static void reg_##name(void) {               \
    test_register_(#name, test_##name);                                     \
  }                                                                         \
  static void test_##name(void)

#define FAIL_(fmt, ...)                                                     \
  do {                                                                      \
    fprintf(stderr, "%s:%d: FAILED: " fmt "\n", __FILE__, __LINE__,        \
            __VA_ARGS__);                                                   \
    fflush(stderr);                                                         \
    abort();                                                                \
  } while (0)

#define ASSERT(c)                                                           \
  do {                                                                      \
    if (!(c)) FAIL_("%s", #c);                                              \
  } while (0)

#define ASSERT_EQ(a, b)                                                     \
  do {                                                                      \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ != b_) FAIL_("%s == %s (%lld vs %lld)", #a, #b, a_, b_);         \
  } while (0)

/* Compare eddy status codes, printing their names. */
#define ASSERT_RC(a, b)                                                     \
  do {                                                                      \
    int a_ = (int)(a), b_ = (int)(b);                                       \
    if (a_ != b_)                                                           \
      FAIL_("%s == %s (%s vs %s)", #a, #b, eddy_errname(a_),               \
            eddy_errname(b_));                                              \
  } while (0)

#define ASSERT_STR(a, b)                                                    \
  do {                                                                      \
    const char *a_ = (a), *b_ = (b);                                        \
    if (strcmp(a_, b_) != 0)                                                \
      FAIL_("%s == %s\n  got:      \"%s\"\n  expected: \"%s\"", #a, #b, a_, b_); \
  } while (0)

/* Run fn(arg) in a child process with its stderr captured into buf (NUL
 * terminated); returns the child's wait status. For behaviour that ends a
 * process (aborts, reports at exit). */
static inline int run_in_child(void (*fn)(void *), void *arg, char *buf,
                               size_t cap) {
  int p[2];
  if (pipe(p) != 0) abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);
    fn(arg);
    _exit(0);
  }
  close(p[1]);
  size_t off = 0;
  ssize_t n;
  while (off + 1 < cap && (n = read(p[0], buf + off, cap - 1 - off)) > 0) off += (size_t)n;
  buf[off] = 0;
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return st;
}

/* A log that tests append to and compare at the end (order tests). */
typedef struct {
  char buf[4096];
  size_t len;
} test_log;

static inline void logf_(test_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void logf_(test_log *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (l->len && l->len < sizeof l->buf - 1) l->buf[l->len++] = ' ';
  int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
  va_end(ap);
  if (n > 0) l->len += (size_t)n;
  if (l->len >= sizeof l->buf) l->len = sizeof l->buf - 1;
}
#define LOG(l, ...) logf_((l), __VA_ARGS__)

static inline double test_timeout_scale_(void) {
  const char *s = getenv("EDDY_TEST_TIMEOUT_SCALE");
  return s ? atof(s) : 1.0;
}

static inline int run_one_(int i) {
  long before = eddy__alloc_live();
  tests_[i].fn();
  eddy__fault_clear();
  long after = eddy__alloc_live();
  if (after != before) {
    fprintf(stderr, "%s: leaked %ld allocation(s)\n", tests_[i].name,
            after - before);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1) {
    for (int i = 0; i < ntests_; i++)
      if (strcmp(tests_[i].name, argv[1]) == 0) return run_one_(i);
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (int i = 0; i < ntests_; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm((unsigned)(30 * test_timeout_scale_()));
      _exit(run_one_(i));
    }
    int st = 0;
    waitpid(pid, &st, 0);
    /* 77: the test cannot run here (ctest's SKIP_RETURN_CODE) */
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
      printf("ok %d - %s # skip\n", i + 1, tests_[i].name);
      skipped++;
      continue;
    }
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", i + 1, tests_[i].name);
    ok ? passed++ : failed++;
  }
  if (skipped) printf("%d passed, %d failed (%d skipped)\n", passed, failed, skipped);
  else printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
#endif
