"""The interactive clients as a person uses them: `sockit chat` and
`sockit p2p` in tmux panes, typed into with send-keys and read with
capture-pane. Checks that incoming text does not tear the prompt line and
that /quit (or Ctrl-D) ends both p2p sides with a notice."""
import os
import re
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from conftest import SOCKIT, SANITIZER_RE
from test_chat import MODELS

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """A private tmux server (its own socket) for one test."""

    def __init__(self):
        self.sock = f"sockit-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.sessions = []

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True,
                              timeout=10, check=check)

    def start(self, name, argv):
        """Run argv in a 120x30 pane; the exit status is printed after it."""
        cmd = " ".join(_quote(a) for a in argv) + "; echo EXIT=$?; sleep 60"
        self.tmux("new-session", "-d", "-x", "120", "-y", "30", "-s", name, cmd)
        self.sessions.append(name)

    def keys(self, name, *keys):
        self.tmux("send-keys", "-t", name, *keys)

    def type(self, name, text):
        self.tmux("send-keys", "-t", name, "-l", text)

    def lines(self, name):
        out = self.tmux("capture-pane", "-p", "-t", name).stdout
        assert not SANITIZER_RE.search(out), out
        return [l.rstrip() for l in out.splitlines() if l.strip()]

    def wait(self, name, pred, timeout=10):
        """Wait until pred(lines) is true; returns the lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines(name)
            if pred(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"pane {name}: condition not met:\n" + "\n".join(lines))
            time.sleep(0.1)

    def wait_text(self, name, text, timeout=10):
        return self.wait(name, lambda ls: any(text in l for l in ls), timeout)

    def close(self):
        for s in self.sessions:
            self.tmux("kill-session", "-t", s, check=False)
        self.tmux("kill-server", check=False)


def _quote(a):
    return "'" + a.replace("'", "'\\''") + "'"


@pytest.fixture
def tmux():
    t = Tmux()
    try:
        yield t
    finally:
        t.close()


def last(lines):
    return lines[-1] if lines else ""


class Bob:
    """A plain socket client in the room."""

    def __init__(self, srv, nick="bob"):
        self.s = socket.create_connection(srv.addr, timeout=10)
        self.buf = b""
        self.s.sendall(nick.encode() + b"\n")

    def wait(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.buf:
            assert time.monotonic() < deadline, self.buf
            self.s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            if not d:
                break
            self.buf += d
        assert text.encode() in self.buf, self.buf

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")


needs_chat = pytest.mark.skipif(not MODELS, reason="no model of this build carries chat yet")


@needs_chat
def test_chat_prompt_is_not_torn_by_incoming_messages(server, tmux):
    srv = server("chat", "--model", MODELS[0], "-p", "0")
    tmux.start("alice", [SOCKIT, "chat", srv.host, str(srv.port), "--nick", "alice",
                         "--timestamps"])
    tmux.wait("alice", lambda ls: last(ls) == "alice>")
    bob = Bob(srv)
    try:
        bob.wait("*** Welcome, bob!")
        tmux.type("alice", "hello wor")
        tmux.wait("alice", lambda ls: last(ls) == "alice> hello wor")
        bob.send("incoming \x1b[31mred\x1b[0m \x1b]0;title\x07message")
        lines = tmux.wait("alice", lambda ls: any("<bob> incoming" in l for l in ls))
        # The message is printed above the prompt, cleaned, with its time;
        # the prompt and the half-typed line are intact below it.
        msg = [l for l in lines if "<bob> incoming" in l][0]
        assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] <bob> incoming red message", msg), msg
        assert last(lines) == "alice> hello wor"
        assert any("*** bob joined" in l for l in lines)      # a notice, set apart
        tmux.type("alice", "ld")
        tmux.keys("alice", "Enter")
        bob.wait("<alice> hello world")
        lines = tmux.wait("alice", lambda ls: any("<alice> hello world" in l for l in ls))
        assert last(lines) == "alice>"
        # Backspace and Ctrl-U edit the line before it is sent.
        tmux.type("alice", "typo")
        tmux.keys("alice", "BSpace", "BSpace")
        tmux.type("alice", "!")
        tmux.wait("alice", lambda ls: last(ls) == "alice> ty!")
        tmux.keys("alice", "C-u")
        # Cursor keys move within the line; Up recalls what was sent.
        tmux.type("alice", "helo")
        tmux.keys("alice", "Left")
        tmux.type("alice", "l")
        tmux.wait("alice", lambda ls: last(ls) == "alice> hello")
        tmux.keys("alice", "Home")
        tmux.type("alice", "o ")
        tmux.wait("alice", lambda ls: last(ls) == "alice> o hello")
        tmux.keys("alice", "Enter")
        bob.wait("<alice> o hello")
        tmux.keys("alice", "Up")
        tmux.wait("alice", lambda ls: last(ls) == "alice> o hello")
        tmux.keys("alice", "C-a", "C-k")
        tmux.wait("alice", lambda ls: last(ls) == "alice>")
        tmux.type("alice", "/me waves")
        tmux.keys("alice", "Enter")
        bob.wait("* alice waves")
        tmux.type("alice", "/quit")
        tmux.keys("alice", "Enter")
        tmux.wait_text("alice", "EXIT=0")
        bob.wait("*** alice left (quit)")
    finally:
        bob.s.close()


@needs_chat
def test_chat_client_reports_the_server_going_away(server, tmux):
    srv = server("chat", "--model", MODELS[0], "-p", "0")
    tmux.start("c", [SOCKIT, "chat", srv.host, str(srv.port), "--nick", "carol"])
    tmux.wait_text("c", "*** Welcome, carol!")
    srv.stop()
    lines = tmux.wait_text("c", "EXIT=1")
    assert any("the server closed the connection" in l for l in lines)


@pytest.mark.parametrize("how", ["/quit", "C-d"])
def test_p2p_both_sides_type_at_any_time(tmux, how):
    tmux.start("l", [SOCKIT, "p2p", "--listen", "0"])
    lines = tmux.wait_text("l", "waiting for a peer")
    m = re.search(r"p2p listening on 127\.0\.0\.1:(\d+)", "\n".join(lines))
    assert m, lines
    port = m.group(1)
    tmux.start("c", [SOCKIT, "p2p", "127.0.0.1", port])
    tmux.wait_text("c", "*** connected with 127.0.0.1:" + port)
    tmux.wait_text("l", "*** connected with 127.0.0.1:")
    p2p_talk_and_leave(tmux, how)


def p2p_talk_and_leave(tmux, how):
    """Panes l (listening) and c (connected) talk, then c leaves by how
    ("/quit" or "C-d"); both end with their notice and status 0."""
    # The listener is halfway through a line when the other side speaks.
    tmux.type("l", "half a li")
    tmux.wait("l", lambda ls: last(ls) == "p2p> half a li")
    tmux.type("c", "hi there \x1b[2J")
    tmux.keys("c", "Enter")
    lines = tmux.wait("l", lambda ls: any("<peer> hi there" in l for l in ls))
    assert last(lines) == "p2p> half a li"
    tmux.wait_text("c", "<you> hi there")
    tmux.type("l", "ne")
    tmux.keys("l", "Enter")
    tmux.wait_text("c", "<peer> half a line")
    tmux.wait_text("l", "<you> half a line")

    # Either way of leaving ends both sides, each with a notice, status 0.
    if how == "/quit":
        tmux.type("c", "/quit")
        tmux.keys("c", "Enter")
    else:
        tmux.keys("c", "C-d")
    lines = tmux.wait_text("c", "EXIT=0")
    assert any("*** you left" in l for l in lines)
    lines = tmux.wait_text("l", "EXIT=0")
    assert any("*** the peer left" in l for l in lines)
