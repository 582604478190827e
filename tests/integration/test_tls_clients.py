"""TLS in the interactive clients: `sockit chat --tls` and `sockit p2p`
with TLS at both ends. The listening p2p side shows its ephemeral
certificate's fingerprint (or uses --tls-cert/--tls-key); the connecting
side verifies as `connect --tls` does (--pin, --ca, the system store,
--insecure). Real peers: `sockit serve chat --tls`, `openssl s_server` and
`openssl s_client`, tmux for a person at the keyboard. A verification
failure is one line naming the reason, exit 1, and nothing typed reaches
the other side."""
import re
import shutil
import ssl
import subprocess
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT
from test_chat import MODELS
from test_chat_tty import last, p2p_talk_and_leave, tmux  # noqa: F401 (the tmux fixture)
from test_tls import FAILURES, openssl_fp, pki, s_server  # noqa: F401 (fixtures)
from test_tls_serve import fp_of, tls_server

P2P_RE = re.compile(r"p2p listening on 127\.0\.0\.1:(\d+) .*\(tls\) "
                    r"(sha256:(?:[0-9A-F]{2}:){31}[0-9A-F]{2}), waiting for a peer")
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
needs_chat = pytest.mark.skipif(not MODELS, reason="no model of this build carries chat yet")


class P2PListener:
    """`sockit p2p --listen 0 --tls ...` with piped standard input (kept open
    until stop()); its port and fingerprint from the listening line."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen([SOCKIT, "p2p", "--listen", "0", "--tls", *extra],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        line = self.proc.stdout.readline().decode()
        m = P2P_RE.search(line)
        if not m:
            self.stop()
            raise AssertionError(f"no listening line: {line!r}")
        self.port, self.fp = m.group(1), m.group(2)

    def stop(self, timeout=15):
        """Wait for the end (a bounded wait, then SIGKILL by PID); returns
        (status, stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=5)
        err = err.decode(errors="replace")
        assert not SANITIZER_RE.search(err), err
        return self.proc.returncode, out.decode(errors="replace"), err


@pytest.fixture
def p2p_listener():
    started = []

    def start(*extra):
        p = P2PListener(*extra)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(timeout=5)


def sockit(*args, input=b"", timeout=30):
    p = subprocess.run([SOCKIT, *args], input=input, capture_output=True, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    assert not SANITIZER_RE.search(err), err
    return p.returncode, p.stdout.decode(errors="replace"), err


@needs_tmux
def test_p2p_both_ends_tls_pinned_in_tmux(tmux):  # noqa: F811
    tmux.start("l", [SOCKIT, "p2p", "--listen", "0", "--tls"])
    lines = tmux.wait_text("l", "waiting for a peer")
    m = P2P_RE.search("".join(lines))  # the line wraps in the pane
    assert m, lines
    port, fp = m.group(1), m.group(2)
    tmux.start("c", [SOCKIT, "p2p", "127.0.0.1", port, "--pin", fp])
    tmux.wait_text("c", f"*** connected with 127.0.0.1:{port} (tls)")
    tmux.wait_text("l", "*** connected with 127.0.0.1:")
    p2p_talk_and_leave(tmux, "C-d")


def test_p2p_wrong_pin_is_one_line_and_sends_nothing(p2p_listener):
    lst = p2p_listener()
    rc, out, err = sockit("p2p", "127.0.0.1", lst.port, "--pin", "sha256:" + "AB" * 32,
                          input=b"SECRET-0451\n")
    assert rc == 1, err
    assert err.splitlines() == [
        f"sockit: p2p: 127.0.0.1 port {lst.port}: certificate verification failed: pin "
        f"mismatch (the server's certificate is {lst.fp})"], err
    assert out == ""
    # The listening side: the peer's handshake failed; one line, exit 1.
    rc, out, err = lst.stop()
    assert rc == 1, err
    assert "SECRET" not in out
    assert len(err.splitlines()) == 1 and "sockit: p2p: the peer's TLS handshake: " in err, err


def test_p2p_ephemeral_certificate_is_self_signed_for_the_system_store(p2p_listener):
    lst = p2p_listener()
    rc, out, err = sockit("p2p", "127.0.0.1", lst.port, "--tls", input=b"SECRET\n")
    assert rc == 1 and "self-signed certificate" in err and len(err.splitlines()) == 1, err
    assert "SECRET" not in lst.stop()[1]


def test_p2p_given_certificate_verified_with_ca(p2p_listener, pki):  # noqa: F811
    lst = p2p_listener("--tls-cert", str(pki / "good.pem"), "--tls-key", str(pki / "good.key"))
    assert lst.fp == openssl_fp(pki / "good.pem")
    rc, out, err = sockit("p2p", "127.0.0.1", lst.port, "--ca", str(pki / "ca.pem"),
                          input=b"hello with a ca\n")
    assert rc == 0, err
    rc, out, err = lst.stop()
    assert rc == 0, err
    assert "<peer> hello with a ca" in out
    assert "*** the peer left" in out


def test_p2p_listener_with_openssl_s_client(p2p_listener):
    lst = p2p_listener()
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{lst.port}", "-quiet",
                        "-no_ign_eof"],
                       input=b"hi from s_client\n", capture_output=True, timeout=30)
    rc, out, err = lst.stop()
    assert "<peer> hi from s_client" in out, (out, err, p.stderr)
    assert rc == 0, err
    # s_client saw the certificate whose fingerprint the listening line showed.
    assert b"self-signed certificate" in p.stderr or b"verify error" in p.stderr, p.stderr


def test_p2p_tls_bad_arguments_exit_2():
    for args, why in ((["--listen", "0", "--pin", "sha256:" + "AB" * 32], "connecting side"),
                      (["--listen", "0", "--tls-cert", "x.pem"], "go together"),
                      (["127.0.0.1", "1", "--pin", "nonsense"], "--pin nonsense"),
                      (["127.0.0.1", "1", "--pin", "sha256:" + "AB" * 32, "--insecure"],
                       "exclude each other")):
        rc, out, err = sockit("p2p", *args)
        assert rc == 2 and why in err, (args, err)


@needs_chat
@needs_tmux
def test_chat_tls_against_serve_chat_tls_in_tmux(server, tmux):  # noqa: F811
    srv = tls_server(server, "chat", MODELS[0])
    tmux.start("a", [SOCKIT, "chat", "127.0.0.1", str(srv.port), "--pin", srv.fp, "--nick",
                     "alice"])
    tmux.wait("a", lambda ls: last(ls) == "alice>")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    import socket
    with ctx.wrap_socket(socket.create_connection(srv.addr, timeout=10)) as bob:
        assert fp_of(bob.getpeercert(binary_form=True)) == srv.fp
        bob.sendall(b"bob\n")
        buf = b""
        deadline = time.monotonic() + 10
        while b"Welcome, bob" not in buf and time.monotonic() < deadline:
            buf += bob.recv(4096)
        bob.sendall(b"hello alice, encrypted\n")
        tmux.wait_text("a", "<bob> hello alice, encrypted")
        tmux.type("a", "hi bob")
        tmux.keys("a", "Enter")
        while b"<alice> hi bob" not in buf and time.monotonic() < deadline:
            buf += bob.recv(4096)
        assert b"<alice> hi bob" in buf, buf
        tmux.type("a", "/quit")
        tmux.keys("a", "Enter")
        tmux.wait_text("a", "EXIT=0")


@needs_chat
def test_chat_tls_wrong_pin_against_serve_chat(server):
    srv = tls_server(server, "chat", MODELS[0])
    rc, out, err = sockit("chat", "127.0.0.1", str(srv.port), "--pin", "sha256:" + "AB" * 32,
                          "--nick", "mallory", input=b"SECRET\n")
    assert rc == 1, err
    assert err.splitlines() == [
        f"sockit: chat: 127.0.0.1 port {srv.port}: certificate verification failed: pin "
        f"mismatch (the server's certificate is {srv.fp})"], err


def test_chat_tls_against_openssl_s_server(pki, s_server):  # noqa: F811
    srv = s_server("good")
    rc, out, err = sockit("chat", "localhost", srv.port, "-4", "--ca", str(pki / "ca.pem"),
                          "--nick", "alice", input=b"hello s_server\n")
    assert rc in (0, 1), err  # s_server does not close: the client leaves after its wait
    assert srv.wait_for(b"hello s_server")
    got = srv.stop()
    assert "/nick alice" in got and "/quit" in got, got


@pytest.mark.parametrize("cert,opts,reason", FAILURES,
                         ids=[f"{c}-{r.split()[0]}" for c, _, r in FAILURES])
def test_chat_verification_failure_is_one_line_and_sends_nothing(pki, s_server, cert, opts,  # noqa: F811
                                                                 reason):
    srv = s_server(cert)
    opts = [o.format(pki=pki) for o in opts]
    rc, out, err = sockit("chat", "127.0.0.1", srv.port, *opts, "--nick", "alice",
                          input=b"SECRET-0451\n")
    assert rc == 1, err
    assert err.splitlines()[0].startswith(
        f"sockit: chat: 127.0.0.1 port {srv.port}: certificate verification failed: " +
        reason), err
    assert len(err.splitlines()) == 1, err
    assert out == ""
    time.sleep(0.2)
    got = srv.stop()
    assert "SECRET" not in got and "/nick" not in got, got


# ---- bench over TLS ----

def bench(*args, timeout=60):
    rc, out, err = sockit("bench", *args, timeout=timeout)
    return rc, out, err


def bench_json(*args):
    import json
    rc, out, err = bench(*args, "--json")
    return rc, json.loads(out.strip().splitlines()[-1]), err


def test_bench_https_against_serve_http_tls(server):
    s = tls_server(server, "http", None, "-q")
    url = f"https://127.0.0.1:{s.port}/"
    rc, d, err = bench_json("http", url, "--pin", s.fp, "-c", "4", "-n", "300")
    assert rc == 0, err
    assert d["requests"] == 300, d
    assert d["errors_total"] == 0, d
    assert d["tls"]["handshakes"] == 4 and d["tls"]["first_failure"] is None, d
    # Keep-alive: one handshake per connection; --no-keepalive: one per request.
    rc, d, err = bench_json("http", url, "--pin", s.fp, "-c", "2", "-n", "40", "--no-keepalive")
    assert rc == 0, err
    assert d["requests"] == 40 and d["errors_total"] == 0, d
    assert d["tls"]["handshakes"] >= 40, d


def test_bench_https_through_a_socks_proxy(server):
    """bench --proxy with https://: the TLS handshake runs inside the tunnel
    (after the proxy's), every request answered."""
    s = tls_server(server, "http", None, "-q")
    socks = server("socks", "-p", "0", "-q")
    rc, d, err = bench_json("http", f"https://127.0.0.1:{s.port}/", "--pin", s.fp, "-c", "2",
                            "-n", "100", "--proxy", f"socks5://127.0.0.1:{socks.port}")
    assert rc == 0, err
    assert d["requests"] == 100 and d["errors_total"] == 0, d
    assert d["tls"]["handshakes"] == 2, d


def test_bench_https_pin_and_ca_failures_are_counted_and_named(server, pki):  # noqa: F811
    s = tls_server(server, "http", None, "-q", "--tls-cert", str(pki / "good.pem"), "--tls-key",
                   str(pki / "good.key"))
    url = f"https://127.0.0.1:{s.port}/"
    rc, d, err = bench_json("http", url, "--ca", str(pki / "ca.pem"), "-c", "2", "-n", "20")
    assert rc == 0 and d["requests"] == 20 and d["errors_total"] == 0, (d, err)
    for opts, reason in ((["--pin", "sha256:" + "AB" * 32], "pin mismatch"),
                         (["--tls"], "unknown CA"),
                         (["--ca", str(pki / "otherca.pem")], "unknown CA")):
        rc, d, err = bench_json("http", url, *opts, "-c", "2", "-d", "300ms")
        assert rc == 1, err
        assert d["requests"] == 0 and d["errors"]["tls"] >= 2, d
        assert reason in d["tls"]["first_failure"], d
        assert err.startswith("sockit: bench http: no reply came back; errors: tls "), err
        assert f"(first: certificate verification failed: {reason}" in err, err
        assert len(err.splitlines()) == 1, err


def test_bench_echo_tls_byte_checked(server):
    s = tls_server(server, "echo", None)
    rc, d, err = bench_json("echo", "127.0.0.1", str(s.port), "--pin", s.fp, "-c", "3", "-n",
                            "600", "-s", "3000", "-P", "2")
    assert rc == 0, err
    assert d["requests"] == 600 and d["errors_total"] == 0, d
    assert d["bytes_in"] == 600 * 3000, d
    # The system's store does not know the ephemeral certificate.
    rc, out, err = bench("echo", "127.0.0.1", str(s.port), "--tls", "-c", "1", "-d", "300ms",
                         "-q")
    assert rc == 1 and "self-signed certificate" in err, err


def test_bench_tls_handshake_bounded_by_timeout(server):
    """A server that never answers the ClientHello (plain discard): each
    handshake ends at --timeout as a tls error, and the run ends on time."""
    s = server("discard", "-p", "0", "-b", "127.0.0.1")
    t0 = time.monotonic()
    rc, d, err = bench_json("echo", "127.0.0.1", str(s.port), "--tls", "--insecure", "-c", "2",
                            "-d", "1s", "--timeout", "200ms")
    assert time.monotonic() - t0 < 15
    assert rc == 1 and d["requests"] == 0 and d["errors"]["tls"] >= 2, (d, err)
    assert d["tls"]["first_failure"] == "the TLS handshake timed out", d


def test_bench_tls_bad_arguments_exit_2():
    for args, why in ((["echo", "127.0.0.1", "7", "-u", "--tls"], "TLS is for TCP"),
                      (["http", "https://127.0.0.1:1/", "--pin", "nonsense"], "--pin nonsense"),
                      (["http", "ftp://127.0.0.1/"], "only http:// and https://"),
                      (["models", "echo", "--tls", "--insecure"], "only --tls")):
        rc, out, err = bench(*args)
        assert rc == 2 and why in err, (args, err)


def test_bench_models_tls():
    import json
    rc, out, err = sockit("bench", "models", "http", "--tls", "--models", "epoll", "-c", "2",
                          "-d", "300ms", "--json", "--out", "/tmp/sockit-test-tls-models",
                          timeout=60)
    assert rc == 0, err
    d = json.loads(out)
    assert d["tls"] is True
    (p,) = d["points"]
    assert p["ok"] and p["requests"] > 0 and p["errors"] == 0, p
    shutil.rmtree("/tmp/sockit-test-tls-models", ignore_errors=True)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_bench_https_against_nginx(tmp_path):
    import socket
    rc, out, err = sockit("cert", "--name", "127.0.0.1", "--out", str(tmp_path))
    assert rc == 0, err
    fp = out.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "n").mkdir()
    t = tmp_path
    (t / "nginx.conf").write_text(f"""worker_processes 1; daemon off; master_process off;
error_log {t}/n/error.log crit; pid {t}/n/nginx.pid;
events {{ worker_connections 256; }}
http {{ access_log off; client_body_temp_path {t}/n; proxy_temp_path {t}/n;
  fastcgi_temp_path {t}/n; uwsgi_temp_path {t}/n; scgi_temp_path {t}/n;
  server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {t}/cert.pem;
    ssl_certificate_key {t}/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
    location / {{ default_type text/plain; return 200 "Hello, World!"; }} }} }}
""")
    ng = subprocess.Popen(["nginx", "-c", str(t / "nginx.conf"), "-p", str(t / "n")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and ng.poll() is None, "nginx did not start"
                time.sleep(0.05)
        url = f"https://127.0.0.1:{port}/"
        rc, d, err = bench_json("http", url, "--pin", fp, "-c", "4", "-n", "200")
        assert rc == 0 and d["requests"] == 200 and d["errors_total"] == 0, (d, err)
        rc, d, err = bench_json("http", url, "--pin", fp, "-c", "2", "-n", "20",
                                "--no-keepalive")
        assert rc == 0 and d["requests"] == 20 and d["errors_total"] == 0, (d, err)
        assert d["tls"]["handshakes"] >= 20, d
    finally:
        ng.kill()
        ng.wait(timeout=10)


def test_serve_tls_session_resumes_by_ticket(server):
    """The server sends one ticket per handshake (not OpenSSL's two); a
    client that keeps it resumes, and resuming gives it a fresh one."""
    import socket
    s = tls_server(server, "echo", None)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sess = None
    for i in range(3):
        with ctx.wrap_socket(socket.create_connection(s.addr, timeout=10),
                             session=sess) as c:
            c.sendall(b"ping\n")
            assert c.recv(16) == b"ping\n"  # the ticket came before the echo
            assert c.session_reused == (i > 0), i
            assert c.session is not None and c.session.has_ticket
            sess = c.session


def test_bench_urls_one_scheme_per_run(tmp_path):
    urls = tmp_path / "urls"
    urls.write_text("https://127.0.0.1:1/a\nhttp://127.0.0.1:1/b\n")
    rc, out, err = bench("http", "--urls", str(urls), "--insecure")
    assert rc == 2 and ":2: http, not https as the target (one scheme per run)" in err, err
