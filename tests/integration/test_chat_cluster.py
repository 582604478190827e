"""serve chat --cluster redis://...: several chat servers, under different
event models, form one chat through a Redis each test starts itself (on a
free port, stopped by PID): lines fan out exactly once and in order, a nick
is unique across servers, and Redis going away and coming back is told,
local chat goes on meanwhile, and the cluster resumes."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT_RELEASE, Server, available_models, proc_status_kb

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(not REDIS, reason="redis-server not installed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="sockit-redis-")
        for _ in range(5):
            self.port = port or free_port()
            self.proc = subprocess.Popen(
                [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._ready():
                return
            self.stop()
        raise AssertionError("redis-server did not start")

    def _ready(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def command(self, *args):
        """One command's raw answer (RESP), for the test's own checks."""
        req = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(req.encode())
            return s.recv(65536).decode(errors="replace")

    def wait_linked(self, servers):
        """Until every server holds its subscription and its commands' link."""
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            try:
                lines = [ln for ln in self.command("CLIENT", "LIST").split("\n") if " addr=" in ln]
            except OSError:
                lines = []
            subs = sum(" psub=1 " in ln for ln in lines)
            if subs >= servers and len(lines) >= 2 * servers + 1:
                time.sleep(0.05)  # the loops see their connects complete
                return
            time.sleep(0.05)
        raise AssertionError("the servers did not link up with Redis")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def redis():
    r = Redis()
    yield r
    r.stop()
    shutil.rmtree(r.dir, ignore_errors=True)


class Member:
    def __init__(self, srv, nick):
        self.s = srv.connect()
        self.buf = b""
        self.expect("Type your nickname")
        self.send(nick)
        self.expect("Welcome, " + nick)

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")

    def expect(self, text, timeout=8):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in {self.buf!r}"
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                chunk = None
                continue
            assert chunk, f"closed before {text!r}: {self.buf!r}"
            self.buf += chunk
        i = self.buf.index(text.encode()) + len(text)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got.decode(errors="replace")

    def close(self):
        self.s.close()


@pytest.fixture
def servers(redis):
    started = []

    def start(model, url=None):
        srv = Server(["chat", "-p", "0", "--model", model, "--cluster", url or redis.url])
        started.append(srv)
        return srv
    yield start
    reports = []
    for s in started:
        s.stop()
        if SANITIZER_RE.search(s.stderr) or s.proc.returncode in (66, 86, 87):
            reports.append(f"exit {s.proc.returncode}: {s.stderr}")
    assert not reports, "\n".join(reports)


def test_fan_out_exactly_once_in_order(servers, redis):
    a, b, c = servers("epoll"), servers("uring"), servers("thread")
    redis.wait_linked(3)
    alice, bob, carol = Member(a, "alice"), Member(b, "bob"), Member(c, "carol")
    # The subscription is up once a line from each side arrives.
    for _ in range(50):
        alice.send("ping")
        try:
            bob.expect("<alice> ping", timeout=0.2)
            break
        except AssertionError:
            pass
    carol.expect("<alice> ping")
    for i in range(50):
        alice.send(f"a{i}")
        bob.send(f"b{i}")
    alice.send("done-a")
    bob.send("done-b")
    for m, senders in ((carol, ("alice", "bob")), (alice, ("bob",)), (bob, ("alice",))):
        text = m.expect("<bob> done-b") if "bob" in senders else m.expect("<alice> done-a")
        if "alice" in senders and "<alice> done-a" not in text:
            text += m.expect("<alice> done-a")
        for who, p in (("alice", "a"), ("bob", "b")):
            if who not in senders:
                continue
            seq = [ln.split("> ", 1)[1] for ln in text.splitlines()
                   if ln.startswith(f"<{who}> {p}")]
            assert seq == [f"{p}{i}" for i in range(50)], (who, seq)
    for m in (alice, bob, carol):
        m.close()


def test_nick_unique_across_servers(servers, redis):
    a, b = servers("select"), servers("pool")
    redis.wait_linked(2)
    dora = Member(a, "dora")
    s = b.connect()
    m = Member.__new__(Member)
    m.s, m.buf = s, b""
    m.expect("Type your nickname")
    m.send("DORA")
    m.expect("taken on another server of the cluster")
    m.send("eve")
    m.expect("Welcome, eve")
    # Released when its member leaves: the nick is free across the cluster.
    dora.send("/quit")
    dora.expect("Bye")
    dora.close()
    f = Member.__new__(Member)
    f.s, f.buf = b.connect(), b""
    f.expect("Type your nickname")
    for _ in range(40):
        f.send("dora")
        got = f.expect("\n")
        if "Welcome, dora" in got:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("dora was never released")
    for x in (m, f):
        x.close()


def test_redis_restarted(servers, redis):
    a, b = servers("uring"), servers("thread")
    redis.wait_linked(2)
    alice, bob = Member(a, "alice"), Member(b, "bob")
    alice2 = Member(a, "alice2")
    for _ in range(50):
        alice.send("hello")
        try:
            bob.expect("<alice> hello", timeout=0.2)
            break
        except AssertionError:
            pass
    port = redis.port
    redis.stop()
    alice.expect("cluster is unreachable")
    bob.expect("cluster is unreachable")
    alice.send("local only")
    alice2.expect("<alice> local only")
    back = Redis(port)
    try:
        alice.expect("cluster is back", timeout=10)
        bob.expect("cluster is back", timeout=10)
        alice.send("after")
        bob.expect("<alice> after")
        # Nicks were registered again: bob's nick is taken for a newcomer on a.
        s = a.connect()
        m = Member.__new__(Member)
        m.s, m.buf = s, b""
        m.expect("Type your nickname")
        m.send("bob")
        # Answered by Redis itself, not paired with another command's answer
        # (which would leave it waiting for the nick refresh, 5 s later).
        m.expect("taken on another server of the cluster", timeout=3)
        assert a.alive() and b.alive()
        for x in (alice, alice2, bob, m):
            x.close()
    finally:
        back.stop()


def test_history_on_join(servers, redis):
    a = Server(["chat", "-p", "0", "--model", "epoll", "--cluster", redis.url, "--history", "3"])
    try:
        b = servers("poll")
        redis.wait_linked(2)
        alice = Member(a, "alice")
        alice.send("/join #Dev")
        alice.expect("You are now in #Dev")
        for i in range(5):
            alice.send(f"line {i}")
        alice.send("/me waves")
        # Once Redis holds the last of them, a member joining on b sees them.
        deadline = time.monotonic() + 5
        while "alice waves" not in redis.command("XREVRANGE", "sockit:history:#dev", "+", "-",
                                                 "COUNT", "1"):
            assert time.monotonic() < deadline, "the lines never reached Redis"
            time.sleep(0.02)
        bob = Member(b, "bob")
        bob.send("/join #dev")
        text = bob.expect("(end of the history of #dev)")
        assert "The last 3 lines of #dev:" in text
        shown = [ln for ln in text.splitlines() if ln.startswith(("<alice>", "* alice"))]
        assert shown == ["<alice> line 3", "<alice> line 4", "* alice waves"]
        alice.send("live")
        bob.expect("<alice> live")
        for m in (alice, bob):
            m.close()
    finally:
        a.stop()


def test_who_names_list_across_servers(servers, redis):
    a, b = servers("epoll"), servers("uring")
    redis.wait_linked(2)
    alice, bob, carol = Member(a, "alice"), Member(b, "bob"), Member(b, "carol")
    carol.send("/join #dev")
    carol.expect("You are now in #dev")
    alice.send("/who")
    alice.expect("Across the cluster, 3:")
    text = alice.expect("\n")
    assert sorted(text.replace("(", " ").replace(")", " ").split()) == sorted(
        ["alice", "#lobby", "bob", "#lobby", "carol", "#dev"])
    alice.send("/names")
    alice.expect("Across the cluster, 2 in #lobby:")
    names = alice.expect("\n").split()
    assert sorted(names) == ["alice", "bob"]
    alice.send("/list")
    alice.expect("Across the cluster (3 people):")
    rooms = alice.expect("(1 person)")
    assert "#lobby (2 people)" in rooms and "#dev" in rooms
    # Someone leaving is gone from the roster.
    carol.send("/quit")
    carol.expect("Bye")
    deadline = time.monotonic() + 5
    while True:
        alice.send("/who")
        alice.expect("Across the cluster, ")
        line = alice.expect("\n")
        if "carol" not in line:
            break
        assert time.monotonic() < deadline, line
        time.sleep(0.05)
    for m in (alice, bob, carol):
        m.close()


def test_bench_chat_across_the_cluster(servers, redis):
    """sockit bench chat --via: senders on one server, receivers on another;
    every message reaches every receiver once, in order, through Redis."""
    flags = ["--flood-lines", "0", "--flood-bytes", "0", "--history", "0"]
    a = Server(["chat", "-p", "0", "--model", "epoll", "--cluster", redis.url, *flags])
    b = Server(["chat", "-p", "0", "--model", "thread", "--cluster", redis.url, *flags])
    try:
        redis.wait_linked(2)
        p = subprocess.run([Server.__init__.__globals__["SOCKIT"], "bench", "chat", "127.0.0.1",
                            str(a.port), "--members", "8", "--senders", "2", "--rate", "100",
                            "-d", "1s", "--via", f"127.0.0.1:{b.port}", "--json"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        res = json.loads(p.stdout)
        flat = json.dumps(res)
        assert res["joined"] == 8, flat
        assert res["missing"] == 0 and res["duplicated"] == 0 and res["reordered"] == 0, flat
        assert res["foreign"] == 0, flat
        assert res["delivered"] == res["expected"] > 0, flat
    finally:
        a.stop()
        b.stop()


def test_nick_asked_when_redis_dies(servers, redis):
    """A nick asked of Redis that never answers (stopped, then killed) is
    decided by the server alone once the link is lost: the member is not
    left waiting."""
    import signal
    a = servers("epoll")
    redis.wait_linked(1)
    m = Member.__new__(Member)
    m.s, m.buf = a.connect(), b""
    m.expect("Type your nickname")
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        m.send("zed")
        m.send("/who")
        m.expect("Checking the nickname zed across the cluster")
    finally:
        redis.stop()  # SIGKILL works on a stopped process
    m.expect("Welcome, zed")
    m.close()


def _numbers(text, who):
    return [int(ln.split(f"<{who}> s", 1)[1]) for ln in text.splitlines()
            if ln.startswith(f"<{who}> s")]


@pytest.mark.parametrize("model", ["epoll", "thread"])
def test_history_then_live_on_join(servers, redis, model):
    """A member joining a room while lines keep arriving (one sender on
    another server, one on its own) sees the room's history first, then the
    live lines: each sender's lines strictly increasing with no gap (none
    lost, none twice), however the history's answer and the live lines race."""
    import threading
    a, b = servers("epoll"), servers(model)
    redis.wait_linked(2)
    far, near, joiner = Member(a, "far"), Member(b, "near"), Member(b, "joiner")
    for m in (far, near):
        m.send("/join #dev")
        m.expect("You are now in #dev")
    # Both servers' links are up once a line passes each way.
    for src, dst, nick in ((far, near, "far"), (near, far, "near")):
        for i in range(50):
            src.send(f"ping{i}")
            try:
                dst.expect(f"<{nick}> ping{i}", timeout=0.2)
                break
            except AssertionError:
                pass
    stop = threading.Event()

    def send(m):
        i = 0
        while not stop.is_set() and i < 3000:
            m.send(f"s{i}")
            i += 1
            time.sleep(0.003)
    threads = [threading.Thread(target=send, args=(m,)) for m in (far, near)]
    for t in threads:
        t.start()
    try:
        for _ in range(20):
            joiner.send("/join #dev")
            text = joiner.expect("(end of the history of #dev)")
            # The last lines of each sender after the history: live ones.
            text += joiner.expect("<far> s") + joiner.expect("\n")
            text += joiner.expect("<far> s") + joiner.expect("\n")
            text += joiner.expect("<near> s") + joiner.expect("\n")
            text = text[text.index("You are now in #dev"):]
            hist = text.index("(end of the history of #dev)")
            assert "<far> s" not in text[:text.index("The last ")], text
            for who in ("far", "near"):
                seq = _numbers(text, who)
                assert seq == list(range(seq[0], seq[0] + len(seq))), (who, seq, text)
                assert _numbers(text[hist:], who), (who, text)
            joiner.send("/part")
            joiner.expect("You are now in #lobby")
            # What the room said meanwhile is not the joiner's.
            joiner.buf = b""
    finally:
        stop.set()
        for t in threads:
            t.join()
    for m in (far, near, joiner):
        m.close()


def _until(fn, what, timeout=5):
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_topic_across_servers(servers, redis):
    """/topic on one server is shown to the room's members on every server,
    in every server's /list, to one who opens the room later anywhere, and
    outlives the server it was set on; a cleared topic is cleared everywhere."""
    a, b, c = servers("epoll"), servers("uring"), servers("thread")
    redis.wait_linked(3)
    alice, bob, carol = Member(a, "alice"), Member(b, "bob"), Member(c, "carol")
    for m in (alice, bob):
        m.send("/join #Dev")
        m.expect("You are now in #Dev")
    alice.send("/topic release on friday")
    alice.expect("*** alice set the topic of #Dev: release on friday")
    # Announced; or read from Redis when b's reading of #dev's topic (on
    # opening the room) came after the set.
    assert "of #Dev: release on friday" in bob.expect("release on friday")
    bob.send("/topic")
    bob.expect("*** Topic of #Dev: release on friday")
    # carol's server has nobody in #dev: its /list has the cluster's answer.
    carol.send("/list")
    carol.expect("Across the cluster (3 people):")
    carol.expect("#dev (2 people): release on friday")
    # Opened on c later: its topic comes from Redis.
    carol.send("/join #dev")
    carol.expect("You are now in #dev")
    carol.expect("*** Topic of #dev: release on friday")
    # The server it was set on goes; the topic stays (in Redis and on b, c).
    alice.close()
    a.stop()
    bob.send("/part")
    bob.expect("You are now in #lobby")
    carol.send("/part")
    carol.expect("You are now in #lobby")
    _until(lambda: "release on friday" in redis.command("HGET", "sockit:topic:#dev", "t"),
           "the topic is not in Redis")
    d = servers("poll")
    redis.wait_linked(3)
    dave = Member(d, "dave")
    dave.send("/join #dev")
    dave.expect("*** Topic of #dev: release on friday")
    # Cleared on d: gone for b's member who joins again, and in Redis.
    dave.send("/topic -")
    dave.expect("*** dave cleared the topic of #dev")
    _until(lambda: redis.command("HGET", "sockit:topic:#dev", "t") == "$0\r\n\r\n",
           "the topic was not cleared in Redis")
    bob.send("/join #dev")
    bob.expect("You are now in #dev")
    bob.send("/topic")
    bob.expect("*** #dev has no topic")
    for m in (bob, carol, dave):
        m.close()


def test_topic_last_writer_wins(servers, redis):
    """Two servers setting a room's topic at once end up agreeing, with the
    topic Redis kept (the last set in Redis's order)."""
    a, b = servers("epoll"), servers("thread")
    redis.wait_linked(2)
    alice, bob = Member(a, "alice"), Member(b, "bob")
    for m in (alice, bob):
        m.send("/join #dev")
        m.expect("You are now in #dev")
    for i in range(20):
        alice.send(f"/topic a{i}")
        bob.send(f"/topic b{i}")
    alice.send("/topic")
    bob.send("/topic")
    # All 40 sets are in Redis: the version counts them.
    _until(lambda: redis.command("HGET", "sockit:topic:#dev", "v") == "$2\r\n40\r\n",
           "the sets never all reached Redis")
    kept = redis.command("HGET", "sockit:topic:#dev", "t").split("\r\n")[1]

    def agrees(m):
        m.send("/topic")
        try:
            m.expect(f"*** Topic of #dev: {kept}\n", timeout=0.3)
            return True
        except AssertionError:
            return False
    _until(lambda: agrees(alice) and agrees(bob), f"the servers do not agree on {kept}")
    for m in (alice, bob):
        m.close()


def test_topic_set_while_redis_away(servers, redis):
    """Redis away: /topic works for the server's own members and is shared
    when Redis is back."""
    a, b = servers("uring"), servers("pool")
    redis.wait_linked(2)
    alice, alice2, bob = Member(a, "alice"), Member(a, "alice2"), Member(b, "bob")
    for m in (alice, alice2, bob):
        m.send("/join #dev")
        m.expect("You are now in #dev")
    port = redis.port
    redis.stop()
    alice.expect("cluster is unreachable")
    bob.expect("cluster is unreachable")
    alice.send("/topic set alone")
    alice2.expect("*** alice set the topic of #dev: set alone")
    back = Redis(port)
    try:
        bob.expect("cluster is back", timeout=10)
        # Announced to b when a's set reaches Redis, or read by b from Redis.
        bob.expect("set alone", timeout=10)
        bob.send("/topic")
        bob.expect("*** Topic of #dev: set alone")
        assert "set alone" in back.command("HGET", "sockit:topic:#dev", "t")
    finally:
        back.stop()
    for m in (alice, alice2, bob):
        m.close()


def test_topic_from_another_server_is_sanitised(servers, redis):
    """A topic published by a hostile server: escapes removed, a too long
    or malformed one ignored."""
    a = servers("epoll")
    redis.wait_linked(1)
    alice = Member(a, "alice")
    alice.send("/join #dev")
    alice.expect("You are now in #dev")
    chan = "sockit:room:#dev"
    origin = "00000000000000aa"
    redis.command("PUBLISH", chan, f"SKT {origin} 1 #dev mallory 5 " + "x" * 201)
    redis.command("PUBLISH", chan, f"SKT {origin} 2 #Dev mallory 6 wrong room spelling")
    redis.command("PUBLISH", chan, f"SKT {origin} 3 #dev mallory 7 \x1b[2J\x1b]0;pwned\x07red")
    got = alice.expect("*** mallory set the topic of #dev: ")
    got += alice.expect("\n")
    assert "\x1b" not in got and "pwned" not in got and "x" * 50 not in got, got
    assert got.endswith("set the topic of #dev: red\n"), got
    alice.send("/topic")
    alice.expect("*** Topic of #dev: red\n")
    alice.close()


CHAT_MODELS = available_models("tcp", "chat")


def _linked(pairs):
    """Until a line passes from each (sender, receiver, nick) of pairs."""
    for src, dst, nick in pairs:
        for i in range(50):
            src.send(f"ping{i}")
            try:
                dst.expect(f"<{nick}> ping{i}", timeout=0.2)
                break
            except AssertionError:
                pass
        else:
            raise AssertionError(f"no line from {nick} passed")


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_cluster_under_every_model(servers, redis, model):
    """Every model that carries chat carries its cluster: lines both ways,
    /who, /names and /list across the servers, a topic, and the history of
    a room for one who joins it."""
    a, b = servers(model), servers("epoll" if model != "epoll" else "poll")
    redis.wait_linked(2)
    xena, yann = Member(a, "xena"), Member(b, "yann")
    for m in (xena, yann):
        m.send("/join #dev")
        m.expect("You are now in #dev")
    _linked(((xena, yann, "xena"), (yann, xena, "yann")))
    yann.send("hello from b")
    xena.expect("<yann> hello from b")
    xena.send("/who")
    xena.expect("Across the cluster, 2:")
    assert sorted(xena.expect("\n").replace("(", " ").replace(")", " ").split()) == [
        "#dev", "#dev", "xena", "yann"]
    xena.send("/names")
    xena.expect("Across the cluster, 2 in #dev:")
    assert sorted(xena.expect("\n").split()) == ["xena", "yann"]
    yann.send("/topic shipping")
    xena.expect("*** yann set the topic of #dev: shipping")
    xena.send("/list")
    xena.expect("Across the cluster (2 people):")
    xena.expect("#dev (2 people): shipping")
    zack = Member(a, "zack")
    zack.send("/join #dev")
    text = zack.expect("(end of the history of #dev)")
    assert "Topic of #dev: shipping" in text and "<yann> hello from b" in text, text
    for m in (xena, yann, zack):
        m.close()


def test_nick_clash_after_redis_restart(servers, redis):
    """Two people who took the same nick on two servers while Redis was
    away: on return one server keeps it and the other's member is told
    (never merged silently), and can choose another."""
    a, b = servers("epoll"), servers("thread")
    redis.wait_linked(2)
    alice, bob = Member(a, "alice"), Member(b, "bob")
    port = redis.port
    redis.stop()
    alice.expect("cluster is unreachable")
    bob.expect("cluster is unreachable")
    zed_a, zed_b = Member(a, "zed"), Member(b, "zed")
    back = Redis(port)
    try:
        for m in (alice, bob):
            m.expect("cluster is back", timeout=10)
        note = "someone on another server took the nickname zed"
        deadline = time.monotonic() + 5
        told = []
        while not told and time.monotonic() < deadline:
            for m in (zed_a, zed_b):
                try:
                    m.expect(note, timeout=0.1)
                    told.append(m)
                except AssertionError:
                    pass
        assert len(told) == 1, "neither zed was told"
        other = zed_b if told[0] is zed_a else zed_a
        time.sleep(0.3)
        with pytest.raises(AssertionError):
            other.expect(note, timeout=0.2)
        told[0].send("/nick zed2")
        told[0].expect("You are now known as zed2")
        assert a.alive() and b.alive()
    finally:
        back.stop()
    for m in (alice, bob, zed_a, zed_b):
        m.close()


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_memory_bounded_while_redis_away(redis, model):
    """A member flooding while Redis is away: what waits for Redis is
    bounded (the server's RSS grows by far less than what was said), the
    lines that did not fit are counted and told when Redis is back."""
    srv = Server(["chat", "-p", "0", "--model", model, "--cluster", redis.url, "--flood-lines",
                  "0", "--flood-bytes", "0"], binary=SOCKIT_RELEASE)
    try:
        redis.wait_linked(1)
        flood = Member(srv, "flood")
        port = redis.port
        redis.stop()
        flood.expect("cluster is unreachable")
        flood.send("/who")
        flood.expect("here: flood")
        rss0 = proc_status_kb(srv.pid)
        line = b"x" * 999 + b"\n"
        for _ in range(20):  # 20 MB
            flood.s.sendall(line * 1000)
        flood.send("/who")
        flood.expect("here: flood", timeout=20)
        grown = proc_status_kb(srv.pid) - rss0
        assert grown < 8 * 1024, f"RSS grew {grown} kB for 20 MB said while Redis was away"
        back = Redis(port)
        try:
            note = flood.expect("did not reach it).", timeout=10)
            assert "*** The cluster is back (" in note, note
        finally:
            back.stop()
        flood.close()
    finally:
        srv.stop()


@pytest.mark.parametrize("model", ["epoll", "thread"])
def test_burst_reaches_the_other_server(redis, model):
    """A burst of lines faster than Redis answers (more than the answers a
    server awaits at once) reaches the other server whole and in order: a
    sender's input waits while Redis is behind, no line is dropped."""
    flags = ["--flood-lines", "0", "--flood-bytes", "0"]
    a = Server(["chat", "-p", "0", "--model", model, "--cluster", redis.url, *flags])
    b = Server(["chat", "-p", "0", "--model", "epoll", "--cluster", redis.url])
    try:
        redis.wait_linked(2)
        sender, rcv = Member(a, "sender"), Member(b, "rcv")
        _linked(((sender, rcv, "sender"),))
        n = 3000
        sender.s.sendall(b"".join(b"burst %d\n" % i for i in range(n)))
        text = rcv.expect(f"<sender> burst {n - 1}\n", timeout=30)
        got = [int(ln.split()[-1]) for ln in text.splitlines() if ln.startswith("<sender> burst")]
        assert got == list(range(n)), (len(got), got[:5])
        for m in (sender, rcv):
            m.close()
    finally:
        a.stop()
        b.stop()
    for s in (a, b):
        assert not SANITIZER_RE.search(s.stderr), s.stderr


def test_local_chat_goes_on_while_redis_is_stuck(servers, redis):
    """Redis stopped (its connections open, nothing answered): after a
    moment the server stops waiting for it (for its answers, and for the
    history of a room just entered), and a burst still reaches the members
    on the same server whole and in order."""
    import signal
    a = Server(["chat", "-p", "0", "--model", "epoll", "--cluster", redis.url, "--flood-lines",
                "0", "--flood-bytes", "0"])
    try:
        redis.wait_linked(1)
        sender, local = Member(a, "sender"), Member(a, "local")
        redis.proc.send_signal(signal.SIGSTOP)
        try:
            # Entering a room asks for its history, which never comes.
            for m in (local, sender):
                m.send("/join #stuck")
                m.expect("You are now in #stuck")
            n = 3000
            sender.s.sendall(b"".join(b"stuck %d\n" % i for i in range(n)))
            text = local.expect(f"<sender> stuck {n - 1}\n", timeout=20)
            got = [int(ln.split()[-1]) for ln in text.splitlines()
                   if ln.startswith("<sender> stuck")]
            assert got == list(range(n)), (len(got), got[:5])
        finally:
            redis.proc.send_signal(signal.SIGCONT)
        for m in (sender, local):
            m.close()
    finally:
        a.stop()
    assert not SANITIZER_RE.search(a.stderr), a.stderr
