"""`sockit serve relay --udp` (issue 14): a UDP port forwarder under every
datagram model (plain, batch, uring). Each client address gets a flow: its
own socket connected to the next --to, created on its first datagram,
closed when idle or refused, at most --max-conns of them. Peers: Python
sockets, `sockit serve echo -u`, socat and nc."""
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import SOCKIT_TSAN, available_models

MODELS = available_models("udp", "relay")


def fd_count(pid):
    """The sockets pid holds (listeners and flows; not its epoll set or ring,
    which the loops make after the listening line)."""
    n = 0
    for f in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{f}").startswith("socket:")
        except OSError:
            pass
    return n


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


class UdpPeer:
    """A Python UDP upstream on loopback: answers each datagram with
    tag + the datagram, and remembers which source addresses it heard."""

    def __init__(self, tag=b"", family=socket.AF_INET):
        self.s = socket.socket(family, socket.SOCK_DGRAM)
        self.s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.tag = tag
        self.sources = set()
        self.count = 0
        self.done = False
        self.s.settimeout(0.1)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.done:
            try:
                d, a = self.s.recvfrom(70000)
            except (socket.timeout, OSError):
                continue
            self.sources.add(a[:2])
            self.count += 1
            self.s.sendto(self.tag + d, a)

    def close(self):
        self.done = True
        self.t.join(timeout=2)
        self.s.close()


@pytest.fixture
def peers():
    made = []

    def make(*a, **kw):
        p = UdpPeer(*a, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def relay(server, model, *to, extra=(), binary=None):
    args = ["relay", "-u", "--model", model, "-b", "127.0.0.1"]
    for t in to:
        args += ["--to", t]
    return server(*args, *extra, binary=binary)


def client(timeout=5):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(("127.0.0.1", 0))
    c.settimeout(timeout)
    return c


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: datagrams there get ICMP port unreachable
    return port


@pytest.mark.parametrize("model", MODELS)
def test_byte_exact_1_byte_to_60k_through_every_model(server, peers, model):
    up = peers()
    r = relay(server, model, f"127.0.0.1:{up.port}")
    assert f"(udp, model {model})" in r.first
    with client() as c:
        for size in (1, 2, 100, 1472, 9000, 60 * 1024):
            d = os.urandom(size)
            c.sendto(d, r.addr)
            got, a = c.recvfrom(70000)
            assert got == d, size  # one datagram back, boundaries kept
            assert a == r.addr  # from the relay's own port
    assert len(up.sources) == 1  # one flow, one upstream socket
    assert r.stop() == 0
    assert "6 datagrams" in r.stdout_rest, r.stdout_rest


@pytest.mark.parametrize("model", MODELS)
def test_two_clients_get_only_their_own_replies(server, peers, model):
    up = peers()
    r = relay(server, model, f"127.0.0.1:{up.port}")
    a, b = client(), client()
    try:
        for i in range(20):
            a.sendto(b"a%d" % i, r.addr)
            b.sendto(b"b%d" % i, r.addr)
        ga = sorted(a.recvfrom(100)[0] for _ in range(20))
        gb = sorted(b.recvfrom(100)[0] for _ in range(20))
        assert ga == sorted(b"a%d" % i for i in range(20))
        assert gb == sorted(b"b%d" % i for i in range(20))
        a.settimeout(0.2)
        with pytest.raises(socket.timeout):
            a.recvfrom(100)  # nothing more, nothing of b's
    finally:
        a.close()
        b.close()
    assert len(up.sources) == 2  # a socket per client


def many_clients(r, n=8, rounds=10):
    """n clients at once, each sending rounds datagrams; each must get its
    own back, all of them and nothing else."""
    cs = [client() for _ in range(n)]
    try:
        for k in range(rounds):
            for i, c in enumerate(cs):
                c.sendto(b"%d:%d" % (i, k), r.addr)
        for i, c in enumerate(cs):
            got = sorted(c.recvfrom(100)[0] for _ in range(rounds))
            assert got == sorted(b"%d:%d" % (i, k) for k in range(rounds)), i
    finally:
        for c in cs:
            c.close()


@pytest.mark.parametrize("model", MODELS)
def test_workers_share_one_flow_per_client(server, peers, model):
    """Two workers read the one listening socket: a client's datagrams may
    reach either, and still go out on its one flow."""
    up = peers()
    r = relay(server, model, f"127.0.0.1:{up.port}", extra=("--workers", "2"))
    many_clients(r)
    assert len(up.sources) == 8


@pytest.mark.skipif(not os.path.exists(SOCKIT_TSAN), reason="build/tsan/sockit not built")
@pytest.mark.parametrize("model", MODELS)
def test_workers_under_tsan(server, peers, model):
    up = peers()
    r = relay(server, model, f"127.0.0.1:{up.port}", binary=SOCKIT_TSAN,
              extra=("--workers", "2", "--idle-timeout", "0.2"))
    many_clients(r)
    time.sleep(0.4)  # every flow expires, on whichever thread looks first
    many_clients(r, n=2, rounds=3)
    assert r.alive()


def test_round_robin_over_two_upstreams(server, peers):
    pa, pb = peers(b"A:"), peers(b"B:")
    r = relay(server, "batch", f"127.0.0.1:{pa.port}", f"127.0.0.1:{pb.port}")
    tags = []
    cs = [client() for _ in range(4)]
    try:
        for c in cs:
            c.sendto(b"x", r.addr)
            tags.append(c.recvfrom(100)[0])
        for c, t in zip(cs, tags):  # a flow stays with its upstream
            c.sendto(b"y", r.addr)
            assert c.recvfrom(100)[0] == t[:2] + b"y"
    finally:
        for c in cs:
            c.close()
    assert sorted(tags) == [b"A:x", b"A:x", b"B:x", b"B:x"]
    assert len(pa.sources) == 2 and len(pb.sources) == 2


@pytest.mark.parametrize("model", MODELS)
def test_idle_flow_is_closed_and_its_socket_freed(server, peers, model):
    up = peers()
    r = relay(server, model, f"127.0.0.1:{up.port}",
              extra=("-v", "--idle-timeout", "1"))
    base = fd_count(r.pid)
    with client() as c:
        c.sendto(b"hello", r.addr)
        assert c.recvfrom(100)[0] == b"hello"
        # Counted within the idle second (0.3 s was seen to pass first at
        # load 15, the flow already closed).
        assert fd_count(r.pid) == base + 1
        assert wait_for(lambda: fd_count(r.pid) == base, 5)
        c.sendto(b"again", r.addr)  # a new flow for the same client
        assert c.recvfrom(100)[0] == b"again"
    r.stop()
    assert "closed (idle)" in r.stderr, r.stderr
    assert r.stderr.count("opened (1 flows)") == 2, r.stderr


@pytest.mark.parametrize("model", MODELS)
def test_refusing_upstream_does_not_stop_the_others(server, peers, model):
    up = peers()
    r = relay(server, model, f"127.0.0.1:{free_udp_port()}", f"127.0.0.1:{up.port}")
    a, b = client(timeout=0.3), client()
    try:
        a.sendto(b"to nobody", r.addr)  # the first flow: the refusing upstream
        with pytest.raises(socket.timeout):
            a.recvfrom(100)
        b.sendto(b"served", r.addr)
        assert b.recvfrom(100)[0] == b"served"
        # The refusal closed a's flow: its next datagram gets a new one.
        got = None
        for _ in range(6):
            a.sendto(b"retry", r.addr)
            try:
                got = a.recvfrom(100)[0]
                break
            except socket.timeout:
                continue
        assert got == b"retry"
        b.sendto(b"still", r.addr)
        assert b.recvfrom(100)[0] == b"still"
    finally:
        a.close()
        b.close()
    assert r.alive()
    r.stop()
    assert "Connection refused: flow closed" in r.stderr, r.stderr


@pytest.mark.parametrize("model", MODELS)
def test_the_client_bound_holds(server, peers, model):
    up = peers()
    r = relay(server, model, f"127.0.0.1:{up.port}", extra=("--max-conns", "2"))
    base = fd_count(r.pid)
    cs = [client() for _ in range(5)]
    try:
        for i, c in enumerate(cs):
            c.sendto(b"c%d" % i, r.addr)
            assert c.recvfrom(100)[0] == b"c%d" % i  # new ones are served
            assert fd_count(r.pid) <= base + 2
    finally:
        for c in cs:
            c.close()
    r.stop()
    assert "the least recently active flow" in r.stderr, r.stderr


def test_ipv6_upstream(server, peers):
    try:
        up = peers(family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    r = relay(server, "batch", f"[::1]:{up.port}")
    with client() as c:
        c.sendto(b"over v6", r.addr)
        assert c.recvfrom(100)[0] == b"over v6"
    assert all(h == "::1" for h, _ in up.sources)


def test_socat_and_nc_as_clients_sockit_echo_upstream(server):
    echo = server("echo", "-u", "-b", "127.0.0.1")
    r = relay(server, "plain", f"127.0.0.1:{echo.port}")
    p = subprocess.run(["socat", "-t", "0.5", "-", f"UDP:127.0.0.1:{r.port}"],
                       input=b"through socat\n", capture_output=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"through socat\n"
    nc = shutil.which("nc")
    if nc:
        p = subprocess.run([nc, "-u", "-w", "1", "127.0.0.1", str(r.port)],
                           input=b"through nc\n", capture_output=True, timeout=10)
        assert p.stdout == b"through nc\n", p.stderr


def test_denied_source_never_reaches_the_upstream(server, peers):
    up = peers()
    r = relay(server, "batch", f"127.0.0.1:{up.port}", extra=("--deny", "127.0.0.0/8"))
    with client(timeout=0.3) as c:
        c.sendto(b"no", r.addr)
        with pytest.raises(socket.timeout):
            c.recvfrom(100)
    assert up.count == 0


def test_unix_upstream_is_refused_for_udp(tmp_path):
    from conftest import run
    p = run("serve", "relay", "-u", "-p", "0", "--to", f"unix:{tmp_path}/s")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert len(p.stderr.strip().splitlines()) <= 2
    assert "a UDP relay forwards to HOST:PORT" in p.stderr


def test_flow_defaults_are_documented_ones(server, peers):
    """Flows default to a 60 s idle timeout (not the 300 s of connections)
    and --max-conns 10000; --max-conns 0 still bounds them (65536)."""
    up = peers()
    r = relay(server, "batch", f"127.0.0.1:{up.port}", extra=("-v",))
    r2 = relay(server, "plain", f"127.0.0.1:{up.port}", extra=("-v", "--max-conns", "0",
                                                               "--idle-timeout", "5"))
    for s in (r, r2):
        with client() as c:
            c.sendto(b"x", s.addr)
            assert c.recvfrom(10)[0] == b"x"
    r.stop()
    r2.stop()
    assert "at most 10000 flows, idle timeout 60000 ms (the UDP relay's default)" in r.stderr
    assert "at most 65536 flows, idle timeout 5000 ms\n" in r2.stderr, r2.stderr


def test_udp_rate_bounds_what_one_source_forwards(server, peers):
    up = peers()
    r = relay(server, "batch", f"127.0.0.1:{up.port}", extra=("--udp-rate", "3"))
    with client(timeout=0.3) as c:
        for i in range(20):
            c.sendto(b"%d" % i, r.addr)
        got = 0
        try:
            while True:
                c.recvfrom(100)
                got += 1
        except socket.timeout:
            pass
    assert 1 <= got <= 4, got  # a burst of 3 (and a token or so refilled)
    assert up.count == got
    r.stop()
    assert "datagrams from 127.0.0.1 over --udp-rate 3/s: dropped" in r.stderr, r.stderr
