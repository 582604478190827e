"""Access control under every model: --allow/--deny CIDR (deny wins, IPv4
and IPv6), checked before the service sees a byte; refusals logged at most
once a second with a count; UDP: a denied source gets no reply."""
import re
import socket
import time

import pytest

from conftest import available_models, recv_until_close, run

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
