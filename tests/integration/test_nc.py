"""The netcat-shaped parts of `sockit connect`: -z port scans, --proxy
through a real SOCKS5 server (a small Python one, checked with curl
--socks5 too) and through ncat's HTTP proxy; servers stopped by PID."""
import json
import os
import signal
import socket
import socketserver
import struct
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT, run


def closed_port():
    """A port nothing listens on (bound, never listening: refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


# ---- -z ----

def test_scan_reports_open_ports_and_refused_with_v():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen()
    port = ls.getsockname()[1]
    holder, shut = closed_port()
    try:
        p = run("connect", "-z", "127.0.0.1", str(port), str(shut))
        assert p.returncode == 0, p.stderr
        assert p.stdout == f"127.0.0.1 {port} open\n"
        p = run("connect", "-z", "-v", "127.0.0.1", str(shut), str(port))
        assert p.stdout == f"127.0.0.1 {shut} refused\n127.0.0.1 {port} open\n"
        p = run("connect", "-z", "--json", "127.0.0.1", f"{port}-{port}", str(shut))
        assert json.loads(p.stdout) == [
            {"host": "127.0.0.1", "port": port, "state": "open"},
            {"host": "127.0.0.1", "port": shut, "state": "refused"},
        ]
        p = run("connect", "-z", "127.0.0.1", str(shut))
        assert p.returncode == 1 and p.stdout == ""  # nothing accepted: 1, like nc -z
    finally:
        ls.close()
        holder.close()


def test_scan_agrees_with_nc_z_on_a_range():
    """A range with some listeners: the same ports open as `nc -z` finds."""
    socks = []
    try:
        base = None
        for _ in range(20):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
            s.close()
            if base < 65000:
                break
        listening = set()
        for off in (0, 3, 7):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", base + off))
            except OSError:
                s.close()
                continue
            s.listen()
            socks.append(s)
            listening.add(base + off)
        rng = f"{base}-{base + 9}"
        p = run("connect", "-z", "127.0.0.1", rng)
        ours = {int(line.split()[1]) for line in p.stdout.splitlines()}
        nc = subprocess.run(["nc", "-z", "-v", "127.0.0.1", rng], capture_output=True,
                            text=True, timeout=30)
        theirs = {int(line.split()[3]) for line in nc.stderr.splitlines()
                  if "succeeded" in line}
        assert ours == theirs == listening
        assert p.returncode == nc.returncode == 0
    finally:
        for s in socks:
            s.close()


def test_scan_timeout_is_bounded_by_w():
    """A listener whose backlog is full leaves SYNs unanswered: each port
    ends after -w and is reported as timed out with -v."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fillers.append(c)
        time.sleep(0.2)
        t0 = time.monotonic()
        p = run("connect", "-z", "-v", "-w", "0.5", "127.0.0.1", str(port), timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        for c in fillers:
            c.close()
        ls.close()
    if p.returncode == 0:
        pytest.skip("the kernel completed the handshake despite the full backlog")
    assert p.returncode == 1
    assert p.stdout == f"127.0.0.1 {port} timeout\n"
    assert elapsed < 8


@pytest.mark.parametrize("args,why", [
    (["-z", "127.0.0.1"], "expected HOST PORT"),
    (["-z", "127.0.0.1", "0"], "port 0"),
    (["-z", "127.0.0.1", "9-3"], "ends before it starts"),
    (["-z", "-u", "127.0.0.1", "80"], "-z scans TCP"),
    (["--json", "127.0.0.1", "80"], "--json goes with -z"),
    (["--proxy", "ftp://x:1", "127.0.0.1", "80"], "socks5://"),
    (["--proxy", "socks5://127.0.0.1", "127.0.0.1", "80"], "needs a port"),
    (["--proxy", "http://a@b:8", "127.0.0.1", "80"], "user:password"),
])
def test_connect_scan_and_proxy_bad_arguments_exit_2(args, why):
    p = run("connect", *args)
    assert p.returncode == 2, p.stderr
    assert why in p.stderr


# ---- --proxy ----

class Socks5Handler(socketserver.BaseRequestHandler):
    """RFC 1928 CONNECT without authentication; records the requests; a
    destination port in `refuse` gets reply 5 (connection refused)."""

    def handle(self):
        c = self.request
        c.settimeout(10)

        def exact(n):
            b = b""
            while len(b) < n:
                chunk = c.recv(n - len(b))
                if not chunk:
                    raise ConnectionError
                b += chunk
            return b
        ver, nmeth = exact(2)
        methods = exact(nmeth)
        if 0 not in methods:
            c.sendall(b"\x05\xff")
            return
        c.sendall(b"\x05\x00")
        ver, cmd, _, atyp = exact(4)
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, exact(4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, exact(16))
        else:
            host = exact(exact(1)[0]).decode()
        port = struct.unpack("!H", exact(2))[0]
        self.server.requests.append((atyp, host, port))
        if port in self.server.refuse:
            c.sendall(b"\x05\x05\x00\x01" + bytes(4) + b"\x00\x00")
            return
        try:
            up = socket.create_connection((host, port), timeout=10)
        except OSError:
            c.sendall(b"\x05\x05\x00\x01" + bytes(4) + b"\x00\x00")
            return
        c.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + b"\x00\x00")

        def pump(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t = threading.Thread(target=pump, args=(up, c))
        t.start()
        pump(c, up)
        t.join(20)
        up.close()


class Socks5Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Socks5Handler)
        self.requests = []
        self.refuse = set()


@pytest.fixture
def socks5():
    srv = Socks5Server()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def echo_server():
    """`sockit serve echo` on 127.0.0.1, stopped by PID."""
    p = subprocess.Popen([SOCKIT, "serve", "echo", "-4", "-p", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = p.stdout.readline()
    port = int(line.split("listening on 127.0.0.1:")[1].split()[0])
    yield port
    os.kill(p.pid, signal.SIGTERM)
    _, err = p.communicate(timeout=10)
    assert not SANITIZER_RE.search(err), err


def test_connect_through_socks5_byte_exact(socks5, echo_server):
    data = os.urandom(200_000)
    p = subprocess.run([SOCKIT, "connect", "--proxy", f"socks5://127.0.0.1:{socks5.server_address[1]}",
                        "127.0.0.1", str(echo_server)], input=data, capture_output=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data
    assert socks5.requests == [(1, "127.0.0.1", echo_server)]


def test_connect_through_socks5_sends_names_for_the_proxy_to_resolve(socks5, echo_server):
    p = run("connect", "--proxy", f"socks5://127.0.0.1:{socks5.server_address[1]}/",
            "localhost", str(echo_server), input="by name\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "by name\n"
    assert socks5.requests == [(3, "localhost", echo_server)]


def test_connect_through_socks5_refusal_is_one_line_exit_1(socks5):
    socks5.refuse.add(9)
    p = run("connect", "--proxy", f"socks5://127.0.0.1:{socks5.server_address[1]}",
            "127.0.0.1", "9", input="x")
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1
    assert "SOCKS5 proxy refused (reply 5)" in p.stderr, p.stderr


def test_curl_agrees_the_python_socks5_server_works(socks5, echo_server):
    """The test's SOCKS5 server is a real one: curl --socks5 goes through it."""
    http = subprocess.Popen([SOCKIT, "serve", "http", "-4", "-p", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        port = int(http.stdout.readline().split("listening on 127.0.0.1:")[1].split()[0])
        c = subprocess.run(["curl", "-s", "--socks5", f"127.0.0.1:{socks5.server_address[1]}",
                            f"http://127.0.0.1:{port}/"], capture_output=True, timeout=20)
        assert b"Hello, World!" in c.stdout
        p = run("connect", "--proxy", f"socks5://127.0.0.1:{socks5.server_address[1]}",
                "127.0.0.1", str(port), input="GET / HTTP/1.0\r\n\r\n")
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith("HTTP/1.1 200 OK") and "Hello, World!" in p.stdout
    finally:
        os.kill(http.pid, signal.SIGTERM)
        http.communicate(timeout=10)


@pytest.fixture
def ncat_http_proxy():
    """ncat's HTTP proxy on 127.0.0.1 (IPv4 only: on both families ncat 7.93
    fails its second bind). Ports below the ephemeral range, where ports of
    other loads' connections are not in the way; retried when taken."""
    import random
    p = port = None
    for _ in range(10):
        port = random.randint(20000, 32000)
        p = subprocess.Popen(["ncat", "-4", "-l", "--proxy-type", "http", "127.0.0.1",
                              str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
        deadline = time.monotonic() + 10
        up = False
        while time.monotonic() < deadline and p.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                up = True
                break
            except OSError:
                time.sleep(0.05)
        if up:
            break
        if p.poll() is None:
            p.kill()
        p.wait()
    else:
        pytest.skip("ncat's HTTP proxy did not start")
    yield port
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
    p.wait(timeout=10)


def test_connect_through_ncat_http_proxy_byte_exact(ncat_http_proxy, echo_server):
    """ncat's proxy ends the whole tunnel on a client's half-close, so the
    echo comes back with --no-shutdown, and -i ends the session."""
    data = os.urandom(150_000)
    p = subprocess.run([SOCKIT, "connect", "--no-shutdown", "-i", "1.5", "--proxy",
                        f"http://127.0.0.1:{ncat_http_proxy}", "127.0.0.1", str(echo_server)],
                       input=data, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


def test_http_proxy_refusal_and_first_tunnel_bytes():
    """A proxy answering 403 is one line, exit 1; a proxy that sends tunnel
    bytes right behind its 200 head loses none of them."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen()
    port = ls.getsockname()[1]
    answers = [b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
               b"HTTP/1.0 200 Connection established\r\nX: y\r\n\r\nbanner right behind\n"]
    seen = []

    def serve():
        for a in answers:
            c, _ = ls.accept()
            c.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                head += c.recv(1000)
            seen.append(head)
            c.sendall(a)
            c.close()
    t = threading.Thread(target=serve)
    t.start()
    try:
        p = run("connect", "--proxy", f"http://127.0.0.1:{port}", "example.org", "443")
        assert p.returncode == 1
        assert "status 403" in p.stderr and p.stderr.count("\n") == 1
        p = run("connect", "--proxy", f"http://127.0.0.1:{port}", "::1", "25", input="")
        assert p.returncode == 0, p.stderr
        assert p.stdout == "banner right behind\n"
    finally:
        t.join(10)
        ls.close()
    assert seen[0].startswith(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n")
    assert seen[1].startswith(b"CONNECT [::1]:25 HTTP/1.1\r\n")
