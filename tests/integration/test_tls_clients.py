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
from test_chat_tty import last, tmux  # noqa: F401 (the tmux fixture)
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
    tmux.type("l", "half a li")
    tmux.wait("l", lambda ls: last(ls) == "p2p> half a li")
    tmux.type("c", "over tls \x1b[2J")
    tmux.keys("c", "Enter")
    lines = tmux.wait("l", lambda ls: any("<peer> over tls" in l for l in ls))
    assert last(lines) == "p2p> half a li"
    tmux.type("l", "ne")
    tmux.keys("l", "Enter")
    tmux.wait_text("c", "<peer> half a line")
    tmux.keys("c", "C-d")
    lines = tmux.wait_text("c", "EXIT=0")
    assert any("*** you left" in l for l in lines)
    lines = tmux.wait_text("l", "EXIT=0")
    assert any("*** the peer left" in l for l in lines)


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
