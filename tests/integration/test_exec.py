"""serve exec -- CMD: a program per connection, under every stream model.

Where the model gives a connection a thread of control of its own (fork,
--inetd, thread, pool, prefork, iterative) the program gets the socket
itself; under the event models (and under TLS) its pipes are the
connection's upstream, driven by the model. Every
program a test starts carries a marker word in its argv, so a test can find
any that outlived its connection or server (and kill it by PID)."""
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import (SOCKIT, available_models, child_pids, proc_state, proc_status_kb,
                      recv_until_close)

MODELS = available_models("tcp", "exec")
# One model of each path: the socket itself from a process (fork) or a
# thread (thread) of the connection's own, pipes driven by the reactor
# (epoll) and by io_uring. (Pipes under the blocking driver: TLS below.)
PATHS = [m for m in ("fork", "thread", "epoll", "uring") if m in MODELS]
# The models under which the program has the socket itself.
SOCKET_MODELS = {"fork", "thread", "pool", "prefork", "iterative"}
# Each of those (each waits for the program its own way: a process, a
# thread, a worker thread, a worker process, the one loop) and one model of
# each piped path (select and poll share epoll's reactor).
WAITERS = [m for m in MODELS if m in SOCKET_MODELS or m in PATHS]


def marker():
    return "sockit-exec-test-" + uuid.uuid4().hex[:12]


def procs_with(word):
    """PIDs of programs (not sockit itself) whose command line holds word,
    or whose environment has SOCKIT_TEST_MARK=word (inherited from the
    server: a plain `cat` carries it too)."""
    found, mark = [], b"SOCKIT_TEST_MARK=" + word.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if argv[0].endswith(b"sockit"):
                continue
            if word.encode() not in argv:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if mark not in f.read().split(b"\0"):
                        continue
        except OSError:
            continue
        found.append(int(d))
    return found


def kill_leftovers(word):
    pids = procs_with(word)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def wait_gone(word, timeout=8):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs_with(word):
            return True
        time.sleep(0.05)
    return False


def descendants(pid):
    """Every process below pid, with its state (R, S, Z, ...)."""
    out, todo = {}, [pid]
    while todo:
        for c in child_pids(todo.pop()):
            if c not in out:
                out[c] = proc_state(c)
                todo.append(c)
    return out


@pytest.fixture
def exec_server(server):
    """exec_server(model, *cmd, opts=[...]) -> (server, marker word); every
    program left with the marker is killed by PID at the end."""
    words, servers = [], []

    def start(model, *cmd, opts=()):
        word = marker()
        words.append(word)
        # sh -c SCRIPT NAME: NAME is $0, visible in the command line.
        args = [a.replace("@M@", word) for a in cmd]
        env = dict(os.environ, SOCKIT_TEST_MARK=word)
        s = server("exec", "--model", model, "-p", "0", *opts, "--", *args, env=env)
        servers.append(s)
        return s, word

    yield start
    # Whatever the test did: once its servers stopped, no program is left.
    for s in servers:
        s.stop()
    left = [w for w in words if not wait_gone(w, timeout=5)]
    for w in words:
        kill_leftovers(w)
    assert not left, "programs outlived their server"


def exchange(s, data, timeout=20):
    """Send data (then shut down the write side) while reading everything
    back until the server closes."""
    err = []

    def send():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=send)
    t.start()
    got = recv_until_close(s, timeout=timeout)
    t.join(timeout)
    assert not err, err
    return got


@pytest.mark.parametrize("model", MODELS)
def test_cat_byte_exact_both_ways(exec_server, model):
    srv, word = exec_server(model, "sh", "-c", "cat; :", "@M@")
    total = 0
    for n in (1, 65536 + 7, 3 * 1024 * 1024 + 1):
        payload = os.urandom(n)
        with srv.connect() as s:
            assert exchange(s, payload) == payload, (model, n)
        total += n
    assert wait_gone(word), "a program outlived its connection"
    # The totals count what went each way, also where the program had the
    # socket itself (fork: the kernel's counts).
    assert srv.stop() == 0
    m = re.search(r"(\d+) bytes in, (\d+) bytes out", srv.stdout_rest)
    assert m and int(m.group(1)) == total and int(m.group(2)) == total, srv.stdout_rest


@pytest.mark.parametrize("model", MODELS)
def test_program_gets_the_socket_where_the_model_allows(exec_server, model):
    # Where the connection has a thread of control of its own, the program's
    # standard input and output are the socket itself (it may getpeername(),
    # set options, and nothing is relayed); under the event models they are
    # pipes. Its standard error (the default, log) is a pipe either way.
    srv, _ = exec_server(model, "sh", "-c",
                         "for f in 0 1 2; do if [ -S /proc/self/fd/$f ]; then echo socket;"
                         " elif [ -p /proc/self/fd/$f ]; then echo pipe; else echo other; fi;"
                         " done", "@M@")
    with srv.connect() as s:
        got = recv_until_close(s).decode().split()
    io = "socket" if model in SOCKET_MODELS else "pipe"
    assert got == [io, io, "pipe"], (model, got)


@pytest.mark.parametrize("model", MODELS)
def test_half_close_reaches_stdin_output_still_flows(exec_server, model):
    # The client's EOF is the program's EOF on stdin; what it writes after
    # that still reaches the client.
    srv, _ = exec_server(model, "sh", "-c", "wc -c; sleep 0.2; echo after-eof", "@M@")
    with srv.connect() as s:
        s.sendall(b"x" * 1000)
        s.shutdown(socket.SHUT_WR)
        got = recv_until_close(s)
    assert got.split() == [b"1000", b"after-eof"]


@pytest.mark.parametrize("model", WAITERS)
def test_environment(exec_server, model):
    srv, _ = exec_server(
        model, "sh", "-c",
        'echo "$PROTO $TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP $TCPLOCALPORT"', "@M@")
    with srv.connect() as s:
        mine = s.getsockname()
        got = recv_until_close(s).decode().split()
    assert got == ["TCP", mine[0], str(mine[1]), srv.host, str(srv.port)]


@pytest.mark.parametrize("model", MODELS)
def test_program_exit_frees_the_connection_while_client_stays(exec_server, model):
    # inetd's rule: the program's exit closes the connection, not only its
    # sending side. With --max-conns 1, a second client is served while the
    # first still holds its socket open (and sends nothing).
    srv, _ = exec_server(model, "sh", "-c", "echo bye", "@M@", opts=["--max-conns", "1"])
    first = srv.connect()
    try:
        assert recv_until_close(first, timeout=5) == b"bye\n"
        deadline = time.monotonic() + 5
        while True:
            with srv.connect() as second:
                if recv_until_close(second, timeout=5) == b"bye\n":
                    break
            assert time.monotonic() < deadline, "the first connection is still held"
            time.sleep(0.05)
    finally:
        first.close()


@pytest.mark.parametrize("model", MODELS)
def test_program_that_never_reads_memory_bounded(exec_server, model):
    srv, word = exec_server(model, "sh", "-c", "sleep 30", "@M@")
    rss0 = proc_status_kb(srv.pid)
    with srv.connect() as s:
        s.setblocking(False)
        chunk = b"z" * 65536
        sent, last_progress = 0, time.monotonic()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and time.monotonic() - last_progress < 0.5:
            try:
                sent += s.send(chunk)
                last_progress = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
        assert sent < 64 * 1024 * 1024, "the server took everything: no backpressure"
        rss1 = proc_status_kb(srv.pid)
        assert rss1 - rss0 < 32 * 1024, (rss0, rss1)
    assert srv.alive()


@pytest.mark.parametrize("model", WAITERS)
def test_stderr_modes(exec_server, model):
    script = "echo oops-on-stderr >&2; echo out"
    srv, _ = exec_server(model, "sh", "-c", script, "@M@")  # default: log
    with srv.connect() as s:
        assert recv_until_close(s) == b"out\n"
    srv2, _ = exec_server(model, "sh", "-c", script, "@M@", opts=["--stderr", "socket"])
    with srv2.connect() as s:
        assert sorted(recv_until_close(s).split()) == [b"oops-on-stderr", b"out"]
    srv3, _ = exec_server(model, "sh", "-c", script, "@M@", opts=["--stderr", "null"])
    with srv3.connect() as s:
        assert recv_until_close(s) == b"out\n"
    time.sleep(0.2)
    srv.stop()
    srv3.stop()
    assert "conn 1: oops-on-stderr" in srv.stderr
    assert "oops-on-stderr" not in srv3.stderr


@pytest.mark.parametrize("model", ["fork", "thread", "epoll"])
def test_200_concurrent_clients_no_zombie_none_left_after_sigterm(exec_server, model):
    if model not in MODELS:
        pytest.skip(f"{model} not available")
    srv, word = exec_server(model, "cat", opts=["--max-conns", "400"])
    socks = []
    try:
        for i in range(200):
            socks.append(srv.connect())
        for i, s in enumerate(socks):
            s.sendall(b"%d\n" % i)
        for i, s in enumerate(socks):
            s.settimeout(10)
            want = b"%d\n" % i
            got = b""
            while len(got) < len(want):
                chunk = s.recv(64)
                assert chunk, i
                got += chunk
            assert got == want
        # Half of them leave; their programs end and are reaped at once.
        for s in socks[:100]:
            s.close()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            if len(procs_with(word)) <= 100:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        zombies = [p for p, st in descendants(srv.pid).items() if st == "Z"]
        assert not zombies, zombies
        assert len(procs_with(word)) == 100
        # SIGTERM with 100 connections open: no program is left.
        assert srv.stop() == 0
        assert wait_gone(word), procs_with(word)
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("model", WAITERS)
def test_sigterm_reaches_the_program_group(exec_server, model):
    # A program's own children are in its process group: they go too.
    srv, word = exec_server(model, "sh", "-c",
                               "sh -c 'sleep 300; :' $0 & cat; :", "@M@")
    with srv.connect() as s:
        s.sendall(b"hi\n")
        assert s.recv(10) == b"hi\n"
        assert len(procs_with(word)) >= 2
        srv.stop()
    assert wait_gone(word), procs_with(word)


def test_max_conns_bounds_children(exec_server):
    srv, word = exec_server("epoll" if "epoll" in MODELS else MODELS[-1], "cat",
                            opts=["--max-conns", "3"])
    socks = [srv.connect() for _ in range(6)]
    try:
        # Three are served (each with its cat), three are turned away.
        deadline = time.monotonic() + 5
        while len(procs_with(word)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(procs_with(word)) == 3
        closed = 0
        for s in socks:
            s.settimeout(0.2)
            try:
                closed += s.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                pass  # served: cat waits for input
        assert closed == 3
    finally:
        for s in socks:
            s.close()


def test_unix_socket_environment(exec_server, tmp_path):
    path = str(tmp_path / "exec.sock")
    word = marker()
    from conftest import Server
    srv = Server(["exec", "--unix", path, "--", "sh", "-c",
                  'echo "$PROTO $UNIXREMOTEPID $UNIXLOCALPATH"', word])
    try:
        with srv.connect() as s:
            got = recv_until_close(s).decode().split()
        assert got == ["UNIX", str(os.getpid()), path]
    finally:
        srv.stop()
        kill_leftovers(word)


def test_inetd_mode_hands_the_socket(tmp_path):
    # serve exec --inetd, as inetd starts it: the connection on stdin.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname())
    a, _ = ls.accept()
    word = marker()
    p = subprocess.Popen([SOCKIT, "serve", "exec", "--inetd", "--", "sh", "-c",
                          'echo "$TCPREMOTEPORT"; exec cat', word],
                         stdin=a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    a.close()
    try:
        c.sendall(b"ping")
        c.shutdown(socket.SHUT_WR)
        got = recv_until_close(c)
        assert got == b"%d\nping" % c.getsockname()[1]
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        c.close()
        ls.close()
        kill_leftovers(word)


def test_usage_errors():
    p = subprocess.run([SOCKIT, "serve", "exec", "-p", "0"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 2 and "which program" in p.stderr
    p = subprocess.run([SOCKIT, "serve", "exec", "-p", "0", "--", "no-such-program-here"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "not found in PATH" in p.stderr
    p = subprocess.run([SOCKIT, "serve", "exec", "--stderr", "tty", "--", "cat"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "log, socket or null" in p.stderr


@pytest.mark.parametrize("model", [m for m in ("fork", "thread", "epoll") if m in MODELS])
def test_tls_runs_the_program_on_pipes(exec_server, model):
    # Under TLS the program cannot have the socket (it would see ciphertext):
    # even under fork and thread it runs on pipes, through the transport
    # (the blocking driver's piped upstream).
    srv, _ = exec_server(model, "sh", "-c", 'echo "hi $PROTO"; cat; :', "@M@", opts=["--tls"])
    p = subprocess.run([SOCKIT, "connect", "--tls", "--insecure", srv.host, str(srv.port)],
                       input=b"secret\n", capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hi TCP\nsecret\n"
