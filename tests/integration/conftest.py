"""Shared fixtures: the sockit binary, servers started on port 0 and always
stopped by PID, and a check that no sanitizer report appeared."""
import os
import re
import signal
import socket
import subprocess
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
