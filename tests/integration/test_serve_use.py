"""What a new user trips over with `serve` in the first hour (issue 12), each
done the way the user did it: the default address, a server put in the
background of an interactive shell, two servers on one port, -v logging,
stopping with connections open, arguments that would do nothing, and the
messages and shortcuts of the first line."""
import errno
import json
import os
import pathlib
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import (SOCKIT, SANITIZER_RE, available_models, proc_state, recv_exactly, run,
                      serve_list)

TCP_MODELS = available_models("tcp", "echo")
UDP_MODELS = available_models("udp", "echo")


def echo_over(family, host, port, data, udp=False):
    s = socket.socket(family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        if udp:
            s.sendto(data, (host, port))
            return s.recvfrom(65536)[0]
        s.connect((host, port))
        s.sendall(data)
        return recv_exactly(s, len(data))
    finally:
        s.close()


def first_port(line):
    m = re.search(r"listening on \S+:(\d+)", line)
    assert m, line
    return int(m.group(1))


# ---- 1: the default listens on both loopback addresses ----

@pytest.mark.parametrize("model", TCP_MODELS)
def test_default_server_answers_ipv4_and_ipv6_clients(server, model):
    s = server("echo", "--model", model, "-p", "0")
    assert re.search(r"listening on 127\.0\.0\.1:(\d+) and \[::1\]:\1 \(tcp", s.first), s.first
    for _ in range(2):  # and again: neither listener starves the other
        assert echo_over(socket.AF_INET, "127.0.0.1", s.port, b"four\n") == b"four\n"
        assert echo_over(socket.AF_INET6, "::1", s.port, b"six\n") == b"six\n"


@pytest.mark.parametrize("model", ["epoll", "prefork", "pool"])
def test_default_server_with_workers_answers_both(server, model):
    s = server("echo", "--model", model, "--workers", "2", "-p", "0")
    for i in range(6):
        assert echo_over(socket.AF_INET, "127.0.0.1", s.port, b"v4 %d" % i) == b"v4 %d" % i
        assert echo_over(socket.AF_INET6, "::1", s.port, b"v6 %d" % i) == b"v6 %d" % i


@pytest.mark.parametrize("model", UDP_MODELS)
def test_default_udp_server_answers_ipv4_and_ipv6(server, model):
    s = server("echo", "-u", "--model", model, "--workers", "2", "-p", "0")
    assert re.search(r"listening on 127\.0\.0\.1:(\d+) and \[::1\]:\1 \(udp", s.first), s.first
    assert echo_over(socket.AF_INET, "127.0.0.1", s.port, b"d4", udp=True) == b"d4"
    assert echo_over(socket.AF_INET6, "::1", s.port, b"d6", udp=True) == b"d6"


def test_minus_4_and_minus_6_keep_one_address(server):
    s4 = server("echo", "-4", "-p", "0")
    assert "[::1]" not in s4.first and "127.0.0.1" in s4.first
    s6 = server("echo", "-6", "-p", "0")
    assert "127.0.0.1" not in s6.first and "[::1]" in s6.first
    assert echo_over(socket.AF_INET6, "::1", s6.port, b"x") == b"x"


def test_p2p_listen_takes_a_peer_on_ipv6_and_ipv4():
    for family, host in ((socket.AF_INET6, "::1"), (socket.AF_INET, "127.0.0.1")):
        p = subprocess.Popen([SOCKIT, "p2p", "--listen", "0"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+) and \[::1\]:(\d+)", line)
            assert m and m.group(1) == m.group(2), line
            with socket.socket(family, socket.SOCK_STREAM) as c:
                c.settimeout(5)
                c.connect((host, int(m.group(1))))
                c.sendall(b"hello from the peer\n")
                c.shutdown(socket.SHUT_WR)
                out, err = p.communicate(timeout=10)
            assert "<peer> hello from the peer" in out, out + err
            assert not SANITIZER_RE.search(err), err
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


# ---- 2: a server in the background of an interactive shell ----

class Shell:
    """An interactive bash on a pseudo-terminal (job control on)."""

    def __init__(self, tmp_path):
        self.out = ""
        env = dict(os.environ, PS1="$ ", TERM="dumb", HISTFILE="/dev/null")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(tmp_path)
            os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)

    def send(self, text):
        os.write(self.fd, text.encode())

    def read_until(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.out):
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} in: {self.out!r}"
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    self.out += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    break
        return re.search(pattern, self.out)

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def wait_file_line(path, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            if "\n" in text:
                return text
        time.sleep(0.05)
    raise AssertionError(f"nothing in {path}")


def wait_gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = proc_state(pid)
        if st is None or st == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("model", ["epoll", "iterative", "prefork", "uring", "udp", "udp-uring"])
def test_background_server_keeps_serving_and_stops_on_q_in_the_foreground(tmp_path, model):
    if model.endswith("uring") and "uring" not in TCP_MODELS:
        pytest.skip("io_uring refused here")
    args = {"udp": ["-u"], "udp-uring": ["-u", "--model", "uring"]}.get(model, ["--model", model])
    out, err = tmp_path / "out", tmp_path / "err"
    sh = Shell(tmp_path)
    spid = None
    try:
        sh.read_until(r"\$ ")
        sh.send(f"{SOCKIT} serve echo {' '.join(args)} -p 0 >{out} 2>{err} &\n")
        sh.send("echo PID=$!\n")
        spid = int(sh.read_until(r"PID=(\d+)").group(1))
        first = wait_file_line(out)
        assert "q or Ctrl-D stops" in first, first
        port = first_port(first)
        udp = model.startswith("udp")
        # The shell keeps its input: a command typed now runs in the shell.
        sh.send("echo typed-to-the-shell\n")
        sh.read_until(r"\ntyped-to-the-shell")
        time.sleep(0.3)
        assert proc_state(spid) not in ("T", None), proc_state(spid)  # no SIGTTIN stop
        assert echo_over(socket.AF_INET, "127.0.0.1", port, b"bg\n", udp) == b"bg\n"
        # In the foreground a bare Enter spaces out the log and stops nothing.
        sh.send("fg\n")
        time.sleep(0.5)
        sh.send("\n")
        sh.send("\n")
        time.sleep(0.5)
        assert proc_state(spid) not in ("Z", None)
        assert echo_over(socket.AF_INET6, "::1", port, b"fg\n", udp) == b"fg\n"
        sh.send("q\n")
        assert wait_gone(spid), f"q did not stop the server: {err.read_text()} {sh.out!r}"
        with open(out) as f:
            assert "stopped" in f.read()
        with open(err) as f:
            e = f.read()
        assert "'q' on the terminal: stopping" in e and not SANITIZER_RE.search(e), e
    finally:
        if spid and proc_state(spid) not in (None, "Z"):
            os.kill(spid, signal.SIGKILL)
        sh.close()


@pytest.mark.parametrize("stop", ["quit\n", "\x04"])
def test_quit_or_ctrl_d_stops_a_foreground_server(tmp_path, stop):
    out = tmp_path / "out"
    sh = Shell(tmp_path)
    spid = None
    try:
        sh.read_until(r"\$ ")
        sh.send(f"{SOCKIT} serve echo -p 0 >{out} 2>&1 & echo PID=$!; fg\n")
        spid = int(sh.read_until(r"PID=(\d+)").group(1))
        port = first_port(wait_file_line(out))
        time.sleep(0.3)
        sh.send("\n")
        time.sleep(0.3)
        assert echo_over(socket.AF_INET, "127.0.0.1", port, b"x") == b"x"
        sh.send(stop)
        assert wait_gone(spid), f"{stop!r} did not stop the server"
    finally:
        if spid and proc_state(spid) not in (None, "Z"):
            os.kill(spid, signal.SIGKILL)
        sh.close()


# ---- 3: a taken port stays taken, whatever --workers says ----

@pytest.mark.parametrize("udp", [False, True])
def test_second_server_on_the_same_port_is_refused_with_workers(server, udp):
    u = ["-u"] if udp else []
    first = server("echo", *u, "--workers", "2", "-p", "0")
    p = run("serve", "daytime", *u, "--workers", "2", "-p", str(first.port))
    assert p.returncode == 1, p.stdout
    assert "listening" not in p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Address already in use" in lines[0], p.stderr
    # the first one still has the port to itself
    assert echo_over(socket.AF_INET, "127.0.0.1", first.port, b"mine", udp) == b"mine"


def test_server_without_workers_then_one_with_workers(server):
    first = server("echo", "-p", "0")
    for extra in (["--workers", "2"], ["--workers", "2", "--model", "prefork"]):
        p = run("serve", "echo", *extra, "-p", str(first.port))
        assert p.returncode == 1 and "Address already in use" in p.stderr, p.stderr


# ---- 4: -v logs each connection, under every model ----

@pytest.mark.parametrize("model", TCP_MODELS)
def test_verbose_logs_open_and_close_with_peer_duration_and_bytes(server, model):
    s = server("echo", "--model", model, "-v", "-p", "0")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"12345")
        assert recv_exactly(c, 5) == b"12345"
        local = c.getsockname()
    time.sleep(0.3)
    assert s.stop() == 0
    peer = f"127.0.0.1:{local[1]}"
    ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"  # stderr is a pipe: always
    assert re.search(rf"^{ts} sockit: connection \d+ from {peer} opened$", s.stderr, re.M), \
        s.stderr
    assert re.search(rf"^{ts} sockit: connection \d+ from {peer} closed after \d+\.\d{{3}} s, "
                     r"5 bytes in, 5 bytes out$", s.stderr, re.M), s.stderr


@pytest.mark.parametrize("log_time", [False, True])
def test_log_lines_on_a_terminal_have_times_only_on_request(server, log_time):
    master, slave = pty.openpty()
    try:
        s = server("echo", "-v", "-p", "0", *(["--log-time"] if log_time else []),
                   stderr=slave)
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
            c.sendall(b"t")
            recv_exactly(c, 1)
        time.sleep(0.3)
        s.stop()
        out = b""
        while select.select([master], [], [], 0.2)[0]:
            out += os.read(master, 4096)
        text = out.decode(errors="replace")
        assert "connection 1 from 127.0.0.1:" in text, text
        stamped = re.search(r"^\d{4}-\d\d-\d\dT\S+ sockit: connection 1", text, re.M)
        assert bool(stamped) == log_time, text
    finally:
        os.close(master)
        os.close(slave)


def test_log_time_on_a_terminal_and_json_log(server, tmp_path):
    # --log-time is honoured (stderr here is a pipe, where times are always on).
    s = server("echo", "-v", "--log-time", "-p", "0")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"x")
        recv_exactly(c, 1)
    s.stop()
    assert re.search(r"^\d{4}-\d\d-\d\dT.* sockit: connection 1 from", s.stderr, re.M), s.stderr

    j = server("echo", "--json-log", "--max-conns", "1", "-p", "0")
    a = socket.create_connection(("127.0.0.1", j.port), timeout=5)
    a.sendall(b"hi")
    recv_exactly(a, 2)
    b = socket.create_connection(("127.0.0.1", j.port), timeout=5)
    assert b.recv(10) == b""  # over --max-conns: refused
    b.close()
    a.close()
    time.sleep(0.3)
    j.stop()
    events = [json.loads(l) for l in j.stderr.splitlines() if l.strip()]
    kinds = [e["event"] for e in events]
    assert "open" in kinds and "close" in kinds and "refuse" in kinds, events
    close = next(e for e in events if e["event"] == "close")
    assert close["bytes_in"] == 2 and close["bytes_out"] == 2 and close["duration_ms"] >= 0
    assert close["peer"].startswith("127.0.0.1:") and close["id"] == 1
    assert all(re.match(r"\d{4}-\d\d-\d\dT", e["time"]) for e in events)


# ---- 9: stopping with connections open ----

@pytest.mark.parametrize("model", ["epoll", "thread", "prefork", "fork"])
def test_stop_says_what_it_waits_for_and_a_second_signal_stops_at_once(server, model):
    s = server("chargen", "--model", model, "--drain", "60", "-p", "0")
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(5)
    c.connect(("127.0.0.1", s.port))
    try:
        assert c.recv(10)  # streaming, and we do not read on: it cannot finish
        time.sleep(0.3)
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit()
                   and _ppid(int(p)) == s.pid]
        os.kill(s.pid, signal.SIGINT)
        time.sleep(1.0)
        assert s.alive(), "stopped before --drain without a second signal"
        t = time.monotonic()
        os.kill(s.pid, signal.SIGINT)
        s.proc.wait(timeout=10)
        assert time.monotonic() - t < 5
        assert s.proc.returncode == 128 + signal.SIGINT
        s.stop()
        assert "stopping: 1 connection open, finishing what it is doing (at most 60000 ms, " \
               "--drain); Ctrl-C again stops now" in s.stderr, s.stderr
        assert s.stderr.count("stopping: 1 connection") == 1, s.stderr  # workers stay quiet
        assert "stopping now" in s.stderr
        for w in workers:  # no worker outlives its server
            assert wait_gone(w, 5), f"worker {w} outlived the server"
    finally:
        c.close()


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


# ---- 6, 11: http --root ----

def drop_to_nobody():
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root, and no setpriv to drop the privilege")
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return []


@pytest.fixture
def public_tmp():
    """A directory anyone may search (pytest's tmp_path sits in a 0700 one)."""
    d = tempfile.mkdtemp(prefix="sockit-test-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    for dirpath, dirnames, _ in os.walk(d):
        for n in dirnames:
            os.chmod(os.path.join(dirpath, n), 0o755)
    shutil.rmtree(d)


@pytest.mark.parametrize("mode", [0o700, 0o000, 0o711])
def test_http_root_the_server_cannot_read_fails_before_serving(public_tmp, mode):
    pre = drop_to_nobody()
    root = public_tmp / "site"
    root.mkdir()
    (root / "index.html").write_text("hi")
    root.chmod(mode)
    try:
        p = subprocess.run([*pre, SOCKIT, "serve", "http", "--root", str(root), "-p", "0"],
                           capture_output=True, text=True, timeout=20)
    finally:
        root.chmod(0o755)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "listening" not in p.stdout and "serving" not in p.stderr
    assert "Permission denied" in p.stderr and str(root) in p.stderr, p.stderr
    if mode == 0o711:
        assert "--no-listing" in p.stderr


def test_http_root_without_listing_needs_search_only(public_tmp):
    pre = drop_to_nobody()
    root = public_tmp / "site"
    root.mkdir()
    (root / "a.txt").write_text("a")
    (root / "a.txt").chmod(0o644)
    root.chmod(0o711)
    p = subprocess.Popen([*pre, SOCKIT, "serve", "http", "--root", str(root), "--no-listing",
                          "-p", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = first_port(p.stdout.readline())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/a.txt", timeout=5) as r:
            assert r.read() == b"a"
    finally:
        p.terminate()
        out, err = p.communicate(timeout=10)
        root.chmod(0o755)
    assert not SANITIZER_RE.search(err), err


def test_listing_shows_only_what_is_served(server, tmp_path):
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("hello")
    os.symlink("/etc/passwd", root / "outside")        # leaves the root: 403
    os.symlink("a.txt", root / "inside")               # stays: served
    os.symlink("sub", root / "subdir-link")            # a directory, inside
    os.symlink("nowhere", root / "dangling")
    os.mkfifo(root / "fifo")
    s = server("http", "--root", str(root), "-p", "0")

    def get(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{s.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""

    status, page = get("/")
    assert status == 200
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert set(hrefs) == {"sub/", "subdir-link/", "a.txt", "inside"}, hrefs
    # a link is listed with its target's size, not the link's own
    assert re.search(r'href="inside">inside</a></td><td class="n">5</td>', page), page
    for h in hrefs:
        assert get("/" + h)[0] == 200, h
    assert get("/outside")[0] == 403


# ---- 8, 12: arguments that would do nothing, messages that mislead ----

def usage_error(p, *wanted):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "listening" not in p.stdout
    assert p.stderr.startswith("sockit: serve: ") and "Try 'sockit serve --help'." in p.stderr
    for w in wanted:
        assert w in p.stderr, p.stderr


def test_list_json_is_json_with_the_same_rows():
    p = run("serve", "--list", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    rows = {(r["model"], r["kind"]): r for r in doc["models"]}
    table = {(r["model"], r["kind"]): r for r in serve_list()}
    assert rows.keys() == table.keys()
    for k, r in rows.items():
        assert r["status"] == table[k]["status"] and r["services"] == table[k]["services"], r
    assert doc["default"]["tcp"] and doc["default"]["udp"]
    usage_error(run("serve", "--json"), "--json goes with --list")
    usage_error(run("serve", "echo", "--list"), "--list takes no service")


def test_unix_socket_with_a_port_or_address_is_refused(tmp_path):
    path = str(tmp_path / "s.sock")
    usage_error(run("serve", "echo", "--unix", path, "-p", "80"), "-p 80", "no port")
    usage_error(run("serve", "echo", "--unix", path, "81"), "81")
    usage_error(run("serve", "echo", "--unix", path, "-b", "127.0.0.1"), "-b and --unix")
    usage_error(run("serve", "echo", "--unix", path, "-6"), "-4/-6")
    usage_error(run("serve", "echo", "--unix-mode", "600", "-p", "0"), "--unix-mode goes with")
    assert not os.path.exists(path)


def test_unix_path_that_is_a_regular_file_says_so(tmp_path):
    f = tmp_path / "regular.file"
    f.write_text("keep me")
    p = run("serve", "echo", "--unix", str(f))
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a socket" in lines[0], p.stderr
    assert "Address already in use" not in p.stderr
    assert f.read_text() == "keep me"


@pytest.mark.parametrize("bad,host,port", [("127.0.0.1:7401", "127.0.0.1", "7401"),
                                           ("[::1]:7401", "::1", "7401"),
                                           ("localhost:7401", "localhost", "7401")])
def test_bind_with_a_port_is_a_usage_error_that_says_how(bad, host, port):
    usage_error(run("serve", "echo", "-b", bad), f"-b {bad}: -b takes an address, -p the port",
                f"(-b {host} -p {port})")


# ---- 14: plurals, and the io_uring refusal hook ----

def test_totals_use_singular_for_one(server):
    s = server("echo", "-p", "0")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"x")
        recv_exactly(c, 1)
    assert s.stop() == 0
    assert "1 connection, 0 rejected, 0 errors, 1 byte in, 1 byte out" in s.stdout_rest


def test_uring_refuse_hook_refuses_both_uring_models():
    env = dict(os.environ, SOCKIT_URING_REFUSE="1")
    rows = json.loads(run("serve", "--list", "--json", env=env).stdout)["models"]
    assert [r["status"] for r in rows if r["model"] == "uring"] == ["refused", "refused"], rows
    p = run("serve", "echo", "-u", "--model", "uring", "-p", "0", env=env)
    assert p.returncode == 1 and "model uring is not available here" in p.stderr, p.stderr


# ---- friction: the port operand, service names, the http URL, --unix-mode ----

def test_port_as_operand_and_as_a_service_name(server):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    s = server("echo", str(port))
    assert s.port == port
    assert echo_over(socket.AF_INET, "127.0.0.1", port, b"op") == b"op"
    usage_error(run("serve", "echo", "-p", "0", "7400"), "unexpected argument '7400'",
                "already given")
    usage_error(run("serve", "echo", "-p", "no-such-service"), "-p no-such-service",
                "/etc/services")
    if os.geteuid() == 0 or int(open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read()) <= 7:
        try:
            with socket.create_connection(("127.0.0.1", 7), timeout=1):
                pytest.skip("something already listens on port 7")
        except OSError:
            pass
        e = server("echo", "-p", "echo")  # /etc/services: echo is 7
        assert e.port == 7


def test_http_first_line_is_a_url_and_says_hello_world(server, tmp_path):
    s = server("http", "-p", "0")
    assert f"http://127.0.0.1:{s.port}/" in s.first
    assert "Hello, World!" in s.first and "--root DIR" in s.first
    r = server("http", "--root", str(tmp_path), "-p", "0")
    assert f"http://127.0.0.1:{r.port}/" in r.first and "Hello" not in r.first
    assert "q or Ctrl-D" not in r.first  # stdin is not a terminal here


@pytest.mark.parametrize("mode", ["600", "660", "0666"])
def test_unix_mode_sets_the_socket_file_permissions(server, tmp_path, mode):
    path = tmp_path / "s.sock"
    s = server("echo", "--unix", str(path), "--unix-mode", mode)
    assert (os.stat(path).st_mode & 0o777) == int(mode, 8)
    with s.connect() as c:
        c.sendall(b"m")
        assert recv_exactly(c, 1) == b"m"
    usage_error(run("serve", "echo", "--unix", str(tmp_path / "t"), "--unix-mode", "999"),
                "--unix-mode: '999'")
    usage_error(run("serve", "echo", "--unix", "@abstract", "--unix-mode", "600"), "abstract")
