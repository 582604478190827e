"""`sockit serve chat` against members who try to pass for someone else or
to drown the room (issue 11): look-alike nicknames, invisible and reordering
characters, and flooding, under every model that carries chat."""
import pytest

from test_chat import MODEL_PARAMS, Peer, messages_from


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_lookalike_nicknames_are_refused(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    a, b = Peer(srv), Peer(srv)
    try:
        a.join("alice")
        b.expect("Type your nickname")
        for fake in ("aIice", "al1ce", "a1ice", "ALlCE"):
            b.send(fake)
            b.expect(f"*** The nickname {fake} looks too much like alice")
        b.send("bob")
        b.expect("*** Welcome, bob! 1 other here: alice.")
        b.send("/nick b0b")          # one's own look-alike is fine
        b.expect("*** You are now known as b0b")
        a.send("/nick B0B")
        a.expect("*** The nickname b0b is taken")
        a.send("/nick bob")
        a.expect("*** The nickname bob looks too much like b0b")
        a.send("hello")
        b.expect("<alice> hello")
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_invisible_and_bidi_characters_are_removed(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    a, b = Peer(srv), Peer(srv)
    try:
        a.join("alice")
        b.join("bob")
        hidden = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff",
                  "\u2028", "\u2029", "\u202e", "\u2066", "\u2069", "\u2060", "\u00ad"]
        a.s.sendall(("x" + "x".join(hidden) + "x end\n").encode())
        line = b.expect("<alice> x")
        assert line == b"<alice> " + b"x" * (len(hidden) + 1) + b" end", line
        a.s.sendall("caf\u00e9 \u05e9\u05dc\u05d5\u05dd ok\n".encode())  # visible text stays
        assert b.expect("<alice> caf").decode() == "<alice> caf\u00e9 \u05e9\u05dc\u05d5\u05dd ok"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_a_flooder_is_throttled_and_disconnected_fair_readers_stay(server, model):
    # Issue 11: a member sending 3000-byte lines as fast as it could got fast
    # readers dropped as "not reading" while it stayed. Now its lines wait for
    # its budget, then are refused, then it is disconnected ("Excess Flood");
    # every fair reader stays and gets everyone else's messages.
    import selectors
    import socket
    import threading
    import time
    from test_chat import NcPeer
    def pump_raw(p, timeout):
        sel1 = selectors.DefaultSelector()
        sel1.register(p.fileobj(), selectors.EVENT_READ)
        if sel1.select(timeout=timeout):
            try:
                p.feed(p.raw_recv())
            except (BlockingIOError, ConnectionResetError):
                pass
        sel1.close()

    def join_raw(p, nick):
        deadline = time.monotonic() + 10
        p.raw_send(nick.encode() + b"\n")
        while not any(f"*** Welcome, {nick}!".encode() in l for l in p.lines):
            assert time.monotonic() < deadline, p.lines
            pump_raw(p, 0.2)

    extra = ["--workers", "16"] if model == "pool" else []  # a thread per member
    srv = server("chat", "--model", model, "-p", "0", "--flood-bytes", "256k", "--flood-time",
                 "1.5", *extra)
    readers = [Peer(srv) for _ in range(3)] + [NcPeer(srv) for _ in range(2)]
    carol, flooder = Peer(srv), Peer(srv)
    try:
        for i, r in enumerate(readers):
            join_raw(r, f"r{i}")
        carol.join("carol")
        flooder.join("flooder")
        stop = threading.Event()
        sent = [0]

        def flood():
            line = b"F" * 3000 + b"\n"
            deadline = time.monotonic() + 15     # bounded: at most 15 s
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    flooder.s.sendall(line * 16)
                except socket.timeout:
                    continue                      # held back by the server: push on
                except OSError:
                    return                        # disconnected: expected
                sent[0] += 16

        t = threading.Thread(target=flood)
        t.start()
        sel = selectors.DefaultSelector()
        for r in readers + [carol]:  # carol reads too: else she is a stalled reader
            sel.register(r.fileobj(), selectors.EVENT_READ, r)
        said = 0
        deadline = time.monotonic() + 20
        flood_notice = excess = False
        while time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.05):
                try:
                    key.data.feed(key.data.raw_recv())
                except BlockingIOError:
                    pass
            if said < 10 and time.monotonic() > deadline - 20 + 0.5 * (said + 1):
                carol.send(f"carol says {said}")
                said += 1
            pump_raw(flooder, 0)
            flood_notice |= any(b"*** Flood control:" in l for l in flooder.lines)
            excess = any(b"Excess Flood" in l for l in readers[0].lines)
            if excess and said == 10:
                break
        stop.set()
        t.join(timeout=20)
        assert flood_notice, flooder.lines[-5:]
        assert excess, ("the flooder was never disconnected", readers[0].lines[-3:], flooder.lines[-3:], sent[0])
        assert any(b"*** Excess Flood: disconnected." in l for l in flooder.lines) or \
            flooder.wait_closed(5)
        for i, r in enumerate(readers):
            deadline = time.monotonic() + 10
            while len(messages_from(r.lines, "carol")) < 10 and time.monotonic() < deadline:
                pump_raw(r, 0.2)
            assert not r.closed, f"reader r{i} was dropped"
            assert not any(b" left (dropped" in l for l in r.lines), r.lines[-5:]
            assert messages_from(r.lines, "carol") == [f"carol says {k}".encode()
                                                         for k in range(10)], i
            assert any(b"*** flooder left (Excess Flood)" in l for l in r.lines), i
            got = len(messages_from(r.lines, "flooder"))
            assert 0 < got < sent[0], (i, got, sent[0])
    finally:
        for p in readers + [carol, flooder]:
            p.close()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_a_reader_that_reads_is_not_dropped_for_a_full_queue(server, model):
    # A reader that falls behind the room (here: it looks away for a moment,
    # less than --stall, while 6.5 MB go by) used to be dropped as "not
    # reading" the moment its queue reached --max-output. Now it misses the
    # lines that do not fit and is told how many; only a reader that takes
    # nothing for --stall is dropped.
    import threading
    import time
    srv = server("chat", "--model", model, "-p", "0", "--max-queue", "16k", "--max-output", "64k",
                 "--stall", "10", "--flood-lines", "0", "--flood-bytes", "0")
    a, slow = Peer(srv), Peer(srv, rcvbuf=4096)
    try:
        a.join("alice")
        slow.join("slowpoke")
        a.expect("*** slowpoke joined")
        done, sent = threading.Event(), threading.Event()

        def read_slowly():   # a pause shorter than --stall, then it reads all along
            sent.wait(timeout=30)
            slow.s.settimeout(0.5)
            while not done.is_set():
                try:
                    d = slow.s.recv(65536)
                except OSError:
                    continue
                if not d:
                    slow.closed = True
                    return
                slow.feed(d)

        t = threading.Thread(target=read_slowly)
        t.start()
        n = 16000
        for i in range(0, n, 100):   # 6.5 MB: more than the kernel's buffers hold
            a.s.sendall(b"".join(b"%d %s\n" % (k, b"y" * 400) for k in range(i, i + 100)))
        a.send("/who")   # answered after all of it was relayed
        a.expect("slowpoke")
        sent.set()
        # Once slowpoke has caught up (nothing new for half a second), one more.
        deadline = time.monotonic() + 60
        seen = -1
        time.sleep(0.5)
        while len(slow.lines) != seen and time.monotonic() < deadline:
            seen = len(slow.lines)
            time.sleep(0.5)
        a.send("the end")
        while not any(b"<alice> the end" in l for l in slow.lines) and not slow.closed \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        done.set()
        t.join(timeout=10)
        assert not slow.closed, slow.lines[-5:]
        assert any(b"<alice> the end" in l for l in slow.lines), (slow.lines[-3:], len(slow.lines))
        notes = [l for l in slow.lines if b"not given to you" in l]
        assert notes, "slowpoke missed nothing? the queue never filled"
        got = [int(m.split()[0]) for m in messages_from(slow.lines, "alice") if m != b"the end"]
        assert got == sorted(got) and len(got) < n  # in order, some missed
        a.send("/who")
        a.expect("slowpoke")
        assert not any(b"slowpoke left" in l for l in a.lines)
    finally:
        a.close()
        slow.close()
