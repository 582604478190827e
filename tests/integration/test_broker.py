"""sockit listen --broker: every client's bytes go to all the others (ncat's
broker), on the event core; a client that stops reading is disconnected
without holding up the others."""
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT, proc_status_kb, recv_exactly


class Broker:
    def __init__(self, *args):
        self.proc = subprocess.Popen([SOCKIT, "listen", "--broker", "-p", "0", *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        line = b""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 10
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            if sel.select(0.2):
                ch = os.read(self.proc.stderr.fileno(), 1)
                if not ch:
                    break
                line += ch
        m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise AssertionError(line)
        self.first = line.decode()
        self.port = int(m.group(1))
        self.pid = self.proc.pid
        self.stderr = ""

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return s

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        out, err = self.proc.communicate(timeout=5)
        self.stderr += err.decode(errors="replace")
        assert not SANITIZER_RE.search(self.stderr), self.stderr
        return self.proc.returncode


@pytest.fixture
def broker():
    started = []

    def start(*args):
        b = Broker(*args)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


def wait_members(b, socks, n=None):
    """Make sure the broker has taken every connection: each one says hello
    and every other one hears it."""
    for i, s in enumerate(socks):
        s.sendall(b"hello %d\n" % i)
        want = b"hello %d\n" % i
        for j, t in enumerate(socks):
            if j != i:
                assert recv_exactly(t, len(want)) == want


def test_bytes_go_to_all_others_not_back(broker):
    b = broker()
    assert "broker" in b.first
    socks = [b.connect() for _ in range(4)]
    try:
        wait_members(b, socks)
        payload = os.urandom(300000)
        socks[2].sendall(payload)
        for j, t in enumerate(socks):
            if j != 2:
                assert recv_exactly(t, len(payload)) == payload, j
        socks[2].settimeout(0.3)
        with pytest.raises(socket.timeout):
            socks[2].recv(1)  # nothing comes back to the sender
    finally:
        for s in socks:
            s.close()


def test_a_client_that_leaves_does_not_disturb_the_others(broker):
    b = broker()
    socks = [b.connect() for _ in range(3)]
    try:
        wait_members(b, socks)
        socks[0].close()
        time.sleep(0.1)
        socks[1].sendall(b"still here\n")
        assert recv_exactly(socks[2], 11) == b"still here\n"
    finally:
        for s in socks:
            s.close()


def test_stalled_reader_is_dropped_others_served_memory_bounded(broker):
    b = broker()
    sender, good, stalled = b.connect(), b.connect(), b.connect()
    try:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        wait_members(b, [sender, good, stalled])
        rss0 = proc_status_kb(b.pid)
        chunk = os.urandom(64 * 1024)
        total = 0
        deadline = time.monotonic() + 15
        dropped = False
        good.settimeout(10)
        os.set_blocking(b.proc.stderr.fileno(), False)
        log = b""
        while time.monotonic() < deadline and total < 256 * 1024 * 1024:
            sender.sendall(chunk)
            assert recv_exactly(good, len(chunk)) == chunk
            total += len(chunk)
            try:
                log += os.read(b.proc.stderr.fileno(), 65536) or b""
            except BlockingIOError:
                pass
            if b"dropped: " in log:
                dropped = True
                break
        assert dropped, "the stalled reader was never disconnected"
        rss1 = proc_status_kb(b.pid)
        assert rss1 - rss0 < 48 * 1024, (rss0, rss1)
        # (What the kernel already took for it still trickles to it.)
        b.stderr = log.decode(errors="replace")
    finally:
        for s in (sender, good, stalled):
            s.close()
    assert b.stop() == 130
    assert "dropped: " in b.stderr


@pytest.mark.skipif(not shutil.which("nc"), reason="needs nc")
def test_with_nc_clients(broker):
    b = broker()
    listener = b.connect()
    try:
        wait_members(b, [listener])
        p = subprocess.run(["nc", "-N", "127.0.0.1", str(b.port)], input=b"from nc\n",
                           capture_output=True, timeout=10)
        assert p.returncode == 0
        assert recv_exactly(listener, 8) == b"from nc\n"
    finally:
        listener.close()


@pytest.mark.skipif(not shutil.which("ncat"), reason="needs ncat")
def test_with_ncat_clients(broker):
    b = broker()
    py = b.connect()
    wait_members(b, [py])
    talker = subprocess.Popen(["ncat", "127.0.0.1", str(b.port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        # ncat's line reaching us says it is connected; then ours reaches it.
        talker.stdin.write(b"from ncat\n")
        talker.stdin.flush()
        assert recv_exactly(py, 10) == b"from ncat\n"
        py.sendall(b"to ncat\n")
        sel = selectors.DefaultSelector()
        sel.register(talker.stdout, selectors.EVENT_READ)
        assert sel.select(10)
        assert os.read(talker.stdout.fileno(), 100) == b"to ncat\n"
    finally:
        py.close()
        talker.kill()
        talker.wait()


def test_usage():
    p = subprocess.run([SOCKIT, "listen", "--broker", "-u", "-p", "0"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2 and "--broker" in p.stderr
