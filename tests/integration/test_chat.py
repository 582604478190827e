"""`sockit serve chat` with real peers (Python sockets and nc) under every
model `sockit serve --list` shows as able to carry chat, plus the
non-interactive `sockit chat` client and the refusal under models that
cannot share state."""
import os
import selectors
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import SOCKIT, SOCKIT_TSAN, SANITIZER_RE, ChatPeer, run


def chat_models():
    """Models listed as ok whose service list includes chat."""
    p = subprocess.run([SOCKIT, "serve", "--list"], capture_output=True, text=True, timeout=20)
    models = []
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] == "tcp" and f[2] == "ok" and "chat" in f[3:]:
            models.append(f[0])
    return models


MODELS = chat_models()
MODEL_PARAMS = MODELS or [pytest.param(None, marks=pytest.mark.skip(
    reason="no model of this build carries hub services (chat) yet: "
           "`sockit serve --list` shows none"))]
ONE_MODEL = MODELS[:1] or MODEL_PARAMS


Peer = ChatPeer  # (conftest) the name other test files imported from here


class NcPeer(ChatPeer):
    """A chat client that is an nc process, read without blocking."""

    def __init__(self, srv):
        self.proc = subprocess.Popen(["nc", srv.host, str(srv.port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.crlf = False
        self.buf = b""
        self.lines, self.ends = [], []
        self.closed = False
        self.pos = 0

    def fileobj(self):
        return self.proc.stdout

    def raw_send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def raw_recv(self):
        return os.read(self.proc.stdout.fileno(), 65536)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def messages_from(lines, nick):
    pre = f"<{nick}> ".encode()
    return [l[len(pre):] for l in lines if l.startswith(pre)]


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_three_clients_python_and_nc(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    a, b = ChatPeer(srv), ChatPeer(srv, crlf=True)
    nc = subprocess.Popen(["nc", "-N", srv.host, str(srv.port)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        a.join("alice")
        b.join("bob")
        nc.stdin.write(b"/nick carol\n")
        nc.stdin.flush()
        a.expect("*** carol joined")
        b.expect("*** carol joined")
        for i in range(5):
            a.send(f"a{i}")
            b.send(f"b{i}")
            nc.stdin.write(f"c{i}\n".encode())
            nc.stdin.flush()
        nc.stdin.write("caf\u00e9 \u2603 \U0001f600\n".encode())
        nc.stdin.flush()
        for p, wants in ((a, ("<carol> caf", "<bob> b4")), (b, ("<carol> caf", "<alice> a4"))):
            deadline = time.monotonic() + 10
            while not all(any(w.encode() in l for l in p.lines) for w in wants):
                assert time.monotonic() < deadline, p.lines
                p.pump(0.5)
            p.pos = len(p.lines)
        a.send("/quit done")
        b.expect("*** alice left (quit: done)")
        b.send("/who")
        who = b.expect("people here")
        assert b"bob" in who and b"carol" in who and b"alice" not in who
        b.send("/quit")
        b.expect("*** Bye.")
        out, _ = nc.communicate(input=b"/quit\n", timeout=10)
    finally:
        if nc.poll() is None:
            nc.kill()
            nc.wait()
        a.close()
        b.close()
    nlines = out.split(b"\n")
    # Exactly once, in each sender's order, never back to the sender.
    assert messages_from(a.lines, "bob") == [f"b{i}".encode() for i in range(5)]
    assert messages_from(a.lines, "carol")[:5] == [f"c{i}".encode() for i in range(5)]
    assert messages_from(b.lines, "alice") == [f"a{i}".encode() for i in range(5)]
    assert messages_from(nlines, "alice") == [f"a{i}".encode() for i in range(5)]
    assert messages_from(nlines, "bob") == [f"b{i}".encode() for i in range(5)]
    assert messages_from(a.lines, "alice") == [] and messages_from(nlines, "carol") == []
    # UTF-8 intact.
    assert messages_from(b.lines, "carol")[5] == "caf\u00e9 \u2603 \U0001f600".encode()
    # bob spoke CRLF and is answered in CRLF; alice and nc in LF.
    assert set(b.ends[1:]) == {b"\r\n"}  # from its first line on
    assert set(a.ends[1:]) == {b"\n"}
    assert b"\r" not in out


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_socat_speaking_crlf_like_telnet(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    a = ChatPeer(srv)
    # crlf: socat sends CR LF for each LF typed, and turns CR LF back into LF.
    so = subprocess.Popen(["socat", "-t", "2", "STDIO", f"TCP:{srv.host}:{srv.port},crlf"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        a.join("alice")
        so.stdin.write(b"dave\nhello from socat\n")
        so.stdin.flush()
        a.expect("*** dave joined")
        assert a.expect("<dave>") == b"<dave> hello from socat"
        a.send("hi dave")
        time.sleep(0.3)
        out, _ = so.communicate(input=b"/quit\n", timeout=10)
        a.expect("*** dave left (quit)")
    finally:
        if so.poll() is None:
            so.kill()
            so.wait()
        a.close()
    assert b"*** Welcome, dave!" in out and b"<alice> hi dave\n" in out


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_200_clients_every_message_once_in_order(server, model):
    n, per = 200, 2
    # A pool serves --workers connections at once; the rest wait in the backlog.
    extra = ["--workers", str(n + 10)] if model == "pool" else []
    srv = server("chat", "--model", model, "-p", "0", *extra)
    sel = selectors.DefaultSelector()
    peers = []
    try:
        for i in range(n):
            p = NcPeer(srv) if i % 20 == 7 else ChatPeer(srv)   # 10 of them are nc
            if isinstance(p, ChatPeer) and not isinstance(p, NcPeer):
                p.s.setblocking(False)
            peers.append(p)
            sel.register(p.fileobj(), selectors.EVENT_READ, p)

        def pump_until(done, timeout=60):
            deadline = time.monotonic() + timeout
            while not done() and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=0.5):
                    try:
                        key.data.feed(key.data.raw_recv())
                    except (BlockingIOError, InterruptedError):
                        pass
            return done()

        # Every client names itself at once; the welcome confirms each.
        for i, p in enumerate(peers):
            p.raw_send(f"/nick u{i:03d}\n".encode())
        assert pump_until(lambda: all(any(l.startswith(b"*** Welcome, u") for l in p.lines)
                                      for p in peers))
        for k in range(per):
            for i, p in enumerate(peers):
                p.raw_send(f"m{k} from u{i:03d}\n".encode())
        want = (n - 1) * per

        def complete():
            return all(sum(1 for l in p.lines if l.startswith(b"<u")) >= want for p in peers)

        assert pump_until(complete), "not every message arrived"
        time.sleep(0.3)
        pump_until(lambda: False, timeout=0.5)  # nothing more (no duplicates) arrives
        for i, p in enumerate(peers):
            msgs = [l for l in p.lines if l.startswith(b"<u")]
            assert len(msgs) == want, f"u{i:03d} got {len(msgs)} messages"
            for j in (0, 7, (i + 1) % n, n - 1):
                if j == i:
                    continue
                got = messages_from(p.lines, f"u{j:03d}")
                assert got == [f"m{k} from u{j:03d}".encode() for k in range(per)]
            assert messages_from(p.lines, f"u{i:03d}") == []
    finally:
        for p in peers:
            p.close()


EVENT_MODELS = [m for m in MODELS if m in ("select", "poll", "epoll", "uring")] or [
    pytest.param(None, marks=pytest.mark.skip(reason="no event model carries chat yet"))]


@pytest.mark.parametrize("model", EVENT_MODELS)
def test_one_room_across_event_loops(server, model):
    """--workers 3: three event loops, one room (the hub spans them)."""
    srv = server("chat", "--model", model, "-p", "0", "--workers", "3")
    peers = [ChatPeer(srv) for _ in range(12)]
    try:
        for i, p in enumerate(peers):
            p.join(f"w{i}")
        for i, p in enumerate(peers):
            p.send(f"from w{i}")
        for i, p in enumerate(peers):
            deadline = time.monotonic() + 10
            while sum(1 for l in p.lines if l.startswith(b"<w")) < 11:
                assert time.monotonic() < deadline, p.lines
                p.pump(0.5)
            got = sorted(l for l in p.lines if l.startswith(b"<w"))
            assert got == sorted(f"<w{j}> from w{j}".encode() for j in range(12) if j != i)
    finally:
        for p in peers:
            p.close()


@pytest.mark.skipif(not os.path.exists(SOCKIT_TSAN), reason="build/tsan/sockit not built")
@pytest.mark.parametrize("model", EVENT_MODELS)
def test_one_room_across_event_loops_under_threadsanitizer(server, model):
    """The event loop core's hub wake-ups across loops (a remote list per
    loop under the hub lock, an eventfd to signal it) under ThreadSanitizer:
    everyone talks at once over three loops, every line reaches every other
    peer, and the run ends without a report."""
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:exitcode=66")
    srv = server("chat", "--model", model, "-p", "0", "--workers", "3", binary=SOCKIT_TSAN,
                 env=env)
    peers = [ChatPeer(srv) for _ in range(9)]
    try:
        for i, p in enumerate(peers):
            p.join(f"t{i}")
        for k in range(3):
            for i, p in enumerate(peers):
                p.send(f"{k} from t{i}")
        for i, p in enumerate(peers):
            deadline = time.monotonic() + 20
            while sum(1 for l in p.lines if l.startswith(b"<t")) < 3 * 8:
                assert time.monotonic() < deadline, p.lines
                p.pump(0.5)
            got = sorted(l for l in p.lines if l.startswith(b"<t"))
            assert got == sorted(f"<t{j}> {k} from t{j}".encode()
                                 for j in range(9) if j != i for k in range(3))
    finally:
        for p in peers:
            p.close()
    rc = srv.stop()
    assert not SANITIZER_RE.search(srv.stderr), srv.stderr
    assert rc == 0, srv.stderr


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_stalled_reader_is_dropped_and_nobody_waits(server, model):
    srv = server("chat", "--model", model, "-p", "0", "--max-queue", "16k")
    a, b = ChatPeer(srv), ChatPeer(srv)
    slow = ChatPeer(srv, rcvbuf=4096)
    try:
        a.join("alice")
        b.join("bob")
        slow.join("slow")   # then never reads again
        a.expect("*** slow joined")
        line = "x" * 400
        sent = 0
        dropped = False
        # The rule is in time (nothing taken for --stall, 1 s), the loop in
        # count and time: on a fast machine 200 batches can pass before the
        # kernel's buffers for slow fill and a second goes by, so keep
        # sending (at most 2000 batches, 20 s) until slow is dropped.
        deadline = time.monotonic() + 20
        for batch in range(2000):           # bounded: at most 2000 * 50 lines of 400 bytes
            if batch >= 200 and time.monotonic() > deadline:
                break
            for _ in range(50):
                a.send(f"{sent} {line}")
                sent += 1
            b.expect(f"<alice> {sent - 1} ")  # bob keeps up all along
            if any(b"*** slow left" in l for l in b.lines):
                dropped = True
                break
        assert dropped, "the stalled reader was never dropped"
        note = [l for l in b.lines if b"*** slow left" in l]
        assert len(note) == 1 and b"not reading" in note[0]
        # bob got every line, in order, none lost while slow was being dropped
        got = messages_from(b.lines, "alice")
        assert [int(g.split()[0]) for g in got] == list(range(sent))
        a.send("after")
        b.expect("<alice> after")
        a.expect("*** slow left")
    finally:
        a.close()
        b.close()
        slow.close()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_long_lines_garbage_and_escapes(server, model):
    srv = server("chat", "--model", model, "-p", "0", "--max-line", "400")
    a, b = ChatPeer(srv), ChatPeer(srv)
    try:
        a.join("alice")
        b.join("bob")
        a.s.sendall(b"y" * 5000 + b"\n")
        a.expect("*** Line too long (more than 400 bytes)")
        a.s.sendall(b"z" * 3000)          # a long line arriving in pieces
        a.expect("*** Line too long")
        a.s.sendall(b"z" * 3000 + b"\nstill usable\n")
        b.expect("<alice> still usable")
        a.s.sendall(b"\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m \x9b2J\xc2\x9b2Jok\n")
        assert b.expect("<alice> red") == b"<alice> red \xef\xbf\xbd2Jok"
        a.s.sendall(b"bin\x00\x01\x02\xff\xfe\x7f\x08end\n")
        assert b.expect("<alice> bin") == b"<alice> bin\xef\xbf\xbd\xef\xbf\xbdend"
        a.s.sendall(bytes(range(256)) .replace(b"\n", b"") + b"\n")
        line = b.expect(b"0123456789")
        assert all(c >= 0x20 for c in line) and b"\x1b" not in line
        line.decode("utf-8")                  # valid UTF-8, always
        assert not any(b"y" * 400 in l or b"z" * 400 in l for l in b.lines)
        a.send("/frobnicate")
        a.expect("*** Unknown command /frobnicate")
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_nickname_races_exactly_one_wins(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    for round_ in range(10):
        x, y = ChatPeer(srv), ChatPeer(srv)
        try:
            x.expect("Type your nickname")
            y.expect("Type your nickname")
            name = f"Racer{round_}"
            barrier = threading.Barrier(2)

            def claim(p, nick):
                barrier.wait()
                p.send(nick)

            t1 = threading.Thread(target=claim, args=(x, name))
            t2 = threading.Thread(target=claim, args=(y, name.upper()))
            t1.start()
            t2.start()
            t1.join()
            t2.join()
            results = []
            for p in (x, y):
                line = p.expect(b"***", timeout=10)
                while b"Welcome," not in line and b"taken" not in line:
                    line = p.expect(b"***")
                results.append(b"Welcome," in line)
            assert sorted(results) == [False, True], results
        finally:
            x.close()
            y.close()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_limits_max_clients_and_invalid_nicks(server, model):
    srv = server("chat", "--model", model, "-p", "0", "--max-clients", "2")
    a = ChatPeer(srv)
    b = c = None
    try:
        a.join("alice")
        b = ChatPeer(srv)
        b.expect("Type your nickname")
        c = ChatPeer(srv)
        c.expect("the room is full (2 people)")
        assert c.wait_closed()
        b.send("bad nick!")
        b.expect("*** Invalid nickname 'bad nick!'")
        b.send("x" * 33)
        b.expect("at most 32 characters")
        b.send("ALICE")
        b.expect("*** The nickname alice is taken")
        b.send("bob")
        b.expect("*** Welcome, bob! 1 other here: alice.")
        a.send("/msg bob psst")
        assert b.expect("psst") == b"*alice* psst"
        a.close()
        b.expect("*** alice left (connection closed)")
    finally:
        for p in (a, b, c):
            if p:
                p.close()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_operator_and_transcript(server, model):
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "chat.log")
        srv = server("chat", "--model", model, "-p", "0", "--operator", "op", "--log", log,
                     stdin=subprocess.PIPE)
        a = ChatPeer(srv)
        try:
            a.join("alice")
            # The operator joins on its own connection, soon after the start.
            deadline = time.monotonic() + 10
            while True:
                a.send("/who")
                if b"op(op)" in a.expect("here:"):
                    break
                assert time.monotonic() < deadline, a.lines
                time.sleep(0.1)
            a.send("/nick OP")
            a.expect("is taken")
            srv.proc.stdin.write("hello from the terminal\n")
            srv.proc.stdin.flush()
            a.expect("<op> hello from the terminal")
            a.send("hi operator")
            # the room's traffic reaches the server's stdout
            deadline = time.monotonic() + 10
            out = ""
            while "<alice> hi operator" not in out and time.monotonic() < deadline:
                import select
                r, _, _ = select.select([srv.proc.stdout], [], [], 0.5)
                if r:
                    out += os.read(srv.proc.stdout.fileno(), 65536).decode()
            assert "<alice> hi operator" in out
            assert "Welcome, op!" in out           # what the operator's terminal shows
            srv.proc.stdin.close()           # end of input: the operator leaves
            srv.proc.stdin = None
            a.expect("*** op left (quit)")
            a.send("still here")             # the server keeps serving
            a.send("/who")
            assert b"1 person here: alice" in a.expect("here:")
        finally:
            a.close()
        srv.stop()
        with open(log) as f:
            text = f.read()
    assert "<op> hello from the terminal" in text
    assert "<alice> hi operator" in text
    assert "*** op left (quit)" in text
    for line in text.splitlines():
        assert line[4] == "-" and line[10] == " " and line[13] == ":", line


@pytest.mark.parametrize("model", ["iterative", "fork", "prefork"])
def test_models_without_shared_state_refuse_chat(model):
    p = run("serve", "chat", "--model", model, "-p", "0")
    assert p.returncode == 1
    assert "refusing chat" in p.stderr and "shares state" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_chat_client_usage():
    p = run("chat", "127.0.0.1")
    assert p.returncode == 2 and "HOST and PORT" in p.stderr
    p = run("chat", "127.0.0.1", "1", "--nick", "no way")
    assert p.returncode == 2 and "--nick" in p.stderr
    p = run("chat", "--help")
    assert p.returncode == 0 and "--nick" in p.stdout


def test_chat_client_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = run("chat", "127.0.0.1", str(port), "--nick", "x")
    assert p.returncode == 1 and "refused" in p.stderr


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_chat_client_in_a_pipe(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    a = ChatPeer(srv)
    try:
        a.join("alice")
        p = subprocess.Popen([SOCKIT, "chat", srv.host, str(srv.port), "--nick", "bob"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        a.expect("*** bob joined")
        a.send("\x1b[2Jhello \x1b]0;t\x07bob")
        p.stdin.write(b"hi alice\n")
        p.stdin.flush()
        a.expect("<bob> hi alice")
        time.sleep(0.3)
        out, err = p.communicate(timeout=10)   # closes stdin: leave cleanly
        assert p.returncode == 0, err
        assert b"<alice> hello bob" in out and b"\x1b" not in out
        a.expect("*** bob left (quit)")
    finally:
        a.close()
    assert not SANITIZER_RE.search(err.decode())


@pytest.mark.parametrize("model", ONE_MODEL)
def test_chat_client_reports_a_dropped_server(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    a = ChatPeer(srv)
    a.join("alice")
    p = subprocess.Popen([SOCKIT, "chat", srv.host, str(srv.port), "--nick", "bob"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        a.expect("*** bob joined")     # the client is in the room
        srv.stop()
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        a.close()
    assert p.returncode == 1
    assert b"the server closed the connection" in err


@pytest.mark.parametrize("model", ["thread", "epoll"])
def test_idle_timeout_only_when_asked_for(server, model):
    """Chat has no idle timeout of its own (people may stay silent), but an
    explicit --idle-timeout is honoured: a connection with no traffic either
    way for that long is closed."""
    srv = server("chat", "--model", model, "-p", "0", "--idle-timeout", "1.5")
    quiet = ChatPeer(srv)
    try:
        quiet.join("quiet")
        started = time.monotonic()
        assert quiet.wait_closed(timeout=10), "--idle-timeout did not close a silent member"
        assert time.monotonic() - started >= 1.0
    finally:
        quiet.close()
