"""TLS: `sockit cert` checked with `openssl x509` and used by `openssl
s_server`; `sockit connect --tls` against real TLS servers (`openssl s_server`
and Python's ssl) with a throwaway CA made here with openssl: a good
certificate, an expired one, a wrong host name, an unknown CA, a self-signed
one, a pin, --insecure, a client certificate the server requires, a server
that speaks only TLS 1.1; each failure is one line naming the reason, exit 1,
and nothing of standard input reaches the server. Data is byte-exact both
ways from 1 B to a few MiB, under TLS 1.2 and 1.3."""
import os
import re
import select
import signal
import socket
import ssl
import stat
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT, free_port, run

FP_RE = re.compile(r"^sha256:(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$")


def openssl(*args, cwd=None, input=None):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                       input=input, timeout=30)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def openssl_fp(cert):
    out = openssl("x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256")
    return "sha256:" + out.strip().split("=", 1)[1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throwaway CA and certificates it (or nobody) signed, all ECDSA P-256."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def ca(name):
        openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.pem",
                "-subj", f"/CN=sockit test {name}", "-days", "2", cwd=d)

    def leaf(name, signer, san, days="2", usage="serverAuth"):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(
            f"subjectAltName={san}\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{signer}.pem", "-CAkey",
                f"{signer}.key", "-CAcreateserial", "-days", days, "-extfile", f"{name}.ext",
                "-out", f"{name}.pem", cwd=d)

    ca("ca")
    ca("otherca")
    leaf("good", "ca", "DNS:localhost,DNS:good.test,IP:127.0.0.1")
    # An intermediate CA, and a server and a client certificate under it.
    openssl("req", *ec, "-keyout", "inter.key", "-out", "inter.csr", "-subj", "/CN=inter",
            cwd=d)
    (d / "inter.ext").write_text("basicConstraints=critical,CA:TRUE\n"
                                 "keyUsage=critical,keyCertSign,cRLSign\n")
    openssl("x509", "-req", "-in", "inter.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "inter.ext", "-out", "inter.pem", cwd=d)
    leaf("chained", "inter", "DNS:localhost,IP:127.0.0.1")
    leaf("chainclient", "inter", "DNS:client.test", usage="clientAuth")
    (d / "chainclient-chain.pem").write_text((d / "chainclient.pem").read_text() +
                                             (d / "inter.pem").read_text())
    leaf("expired", "ca", "DNS:localhost,IP:127.0.0.1", days="-1")
    leaf("wrongname", "ca", "DNS:other.test")
    leaf("stranger", "otherca", "DNS:localhost,IP:127.0.0.1")
    leaf("client", "ca", "DNS:client.test", usage="clientAuth")
    openssl("req", "-x509", *ec, "-keyout", "selfsigned.key", "-out", "selfsigned.pem",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-days", "2", cwd=d)
    return d


class SServer:
    """`openssl s_server` on 127.0.0.1, port 0, read from its ACCEPT line.
    Its standard input stays open (on EOF it would drop the connection);
    stop() ends it by PID and returns what it printed."""

    def __init__(self, pki, cert, *extra):
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", str(pki / f"{cert}.pem"),
             "-key", str(pki / f"{cert}.key"), *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.out = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = re.search(rb"ACCEPT 127\.0\.0\.1:(\d+)", self.out)
            if m:
                self.port = m.group(1).decode()
                return
            self._read(0.2)
        self.stop()
        raise AssertionError(f"s_server did not start: {self.out!r}")

    def _read(self, timeout):
        fd = self.proc.stdout.fileno()
        if select.select([fd], [], [], timeout)[0]:
            chunk = os.read(fd, 65536)
            self.out += chunk
            return chunk
        return None

    def wait_for(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        while needle not in self.out and time.monotonic() < deadline:
            if self._read(0.1) == b"":
                break
        return needle in self.out

    def stop(self):
        if self.proc.stdout.closed:
            return self.out.decode(errors="replace")
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        rest = self.proc.stdout.read() or b""
        self.out += rest
        self.proc.stdin.close()
        self.proc.stdout.close()
        return self.out.decode(errors="replace")


@pytest.fixture
def s_server(pki):
    started = []

    def start(cert, *extra, where=None):
        s = SServer(where or pki, cert, *extra)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def connect(*args, input=b"", timeout=30, env=None):
    p = subprocess.run([SOCKIT, "connect", *args], input=input, capture_output=True,
                       timeout=timeout, env=env)
    err = p.stderr.decode(errors="replace")
    assert not SANITIZER_RE.search(err), err
    return p.returncode, p.stdout, err


GET = b"GET / HTTP/1.0\r\n\r\n"


# ---- sockit cert ----

def test_cert_writes_a_pair_openssl_reads(tmp_path):
    out = tmp_path / "tls"
    p = run("cert", "--name", "example.test", "--name", "192.0.2.7", "--name", "::1",
            "--days", "10", "--out", str(out))
    assert p.returncode == 0, p.stderr
    fp = p.stdout.strip()
    assert FP_RE.match(fp), p.stdout
    cert, key = out / "cert.pem", out / "key.pem"
    assert fp == openssl_fp(cert)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    text = openssl("x509", "-in", str(cert), "-noout", "-text")
    assert "DNS:example.test" in text and "IP Address:192.0.2.7" in text, text
    assert "IP Address:0:0:0:0:0:0:0:1" in text, text
    assert "Subject: CN = example.test" in text, text
    assert "id-ecPublicKey" in text and "P-256" in text, text
    assert "Version: 3" in text, text
    assert "ecdsa-with-SHA256" in text, text
    # Valid now, for 10 days (from an hour ago, against clock skew), not 11.
    openssl("x509", "-in", str(cert), "-noout", "-checkend", str(9 * 86400))
    p2 = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-checkend",
                         str(10 * 86400)], capture_output=True, text=True)
    assert p2.returncode == 1, p2.stdout
    assert "ASN1 OID: prime256v1" in openssl("pkey", "-in", str(key), "-noout", "-text")
    # The key belongs to the certificate.
    assert openssl("x509", "-in", str(cert), "-noout", "-pubkey") == \
        openssl("pkey", "-in", str(key), "-pubout")


def test_cert_default_names_and_never_replaces(tmp_path):
    p = run("cert", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    text = openssl("x509", "-in", str(tmp_path / "cert.pem"), "-noout", "-ext",
                   "subjectAltName")
    for name in ("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                 f"DNS:{socket.gethostname()}"):
        assert name in text, text
    before = (tmp_path / "cert.pem").read_bytes(), (tmp_path / "key.pem").read_bytes()
    p = run("cert", "--out", str(tmp_path))
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "exists" in p.stderr, p.stderr
    assert before == ((tmp_path / "cert.pem").read_bytes(), (tmp_path / "key.pem").read_bytes())


@pytest.mark.parametrize("args", [
    ["--name", "a,DNS:evil.test"], ["--name", "bad name"], ["--days", "0"],
    ["--days", "x"], ["--bogus"], ["extra"],
])
def test_cert_bad_arguments_exit_2(tmp_path, args):
    p = run("cert", "--out", str(tmp_path), *args)
    assert p.returncode == 2, p
    assert p.stderr.startswith("sockit: cert: "), p.stderr
    assert not os.path.exists(tmp_path / "key.pem")


def test_cert_pair_served_by_openssl_s_server_and_pinned(tmp_path, s_server):
    p = run("cert", "--out", str(tmp_path))
    fp = p.stdout.strip()
    os.rename(tmp_path / "cert.pem", tmp_path / "mine.pem")
    os.rename(tmp_path / "key.pem", tmp_path / "mine.key")
    srv = s_server("mine", "-www", where=tmp_path)
    rc, out, err = connect("--pin", fp, "127.0.0.1", srv.port, input=GET)
    assert rc == 0, err
    assert out.startswith(b"HTTP/1.0 200 ok"), out[:200]
    # The certificate also verifies as its own trust anchor, by name.
    rc, out, err = connect("--ca", str(tmp_path / "mine.pem"), "--sni", "localhost",
                           "127.0.0.1", srv.port, input=GET)
    assert rc == 0 and out.startswith(b"HTTP/1.0 200 ok"), err


# ---- connect --tls: verification ----

def test_good_certificate_by_address_and_by_name(pki, s_server):
    srv = s_server("good", "-www")
    for host, extra in (("127.0.0.1", []), ("localhost", ["-4"]),
                        ("127.0.0.1", ["--sni", "good.test"])):
        rc, out, err = connect("--ca", str(pki / "ca.pem"), *extra, host, srv.port, input=GET)
        assert rc == 0, err
        assert out.startswith(b"HTTP/1.0 200 ok"), out[:200]
        assert b"TLSv1.3" in out  # s_server -www reports the session
        assert err == "", err


def test_default_is_the_system_store(pki, s_server):
    """Bare --tls trusts OpenSSL's default store, which SSL_CERT_FILE points
    elsewhere: with our CA there, the server verifies; by name too."""
    srv = s_server("good", "-www")
    env = dict(os.environ, SSL_CERT_FILE=str(pki / "ca.pem"))
    rc, out, err = connect("--tls", "127.0.0.1", srv.port, input=GET, env=env)
    assert rc == 0, err
    assert out.startswith(b"HTTP/1.0 200 ok")
    rc, out, err = connect("--tls", "--sni", "wrong.test", "127.0.0.1", srv.port, input=GET,
                           env=env)
    assert rc == 1 and "host name mismatch" in err, err


def test_verbose_names_version_and_fingerprint(pki, s_server):
    srv = s_server("good", "-www")
    rc, out, err = connect("-v", "--ca", str(pki / "ca.pem"), "127.0.0.1", srv.port, input=GET)
    assert rc == 0, err
    assert f"TLSv1.3, server certificate {openssl_fp(pki / 'good.pem')}" in err, err


FAILURES = [
    # (server certificate, client options, the reason named)
    ("expired", ["--ca", "{pki}/ca.pem"], "certificate expired"),
    ("wrongname", ["--ca", "{pki}/ca.pem"], "host name mismatch"),
    ("good", ["--ca", "{pki}/ca.pem", "--sni", "other.test"], "host name mismatch"),
    ("stranger", ["--ca", "{pki}/ca.pem"], "unknown CA"),
    ("good", ["--tls"], "unknown CA"),  # the system's store does not know our CA
    ("selfsigned", ["--tls"], "self-signed certificate"),
    ("selfsigned", ["--ca", "{pki}/ca.pem"], "self-signed certificate"),
    ("good", ["--pin", "sha256:" + "AB" * 32], "pin mismatch"),
]


@pytest.mark.parametrize("cert,opts,reason", FAILURES,
                         ids=[f"{c}-{r.split()[0]}" for c, _, r in FAILURES])
def test_verification_failure_is_one_line_and_sends_nothing(pki, s_server, cert, opts, reason):
    srv = s_server(cert)
    opts = [o.format(pki=pki) for o in opts]
    rc, out, err = connect(*opts, "127.0.0.1", srv.port, input=b"SECRET-0451\n")
    assert rc == 1, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"sockit: connect: 127.0.0.1 port {srv.port}: "
                               "certificate verification failed: " + reason), err
    assert out == b""
    time.sleep(0.3)
    srv._read(0.2)
    assert b"SECRET" not in srv.stop().encode()
    if reason == "pin mismatch":
        assert openssl_fp(pki / f"{cert}.pem") in err, err  # says what the server has


def test_pin_accepts_exactly_that_certificate(pki, s_server):
    # Self-signed and for another name: the pin alone decides.
    srv = s_server("wrongname", "-www")
    fp = openssl_fp(pki / "wrongname.pem")
    for pin in (fp, fp.lower().replace("sha256:", "SHA256:"), "sha256:" + fp[7:].replace(":", "")):
        rc, out, err = connect("--pin", pin, "127.0.0.1", srv.port, input=GET)
        assert rc == 0, err
        assert out.startswith(b"HTTP/1.0 200 ok")


def test_insecure_connects_and_says_so(pki, s_server):
    srv = s_server("selfsigned", "-www")
    rc, out, err = connect("--insecure", "127.0.0.1", srv.port, input=GET)
    assert rc == 0, err
    assert out.startswith(b"HTTP/1.0 200 ok")
    assert err == "sockit: connect: --insecure: the server's certificate is not verified\n"


def test_client_certificate_required_by_s_server(pki, s_server):
    srv = s_server("good", "-Verify", "1", "-verify_return_error", "-CAfile",
                   str(pki / "ca.pem"))
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "127.0.0.1", srv.port, input=b"nocert\n")
    assert rc == 1, err
    assert len(err.splitlines()) == 1 and "certificate" in err, err

    rc, out, err = connect("--ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "client.pem"),
                           "--tls-key", str(pki / "client.key"), "127.0.0.1", srv.port,
                           input=b"hello with a certificate\n")
    assert rc == 0, err
    assert srv.wait_for(b"hello with a certificate\n"), srv.out
    assert b"nocert" not in srv.out


def test_tls_1_1_only_server_is_refused(pki, s_server):
    legacy = ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]
    srv = s_server("good", *legacy)
    # The server does speak TLS 1.1 to a client that offers it...
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", *legacy],
                       input="", capture_output=True, text=True, timeout=20)
    assert "Protocol  : TLSv1.1" in p.stdout, p.stdout + p.stderr
    # ...and sockit will not.
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "127.0.0.1", srv.port, input=b"x\n")
    assert rc == 1
    assert len(err.splitlines()) == 1 and "TLS handshake failed" in err, err


@pytest.mark.parametrize("args,why", [
    (["--pin", "sha256:1234"], "--pin"),
    (["--pin", "md5:" + "00" * 16], "--pin"),
    (["--insecure", "--pin", "sha256:" + "00" * 32], "exclude"),
    (["--ca", "x.pem", "--insecure"], "exclude"),
    (["--tls-cert", "c.pem"], "--tls-key"),
    (["--tls", "-u"], "DTLS"),
    (["--sni", "not a name"], "--sni"),
])
def test_connect_tls_bad_arguments_exit_2(args, why):
    rc, out, err = connect(*args, "127.0.0.1", "9")
    assert rc == 2, err
    assert err.startswith("sockit: connect: ") and why in err, err


def test_missing_ca_file_is_one_line(tmp_path):
    rc, out, err = connect("--ca", str(tmp_path / "none.pem"), "127.0.0.1", "9")
    # The port may be closed: either failure is one line, exit 1.
    assert rc == 1 and len(err.splitlines()) == 1, err


# ---- connect --tls: data ----

class EchoTLS:
    """A TLS echo server in a thread (Python's ssl), one connection at a
    time; records whether each client ended with close_notify."""

    def __init__(self, pki, version=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki / "good.pem", pki / "good.key")
        if version:
            self.ctx.minimum_version = self.ctx.maximum_version = version
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.lsock.settimeout(30)
        self.port = str(self.lsock.getsockname()[1])
        self.clean = []
        self.versions = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                raw, _ = self.lsock.accept()
            except OSError:
                return
            raw.settimeout(30)
            try:
                s = self.ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
                self.versions.append(s.version())
                while True:
                    data = s.recv(65536)
                    if not data:
                        self.clean.append(True)  # close_notify
                        break
                    s.sendall(data)
                s.unwrap()
            except ssl.SSLEOFError:
                self.clean.append(False)
            except (OSError, ssl.SSLError):
                pass
            finally:
                raw.close()

    def close(self):
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)  # wakes the thread's accept()
        except OSError:
            pass
        self.lsock.close()
        self.thread.join(timeout=10)


@pytest.fixture
def echo_tls(pki):
    servers = []

    def start(version=None):
        e = EchoTLS(pki, version)
        servers.append(e)
        return e

    yield start
    for e in servers:
        e.close()


@pytest.mark.parametrize("size", [1, 1000, 65536 + 7, 3 * 1024 * 1024 + 13])
def test_byte_exact_both_ways(pki, echo_tls, size):
    srv = echo_tls()
    data = os.urandom(size)
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "127.0.0.1", srv.port, input=data,
                           timeout=60)
    assert rc == 0, err
    assert len(out) == size and out == data
    # Standard input's end was sent as close_notify, not a bare FIN.
    assert srv.clean == [True]


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_both_versions_carry_a_mebibyte(pki, echo_tls, version):
    srv = echo_tls(getattr(ssl.TLSVersion, version))
    data = os.urandom(1 << 20)
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "127.0.0.1", srv.port, input=data,
                           timeout=60)
    assert rc == 0, err
    assert out == data
    assert srv.versions == [version.replace("_", ".")]


# ---- echo-client --tls ----

def echo_client(*args, input="", timeout=60):
    p = subprocess.run([SOCKIT, "echo-client", *args], input=input, capture_output=True,
                       text=True, timeout=timeout)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


def test_echo_client_tls_scripted_and_large(pki, echo_tls):
    srv = echo_tls()
    p = echo_client("--ca", str(pki / "ca.pem"), "-m", "hello", "-m", "second message",
                    "127.0.0.1", srv.port)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^6 bytes from 127\.0\.0\.1:\d+: seq=1 time=[0-9.]+ ms: hello$",
                     p.stdout, re.M), p.stdout
    assert "2 requests, 2 answered, 0 lost (0.0%), 0 mismatched" in p.stdout, p.stdout
    # Generated messages larger than the socket buffers, each verified.
    p = echo_client("--ca", str(pki / "ca.pem"), "--count", "3", "--size", "2M", "-q",
                    "127.0.0.1", srv.port)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "3 requests, 3 answered, 0 lost (0.0%), 0 mismatched" in p.stdout, p.stdout
    assert srv.clean == [True, True]  # each session ended with close_notify


def test_echo_client_tls_interactive_piped(pki, echo_tls):
    srv = echo_tls()
    p = echo_client("--ca", str(pki / "ca.pem"), "127.0.0.1", srv.port, input="one\ntwo\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "one\ntwo\n", p.stdout


def test_echo_client_tls_failure_is_one_line(pki, s_server):
    srv = s_server("selfsigned")
    p = echo_client("--tls", "-m", "SECRET-7", "127.0.0.1", srv.port)
    assert p.returncode == 1
    assert p.stderr == (f"sockit: echo-client: 127.0.0.1 port {srv.port}: "
                        "certificate verification failed: self-signed certificate\n"), p.stderr
    assert p.stdout == ""
    assert b"SECRET" not in srv.stop().encode()
    p = echo_client("--tls", "-u", "127.0.0.1", srv.port)
    assert p.returncode == 2 and "--tls" in p.stderr, p.stderr


def test_verbose_tells_an_end_without_close_notify(pki):
    """A server that answers and drops the TCP connection without TLS
    close_notify: the bytes are printed and the end is an end (exit 0, as
    ncat and socat), but -v says it came without close_notify."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "good.pem", pki / "good.key")
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(2)
    lsock.settimeout(20)

    def serve(clean):
        raw, _ = lsock.accept()
        try:
            s = ctx.wrap_socket(raw, server_side=True)
            s.sendall(b"answer\n")
            if clean:
                s.unwrap()
        finally:
            raw.close()

    try:
        for clean in (False, True):
            t = threading.Thread(target=serve, args=(clean,), daemon=True)
            t.start()
            # Standard input stays open: the server's end is what ends it.
            p = subprocess.Popen([SOCKIT, "connect", "-v", "--ca", str(pki / "ca.pem"),
                                  "127.0.0.1", str(lsock.getsockname()[1])],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            killer = threading.Timer(20, p.kill)  # bounded even if it hangs
            killer.start()
            try:
                out = p.stdout.read()
                p.wait(timeout=20)
                err = p.stderr.read()
            finally:
                killer.cancel()
                if p.poll() is None:
                    p.kill()
                    p.wait()
                for f in (p.stdin, p.stdout, p.stderr):
                    f.close()
            t.join(timeout=10)
            err = err.decode()
            assert p.returncode == 0, err
            assert out == b"answer\n"
            assert "closed by the peer" in err, err
            assert ("without TLS close_notify" in err) == (not clean), err
    finally:
        lsock.close()


# ---- other TLS peers: socat and ncat ----

def wait_listening(port, proc, timeout=10):
    """Until something listens on 127.0.0.1:port (read from /proc, so no
    probe connection is spent), or proc ended."""
    want = f"0100007F:{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with open("/proc/net/tcp") as f:
            if any(l.split()[1] == want and l.split()[3] == "0A" for l in f.readlines()[1:]):
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def peer():
    procs = []

    def start(argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.stdin:
            p.stdin.close()
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)


def test_socat_tls_echo_byte_exact(pki, peer):
    port = free_port()
    srv = peer(["socat", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,"
                f"cert={pki}/good.pem,key={pki}/good.key,verify=0", "PIPE"],
               stderr=subprocess.DEVNULL)
    wait_listening(port, srv)
    data = os.urandom(1 << 20)
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "127.0.0.1", str(port), input=data)
    assert rc == 0, err
    assert out == data


def test_ncat_ssl_both_directions(pki, peer, tmp_path):
    """ncat closes the whole connection on close_notify, so each direction
    is tested on its own: ncat sends a file, then ncat receives one."""
    data = os.urandom(300 * 1024)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    ssl_opts = ["--ssl", "--ssl-cert", str(pki / "good.pem"), "--ssl-key", str(pki / "good.key")]

    port = free_port()
    with open(src, "rb") as f:
        srv = peer(["ncat", *ssl_opts, "--send-only", "-l", "127.0.0.1", str(port)], stdin=f,
                   stderr=subprocess.DEVNULL)
    wait_listening(port, srv)
    # Standard input stays open: ncat's end is what ends the session.
    p = subprocess.Popen([SOCKIT, "connect", "--ca", str(pki / "ca.pem"), "127.0.0.1",
                          str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    killer = threading.Timer(30, p.kill)
    killer.start()
    try:
        out = p.stdout.read()
        p.wait(timeout=30)
        err = p.stderr.read().decode()
    finally:
        killer.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            f.close()
    assert p.returncode == 0, err
    assert out == data

    port = free_port()
    dst = tmp_path / "dst.bin"
    with open(dst, "wb") as f:
        # ncat ends the session when its own standard input ends, even with
        # --recv-only: keep it open.
        srv = peer(["ncat", *ssl_opts, "--recv-only", "-l", "127.0.0.1", str(port)], stdout=f,
                   stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    wait_listening(port, srv)
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "127.0.0.1", str(port), input=data)
    assert rc == 0, err
    srv.wait(timeout=10)
    assert dst.read_bytes() == data


def test_handshake_bounded_by_wait():
    """A server that accepts and never answers the ClientHello: the handshake
    ends after -w, one line, exit 1, and standard input was never sent."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    try:
        rc, out, err = connect("--insecure", "-w", "1", "127.0.0.1",
                               str(lsock.getsockname()[1]), input=b"SECRET\n", timeout=20)
        assert rc == 1, err
        assert err.splitlines()[-1].endswith("TLS handshake timed out"), err
        conn, _ = lsock.accept()
        conn.settimeout(5)
        got = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
        conn.close()
        assert got[:1] == b"\x16"  # a TLS handshake record, the ClientHello
        assert b"SECRET" not in got
    finally:
        lsock.close()


def test_certificate_chains_both_ways(pki, s_server):
    """The server sends leaf + intermediate and the client trusts only the
    root; the client certificate is a chain file (leaf, intermediate) for a
    server that trusts only the root."""
    srv = s_server("chained", "-cert_chain", str(pki / "inter.pem"), "-Verify", "3",
                   "-verify_return_error", "-CAfile", str(pki / "ca.pem"))
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "--tls-cert",
                           str(pki / "chainclient-chain.pem"), "--tls-key",
                           str(pki / "chainclient.key"), "127.0.0.1", srv.port,
                           input=b"through two chains\n")
    assert rc == 0, err
    assert srv.wait_for(b"through two chains\n"), srv.out
    # The leaf alone is not enough for that server: the chain file mattered.
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "chainclient.pem"),
                           "--tls-key", str(pki / "chainclient.key"), "127.0.0.1", srv.port,
                           input=b"leaf only\n")
    assert rc == 1, err
    assert b"leaf only" not in srv.out
    # Without the intermediate the server cannot be verified: unknown CA.
    srv2 = s_server("chained")
    rc, out, err = connect("--ca", str(pki / "ca.pem"), "127.0.0.1", srv2.port, input=b"x\n")
    assert rc == 1 and "unknown CA" in err, err
