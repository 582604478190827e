"""Access control under every model: --allow/--deny CIDR (deny wins, IPv4
and IPv6), checked before the service sees a byte; refusals logged at most
once a second with a count; UDP: a denied source gets no reply."""
import json
import os
import re
import signal
import socket
import time

import pytest

from conftest import available_models, child_pids, recv_until_close, run

MODELS = available_models("tcp")
UDP_MODELS = available_models("udp")


def talk(s, src, data=b"ping\n", family=socket.AF_INET):
    """Connect to server s from source address src, send data, half-close,
    return what came back before the close (b"" for a refused one)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    c = socket.socket(family, socket.SOCK_STREAM)
    try:
        c.settimeout(10)
        c.bind((src, 0))
        c.connect((host, s.port))
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            return recv_until_close(c)
        except OSError:  # reset or already gone: the close reached us first
            return b""
    finally:
        c.close()


def opened_from(stderr, src):
    return re.findall(rf"connection \d+ from \[?{re.escape(src)}\]?:\d+ opened", stderr)


@pytest.mark.parametrize("model", MODELS)
def test_denied_source_never_reaches_the_service(server, model):
    # greet speaks first: a denied client that reached the service would
    # get its greeting.
    s = server("greet", "--model", model, "-v", "--deny", "127.0.0.2")
    assert talk(s, "127.0.0.1", b"") != b""
    assert talk(s, "127.0.0.2", b"") == b""
    assert talk(s, "127.0.0.1", b"") != b""
    s.stop()
    assert opened_from(s.stderr, "127.0.0.1")
    assert not opened_from(s.stderr, "127.0.0.2"), s.stderr
    assert "access denied to 127.0.0.2:" in s.stderr


@pytest.mark.parametrize("model", MODELS)
def test_allow_lets_only_listed_sources_in(server, model):
    s = server("echo", "--model", model, "-v", "--allow", "127.0.0.1")
    assert talk(s, "127.0.0.1") == b"ping\n"
    assert talk(s, "127.0.0.2") == b""
    assert talk(s, "::1", family=socket.AF_INET6) == b""  # no IPv6 allowed
    s.stop()
    assert not opened_from(s.stderr, "127.0.0.2")
    assert not opened_from(s.stderr, "::1")


def test_ipv6_prefixes_and_deny_wins(server):
    s = server("echo", "-v", "--allow", "127.0.0.0/8", "--allow", "::1/128",
               "--deny", "127.0.0.2/32")
    assert talk(s, "::1", family=socket.AF_INET6) == b"ping\n"
    assert talk(s, "127.0.0.3") == b"ping\n"
    assert talk(s, "127.0.0.2") == b""  # allowed by /8, denied: deny wins
    d = server("echo", "--deny", "::1")
    assert talk(d, "::1", family=socket.AF_INET6) == b""
    assert talk(d, "127.0.0.1") == b"ping\n"


def test_dual_stack_listener_sees_mapped_ipv4_as_ipv4(server):
    # Bound to :: (dual stack), an IPv4 client arrives as ::ffff:127.0.0.2.
    s = server("echo", "-b", "::", "--deny", "127.0.0.2")
    assert talk(s, "127.0.0.1") == b"ping\n"
    assert talk(s, "127.0.0.2") == b""


def test_refusals_are_logged_once_a_second_with_a_count(server):
    s = server("echo", "--deny", "127.0.0.2")
    for _ in range(5):
        assert talk(s, "127.0.0.2") == b""
    time.sleep(1.2)
    assert talk(s, "127.0.0.2") == b""  # logged: the count of those in between
    assert talk(s, "127.0.0.1") == b"ping\n"
    s.stop()
    lines = re.findall(r"access denied to 127\.0\.0\.2:\d+ \(--allow/--deny\); (\d+) more "
                       r"refused since the last such line", s.stderr)
    # Six refused: each is either a line or counted in the next one's number.
    assert 2 <= len(lines) <= 6, s.stderr
    assert len(lines) + sum(int(n) for n in lines) == 6, s.stderr


def test_json_log_deny_event(server):
    s = server("echo", "--json-log", "--deny", "127.0.0.2")
    assert talk(s, "127.0.0.2") == b""
    s.stop()
    ev = [json.loads(l) for l in s.stderr.splitlines() if '"deny"' in l]
    assert len(ev) == 1, s.stderr
    assert ev[0]["peer"].startswith("127.0.0.2:") and ev[0]["refused_since"] == 0


@pytest.mark.parametrize("model", UDP_MODELS)
def test_udp_denied_source_gets_no_reply(server, model):
    s = server("echo", "-u", "--model", model, "--deny", "127.0.0.2")
    for src, answered in (("127.0.0.2", False), ("127.0.0.1", True)):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((src, 0))
            u.settimeout(1.0 if not answered else 10)
            u.sendto(b"hello", ("127.0.0.1", s.port))
            if answered:
                assert u.recvfrom(100)[0] == b"hello"
            else:
                with pytest.raises(socket.timeout):
                    u.recvfrom(100)
        finally:
            u.close()
    s.stop()
    assert "access denied to 127.0.0.2:" in s.stderr


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "10.0.0.0/33", "localhost", "::1/129", ""])
def test_bad_prefix_is_a_usage_error(bad):
    p = run("serve", "echo", "--allow", bad)
    assert p.returncode == 2
    assert "--allow" in p.stderr and bad in p.stderr


# ---- --max-per-ip and --accept-rate ----

LIMIT_MODELS = [m for m in ("epoll", "thread", "fork", "prefork", "pool", "uring", "poll")
                if m in MODELS]


def held(s, src, n):
    """n connections from src, each checked to be served (an echo round
    trip) or refused (closed without data); returns (open sockets, refused)."""
    kept, refused = [], 0
    for i in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(10)
        c.bind((src, 0))
        c.connect(("127.0.0.1", s.port))
        try:
            c.sendall(b"m%d\n" % i)
            got = c.recv(100)
        except OSError:
            got = b""
        if got == b"m%d\n" % i:
            kept.append(c)
        else:
            refused += 1
            c.close()
    return kept, refused


@pytest.mark.parametrize("model", LIMIT_MODELS)
def test_max_per_ip_bounds_each_source(server, model):
    s = server("echo", "--model", model, "--max-per-ip", "2", "--workers", "4")
    kept, refused = held(s, "127.0.0.1", 4)
    try:
        assert (len(kept), refused) == (2, 2)
        # Another source has its own count.
        other, refused2 = held(s, "127.0.0.2", 2)
        assert (len(other), refused2) == (2, 0)
        for c in other:
            c.close()
        # A closed connection frees its place for the same source.
        kept.pop().close()
        again = []
        deadline = time.monotonic() + 10
        while not again and time.monotonic() < deadline:
            again, _ = held(s, "127.0.0.1", 1)
            if not again:
                time.sleep(0.05)  # the server may not have seen the close yet
        assert len(again) == 1
        kept += again
    finally:
        for c in kept:
            c.close()
    s.stop()
    assert "max-per-ip 2 reached: closing connection from 127.0.0.1:" in s.stderr


@pytest.mark.parametrize("model", LIMIT_MODELS)
def test_accept_rate_bounds_new_connections_per_source(server, model):
    s = server("echo", "--model", model, "--accept-rate", "3")
    served = refused = 0
    t0 = time.monotonic()
    for i in range(8):  # a burst: 3 pass, then 3 a second
        r = talk(s, "127.0.0.1", b"r%d\n" % i)
        served += r == b"r%d\n" % i
        refused += r == b""
    took = time.monotonic() - t0
    assert served + refused == 8
    assert 3 <= served <= 3 + int(3 * took) + 1, (served, refused, took)
    assert talk(s, "127.0.0.2") == b"ping\n"  # another source: its own bucket
    time.sleep(1.1)
    assert talk(s, "127.0.0.1") == b"ping\n"  # refilled
    s.stop()
    assert "accept-rate 3/s exceeded: closing connection from 127.0.0.1:" in s.stderr


def busy_child(pid, deadline):
    """A child of pid with a socket open (with --workers 1: the one serving)."""
    while time.monotonic() < deadline:
        for k in child_pids(pid):
            try:
                fds = os.listdir(f"/proc/{k}/fd")
            except FileNotFoundError:
                continue
            if len(fds) and any(os.readlink(f"/proc/{k}/fd/{f}").startswith("socket:")
                                for f in fds if os.path.exists(f"/proc/{k}/fd/{f}")):
                return k
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("model", [m for m in ("fork", "prefork") if m in MODELS])
def test_worker_killed_mid_connection_frees_its_place(server, model):
    s = server("echo", "--model", model, "--max-per-ip", "1", "--workers", "1")
    kept, _ = held(s, "127.0.0.1", 1)
    assert len(kept) == 1
    deadline = time.monotonic() + 10
    kid = busy_child(s.pid, deadline)
    assert kid
    os.kill(kid, signal.SIGKILL)  # dies without closing its connection itself
    kept[0].close()
    again = []
    while not again and time.monotonic() < deadline:
        again, _ = held(s, "127.0.0.1", 1)
        if not again:
            time.sleep(0.05)
    assert len(again) == 1  # the parent released the killed child's count
    again[0].close()
