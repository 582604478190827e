"""`sockit serve SERVICE --tls`: the TLS transport under every stream model
(parametrized from `serve --list`), with real peers: Python's ssl (the
certificate checked against the fingerprint the listening line shows),
`openssl s_client`, curl (--cacert, --pinnedpubkey) against http with files
and ranges, socat OPENSSL: and ncat --ssl against echo, mutual TLS, a TLS
1.0/1.1 client refused, slow and garbage handshakes while a good client is
served, descriptors and memory after many failed handshakes, and `sockit
connect --tls --pin` with the pin from the listening line."""
import base64
import hashlib
import os
import random
import re
import select
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT, SOCKIT_RELEASE, SOCKIT_TSAN, available_models, proc_status_kb, recv_exactly, run
from conftest import ChatPeer

MODELS = available_models("tcp")
HUB_MODELS = available_models("tcp", "chat")
FP_RE = re.compile(r"\(tls, model (\w+)\) (sha256:(?:[0-9A-F]{2}:){31}[0-9A-F]{2})")
CHARGEN_LINE = 74


def payload(n, seed):
    return random.Random(seed).randbytes(n)


def openssl(*args, cwd=None):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate it
    signed, and a client certificate nobody trusts; all ECDSA P-256."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-subj",
                f"/CN=sockit test {ca}", "-days", "2", cwd=d)
    for name, signer, san, usage in (("srv", "ca", "DNS:localhost,IP:127.0.0.1", "serverAuth"),
                                     ("client", "ca", "DNS:client.test", "clientAuth"),
                                     ("stranger", "otherca", "DNS:client.test", "clientAuth")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\nextendedKeyUsage={usage}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{signer}.pem", "-CAkey",
                f"{signer}.key", "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
                "-out", f"{name}.pem", cwd=d)
    return d


def tls_server(server, service, model=None, *extra, **kw):
    args = [service, "--tls", "-b", "127.0.0.1", *extra]
    if model:
        args += ["--model", model]
    s = server(*args, **kw)
    m = FP_RE.search(s.first)
    assert m, s.first
    s.fp = m.group(2)
    return s


def client_ctx(**kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def fp_of(der):
    h = hashlib.sha256(der).hexdigest().upper()
    return "sha256:" + ":".join(h[i:i + 2] for i in range(0, 64, 2))


def tls_connect(s, ctx=None, timeout=20):
    """A TLS connection to s; the server's certificate must be the one whose
    fingerprint its listening line printed."""
    c = (ctx or client_ctx()).wrap_socket(socket.create_connection(s.addr, timeout=timeout))
    assert fp_of(c.getpeercert(binary_form=True)) == s.fp
    return c


def echo_exchange(c, data, timeout=30):
    """Send data while reading the echo on one thread (an SSL object must not
    be used by two threads at once), nonblocking."""
    c.setblocking(False)
    got = bytearray()
    sent = 0
    deadline = time.monotonic() + timeout
    while len(got) < len(data) and time.monotonic() < deadline:
        if sent < len(data):
            try:
                sent += c.send(data[sent:sent + 65536])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        try:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
            continue
        except ssl.SSLWantReadError:
            pass
        if c.pending():
            continue
        select.select([c], [c] if sent < len(data) else [], [], 0.5)
    c.setblocking(True)
    return bytes(got)


def recv_all(c, timeout=20):
    c.settimeout(timeout)
    buf = bytearray()
    while True:
        try:
            chunk = c.recv(65536)
        except ssl.SSLEOFError:
            break
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def check_chargen(data):
    for i in range(0, len(data), CHARGEN_LINE):
        line = i // CHARGEN_LINE
        want = bytes(32 + (line + k) % 95 for k in range(72)) + b"\r\n"
        assert data[i:i + CHARGEN_LINE] == want[:len(data) - i], f"line {line}"


# ---- every stream service under every stream model ----

@pytest.mark.parametrize("model", MODELS)
def test_echo_byte_exact_both_ways(server, model):
    s = tls_server(server, "echo", model)
    assert f"(tls, model {model})" in s.first
    total = 0
    for n in (1, 1000, 65537, 3 * 1024 * 1024 + 17):
        data = payload(n, n)
        with tls_connect(s) as c:
            assert echo_exchange(c, data) == data, f"{n} bytes"
        total += n
    # openssl s_client, as a user would type to it; it ends at stdin's end
    # (-no_ign_eof), so the reply is awaited before it closes.
    data = b"hello over s_client\n"
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{s.port}", "-quiet",
                          "-no_ign_eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        p.stdin.write(data)
        p.stdin.flush()
        got = b""
        deadline = time.monotonic() + 20
        while len(got) < len(data) and time.monotonic() < deadline:
            chunk = p.stdout.read1(65536)
            if not chunk:
                break
            got += chunk
        assert got == data
    finally:
        p.kill()
        p.wait(10)
        p.stdin.close()
        p.stdout.close()
    total += len(data)
    assert s.stop() == 0
    assert f"{total} bytes in, {total} bytes out" in s.stdout_rest


@pytest.mark.parametrize("model", MODELS)
def test_greet_and_daytime_banner_then_close_notify(server, model):
    s = tls_server(server, "greet", model)
    for _ in range(2):
        with tls_connect(s) as c:
            assert recv_all(c) == b"Thank you for connecting\n"
    d = tls_server(server, "daytime", model, "--utc")
    with tls_connect(d) as c:
        line = recv_all(c)
    assert re.match(rb"^[A-Z][a-z]+day, .*-UTC\r\n$", line), line


@pytest.mark.parametrize("model", MODELS)
def test_discard_and_chargen(server, model):
    s = tls_server(server, "discard", model)
    data = payload(2 * 1024 * 1024, 3)
    with tls_connect(s) as c:
        c.sendall(data)
        # Half-close the TCP stream under TLS, then wait for the server's
        # close: it has read (and counted) everything by then.
        c.shutdown(socket.SHUT_WR)
        c.settimeout(20)
        while c.recv(65536):
            pass
    assert s.stop() == 0
    assert f"{len(data)} bytes in, 0 bytes out" in s.stdout_rest
    g = tls_server(server, "chargen", model)
    with tls_connect(g) as c:
        check_chargen(recv_exactly(c, 500_000, timeout=30))


@pytest.mark.parametrize("model", MODELS)
def test_http_hello_with_alpn(server, model):
    s = tls_server(server, "http", model, "-q")
    assert f"https://127.0.0.1:{s.port}/" in s.first
    ctx = client_ctx()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with tls_connect(s, ctx) as c:
        assert c.selected_alpn_protocol() == "http/1.1"
        for _ in range(3):  # keep-alive
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += c.recv(4096)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert b"Hello, World!" in head or int(
                re.search(rb"Content-Length: (\d+)", head).group(1)) > 0


@pytest.mark.parametrize("model", HUB_MODELS)
def test_chat_over_tls(server, model):
    s = tls_server(server, "chat", model)
    peers = []
    for _ in range(2):
        p = ChatPeer(s)
        p.s = client_ctx().wrap_socket(p.s)
        peers.append(p)
    a, b = peers
    try:
        a.join("alice")
        b.join("bob")
        a.send("hello from alice")
        b.expect("<alice> hello from alice")
    finally:
        a.close()
        b.close()


@pytest.mark.skipif(not os.path.exists(SOCKIT_TSAN), reason="build/tsan/sockit not built")
@pytest.mark.parametrize("model,workers", [("epoll", "3"), ("uring", "2"), ("thread", "0"),
                                           ("pool", "8")])
def test_chat_over_tls_under_threadsanitizer(server, model, workers):
    """Hub writes from other threads and loops land in out of a TLS
    connection that its owner encrypts: every line reaches every other peer,
    and ThreadSanitizer reports nothing."""
    if model not in HUB_MODELS:
        pytest.skip(f"{model} not available here")
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:exitcode=66")
    s = tls_server(server, "chat", model, "--workers", workers, binary=SOCKIT_TSAN, env=env)
    peers = []
    try:
        for i in range(6):
            p = ChatPeer(s)
            p.s = client_ctx().wrap_socket(p.s)
            peers.append(p)
            p.join(f"t{i}")
        for k in range(2):
            for i, p in enumerate(peers):
                p.send(f"{k} from t{i}")
        for i, p in enumerate(peers):
            deadline = time.monotonic() + 30
            while sum(1 for l in p.lines if l.startswith(b"<t")) < 2 * 5:
                assert time.monotonic() < deadline, p.lines
                p.pump(0.5)
            got = sorted(l for l in p.lines if l.startswith(b"<t"))
            assert got == sorted(f"<t{j}> {k} from t{j}".encode()
                                 for j in range(6) if j != i for k in range(2))
    finally:
        for p in peers:
            p.close()
    s.stop()
    assert not SANITIZER_RE.search(s.stderr), s.stderr
    assert s.proc.returncode != 66


# ---- files, curl, pins ----

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("www")
    (d / "big.bin").write_bytes(payload(5 * 1024 * 1024 + 3, 9))
    (d / "small.txt").write_text("small file\n")
    return d


def curl(*args, timeout=60):
    p = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("model", ["epoll", "uring", "thread", "fork"])
def test_http_files_and_ranges_with_curl(server, site, pki, model):
    if model not in MODELS:
        pytest.skip(f"{model} not available here")
    s = tls_server(server, "http", model, "-q", "--root", str(site), "--tls-cert",
                   str(pki / "srv.pem"), "--tls-key", str(pki / "srv.key"))
    url = f"https://127.0.0.1:{s.port}"
    big = (site / "big.bin").read_bytes()
    assert curl("--cacert", str(pki / "ca.pem"), f"{url}/big.bin") == big
    assert curl("--cacert", str(pki / "ca.pem"), "-r", "10-20", f"{url}/big.bin") == big[10:21]
    assert curl("--cacert", str(pki / "ca.pem"), "-r", "-4", f"{url}/big.bin") == big[-4:]
    # --pinnedpubkey: the SHA-256 of the server's public key, no CA at all.
    spki = subprocess.run(
        "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der".format(
            pki / "srv.pem"), shell=True, capture_output=True, timeout=30).stdout
    pin = "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode()
    assert curl("-k", "--pinnedpubkey", pin, f"{url}/small.txt") == b"small file\n"
    p = subprocess.run(["curl", "-sS", "-k", "--pinnedpubkey", "sha256//" + "A" * 43 + "=",
                        f"{url}/small.txt"], capture_output=True, timeout=30)
    assert p.returncode != 0
    # Several files on one keep-alive connection.
    out = curl("--cacert", str(pki / "ca.pem"), f"{url}/small.txt", f"{url}/big.bin")
    assert out == b"small file\n" + big


def test_http_ephemeral_cert_names_the_address(server):
    """Bare --tls: the certificate names 127.0.0.1 and localhost, so a client
    that trusts it (by pin: its fingerprint) also matches the host name."""
    s = tls_server(server, "http", None, "-q")
    pem = ssl.get_server_certificate(("127.0.0.1", s.port))
    der = ssl.PEM_cert_to_DER_cert(pem)
    assert fp_of(der) == s.fp
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem.encode(),
                          capture_output=True, timeout=30).stdout.decode()
    assert "IP Address:127.0.0.1" in text and "DNS:localhost" in text
    assert "prime256v1" in text or "P-256" in text


# ---- interop ----

def test_socat_and_ncat_against_echo(server):
    s = tls_server(server, "echo")
    data = payload(300_000, 5)
    p = subprocess.run(["socat", "-t", "5", "-", f"OPENSSL:127.0.0.1:{s.port},verify=0"],
                       input=data, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data
    # ncat ends the session at its stdin's end; a line and a wait for it.
    p = subprocess.Popen(["ncat", "--ssl", "127.0.0.1", str(s.port)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        p.stdin.write(b"ncat says hi\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"ncat says hi\n"
    finally:
        p.kill()
        p.wait(10)
        p.stdin.close()
        p.stdout.close()


def test_sockit_connect_with_the_pin_from_the_listening_line(server):
    s = tls_server(server, "echo")
    p = run("connect", "--tls", "--pin", s.fp, "127.0.0.1", str(s.port), input="pinned\n",
            timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "pinned\n"
    wrong = "sha256:" + ":".join(["00"] * 32)
    p = run("connect", "--tls", "--pin", wrong, "127.0.0.1", str(s.port), input="x\n",
            timeout=30)
    assert p.returncode == 1 and "pin mismatch" in p.stderr


# ---- mutual TLS, versions, bad handshakes ----

@pytest.mark.parametrize("model", ["epoll", "thread"])
def test_mutual_tls(server, pki, model):
    s = tls_server(server, "echo", model, "--tls-client-ca", str(pki / "ca.pem"))
    ctx = client_ctx()
    ctx.load_cert_chain(pki / "client.pem", pki / "client.key")
    with tls_connect(s, ctx) as c:
        assert echo_exchange(c, b"with a certificate") == b"with a certificate"
    for cert in (None, "stranger"):
        ctx = client_ctx()
        if cert:
            ctx.load_cert_chain(pki / f"{cert}.pem", pki / f"{cert}.key")
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            with ctx.wrap_socket(socket.create_connection(s.addr, timeout=10)) as c:
                # TLS 1.3: the refusal may come with the first read.
                c.sendall(b"no")
                assert c.recv(10) == b""
                raise ConnectionError("closed")
    assert s.alive()


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_old_tls_versions_refused(server, version):
    s = tls_server(server, "echo")
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{s.port}", version,
                        "-cipher", "DEFAULT:@SECLEVEL=0"], input=b"", capture_output=True,
                       timeout=30)
    assert p.returncode != 0
    assert b"no peer certificate available" in p.stdout
    # TLS 1.2 is accepted.
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{s.port}", "-tls1_2"],
                       input=b"", capture_output=True, timeout=30)
    assert p.returncode == 0 and b"TLSv1.2" in p.stdout


@pytest.mark.parametrize("model", MODELS)
def test_slow_and_garbage_handshakes_while_a_good_client_is_served(server, model):
    if model == "iterative":
        pytest.skip("iterative serves one client at a time: a slow handshake holds it")
    s = tls_server(server, "echo", model, "--handshake-timeout", "1")
    slow = socket.create_connection(s.addr, timeout=10)  # says nothing
    garbage = []
    for _ in range(5):
        g = socket.create_connection(s.addr, timeout=10)
        g.sendall(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(200))
        garbage.append(g)
    with tls_connect(s) as c:
        assert echo_exchange(c, b"served meanwhile") == b"served meanwhile"
    for g in garbage:  # closed at once (maybe after an alert)
        g.settimeout(10)
        try:
            while g.recv(4096):
                pass
        except ConnectionResetError:
            pass
        g.close()
    start = time.monotonic()
    slow.settimeout(10)
    assert slow.recv(10) == b""  # the handshake timeout closed it
    assert time.monotonic() - start < 5
    slow.close()
    with tls_connect(s) as c:
        assert echo_exchange(c, b"still served") == b"still served"
    s.stop()
    lines = [l for l in s.stderr.splitlines() if "TLS handshake" in l]
    assert 1 <= len(lines) <= 3, s.stderr  # rate-limited: not one per client


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.parametrize("model", ["epoll", "uring", "thread"])
@pytest.mark.parametrize("build", ["release", "sanitized"])
def test_failed_handshakes_leave_nothing_behind(server, model, build):
    """1,000 failed handshakes (garbage, broken records) on the release build:
    descriptors back to where they were, resident memory within 8 MiB. The
    sanitized build (whose allocator quarantines freed memory, so its RSS
    says nothing) does 300: descriptors, and LeakSanitizer at the stop."""
    if model not in MODELS:
        pytest.skip(f"{model} not available here")
    release = build == "release"
    s = tls_server(server, "echo", model, "-q", binary=SOCKIT_RELEASE if release else None)
    n = 1000 if release else 300

    def fail_some(k):
        for i in range(k):
            c = socket.create_connection(s.addr, timeout=10)
            if i % 2:
                c.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(64))  # a broken record
            else:
                c.sendall(os.urandom(100))
            try:
                c.settimeout(10)
                while c.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
            c.close()

    fail_some(100)  # warm up: allocator pools, OpenSSL's caches
    time.sleep(0.5)
    fds, rss = fd_count(s.pid), proc_status_kb(s.pid)
    deadline = time.monotonic() + 120
    done = 0
    while done < n and time.monotonic() < deadline:
        fail_some(100)
        done += 100
    time.sleep(0.5)
    assert done == n, f"only {done} failed handshakes in 120 s"
    assert fd_count(s.pid) == fds
    if release:
        assert proc_status_kb(s.pid) - rss < 8 * 1024, "memory grew by more than 8 MiB"
    with tls_connect(s) as c:
        assert echo_exchange(c, b"ok") == b"ok"
    assert s.stop() == 0
    assert f"stopped: {n + 101} connections" in s.stdout_rest, s.stdout_rest


def test_tls_usage_errors():
    for args, why in ((["echo", "-u", "--tls"], "stream"),
                      (["echo", "--tls-cert", "x.pem", "--tls-key", "x.key"], "--tls"),
                      (["echo", "--tls", "--tls-cert", "x.pem"], "together"),
                      (["echo", "--handshake-timeout", "3"], "--tls")):
        p = run("serve", *args, "-p", "0")
        assert p.returncode == 2, (args, p.stderr)
        assert why in p.stderr
    p = run("serve", "echo", "--tls", "--tls-cert", "/nonexistent.pem", "--tls-key",
            "/nonexistent.key", "-p", "0")
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
