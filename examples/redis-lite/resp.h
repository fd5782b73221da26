/* resp.h: the RESP2 wire protocol, apart from any I/O: an incremental
 * parser that turns buffered bytes into one command at a time (multibulk
 * or inline, as redis-cli and nc send them), and the reply writer that
 * appends encoded replies to an output buffer.
 *
 * The parser never copies a multibulk argument: argv points into the
 * caller's buffer, valid until the caller moves or overwrites those bytes.
 * It keeps its progress between calls (a large command arriving in many
 * reads is scanned once), so the caller must present the same unconsumed
 * bytes at the start of the buffer until a command completes. Limits are
 * checked as soon as a header announces a size, before the bytes arrive. */
#ifndef REDIS_LITE_RESP_H
#define REDIS_LITE_RESP_H

#include <stddef.h>
#include <stdint.h>

typedef struct resp_limits {
  size_t max_bulk;    /* one argument's bytes */
  size_t max_args;    /* elements of one multibulk command */
  size_t max_inline;  /* one inline command line */
  size_t max_command; /* bytes of one pending command, headers included */
} resp_limits;

typedef struct resp_cmd {
  int argc;
  const char **argv;
  const size_t *lens;
} resp_cmd;

typedef struct resp_parser {
  resp_limits lim;
  /* the command being parsed */
  size_t expect;       /* multibulk elements announced */
  size_t nargs;        /* elements complete so far */
  size_t pos;          /* offset of the next element's header */
  size_t *off, *lens;  /* per element: offset into the buffer, length */
  const char **argv;
  size_t cap;          /* capacity of off/lens/argv */
  char *scratch;       /* inline commands: unquoted arguments */
  size_t scratch_cap;
  const char *err;     /* the error after RESP_EPROTO */
  char errbuf[80];
} resp_parser;

#define RESP_EPROTO (-1L)
#define RESP_ENOMEM (-2L)

void resp_parser_init(resp_parser *p, const resp_limits *lim);
void resp_parser_fini(resp_parser *p);
/* One command from buf[0..len): the bytes it used (> 0) with *cmd filled;
 * 0 when more bytes are needed; RESP_EPROTO (p->err says why, without the
 * "-" or CRLF) when the stream cannot be resynchronised; RESP_ENOMEM.
 * Empty commands (a blank line, "*0") are consumed: a positive return
 * with cmd->argc == 0 means bytes were used and no command is ready. */
long resp_parse(resp_parser *p, const char *buf, size_t len, resp_cmd *cmd);
/* Give back memory a huge command made the parser take. */
void resp_parser_trim(resp_parser *p);

/* ---- replies */
typedef struct resp_out {
  char *buf;
  size_t len, cap;
  int oom; /* an append failed: the connection must be dropped */
} resp_out;

void resp_out_fini(resp_out *o);
/* Ensure room for n more bytes; 0 or -1 (sets oom). */
int resp_out_reserve(resp_out *o, size_t n);
void resp_out_raw(resp_out *o, const char *s, size_t n);
void resp_out_simple(resp_out *o, const char *s); /* +s */
void resp_out_error(resp_out *o, const char *s);  /* -s (s has the ERR prefix) */
void resp_out_errorf(resp_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void resp_out_int(resp_out *o, long long v);
void resp_out_bulk(resp_out *o, const char *s, size_t n);
void resp_out_null(resp_out *o);  /* $-1 */
void resp_out_array(resp_out *o, long long n);
#define resp_out_ok(o) resp_out_raw((o), "+OK\r\n", 5)

/* Parse a whole argument as a signed 64-bit decimal, as Redis does (no
 * spaces, no '+', no leading zeros except "0"). 0 or -1. */
int resp_to_ll(const char *s, size_t n, long long *v);
/* Format v in decimal into buf (>= 21 bytes); returns the length. */
size_t resp_ll_to_str(char *buf, long long v);

#endif
