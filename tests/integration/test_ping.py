"""sockit ping: ICMP echo to 127.0.0.1 and ::1 over whichever socket kind
this machine allows, the unprivileged datagram path in a private network
namespace where we may widen ping_group_range, and the one-line refusal when
neither kind is allowed."""
import os
import re
import shutil
import socket
import subprocess

import pytest

from conftest import SOCKIT, SANITIZER_RE, run


def allowed(family):
    """Which ICMP socket kinds this process may open for family."""
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    kinds = []
    for kind, name in ((socket.SOCK_DGRAM, "dgram"), (socket.SOCK_RAW, "raw")):
        try:
            socket.socket(family, kind, proto).close()
            kinds.append(name)
        except OSError:
            pass
    return kinds


def check_output(p, target, count):
    assert p.returncode == 0, p.stdout + p.stderr
    seqs = [int(x) for x in re.findall(r"^\d+ bytes from \S+: icmp_seq=(\d+) ttl=\d+ "
                                       r"time=[0-9.]+ ms$", p.stdout, re.M)]
    assert seqs == list(range(1, count + 1)), p.stdout
    assert f"--- {target} ping statistics ---" in p.stdout
    assert f"{count} packets transmitted, {count} received, 0% packet loss" in p.stdout
    assert re.search(r"^rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms$", p.stdout,
                     re.M), p.stdout
    assert "DUP!" not in p.stdout and "wrong data" not in p.stdout


@pytest.mark.parametrize("target,family", [("127.0.0.1", socket.AF_INET),
                                           ("::1", socket.AF_INET6)], ids=["v4", "v6"])
def test_ping_loopback(target, family):
    kinds = allowed(family)
    if not kinds:
        pytest.skip("this machine allows neither an unprivileged ICMP socket "
                    "(net.ipv4.ping_group_range) nor a raw one (no CAP_NET_RAW)")
    p = run("ping", "-c", "3", "-i", "0.2", target)
    check_output(p, target, 3)
    expect = "ICMP datagram socket" if "dgram" in kinds else "raw ICMP socket"
    assert expect in p.stdout.splitlines()[0]


def test_ping_large_payload_checked():
    if not allowed(socket.AF_INET):
        pytest.skip("no ICMP socket kind allowed here")
    p = run("ping", "-c", "2", "-i", "0.1", "-s", "20000", "127.0.0.1")
    check_output(p, "127.0.0.1", 2)
    assert "20008 bytes from 127.0.0.1" in p.stdout


def test_concurrent_raw_pings_see_only_their_own_replies():
    """Raw sockets receive every echo reply of the host: each ping must
    keep to its own identifier (no DUP!, exactly its own count)."""
    if "raw" not in allowed(socket.AF_INET):
        pytest.skip("raw ICMP sockets are not allowed here")
    procs = [subprocess.Popen([SOCKIT, "ping", "--raw", "-c", "5", "-i", "0.05", "127.0.0.1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert not SANITIZER_RE.search(err), err
        check_output(subprocess.CompletedProcess([], proc.returncode, out, err), "127.0.0.1", 5)


def unshare_ok():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not unshare_ok(), reason="needs root and unshare -n (a private network "
                    "namespace) to widen ping_group_range without touching the host")
@pytest.mark.parametrize("target", ["127.0.0.1", "::1"], ids=["v4", "v6"])
def test_unprivileged_datagram_socket_path(target):
    script = ("ip link set lo up && echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range"
              f" && exec {SOCKIT} ping --dgram -c 3 -i 0.1 {target}")
    p = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True,
                       timeout=30)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    check_output(p, target, 3)
    assert "ICMP datagram socket" in p.stdout.splitlines()[0]


@pytest.mark.skipif(not shutil.which("setpriv") or os.geteuid() != 0,
                    reason="needs root and setpriv to drop CAP_NET_RAW")
def test_neither_socket_kind_is_one_clear_line():
    with open("/proc/sys/net/ipv4/ping_group_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    if lo <= os.getegid() <= hi:
        pytest.skip("ping_group_range admits our group: the datagram socket would work")
    p = subprocess.run(["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", SOCKIT,
                        "ping", "-c", "1", "127.0.0.1"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("sockit: ping: neither socket kind is allowed")
    assert "ping_group_range" in lines[0] and "CAP_NET_RAW" in lines[0]


@pytest.mark.skipif(not unshare_ok(), reason="needs root and unshare -n")
def test_no_reply_exits_1():
    """Loopback down in a private namespace: every request fails, none is
    answered, the status is 1 and the summary says 100% loss."""
    p = subprocess.run(["unshare", "-n", SOCKIT, "ping", "-c", "2", "-i", "0.1", "-W", "0.3",
                        "127.0.0.1"], capture_output=True, text=True, timeout=30)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    assert p.returncode == 1
    assert "2 packets transmitted, 0 received, 100% packet loss" in p.stdout


def test_bad_arguments_exit_2():
    for args in (["ping"], ["ping", "-c", "0", "x"], ["ping", "-i", "0.001", "127.0.0.1"],
                 ["ping", "-s", "70000", "127.0.0.1"], ["ping", "a", "b"]):
        p = run(*args)
        assert p.returncode == 2, args
        assert "Try 'sockit ping --help'" in p.stderr


def test_unresolvable_host_exit_1():
    p = run("ping", "-c", "1", "no-such-host.invalid")
    assert p.returncode == 1
    assert p.stderr.startswith("sockit: ping: no-such-host.invalid: ")
