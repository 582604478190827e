"""One body per service, run under every model that `sockit serve --list`
reports as ok for TCP (the event models join by themselves once built).

Peers are real: nc (netcat-openbsd), socat and Python's socket module,
including clients written like the seeds' (a bare send() with no line end,
then recv()). Content is checked byte for byte with random binary payloads
from 1 byte to several MiB."""
import concurrent.futures
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import available_models, recv_exactly, recv_until_close, run, serve_list

MODELS = available_models("tcp")
CONCURRENT = [m for m in MODELS if m != "iterative"]

CHARGEN_LINE = 74  # 72 characters and CRLF


def payload(n, seed):
    """n random bytes, reproducible per seed."""
    import random
    return random.Random(seed).randbytes(n)


def exchange(s, data, timeout=20):
    """Send data on a fresh connection (while reading), half-close, and
    return everything the server sent until it closed."""
    c = s.connect(timeout=timeout)
    got = bytearray()
    err = []

    def send():
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
        except OSError as e:  # noqa: PERF203
            err.append(e)

    t = threading.Thread(target=send)
    t.start()
    try:
        got += recv_until_close(c, timeout=timeout)
    finally:
        t.join(timeout)
        c.close()
    assert not err, err
    return bytes(got)


def nc(s, data=b"", extra=(), timeout=20):
    """netcat-openbsd: -N shuts the socket down at stdin EOF."""
    target = ["-U", s.path] if s.path else [s.host, str(s.port)]
    p = subprocess.run(["nc", "-N", *extra, *target], input=data, capture_output=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def socat(s, data=b"", timeout=20):
    target = f"UNIX-CONNECT:{s.path}" if s.path else f"TCP:{s.host}:{s.port}"
    p = subprocess.run(["socat", "-t", "10", "-", target], input=data, capture_output=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def check_chargen(data, first_line=0):
    for i in range(0, len(data), CHARGEN_LINE):
        line = first_line + i // CHARGEN_LINE
        want = bytes(32 + (line + k) % 95 for k in range(72)) + b"\r\n"
        assert data[i:i + CHARGEN_LINE] == want[:len(data) - i], f"line {line}"


# ---- echo ----

@pytest.mark.parametrize("model", MODELS)
def test_echo_bytes_exact(server, model):
    s = server("echo", "--model", model)
    for n in (1, 1000, 65537, 3 * 1024 * 1024 + 17):
        data = payload(n, n)
        assert exchange(s, data) == data, f"{n} bytes"
    data = payload(300_000, 1)
    assert nc(s, data) == data
    assert socat(s, data) == data
    total = 1 + 1000 + 65537 + 3 * 1024 * 1024 + 17 + 2 * 300_000
    assert s.stop() == 0
    assert f"{total} bytes in, {total} bytes out" in s.stdout_rest


@pytest.mark.parametrize("model", MODELS)
def test_echo_unix_socket(server, model, tmp_path):
    path = str(tmp_path / "echo.sock")
    s = server("echo", "--model", model, "--unix", path)
    assert s.path == path and "(unix, model " in s.first
    data = payload(1024 * 1024 + 3, 7)
    assert exchange(s, data) == data
    small = payload(100_000, 8)
    assert nc(s, small) == small
    assert socat(s, small) == small
    assert s.stop() == 0
    assert not os.path.exists(path), "the socket file is removed on exit"


@pytest.mark.parametrize("model", MODELS)
def test_echo_lines_like_the_seeds(server, model):
    s = server("echo", "--model", model, "--lines", "--prefix", "You Send:", "--quit", "q")
    # nc and telnet end each line with a newline; q closes, the rest is unread.
    out = nc(s, b"hello\nworld\r\nq\nnever echoed\n")
    assert out == b"You Send:hello\nYou Send:world\r\n"
    # The seeds' client: a bare send() and a recv() for the answer.
    with s.connect() as c:
        c.sendall(b"Hi there")
        assert recv_exactly(c, len(b"You Send:Hi there")) == b"You Send:Hi there"
        c.sendall(b"binary \x00\xff ok")
        want = b"You Send:binary \x00\xff ok"
        assert recv_exactly(c, len(want)) == want
        c.sendall(b"q")
        assert recv_until_close(c) == b""


# ---- greet ----

@pytest.mark.parametrize("model", MODELS)
def test_greet_banner_then_close(server, model):
    s = server("greet", "--model", model)
    assert nc(s) == b"Thank you for connecting\n"
    with s.connect() as c:  # the seeds' client: recv() only
        assert recv_until_close(c) == b"Thank you for connecting\n"
    assert socat(s) == b"Thank you for connecting\n"


@pytest.mark.parametrize("model", MODELS)
def test_greet_reply_one_message(server, model):
    s = server("greet", "--model", model, "--reply", "Message received",
               "--banner", "Hello, say something")
    out = nc(s, b"first line\nsecond line\n")
    assert out == b"Hello, say something\nMessage received\n"
    with s.connect() as c:  # a bare message, then wait for the answer
        assert recv_exactly(c, 21) == b"Hello, say something\n"
        c.sendall(b"Hi server \x01")
        assert recv_until_close(c) == b"Message received\n"
    assert s.stop() == 0
    assert "first line" in s.stderr and "second line" not in s.stderr
    assert "Hi server \\x01" in s.stderr


# ---- discard, daytime, chargen ----

@pytest.mark.parametrize("model", MODELS)
def test_discard_sends_nothing(server, model):
    s = server("discard", "--model", model)
    data = payload(2 * 1024 * 1024, 3)
    assert exchange(s, data) == b""
    assert nc(s, data[:100_000]) == b""
    assert s.stop() == 0
    n = len(data) + 100_000
    assert f"{n} bytes in, 0 bytes out" in s.stdout_rest


DAYTIME_RE = re.compile(rb"^[A-Z][a-z]+day, [A-Z][a-z]+ \d\d, \d{4} \d\d:\d\d:\d\d-\S+\r\n$")


@pytest.mark.parametrize("model", MODELS)
def test_daytime_one_line(server, model):
    s = server("daytime", "--model", model)
    for out in (nc(s), socat(s), exchange(s, b"")):
        assert DAYTIME_RE.match(out), out
    s2 = server("daytime", "--model", model, "--utc")
    line = nc(s2)
    assert line.endswith(b"-UTC\r\n")
    year = time.gmtime().tm_year
    assert f", {year} ".encode() in line or f", {year + 1} ".encode() in line


@pytest.mark.parametrize("model", MODELS)
def test_chargen_pattern(server, model):
    s = server("chargen", "--model", model)
    with s.connect() as c:
        data = recv_exactly(c, 500_000)
    assert len(data) == 500_000
    check_chargen(data)
    # nc reads until we have enough; the server goes on until nc is gone.
    target = [s.host, str(s.port)]
    p = subprocess.Popen(["nc", "-d", *target], stdout=subprocess.PIPE)
    try:
        got = bytearray()
        while len(got) < 100_000:
            chunk = p.stdout.read1(65536)
            if not chunk:
                break
            got += chunk
    finally:
        p.kill()
        p.wait(5)
        p.stdout.close()
    assert len(got) >= 100_000
    check_chargen(bytes(got))
    # The server is still fine after clients vanished mid-stream.
    with s.connect() as c:
        check_chargen(recv_exactly(c, 10_000))


# ---- many clients at once ----

@pytest.mark.parametrize("model", CONCURRENT)
def test_200_concurrent_echo_clients(server, model):
    s = server("echo", "--model", model)
    n = 200
    barrier = threading.Barrier(n, timeout=30)

    def client(i):
        data = payload(1000 + 97 * i, 1000 + i)
        c = s.connect(timeout=30)
        try:
            barrier.wait()  # all connected at once before anyone talks
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            return recv_until_close(c, timeout=30) == data
        finally:
            c.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(client, range(n)))
    assert all(results), f"{results.count(False)} of {n} clients got wrong data"
    assert s.stop() == 0
    assert f"{n} connections, 0 rejected, 0 errors" in s.stdout_rest


@pytest.mark.parametrize("model", CONCURRENT)
def test_concurrent_greet_and_daytime(server, model):
    for svc, check in (("greet", lambda b: b == b"Thank you for connecting\n"),
                       ("daytime", lambda b: DAYTIME_RE.match(b) is not None)):
        s = server(svc, "--model", model)

        def client(_):
            with s.connect(timeout=20) as c:
                return check(recv_until_close(c, timeout=20))

        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as ex:
            assert all(ex.map(client, range(100)))


# ---- the same services over UDP (once the UDP models are built) ----

UDP_MODELS = available_models("udp")


@pytest.mark.parametrize("model", UDP_MODELS)
def test_udp_daytime_chargen_discard(server, model):
    def ask(s, data=b"?"):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(2)
        try:
            for _ in range(5):  # UDP may drop: retry a bounded number of times
                u.sendto(data, s.addr)
                try:
                    return u.recv(65536)
                except socket.timeout:
                    continue
            return None
        finally:
            u.close()

    s = server("daytime", "--udp", "--model", model)
    assert DAYTIME_RE.match(ask(s) or b"")
    s = server("chargen", "--udp", "--model", model)
    got = ask(s)
    assert got and 1 <= len(got) <= 512
    line = got[:72]
    start = line[0] - 32
    assert line == bytes(32 + (start + k) % 95 for k in range(len(line)))
    s = server("discard", "--udp", "--model", model)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.5)
    u.sendto(b"into the void", s.addr)
    with pytest.raises(socket.timeout):
        u.recv(100)
    u.close()
    assert s.stop() == 0
    assert "13 bytes in" in s.stdout_rest


def test_models_that_cannot_share_state_refuse_hub_services():
    """fork, prefork and iterative cannot carry chat: serve refuses it with
    one clear line."""
    rows = [r for r in serve_list() if r["kind"] == "tcp" and r["status"] == "ok"]
    assert any("chat" in r["services"] for r in rows), rows
    refusing = [r["model"] for r in rows if "chat" not in r["services"]]
    assert {"iterative", "fork", "prefork"} & set(refusing)
    for m in refusing:
        p = run("serve", "chat", "--model", m, "-p", "0")
        assert p.returncode == 1, (m, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "refusing chat" in lines[0] and m in lines[0], p.stderr


def test_service_help_and_list():
    p = run("serve", "greet", "--help")
    assert p.returncode == 0
    assert "--banner TEXT" in p.stdout and "--reply TEXT" in p.stdout
    p = run("serve", "daytime", "--help")
    assert "--utc" in p.stdout and "(also --udp)" in p.stdout
    rows = {(r["model"], r["kind"]): r for r in serve_list()}
    for m in ("iterative", "fork", "prefork", "thread", "pool"):
        r = rows[(m, "tcp")]
        assert r["status"] == "ok"
        assert {"echo", "greet", "discard", "daytime", "chargen"} <= set(r["services"])
    p = run("serve", "greet", "--model", "fork", "--reply")
    assert p.returncode == 2 and "Try 'sockit serve --help'" in p.stderr
