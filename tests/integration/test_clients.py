"""The TCP clients: `sockit connect` (netcat-style relay) against nc, socat
and Python servers, and `sockit echo-client` against sockit's echo server and
the seeds' Python echo server; the seeds' client against sockit; the
interactive echo client driven through tmux as a person would."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import (SEEDS, SOCKIT, SOCKIT_RELEASE, SANITIZER_RE, closed_port, free_port, run,
                      unanswered_port)

RELEASE = os.environ.get("SOCKIT_RELEASE") or SOCKIT


class PyServer:
    """A one-connection TCP server in a thread running handler(conn)."""

    def __init__(self, handler, family=socket.AF_INET, host="127.0.0.1"):
        self.ls = socket.socket(family, socket.SOCK_STREAM)
        self.ls.bind((host, 0))
        self.ls.listen(4)
        self.ls.settimeout(15)
        self.port = self.ls.getsockname()[1]
        self.result = {}
        self.error = None
        self.t = threading.Thread(target=self._run, args=(handler,), daemon=True)
        self.t.start()

    def _run(self, handler):
        try:
            conn, _ = self.ls.accept()
            conn.settimeout(15)
            with conn:
                handler(conn, self.result)
        except Exception as e:  # reported by join()
            self.error = e

    def join(self):
        self.t.join(20)
        self.ls.close()
        assert not self.t.is_alive(), "server thread still running"
        assert self.error is None, self.error
        return self.result


def read_all(conn):
    buf = bytearray()
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return bytes(buf)
        buf += chunk


def sockit_bin(*args, input=None, timeout=30, binary=None):
    p = subprocess.run([binary or SOCKIT, *args], input=input, capture_output=True,
                       timeout=timeout)
    assert not SANITIZER_RE.search(p.stderr.decode(errors="replace")), p.stderr
    return p


# ---- connect ----

def test_connect_half_close_then_reply_byte_exact():
    """The server reads until our half-close (EOF), then answers: both
    directions arrive byte for byte and sockit exits 0 when it closes."""
    up = os.urandom(300_000)
    down = os.urandom(200_000)

    def handler(conn, res):
        res["got"] = read_all(conn)  # only ends if sockit shut down its side
        conn.sendall(down)

    srv = PyServer(handler)
    p = sockit_bin("connect", "-v", "127.0.0.1", str(srv.port), input=up)
    res = srv.join()
    assert p.returncode == 0, p.stderr
    assert res["got"] == up
    assert p.stdout == down
    err = p.stderr.decode()
    assert re.search(r"connected to 127\.0\.0\.1:\d+ \(tcp\) in [0-9.]+ ms", err), err
    assert f"sent {len(up)} bytes, received {len(down)} bytes" in err


def test_connect_over_ipv6():
    data = os.urandom(10_000)

    def handler(conn, res):
        res["got"] = read_all(conn)
        conn.sendall(res["got"][::-1])

    srv = PyServer(handler, family=socket.AF_INET6, host="::1")
    p = sockit_bin("connect", "-6", "-v", "::1", str(srv.port), input=data)
    res = srv.join()
    assert p.returncode == 0, p.stderr
    assert res["got"] == data and p.stdout == data[::-1]
    assert b"connected to [::1]:" in p.stderr


def test_connect_peer_closes_first_exits_0():
    """The peer closing ends the session even while stdin stays open (after
    the --eof-wait grace for input that is not flowing)."""
    def handler(conn, res):
        conn.sendall(b"bye\n")

    srv = PyServer(handler)
    proc = subprocess.Popen([SOCKIT, "connect", "-t", "0.2", "127.0.0.1", str(srv.port)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.wait(10)  # stdin is never closed
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()
        srv.join()
    assert proc.returncode == 0, err
    assert out == b"bye\n"


def test_connect_keeps_sending_to_a_half_closed_peer():
    """A peer that answers first and half-closes, then reads everything:
    input still flowing after its EOF is delivered in full."""
    up = os.urandom(2_000_000)

    def handler(conn, res):
        conn.sendall(b"ready\n")
        conn.shutdown(socket.SHUT_WR)
        res["got"] = read_all(conn)

    srv = PyServer(handler)
    p = sockit_bin("connect", "127.0.0.1", str(srv.port), input=up)
    res = srv.join()
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"ready\n"
    assert res["got"] == up


def wait_listening(port, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["ss", "-Htln", f"sport = :{port}"], capture_output=True,
                          text=True).stdout.strip():
            return True
        time.sleep(0.05)
    return False


def test_connect_against_socat_echo_random_binary():
    port = free_port()
    socat = subprocess.Popen(
        ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "PIPE"],
        stderr=subprocess.PIPE)
    try:
        assert wait_listening(port), "socat did not listen"
        for size in (1, 1000, 1_000_000):
            data = os.urandom(size)
            p = sockit_bin("connect", "127.0.0.1", str(port), input=data)
            assert p.returncode == 0, p.stderr
            assert p.stdout == data, size
    finally:
        socat.kill()
        socat.wait(5)


def test_connect_against_nc_both_directions():
    """nc -l sends a file and saves what arrives; -N makes it close after its
    input, so both directions end cleanly."""
    up, down = os.urandom(150_000), os.urandom(90_000)
    for attempt in range(3):
        port = free_port()
        nc = subprocess.Popen(["nc", "-N", "-l", "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        nc_out = {}
        t = threading.Thread(target=lambda: nc_out.update(
            zip(("out", "err"), nc.communicate(down, timeout=20))))
        t.start()
        wait_listening(port)
        p = sockit_bin("connect", "127.0.0.1", str(port), input=up)
        t.join(25)
        if p.returncode == 1 and b"refused" in p.stderr and attempt < 2:
            continue  # the port was taken meanwhile; try another
        break
    assert p.returncode == 0, p.stderr
    assert p.stdout == down
    assert nc_out["out"] == up


def test_connect_refused_is_one_line_exit_1():
    holder, port = closed_port()
    try:
        p = run("connect", "127.0.0.1", str(port))
    finally:
        holder.close()
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert lines == [f"sockit: connect: 127.0.0.1 port {port}: Connection refused"]


def test_connect_unresolvable_is_one_line_exit_1():
    p = run("connect", "no-such-host.invalid", "80")
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "sockit: connect: no-such-host.invalid port 80: "), lines


def test_connect_bad_arguments_exit_2():
    for args in (["connect"], ["connect", "127.0.0.1"], ["connect", "127.0.0.1", "99999"],
                 ["connect", "-w", "x", "127.0.0.1", "7"], ["connect", "--unix", "/x", "h", "1"]):
        p = run(*args)
        assert p.returncode == 2, args
        assert "Try 'sockit connect --help'" in p.stderr


def test_connect_connect_timeout_on_a_full_backlog():
    """-w bounds the connect: a listener that never accepts, its backlog
    filled, leaves SYNs unanswered."""
    with unanswered_port() as port:
        t0 = time.monotonic()
        p = run("connect", "-w", "0.5", "127.0.0.1", str(port), timeout=10)
        elapsed = time.monotonic() - t0
    if p.returncode == 0:
        pytest.skip("the kernel completed the handshake despite the full backlog")
    assert p.returncode == 1
    assert "timed out" in p.stderr, p.stderr
    assert elapsed < 8


def test_connect_idle_timeout_ends_a_silent_session():
    def handler(conn, res):
        res["got"] = read_all(conn)  # silent; ends when sockit closes

    srv = PyServer(handler)
    proc = subprocess.Popen([SOCKIT, "connect", "-v", "--idle", "0.3", "127.0.0.1",
                             str(srv.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.wait(10)  # stdin stays open: only the idle timeout can end it
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()
    srv.join()
    assert proc.returncode == 0, err
    assert b"idle timeout" in err


def test_connect_unix_socket(tmp_path):
    path = str(tmp_path / "s.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(1)
    ls.settimeout(10)
    got = {}

    def serve():
        c, _ = ls.accept()
        with c:
            got["data"] = read_all(c)
            c.sendall(got["data"][::-1])

    t = threading.Thread(target=serve)
    t.start()
    data = os.urandom(50_000)
    p = sockit_bin("connect", "--unix", path, input=data)
    t.join(10)
    ls.close()
    assert p.returncode == 0, p.stderr
    assert got["data"] == data and p.stdout == data[::-1]


def read_to_end(proc, timeout=20):
    """Read proc's stdout (bytes) to its end, wait for proc; the byte count."""
    got = 0
    while True:
        b = proc.stdout.read(1 << 20)
        if not b:
            break
        got += len(b)
    proc.wait(timeout)
    return got


def test_connect_backpressure_keeps_memory_bounded():
    """A server sending 64 MiB to a client whose stdout is not read: sockit
    must stop reading the socket, not buffer it all (release build, RSS)."""
    total = 64 * 1024 * 1024

    def handler(conn, res):
        chunk = b"x" * 65536
        sent = 0
        conn.settimeout(30)
        while sent < total:
            conn.sendall(chunk)
            sent += len(chunk)
        res["sent"] = sent

    srv = PyServer(handler)
    proc = subprocess.Popen([RELEASE, "connect", "127.0.0.1", str(srv.port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # nobody reads stdout meanwhile
        with open(f"/proc/{proc.pid}/status") as f:
            rss_kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        got = read_to_end(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    srv.join()
    assert got == total
    assert proc.returncode == 0
    assert rss_kb < 16 * 1024, f"RSS {rss_kb} KiB while stdout was blocked"


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_connect_writes_stdout_in_what_it_received_not_in_pages(tmp_path):
    """Bulk data from the peer goes to stdout in writes as large as what
    arrived, as netcat writes it: sockit used to write 4 KiB at a time, twice
    netcat's system calls for a bulk `connect`/`listen` (release build under
    strace, its writes to descriptor 1 counted)."""
    total = 4 * 1024 * 1024

    def handler(conn, res):
        conn.sendall(os.urandom(total))

    srv = PyServer(handler)
    trace = tmp_path / "trace"
    proc = subprocess.Popen(["strace", "-qq", "-e", "trace=write", "-o", str(trace), SOCKIT_RELEASE,
                             "connect", "127.0.0.1", str(srv.port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        got = read_to_end(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    srv.join()
    assert got == total and proc.returncode == 0, proc.stderr.read()
    writes = [t for t in trace.read_text().splitlines() if t.startswith("write(1,")]
    # At 4 KiB a write this was 1024; what arrives at once is mostly 64 KiB.
    assert len(writes) <= total // 16384, f"{len(writes)} writes for {total} bytes"


def test_connect_udp_lines_are_datagrams():
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind(("127.0.0.1", 0))
    us.settimeout(10)
    port = us.getsockname()[1]
    seen = []

    def serve():
        for _ in range(3):
            d, a = us.recvfrom(70000)
            seen.append(d)
            us.sendto(d.upper(), a)

    t = threading.Thread(target=serve)
    t.start()
    # A pipe delivers everything at once: feed one line per write with pauses.
    proc = subprocess.Popen([SOCKIT, "connect", "-u", "-w", "0.5", "127.0.0.1", str(port)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    for line in (b"one\n", b"two\n", b"three\n"):
        proc.stdin.write(line)
        proc.stdin.flush()
        time.sleep(0.15)
    proc.stdin.close()
    out = proc.stdout.read()
    proc.wait(10)
    t.join(10)
    us.close()
    assert proc.returncode == 0, proc.stderr.read()
    assert seen == [b"one\n", b"two\n", b"three\n"]
    assert out == b"ONE\nTWO\nTHREE\n"


# ---- echo-client ----

STATS_RE = re.compile(r"(\d+) requests?, (\d+) answered, (\d+) lost")


def stats(out):
    m = STATS_RE.search(out)
    assert m, out
    return tuple(int(x) for x in m.groups())


def test_echo_client_scripted_against_sockit_echo(server):
    s = server("echo", "--model", "iterative", "-p", "0")
    p = run("echo-client", "-m", "hello", "-m", "second message", "127.0.0.1", str(s.port))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert re.match(r"6 bytes from 127\.0\.0\.1:\d+: seq=1 time=[0-9.]+ ms: hello$", lines[0])
    assert lines[1].endswith("seq=2 time=" + lines[1].split("time=")[1].split(" ")[0]
                             + " ms: second message")
    assert stats(p.stdout) == (2, 2, 0)
    assert re.search(r"rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms", p.stdout)


def test_echo_client_generated_large_messages_verified(server):
    s = server("echo", "--model", "iterative", "-p", "0")
    p = run("echo-client", "--count", "4", "--size", "3M", "127.0.0.1", str(s.port), timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert stats(p.stdout) == (4, 4, 0)
    assert "0 mismatched" in p.stdout
    assert p.stdout.count(f"{3 * 1024 * 1024} bytes from") == 4


def test_echo_client_notices_a_server_that_does_not_echo():
    """A server that answers something else: the reply ends after the quiet
    pause, is counted as mismatched, and the exit status is 1."""
    def handler(conn, res):
        for _ in range(2):
            conn.recv(100)
            conn.sendall(b"something else\n")
        read_all(conn)

    srv = PyServer(handler)
    p = run("echo-client", "--pause", "0.1", "-m", "a", "-m", "b", "127.0.0.1", str(srv.port))
    srv.join()
    assert p.returncode == 1
    assert stats(p.stdout) == (2, 2, 0)
    assert "2 mismatched" in p.stdout
    assert ": something else" in p.stdout


def test_echo_client_waits_out_a_pause_inside_an_echo():
    """An echo that stops halfway for longer than --pause (a loaded server,
    a slow relay) is still an echo: the quiet pause ends only a reply that
    is not one. It was cut there and counted as mismatched (seen as "1
    mismatched" on 2 MiB TLS echoes under load)."""
    def handler(conn, res):
        half = b""
        while len(half) < 50000:
            half += conn.recv(65536)
        conn.sendall(half)
        time.sleep(0.6)             # six times --pause, well inside --timeout
        left = 100000 - len(half)
        while left > 0:
            d = conn.recv(min(left, 65536))
            conn.sendall(d)
            left -= len(d)
        read_all(conn)

    srv = PyServer(handler)
    p = run("echo-client", "--pause", "0.1", "--timeout", "10", "--count", "1", "--size", "100000",
            "127.0.0.1", str(srv.port), timeout=30)
    srv.join()
    assert p.returncode == 0, p.stdout + p.stderr
    assert stats(p.stdout) == (1, 1, 0)
    assert "0 mismatched" in p.stdout, p.stdout
    assert "100000 bytes from" in p.stdout, p.stdout


def test_echo_client_tcp_no_reply_counts_lost():
    def handler(conn, res):
        read_all(conn)  # never answers

    srv = PyServer(handler)
    p = run("echo-client", "--timeout", "0.3", "-m", "anyone?", "127.0.0.1", str(srv.port))
    srv.join()
    assert p.returncode == 1
    assert "seq=1: no reply within 300 ms" in p.stdout
    assert stats(p.stdout) == (1, 0, 1)


def seed_server(tmp_path, name):
    proc = subprocess.Popen([sys.executable, os.path.join(SEEDS, name), "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"port (\d+)", line)
    assert m, line
    return proc, int(m.group(1))


@pytest.mark.parametrize("newline", [True, False], ids=["lines", "bare"])
def test_echo_client_against_the_seeds_server(tmp_path, newline):
    """The seeds' server answers "You Send:" + message: the reply ends with
    the message, so it counts as an echo (with or without a newline)."""
    proc, port = seed_server(tmp_path, "seed_tcp_echo_server.py")
    try:
        args = ["echo-client", "-m", "hello", "-m", "world", "--quit", "q"]
        if not newline:
            args.append("--no-newline")
        p = run(*args, "127.0.0.1", str(port))
    finally:
        time.sleep(0.2)
        proc.kill()
        out = proc.communicate(timeout=5)[0]
    assert p.returncode == 0, p.stdout + p.stderr
    assert ": You Send:hello" in p.stdout and ": You Send:world" in p.stdout
    assert stats(p.stdout) == (2, 2, 0)
    # The quit word is sent after the script; the seeds' server only knows a
    # bare 'q' (with a newline it is just another message to echo).
    if newline:
        assert "Data received b'q\\n'" in out, out
    else:
        assert "Client quits:" in out, out


def test_the_seeds_client_against_sockit_echo_lines(server):
    """The seeds' own client sends bare messages (no newline) and reads one
    reply each: sockit's --lines echo answers them after its pause."""
    s = server("echo", "--model", "iterative", "-p", "0", "--lines", "--prefix", "You Send:",
               "--quit", "q")
    p = subprocess.run([sys.executable, os.path.join(SEEDS, "seed_tcp_echo_client.py"),
                        "127.0.0.1", str(s.port)], input="hello\nworld\nq\n",
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "You Send:hello" in p.stdout and "You Send:world" in p.stdout


def test_echo_client_refused_and_bad_arguments():
    holder, port = closed_port()
    try:
        p = run("echo-client", "-m", "x", "127.0.0.1", str(port))
    finally:
        holder.close()
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        f"sockit: echo-client: 127.0.0.1 port {port}: Connection refused"]
    for args in (["-m", "x", "--count", "2"], ["--count", "0"], ["--size", "0"],
                 ["-u", "--count", "2", "--size", "8"], ["--retries", "99"]):
        p = run("echo-client", *args, "127.0.0.1", "7")
        assert p.returncode == 2, args
        assert "Try 'sockit echo-client --help'" in p.stderr


def test_echo_client_interactive_piped(server):
    """Interactive mode reading a pipe: no prompt, each line's reply printed,
    the quit word ends the session."""
    s = server("echo", "--model", "iterative", "-p", "0")
    p = run("echo-client", "--quit", "Q", "127.0.0.1", str(s.port),
            input="first line\nsecond\nq\nnever sent\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "first line\nsecond\n"


def tmux(sock, *args):
    return subprocess.run(["tmux", "-S", sock, *args], capture_output=True, text=True,
                          timeout=10)


def wait_pane(sock, pred, timeout=15):
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = tmux(sock, "capture-pane", "-p", "-t", "ec").stdout
        if pred(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"pane never matched; it shows:\n{text}")


@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")
def test_echo_client_interactive_in_tmux(server, tmp_path):
    """A person at a terminal: the prompt shows, a typed line comes back,
    the quit word ends the client with status 0."""
    s = server("echo", "--model", "iterative", "-p", "0", "--lines", "--prefix", "You Send:")
    sock = str(tmp_path / "tmux.sock")
    cmd = f"{SOCKIT} echo-client --quit q 127.0.0.1 {s.port}; echo EXIT=$?; sleep 60"
    env = dict(os.environ, TERM="xterm")
    subprocess.run(["tmux", "-S", sock, "new-session", "-d", "-s", "ec", "-x", "150", "-y", "40",
                    cmd], check=True, env=env, timeout=10)
    try:
        wait_pane(sock, lambda t: t.startswith(">"))
        tmux(sock, "send-keys", "-t", "ec", "hello there", "Enter")
        text = wait_pane(sock, lambda t: "You Send:hello there" in t)
        assert "> hello there" in text
        tmux(sock, "send-keys", "-t", "ec", "second", "Enter")
        wait_pane(sock, lambda t: "You Send:second" in t)
        tmux(sock, "send-keys", "-t", "ec", "q", "Enter")
        text = wait_pane(sock, lambda t: "EXIT=" in t)
        assert "EXIT=0" in text, text
        assert not SANITIZER_RE.search(text), text
    finally:
        tmux(sock, "kill-server")
