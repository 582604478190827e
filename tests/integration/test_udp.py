"""UDP: sockit's datagram models (plain, batch, uring) against Python, socat
and the seeds' UDP client; sockit's UDP echo client against peers that drop,
duplicate, delay, or answer from another address."""
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import SEEDS, SOCKIT, SANITIZER_RE, run

MODELS = ["plain", "batch", "uring"]


def uring_refusal():
    p = run("serve", "--list")
    for line in p.stdout.splitlines():
        if line.startswith("uring") and " udp " in line and "refused" in line:
            return line
    return None


def udp_server(server, model, *extra, bind="127.0.0.1"):
    if model == "uring":
        why = uring_refusal()
        if why:
            pytest.skip(f"io_uring is refused here: {why}")
    return server("echo", "-u", "--model", model, "-b", bind, "-p", "0", *extra)


def client_for(s, timeout=5):
    fam = socket.AF_INET6 if ":" in s.host else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_DGRAM)
    c.settimeout(timeout)
    return c


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("bind", ["127.0.0.1", "::1"], ids=["v4", "v6"])
def test_datagrams_echo_intact_up_to_65507(server, model, bind):
    s = udp_server(server, model, bind=bind)
    assert f"(udp, model {model})" in s.first
    with client_for(s) as c:
        for size in (0, 1, 100, 1472, 9000, 65507):  # an empty one too, as inetd did
            d = os.urandom(size)
            c.sendto(d, s.addr)
            r, a = c.recvfrom(70000)
            assert r == d, size
            assert a[1] == s.port
    assert s.stop() == 0
    assert re.search(r"stopped: 6 datagrams, .* (\d+) bytes in, \1 bytes out", s.stdout_rest), \
        s.stdout_rest


@pytest.mark.parametrize("model", MODELS)
def test_truncated_datagram_is_logged_never_echoed(server, model):
    s = udp_server(server, model, "--max-input", "1k")
    with client_for(s, timeout=0.5) as c:
        c.sendto(b"t" * 2000, s.addr)
        with pytest.raises(socket.timeout):
            c.recvfrom(70000)
        c.sendto(b"w" * 1024, s.addr)  # exactly fits
        assert c.recvfrom(70000)[0] == b"w" * 1024
    s.stop()
    assert "truncated: 2000 bytes do not fit the 1024-byte buffer" in s.stderr, s.stderr
    assert "1 error," in s.stdout_rest  # singular (issue 12, item 14)


@pytest.mark.parametrize("model", MODELS)
def test_many_clients_and_two_workers(server, model):
    s = udp_server(server, model, "--workers", "2")
    # Two workers (threads) on ONE socket: no SO_REUSEPORT group that another
    # server could join and take half the datagrams from (issue 12, item 3).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if len(os.listdir(f"/proc/{s.pid}/task")) >= 2:
            break
        time.sleep(0.05)
    assert len(os.listdir(f"/proc/{s.pid}/task")) >= 2
    ss = subprocess.run(["ss", "-Huln", f"sport = :{s.port}"], capture_output=True,
                        text=True).stdout
    assert len(ss.strip().splitlines()) == 1, ss
    socks = [client_for(s) for _ in range(16)]
    try:
        for i, c in enumerate(socks):
            c.sendto(b"client %d" % i, s.addr)
        for i, c in enumerate(socks):
            assert c.recvfrom(100)[0] == b"client %d" % i
    finally:
        for c in socks:
            c.close()
    assert s.stop() == 0
    assert "16 datagrams" in s.stdout_rest


def test_socat_peer(server):
    s = udp_server(server, "batch")
    p = subprocess.run(["socat", "-t", "0.5", "-", f"UDP:127.0.0.1:{s.port}"],
                       input=b"hello over socat\n", capture_output=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello over socat\n"


def test_the_seeds_udp_client_against_sockit(server):
    s = udp_server(server, "plain")
    p = subprocess.run([sys.executable, os.path.join(SEEDS, "seed_udp_echo_client.py"),
                        "127.0.0.1", str(s.port)], input="hello\nworld\nq\n",
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "Received: hello" in p.stdout and "Received: world" in p.stdout


def test_connect_udp_against_sockit_server(server):
    s = udp_server(server, "batch")
    p = subprocess.run([SOCKIT, "connect", "-u", "-w", "0.3", "-v", "127.0.0.1", str(s.port)],
                       input=b"a datagram\n", capture_output=True, timeout=10)
    assert not SANITIZER_RE.search(p.stderr.decode())
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"a datagram\n"
    assert b"(1 datagram sent, 1 received)" in p.stderr  # singular (issue 12)


def test_connect_udp_refused_port_is_reported():
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    holder.close()
    p = run("connect", "-u", "-w", "0.5", "127.0.0.1", str(port), input="x\n")
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        f"sockit: connect: 127.0.0.1 port {port}: Connection refused"]


# ---- sockit's UDP echo client against scripted peers ----

class Peer:
    """A UDP echo peer in a thread. behave(n, data, addr, sock) decides what
    to do with the n-th datagram (1-based): return the list of (delay,
    payload, via_socket) to send back."""

    def __init__(self, behave):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.behave = behave
        self.n = 0
        self.stopping = False
        self.timers = []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            try:
                d, a = self.s.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            self.n += 1
            for delay, payload, via in self.behave(self.n, d, a, self):
                sock = self.other if via == "other" else self.s
                if delay:
                    t = threading.Timer(delay, sock.sendto, (payload, a))
                    t.start()
                    self.timers.append(t)
                else:
                    sock.sendto(payload, a)

    def close(self):
        self.stopping = True
        self.t.join(5)
        for t in self.timers:
            t.join(5)
        self.s.close()
        self.other.close()


def echo_client(peer, *args, timeout=30):
    return run("echo-client", "-u", *args, "127.0.0.1", str(peer.port), timeout=timeout)


def counts(out):
    m = re.search(r"(\d+) requests?, (\d+) answered, (\d+) lost \([0-9.]+%\), "
                  r"(\d+) retransmitted\n(\d+) late, (\d+) duplicate, (\d+) foreign, "
                  r"(\d+) mismatched", out)
    assert m, out
    keys = ("requests", "answered", "lost", "retransmitted", "late", "duplicate", "foreign",
            "mismatched")
    return dict(zip(keys, (int(x) for x in m.groups())))


def lost_seqs(out):
    return [int(x) for x in re.findall(r"^seq=(\d+): no reply", out, re.M)]


def test_drop_every_third_is_reported_exactly():
    peer = Peer(lambda n, d, a, p: [] if n % 3 == 0 else [(0, d, "self")])
    try:
        p = echo_client(peer, "--count", "9", "--timeout", "0.5")
    finally:
        peer.close()
    c = counts(p.stdout)
    assert c == dict(requests=9, answered=6, lost=3, retransmitted=0, late=0, duplicate=0,
                     foreign=0, mismatched=0), p.stdout
    assert lost_seqs(p.stdout) == [3, 6, 9]
    assert p.returncode == 1


def test_retries_recover_every_third_drop():
    peer = Peer(lambda n, d, a, p: [] if n % 3 == 0 else [(0, d, "self")])
    try:
        p = echo_client(peer, "--count", "9", "--timeout", "0.5", "--retries", "1")
    finally:
        peer.close()
    c = counts(p.stdout)
    # Datagrams 3, 6, 9, 12 are dropped: seq 3, 5, 7 and 9 need a second try.
    assert c["answered"] == 9 and c["lost"] == 0 and c["retransmitted"] == 4, p.stdout
    assert p.stdout.count("(try 2)") == 4
    assert p.returncode == 0


def test_duplicates_are_counted_not_answers():
    peer = Peer(lambda n, d, a, p: [(0, d, "self"), (0, d, "self")])
    try:
        p = echo_client(peer, "--count", "5", "--timeout", "0.5", "--linger", "0.3")
    finally:
        peer.close()
    c = counts(p.stdout)
    assert c["answered"] == 5 and c["duplicate"] == 5 and c["lost"] == 0, p.stdout
    assert p.stdout.count(" bytes from ") == 5
    assert p.returncode == 0


def test_late_reply_is_counted_as_late():
    peer = Peer(lambda n, d, a, p: [(1.0 if n == 2 else 0, d, "self")])
    try:
        p = echo_client(peer, "--count", "4", "--timeout", "0.4", "--linger", "1.2")
    finally:
        peer.close()
    c = counts(p.stdout)
    assert c["answered"] == 3 and c["lost"] == 1 and c["late"] == 1, p.stdout
    assert c["duplicate"] == 0
    assert lost_seqs(p.stdout) == [2]


def test_reply_from_another_address_is_ignored_and_counted():
    peer = Peer(lambda n, d, a, p: [(0, d, "other"), (0.02, d, "self")])
    try:
        p = echo_client(peer, "--count", "3", "--timeout", "0.5")
    finally:
        peer.close()
    c = counts(p.stdout)
    assert c["answered"] == 3 and c["foreign"] == 3 and c["lost"] == 0, p.stdout
    assert p.returncode == 0


def test_udp_echo_client_messages_against_the_seeds_server():
    proc = subprocess.Popen([sys.executable, os.path.join(SEEDS, "seed_udp_echo_server.py"), "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"port (\d+)", proc.stdout.readline()).group(1))
        p = run("echo-client", "-u", "-n", "-m", "hello", "-m", "world", "127.0.0.1", str(port))
    finally:
        proc.kill()
        proc.wait(5)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"5 bytes from 127\.0\.0\.1:\d+: seq=1 time=[0-9.]+ ms: hello", p.stdout)
    assert counts(p.stdout)["answered"] == 2


@pytest.mark.parametrize("model", MODELS)
def test_udp_echo_client_against_sockit_server(server, model):
    s = udp_server(server, model)
    p = run("echo-client", "-u", "--count", "20", "--size", "1200", "-q", "127.0.0.1",
            str(s.port))
    assert p.returncode == 0, p.stdout + p.stderr
    c = counts(p.stdout)
    assert c["answered"] == 20 and c["mismatched"] == 0
    assert "bytes from" not in p.stdout  # -q: the statistics only


def test_udp_interactive_piped(server):
    s = udp_server(server, "batch")
    p = run("echo-client", "-u", "--quit", "q", "127.0.0.1", str(s.port),
            input="first\nsecond\nq\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "first\nsecond\n"


def test_udp_echo_client_over_ipv6(server):
    s = udp_server(server, "batch", bind="::1")
    p = run("echo-client", "-u", "-6", "--count", "5", "--size", "500", "::1", str(s.port))
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"500 bytes from \[::1\]:\d+: seq=5 ", p.stdout)
    assert counts(p.stdout)["answered"] == 5
