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

@pytest.mark.parametrize("udp", [False, True], ids=["tcp", "udp"])
def test_echo_client_interrupted_reports_every_request_exit_130(server, udp):
    """--count 100000 -i 0.1 stopped by Ctrl-C: every request sent is
    answered, lost or interrupted, and the exit status says interrupted."""
    s = server("echo", *(["-u"] if udp else []), "-p", "0")
    p = start("echo-client", *(["-u"] if udp else []), "--count", "100000", "-i", "0.1", "-q",
              "127.0.0.1", str(s.port))
    rc, out, err = interrupt_after(p, 0.75)
    assert rc == 130, out + err
    m = re.search(r"(\d+) requests?, (\d+) answered, (\d+) lost \([0-9.]+%\)(?:, (\d+) interrupted)?",
                  out)
    assert m, out
    req, ans, lost, intr = (int(x or 0) for x in m.groups())
    assert req >= 2 and req == ans + lost + intr, out


def test_echo_client_interrupted_while_waiting_counts_interrupted(server):
    s = server("discard", "-p", "0")
    p = start("echo-client", "-m", "anyone?", "-w", "10", "127.0.0.1", str(s.port))
    rc, out, err = interrupt_after(p, 0.5)
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
