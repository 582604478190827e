"""The netcat-shaped parts: `sockit connect` -z port scans (beside nc -z),
--proxy through a real SOCKS5 server (a small Python one, checked with curl
--socks5 too) and through ncat's HTTP proxy, and `sockit nc` side by side
with netcat-openbsd (a table of invocations: the same stdout bytes and exit
status against the same peer). Every process is stopped by PID."""
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

from conftest import SANITIZER_RE, SOCKIT, closed_port, run, unanswered_port


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
    with unanswered_port() as port:
        t0 = time.monotonic()
        p = run("connect", "-z", "-v", "-w", "0.5", "127.0.0.1", str(port), timeout=10)
        elapsed = time.monotonic() - t0
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


# ---- sockit nc beside netcat-openbsd ----

class PeerHandler(socketserver.BaseRequestHandler):
    """One behaviour per server: reverse what came when it ends (needs the
    client's half-close), answer the first line and close, send a banner
    and close."""

    def handle(self):
        c = self.request
        c.settimeout(10)
        mode = self.server.mode
        if mode == "banner":
            c.sendall(b"banner\n")
            return
        data = b""
        while True:
            try:
                b = c.recv(65536)
            except OSError:
                break
            if not b:
                break
            data += b
            if mode in ("line", "hold") and b"\n" in data:
                break
        self.server.got.append(data)
        c.sendall(data[::-1] if mode == "reverse" else b"got: " + data)
        if mode == "hold":  # answer, then stay until the client closes (5 s at most)
            try:
                c.settimeout(5)
                while c.recv(1000):
                    pass
            except OSError:
                pass


class TcpPeer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode):
        super().__init__(("127.0.0.1", 0), PeerHandler)
        self.mode, self.got = mode, []


class UnixPeer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, mode, path):
        super().__init__(path, PeerHandler)
        self.mode, self.got = mode, []


def start_peer(srv):
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                d, a = s.recvfrom(65536)
                s.sendto(d, a)
            except socket.timeout:
                pass
            except OSError:
                return
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return s, stop


# Each case: peer kind, nc's arguments ({H} host, {P} the peer's port, {C} a
# closed port, {S} the SOCKS5 proxy's port, {U} the Unix path), stdin, and the
# stdout both must print.
NC_CASES = [
    ("reverse", ["-N", "{H}", "{P}"], b"hello\n", b"\nolleh"),
    ("line", ["{H}", "{P}"], b"hello\n", b"got: hello\n"),
    ("line", ["-C", "{H}", "{P}"], b"crlf\n", b"got: crlf\r\n"),
    ("line", ["-N", "-s", "127.0.0.1", "{H}", "{P}"], b"from\n", b"got: from\n"),
    ("banner", ["-d", "{H}", "{P}"], b"", b"banner\n"),
    ("banner", ["-d", "-w", "2", "{H}", "{P}"], b"", b"banner\n"),
    ("line", ["{H}", "{C}"], b"x\n", b""),
    ("line", ["-z", "{H}", "{P}"], b"", b""),
    ("line", ["-z", "{H}", "{C}"], b"", b""),
    ("line", ["-zv", "{H}", "{C}", "{P}"], b"", b""),
    ("reverse", ["-N", "-x", "127.0.0.1:{S}", "{H}", "{P}"], b"proxied\n", b"\ndeixorp"),
    ("line", ["-U", "{U}"], b"unix\n", b"got: unix\n"),
    ("udp", ["-u", "-w", "1", "{H}", "{P}"], b"ping\n", b"ping\n"),
    ("hold", ["-q", "1", "{H}", "{P}"], b"hello\n", b"got: hello\n"),
    ("reverse", ["-N", "-i", "1", "{H}", "{P}"], b"a\nb\n", b"\nb\na"),
    ("line", ["-n", "localhost", "{P}"], b"x\n", b""),
]


@pytest.mark.parametrize("kind,args,stdin,want", NC_CASES,
                         ids=[" ".join(c[1]) for c in NC_CASES])
def test_sockit_nc_beside_netcat_openbsd(kind, args, stdin, want, socks5, tmp_path):
    """The same invocation against the same peer: the same bytes on stdout
    and the same exit status from nc and from sockit nc."""
    closed_holder, closed = closed_port()
    upath = str(tmp_path / "peer.sock")
    srv, udp, stop = None, None, None
    if kind == "udp":
        udp, stop = udp_echo()
        port = udp.getsockname()[1]
    elif "-U" in args:
        srv = start_peer(UnixPeer(kind, upath))
        port = 0
    else:
        srv = start_peer(TcpPeer(kind))
        port = srv.server_address[1]
    subst = {"{H}": "127.0.0.1", "{P}": str(port), "{C}": str(closed),
             "{S}": str(socks5.server_address[1]), "{U}": upath}
    argv = []
    for a in args:
        for k, v in subst.items():
            a = a.replace(k, v)
        argv.append(a)
    try:
        theirs = subprocess.run(["nc", *argv], input=stdin, capture_output=True, timeout=20)
        ours = subprocess.run([SOCKIT, "nc", *argv], input=stdin, capture_output=True,
                              timeout=20)
    finally:
        closed_holder.close()
        if srv:
            srv.shutdown()
            srv.server_close()
        if udp:
            stop.set()
            udp.close()
    assert not SANITIZER_RE.search(ours.stderr.decode(errors="replace")), ours.stderr
    assert theirs.stdout == want, theirs.stderr
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode), ours.stderr
    if srv and kind != "banner":
        # The peer got the same bytes from both (a handler records what came
        # before it answers; -z's empty connections may be recorded late).
        got = [g for g in srv.got if g]
        assert len(got) in (0, 2) and len(set(got)) <= 1, srv.got


def test_sockit_nc_listen_beside_netcat_openbsd(tmp_path):
    """nc -l HOST PORT and sockit nc -l HOST PORT, each given a file on
    stdin, and the same client: the same bytes both ways, exit 0. (A file,
    not a pipe written after the client's half-close: nc may see the
    network's end first and leave before the pipe's bytes come.)"""
    stdin = tmp_path / "stdin"
    stdin.write_bytes(b"to the client\n")
    for prog in (["nc"], [SOCKIT, "nc"]):
        for attempt in range(5):
            import random
            port = random.randint(20000, 32000)
            with open(stdin, "rb") as f:
                p = subprocess.Popen([*prog, "-N", "-l", "127.0.0.1", str(port)],
                                     stdin=f, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
            s = None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and p.poll() is None:
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    break
                except OSError:
                    time.sleep(0.05)
            if s:
                break
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
            p.communicate(timeout=5)
        assert s, prog
        try:
            s.sendall(b"to the listener\n")
            s.shutdown(socket.SHUT_WR)
            out, err = p.communicate(timeout=20)
            got = b""
            while True:
                b = s.recv(1000)
                if not b:
                    break
                got += b
        finally:
            s.close()
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        assert p.returncode == 0, (prog, err)
        assert out == b"to the listener\n", prog
        assert got == b"to the client\n", prog


@pytest.mark.parametrize("args,line", [
    (["-r", "127.0.0.1", "1"], "-r is not supported"),
    (["-vt", "127.0.0.1", "1"], "-t is not supported"),
    (["-X", "4", "-x", "127.0.0.1", "127.0.0.1", "1"], "-X is not supported"),
    (["-z", "-i", "1", "127.0.0.1", "1"], "-i with -z is not supported"),
])
def test_sockit_nc_unsupported_flag_is_one_line_exit_2(args, line):
    p = run("nc", *args)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and line in p.stderr, p.stderr


def test_sockit_nc_usage_errors_exit_1_like_nc():
    for args in (["127.0.0.1"], ["-w", "x", "127.0.0.1", "1"], ["-k", "127.0.0.1", "1"]):
        theirs = subprocess.run(["nc", *args], capture_output=True, timeout=10)
        ours = run("nc", *args)
        assert theirs.returncode == ours.returncode == 1, args
