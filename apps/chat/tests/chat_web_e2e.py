#!/usr/bin/env python3
"""End-to-end tests of eddy-chat's web port (HTTP + WebSocket + JSON) over
real sockets, next to line (nc) clients.

Usage: chat_web_e2e.py PATH_TO_EDDY_CHAT TEST_NAME   (or 'all')
Python's standard library has no WebSocket client: WS below is a minimal
one (RFC 6455: the handshake, masked frames out, frames in), enough to
drive the server and to send what a browser never would."""
import base64, hashlib, json, os, signal, socket, struct, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chat_e2e
from chat_e2e import Client, Server

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def http(port, raw, timeout=5, head=False):
    """Send raw bytes, return (status, headers dict, body) of the answer."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    s.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/1.1 ") else None
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    n = 0 if head else int(hdrs.get("content-length", "0"))
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            break
        body += d
    s.close()
    return status, hdrs, body


def get(port, path="/", method="GET", extra=""):
    return http(port, ("%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" % (method, path, extra)).encode(),
                head=method == "HEAD")


class WS:
    def __init__(self, port, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16))
        self.s.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                       b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                       b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
        self.buf = b""
        self.s.settimeout(5)
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(4096)
            assert d, "closed during the handshake"
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head
        want = base64.b64encode(hashlib.sha1(key + GUID).digest())
        assert b"Sec-WebSocket-Accept: " + want in head, head
        self.closed = None  # (code, reason) once a close frame came

    def frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(hdr + mask + body)

    def send(self, obj):
        self.frame(1, json.dumps(obj).encode())

    def _need(self, n, end):
        while len(self.buf) < n:
            left = end - time.time()
            if left <= 0:
                raise socket.timeout
            self.s.settimeout(left)
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d

    def recv_frame(self, timeout=5):
        """(opcode, payload), or raises socket.timeout / EOFError."""
        end = time.time() + timeout
        self._need(2, end)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "server frames are not masked"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4, end)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, end)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n, end)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        assert b0 & 0x80, "the server does not fragment"
        return b0 & 0x0F, payload

    def messages(self, timeout=0.3):
        """Every JSON message that arrives within timeout; stops at a close
        frame (recorded in self.closed) or the end of the connection."""
        out = []
        end = time.time() + timeout
        while self.closed is None:
            try:
                op, p = self.recv_frame(max(0.0, end - time.time()))
            except (socket.timeout, EOFError, ConnectionResetError):
                break
            if op == 1:
                out.append(json.loads(p))
            elif op == 8:
                code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None
                self.closed = (code, p[2:].decode())
        return out

    def expect(self, pred, timeout=5):
        """Messages up to and including the first for which pred holds."""
        got = []
        end = time.time() + timeout
        while time.time() < end and self.closed is None:
            for i, m in enumerate(self.messages(0.1)):
                got.append(m)
                if pred(m):
                    return got
        raise AssertionError("expected a message, got %r (closed: %r)" % (got, self.closed))

    def expect_close(self, timeout=5):
        end = time.time() + timeout
        got = []
        while self.closed is None and time.time() < end:
            got += self.messages(0.2)
        assert self.closed is not None, ("no close frame", got)
        return got

    def at_eof(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def login(self, nick, room=None):
        self.expect(lambda m: m["type"] == "welcome")
        self.send({"type": "nick", "nick": nick})
        self.expect(lambda m: m["type"] == "nick" and m["nick"] == nick)
        if room:
            self.send({"type": "join", "room": room})
            self.expect(lambda m: m["type"] == "message" and m["text"] == nick + " joined")
        return self


def is_text(t):
    return lambda m: m["type"] == "message" and m["text"] == t


def test_web_and_nc_share_one_order():
    srv = Server("--rate", "1000", http=True)
    a = Client(srv, "alice", "r")  # nc
    b = WS(srv.http_port).login("bob", "r")  # web
    a.expect("bob joined")
    for i in range(30):
        a.send("a%d" % i)
        b.send({"type": "say", "text": "b%d" % i})
    seen_a = []
    for l in a.expect("<bob> b29", 10) + a.lines(0.5):
        if "] <" in l:
            nick, text = l.split("<", 1)[1].split("> ", 1)
            seen_a.append((nick, text))
    got = []
    end = time.time() + 10
    while time.time() < end and not {"a29", "b29"} <= {m.get("text") for m in got}:
        got += b.messages(0.1)
    got += b.messages(0.5)
    seen_b = [(m["nick"], m["text"]) for m in got if m["type"] == "message" and not m["system"]]
    assert len(seen_a) == 60 and seen_a == seen_b, (seen_a, seen_b)  # one order, both kinds
    seqs = [m["seq"] for m in got if m["type"] == "message"]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    b.send({"type": "who"})
    who = b.expect(lambda m: m["type"] == "who")[-1]
    assert sorted(who["nicks"]) == ["alice", "bob"] and who["room"] == "r", who
    b.send({"type": "rooms"})
    rooms = b.expect(lambda m: m["type"] == "rooms")[-1]
    assert {"name": "r", "members": 2} in rooms["rooms"], rooms
    a.send("/who")
    assert "* bob" in a.expect("end of list")
    assert srv.stop() == 0


def test_web_history_on_join():
    srv = Server("--history", "3", http=True)
    a = Client(srv, "alice", "r")
    for i in range(5):
        a.send("m%d" % i)
    a.expect("m4")
    b = WS(srv.http_port).login("bob")
    b.send({"type": "join", "room": "r"})
    got = b.expect(is_text("bob joined"))
    assert got[0] == {"type": "joined", "room": "r"}, got  # joined comes first
    hist = [m for m in got if m["type"] == "message" and m["history"]]
    assert [m["text"] for m in hist] == ["m2", "m3", "m4"], got
    assert all(m["nick"] == "alice" and m["room"] == "r" for m in hist), hist
    assert not got[-1]["history"] and got[-1]["system"], got[-1]
    a.expect("bob joined")
    b.send({"type": "history", "n": 50})
    more = b.expect(lambda m: m["type"] == "history_end")
    texts = [m["text"] for m in more if m["type"] == "message" and not m["system"]]
    assert texts == ["m0", "m1", "m2", "m3", "m4"], more
    assert srv.stop() == 0


def test_web_malformed_http():
    srv = Server(http=True)
    for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n",
                b"\x00\x01\x02\xff\xfe\r\n\r\n", b"FROB / HTTP/1.1\r\n\r\n",
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"):
        status, hdrs, body = http(srv.http_port, raw)
        assert status == 400, (raw, status, body[:200])
        assert body.startswith(b"400 Bad Request: "), body
        assert hdrs["connection"] == "close", hdrs
    status, _, body = http(srv.http_port, b"GET / HTTP/2.0\r\n\r\n")
    assert status == 505, (status, body[:200])
    # a request cut short, and a peer that sends nothing: no answer, no crash
    s = socket.create_connection(("127.0.0.1", srv.http_port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x")
    s.close()
    status, hdrs, body = get(srv.http_port, "/")
    assert status == 200 and b"<title>eddy-chat</title>" in body, (status, body[:100])
    assert hdrs["content-type"].startswith("text/html"), hdrs
    assert srv.stop() == 0


def test_web_oversized_header():
    srv = Server(http=True)
    status, _, body = get(srv.http_port, "/", extra="X-Big: %s\r\n" % ("y" * 20000))
    assert status == 431 and b"too large" in body, (status, body)
    many = "".join("X-H%d: %s\r\n" % (i, "z" * 100) for i in range(100))  # 10 KB in small lines
    status, _, body = get(srv.http_port, "/", extra=many)
    assert status == 431, (status, body)
    status, _, body = get(srv.http_port, "/" + "p" * 10000)
    assert status == 414, (status, body)
    status, _, _ = get(srv.http_port, "/")
    assert status == 200
    assert srv.stop() == 0


def test_web_unknown_path_and_wrong_method():
    srv = Server(http=True)
    status, _, body = get(srv.http_port, "/nope")
    assert status == 404 and body.startswith(b"404 Not Found"), (status, body)
    status, _, _ = get(srv.http_port, "/favicon.ico")
    assert status == 404
    status, hdrs, body = get(srv.http_port, "/", method="POST", extra="Content-Length: 3\r\n\r\nabc")
    assert status == 405 and hdrs.get("allow") == "GET, HEAD", (status, hdrs)
    status, hdrs, _ = get(srv.http_port, "/ws", method="DELETE")
    assert status == 405 and hdrs.get("allow") == "GET", (status, hdrs)
    status, hdrs, body = get(srv.http_port, "/", method="HEAD")
    assert status == 200 and int(hdrs["content-length"]) > 1000 and body == b"", (status, hdrs, body)
    # keep-alive: two requests on one connection, the query string ignored
    s = socket.create_connection(("127.0.0.1", srv.http_port))
    s.settimeout(5)
    s.sendall(b"GET /?a=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while data.count(b"</html>") < 2:
        d = s.recv(65536)
        assert d, data[-200:]
        data += d
    assert data.count(b"HTTP/1.1 200 OK") == 2
    s.close()
    assert srv.stop() == 0


def test_web_bad_upgrade():
    srv = Server(http=True)
    good = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}

    def upgrade(**change):
        h = dict(good)
        for k, v in change.items():
            k = k.replace("_", "-")
            if v is None:
                h.pop(k)
            else:
                h[k] = v
        return get(srv.http_port, "/ws", extra="".join("%s: %s\r\n" % kv for kv in h.items()))

    for change in ({"Upgrade": None}, {"Connection": None}, {"Upgrade": "h2c"},
                   {"Sec-WebSocket-Key": None}, {"Sec-WebSocket-Key": "short"},
                   {"Sec-WebSocket-Key": "!" * 22 + "=="}):
        status, _, body = upgrade(**change)
        assert status == 400 and body.startswith(b"400 Bad Request: "), (change, status, body)
    status, hdrs, _ = upgrade(**{"Sec-WebSocket-Version": "8"})
    assert status == 400 and hdrs.get("sec-websocket-version") == "13", (status, hdrs)
    w = WS(srv.http_port).login("pinger")  # pings are answered (by wslay)
    w.frame(9, b"are you there")
    assert w.recv_frame() == (10, b"are you there")
    status, hdrs, _ = upgrade(Connection="keep-alive, Upgrade")  # a token list is fine
    assert status == 101 and hdrs["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", (status, hdrs)
    assert srv.stop() == 0


def test_web_upgrade_head_must_end_in_a_blank_line():
    # "\r" and another byte is no blank line: refused, not taken as the end of
    # the head with the rest of the line dropped before the WebSocket frames
    srv = Server(http=True)
    head = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
    status, hdrs, body = http(srv.http_port, head + b"\r\t\x00\n")
    assert status == 400 and body.startswith(b"400 Bad Request: "), (status, body[:200])
    assert hdrs["connection"] == "close", hdrs
    status, hdrs, _ = http(srv.http_port, head + b"\r\n")  # the same head, well ended
    assert status == 101, (status, hdrs)
    assert srv.stop() == 0


def test_web_bare_cr_in_head_is_refused():
    # a CR that does not end a line: refused. Leniently read, "X-A:\r \n" is
    # a header and then the blank line, so an upgrade would end a line early
    # and the headers after it would be taken as the WebSocket's frames
    srv = Server(http=True)
    head = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
    for bad in (b"X-A:\r \nX-B: 1\r\n\r\n", b"X-A: a\rb\r\n\r\n", b"X-A: a\r\r\n\r\n"):
        status, hdrs, body = http(srv.http_port, head + bad)
        assert status == 400 and b"CR" in body, (bad, status, body[:200])
        assert hdrs["connection"] == "close", hdrs
    status, _, body = http(srv.http_port, b"GET /\r HTTP/1.1\r\nHost: x\r\n\r\n")  # request line
    assert status == 400 and b"CR" in body, (status, body[:200])
    status, hdrs, _ = http(srv.http_port, head + b"X-A:\r\n\r\n")  # an empty value is fine
    assert status == 101, (status, hdrs)
    assert srv.stop() == 0


def test_web_oversized_message_closed_with_reason():
    srv = Server("--max-line", "100", http=True)
    a = Client(srv, "alice", "r")
    b = WS(srv.http_port).login("bob", "r")
    b.frame(1, b'{"type":"say","text":"' + b"x" * 200 + b'"}')
    b.expect_close()
    assert b.closed[0] == 1009 and "too big" in b.closed[1] and "100" in b.closed[1], b.closed
    assert b.at_eof()
    c = WS(srv.http_port).login("carol", "r")  # the same limit over two frames
    c.frame(1, b'{"type":"say","text":"' + b"y" * 60, fin=False)
    c.frame(0, b"y" * 60 + b'"}')
    c.expect_close()
    assert c.closed[0] == 1009, c.closed
    d = WS(srv.http_port).login("dave")  # binary: refused, with a reason too
    d.frame(2, b"\x00\x01")
    d.expect_close()
    assert d.closed == (1003, "text messages only"), d.closed
    e = WS(srv.http_port).login("erin")  # not JSON, not an object: an error, not a close
    for bad in (b"hello", b"[1,2]", b'{"type":"frob"}', b'{"type":"say","text":5}'):
        e.frame(1, bad)
        e.expect(lambda m: m["type"] == "error")
    e.frame(1, b"\xff\xfe")  # invalid UTF-8 in a text frame: 1007
    e.expect_close()
    assert e.closed[0] == 1007, e.closed
    lines = a.lines(0.5)
    assert not [l for l in lines if "xxxx" in l or "yyyy" in l], lines
    a.send("alive")
    a.expect("alive")
    assert srv.stop() == 0


def test_web_close_frame_in_two_reads_is_a_clean_close():
    """A close frame whose reason (good UTF-8) arrives in two reads, split
    inside a character, is answered with the same code: a clean close, not
    1007 (the reason is checked whole, not piece by piece)."""
    srv = Server(http=True)
    w = WS(srv.http_port).login("zoe")
    reason = "\u00e9\u20ac\u00f1\u2014\u00fc".encode() * 3
    payload = struct.pack("!H", 4000) + reason
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    whole = bytes([0x88, 0x80 | len(payload)]) + mask + body
    cut = 2 + 4 + 2 + 1  # after the first byte of the reason's first character
    w.s.sendall(whole[:cut])
    time.sleep(0.2)  # so the server reads the rest apart
    w.s.sendall(whole[cut:])
    w.expect_close()
    assert w.closed[0] == 4000, w.closed
    assert w.at_eof()
    assert srv.stop() == 0


def test_web_limits_rate_idle_full():
    srv = Server("--max-clients", "1", http=True)
    a = WS(srv.http_port).login("alice")
    b = WS(srv.http_port)
    got = b.expect_close()
    assert any(m["type"] == "error" and "server full" in m["text"] for m in got), got
    assert b.closed == (1013, "server full"), b.closed
    assert srv.stop() == 0
    srv = Server("--rate", "2", "--idle", "2", http=True)
    a = WS(srv.http_port).login("alice", "r")
    for i in range(10):
        a.send({"type": "say", "text": "spam%d" % i})
    a.expect(lambda m: m["type"] == "error" and "slow down" in m["text"])
    t0 = time.time()
    got = a.expect_close(6)  # then silent: the idle limit
    assert any(m["type"] == "error" and "idle" in m["text"] for m in got), got
    assert a.closed == (1000, "idle for too long"), a.closed
    assert time.time() - t0 < 5
    assert srv.stop() == 0


def test_web_slow_client_is_cut_off():
    srv = Server("--client-buffer", "16", "--rate", "100000", http=True)
    fast = Client(srv, "fast", "r")
    slow = WS(srv.http_port, rcvbuf=4096).login("slow", "r")
    sender = Client(srv, "sender", "r")
    fast.expect("sender joined")
    threading.Thread(target=lambda: sender.lines(60), daemon=True).start()
    t0 = time.time()
    n = 3000
    for i in range(n):
        sender.send("m%05d %s" % (i, "x" * 200))
        # paced in confirmed steps so a loaded machine cannot make the sender
        # (a member too) fall behind instead of the slow client
        if i % 100 == 99 or i == n - 1:
            fast.expect("<sender> m%05d" % i, 30)
    assert time.time() - t0 < 30  # the slow web client did not slow the room
    got = slow.expect_close(15)  # it reads at last: told why, then closed
    assert any(m["type"] == "error" and "fell too far behind" in m["text"] for m in got), got[-3:]
    assert slow.closed[0] == 1008, slow.closed
    fast.send("still here")
    fast.expect("still here")
    assert srv.stop() == 0


def test_web_shutdown_goodbye_then_close():
    srv = Server(http=True)
    ws = [WS(srv.http_port).login("w%d" % i, "r") for i in range(2)]
    nc = Client(srv, "n", "r")
    idle = WS(srv.http_port)  # connected, no nickname yet
    ws[0].expect(is_text("n joined"))
    t0 = time.time()
    assert srv.stop() == 0
    assert time.time() - t0 < 6
    for w in ws + [idle]:
        got = w.expect_close()
        assert got and got[-1]["type"] == "goodbye", got  # the goodbye, then the close frame
        assert w.closed == (1001, "server shutting down"), w.closed
        assert w.at_eof()
    nc.expect("server shutting down")


TESTS = {k[5:]: v for k, v in globals().items() if k.startswith("test_")}

if __name__ == "__main__":
    chat_e2e.BIN = sys.argv[1]
    names = list(TESTS) if len(sys.argv) < 3 or sys.argv[2] == "all" else [sys.argv[2]]
    failed = 0
    for n in names:
        try:
            TESTS[n]()
            print("ok -", n)
        except Exception as e:
            failed += 1
            import traceback
            traceback.print_exc()
            print("not ok -", n, repr(e))
        finally:
            Server.kill_leftovers()
    sys.exit(1 if failed else 0)
