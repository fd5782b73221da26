#!/usr/bin/env python3
"""redis_e2e.py: end-to-end tests of redis-lite, one concern per test.

    redis_e2e.py SERVER TEST [--valgrind]

Starts SERVER on a free port (--port 0; the port is read from its first
line of output), drives it with Debian's redis-cli (and raw sockets where a
client must misbehave: malformed RESP, inline commands, abrupt resets),
then stops it with SIGTERM and checks that it exits 0 promptly. With
--valgrind the server runs under memcheck and the test also fails on any
memory error or leak. Exit status 0 = pass."""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what=""):
    if got != want:
        raise Fail(f"{what}: got {got!r}, want {want!r}")


class Server:
    def __init__(self, binary, args=(), valgrind=False):
        self.valgrind = valgrind
        cmd = [binary, "--port", "0"] + list(args)
        if valgrind:
            self.vlog = f"/tmp/redis-lite-vg-{os.getpid()}.log"
            cmd = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
                   "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99",
                   f"--log-file={self.vlog}"] + cmd
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        m = re.search(r"listening on [^ ]*:(\d+)", line)
        if not m:
            self.p.kill()
            raise Fail(f"server did not start: {line!r} {self.p.stderr.read()!r}")
        self.port = int(m.group(1))

    def cli(self, *args, stdin=None):
        r = subprocess.run(["redis-cli", "--no-raw", "-p", str(self.port)] + [str(a) for a in args],
                           input=stdin, capture_output=True, text=True, timeout=20)
        return r.stdout.strip()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return s

    def rss_kb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, timeout=10):
        """SIGTERM; the server must exit 0 within timeout seconds."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=timeout * (4 if self.valgrind else 1))
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail("server did not exit after SIGTERM")
        if self.valgrind:
            log = open(self.vlog).read()
            os.unlink(self.vlog)
            if rc == 99 or "ERROR SUMMARY: 0 errors" not in log:
                raise Fail("valgrind: " + log[-3000:])
        eq(rc, 0, "exit status after SIGTERM")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def recv_until(s, pred, limit=10.0):
    """Read from socket s until pred(data) holds or the peer closes."""
    data = b""
    end = time.time() + limit
    while not pred(data):
        s.settimeout(max(0.05, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def closed_by_peer(s, limit=5.0):
    """True if the server closes the connection (EOF or reset) in time."""
    end = time.time() + limit
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not chunk:
            return True
    return False


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


# ------------------------------------------------------------------ tests
def t_ping_echo(sv):
    eq(sv.cli("ping"), "PONG", "PING")
    eq(sv.cli("ping", "hello there"), '"hello there"', "PING msg")
    eq(sv.cli("echo", "a\nb"), '"a\\nb"', "ECHO keeps bytes")
    check("wrong number of arguments" in sv.cli("echo"), "ECHO arity")


def t_get_set_del_exists(sv):
    eq(sv.cli("get", "k"), "(nil)", "GET missing")
    eq(sv.cli("set", "k", "v1"), "OK", "SET")
    eq(sv.cli("get", "k"), '"v1"', "GET")
    eq(sv.cli("set", "k", "a much longer value than before"), "OK", "SET grows")
    eq(sv.cli("get", "k"), '"a much longer value than before"', "GET after grow")
    eq(sv.cli("set", "k2", ""), "OK", "SET empty")
    eq(sv.cli("get", "k2"), '""', "GET empty")
    eq(sv.cli("exists", "k", "k2", "nope", "k"), "(integer) 3", "EXISTS counts repeats")
    eq(sv.cli("del", "k", "nope"), "(integer) 1", "DEL")
    eq(sv.cli("get", "k"), "(nil)", "GET after DEL")
    eq(sv.cli("dbsize"), "(integer) 1", "DBSIZE")
    # binary-safe keys and values through a raw connection
    s = sv.connect()
    s.sendall(resp(b"SET", b"\x00\r\nkey", b"\xff\x00\r\n") + resp(b"GET", b"\x00\r\nkey"))
    eq(recv_until(s, lambda d: d.count(b"\r\n") >= 3), b"+OK\r\n$4\r\n\xff\x00\r\n\r\n", "binary-safe")
    s.close()


def t_set_options(sv):
    eq(sv.cli("set", "k", "1", "nx"), "OK", "SET NX on missing")
    eq(sv.cli("set", "k", "2", "nx"), "(nil)", "SET NX on existing")
    eq(sv.cli("set", "k", "3", "xx"), "OK", "SET XX on existing")
    eq(sv.cli("set", "nope", "3", "xx"), "(nil)", "SET XX on missing")
    eq(sv.cli("get", "k"), '"3"', "value after NX/XX")
    eq(sv.cli("set", "k", "4", "get"), '"3"', "SET GET returns the old value")
    eq(sv.cli("set", "k", "5", "ex", "100"), "OK", "SET EX")
    ttl = int(sv.cli("ttl", "k").split()[-1])
    check(98 <= ttl <= 100, f"TTL after EX 100: {ttl}")
    eq(sv.cli("set", "k", "6", "keepttl"), "OK", "SET KEEPTTL")
    check(int(sv.cli("ttl", "k").split()[-1]) > 90, "KEEPTTL keeps the deadline")
    eq(sv.cli("set", "k", "7"), "OK", "plain SET")
    eq(sv.cli("ttl", "k"), "(integer) -1", "plain SET clears the deadline")
    check("syntax error" in sv.cli("set", "k", "v", "nx", "xx"), "NX with XX")
    check("syntax error" in sv.cli("set", "k", "v", "ex"), "EX without a time")
    check("invalid expire time" in sv.cli("set", "k", "v", "px", "0"), "PX 0")
    check("invalid expire time" in sv.cli("set", "k", "v", "ex", "-5"), "EX negative")
    check("not an integer" in sv.cli("set", "k", "v", "ex", "abc"), "EX not a number")
    eq(sv.cli("set", "k", "v", "px", "80"), "OK", "SET PX")
    time.sleep(0.2)
    eq(sv.cli("get", "k"), "(nil)", "expired after PX")
    # a SET without options over keys with deadlines, one passed, one not,
    # one whose new value outgrows the old: each deadline goes, and so does
    # each from the count of keys that have one
    def expires():
        m = re.search(r"expires=(\d+)", sv.cli("info"))
        return int(m.group(1)) if m else 0  # no db0 line: no keys
    base = expires()
    sv.cli("set", "d1", "a", "px", "100000")
    sv.cli("set", "d2", "b", "px", "50")
    sv.cli("set", "d3", "c", "px", "100000")
    eq(expires(), base + 3, "keys with a deadline counted")
    time.sleep(0.1)
    eq(sv.cli("set", "d1", "A"), "OK", "plain SET over a deadline")
    eq(sv.cli("set", "d2", "B"), "OK", "plain SET over a passed deadline")
    eq(sv.cli("set", "d3", "C" * 200), "OK", "plain SET over a deadline, larger value")
    for k, v in (("d1", "A"), ("d2", "B"), ("d3", "C" * 200)):
        eq(sv.cli("get", k), f'"{v}"', f"{k} holds the new value")
        eq(sv.cli("ttl", k), "(integer) -1", f"{k} has no deadline")
    eq(expires(), base, "no key left counted with a deadline")


def t_incr_decr(sv):
    eq(sv.cli("incr", "n"), "(integer) 1", "INCR creates")
    eq(sv.cli("incrby", "n", "41"), "(integer) 42", "INCRBY")
    eq(sv.cli("decr", "n"), "(integer) 41", "DECR")
    eq(sv.cli("decrby", "n", "-9"), "(integer) 50", "DECRBY negative")
    eq(sv.cli("get", "n"), '"50"', "stored as a string")
    sv.cli("set", "s", "abc")
    check("not an integer" in sv.cli("incr", "s"), "INCR on a non-number")
    sv.cli("set", "s", " 1")
    check("not an integer" in sv.cli("incr", "s"), "INCR on a padded number")
    sv.cli("set", "big", "9223372036854775807")
    check("overflow" in sv.cli("incr", "big"), "INCR overflow")
    eq(sv.cli("get", "big"), '"9223372036854775807"', "unchanged after overflow")
    check("not an integer" in sv.cli("incrby", "n", "1.5"), "INCRBY with a float")
    sv.cli("set", "t", "5", "px", "100000")
    sv.cli("incr", "t")
    check(int(sv.cli("pttl", "t").split()[-1]) > 90000, "INCR keeps the deadline")


def t_expire_ttl(sv):
    eq(sv.cli("ttl", "none"), "(integer) -2", "TTL missing")
    sv.cli("set", "k", "v")
    eq(sv.cli("ttl", "k"), "(integer) -1", "TTL without deadline")
    eq(sv.cli("expire", "k", "100"), "(integer) 1", "EXPIRE")
    check(98 <= int(sv.cli("ttl", "k").split()[-1]) <= 100, "TTL after EXPIRE")
    eq(sv.cli("pexpire", "k", "150"), "(integer) 1", "PEXPIRE")
    pttl = int(sv.cli("pttl", "k").split()[-1])
    check(0 < pttl <= 150, f"PTTL after PEXPIRE 150: {pttl}")
    eq(sv.cli("expire", "none", "10"), "(integer) 0", "EXPIRE missing")
    time.sleep(0.3)
    eq(sv.cli("get", "k"), "(nil)", "lazy expiry on GET")
    eq(sv.cli("exists", "k"), "(integer) 0", "gone")
    sv.cli("set", "k", "v")
    eq(sv.cli("expire", "k", "-1"), "(integer) 1", "EXPIRE negative")
    eq(sv.cli("exists", "k"), "(integer) 0", "EXPIRE negative deletes")
    sv.cli("set", "k", "v", "ex", "100")
    eq(sv.cli("persist", "k"), "(integer) 1", "PERSIST")
    eq(sv.cli("ttl", "k"), "(integer) -1", "TTL after PERSIST")
    eq(sv.cli("expire", "k", "100", "xx"), "(integer) 0", "EXPIRE XX without deadline")
    eq(sv.cli("expire", "k", "100", "nx"), "(integer) 1", "EXPIRE NX")
    check("not an integer" in sv.cli("expire", "k", "soon"), "EXPIRE bad time")


def t_expiry_sweep(sv):
    """Keys nobody reads again are reclaimed by the periodic sweep."""
    s = sv.connect()
    s.sendall(b"".join(resp("SET", f"key:{i}", "v", "PX", "50") for i in range(500)))
    eq(recv_until(s, lambda d: d.count(b"+OK") >= 500).count(b"+OK"), 500, "500 SET PX")
    s.close()
    eq(sv.cli("dbsize"), "(integer) 500", "DBSIZE before the deadline")
    deadline = time.time() + 5
    while time.time() < deadline and sv.cli("dbsize") != "(integer) 0":
        time.sleep(0.05)
    eq(sv.cli("dbsize"), "(integer) 0", "DBSIZE after the sweep (no key was read)")


def t_mget_mset(sv):
    eq(sv.cli("mset", "a", "1", "b", "2", "c", "3"), "OK", "MSET")
    eq(sv.cli("mget", "a", "nope", "c"), '1) "1"\n2) (nil)\n3) "3"', "MGET")
    check("wrong number of arguments" in sv.cli("mset", "a", "1", "b"), "MSET odd")
    sv.cli("lpush", "l", "x")
    eq(sv.cli("mget", "a", "l"), '1) "1"\n2) (nil)', "MGET of a non-string is nil")


def t_lists(sv):
    eq(sv.cli("rpush", "l", "b", "c"), "(integer) 2", "RPUSH")
    eq(sv.cli("lpush", "l", "a", "z"), "(integer) 4", "LPUSH")
    eq(sv.cli("lrange", "l", "0", "-1"), '1) "z"\n2) "a"\n3) "b"\n4) "c"', "LRANGE all")
    eq(sv.cli("lrange", "l", "1", "2"), '1) "a"\n2) "b"', "LRANGE middle")
    eq(sv.cli("lrange", "l", "-2", "100"), '1) "b"\n2) "c"', "LRANGE clamps")
    eq(sv.cli("lrange", "l", "5", "9"), "(empty array)", "LRANGE past the end")
    eq(sv.cli("llen", "l"), "(integer) 4", "LLEN")
    eq(sv.cli("lpop", "l"), '"z"', "LPOP")
    eq(sv.cli("rpop", "l"), '"c"', "RPOP")
    eq(sv.cli("rpop", "l", "5"), '1) "b"\n2) "a"', "RPOP count")
    eq(sv.cli("exists", "l"), "(integer) 0", "an emptied list is deleted")
    eq(sv.cli("lpop", "l"), "(nil)", "LPOP missing")
    # the ring buffer wraps and grows
    for i in range(20):
        sv.cli("lpush" if i % 2 else "rpush", "w", str(i))
    got = sv.cli("lrange", "w", "0", "-1").split("\n")
    want = [str(i) for i in range(19, -1, -2)] + [str(i) for i in range(0, 20, 2)]
    eq([re.sub(r'^ *\d+\) "(.*)"$', r"\1", g) for g in got], want, "order after wrap")


def t_sets(sv):
    eq(sv.cli("sadd", "s", "a", "b", "c", "a"), "(integer) 3", "SADD counts new members")
    eq(sv.cli("sadd", "s", "a", "d"), "(integer) 1", "SADD again")
    eq(sv.cli("scard", "s"), "(integer) 4", "SCARD")
    eq(sv.cli("sismember", "s", "d"), "(integer) 1", "SISMEMBER yes")
    eq(sv.cli("sismember", "s", "e"), "(integer) 0", "SISMEMBER no")
    popped = set()
    for _ in range(4):
        v = sv.cli("spop", "s")
        check(v.strip('"') in "abcd" and v not in popped, f"SPOP {v}")
        popped.add(v)
    eq(sv.cli("spop", "s"), "(nil)", "SPOP empty")
    eq(sv.cli("exists", "s"), "(integer) 0", "an emptied set is deleted")
    sv.cli("sadd", "s2", *[f"m{i}" for i in range(100)])
    eq(len(sv.cli("spop", "s2", "30").split("\n")), 30, "SPOP count")
    eq(sv.cli("scard", "s2"), "(integer) 70", "SCARD after SPOP count")


def t_hashes(sv):
    eq(sv.cli("hset", "h", "f1", "v1", "f2", "v2"), "(integer) 2", "HSET")
    eq(sv.cli("hset", "h", "f1", "x", "f3", "v3"), "(integer) 1", "HSET update counts new")
    eq(sv.cli("hget", "h", "f1"), '"x"', "HGET updated")
    eq(sv.cli("hget", "h", "nope"), "(nil)", "HGET missing")
    eq(sv.cli("hlen", "h"), "(integer) 3", "HLEN")
    pairs = sv.cli("hgetall", "h").split("\n")
    got = {pairs[i].split(" ", 1)[1]: pairs[i + 1].split(" ", 1)[1] for i in range(0, len(pairs), 2)}
    eq(got, {'"f1"': '"x"', '"f2"': '"v2"', '"f3"': '"v3"'}, "HGETALL")
    eq(sv.cli("hdel", "h", "f1", "f2", "f3", "no"), "(integer) 3", "HDEL")
    eq(sv.cli("exists", "h"), "(integer) 0", "an emptied hash is deleted")
    check("wrong number of arguments" in sv.cli("hset", "h", "f1"), "HSET odd")


def t_zsets(sv):
    eq(sv.cli("zadd", "z", "3", "c", "1", "a", "2", "b"), "(integer) 3", "ZADD")
    eq(sv.cli("zadd", "z", "0.5", "c"), "(integer) 0", "ZADD update")
    eq(sv.cli("zcard", "z"), "(integer) 3", "ZCARD")
    eq(sv.cli("zscore", "z", "c"), '"0.5"', "ZSCORE")
    eq(sv.cli("zpopmin", "z"), '1) "c"\n2) "0.5"', "ZPOPMIN after update")
    eq(sv.cli("zpopmin", "z", "5"), '1) "a"\n2) "1"\n3) "b"\n4) "2"', "ZPOPMIN count")
    eq(sv.cli("zpopmin", "z"), "(empty array)", "ZPOPMIN empty")
    eq(sv.cli("zadd", "z", "1", "x", "1", "w", "-inf", "y"), "(integer) 3", "ZADD ties")
    eq(sv.cli("zpopmin", "z", "3"), '1) "y"\n2) "-inf"\n3) "w"\n4) "1"\n5) "x"\n6) "1"',
       "ties ordered by member")
    # against a model: random adds and score updates, then everything popped in order
    import random
    rnd = random.Random(5)
    model = {}
    s = sv.connect()
    batch = b""
    for _ in range(5000):
        m, sc = "m%d" % rnd.randrange(2000), rnd.randrange(-500, 500)
        model[m] = sc
        batch += resp("ZADD", "big", sc, m)
    s.sendall(batch)
    eq(len(recv_until(s, lambda d: d.count(b"\r\n") >= 5000).split(b"\r\n")) - 1, 5000, "5000 ZADD")
    eq(sv.cli("zcard", "big"), "(integer) %d" % len(model), "ZCARD against the model")
    s.sendall(resp("ZPOPMIN", "big", len(model)))
    want = b"*%d\r\n" % (2 * len(model))
    for m, sc in sorted(model.items(), key=lambda kv: (kv[1], kv[0].encode())):
        want += b"$%d\r\n%s\r\n$%d\r\n%d\r\n" % (len(m), m.encode(), len(str(sc)), sc)
    eq(recv_until(s, lambda d: len(d) >= len(want)), want, "ZPOPMIN order against the model")
    s.close()
    check("not a valid float" in sv.cli("zadd", "z", "abc", "m"), "ZADD bad score")
    check("syntax error" in sv.cli("zadd", "z", "1", "m", "2"), "ZADD odd")


def t_wrong_type(sv):
    sv.cli("set", "str", "v")
    sv.cli("lpush", "list", "v")
    for args in (("lpush", "str", "x"), ("sadd", "str", "x"), ("hset", "str", "f", "v"),
                 ("zadd", "str", "1", "m"), ("get", "list"), ("incr", "list"), ("rpop", "str"),
                 ("lrange", "str", "0", "1"), ("spop", "list"), ("zpopmin", "list")):
        check(sv.cli(*args).startswith("(error) WRONGTYPE"), f"{args} gives WRONGTYPE")
    eq(sv.cli("get", "str"), '"v"', "value untouched")
    eq(sv.cli("set", "list", "now a string"), "OK", "SET replaces any type")
    eq(sv.cli("type", "list"), "string", "TYPE")


def t_arity_and_unknown(sv):
    for args in (("get",), ("get", "a", "b"), ("set", "a"), ("incr",), ("lrange", "l", "0"),
                 ("expire", "k"), ("select",), ("dbsize", "x")):
        got = sv.cli(*args)
        check(got.startswith("(error) ERR wrong number of arguments for '%s' command" % args[0]),
              f"{args}: {got}")
    got = sv.cli("frobnicate", "a", "b")
    check(got.startswith("(error) ERR unknown command 'frobnicate', with args beginning with: 'a' 'b'"),
          got)
    eq(sv.cli("GeT", "x"), "(nil)", "command names are case-insensitive")


def t_admin_commands(sv):
    eq(sv.cli("config", "get", "save"), '1) "save"\n2) ""', "CONFIG GET save")
    eq(sv.cli("config", "get", "appendonly"), '1) "appendonly"\n2) "no"', "CONFIG GET appendonly")
    eq(sv.cli("config", "get", "nosuch"), "(empty array)", "CONFIG GET unknown")
    eq(sv.cli("config", "get", "app*ly"), '1) "appendonly"\n2) "no"', "CONFIG GET glob")
    t0 = time.time()  # a pattern that is exponential for a naive matcher
    eq(sv.cli("config", "get", "*a" * 60 + "x"), "(empty array)", "CONFIG GET hostile glob")
    check(time.time() - t0 < 2, "hostile glob answered at once")
    check(int(sv.cli("command", "count").split()[-1]) >= 40, "COMMAND COUNT")
    eq(sv.cli("command", "docs"), "(empty array)", "COMMAND DOCS")
    check('"get"' in sv.cli("command"), "COMMAND lists get")
    eq(sv.cli("client", "setname", "worker-1"), "OK", "CLIENT SETNAME")
    check("cannot contain spaces" in sv.cli("client", "setname", "a b"), "CLIENT SETNAME with a space")
    eq(sv.cli("select", "0"), "OK", "SELECT 0")
    check("out of range" in sv.cli("select", "1"), "SELECT 1")
    sv.cli("mset", "a", "1", "b", "2")
    eq(sv.cli("dbsize"), "(integer) 2", "DBSIZE")
    eq(sv.cli("flushall"), "OK", "FLUSHALL")
    eq(sv.cli("dbsize"), "(integer) 0", "DBSIZE after FLUSHALL")
    # several commands on one connection, as a script feeds redis-cli
    out = sv.cli(stdin="client setname me\nclient getname\nset x 1\nincr x\n")
    eq(out.split("\n"), ["OK", '"me"', "OK", "(integer) 2"], "commands from stdin")
    # QUIT answers +OK and closes
    s = sv.connect()
    s.sendall(resp("QUIT"))
    eq(recv_until(s, lambda d: False, 3), b"+OK\r\n", "QUIT replies then closes")
    s.close()


def t_pipelining(sv):
    """A pipelined batch is answered completely and in order, also when it
    arrives in pieces and when a command is split across reads."""
    s = sv.connect()
    batch = b"".join(resp("INCR", "ctr") for _ in range(1000))
    s.sendall(batch)
    data = recv_until(s, lambda d: d.count(b"\r\n") >= 1000)
    eq(data, b"".join(b":%d\r\n" % i for i in range(1, 1001)), "1000 INCR replies in order")
    batch = b"".join(resp("SET", f"k{i}", "x" * i) + resp("GET", f"k{i}") for i in range(200))
    for i in range(0, len(batch), 7):  # dribbled in 7-byte pieces
        s.sendall(batch[i:i + 7])
    want = b"".join(b"+OK\r\n$%d\r\n%s\r\n" % (i, b"x" * i) for i in range(200))
    eq(recv_until(s, lambda d: len(d) >= len(want)), want, "dribbled batch")
    s.close()


def t_one_byte_reads(sv):
    """Bytes arriving one at a time (each read returns a single byte) are
    data, never mistaken for the end of the stream."""
    s = sv.connect()
    for cmd in (resp("SET", "k", "v"), b"GET k\r\n", resp("PING")):
        for i in range(len(cmd)):
            s.sendall(cmd[i:i + 1])
            time.sleep(0.003)
    eq(recv_until(s, lambda d: d.count(b"\r\n") >= 4), b"+OK\r\n$1\r\nv\r\n+PONG\r\n",
       "replies to byte-by-byte commands")
    s.close()


def t_inline_commands(sv):
    s = sv.connect()
    s.sendall(b"PING\r\nSET greeting \"hello world\\n\"\r\nGET greeting\nECHO 'it''s'\r\n"
              b"   \r\nEXISTS greeting nope\r\nSET q \"\\x41\\x42\"\r\nGET q\r\n")
    want = b"+PONG\r\n+OK\r\n$12\r\nhello world\n\r\n"
    data = recv_until(s, lambda d: d.count(b"\r\n") >= 5)
    check(data.startswith(want), f"inline replies: {data!r}")
    s.close()
    s = sv.connect()  # the quoting rules: a closing quote must end the word
    s.sendall(b"ECHO 'ab'c\r\n")
    data = recv_until(s, lambda d: b"\r\n" in d)
    eq(data, b"-ERR Protocol error: unbalanced quotes in request\r\n", "unbalanced quotes")
    check(closed_by_peer(s), "closed after a protocol error")
    s.close()
    s = sv.connect()
    s.sendall(b"SET q \"\\x41\\x42\"\r\nGET q\r\nGET greeting\r\n")
    eq(recv_until(s, lambda d: d.count(b"\r\n") >= 5), b"+OK\r\n$2\r\nAB\r\n$12\r\nhello world\n\r\n",
       "hex escapes")
    s.close()


def t_malformed_resp(sv):
    cases = [
        (b"*2\r\n$3\r\nGET\r\n+x\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
        (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$3\r\nGETXX", b"-ERR Protocol error: expected CRLF after bulk data\r\n"),
        (b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n$" + b"9" * 40 + b"\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    ]
    for raw, want in cases:
        s = sv.connect()
        s.sendall(resp("PING") + raw)
        data = recv_until(s, lambda d: d.count(b"\r\n") >= 2)
        eq(data, b"+PONG\r\n" + want, f"reply to {raw!r}")
        check(closed_by_peer(s), f"closed after {raw!r}")
        s.close()
    eq(sv.cli("ping"), "PONG", "still serving")


def t_oversized_bulk(sv):
    """Limits: --max-bulk 1024 --max-inline 4096 --max-command 65536 --max-args 100."""
    s = sv.connect()
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n")  # refused before the data comes
    eq(recv_until(s, lambda d: b"\r\n" in d), b"-ERR Protocol error: invalid bulk length\r\n",
       "bulk over --max-bulk")
    check(closed_by_peer(s), "closed after an oversized bulk")
    s.close()
    s = sv.connect()
    s.sendall(b"*101\r\n")
    eq(recv_until(s, lambda d: b"\r\n" in d), b"-ERR Protocol error: invalid multibulk length\r\n",
       "array over --max-args")
    s.close()
    s = sv.connect()  # 100 arguments of 1000 bytes: each fits, the command does not
    cmd = resp("MSET", *(["v" * 1000] * 99))
    s.sendall(cmd[:70000])
    data = recv_until(s, lambda d: b"\r\n" in d)
    check(data.startswith(b"-ERR Protocol error: command larger than the pending command limit"),
          f"command over --max-command: {data!r}")
    s.close()
    # an endless inline line and a flood of data cost bounded memory
    base = sv.rss_kb()
    socks = []
    for _ in range(8):
        s = sv.connect()
        try:
            for _ in range(64):
                s.sendall(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        socks.append(s)
    for s in socks:
        data = recv_until(s, lambda d: b"\r\n" in d)
        eq(data, b"-ERR Protocol error: too big inline request\r\n", "endless inline line")
        s.close()
    grown = sv.rss_kb() - base
    check(grown < 16 * 1024, f"memory grew by {grown} KiB after 32 MiB of junk")
    eq(sv.cli("set", "k", "v" * 1000), "OK", "a value within the limit")
    eq(sv.cli("ping"), "PONG", "still serving")


def t_too_many_clients(sv):
    """--max-clients 2"""
    a, b = sv.connect(), sv.connect()
    for s in (a, b):
        s.sendall(resp("PING"))
        eq(recv_until(s, lambda d: b"\r\n" in d), b"+PONG\r\n", "within the limit")
    c = sv.connect()
    eq(recv_until(c, lambda d: b"\r\n" in d), b"-ERR max number of clients reached\r\n", "third client")
    check(closed_by_peer(c), "third client is disconnected")
    c.close()
    a.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        d = sv.connect()
        d.sendall(resp("PING"))
        got = recv_until(d, lambda x: b"\r\n" in x)
        d.close()
        if got == b"+PONG\r\n":
            break
        time.sleep(0.05)
    eq(got, b"+PONG\r\n", "a slot frees when a client leaves")
    b.close()


def t_abrupt_disconnects(sv):
    import struct
    sv.cli("rpush", "big", *(["y" * 1000] * 500))
    for i in range(50):
        s = sv.connect()
        kind = i % 3
        if kind == 0:    # half a command, then a reset
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc")
        elif kind == 1:  # ask for a big reply and vanish before reading it
            s.sendall(resp("LRANGE", "big", "0", "-1") * 20)
        else:            # a pipelined batch, reset mid-flight
            s.sendall(resp("INCR", "n") * 100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    deadline = time.time() + 5
    info = ""
    while time.time() < deadline:
        info = sv.cli("info")
        if "connected_clients:1" in info:  # only this redis-cli
            break
        time.sleep(0.05)
    check("connected_clients:1" in info, "every dropped client was cleaned up: " + info)
    eq(sv.cli("get", "k"), "(nil)", "the half command did not run")
    eq(sv.cli("ping"), "PONG", "still serving")


def t_sigterm_shutdown(sv):
    idle = [sv.connect() for _ in range(5)]
    busy = sv.connect()
    busy.sendall(b"*3\r\n$3\r\nSET\r\n")  # half a command
    eq(sv.cli("ping"), "PONG", "serving")
    t0 = time.time()
    sv.p.send_signal(signal.SIGTERM)
    for s in idle + [busy]:
        check(closed_by_peer(s, 5), "a connection is closed at shutdown")
        s.close()
    rc = sv.p.wait(timeout=10)
    eq(rc, 0, "exit status")
    check(time.time() - t0 < 5, "shutdown took %.1f s" % (time.time() - t0))
    check("shutting down" in sv.p.stderr.read(), "says why it stops")
    r = subprocess.run(["redis-cli", "-p", str(sv.port), "ping"], capture_output=True, text=True, timeout=10)
    check("PONG" not in r.stdout, "nothing listens any more")


def t_benchmark(sv):
    r = subprocess.run(["redis-benchmark", "-p", str(sv.port), "-q", "-n", "2000",
                        "-t", "ping,set,get,incr,lpush,rpop,mset"],
                       capture_output=True, text=True, timeout=120)
    out = (r.stdout + r.stderr).replace("\r", "\n")
    eq(r.returncode, 0, "redis-benchmark exit status: " + out[-500:])
    for name in ("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPOP", "MSET"):
        check(re.search(r"^%s[^:]*: [0-9.]+ requests per second" % name, out, re.M),
              f"{name} reported: " + out[-800:])
    check(not re.search(r"error|ERR|WARNING", out, re.I), "no errors or warnings: " + out[-800:])


def t_benchmark_default_suite(sv):
    """redis-benchmark with no -t: every default test (lists, sets, hashes,
    sorted sets, LRANGE_100..600, MSET) runs without an error."""
    r = subprocess.run(["redis-benchmark", "-p", str(sv.port), "-q", "-n", "1000"],
                       capture_output=True, text=True, timeout=300)
    out = (r.stdout + r.stderr).replace("\r", "\n")
    eq(r.returncode, 0, "redis-benchmark exit status: " + out[-500:])
    for name in ("SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LRANGE_100", "LRANGE_600", "MSET"):
        check(re.search(r"^%s[^:]*: [0-9.]+ requests per second" % name, out, re.M),
              f"{name} reported: " + out[-800:])
    check(not re.search(r"error|ERR|WARNING", out, re.I), "no errors or warnings: " + out[-800:])


def t_valgrind_workload(sv):
    """Under memcheck: every type, deletes, expiry (lazy and swept), a
    flush, dropped clients; stop() then checks for leaks and errors."""
    sv.cli("mset", "a", "1", "b", "2")
    sv.cli("set", "e", "v", "px", "50")
    sv.cli("set", "f", "v", "px", "50")
    sv.cli("rpush", "l", "1", "2", "3")
    sv.cli("lpop", "l")
    sv.cli("sadd", "s", "x", "y", "z")
    sv.cli("spop", "s")
    sv.cli("hset", "h", "f", "v", "g", "w")
    sv.cli("hdel", "h", "f")
    sv.cli("zadd", "z", "1", "m", "2", "n")
    sv.cli("zpopmin", "z")
    sv.cli("del", "a")
    sv.cli("incr", "ctr")
    time.sleep(0.5)  # e and f: one swept, nothing reads them
    eq(sv.cli("get", "f"), "(nil)", "expired")
    s = sv.connect()
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc")
    s.close()
    s = sv.connect()
    s.sendall(b"*1\r\n$x\r\n")
    recv_until(s, lambda d: b"\r\n" in d)
    s.close()
    sv.cli("set", "keep", "v")
    sv.cli("lpush", "keep-list", "v")


def data_segments_in(s):
    """TCP data segments socket s has received (tcp_info.tcpi_data_segs_in)."""
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    check(len(info) >= 156, "tcp_info has tcpi_data_segs_in")
    return struct.unpack_from("I", info, 152)[0]


def t_pipelined_batch_one_write(sv):
    """Each pipelined batch is answered with one write: 300 batches of 16
    GETs (redis-benchmark -P 16's pattern, 8 KB of input per 16 batches,
    so the server's read buffer fills and wraps many times) arrive as
    exactly 300 TCP data segments, each holding its 16 replies in order."""
    eq(sv.cli("set", "key", "xyz"), "OK", "SET")
    s = sv.connect()
    batch = resp("GET", "key") * 16
    want = b"$3\r\nxyz\r\n" * 16
    before = data_segments_in(s)
    for i in range(300):
        s.sendall(batch)
        got = recv_until(s, lambda d: len(d) >= len(want))
        eq(got, want, f"batch {i}")
    eq(data_segments_in(s) - before, 300, "reply segments for 300 batches")
    s.close()


def t_pipeline_larger_than_input_buffer(sv):
    """A batch several times the server's input buffer, with values that
    straddle every buffer boundary, is answered completely and in order."""
    s = sv.connect()
    vals = [bytes([97 + i % 26]) * (1000 + i * 37) for i in range(100)]
    batch = b"".join(resp("SET", f"k{i}", v) + resp("GET", f"k{i}") for i, v in enumerate(vals))
    check(len(batch) > 4 * 16384, "the batch is larger than the input buffer")
    s.sendall(batch)
    want = b"".join(b"+OK\r\n$%d\r\n%s\r\n" % (len(v), v) for v in vals)
    eq(recv_until(s, lambda d: len(d) >= len(want)), want, "replies to the big batch")
    s.close()


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def t_busy_poll(sv):
    """--busy-poll-us: the server (here with the spin off) serves as usual;
    an out-of-range value is refused; with the default spin an idle server
    sleeps (after a burst of load, one idle second costs almost no CPU)."""
    eq(sv.cli("ping"), "PONG", "PING without busy polling")
    r = subprocess.run([sys.argv[1], "--port", "0", "--busy-poll-us", "2000000"],
                       capture_output=True, text=True, timeout=20)
    eq(r.returncode, 2, "exit status for --busy-poll-us 2000000")
    spinning = Server(sys.argv[1])
    try:
        r = subprocess.run(["redis-benchmark", "-p", str(spinning.port), "-q", "-n", "20000",
                            "-c", "20", "-P", "4", "-t", "set,get"],
                           capture_output=True, text=True, timeout=120)
        eq(r.returncode, 0, "redis-benchmark exit status")
        time.sleep(0.2)
        t0 = cpu_ticks(spinning.p.pid)
        time.sleep(1.0)
        idle = cpu_ticks(spinning.p.pid) - t0
        hz = os.sysconf("SC_CLK_TCK")
        check(idle * 1000 // hz <= 50, f"idle second cost {idle * 1000 // hz} ms of CPU")
        spinning.stop()
    finally:
        spinning.kill()


TESTS = {
    "ping_echo": (t_ping_echo, []),
    "get_set_del_exists": (t_get_set_del_exists, []),
    "set_options": (t_set_options, []),
    "incr_decr": (t_incr_decr, []),
    "expire_ttl": (t_expire_ttl, []),
    "expiry_sweep_reclaims_unread_keys": (t_expiry_sweep, ["--sweep-ms", "20"]),
    "mget_mset": (t_mget_mset, []),
    "lists": (t_lists, []),
    "sets": (t_sets, []),
    "hashes": (t_hashes, []),
    "sorted_sets": (t_zsets, []),
    "wrong_type": (t_wrong_type, []),
    "wrong_arity_and_unknown_command": (t_arity_and_unknown, []),
    "admin_commands": (t_admin_commands, []),
    "pipelining": (t_pipelining, []),
    "pipelined_batch_one_write": (t_pipelined_batch_one_write, []),
    "pipeline_larger_than_input_buffer": (t_pipeline_larger_than_input_buffer, []),
    "busy_poll_option": (t_busy_poll, ["--busy-poll-us", "0"]),
    "one_byte_reads": (t_one_byte_reads, []),
    "inline_commands": (t_inline_commands, []),
    "malformed_resp_gets_error": (t_malformed_resp, []),
    "oversized_input_gets_error_memory_bounded": (
        t_oversized_bulk, ["--max-bulk", "1024", "--max-inline", "4096", "--max-command", "65536",
                           "--max-args", "100"]),
    "too_many_clients": (t_too_many_clients, ["--max-clients", "2"]),
    "abrupt_disconnects": (t_abrupt_disconnects, []),
    "sigterm_shutdown": (t_sigterm_shutdown, []),
    "benchmark_no_errors": (t_benchmark, []),
    "benchmark_default_suite_no_errors": (t_benchmark_default_suite, []),
    "valgrind_clean": (t_valgrind_workload, ["--sweep-ms", "20"]),
}


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in TESTS:
        print(__doc__)
        print("tests:", " ".join(TESTS))
        return 2
    binary, name = sys.argv[1], sys.argv[2]
    fn, args = TESTS[name]
    sv = Server(binary, args, valgrind=name == "valgrind_clean")
    try:
        fn(sv)
        if sv.p.poll() is None:
            sv.stop()
    except Fail as e:
        sv.kill()
        print(f"FAIL {name}: {e}")
        return 1
    except Exception:
        sv.kill()
        raise
    print(f"PASS {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
