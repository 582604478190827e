"""Shared fixtures: the sockit binary, servers started on port 0 and always
stopped by PID, and a check that no sanitizer report appeared."""
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

SOCKIT = os.environ.get("SOCKIT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "../../build/asan/sockit"))
SOCKIT_RELEASE = os.environ.get("SOCKIT_RELEASE") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "../../build/sockit"))
SOCKIT_TSAN = os.environ.get("SOCKIT_TSAN") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "../../build/tsan/sockit"))
SEEDS = os.path.abspath(os.path.join(os.path.dirname(__file__), "seeds"))

SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|"
                          r"WARNING: ThreadSanitizer")

LISTEN_RE = re.compile(r"listening on (?:\[(?P<v6>[^\]]+)\]|(?P<v4>[0-9.]+)|unix:(?P<path>\S+))"
                       r":?(?P<port>\d+)?")


def pytest_configure(config):
    # `make test` runs the suite INTEGRATION_JOBS tests at a time (pytest-xdist),
    # then the tests marked serial alone: those that load the whole machine or
    # judge timing that other tests running beside them would disturb.
    config.addinivalue_line("markers", "serial: run alone, after the parallel part")


def run(*args, input=None, timeout=20, env=None):
    """Run sockit with args; returns CompletedProcess (text)."""
    p = subprocess.run([SOCKIT, *args], input=input, capture_output=True, text=True,
                       timeout=timeout, env=env)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


class Server:
    """A `sockit serve ...` child process. The first stdout line gives the
    address; stop() sends SIGTERM (then SIGKILL) by PID and collects output."""

    def __init__(self, args, binary=None, env=None, stdin=subprocess.DEVNULL, preexec_fn=None,
                 stderr=subprocess.PIPE):
        self.args = args
        self.proc = subprocess.Popen([binary or SOCKIT, "serve", *args], stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=stderr,
                                     text=True, env=env, start_new_session=True,
                                     preexec_fn=preexec_fn)
        self.stdout_rest = ""
        self.stderr = ""
        self.first = self._first_line()
        m = LISTEN_RE.search(self.first)
        assert m, f"no listening line: {self.first!r}"
        self.host = m.group("v6") or m.group("v4")
        self.path = m.group("path")
        self.port = int(m.group("port")) if m.group("port") else None
        self.pid = self.proc.pid

    def _first_line(self):
        # Byte by byte from the descriptor: a buffered readline() could take
        # the lines after the first into Python's buffer, where a test that
        # reads the descriptor itself would never see them.
        deadline = time.monotonic() + 15
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        fd = self.proc.stdout.fileno()
        line = b""
        while time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                ch = os.read(fd, 1)
                if not ch:
                    break
                line += ch
                if ch == b"\n":
                    return line.decode(errors="replace")
                continue
            if self.proc.poll() is not None:
                break
        self.stop()
        raise AssertionError(f"server did not start: {self.args}: {self.stderr}")

    @property
    def addr(self):
        return (self.host, self.port)

    def connect(self, timeout=10):
        if self.path:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.path)
            return s
        s = socket.create_connection(self.addr, timeout=timeout)
        return s

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop by PID; returns the exit code. Kills the whole group if needed."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        try:
            out, err = self.proc.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError):
            out, err = "", ""
        self.stdout_rest += out or ""
        self.stderr += err or ""
        # Worker processes of fork/prefork share the group: none may outlive us.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.proc.returncode


@pytest.fixture
def server():
    """Factory: server(args...) starts `sockit serve ARGS`; all are stopped and
    checked for sanitizer reports at the end of the test, pass or fail."""
    started = []

    def start(*args, **kw):
        s = Server(list(args), **kw)
        started.append(s)
        return s

    yield start
    reports = []
    for s in started:
        s.stop()
        if SANITIZER_RE.search(s.stderr):
            reports.append(s.stderr)
        if s.proc.returncode in (86, 87):
            reports.append(f"sanitizer exit code {s.proc.returncode}: {s.stderr}")
    assert not reports, "\n".join(reports)


def recv_exactly(s, n, timeout=10):
    s.settimeout(timeout)
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def recv_until_close(s, timeout=10):
    s.settimeout(timeout)
    buf = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(buf)
        buf += chunk


def serve_list():
    """`sockit serve --list` as a list of dicts: model, kind (tcp/udp),
    status (ok/refused) and services (the ones it can carry)."""
    p = run("serve", "--list")
    assert p.returncode == 0, p.stderr
    rows = []
    for line in p.stdout.splitlines()[1:]:
        f = line.split()
        if len(f) < 3 or line.startswith("default:"):
            continue
        services = []
        for w in f[3:]:
            if w.startswith("("):
                break
            services.append(w)
        rows.append({"model": f[0], "kind": f[1], "status": f[2], "services": services})
    return rows


def available_models(kind="tcp", service=None):
    """Models `serve --list` reports as ok for kind, optionally only those
    that can carry service, in the order listed."""
    return [r["model"] for r in serve_list()
            if r["kind"] == kind and r["status"] == "ok"
            and (service is None or service in r["services"])]


def child_pids(pid):
    """PIDs of the direct children of pid (from /proc)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(d))
    return kids


def proc_state(pid):
    """One-letter state of pid (R, S, Z, ...), or None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


def proc_status_kb(pid, field="VmRSS"):
    """A kB field of /proc/PID/status (VmRSS, VmHWM, ...), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_seconds(pid):
    """utime + stime of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port free a moment ago (for a program that must be given one)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def closed_port():
    """A port nothing listens on (bound, never listening: refused); keep the
    returned socket open while the port is used."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


@contextlib.contextmanager
def unanswered_port():
    """A loopback port whose listener never accepts and whose backlog is
    full, so a new connection's SYN goes unanswered (a connect times out);
    everything is closed on leaving."""
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
        yield port
    finally:
        for c in fillers:
            c.close()
        ls.close()


class PyServer:
    """A Python server in a child process that prints 'listening on HOST:PORT'
    first; stopped by PID (its process group). code is its source, run as
    python3 -c code ARGS..., or with script=False the whole command line."""

    def __init__(self, code, *args, script=True):
        argv = [sys.executable, "-c", code, *args] if script else list(code)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        assert "listening on" in line, line + self.proc.stderr.read()
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def pyserver():
    """Factory: pyserver(code, *args, script=True) starts a PyServer; all are
    stopped at the end of the test, pass or fail."""
    started = []

    def start(code, *args, script=True):
        s = PyServer(code, *args, script=script)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


# An echo server (a thread per client) that stalls 0.3 s once, after 100
# 64-byte messages: latency outliers for the bench's tests.
STALLING_ECHO = r"""
import socket, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
stalled = False
def client(c):
    global stalled
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            return
        n += len(d)
        if not stalled and n >= 100 * 64:
            stalled = True
            time.sleep(0.3)
        c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=client, args=(c,), daemon=True).start()
"""


class ChatPeer:
    """A chat client over a Python socket, reading whole lines (the chat
    tests, and chat over TLS with its socket wrapped)."""

    def __init__(self, srv, crlf=False, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10)
        self.s.connect(srv.addr)
        self.crlf = crlf
        self.buf = b""
        self.lines = []      # every complete line received (bytes, without end)
        self.ends = []       # the line end each line came with
        self.closed = False
        self.pos = 0         # expect() looks at lines from here on

    # The interface the 200-client test drives (Peer and NcPeer alike).
    def fileobj(self):
        return self.s

    def raw_send(self, data):
        self.s.sendall(data)

    def raw_recv(self):
        return self.s.recv(65536)

    def send(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.s.sendall(line + (b"\r\n" if self.crlf else b"\n"))

    def feed(self, data):
        if not data:
            self.closed = True
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.ends.append(b"\r\n" if line.endswith(b"\r") else b"\n")
            self.lines.append(line[:-1] if line.endswith(b"\r") else line)

    def pump(self, timeout):
        self.s.settimeout(timeout)
        try:
            self.feed(self.s.recv(65536))
        except socket.timeout:
            pass
        except ConnectionResetError:
            self.closed = True

    def expect(self, want, timeout=10):
        """Read until a line containing `want` (bytes or str) arrives after
        the one the previous expect() matched."""
        if isinstance(want, str):
            want = want.encode()
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self.pos, len(self.lines)):
                if want in self.lines[i]:
                    self.pos = i + 1
                    return self.lines[i]
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                raise AssertionError(f"no line with {want!r}; got {self.lines[-20:]!r}")
            self.pump(min(left, 0.5))

    def expect_each(self, wants, timeout=10):
        """Lines from different senders: each of `wants` arrives after the
        line the previous expect() matched, in any order; later expects
        look past the last of them."""
        start, end = self.pos, self.pos
        for want in wants:
            self.pos = start
            self.expect(want, timeout)
            end = max(end, self.pos)
        self.pos = end

    def wait_closed(self, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.pump(0.5)
        return self.closed

    def join(self, nick):
        self.expect("Type your nickname")
        self.send(nick)
        self.expect(f"*** Welcome, {nick}!")

    def close(self):
        self.s.close()
