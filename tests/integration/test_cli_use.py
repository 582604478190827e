"""Everyday use of the clients, the bench and the command line (issue 12's
client and CLI items, issue 11's client and load-generator hangs): each test
does what the user did and checks what they rely on."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT, run
from test_clients import PyServer, closed_port, read_all, sockit_bin

RELEASE = os.environ.get("SOCKIT_RELEASE") or SOCKIT


def start(*args, binary=None):
    """A sockit client process (own session), stopped by PID by the caller."""
    return subprocess.Popen([binary or SOCKIT, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(p, timeout=20):
    """Wait for p (killing it when it overstays) and check its stderr."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        raise AssertionError(f"still running after {timeout} s: {out[-2000:]} {err[-2000:]}")
    assert not SANITIZER_RE.search(err), err
    return p.returncode, out, err


def interrupt_after(p, seconds):
    time.sleep(seconds)
    p.send_signal(signal.SIGINT)
    return finish(p)


def udp_closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Trickler:
    """A TCP server that answers every connection with one byte every 50 ms,
    forever (until stopped): a reply that never ends."""

    def __init__(self, data=b"x"):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.ls.setblocking(False)
        self.port = self.ls.getsockname()[1]
        self.stop = threading.Event()
        self.data = data
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        conns = []
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
                conns.append(c)
            except BlockingIOError:
                pass
            for c in list(conns):
                try:
                    c.send(self.data)
                except OSError:
                    conns.remove(c)
            time.sleep(0.05)
        for c in conns:
            c.close()

    def close(self):
        self.stop.set()
        self.t.join(5)
        self.ls.close()


# ---- echo-client: bounded replies (issue 11 item 10) ----

def test_echo_client_against_chargen_ends_at_the_timeout(server):
    """`echo-client -m hi -t 1` against chargen: the endless reply is cut off
    at the timeout, reported as not an echo, exit 1."""
    s = server("chargen", "-p", "0")
    p = start("echo-client", "-m", "hi", "-t", "1", "127.0.0.1", str(s.port))
    rc, out, err = finish(p, timeout=20)
    assert rc == 1, out + err
    assert "cut off: the reply went on past 1000 ms" in out
    assert re.search(r"1 request, 1 answered, 0 lost .*1 mismatched", out), out


def test_echo_client_against_a_trickling_server_ends_at_the_timeout():
    t = Trickler()
    try:
        p = start("echo-client", "-m", "hi", "-w", "1", "127.0.0.1", str(t.port))
        rc, out, err = finish(p, timeout=20)
    finally:
        t.close()
    assert rc == 1, out + err
    assert "cut off" in out and "1 mismatched" in out, out


def test_echo_client_interactive_trickle_is_cut_too():
    t = Trickler()
    try:
        p = subprocess.run([SOCKIT, "echo-client", "-w", "1", "127.0.0.1", str(t.port)],
                           input="hello\n", capture_output=True, text=True, timeout=20)
    finally:
        t.close()
    assert "the reply went on past 1000 ms; cut off" in p.stderr
    assert p.stdout.startswith("x")


# ---- echo-client: Ctrl-C (issue 12 defect 5) ----

def read_lines_until(p, count, pattern, timeout=20):
    """Read p's stdout until count lines matched pattern (the client flushes
    each reply line); returns them."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    got, buf = [], ""
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {got} in {buf!r}"
        if not sel.select(timeout=0.2):
            assert p.poll() is None, buf
            continue
        chunk = os.read(fd, 4096).decode(errors="replace")
        assert chunk, buf
        buf += chunk
        while "\n" in buf:
            line, buf = buf.split("\n", 1)
            if re.search(pattern, line):
                got.append(line)
    return got


@pytest.mark.parametrize("udp", [False, True], ids=["tcp", "udp"])
def test_echo_client_interrupted_reports_every_request_exit_130(server, udp):
    """--count 100000 -i 0.1 stopped by Ctrl-C: every request sent is
    answered, lost or interrupted, and the exit status says interrupted."""
    s = server("echo", *(["-u"] if udp else []), "-p", "0")
    p = start("echo-client", *(["-u"] if udp else []), "--count", "100000", "-i", "0.1",
              "127.0.0.1", str(s.port))
    try:
        read_lines_until(p, 3, r"bytes from .* seq=\d+ ")
    finally:
        p.send_signal(signal.SIGINT)
    rc, out, err = finish(p)
    assert rc == 130, out + err
    m = re.search(r"(\d+) requests?, (\d+) answered, (\d+) lost \([0-9.]+%\)(?:, (\d+) interrupted)?",
                  out)
    assert m, out
    req, ans, lost, intr = (int(x or 0) for x in m.groups())
    assert req >= 1 and req == ans + lost + intr, out


def test_echo_client_interrupted_while_waiting_counts_interrupted():
    """Ctrl-C while the reply is awaited: that request is interrupted,
    neither answered nor lost."""
    arrived = threading.Event()

    def handler(conn, res):
        conn.recv(100)
        arrived.set()
        read_all(conn)  # never answers

    srv = PyServer(handler)
    p = start("echo-client", "-m", "anyone?", "-w", "20", "127.0.0.1", str(srv.port))
    try:
        assert arrived.wait(20), "the request never arrived"
        time.sleep(0.2)  # the client is in its wait
    finally:
        p.send_signal(signal.SIGINT)
    rc, out, err = finish(p)
    srv.join()
    assert rc == 130, out + err
    assert "1 request, 0 answered, 0 lost (0.0%), 1 interrupted" in out


# ---- echo-client -u to a closed port (issue 12 defect 10) ----

def test_echo_client_udp_to_a_closed_port_is_refused():
    port = udp_closed_port()
    p = run("echo-client", "-u", "-m", "x", "127.0.0.1", str(port))
    assert p.returncode == 1
    assert f"sockit: echo-client: 127.0.0.1 port {port}: Connection refused" in p.stderr
    assert "lost after" not in p.stdout + p.stderr
    c = run("connect", "-u", "127.0.0.1", str(port), input="x\n")
    assert "Connection refused" in c.stderr  # the same words as connect -u


# ---- echo-client interactive: blank lines and terminal safety ----

def test_echo_client_piped_file_with_an_empty_line_is_sent_whole(server):
    """Friction: a piped file is sent whole, its empty lines too; the
    replies come back byte for byte."""
    s = server("echo", "-p", "0")
    data = "first\n\nthird\n\n\nlast\n"
    p = run("echo-client", "127.0.0.1", str(s.port), input=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


HOSTILE = (b"title\x1b]0;pwned\x07 clear\x1b[2J c1\xc2\x9b31m raw\x9b31m "
           b"link\x1b]8;;http://evil/\x1b\\x\x1b]8;;\x1b\\ ok \xc3\xa9\n")


def hostile_server():
    """Answers each line with HOSTILE (escape sequences, OSC, C1 both ways)."""
    def handler(conn, res):
        buf = b""
        while True:
            d = conn.recv(4096)
            if not d:
                return
            buf += d
            while b"\n" in buf:
                _, buf = buf.split(b"\n", 1)
                conn.sendall(HOSTILE)
    return PyServer(handler)


def test_echo_client_piped_output_is_byte_exact():
    srv = hostile_server()
    p = sockit_bin("echo-client", "--pause", "0.1", "127.0.0.1", str(srv.port), input=b"go\n")
    srv.join()
    assert p.stdout == HOSTILE


def test_echo_client_scripted_escapes_c1_controls():
    srv = hostile_server()
    p = sockit_bin("echo-client", "--pause", "0.1", "-m", "go", "127.0.0.1", str(srv.port))
    srv.join()
    out = p.stdout
    assert b"\x1b" not in out and b"\x9b" not in out and b"\xc2\x9b" not in out, out
    assert b"\\xc2\\x9b31m" in out and b"raw\\x9b31m" in out and b"\\x1b]0;pwned\\x07" in out
    assert "ok é".encode() in out


@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")
def test_echo_client_at_a_terminal_shows_escapes_instead_of_obeying_them(tmp_path):
    """Interactive at a terminal: the server's title change, clear screen,
    OSC 8 link and C1 CSI are shown escaped; the pane keeps its text."""
    srv = hostile_server()
    sock = str(tmp_path / "tmux.sock")
    cmd = f"{SOCKIT} echo-client --pause 0.1 127.0.0.1 {srv.port}; echo EXIT=$?; sleep 60"

    def tm(*a):
        return subprocess.run(["tmux", "-S", sock, *a], capture_output=True, text=True,
                              timeout=10)

    subprocess.run(["tmux", "-S", sock, "new-session", "-d", "-s", "ec", "-x", "200", "-y", "20",
                    cmd], check=True, env=dict(os.environ, TERM="xterm"), timeout=10)
    try:
        deadline = time.monotonic() + 15
        while not tm("capture-pane", "-p", "-t", "ec").stdout.startswith(">"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        tm("send-keys", "-t", "ec", "marker-line", "Enter")
        text = ""
        while "ok é" not in text:
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
            text = tm("capture-pane", "-p", "-t", "ec").stdout
        title = tm("display-message", "-p", "-t", "ec", "#{pane_title}").stdout
        assert "pwned" not in title
        assert "> marker-line" in text  # the screen was not cleared
        assert "\\x1b]0;pwned\\x07" in text and "\\x1b[2J" in text
        assert "c1\\xc2\\x9b31m" in text and "raw\\x9b31m" in text
        tm("send-keys", "-t", "ec", "Enter")  # an empty line at a terminal ends it
        while "EXIT=" not in text:
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
            text = tm("capture-pane", "-p", "-t", "ec").stdout
        assert "EXIT=0" in text and not SANITIZER_RE.search(text), text
    finally:
        tm("kill-server")
        srv.ls.close()


# ---- --json on the clients ----

def test_echo_client_json(server):
    s = server("echo", "-p", "0")
    p = run("echo-client", "--json", "-m", "a", "-m", "bb", "127.0.0.1", str(s.port))
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["requests"] == 2 and d["answered"] == 2 and d["lost"] == 0
    assert d["protocol"] == "stream" and d["server"].startswith("127.0.0.1:")
    assert d["rtt_ms"]["min"] <= d["rtt_ms"]["max"]
    u = server("echo", "-u", "-p", "0")
    p = run("echo-client", "-u", "--json", "--count", "3", "--size", "40", "127.0.0.1",
            str(u.port))
    d = json.loads(p.stdout)
    assert d["protocol"] == "udp" and d["answered"] == 3 and d["foreign"] == 0
    bad = run("echo-client", "--json", "127.0.0.1", str(s.port), input="x\n")
    assert bad.returncode == 2 and "--json goes with -m or --count" in bad.stderr


# ---- messages (issue 12 defect 12) ----

def test_connect_wait_zero_says_what_is_wrong():
    p = run("connect", "-w", "0", "127.0.0.1", "7")
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == \
        "sockit: connect: -w: the time must be more than 0 (e.g. 2, 1.5, 500ms)"
    assert "is not a duration" not in p.stderr
    p = run("connect", "-w", "soon", "127.0.0.1", "7")
    assert "'soon' is not a duration" in p.stderr


def test_connect_json_reports(server):
    s = server("echo", "-p", "0")
    p = run("connect", "--json", "127.0.0.1", str(s.port), input="hello\n")
    assert p.returncode == 0 and p.stdout == "hello\n", p.stderr
    events = [json.loads(l) for l in p.stderr.splitlines()]
    assert [e["event"] for e in events] == ["connected", "closed"]
    assert events[0]["peer"] == f"127.0.0.1:{s.port}" and events[0]["transport"] == "tcp"
    assert events[1]["sent"] == 6 and events[1]["received"] == 6
    assert events[1]["reason"] == "peer closed"
    v = run("connect", "-v", "127.0.0.1", str(s.port), input="x")
    assert "sent 1 byte, received 1 byte in" in v.stderr  # singular


def test_ping_json():
    from test_ping import allowed
    if not allowed(socket.AF_INET):
        pytest.skip("no ICMP socket kind allowed here")
    p = run("ping", "--json", "-c", "2", "-i", "0.05", "127.0.0.1")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["host"] == "127.0.0.1" and d["address"] == "127.0.0.1"
    assert d["transmitted"] == 2 and d["received"] == 2 and d["loss_percent"] == 0
    assert 0 <= d["rtt_ms"]["min"] <= d["rtt_ms"]["max"]


# ---- the bench (issue 12 defects 7 and 14, issue 11 items 11 and 13) ----

@pytest.mark.parametrize("args", [
    ("bench", "http", "-H", "x", "http://127.0.0.1:1/"),
    ("bench", "echo", "--bogus", "127.0.0.1", "7"),
    ("bench", "models", "echo", "-d"),
    ("chat", "-Z", "127.0.0.1", "7"),
    ("p2p", "--bogus"),
    ("completion", "fish"),
], ids=" ".join)
def test_option_errors_follow_the_convention(args):
    p = run(*args)
    assert p.returncode == 2, p
    lines = p.stderr.splitlines()
    cmd = " ".join(args[:2]) if args[0] == "bench" else args[0]
    assert len(lines) == 2 and lines[0].startswith(f"sockit: {cmd}: "), p.stderr
    assert lines[1] == f"Try 'sockit {cmd} --help'.", p.stderr
    assert "invalid option" not in p.stderr and "unrecognized" not in p.stderr


def test_bench_json_rate_is_null_without_rate(server):
    s = server("echo", "-p", "0")
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "1", "-n", "20", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["rate"] is None
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "1", "-n", "20", "--rate", "500",
            "--json")
    assert json.loads(p.stdout)["rate"] == 500


class EndlessChunkExtension:
    """An HTTP server whose response starts a chunk and then sends a chunk
    extension that never ends (issue 11 item 11)."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.stop = threading.Event()
        self.threads = []
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        self.ls.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c):
        junk = b"a" * 65536
        try:
            c.settimeout(5)
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=")
            while not self.stop.is_set():
                c.sendall(junk)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop.set()
        self.ls.close()
        self.t.join(5)
        for t in self.threads:
            t.join(5)


def test_bench_http_against_an_endless_chunk_extension_ends_on_time():
    """`bench http URL -d 1s --timeout 1s`: the run ends at its duration
    whatever the server sends, and the unanswered request is a timeout."""
    srv = EndlessChunkExtension()
    try:
        p = start("bench", "http", f"http://127.0.0.1:{srv.port}/", "-c", "2", "-d", "1s",
                  "--timeout", "1s", "--json", binary=RELEASE)
        t0 = time.monotonic()
        rc, out, err = finish(p, timeout=30)
        took = time.monotonic() - t0
    finally:
        srv.close()
    assert took < 15, f"bench ran {took:.1f} s"  # a hang check, not a speed assertion
    d = json.loads(out)
    assert d["requests"] == 0 and rc == 1
    assert d["elapsed_s"] < 5, d  # it stopped at -d (was: spinning past 20 s)


def test_bench_http_endless_response_is_a_timeout():
    srv = EndlessChunkExtension()
    try:
        p = start("bench", "http", f"http://127.0.0.1:{srv.port}/", "-c", "1", "-d", "2s",
                  "--timeout", "300ms", "--json", binary=RELEASE)
        rc, out, err = finish(p, timeout=30)
    finally:
        srv.close()
    d = json.loads(out)
    assert d["errors"]["timeout"] >= 1 and d["requests"] == 0, d


def test_bench_http_count_mode_is_bounded_by_timeout():
    srv = EndlessChunkExtension()
    try:
        p = start("bench", "http", f"http://127.0.0.1:{srv.port}/", "-c", "1", "-n", "1",
                  "--timeout", "1s", "--json", binary=RELEASE)
        rc, out, err = finish(p, timeout=30)
    finally:
        srv.close()
    d = json.loads(out)
    assert d["errors"]["timeout"] >= 1 and d["requests"] == 0


def test_a_thread_that_could_not_start_does_not_interrupt_later_runs(tmp_path):
    """One failed pthread_create (64 load threads under a 300 MiB address
    space) fails that point only; the next point of `bench models` is
    measured, not reported as interrupted (issue 11 item 13)."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (300 << 20, resource.RLIM_INFINITY))

    p = subprocess.run([RELEASE, "bench", "models", "echo", "--models", "epoll", "-t", "64",
                        "--conns", "64,1", "-d", "300ms", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, preexec_fn=limit)
    rows = [l.split() for l in p.stdout.splitlines() if l.startswith("epoll ")]
    assert len(rows) == 2, p.stdout + p.stderr
    if rows[0][2] != "-":
        pytest.skip("64 threads started under the limit here")
    assert "load failed" in " ".join(rows[0])
    assert "interrupted" not in p.stdout
    assert rows[1][1] == "1" and float(rows[1][2]) > 0, p.stdout
    assert p.returncode == 0, p.stderr


# ---- help and completion ----

def test_help_command_prints_the_commands_help():
    for cmd in ("serve", "bench", "echo-client", "completion"):
        h = run("help", cmd)
        assert h.returncode == 0 and h.stdout == run(cmd, "--help").stdout, cmd
        assert h.stdout.startswith(f"Usage: sockit {cmd}")
    assert run("help").stdout == run("--help").stdout
    bad = run("help", "nosuch")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == ["sockit: help: unknown command 'nosuch'",
                                       "Try 'sockit --help'."]


def bash_complete(script, *words):
    """What bash completes for the command line words (the last is the word
    being completed), with the script sourced."""
    line = " ".join(f"'{w}'" for w in words)
    prog = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
            "_sockit; printf '%s\\n' \"${COMPREPLY[@]}\"")
    p = subprocess.run(["bash", "--norc", "-c", prog], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def help_longs(cmd, defined_only=False):
    """Long options --help names: anywhere, or only on the lines that define
    options (those starting with the option, not prose that mentions one)."""
    text = run(cmd, "--help").stdout
    if defined_only:
        text = "\n".join(l for l in text.splitlines() if re.match(r"^  (-\w, )?--", l))
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", text))


def test_bash_completion_comes_from_the_same_tables_as_help(tmp_path):
    script = tmp_path / "sockit.bash"
    p = run("completion", "bash")
    assert p.returncode == 0
    script.write_text(p.stdout)
    cmds = re.findall(r"^  ([a-z][a-z0-9-]+) ", run("--help").stdout, re.M)
    assert set(bash_complete(script, "sockit", "")) >= set(cmds)
    assert "echo-client" in bash_complete(script, "sockit", "ec")
    # Every long option --help shows is completed, and nothing --help hides.
    for cmd in cmds:
        got = {w for w in bash_complete(script, "sockit", cmd, "--") if w.startswith("--")}
        assert help_longs(cmd, defined_only=True) - {"--help"} <= got, cmd
        if cmd not in ("serve",):  # serve --help lists its services' options per service
            assert got <= help_longs(cmd) | {"--help"}, (cmd, got - help_longs(cmd))
    assert "--model" in bash_complete(script, "sockit", "serve", "--mo")
    assert {"echo", "http", "chat"} <= set(bash_complete(script, "sockit", "serve", ""))
    assert "epoll" in bash_complete(script, "sockit", "serve", "echo", "--model", "")
    assert set(bash_complete(script, "sockit", "bench", "")) == {"echo", "http", "models", "stream",
                                                                  "chat"}
    assert "serve" in bash_complete(script, "sockit", "help", "se")


def test_zsh_completion_script():
    p = run("completion", "zsh")
    assert p.returncode == 0 and p.stdout.startswith("#compdef sockit\n")
    assert "'echo-client:interactive or scripted echo client'" in p.stdout
    assert "--eof-wait" in p.stdout and "epoll" in p.stdout
    if shutil.which("zsh"):
        z = subprocess.run(["zsh", "-n"], input=p.stdout, capture_output=True, text=True,
                           timeout=10)
        assert z.returncode == 0, z.stderr


def test_make_install_installs_the_completions(tmp_path):
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    dest = tmp_path / "stage"

    def make(*a):
        m = subprocess.run(["make", "--no-print-directory", "-C", root, *a, "PREFIX=/usr",
                            f"DESTDIR={dest}"], capture_output=True, text=True, timeout=600,
                           env=env)
        assert m.returncode == 0, m.stdout + m.stderr

    make("install")
    bash = dest / "usr/share/bash-completion/completions/sockit"
    zsh = dest / "usr/share/zsh/site-functions/_sockit"
    assert bash.read_text() == run("completion", "bash").stdout
    assert zsh.read_text() == run("completion", "zsh").stdout
    assert "--json" in bash_complete(bash, "sockit", "ping", "--j")
    make("uninstall")
    assert not bash.exists() and not zsh.exists()


# ---- chat: a taken nickname (issue 12 defect 13), colours ----

def chat_member(port, nick):
    """A member who joined as nick (a plain socket, held open)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"/nick {nick}\n".encode())
    buf = b""
    while b"Welcome, " not in buf:
        d = s.recv(4096)
        assert d, buf
        buf += d
    return s


@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")
def test_chat_taken_nick_is_said_and_another_asked(server):
    from test_chat_tty import Tmux
    s = server("chat", "-p", "0")
    alice = chat_member(s.port, "alice")
    t = Tmux()
    try:
        t.start("c", [SOCKIT, "chat", "127.0.0.1", str(s.port), "--nick", "alice"])
        lines = t.wait_text("c", "nickname>")
        assert any("the nickname alice is not available; type another one" in l
                   for l in lines), lines
        t.type("c", "bob")
        t.keys("c", "Enter")
        t.wait_text("c", "*** Welcome, bob!")
        t.wait_text("c", "bob>")
        t.type("c", "/quit")
        t.keys("c", "Enter")
        t.wait_text("c", "EXIT=0")
    finally:
        t.close()
        alice.close()


def test_chat_taken_nick_from_a_pipe_fails_instead_of_renaming(server):
    """From a pipe the next line is a message: it must not become the
    nickname. The client says the nick is taken and exits 1."""
    s = server("chat", "-p", "0")
    alice = chat_member(s.port, "alice")
    try:
        p = run("chat", "127.0.0.1", str(s.port), "--nick", "alice", input="hello\nworld\n")
        assert p.returncode == 1, p.stdout + p.stderr
        assert "the nickname alice is taken" in p.stderr
        alice.sendall(b"/who\n")
        buf = b""
        while b"here:" not in buf:
            buf += alice.recv(4096)
        assert b"hello" not in buf and b"world" not in buf, buf
    finally:
        alice.close()


def test_chat_colour_resets_before_the_line_end(server):
    """On a terminal every coloured line ends its colour before the line
    end, so the prompt and the next line start uncoloured."""
    import pty
    import select as sel
    s = server("chat", "-p", "0")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(SOCKIT, [SOCKIT, "chat", "127.0.0.1", str(s.port), "--nick", "zed"])
    buf = b""
    try:
        def read_for(sec):
            nonlocal buf
            end = time.monotonic() + sec
            while time.monotonic() < end:
                if sel.select([fd], [], [], 0.1)[0]:
                    try:
                        buf += os.read(fd, 4096)
                    except OSError:
                        return
        read_for(1.5)
        os.write(fd, b"/me waves\r")
        read_for(0.5)
        os.write(fd, b"/quit\r")
        read_for(1.5)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    coloured = re.findall(rb"\x1b\[(?:36|35|1)m([^\n]*)\n", buf)
    assert len(coloured) >= 3, buf
    for line in coloured:
        assert re.search(rb"\x1b\[0m\r*$", line), line


# ---- make demo's ending (issue 12, friction) ----

def test_demo_ends_with_chart_urls_and_a_three_line_verdict(tmp_path):
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
    out = tmp_path / "demo out"  # a space, to check the URL encoding
    env = dict(os.environ, DEMO_SOCKIT=RELEASE, DEMO_OUT=str(out), DEMO_DURATION="150ms",
               DEMO_CONNS_ECHO="1,4", DEMO_CONNS_HTTP="4")
    p = subprocess.run([os.path.join(root, "scripts/demo.sh")], capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr
    tail = p.stdout.rstrip("\n").split("\n")
    verdict = tail[-3:]
    assert [v.split(":")[0].strip() for v in verdict] == ["TCP echo", "HTTP", "UDP echo"]
    for v in verdict:
        m = re.search(r":\s+([a-z]+), ([0-9]+) req/s at \d+ conns?, ([0-9.]+)x the next "
                      r"\(([a-z]+), ", v)
        assert m, v
        assert float(m.group(3)) >= 1.0 and m.group(1) != m.group(4)
    urls = re.findall(r"^  (file://\S+)$", p.stdout, re.M)
    assert len(urls) == 3, p.stdout[-2000:]
    for u in urls:
        path = u[len("file://"):].replace("%20", " ").replace("%25", "%")
        assert os.path.isabs(path) and os.path.exists(path), u


# ---- plurals (issue 12 defect 14) ----

def test_counts_of_one_are_singular(server, tmp_path):
    s = server("echo", "-p", "0")
    p = run("echo-client", "--no-newline", "-m", "x", "127.0.0.1", str(s.port))
    assert re.search(r"^1 byte from 127\.0\.0\.1:\d+: seq=1 ", p.stdout, re.M), p.stdout
    assert "1 request, 1 answered" in p.stdout
    p = run("bench", "models", "echo", "--models", "epoll,thread", "--conns", "1", "-d", "200ms",
            "--out", str(tmp_path), timeout=60)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^fastest: [a-z]+, \d+ req/s at 1 conn, ", p.stdout, re.M), p.stdout
    svg = (tmp_path / "echo.svg").read_text()
    assert " at 1 connection: " in svg and " at 1 connections" not in svg


# ---- an argument that does nothing is an error (issue 12 defect 8) ----

@pytest.mark.parametrize("args,says", [
    (("echo-client", "-r", "1", "-m", "x"), "--retries is for UDP"),
    (("echo-client", "--linger", "1", "-m", "x"), "--linger is for UDP scripted runs"),
    (("echo-client", "-u", "--pause", "1", "-m", "x"), "--pause is for TCP"),
    (("echo-client", "--size", "10", "-m", "x"), "--size is the size of --count messages"),
    (("echo-client", "--prompt", "p", "-m", "x"), "--prompt is for interactive use"),
    (("echo-client", "-i", "1"), "--interval and --quiet are for scripted runs"),
    (("bench", "http", "-s", "10", "http://127.0.0.1:1/"), "-s is the echo message size"),
    (("bench", "echo", "--path", "/x", "127.0.0.1", "7"), "--path is for http"),
], ids=lambda a: " ".join(a) if isinstance(a, tuple) else "")
def test_an_argument_that_does_nothing_is_an_error(args, says):
    p = run(*args, "127.0.0.1", "7") if args[0] == "echo-client" else run(*args)
    assert p.returncode == 2, p
    assert says in p.stderr.splitlines()[0], p.stderr
