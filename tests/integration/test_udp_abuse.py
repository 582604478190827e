"""UDP services against forged sources (issue 11): no reply to a source that
could answer back (the well-known ports of the UDP services, every port below
1024 as OpenBSD inetd's dg_badinput()), to broadcast, multicast or
unspecified addresses, or to the server itself; chargen's reply bounded by
the request; --udp-rate per source. Forged datagrams are written with a raw
socket (root), the way an attacker would send them; every UDP model."""
import os
import re
import socket
import struct
import time

import pytest

from test_udp import MODELS, uring_refusal

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="forging a source address needs root")


def udp_serve(server, svc, model, *extra, port="0"):
    if model == "uring":
        why = uring_refusal()
        if why:
            pytest.skip(f"io_uring is refused here: {why}")
    return server(svc, "-u", "--model", model, "-b", "127.0.0.1", "-p", port, *extra)


def forge(src, dst, payload):
    """Send one IPv4/UDP datagram with any source address and port."""
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", src[1], dst[1], udp_len, 0) + payload  # checksum 0: none
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as r:
        r.sendto(ip + udp, (dst[0], 0))


def stop_counts(s):
    assert s.stop() == 0
    m = re.search(r"stopped: (\d+) datagrams?, (\d+) rejected", s.stdout_rest)
    assert m, s.stdout_rest
    return int(m.group(1)), int(m.group(2))


def free_port(host, port):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as t:
            t.bind((host, port))
        return True
    except OSError:
        return False


@needs_root
@pytest.mark.xdist_group("udp-well-known-ports")  # 7 and 19: one test at a time
@pytest.mark.parametrize("model", MODELS)
def test_forged_echo_chargen_loop_cannot_start(server, model):
    # The loop: one datagram "from" chargen (port 19) to echo (port 7).
    if not (free_port("127.0.0.1", 7) and free_port("127.0.0.1", 19)):
        pytest.skip("ports 7 and 19 of 127.0.0.1 are taken")
    echo = udp_serve(server, "echo", model, port="7")
    chargen = udp_serve(server, "chargen", model, port="19")
    forge(("127.0.0.1", 19), ("127.0.0.1", 7), b"start the loop")
    time.sleep(1.0)
    got, rejected = stop_counts(echo)
    assert got == 1 and rejected == 1, echo.stdout_rest
    assert "not answered: a privileged source port" in echo.stderr
    assert stop_counts(chargen)[0] == 0


@needs_root
@pytest.mark.xdist_group("udp-well-known-ports")  # a client on 127.0.0.3:13
@pytest.mark.parametrize("model", MODELS)
def test_no_reply_to_itself_or_to_services_that_answer_back(server, model):
    s = udp_serve(server, "echo", model)
    # From the server's own address and port: it would answer itself forever.
    forge(("127.0.0.1", s.port), ("127.0.0.1", s.port), b"me")
    # From the well-known ports of the UDP services, on another loopback address.
    for port in (7, 9, 13, 19, 53, 123, 1023, 2049):
        forge(("127.0.0.2", port), ("127.0.0.1", s.port), b"x")
    # Broadcast and multicast sources (a raw socket cannot send from 0.0.0.0:
    # the kernel fills in its own address; the unit tests cover that rule).
    for src in ("255.255.255.255", "224.0.0.1", "239.1.2.3"):
        forge((src, 40000), ("127.0.0.1", s.port), b"y")
    # A real client bound to a port in the list gets no answer either.
    if free_port("127.0.0.3", 13):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.bind(("127.0.0.3", 13))
            c.settimeout(0.5)
            c.sendto(b"from daytime", s.addr)
            with pytest.raises(socket.timeout):
                c.recvfrom(100)
    # An ordinary client is still answered.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.settimeout(5)
        c.sendto(b"hello", s.addr)
        assert c.recvfrom(100)[0] == b"hello"
    time.sleep(0.3)
    got, rejected = stop_counts(s)
    assert rejected == got - 1, s.stdout_rest
    assert "not answered: the server's own address" in s.stderr, s.stderr


@pytest.mark.parametrize("model", MODELS)
def test_chargen_reply_bounded_by_the_request(server, model):
    s = udp_serve(server, "chargen", model)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.settimeout(5)
        sizes = {}
        for req in (0, 1, 10, 74, 200, 600):
            got = []
            for _ in range(12):
                c.sendto(b"?" * req, s.addr)
                got.append(len(c.recvfrom(2000)[0]))
            sizes[req] = got
        for req, got in sizes.items():
            assert all(1 <= n <= min(512, max(req, 74)) for n in got), (req, got)
        assert len(set(sizes[600])) > 1  # still a random length, up to 512


@pytest.mark.parametrize("model", MODELS)
def test_udp_rate_limits_replies_per_source(server, model):
    s = udp_serve(server, "echo", model, "--udp-rate", "20")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        t0 = time.monotonic()
        for i in range(300):
            c.sendto(b"%d" % i, s.addr)
        elapsed = time.monotonic() - t0
        c.settimeout(0.5)
        got = 0
        try:
            while True:
                c.recvfrom(100)
                got += 1
        except socket.timeout:
            pass
        # A burst of one second's worth, plus what refilled while sending.
        assert 10 <= got <= 20 + 20 * (elapsed + 0.6) + 2, (got, elapsed)
        # Another source address has its own budget.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as d:
            d.bind(("127.0.0.2", 0))
            d.settimeout(5)
            d.sendto(b"other", s.addr)
            assert d.recvfrom(100)[0] == b"other"
        # The first source's budget refills with time.
        time.sleep(0.5)
        c.settimeout(5)
        c.sendto(b"later", s.addr)
        assert c.recvfrom(100)[0] == b"later"
    time.sleep(0.2)
    got_all, rejected = stop_counts(s)
    # (the burst may overflow the server's receive buffer: count what came)
    assert rejected == got_all - got - 2 and rejected > 0, (got, s.stdout_rest)
    assert "over --udp-rate 20/s" in s.stderr


def test_udp_rate_is_for_udp():
    from conftest import run
    p = run("serve", "echo", "--udp-rate", "10", "-p", "0")
    assert p.returncode == 2 and "--udp-rate is for datagram servers" in p.stderr
    p = run("serve", "echo", "-u", "--udp-rate", "x", "-p", "0")
    assert p.returncode == 2
