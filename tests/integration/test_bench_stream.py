"""sockit bench stream: bulk throughput over several streams at once against
serve discard (--send), chargen (--recv) and echo (--both) under different
models, over TCP, a Unix socket and UDP; per-stream figures, Jain's index,
TCP_INFO; UDP loss and reordering against a Python echo that drops and
swaps datagrams on purpose."""
import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import available_models, run


def stream_json(*args, timeout=30):
    p = run("bench", "stream", *args, "--json", timeout=timeout)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.splitlines()[-1])


@pytest.mark.parametrize("service,direction", [("discard", "--send"), ("chargen", "--recv"),
                                               ("echo", "--both")])
def test_tcp_streams_against_each_service(server, service, direction):
    s = server(service, "-p", "0", "-b", "127.0.0.1")
    d = stream_json("127.0.0.1", str(s.port), "-c", "4", "-d", "700ms", direction)
    assert d["proto"] == "tcp" and d["direction"] == direction[2:]
    assert d["streams"] == d["connected"] == 4
    per = d["per_stream"]
    assert len(per) == 4
    moved = "bytes_sent" if direction == "--send" else "bytes_recv"
    assert all(p["ok"] and p[moved] > 0 for p in per), per
    assert sum(p[moved] for p in per) == d[moved]
    assert abs(d["mbit_per_s"] - d[moved] * 8 / d["elapsed_s"] / 1e6) < 0.01 * d["mbit_per_s"]
    # Jain's index of the per-stream amounts, recomputed here.
    xs = [p[moved] for p in per]
    assert abs(d["fairness"] - sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))) < 1e-4
    assert 0.25 <= d["fairness"] <= 1.0
    assert all(p["rtt_us"] > 0 for p in per), per  # TCP_INFO was read
    if direction == "--both":
        # What came back is what was sent, minus what was still in flight.
        assert d["bytes_recv"] <= d["bytes_sent"]


@pytest.mark.parametrize("model", ["epoll", "thread", "prefork"])
def test_streams_under_models(server, model):
    if model not in available_models("tcp", "echo"):
        pytest.skip(f"{model} not available here")
    # prefork serves one connection per process: give it one per stream.
    extra = ["--workers", "3"] if model == "prefork" else []
    s = server("echo", "--model", model, *extra, "-p", "0", "-b", "127.0.0.1")
    d = stream_json("127.0.0.1", str(s.port), "-c", "3", "-d", "500ms", "--both")
    assert d["connected"] == 3 and all(p["bytes_recv"] > 0 for p in d["per_stream"])


def test_unix_stream_and_text_report(server, tmp_path):
    path = str(tmp_path / "d.sock")
    server("discard", "--unix", path)
    p = run("bench", "stream", "--unix", path, "-c", "2", "-d", "500ms")
    assert p.returncode == 0, p.stderr
    assert "(unix, send, 2 streams" in p.stdout
    assert "total" in p.stdout and "fairness (Jain's index" in p.stdout
    q = run("bench", "stream", "--unix", path, "-d", "300ms", "-q")
    assert q.returncode == 0 and "Mbit/s over 1 stream" in q.stdout, q.stdout


def test_udp_both_against_sockit_echo(server):
    s = server("echo", "-u", "-p", "0", "-b", "127.0.0.1")
    d = stream_json("127.0.0.1", str(s.port), "-u", "--both", "-c", "2", "-d", "500ms",
                    "-s", "512")
    for p in d["per_stream"]:
        assert p["datagrams_sent"] > 0 and p["datagrams_recv"] > 0
        assert p["datagrams_recv"] + p["lost"] == p["datagrams_sent"]
        assert p["duplicated"] == 0
        assert p["bytes_recv"] == 512 * (p["datagrams_recv"] + p["duplicated"])


# A UDP echo that drops every datagram whose sequence number is 3 mod 10,
# sends 7 mod 10 twice, and holds back each 0 mod 10 until after the next.
MANGLING_UDP_ECHO = r"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", 0))
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
held = None
while True:
    d, a = s.recvfrom(65536)
    seq = struct.unpack("<Q", d[:8])[0]
    if seq % 10 == 3:
        continue
    if seq % 10 == 0:
        held = (d, a)
        continue
    s.sendto(d, a)
    if seq % 10 == 7:
        s.sendto(d, a)
    if held:
        s.sendto(*held)
        held = None
"""


def test_udp_loss_reordering_and_duplicates_are_counted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", MANGLING_UDP_ECHO], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        port = proc.stdout.readline().strip().rsplit(":", 1)[1]
        d = stream_json("127.0.0.1", port, "-u", "--both", "-d", "500ms", "-s", "64")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
    p = d["per_stream"][0]
    assert p["datagrams_sent"] >= 100, p
    # At least a tenth is lost on purpose (more when the Python side falls
    # behind), each 0 mod 10 that came back came after a later one, and each
    # 7 mod 10 came back twice.
    assert p["lost"] >= p["datagrams_sent"] // 10 - 1, p
    assert p["datagrams_recv"] + p["lost"] == p["datagrams_sent"]
    assert p["reordered"] >= 1 and p["duplicated"] >= 1, p
    assert p["duplicated"] <= p["datagrams_recv"] // 5 + 1


def test_stream_usage_errors():
    for args, word in [
        (["127.0.0.1", "1", "--send", "--recv"], "one of"),
        (["127.0.0.1", "1", "-u", "--recv"], "--both"),
        (["127.0.0.1", "1", "-u", "-s", "4"], "8 to 65507"),
        (["127.0.0.1"], "HOST and PORT"),
        (["--unix", "/x", "-u"], "--unix"),
    ]:
        p = run("bench", "stream", *args)
        assert p.returncode == 2, (args, p.stderr)
        assert word in p.stderr, (args, p.stderr)
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p = run("bench", "stream", "127.0.0.1", str(port), "-d", "200ms")
    assert p.returncode == 1 and "refused" in p.stderr.lower(), p.stderr
