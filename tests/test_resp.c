/* test_resp.c: redis-lite's RESP2 parser and reply writer
 * (examples/redis-lite/resp.c) at the C level: commands split at every
 * byte, pipelined, inline with quoting, every protocol error, every limit,
 * and the encodings of the replies. */
#include "test.h"

#include "resp.h"

static const resp_limits LIM = {.max_bulk = 64, .max_args = 8, .max_inline = 64,
                                .max_command = 256};

static int arg_is(const resp_cmd *c, int i, const char *s) {
  return c->lens[i] == strlen(s) && memcmp(c->argv[i], s, c->lens[i]) == 0;
}

/* Parse buf fed one byte more at a time, as a slow peer sends it: every
 * prefix must ask for more, the whole must give the command. */
static long parse_dribbled(resp_parser *p, const char *buf, size_t n, resp_cmd *cmd) {
  for (size_t k = 1; k < n; k++) {
    long r = resp_parse(p, buf, k, cmd);
    if (r != 0) return -100 - (long)k;
  }
  return resp_parse(p, buf, n, cmd);
}

TEST(multibulk_whole_and_split_at_every_byte) {
  static const char cmd1[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
  size_t n = sizeof cmd1 - 1;
  resp_parser p;
  resp_parser_init(&p, &LIM);
  resp_cmd c;
  ASSERT_EQ(resp_parse(&p, cmd1, n, &c), (long)n);
  ASSERT_EQ(c.argc, 3);
  ASSERT(arg_is(&c, 0, "SET") && arg_is(&c, 1, "key") && arg_is(&c, 2, "va\r\nl"));
  ASSERT_EQ(parse_dribbled(&p, cmd1, n, &c), (long)n);
  ASSERT_EQ(c.argc, 3);
  ASSERT(arg_is(&c, 2, "va\r\nl"));
  /* the argument points into the caller's buffer: no copy */
  ASSERT(c.argv[1] == cmd1 + 17);
  resp_parser_fini(&p);
}

/* Headers of every width the parser reads two ways (one or two digits
 * without a leading zero; anything else): counts and lengths on both sides
 * of each boundary, whole and dribbled, and commands longer than the
 * argument vector's first allocation. */
TEST(header_widths_and_argument_counts) {
  static const resp_limits big = {.max_bulk = 1000, .max_args = 200, .max_inline = 64,
                                  .max_command = 1 << 20};
  static const size_t counts[] = {1, 2, 9, 10, 16, 17, 99, 100, 200};
  static const size_t lens[] = {0, 1, 9, 10, 11, 99, 100, 101, 1000};
  static char buf[300000];
  resp_parser p;
  resp_parser_init(&p, &big);
  resp_cmd c;
  for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++) {
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
      size_t argc = counts[ci], len = lens[li];
      if (argc * (len + 8) > 20000) continue;
      int n = snprintf(buf, sizeof buf, "*%zu\r\n", argc);
      for (size_t a = 0; a < argc; a++) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, "$%zu\r\n", len);
        memset(buf + n, (int)('a' + a % 26), len);
        n += (int)len;
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\r\n");
      }
      long r = argc * len < 500 ? parse_dribbled(&p, buf, (size_t)n, &c)
                                : resp_parse(&p, buf, (size_t)n, &c);
      ASSERT_EQ(r, (long)n);
      ASSERT_EQ(c.argc, (int)argc);
      for (size_t a = 0; a < argc; a++) {
        ASSERT_EQ(c.lens[a], len);
        ASSERT(len == 0 || (c.argv[a][0] == 'a' + (int)(a % 26) && c.argv[a][len - 1] == c.argv[a][0]));
      }
    }
  }
  resp_parser_fini(&p);
}

TEST(pipelined_commands_one_at_a_time) {
  static const char buf[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*1\r\n$4\r\nPI";
  resp_parser p;
  resp_parser_init(&p, &LIM);
  resp_cmd c;
  size_t off = 0, n = sizeof buf - 1;
  long r = resp_parse(&p, buf + off, n - off, &c);
  ASSERT_EQ(r, 14);
  ASSERT(c.argc == 1 && arg_is(&c, 0, "PING"));
  off += (size_t)r;
  r = resp_parse(&p, buf + off, n - off, &c);
  ASSERT_EQ(r, 20);
  ASSERT(c.argc == 2 && arg_is(&c, 1, "k"));
  off += (size_t)r;
  r = resp_parse(&p, buf + off, n - off, &c);
  ASSERT_EQ(r, 6); /* inline after multibulk */
  ASSERT(c.argc == 1 && arg_is(&c, 0, "PING"));
  off += (size_t)r;
  ASSERT_EQ(resp_parse(&p, buf + off, n - off, &c), 0); /* incomplete: wait */
  resp_parser_fini(&p);
}

TEST(empty_commands_are_skipped) {
  resp_parser p;
  resp_parser_init(&p, &LIM);
  resp_cmd c;
  static const char buf[] = "\r\n  \n*0\r\n*-1\r\nECHO x\n";
  size_t n = sizeof buf - 1;
  size_t off = 0;
  int got = 0;
  while (off < n) {
    long r = resp_parse(&p, buf + off, n - off, &c);
    ASSERT(r > 0);
    off += (size_t)r;
    if (c.argc) {
      got++;
      ASSERT(c.argc == 2 && arg_is(&c, 0, "ECHO") && arg_is(&c, 1, "x"));
    }
  }
  ASSERT_EQ(got, 1);
  /* only blank lines: consumed, no command */
  ASSERT_EQ(resp_parse(&p, "\r\n\r\n", 4, &c), 4);
  ASSERT_EQ(c.argc, 0);
  resp_parser_fini(&p);
}

TEST(inline_quoting_rules) {
  resp_parser p;
  resp_parser_init(&p, &LIM);
  resp_cmd c;
  static const char l1[] = "set \"a b\\n\\x41\" 'it\\'s' plain\r\n";
  ASSERT_EQ(resp_parse(&p, l1, sizeof l1 - 1, &c), (long)sizeof l1 - 1);
  ASSERT_EQ(c.argc, 4);
  ASSERT(arg_is(&c, 1, "a b\nA") && arg_is(&c, 2, "it's") && arg_is(&c, 3, "plain"));
  static const char l2[] = "get \"\"\n";
  ASSERT_EQ(resp_parse(&p, l2, sizeof l2 - 1, &c), (long)sizeof l2 - 1);
  ASSERT(c.argc == 2 && c.lens[1] == 0);
  static const char bad[][16] = {"echo \"abc\n", "echo 'ab'c\n", "echo \"a\"b\n"};
  for (size_t i = 0; i < 3; i++) {
    ASSERT_EQ(resp_parse(&p, bad[i], strlen(bad[i]), &c), RESP_EPROTO);
    ASSERT_STR(p.err, "ERR Protocol error: unbalanced quotes in request");
  }
  resp_parser_fini(&p);
}

static const char *error_of(const char *buf) {
  static resp_parser p;
  resp_parser_init(&p, &LIM);
  resp_cmd c;
  long r = resp_parse(&p, buf, strlen(buf), &c);
  static char out[128];
  snprintf(out, sizeof out, "%s", r == RESP_EPROTO ? p.err : "(no error)");
  resp_parser_fini(&p);
  return out;
}

TEST(protocol_errors) {
  ASSERT_STR(error_of("*x\r\n"), "ERR Protocol error: invalid multibulk length");
  ASSERT_STR(error_of("*1x\r\n"), "ERR Protocol error: invalid multibulk length");
  ASSERT_STR(error_of("*1\n$4\r\nPING\r\n"), "ERR Protocol error: invalid multibulk length"); /* LF alone */
  ASSERT_STR(error_of("*1\r\n+PING\r\n"), "ERR Protocol error: expected '$', got '+'");
  ASSERT_STR(error_of("*1\r\n$-1\r\n"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*1\r\n$01\r\nx\r\n"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*1\r\n$1\r\nxyz"), "ERR Protocol error: expected CRLF after bulk data");
  /* the one- and two-digit shapes, each with a wrong byte where CRLF goes */
  ASSERT_STR(error_of("*1\r\n$1\r\r"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*1\r\n$1x\r\n"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*1\r\n$12\rx"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*1\r\n$12\n"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*1\r\n$00\r\n"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*2\r\r"), "ERR Protocol error: invalid multibulk length");
  ASSERT_STR(error_of("*-1\r\n"), "(no error)"); /* a null multibulk: skipped, as Redis does */
  /* a header that never ends is refused once it is too long to be one */
  char longhdr[64];
  memset(longhdr, '9', sizeof longhdr);
  longhdr[0] = '*';
  longhdr[63] = 0;
  ASSERT_STR(error_of(longhdr), "ERR Protocol error: invalid multibulk length");
  /* a short incomplete header is not an error yet */
  ASSERT_STR(error_of("*12"), "(no error)");
}

TEST(limits_checked_before_the_bytes_arrive) {
  /* max_bulk 64: refused at the header */
  ASSERT_STR(error_of("*1\r\n$65\r\n"), "ERR Protocol error: invalid bulk length");
  ASSERT_STR(error_of("*1\r\n$64\r\n"), "(no error)");
  /* max_args 8 */
  ASSERT_STR(error_of("*9\r\n"), "ERR Protocol error: invalid multibulk length");
  /* max_command 256: five 60-byte arguments do not fit */
  char buf[512];
  int n = snprintf(buf, sizeof buf, "*5\r\n");
  for (int i = 0; i < 4; i++) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, "$60\r\n");
    memset(buf + n, 'a', 60);
    n += 60;
    n += snprintf(buf + n, sizeof buf - (size_t)n, "\r\n");
  }
  n += snprintf(buf + n, sizeof buf - (size_t)n, "$60\r\n");
  ASSERT_STR(error_of(buf), "ERR Protocol error: command larger than the pending command limit");
  /* max_inline 64: a line without end, and one that ends too late */
  char line[100];
  memset(line, 'x', sizeof line);
  line[65] = 0;
  ASSERT_STR(error_of(line), "ERR Protocol error: too big inline request");
  line[64] = 0;
  ASSERT_STR(error_of(line), "(no error)");
  line[80] = '\n';
  line[81] = 0;
  memset(line + 64, 'x', 16);
  ASSERT_STR(error_of(line), "ERR Protocol error: too big inline request");
  /* more inline words than max_args */
  ASSERT_STR(error_of("a b c d e f g h i\n"), "ERR Protocol error: too many arguments");
}

TEST(parser_recovers_state_after_error_and_trim) {
  resp_parser p;
  resp_parser_init(&p, &LIM);
  resp_cmd c;
  ASSERT_EQ(resp_parse(&p, "*2\r\n$1\r\na\r\n", 11, &c), 0); /* half a command */
  ASSERT_EQ(resp_parse(&p, "*2\r\n$1\r\na\r\n:", 12, &c), RESP_EPROTO);
  /* a new stream (a new connection would have a new parser; this one is reset) */
  ASSERT_EQ(resp_parse(&p, "*1\r\n$1\r\nb\r\n", 11, &c), 11);
  ASSERT(c.argc == 1 && arg_is(&c, 0, "b"));
  resp_parser_trim(&p);
  ASSERT_EQ(resp_parse(&p, "PING\r\n", 6, &c), 6);
  resp_parser_fini(&p);
}

TEST(integers_as_redis_reads_them) {
  long long v;
  ASSERT(resp_to_ll("0", 1, &v) == 0 && v == 0);
  ASSERT(resp_to_ll("-42", 3, &v) == 0 && v == -42);
  ASSERT(resp_to_ll("9223372036854775807", 19, &v) == 0 && v == INT64_MAX);
  ASSERT(resp_to_ll("-9223372036854775808", 20, &v) == 0 && v == INT64_MIN);
  ASSERT(resp_to_ll("9223372036854775808", 19, &v) != 0);
  ASSERT(resp_to_ll("-9223372036854775809", 20, &v) != 0);
  ASSERT(resp_to_ll("01", 2, &v) != 0);
  ASSERT(resp_to_ll("-0", 2, &v) != 0);
  ASSERT(resp_to_ll("+1", 2, &v) != 0);
  ASSERT(resp_to_ll(" 1", 2, &v) != 0);
  ASSERT(resp_to_ll("", 0, &v) != 0);
  ASSERT(resp_to_ll("-", 1, &v) != 0);
  char buf[24];
  ASSERT_EQ(resp_ll_to_str(buf, INT64_MIN), 20);
  ASSERT_STR(buf, "-9223372036854775808");
}

TEST(reply_encodings) {
  resp_out o = {0};
  resp_out_ok(&o);
  resp_out_simple(&o, "PONG");
  resp_out_error(&o, "ERR bad\r\nthing");
  resp_out_int(&o, -7);
  resp_out_bulk(&o, "a\0b", 3);
  resp_out_bulk(&o, "", 0);
  resp_out_null(&o);
  resp_out_array(&o, 2);
  resp_out_errorf(&o, "ERR %d", 5);
  static const char want[] = "+OK\r\n+PONG\r\n-ERR bad  thing\r\n:-7\r\n$3\r\na\0b\r\n$0\r\n\r\n"
                             "$-1\r\n*2\r\n-ERR 5\r\n";
  ASSERT_EQ(o.len, sizeof want - 1);
  ASSERT(memcmp(o.buf, want, o.len) == 0);
  /* a big reply grows the buffer */
  static char big[100000];
  resp_out_bulk(&o, big, sizeof big);
  ASSERT(!o.oom && o.len == sizeof want - 1 + sizeof big + 11);
  resp_out_fini(&o);
}
