"""sockit bench chat: members join one room, senders send numbered messages,
every member accounts for what it receives. Against sockit serve chat every
message reaches every other member exactly once and in order; against a
fake chat server that drops one delivery, duplicates one and swaps two, the
counts say exactly that; --irc against ngircd; bad arguments are one line
and exit 2."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import available_models, run

# The fake server (sockit chat's line protocol, one thread per member) with
# three faults on purpose, each on one delivery: sender 0's message 2 is not
# given to b1; sender 0's message 3 is given to b2 twice; sender 1's
# messages 4 and 5 reach b0 swapped.
FAKE_CHAT = r"""
import socket, sys, threading
lock = threading.Lock()
room = {}      # nick -> socket
held = {}      # (receiver) -> line held back to swap
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(64)
print("listening on 127.0.0.1:%d" % ls.getsockname()[1], flush=True)

def deliver(nick, to, text):
    line = ("<%s> %s\n" % (nick, text)).encode()
    parts = text.split()
    key = (int(parts[1]), int(parts[2])) if len(parts) >= 4 and parts[0] == "skb" else None
    s = room[to]
    if key == (0, 2) and to == "b1":
        return
    if key == (0, 3) and to == "b2":
        s.sendall(line)
    if key == (1, 4) and to == "b0":
        held[to] = line
        return
    s.sendall(line)
    if key == (1, 5) and to in held:
        s.sendall(held.pop(to))

def serve(c):
    f = c.makefile("rb")
    c.sendall(b"*** Welcome to the fake chat. Type your nickname:\n")
    nick = f.readline().decode().strip()
    with lock:
        room[nick] = c
    c.sendall(("*** Welcome, %s! Here we are.\n" % nick).encode())
    for raw in f:
        text = raw.decode().rstrip("\r\n")
        with lock:
            for to in list(room):
                if to != nick:
                    deliver(nick, to, text)
    with lock:
        room.pop(nick, None)

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def chat_json(*args, timeout=60):
    p = run("bench", "chat", *args, "--json", timeout=timeout)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def exact(d, members):
    """Every message to every other member, once, in order."""
    assert d["joined"] == members
    assert d["expected"] == d["sent"] * (members - 1)
    assert d["delivered"] == d["expected"], d
    assert d["missing"] == d["duplicated"] == d["reordered"] == d["foreign"] == 0, d
    assert d["backlog"] == 0 and d["closed"] == 0, d
    lat = d["latency_ns"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"], lat


@pytest.mark.parametrize("model", ["epoll", "uring", "thread"])
def test_counts_are_exact_against_sockit_chat(server, model):
    if model not in available_models("tcp", "chat"):
        pytest.skip(f"{model} not available here")
    s = server("chat", "--model", model, "-p", "0", "-b", "127.0.0.1", "--flood-lines", "0",
               "--flood-bytes", "0")
    # 3 senders, 20 messages a second each, for 1 s: the schedule gives 60.
    d = chat_json("127.0.0.1", str(s.port), "--members", "8", "--senders", "3", "--rate", "60",
                  "-d", "1s")
    assert d["protocol"] == "chat" and d["members"] == 8 and d["senders"] == 3
    assert d["sent"] == 60
    exact(d, 8)
    assert d["deliveries_per_s"] == pytest.approx(d["in_window"] / d["elapsed_s"], rel=1e-3)


def test_text_report(server):
    s = server("chat", "-p", "0", "-b", "127.0.0.1")
    p = run("bench", "chat", "127.0.0.1", str(s.port), "--members", "4", "--senders", "2",
            "--rate", "20", "-d", "500ms")
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    assert "deliveries/s" in first and "missing 0, duplicated 0, out-of-order 0" in first
    assert "joined       4 members" in p.stdout and "p99" in p.stdout
    q = run("bench", "chat", "127.0.0.1", str(s.port), "--members", "3", "--senders", "1",
            "--rate", "10", "-d", "300ms", "-q")
    assert q.returncode == 0 and len(q.stdout.splitlines()) == 1, q.stdout


@pytest.fixture
def fake_chat():
    proc = subprocess.Popen([sys.executable, "-c", FAKE_CHAT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line + proc.stderr.read()
        yield int(line.rsplit(":", 1)[1])
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def test_faults_of_a_bad_server_are_counted_exactly(fake_chat):
    # 2 senders, 10 messages a second each, for 1 s: 20 messages in all. One
    # delivery never comes, so the run waits out the drain: 1 s, not 2.
    d = chat_json("127.0.0.1", str(fake_chat), "--members", "4", "--senders", "2", "--rate",
                  "20", "-d", "1s", "--drain", "1s")
    assert d["joined"] == 4 and d["sent"] == 20
    assert d["expected"] == 20 * 3
    assert d["missing"] == 1, d
    assert d["duplicated"] == 1, d
    assert d["reordered"] == 1, d
    assert d["delivered"] == d["expected"] - 1
    assert d["foreign"] == 0


def test_a_full_room_fails_the_join_in_one_line(server):
    s = server("chat", "-p", "0", "-b", "127.0.0.1", "--max-clients", "3")
    # One joining at a time, so exactly three are in when the fourth is turned away.
    p = run("bench", "chat", "127.0.0.1", str(s.port), "--members", "5", "--senders", "1",
            "--rate", "10", "-d", "300ms", "--join-timeout", "5s", "--joining", "1")
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sockit: bench chat: 3 of 5 members joined")
    assert "room is full" in lines[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def ngircd_conf(port, directory):
    """The anchor's own ngircd configuration (bench/chat_ircd.sh)."""
    p = subprocess.run(["sh", os.path.join(ROOT, "bench/chat_ircd.sh"), "--ngircd-conf",
                        str(port), str(directory)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and "MaxPenaltyTime = 0" in p.stdout, p.stdout + p.stderr
    return p.stdout


def test_irc_against_ngircd(tmp_path):
    ngircd = shutil.which("ngircd") or ("/usr/sbin/ngircd" if os.path.exists("/usr/sbin/ngircd")
                                        else None)
    if not ngircd:
        pytest.skip("ngircd is not installed")
    port = free_port()
    conf = tmp_path / "ngircd.conf"
    conf.write_text(ngircd_conf(port, tmp_path))
    proc = subprocess.Popen([ngircd, "-n", "-f", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "ngircd exited"
                assert time.monotonic() < deadline, "ngircd did not listen"
                time.sleep(0.05)
        d = chat_json("127.0.0.1", str(port), "--irc", "--members", "5", "--senders", "2",
                      "--rate", "20", "-d", "1s")
        assert d["protocol"] == "irc" and d["sent"] == 20
        exact(d, 5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@pytest.mark.parametrize("args,msg", [
    ([], "HOST and PORT"),
    (["127.0.0.1"], "HOST and PORT"),
    (["127.0.0.1", "0"], "port 0"),
    (["127.0.0.1", "7", "--members", "1"], "--members"),
    (["127.0.0.1", "7", "--members", "3", "--senders", "4"], "more than the 3 members"),
    (["127.0.0.1", "7", "--rate", "0"], "--rate"),
    (["127.0.0.1", "7", "--rate", "fast"], "--rate"),
    (["127.0.0.1", "7", "-d", "0"], "-d"),
    (["127.0.0.1", "7", "--channel", "bench"], "--channel"),
    (["127.0.0.1", "7", "--irc", "--pad", "500"], "--pad"),
    (["127.0.0.1", "7", "--no-such-option"], "--no-such-option"),
])
def test_bad_arguments(args, msg):
    p = run("bench", "chat", *args)
    assert p.returncode == 2, p.stdout + p.stderr
    first = p.stderr.splitlines()[0]
    assert first.startswith("sockit: bench chat: ") and msg in first, p.stderr
    assert p.stdout == ""
