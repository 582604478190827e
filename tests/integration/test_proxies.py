"""serve socks (SOCKS5, RFC 1928/1929) and serve http-proxy (CONNECT):
tunnels under every stream model, byte-exact both ways with half-close,
real clients (curl --socks5, --socks5-hostname, --proxy with -p, nc -X,
ncat --proxy, sockit connect --proxy, bench --proxy) and the edge cases
from Python sockets: authentication,
IPv6 and name destinations, refusals (--allow-dest, a closed port, an
unsupported command or address type), garbage."""
import os
import socket
import struct
import subprocess
import threading

import pytest

from conftest import (SANITIZER_RE, SOCKIT_TSAN, Server, available_models, recv_exactly,
                      recv_until_close, run)

MODELS = available_models("tcp")
SIZES = [1, 1000, 1 << 20]


@pytest.fixture(scope="module")
def echo():
    """The destination: `sockit serve echo` on 127.0.0.1 and ::1."""
    s = Server(["echo", "-p", "0", "--model", "epoll"])
    yield s
    s.stop()
    assert not SANITIZER_RE.search(s.stderr), s.stderr


@pytest.fixture(scope="module")
def web():
    """An HTTP destination for curl: `sockit serve http` (Hello, World!)."""
    s = Server(["http", "-p", "0", "--model", "epoll", "--no-access-log"])
    yield s
    s.stop()
    assert not SANITIZER_RE.search(s.stderr), s.stderr


def closed_port():
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- a SOCKS5 client in a few lines -------------------------------------

def socks_addr(host):
    try:
        return b"\x01" + socket.inet_pton(socket.AF_INET, host)
    except OSError:
        pass
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        pass
    name = host.encode()
    return b"\x03" + bytes([len(name)]) + name


def socks_reply(s):
    """Read one reply; returns its code."""
    head = recv_exactly(s, 4)
    assert len(head) == 4 and head[0] == 5 and head[2] == 0, head
    n = {1: 4, 4: 16}.get(head[3])
    if n is None:
        n = recv_exactly(s, 1)[0]
    assert len(recv_exactly(s, n + 2)) == n + 2
    return head[1]


def socks_open(proxy, host, port, auth=None, cmd=1):
    """A connection to proxy with a request sent; returns (socket, rep)."""
    s = socket.create_connection(proxy, timeout=10)
    if auth:
        s.sendall(b"\x05\x01\x02")
        assert recv_exactly(s, 2) == b"\x05\x02"
        u, p = auth
        s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
        assert recv_exactly(s, 2) == b"\x01\x00"
    else:
        s.sendall(b"\x05\x01\x00")
        assert recv_exactly(s, 2) == b"\x05\x00"
    s.sendall(b"\x05" + bytes([cmd]) + b"\x00" + socks_addr(host) + struct.pack(">H", port))
    return s, socks_reply(s)


def http_open(proxy, target):
    """A CONNECT through proxy; returns (socket, status, head)."""
    s = socket.create_connection(proxy, timeout=10)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        ch = s.recv(1)
        assert ch, head
        head += ch
    return s, int(head.split()[1]), head.decode()


def round_trip(s, size):
    """size bytes through the tunnel to the echo server and back, then the
    client's half-close: the echo's end must come back as EOF."""
    data = bytes((i * 7 + size) % 251 for i in range(size))
    t = threading.Thread(target=s.sendall, args=(data,))
    t.start()
    got = recv_exactly(s, size, timeout=30)
    t.join(timeout=30)
    assert got == data
    s.shutdown(socket.SHUT_WR)
    assert recv_until_close(s, timeout=10) == b""
    s.close()


# ---- every model ---------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
def test_socks_tunnel_every_model(server, echo, model):
    px = server("socks", "-p", "0", "--model", model)
    for size in SIZES:
        s, rep = socks_open(px.addr, "127.0.0.1", echo.port)
        assert rep == 0
        round_trip(s, size)
    assert px.alive()


@pytest.mark.parametrize("model", MODELS)
def test_http_connect_tunnel_every_model(server, echo, model):
    px = server("http-proxy", "-p", "0", "--model", model)
    for size in SIZES:
        s, status, head = http_open(px.addr, f"127.0.0.1:{echo.port}")
        assert status == 200, head
        round_trip(s, size)
    assert px.alive()


@pytest.mark.skipif(not os.path.exists(SOCKIT_TSAN), reason="build/tsan/sockit not built")
@pytest.mark.parametrize("model", [m for m in ("thread", "pool", "epoll") if m in MODELS])
def test_tunnels_under_tsan(server, echo, model):
    """Concurrent tunnels, names looked up on their own threads, under
    ThreadSanitizer (the server fixture fails on any report)."""
    px = server("socks", "-p", "0", "--model", model, "--workers", "2", binary=SOCKIT_TSAN)
    errors = []

    def one(i):
        try:
            s, rep = socks_open(px.addr, ("localhost", "127.0.0.1", "::1")[i % 3], echo.port)
            assert rep == 0
            round_trip(s, 20000)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


# ---- real clients --------------------------------------------------------

def curl(*args):
    p = subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True,
                       text=True, timeout=20)
    return p


def test_curl_socks5_and_hostname(server, web):
    px = server("socks", "-p", "0")
    url = f"http://127.0.0.1:{web.port}/"
    p = curl("--socks5", f"127.0.0.1:{px.port}", url)
    assert p.returncode == 0 and "Hello, World!" in p.stdout, p.stderr
    # The proxy resolves the name.
    p = curl("--socks5-hostname", f"127.0.0.1:{px.port}", f"http://localhost:{web.port}/")
    assert p.returncode == 0 and "Hello, World!" in p.stdout, p.stderr
    p = curl("--socks5-hostname", f"127.0.0.1:{px.port}", f"http://[::1]:{web.port}/")
    assert p.returncode == 0 and "Hello, World!" in p.stdout, p.stderr


def test_curl_socks5_auth(server, web):
    px = server("socks", "-p", "0", "--auth", "alice:s3cret")
    url = f"http://127.0.0.1:{web.port}/"
    p = curl("--socks5", f"alice:s3cret@127.0.0.1:{px.port}", url)
    assert p.returncode == 0 and "Hello, World!" in p.stdout, p.stderr
    p = curl("--socks5", f"alice:wrong@127.0.0.1:{px.port}", url)
    assert p.returncode != 0


def test_curl_proxytunnel(server, web):
    px = server("http-proxy", "-p", "0")
    for host in ("127.0.0.1", "localhost"):
        p = curl("-p", "--proxy", f"http://127.0.0.1:{px.port}", f"http://{host}:{web.port}/")
        assert p.returncode == 0 and "Hello, World!" in p.stdout, p.stderr
    # Without -p curl forwards a GET: this proxy only tunnels (405).
    p = curl("-i", "--proxy", f"http://127.0.0.1:{px.port}", f"http://127.0.0.1:{web.port}/")
    assert p.stdout.startswith("HTTP/1.1 405"), p.stdout
    assert "Allow: CONNECT" in p.stdout


def test_curl_https_proxy(server, web):
    """serve http-proxy --tls: curl's HTTPS proxy (TLS to the proxy, the
    tunnel inside it)."""
    px = server("http-proxy", "-p", "0", "--tls")
    p = curl("-p", "--proxy", f"https://127.0.0.1:{px.port}", "--proxy-insecure",
             f"http://localhost:{web.port}/")
    assert p.returncode == 0 and "Hello, World!" in p.stdout, p.stderr


def test_nc_and_ncat_through_both(server, echo):
    """OpenBSD nc (-X 5, -X connect) and ncat (--proxy-type socks5, http):
    200 kB there and back, byte-exact, ended by the client's half-close."""
    socks = server("socks", "-p", "0")
    http = server("http-proxy", "-p", "0")
    data = bytes(i * 13 % 256 for i in range(200000))
    clients = [
        ["nc", "-N", "-X", "5", "-x", f"127.0.0.1:{socks.port}", "localhost", str(echo.port)],
        ["nc", "-N", "-X", "connect", "-x", f"127.0.0.1:{http.port}", "127.0.0.1",
         str(echo.port)],
        ["ncat", "--proxy", f"127.0.0.1:{socks.port}", "--proxy-type", "socks5", "127.0.0.1",
         str(echo.port)],
        ["ncat", "--proxy", f"127.0.0.1:{http.port}", "--proxy-type", "http", "127.0.0.1",
         str(echo.port)],
    ]
    for argv in clients:
        p = subprocess.run(argv, input=data, capture_output=True, timeout=30)
        assert p.returncode == 0, (argv, p.stderr)
        assert p.stdout == data, argv


def test_sockit_connect_through_both(server, echo):
    socks = server("socks", "-p", "0")
    http = server("http-proxy", "-p", "0")
    for url in (f"socks5://127.0.0.1:{socks.port}", f"http://127.0.0.1:{http.port}"):
        for host in ("127.0.0.1", "::1", "localhost"):
            p = run("connect", "--proxy", url, host, str(echo.port), input="through the proxy\n",
                    timeout=20)
            assert p.returncode == 0, (url, host, p.stderr)
            assert p.stdout == "through the proxy\n"


# ---- SOCKS5 edge cases ---------------------------------------------------

def test_socks_auth_required(server, echo):
    px = server("socks", "-p", "0", "--auth", "user:pass")
    s, rep = socks_open(px.addr, "127.0.0.1", echo.port, auth=(b"user", b"pass"))
    assert rep == 0
    round_trip(s, 100)
    # A wrong password: status 1, then the close.
    s = socket.create_connection(px.addr, timeout=10)
    s.sendall(b"\x05\x01\x02")
    assert recv_exactly(s, 2) == b"\x05\x02"
    s.sendall(b"\x01\x04user\x04nope")
    assert recv_until_close(s) == b"\x01\x01"
    # Offering no authentication only: no acceptable method.
    s = socket.create_connection(px.addr, timeout=10)
    s.sendall(b"\x05\x01\x00")
    assert recv_until_close(s) == b"\x05\xff"
    # Without --auth, a client offering only username/password is refused too.
    open_px = server("socks", "-p", "0")
    s = socket.create_connection(open_px.addr, timeout=10)
    s.sendall(b"\x05\x01\x02")
    assert recv_until_close(s) == b"\x05\xff"


def test_socks_ipv6_and_name_destinations(server, echo):
    px = server("socks", "-p", "0")
    for host in ("::1", "localhost"):
        s, rep = socks_open(px.addr, host, echo.port)
        assert rep == 0, host
        round_trip(s, 5000)


@pytest.mark.parametrize("model", MODELS)
def test_socks_whole_request_in_one_segment(server, echo, model):
    """Greeting, request and the first tunnel bytes in one send: the bytes
    after the request reach the destination once the tunnel is up."""
    px = server("socks", "-p", "0", "--model", model)
    s = socket.create_connection(px.addr, timeout=10)
    s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
              struct.pack(">H", echo.port) + b"early bytes")
    assert recv_exactly(s, 2) == b"\x05\x00"
    assert socks_reply(s) == 0
    assert recv_exactly(s, 11) == b"early bytes"
    s.close()


@pytest.mark.parametrize("model", [m for m in ("fork", "thread", "epoll", "uring") if m in MODELS])
def test_half_closed_client_by_name(server, echo, model):
    """A request for a name, the tunnel's bytes and the half-close sent in
    one go: the answer still comes back while the name is looked up."""
    for service in ("socks", "http-proxy"):
        px = server(service, "-p", "0", "--model", model)
        s = socket.create_connection(px.addr, timeout=10)
        if service == "socks":
            s.sendall(b"\x05\x01\x00\x05\x01\x00" + socks_addr("localhost") +
                      struct.pack(">H", echo.port) + b"one shot")
            want = b"\x05\x00\x05\x00\x00\x01" + bytes(6) + b"one shot"
        else:
            s.sendall(f"CONNECT localhost:{echo.port} HTTP/1.1\r\nHost: x\r\n\r\none shot".encode())
            want = b"HTTP/1.1 200 Connection established\r\n\r\none shot"
        s.shutdown(socket.SHUT_WR)
        assert recv_until_close(s) == want, service


@pytest.mark.parametrize("service", ["socks", "http-proxy"])
def test_slow_lookup_stalls_no_one_else(server, echo, service):
    """With lookups made slow (the test hook SOCKIT_RESOLVE_DELAY_MS), a
    client waiting for its name does not hold up a client giving an
    address on the same event loop; --connect-timeout bounds the wait."""
    env = {**os.environ, "SOCKIT_RESOLVE_DELAY_MS": "4000"}
    px = server(service, "-p", "0", "--model", "epoll", "--workers", "1",
                "--connect-timeout", "2", env=env)

    def request(host):
        if service == "socks":
            s = socket.create_connection(px.addr, timeout=10)
            s.sendall(b"\x05\x01\x00\x05\x01\x00" + socks_addr(host) +
                      struct.pack(">H", echo.port))
            assert recv_exactly(s, 2) == b"\x05\x00"
            return s
        s = socket.create_connection(px.addr, timeout=10)
        s.sendall(f"CONNECT {host}:{echo.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        return s

    slow = request("localhost")
    fast = request("127.0.0.1")
    if service == "socks":
        assert socks_reply(fast) == 0
    else:
        want = b"HTTP/1.1 200 Connection established\r\n\r\n"
        assert recv_exactly(fast, len(want)) == want
    round_trip(fast, 1000)
    # The slow one is still waiting for its name: nothing has come back yet.
    slow.setblocking(False)
    with pytest.raises(BlockingIOError):
        slow.recv(1)
    slow.setblocking(True)
    slow.settimeout(10)
    # Then its lookup outlives --connect-timeout: host unreachable (4), 504.
    if service == "socks":
        assert socks_reply(slow) == 4
    else:
        assert recv_until_close(slow).startswith(b"HTTP/1.1 504 ")
    slow.close()


def test_socks_refusals(server, echo):
    px = server("socks", "-p", "0", "--allow-dest", "127.0.0.0/8", "--allow-dest", "::1")
    # A port nothing listens on: connection refused (5).
    s, rep = socks_open(px.addr, "127.0.0.1", closed_port())
    assert rep == 5
    assert recv_until_close(s) == b""
    # BIND and UDP ASSOCIATE: command not supported (7).
    for cmd in (2, 3):
        s, rep = socks_open(px.addr, "127.0.0.1", echo.port, cmd=cmd)
        assert rep == 7
    # An address type RFC 1928 does not have: 8.
    s = socket.create_connection(px.addr, timeout=10)
    s.sendall(b"\x05\x01\x00")
    assert recv_exactly(s, 2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x02\x7f\x00\x00\x01\x00\x50")
    assert socks_reply(s) == 8
    # Still serving.
    s, rep = socks_open(px.addr, "::1", echo.port)
    assert rep == 0
    round_trip(s, 10)


def test_socks_denied_cidr_never_connects(server):
    """A destination outside --allow-dest gets 2 (not allowed by ruleset)
    and the destination never sees a connection, also when a name leads
    there."""
    dest = socket.socket()
    dest.bind(("127.0.0.1", 0))
    dest.listen(8)
    dest.setblocking(False)
    port = dest.getsockname()[1]
    try:
        px = server("socks", "-p", "0", "--allow-dest", "10.0.0.0/8", "--allow-dest", "::1/128")
        for host in ("127.0.0.1", "localhost"):
            s, rep = socks_open(px.addr, host, port)
            assert rep == 2, host
            assert recv_until_close(s) == b""
        with pytest.raises(BlockingIOError):
            dest.accept()
    finally:
        dest.close()


def test_socks_garbage(server, echo):
    px = server("socks", "-p", "0")
    for junk in (b"GET / HTTP/1.1\r\n\r\n", b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",
                 b"\x05\x00"):
        s = socket.create_connection(px.addr, timeout=10)
        s.sendall(junk)
        try:
            assert recv_until_close(s) == b""
        except ConnectionResetError:
            pass
        s.close()
    s, rep = socks_open(px.addr, "127.0.0.1", echo.port)
    assert rep == 0
    round_trip(s, 10)


def test_socks_options_refused():
    for args in (["--auth", "nocolon"], ["--auth", ":pass"], ["--allow-dest", "10.0.0.1/8"],
                 ["--allow-dest", "example.org"]):
        p = run("serve", "socks", "-p", "0", *args, timeout=10)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.startswith("sockit: "), p.stderr


# ---- HTTP CONNECT edge cases ---------------------------------------------

def http_answer(px, request):
    s = socket.create_connection(px.addr, timeout=10)
    s.sendall(request)
    out = recv_until_close(s)
    s.close()
    return out.decode(errors="replace")


def test_http_proxy_refusals(server, echo):
    px = server("http-proxy", "-p", "0", "--allow-dest", "127.0.0.1/32")
    # A port nothing listens on: 502.
    s, status, head = http_open(px.addr, f"127.0.0.1:{closed_port()}")
    assert status == 502, head
    # Outside --allow-dest (::1 is not 127.0.0.1/32): 403, also by name.
    s, status, head = http_open(px.addr, f"[::1]:{echo.port}")
    assert status == 403, head
    # Other methods: 405 with Allow: CONNECT.
    out = http_answer(px, b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert out.startswith("HTTP/1.1 405 ") and "Allow: CONNECT\r\n" in out, out
    # A target without a port, a path, garbage: 400.
    for req in (b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n", b"CONNECT /x HTTP/1.1\r\n\r\n",
                b"\x16\x03\x01\x00\x05hello\r\n\r\n"):
        out = http_answer(px, req)
        assert out.startswith("HTTP/1.1 400 "), (req, out)
    # Still serving; a name leading to an allowed address passes.
    s, status, head = http_open(px.addr, f"127.0.0.1:{echo.port}")
    assert status == 200, head
    round_trip(s, 10)


@pytest.mark.parametrize("model", MODELS)
def test_http_proxy_head_split_and_early_bytes(server, echo, model):
    """A head trickling in a byte at a time, with tunnel bytes right after
    it in the same segment."""
    px = server("http-proxy", "-p", "0", "--model", model)
    s = socket.create_connection(px.addr, timeout=10)
    req = f"CONNECT 127.0.0.1:{echo.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    for b in req[:-1]:
        s.send(bytes([b]))
    s.sendall(req[-1:] + b"early")
    want = b"HTTP/1.1 200 Connection established\r\n\r\nearly"
    assert recv_exactly(s, len(want)) == want
    s.close()


# ---- bench --proxy -------------------------------------------------------

def test_bench_through_proxies(server, echo, web):
    """Load through each proxy: every echoed byte checked, no error; a
    tunnel the proxy refuses is counted as a connect error."""
    socks = server("socks", "-p", "0")
    http = server("http-proxy", "-p", "0")
    for url in (f"socks5://127.0.0.1:{socks.port}", f"http://127.0.0.1:{http.port}"):
        p = run("bench", "echo", "127.0.0.1", str(echo.port), "-c", "4", "-n", "400", "-d", "10s",
                "-q", "--proxy", url, timeout=30)
        assert p.returncode == 0, (url, p.stdout, p.stderr)
        assert " 0 errors" in p.stdout, p.stdout
        p = run("bench", "http", f"http://localhost:{web.port}/", "-c", "2", "-n", "100", "-d",
                "10s", "-q", "--proxy", url, timeout=30)
        assert p.returncode == 0, (url, p.stdout, p.stderr)
        assert " 0 errors" in p.stdout, p.stdout
    p = run("bench", "echo", "127.0.0.1", str(closed_port()), "-c", "1", "-d", "300ms", "-q",
            "--proxy", f"socks5://127.0.0.1:{socks.port}", timeout=30)
    assert p.returncode == 1
    assert "errors: connect" in p.stderr, p.stderr
    p = run("bench", "echo", "127.0.0.1", "7", "-u", "--proxy", "socks5://127.0.0.1:1080")
    assert p.returncode == 2 and "--proxy is for TCP" in p.stderr
