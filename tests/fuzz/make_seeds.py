#!/usr/bin/env python3
"""make_seeds.py: writes the seed corpora in corpus/<target>/ (run from
anywhere; existing seeds of the same name are overwritten, saved crashes
are left alone). Each seed starts with the harness's configuration bytes
(see the comment at the top of each fuzz_<target>.c), then the stream."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# RESP: max_bulk 32, max_args 8, max_inline 40, max_command 161; pieces 2,4,8,3
R = bytes([32, 7, 39, 120, 1, 3, 7, 2])
put("resp", "multibulk_set", R + b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n")
put("resp", "pipelined_mixed", R + b"PING\r\n\r\n  \n*0\r\n*-1\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"
    b"SET \"a\\x41\\n\" 'b\\'c'\n*1\r\n$4\r\nPING\r\n")
put("resp", "protocol_errors", R + b"*2\r\n$3\r\nGET\r\n+x\r\n")
put("resp", "unbalanced_quotes", R + b"GET \"abc\nSET 'x\n")
put("resp", "limits", R + b"*1\r\n$99999999999999999999\r\n*9\r\n$33\r\n" + b"x" * 50)
put("resp", "inline_too_long", R + b"GET " + b"k" * 60)

# HTTP: head limit 8176, first buffer 4096; pieces 5,9,13,17
H = bytes([255, 8, 1, 2, 3, 4])
put("http", "page_then_upgrade", H +
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    b"GET /ws?x=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    b"\x81\x85\x01\x02\x03\x04ignored")
put("http", "post_with_body", H + b"\r\nPOST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    b"GET / HTTP/1.1\r\n\r\n")
put("http", "chunked_head", H + b"PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
put("http", "http2_version", H + b"GET / HTTP/2.0\r\n\r\n")
put("http", "malformed", H + b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
put("http", "long_target_small_limit", bytes([2, 0, 0, 0, 0, 0]) + b"GET /" + b"a" * 120 +
    b" HTTP/1.1\r\n\r\n")
put("http", "many_headers_small_limit", bytes([3, 1, 7, 7, 7, 7]) + b"GET / HTTP/1.1\r\n" +
    b"X-A: b\r\n" * 30 + b"\r\n")


def frame(opcode, payload, fin=True, mask=b"\x11\x22\x33\x44", rsv=0):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    m = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def close(code=1000, reason=b""):
    return frame(8, struct.pack(">H", code) + reason)


# WebSocket: message limit 257 bytes; pieces 1,5,9,13
W = bytes([1, 0, 0, 1, 2, 3])
put("websocket", "text_then_close", W + frame(1, b"hello") + frame(1, "h\u00e9llo \u20ac".encode()) + close())
put("websocket", "fragmented_with_ping", W + frame(1, b"hel", fin=False) + frame(9, b"ping") +
    frame(0, b"lo", fin=False) + frame(0, b"!") + frame(10, b"pong") + close(1001, b"bye"))
put("websocket", "binary_refused", W + frame(2, b"\x00\x01\x02"))
put("websocket", "too_big", W + frame(1, b"x" * 300) + close())
put("websocket", "too_big_announced", W + bytes([0x81, 0xFF]) + struct.pack(">Q", 1 << 40) + b"\0" * 8)
put("websocket", "invalid_utf8", W + frame(1, b"\xc3\x28 \xed\xa0\x80") + close())
put("websocket", "unmasked", W + frame(1, b"hi", mask=None))
put("websocket", "no_close", W + frame(1, b"a") + frame(1, b"b"))
# a close frame whose good UTF-8 reason arrives in several reads (pieces of
# 1, 5, 9 and 13 bytes split it mid-character): a clean close, not 1007
put("websocket", "close_reason_in_pieces", W + frame(1, b"hi") +
    close(1000, "\u00e9\u20ac\u00f1\u2014\u00fc".encode() * 3))

# stream iterators: lines of at most 16 bytes, first buffer 4, room 2 past a line
L = bytes([0, 15, 3, 2, 0, 2, 5, 1])
put("stream_iter", "lines", L + b"hello\nworld\n\n\r\nexactly 16 byte\nlast")
put("stream_iter", "lines_too_long", L + b"short\n" + b"y" * 40 + b"\nnext\n")
put("stream_iter", "lines_max_unterminated", bytes([0, 7, 0, 0, 1, 1, 1, 1]) + b"12345678")
put("stream_iter", "chunks", bytes([1, 9, 1, 1, 3, 0, 9, 2]) + bytes(range(256)))
