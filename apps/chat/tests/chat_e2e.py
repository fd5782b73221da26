#!/usr/bin/env python3
"""End-to-end tests of eddy-chat over real sockets.

Usage: chat_e2e.py PATH_TO_EDDY_CHAT TEST_NAME   (or 'all')
Each test starts its own server on a free port with a fresh data directory
and stops it by its process id."""
import os, signal, socket, subprocess, sys, tempfile, threading, time

BIN = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    started = []  # every server, so that a failed test leaves none running

    def __init__(self, *args, data=None, http=False):
        # the line port is chosen by the server (0: any) and read from its
        # first line; the web port cannot be 0 (that turns it off)
        self.http_port = free_port() if http else 0
        self.data = data or tempfile.mkdtemp(prefix="eddy-chat-test-")
        self.p = subprocess.Popen([BIN, "--port", "0", "--http-port", str(self.http_port),
                                   "--data-dir", self.data, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        Server.started.append(self.p)
        line = self.p.stdout.readline().decode()
        assert "listening" in line, line
        self.port = int(line.split("127.0.0.1:")[1].split()[0])

    @staticmethod
    def kill_leftovers():
        for p in Server.started:
            if p.poll() is None:
                p.kill()
                p.wait()
        Server.started.clear()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.p.send_signal(sig)
        rc = self.p.wait(timeout=timeout)
        self.p.stdout.close()
        return rc


class Client:
    def __init__(self, srv, nick=None, room=None, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.connect(("127.0.0.1", srv.port))
        self.buf = b""
        self.pending = []
        self.expect("welcome")
        if nick:
            self.send("/nick " + nick)
            self.expect("you are " + nick)
        if room:
            self.send("/join " + room)
            self.expect("%s joined" % nick)

    def send(self, line):
        self.s.sendall((line + "\n").encode())

    def lines(self, timeout=0.3):
        """Every complete line that arrives within timeout."""
        out, self.pending = self.pending, []
        end = time.time() + timeout
        while True:
            while b"\n" in self.buf:
                l, self.buf = self.buf.split(b"\n", 1)
                out.append(l.decode(errors="replace"))
            left = end - time.time()
            if left <= 0:
                return out
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return out
            except ConnectionResetError:
                return out + ["<reset>"]
            if not d:
                return out + ["<eof>"] if not self.buf else out + [self.buf.decode(), "<eof>"]
            self.buf += d

    def expect(self, text, timeout=5):
        got = []
        end = time.time() + timeout
        while time.time() < end:
            batch = self.lines(0.1)
            for i, l in enumerate(batch):
                got.append(l)
                if text in l:
                    self.pending = batch[i + 1:]  # keep what came after it
                    return got
        raise AssertionError("expected %r, got %r" % (text, got))

    def close(self):
        self.s.close()


def test_rooms_and_per_room_order():
    srv = Server("--rate", "1000")
    a = Client(srv, "alice", "red")
    b = Client(srv, "bob", "red")
    c = Client(srv, "carol", "blue")
    a.expect("bob joined")
    for i in range(40):
        a.send("a%d" % i)
        b.send("b%d" % i)
    seen_a = [l for l in a.expect("<bob> b39", 10) if "<" in l]
    seen_b = [l for l in b.expect("<alice> a39", 10) if "<" in l]
    more = a.lines(0.5)
    seen_a += [l for l in more if "<" in l]
    seen_b += [l for l in b.lines(0.5) if "<" in l]
    assert len(seen_a) == 80 and seen_a == seen_b, (seen_a, seen_b)  # one order per room
    assert not [l for l in c.lines(0.3) if "[red]" in l]  # other rooms see nothing
    c.send("/rooms")
    rooms = c.expect("end of rooms")
    assert any("red (2 here)" in l for l in rooms) and any("blue (1 here)" in l for l in rooms)
    b.send("/who")
    who = b.expect("end of list")
    assert "* alice" in who and "* bob" in who
    assert srv.stop() == 0


def test_history_after_restart():
    srv = Server("--history", "5")
    a = Client(srv, "alice", "r")
    for i in range(8):
        a.send("msg%d" % i)
    a.expect("msg7")
    assert srv.stop() == 0
    srv2 = Server("--history", "5", data=srv.data)
    b = Client(srv2, "bob")
    b.send("/join r")
    got = b.expect("bob joined")
    texts = [l for l in got if "<alice>" in l]
    assert texts[-3:] == ["[r] <alice> msg5", "[r] <alice> msg6", "[r] <alice> msg7"], got
    b.send("/history 50")
    hist = b.expect("end of history")
    assert sum("<alice> msg" in l for l in hist) == 8, hist
    assert srv2.stop() == 0


def test_history_after_kill9_with_torn_record():
    srv = Server("--durability", "always")
    a = Client(srv, "alice", "r")
    for i in range(5):
        a.send("durable%d" % i)
    a.expect("durable4")
    srv.stop(signal.SIGKILL)
    with open(os.path.join(srv.data, "r.log"), "ab") as f:
        f.write(b"6\t1700000000000\talice\ttorn rec")  # a crash mid-write
    srv2 = Server(data=srv.data)
    b = Client(srv2, "bob")
    b.send("/join r")
    b.expect("bob joined")
    b.send("/history 50")
    hist = b.expect("end of history")
    assert sum("<alice> durable" in l for l in hist) == 5, hist
    assert not any("torn" in l for l in hist), hist
    b.send("after crash")
    b.expect("after crash")
    assert srv2.stop() == 0
    srv3 = Server(data=srv.data)  # the log is still readable after more appends
    c = Client(srv3, "carol")
    c.send("/join r")
    c.expect("carol joined")
    c.send("/history 50")
    hist = c.expect("end of history")
    assert any("<bob> after crash" in l for l in hist), hist
    assert srv3.stop() == 0


def test_slow_client_is_cut_off_and_others_unaffected():
    srv = Server("--client-buffer", "16", "--rate", "100000")
    fast = Client(srv, "fast", "r")
    slow = Client(srv, "slow", "r", rcvbuf=4096)
    sender = Client(srv, "sender", "r")
    fast.expect("sender joined")
    # the sender is a member too: it keeps reading, in the background
    threading.Thread(target=lambda: sender.lines(60), daemon=True).start()
    t0 = time.time()
    n = 3000
    for i in range(n):
        sender.send("m%05d %s" % (i, "x" * 200))
        # pace in steps of 100 that the fast member confirms, so a loaded
        # machine cannot make the sender itself (also a member, reading in a
        # thread) fall behind; the slow client never reads, so it still does
        if i % 100 == 99 or i == n - 1:
            fast.expect("<sender> m%05d" % i, 30)
    assert time.time() - t0 < 30  # the slow client did not slow the room
    # the slow one reads at last: it was told why, then disconnected
    tail = slow.lines(15)
    assert any("fell too far behind" in l for l in tail), tail[-5:]
    assert tail[-1] in ("<eof>", "<reset>"), tail[-3:]
    fast.send("still here")
    fast.expect("still here")
    assert srv.stop() == 0


def test_replies_and_room_messages_stay_whole_on_a_full_socket():
    # A member's replies (its reader task) and the room's messages (its
    # writer task) share one output buffer. A reply whose write is stuck on
    # a full socket holds that buffer while the room's messages keep coming:
    # they must wait for it, not be copied over bytes still being sent.
    srv = Server("--client-buffer", "4096", "--rate", "100000")
    a = Client(srv, "alice", "r", rcvbuf=4096)
    sender = Client(srv, "sender", "r")
    a.expect("sender joined")
    threading.Thread(target=lambda: sender.lines(60), daemon=True).start()
    helps, n = 4000, 600
    # alice reads nothing for a while: ~490 KB of replies, several times
    # what her socket and the server's send buffer hold, so the reader's
    # writes are suspended while the room's messages arrive
    a.s.sendall(b"/help\n" * helps)
    time.sleep(0.3)
    # in one write: the server reads many at once, so alice's writer finds
    # a batch of several (the path that holds messages back) while her
    # reader's write is suspended
    sender.s.sendall("".join("m%05d %s\n" % (i, "x" * 150) for i in range(n)).encode())
    got, last, seen_last, nhelp2 = [], "<sender> m%05d " % (n - 1), False, 0
    while not (seen_last and nhelp2 == helps):  # until all came...
        more = a.lines(0.5)
        if not more:
            more = a.lines(3)
            if not more:
                break  # ...or nothing more for 3.5 s
        got += more
        seen_last = seen_last or any(last in l for l in more)
        nhelp2 += sum(l.startswith("anything else") for l in more)
    help1, help2 = ("commands: /nick NAME, /join ROOM, /leave, /rooms, /who, /history N, "
                    "/quit, /help;", "anything else is a message to your room")
    seq = 0
    nhelp = 0
    for l in got:
        if l in (help1, help2):
            nhelp += 1
        elif l.startswith("[r] <sender> "):
            assert l == "[r] <sender> m%05d %s" % (seq, "x" * 150), (seq, l)
            seq += 1
        else:
            assert l.startswith("[r] * "), l  # joins and the like
    assert seq == n, seq
    assert nhelp == 2 * helps, nhelp
    a.close()
    sender.close()
    assert srv.stop() == 0


def test_nickname_taken_until_renamed_or_gone():
    srv = Server()
    a = Client(srv, "alice")
    b = Client(srv)
    b.send("/nick alice")
    b.expect("nickname alice is taken")
    a.send("/nick alice")  # one's own nickname again: fine
    a.expect("you are alice")
    a.send("/nick alice2")
    a.expect("you are alice2")
    b.send("/nick alice")  # freed by the rename
    b.expect("you are alice")
    c = Client(srv)
    c.send("/nick alice2")
    c.expect("nickname alice2 is taken")
    a.close()  # freed when its owner leaves
    deadline = time.time() + 5
    while True:
        c.send("/nick alice2")
        got = c.lines(0.3)
        if any("you are alice2" in l for l in got):
            break
        assert time.time() < deadline, got
    # many names at once: each still unique
    others = [Client(srv, "n%03d" % i) for i in range(50)]
    d = Client(srv)
    for i in range(0, 50, 7):
        d.send("/nick n%03d" % i)
        d.expect("nickname n%03d is taken" % i)
    for o in others:
        o.close()
    b.close()
    c.close()
    d.close()
    assert srv.stop() == 0


def test_malformed_and_oversized_input():
    srv = Server("--max-line", "100")
    a = Client(srv, "alice", "r")
    b = Client(srv)
    b.send("hello?")
    b.expect("choose a nickname first")
    b.send("/nick bad nick!")
    b.expect("nicknames are")
    b.send("/nick " + "n" * 40)
    b.expect("nicknames are")
    b.send("/frobnicate")
    b.expect("unknown command")
    b.send("/history x")
    b.expect("error")
    b.s.sendall(b"\x00\x01\x02\xff\xfe junk\r\n")
    b.expect("error")
    b.send("y" * 500)  # over --max-line
    out = b.expect("line too long")
    a.send("alive")
    a.expect("alive")
    assert srv.stop() == 0


def test_abrupt_disconnect():
    srv = Server()
    a = Client(srv, "alice", "r")
    b = Client(srv, "bob", "r")
    b.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    b.s.close()  # RST
    a.expect("bob left")
    c = Client(srv, "carol", "r")
    a.expect("carol joined")
    assert srv.stop() == 0


def test_limits_clients_rate_idle():
    srv = Server("--max-clients", "2", "--rate", "2", "--idle", "1")
    a = Client(srv, "alice", "r")
    b = Client(srv, "bob")
    c = socket.create_connection(("127.0.0.1", srv.port))
    c.settimeout(3)
    assert b"server full" in c.recv(1000)
    for i in range(10):
        a.send("spam%d" % i)
    a.expect("slow down")
    b.expect("idle for too long", 5)  # bob said nothing
    assert srv.stop() == 0


def test_history_write_deadline_is_per_batch():
    # Posters that never let the room's history queue empty (each waits
    # for its batch's fsync, during which the others post) keep one writer
    # writing batch after batch for the whole run. Each batch has
    # --log-timeout-ms, not the whole run, so none fails however long the
    # stream goes on, and every message shown is in the log.
    srv = Server("--rate", "1000000", "--log-timeout-ms", "300", "--client-buffer", "100000",
                 "--durability", "always")
    cs = [Client(srv, "p%d" % i, "r") for i in range(4)]
    cs[0].expect("p3 joined")
    stop = time.time() + 1.5
    errors, shown = [], set()

    def blast(i):
        c, n = cs[i], 0
        while time.time() < stop:
            c.send("\n".join("m%d-%d" % (i, n + k) for k in range(50)))
            n += 50
            for l in c.lines(0.005):
                if l.startswith("error"):
                    errors.append(l)
                elif "> m" in l:
                    shown.add(l.split("> ", 1)[1])

    ts = [threading.Thread(target=blast, args=(i,)) for i in range(len(cs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for c in cs:
        errors.extend(l for l in c.lines(0.5) if l.startswith("error"))
        c.close()
    assert not errors, errors[:5]
    assert srv.stop() == 0
    records = open(os.path.join(srv.data, "r.log"), "rb").read().decode().splitlines()
    logged = {r.split("\t")[3] for r in records}  # seq, time, nick, text, checksum
    assert len(shown) > 1000, len(shown)  # a stream, not a few batches
    missing = [m for m in shown if m not in logged]
    assert not missing, missing[:5]


def test_graceful_shutdown_says_goodbye():
    srv = Server()
    cs = [Client(srv, "u%d" % i, "r") for i in range(3)]
    cs[0].expect("u2 joined")
    t0 = time.time()
    assert srv.stop() == 0
    assert time.time() - t0 < 6  # within the grace period
    for c in cs:
        out = c.expect("server shutting down")
        assert (out + c.lines(1))[-1] == "<eof>"


TESTS = {k[5:]: v for k, v in globals().items() if k.startswith("test_")}

if __name__ == "__main__":
    BIN = sys.argv[1]
    names = list(TESTS) if len(sys.argv) < 3 or sys.argv[2] == "all" else [sys.argv[2]]
    failed = 0
    for n in names:
        try:
            TESTS[n]()
            print("ok -", n)
        except Exception as e:
            failed += 1
            print("not ok -", n, repr(e))
        finally:
            Server.kill_leftovers()
    sys.exit(1 if failed else 0)
