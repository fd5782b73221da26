"""selftest.py: ctest checks of bench/net's own programs, so a benchmark
figure always comes from a server that does its job:

    selftest.py echo BIN_DIR   echo_eddy echoes, under echo_load's byte
                               check, with 64 x 64 B and 256 x 1 KiB loads
    selftest.py http BIN_DIR   http_eddy answers GET / with hello, other
                               paths with 404, pipelined requests in order,
                               stops after Connection: close, answers
                               garbage with 400 and closes

Each server runs on a free loopback port and is killed by its pid."""
import os
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(argv, port):
    p = subprocess.Popen(argv, stderr=subprocess.PIPE)
    for _ in range(100):
        if p.poll() is not None:
            sys.exit(f"{argv[0]} exited: {p.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit(f"{argv[0]} does not listen on {port}")


def talk(port, data):
    """Send data, read until the server closes (or 2 s of silence)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out, True
            out += d
    except socket.timeout:
        return out, False
    finally:
        s.close()


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def echo(bindir):
    port = free_port()
    srv = start([os.path.join(bindir, "echo_eddy"), str(port)], port)
    try:
        for conns, size in ((64, 64), (256, 1024)):
            r = subprocess.run([os.path.join(bindir, "echo_load"), str(port), str(conns),
                                str(size), "0.3", "0.1", str(srv.pid)],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0, f"echo_load {conns}x{size}: {r.stderr.strip()}")
            done = int(r.stdout.split("requests=")[1].split()[0])
            check(done > 0, f"no round trip completed: {r.stdout}")
    finally:
        srv.kill()
        srv.wait()


def http(bindir):
    port = free_port()
    srv = start([os.path.join(bindir, "http_eddy"), str(port)], port)
    try:
        out, closed = talk(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(b"\r\n\r\nhello"),
              f"GET /: {out!r}")
        check(b"Content-Length: 5\r\n" in out and b"Date: " in out, f"headers: {out!r}")
        check(not closed, "a keep-alive connection was closed")
        out, closed = talk(port, b"GET /a HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"
                           b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
                           b"GET /never HTTP/1.1\r\n\r\n")
        answers = out.split(b"HTTP/1.1 ")[1:]
        check([a[:3] for a in answers] == [b"404", b"200", b"200"],
              f"pipelined answers in order, none after close: {out!r}")
        check(closed and b"Connection: close\r\n" in answers[2], "Connection: close honoured")
        out, closed = talk(port, b"GARBAGE\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 400 ") and closed, f"garbage: {out!r}")
        check(srv.poll() is None, "the server died")
    finally:
        srv.kill()
        srv.wait()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("echo", "http"):
        sys.exit("usage: selftest.py echo|http BIN_DIR")
    {"echo": echo, "http": http}[sys.argv[1]](sys.argv[2])
    print("ok")
