"""Socket activation and inetd: `serve` adopts the listening sockets systemd
passes (LISTEN_FDS/LISTEN_PID, checked) and serves them under the chosen
model; `--inetd` serves the one connection on standard input and exits.
Real peers: systemd-socket-activate (both modes) and openbsd-inetd."""
import getpass
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (SANITIZER_RE, SOCKIT, available_models, free_port, recv_exactly, recv_until_close,
                      run)

MODELS = available_models("tcp")
UDP_MODELS = available_models("udp")
SSA = shutil.which("systemd-socket-activate")
INETD = shutil.which("inetd") or (os.path.exists("/usr/sbin/inetd") and "/usr/sbin/inetd")

need_ssa = pytest.mark.skipif(not SSA, reason="systemd-socket-activate not installed (systemd)")
need_inetd = pytest.mark.skipif(not INETD, reason="inetd not installed (openbsd-inetd)")


class Proc:
    """A child started by the test, stopped by PID (then its group) at the end."""

    def __init__(self, argv, **kw):
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True, **kw)
        self.out = self.err = b""

    def wait_stderr(self, pattern, timeout=10):
        """Read stderr until pattern shows (the launcher says it listens)."""
        end = time.monotonic() + timeout
        fd = self.p.stderr.fileno()
        while time.monotonic() < end and not re.search(pattern, self.err):
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self.err += chunk
        assert re.search(pattern, self.err), self.err

    def stop(self):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGTERM)
                self.p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        out, err = self.p.communicate(timeout=10)
        self.out += out
        self.err += err
        return self.p.returncode


@pytest.fixture
def procs():
    started = []

    def start(argv, **kw):
        p = Proc(argv, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()
    for p in started:
        assert not SANITIZER_RE.search(p.err.decode(errors="replace")), p.err


def echo(addr, data=b"hello\n", family=socket.AF_INET, src=None):
    with socket.socket(family, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        if src:
            c.bind((src, 0))
        c.connect(addr)
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            return recv_until_close(c)
        except OSError:
            return b""


# ---- systemd: listening sockets passed (Accept=no) ----

@need_ssa
@pytest.mark.parametrize("model", MODELS)
def test_systemd_listening_socket_served_under_each_model(procs, model):
    port = free_port()
    p = procs([SSA, "-l", f"127.0.0.1:{port}", SOCKIT, "serve", "echo", "--model", model])
    p.wait_stderr(rb"Listening on 127\.0\.0\.1:\d+ as 3")
    # The first connection makes the launcher exec sockit on the socket.
    for i in range(5):
        assert echo(("127.0.0.1", port), b"x%d\n" % i) == b"x%d\n" % i
    assert p.p.poll() is None
    assert p.stop() == 0
    first = p.out.decode().splitlines()[0]
    assert f"listening on 127.0.0.1:{port}" in first and f"model {model}" in first, p.out
    assert "5 connections" in p.out.decode()


@need_ssa
def test_systemd_two_sockets_v4_and_v6(procs):
    port = free_port()
    p = procs([SSA, "-l", f"127.0.0.1:{port}", "-l", f"[::1]:{port}", "--fdname=v4:v6",
               SOCKIT, "serve", "echo", "--model", "epoll"])
    p.wait_stderr(rb"as 4")
    assert echo(("127.0.0.1", port)) == b"hello\n"
    assert echo(("::1", port), family=socket.AF_INET6) == b"hello\n"
    assert p.stop() == 0
    assert f"[::1]:{port}" in p.out.decode()


@need_ssa
def test_systemd_unix_socket_and_names(procs, tmp_path):
    path = str(tmp_path / "echo.sock")
    p = procs([SSA, "-l", path, "--fdname=echo", SOCKIT, "serve", "echo", "-v"])
    p.wait_stderr(rb"as 3")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(path)
        c.sendall(b"unix\n")
        assert recv_exactly(c, 5) == b"unix\n"
    assert p.stop() == 0
    assert f"unix:{path}" in p.out.decode()
    assert b"LISTEN_FDS=1, LISTEN_FDNAMES=echo" in p.err
    # The socket file is systemd's: sockit leaves it in place.
    assert os.path.exists(path)


@need_ssa
@pytest.mark.parametrize("model", UDP_MODELS)
def test_systemd_datagram_socket(procs, model):
    port = free_port()
    p = procs([SSA, "-d", "-l", f"127.0.0.1:{port}", SOCKIT, "serve", "echo", "-u",
               "--model", model])
    p.wait_stderr(rb"as 3")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(1)
        for _ in range(20):  # the first may reach the launcher before it execs
            u.sendto(b"dgram", ("127.0.0.1", port))
            try:
                assert u.recvfrom(100)[0] == b"dgram"
                break
            except socket.timeout:
                continue
        else:
            pytest.fail("no reply")
    assert p.stop() == 0


def with_fd3(sock):
    """preexec_fn: the socket as descriptor 3 (systemd's first)."""
    fd = sock.fileno()

    def f():
        os.dup2(fd, 3)
        os.set_inheritable(3, True)
    return f


# LISTEN_PID must be the server's own: set it in a shell that then execs.
SET_PID = ["/bin/sh", "-c", 'export LISTEN_PID=$$; exec "$@"', "sh"]


def test_passed_socket_of_the_wrong_type_is_refused(procs):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(8)
        p = procs(SET_PID + [SOCKIT, "serve", "echo", "-u"], preexec_fn=with_fd3(ls), pass_fds=(3,),
                  env={**os.environ, "LISTEN_FDS": "1"})
        assert p.p.wait(timeout=20) == 1
    p.stop()
    assert b"descriptor 3 is a stream socket, not a datagram one" in p.err, p.err


def test_passed_socket_not_listening_is_refused(procs):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))  # bound, never listen()ed
        p = procs(SET_PID + [SOCKIT, "serve", "echo"], preexec_fn=with_fd3(s), pass_fds=(3,),
                  env={**os.environ, "LISTEN_FDS": "1"})
        assert p.p.wait(timeout=20) == 1
    p.stop()
    assert b"descriptor 3 is not a listening socket" in p.err, p.err


def test_listen_pid_of_another_process_is_ignored(server):
    env = {**os.environ, "LISTEN_FDS": "1", "LISTEN_PID": "1"}
    s = server("echo", "-p", "0", env=env)  # binds its own port, as without systemd
    assert s.port != 0
    with s.connect() as c:
        c.sendall(b"own\n")
        assert recv_exactly(c, 4) == b"own\n"


def test_ports_do_not_mix_with_activation(procs):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(8)
        p = procs(SET_PID + [SOCKIT, "serve", "echo", "-p", "7777"], preexec_fn=with_fd3(ls), pass_fds=(3,),
                  env={**os.environ, "LISTEN_FDS": "1"})
        assert p.p.wait(timeout=20) == 2
    p.stop()
    assert b"do not apply" in p.err


# ---- inetd: the connection on standard input (Accept=yes, nowait) ----

@need_ssa
def test_systemd_inetd_mode_one_process_per_connection(procs):
    port = free_port()
    p = procs([SSA, "--inetd", "-a", "-l", f"127.0.0.1:{port}", SOCKIT, "serve", "echo",
               "--inetd"])
    p.wait_stderr(rb"Listening on 127\.0\.0\.1:\d+ as 3")
    big = os.urandom(300 * 1024)
    assert echo(("127.0.0.1", port), b"one\n") == b"one\n"
    assert echo(("127.0.0.1", port), big) == big
    end = time.monotonic() + 10
    while time.monotonic() < end and len(re.findall(rb"died with code 0", p.err)) < 2:
        time.sleep(0.1)
        r, _, _ = select.select([p.p.stderr.fileno()], [], [], 0)
        if r:
            p.err += os.read(p.p.stderr.fileno(), 4096)
    # Each connection's sockit exited 0 after serving it.
    assert len(re.findall(rb"Child \d+ died with code 0", p.err)) == 2, p.err


def test_inetd_on_a_non_socket_stdin_fails():
    p = run("serve", "echo", "--inetd")
    assert p.returncode == 1
    assert "--inetd: standard input is not a connected socket" in p.stderr


@need_inetd
def test_openbsd_inetd_runs_sockit_per_connection(procs, tmp_path):
    port = free_port()
    conf = tmp_path / "inetd.conf"
    user = getpass.getuser()
    conf.write_text(
        f"127.0.0.1:{port} stream tcp nowait {user} {SOCKIT} sockit serve echo --inetd "
        f"--deny 127.0.0.2\n")
    p = procs([INETD, "-d", str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    data = os.urandom(100 * 1024)
    assert echo(("127.0.0.1", port), data) == data
    assert echo(("127.0.0.1", port), b"again\n") == b"again\n"
    # --deny in inetd mode: the connection closes before the service sees it
    # (and no log line goes into it: standard error is the socket there).
    assert echo(("127.0.0.1", port), b"no\n", src="127.0.0.2") == b""
