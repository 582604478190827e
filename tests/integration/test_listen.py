"""`sockit listen` (netcat's listen mode) against real clients: nc, socat,
Python sockets and `sockit connect` (also over TLS); -k, UDP, --unix, --hex,
and the relay options (-C, --send-only, --recv-only, --no-shutdown,
-s/--source-port) on listen and connect. Every listener is started on port 0
(the port is read from its first stderr line) and stopped by PID."""
import os
import re
import selectors
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT, run

LINE_RE = re.compile(r"listening on (?:\[(?P<v6>[^\]]+)\]|(?P<v4>[0-9.]+)|(?P<path>[^ ]+))"
                     r":(?P<port>\d+)")


class Listener:
    """A `sockit listen ...` child; its first stderr line gives the port."""

    def __init__(self, *args, stdin=subprocess.DEVNULL):
        self.proc = subprocess.Popen([SOCKIT, "listen", *args], stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.first = self._first_line()
        m = LINE_RE.search(self.first)
        self.port = int(m.group("port")) if m else None
        self.host = (m.group("v4") or m.group("v6")) if m else None
        self.out = self.err = b""

    def _first_line(self):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stderr, selectors.EVENT_READ)
        fd, line = self.proc.stderr.fileno(), b""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                ch = os.read(fd, 1)
                if not ch:
                    break
                line += ch
                if ch == b"\n":
                    return line.decode()
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise AssertionError(f"listen did not start: {line!r} {self.err!r}")

    def wait(self, timeout=20):
        """Wait for it to exit on its own; returns the exit code."""
        try:
            self.out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        self.err += err
        return self.proc.returncode

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            out, err = self.proc.communicate(timeout=5)
        self.out += out or b""
        self.err += err or b""
        return self.proc.returncode


@pytest.fixture
def listen():
    started = []

    def start(*args, **kw):
        lst = Listener(*args, **kw)
        started.append(lst)
        return lst

    yield start
    reports = []
    for lst in started:
        lst.stop()
        text = lst.err.decode(errors="replace")
        if SANITIZER_RE.search(text) or lst.proc.returncode in (86, 87):
            reports.append(text)
    assert not reports, "\n".join(reports)


def feed(proc, data):
    """Write data to a child's stdin and close it, in a thread."""
    stdin = proc.stdin
    proc.stdin = None  # communicate() must not touch it

    def go():
        try:
            stdin.write(data)
        except BrokenPipeError:
            pass
        try:
            stdin.close()
        except BrokenPipeError:
            pass
    t = threading.Thread(target=go)
    t.start()
    return t


def recv_all(s, timeout=10):
    s.settimeout(timeout)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b


def test_listen_first_line_and_both_loopbacks(listen):
    lst = listen("-p", "0")
    assert lst.first.startswith("sockit: listen: listening on 127.0.0.1:")
    assert f"[::1]:{lst.port}" in lst.first and "(tcp)" in lst.first


def test_listen_byte_exact_both_directions_with_nc(listen):
    """nc connects, sends a file and half-closes (-N); sockit listen sends its
    stdin back; both sides get every byte; listen exits 0 when nc closes."""
    up, down = os.urandom(150_000), os.urandom(90_000)
    lst = listen("-p", "0", stdin=subprocess.PIPE)
    t = feed(lst.proc, down)
    nc = subprocess.run(["nc", "-N", "127.0.0.1", str(lst.port)], input=up,
                        capture_output=True, timeout=20)
    t.join(10)
    assert lst.wait() == 0, lst.err
    assert lst.out == up
    assert nc.stdout == down


def test_listen_over_ipv6_with_python_client(listen):
    lst = listen("-p", "0", stdin=subprocess.PIPE)
    t = feed(lst.proc, b"from listen\n")
    with socket.create_connection(("::1", lst.port), timeout=10) as s:
        s.sendall(b"from python\n")
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s)
    t.join(10)
    assert lst.wait() == 0
    assert got == b"from listen\n"
    assert lst.out == b"from python\n"


def test_listen_keep_open_serves_clients_one_after_another(listen):
    """-k: after a client leaves, the next is taken; stopping by SIGTERM ends
    it (130); what each sent is on stdout in order."""
    lst = listen("-k", "-p", "0", "-v")
    for i in range(3):
        with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
            s.sendall(b"client %d\n" % i)
            s.shutdown(socket.SHUT_WR)
            assert recv_all(s) == b""  # stdin (/dev/null) ended: nothing comes
    time.sleep(0.3)
    assert lst.proc.poll() is None
    assert lst.stop() == 130
    assert lst.out == b"client 0\nclient 1\nclient 2\n"
    assert lst.err.count(b"connection from 127.0.0.1:") == 3


def test_listen_keep_open_send_only_survives_a_client_that_leaves(listen):
    """ncat -l -k --send-only died with "fd not on list" when a client left
    (nmap/nmap#2827): sockit keeps listening and serves the next client."""
    lst = listen("-k", "--send-only", "-t", "0", "-p", "0", stdin=subprocess.PIPE)
    c1 = socket.create_connection(("127.0.0.1", lst.port), timeout=10)
    c1.sendall(b"dropped\n")
    c1.close()
    time.sleep(0.5)
    assert lst.proc.poll() is None
    t = feed(lst.proc, b"for the second\n")
    with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
        assert recv_all(s) == b"for the second\n"
    t.join(10)
    assert lst.proc.poll() is None
    lst.stop()
    assert lst.out == b""  # --send-only: what clients send is dropped


def test_listen_recv_only_sends_nothing(listen):
    lst = listen("--recv-only", "-p", "0", stdin=subprocess.PIPE)
    t = feed(lst.proc, b"never sent\n")
    with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
        s.sendall(b"only this way\n")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(100)  # neither data nor a half-close comes
    t.join(10)
    assert lst.wait() == 0
    assert lst.out == b"only this way\n"


def test_listen_udp_from_several_peers_and_reply_to_the_last(listen):
    """-u: datagrams from any number of peers go to stdout; a line of stdin
    goes to the peer heard from last."""
    r, w = os.pipe()
    lst = listen("-u", "-p", "0", "-4", stdin=r)
    os.close(r)
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        a.sendto(b"from a\n", ("127.0.0.1", lst.port))
        time.sleep(0.3)
        b.sendto(b"from b\n", ("127.0.0.1", lst.port))
        time.sleep(0.3)
        os.write(w, b"to the last\n")
        b.settimeout(10)
        data, _ = b.recvfrom(100)
        assert data == b"to the last\n"
        a.settimeout(0.3)
        with pytest.raises(socket.timeout):
            a.recvfrom(100)
    finally:
        a.close()
        b.close()
        os.close(w)
    assert lst.proc.poll() is None  # input EOF does not end a UDP listener
    assert lst.stop() == 130
    assert lst.out == b"from a\nfrom b\n"


def test_listen_unix_socket_removed_after(listen, tmp_path):
    path = str(tmp_path / "l.sock")
    lst = listen("--unix", path, stdin=subprocess.PIPE)
    t = feed(lst.proc, b"hello unix\n")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(b"hi\n")
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == b"hello unix\n"
    t.join(10)
    assert lst.wait() == 0
    assert lst.out == b"hi\n"
    assert not os.path.exists(path)


def test_listen_tls_ephemeral_certificate_pinned_by_connect(listen):
    """--tls: an ephemeral certificate whose fingerprint the first line
    shows; `sockit connect --pin` with it moves bytes both ways exactly."""
    up, down = os.urandom(70_000), os.urandom(50_000)
    lst = listen("--tls", "-p", "0", stdin=subprocess.PIPE)
    m = re.search(r"certificate (sha256:[0-9A-F:]+)", lst.first)
    assert m, lst.first
    t = feed(lst.proc, down)
    c = subprocess.run([SOCKIT, "connect", "--pin", m.group(1), "127.0.0.1", str(lst.port)],
                       input=up, capture_output=True, timeout=30)
    t.join(10)
    assert c.returncode == 0, c.stderr
    assert lst.wait() == 0, lst.err
    assert c.stdout == down
    assert lst.out == up


def test_listen_tls_with_openssl_client_and_bad_handshake_under_k(listen):
    """A client that is not TLS gets one error line; with -k the next
    (openssl s_client) is served."""
    lst = listen("-k", "--recv-only", "--tls", "-p", "0")  # no early close_notify to race
    with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            recv_all(s)
        except ConnectionResetError:
            pass
    p = subprocess.run(["openssl", "s_client", "-quiet", "-no_ign_eof", "-connect",
                        f"127.0.0.1:{lst.port}"],
                       input=b"over tls\n", capture_output=True, timeout=20)
    time.sleep(0.3)
    assert lst.proc.poll() is None
    lst.stop()
    assert b"TLS handshake" in lst.err
    assert lst.out == b"over tls\n", (p.stderr, lst.err)


def test_listen_hex_dump_on_stderr_and_to_a_file(listen, tmp_path):
    dump = tmp_path / "dump.txt"
    lst = listen("--hex", "-p", "0", stdin=subprocess.PIPE)
    t = feed(lst.proc, b"pong\n")
    with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as s:
        s.sendall(b"ping\n")
        s.shutdown(socket.SHUT_WR)
        recv_all(s)
    t.join(10)
    assert lst.wait() == 0
    err = lst.err.decode()
    assert "< 00000000  70 69 6e 67 0a" in err and "|ping.|" in err
    assert "> 00000000  70 6f 6e 67 0a" in err and "|pong.|" in err
    assert lst.out == b"ping\n"  # the dump never mixes into the data

    lst2 = listen("-o", str(dump), "-p", "0", stdin=subprocess.PIPE)
    t = feed(lst2.proc, b"")
    with socket.create_connection(("127.0.0.1", lst2.port), timeout=10) as s:
        s.sendall(bytes(range(20)))
        s.shutdown(socket.SHUT_WR)
        recv_all(s)
    t.join(10)
    assert lst2.wait() == 0
    text = dump.read_text()
    assert text.splitlines() == [
        "< 00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|",
        "< 00000010  10 11 12 13                                       |....|",
    ]
    assert b"00000000" not in lst2.err


def test_connect_crlf_source_port_and_hex(listen):
    """connect -C sends CRLF line ends; --source-port and -s pick the local
    end (the listener's -v line shows it); --hex dumps what went out."""
    lst = listen("-p", "0", "-4", "-v")
    src = None
    for _ in range(5):
        with socket.socket() as t:
            t.bind(("127.0.0.1", 0))
            src = t.getsockname()[1]
        c = run("connect", "-C", "--hex", "-s", "127.0.0.1", "--source-port", str(src),
                "127.0.0.1", str(lst.port), input="a\nb\n")
        if c.returncode == 0:
            break
    assert c.returncode == 0, c.stderr
    assert lst.wait() == 0
    assert lst.out == b"a\r\nb\r\n"
    assert f"connection from 127.0.0.1:{src}".encode() in lst.err
    assert "> 00000000  61 0d 0a 62 0d 0a" in c.stderr


def test_connect_no_shutdown_keeps_the_sending_side_open(listen):
    """Default (-N): input EOF half-closes, the listener exits once it sent
    its input; --no-shutdown: the peer sees no EOF and the session lasts
    until the peer closes."""
    r, w = os.pipe()
    lst = listen("-p", "0", "-4", stdin=r)
    os.close(r)
    c = subprocess.Popen([SOCKIT, "connect", "--no-shutdown", "127.0.0.1", str(lst.port)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        c.stdin.write(b"question\n")
        c.stdin.close()
        c.stdin = None
        time.sleep(0.8)
        assert c.poll() is None and lst.proc.poll() is None  # no EOF reached the listener
        os.write(w, b"answer\n")
        os.close(w)  # the listener half-closes; connect ends on that
        out, err = c.communicate(timeout=10)
    finally:
        if c.poll() is None:
            c.kill()
            c.wait()
    assert c.returncode == 0, err
    assert out == b"answer\n"
    lst.stop()
    assert lst.out == b"question\n"


def test_connect_send_only_drops_what_arrives(listen):
    lst = listen("-p", "0", "-4", stdin=subprocess.PIPE)
    t = feed(lst.proc, b"unwanted\n")
    c = run("connect", "--send-only", "127.0.0.1", str(lst.port), input="data\n")
    t.join(10)
    assert c.returncode == 0, c.stderr
    assert c.stdout == ""
    lst.wait()
    assert lst.out == b"data\n"


@pytest.mark.parametrize("args,why", [
    ([], "give the port"),
    (["-p", "0", "extra"], "unexpected operand"),
    (["--unix", "/tmp/x", "-u"], "--unix goes without"),
    (["-u", "--tls", "-p", "0"], "no DTLS"),
    (["--send-only", "--recv-only", "-p", "0"], "exclude each other"),
    (["-p", "70000"], "-p 70000"),
    (["--bogus"], "unknown option"),
])
def test_listen_bad_arguments_exit_2(args, why):
    p = run("listen", *args)
    assert p.returncode == 2
    assert why in p.stderr, p.stderr


def test_listen_port_taken_is_one_line_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        p = run("listen", "-4", "-p", str(s.getsockname()[1]))
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "Address already in use" in p.stderr
