"""Chat rooms (issue 15) under every model that carries chat: two rooms
isolated from each other, /msg across rooms, /list with counts and topics,
/names and /who, room names (case, the '#', bad characters, length) and the
--max-rooms limit, a member leaving a room, and the clients from before
rooms (nc, the seeds' Python client) in #lobby seeing each other as they
did. `sockit chat` at a terminal (tmux): the room in the prompt and /join
completion of the rooms it heard of."""
import os
import select
import subprocess
import sys
import time

import pytest

from conftest import SANITIZER_RE, SEEDS, SOCKIT, SOCKIT_TSAN, ChatPeer
from test_chat import MODEL_PARAMS, MODELS, NcPeer
from test_chat_tty import last, needs_chat, tmux  # noqa: F401 (tmux is a fixture)


class Nc(NcPeer):
    """An nc process in the room, read line by line like ChatPeer."""

    def pump(self, timeout):
        if select.select([self.proc.stdout], [], [], timeout)[0]:
            self.feed(self.raw_recv())

    def send(self, line):
        self.raw_send(line.encode() + b"\n")


def peers(srv, *nicks):
    out = []
    for n in nicks:
        p = ChatPeer(srv)
        p.join(n)
        out.append(p)
    return out


def close_all(ps):
    for p in ps:
        p.close()


def quiet(p, want, wait=0.0):
    """No line containing `want` arrived at p. The callers first see p
    receive a line the server queued after the one p must not get (every
    callback runs under the hub lock and appends to p's queue in order), so
    no wait is needed but where a close is announced."""
    if wait:
        p.pump(wait)
    want = want.encode() if isinstance(want, str) else want
    return not any(want in l for l in p.lines)


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_two_rooms_are_isolated_and_msg_crosses_them(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    a, b, c = ps = peers(srv, "alice", "bob", "carol")
    try:
        a.send("/join #dev")
        a.expect("*** You are now in #dev: 0 others here.")
        b.expect("*** alice left for #dev")
        c.expect("*** alice left for #dev")
        b.send("/join #DEV")                    # one room, whatever the case
        b.expect("*** You are now in #dev: 1 other here: alice.")
        a.expect("*** bob joined #dev")
        c.expect("*** bob left for #dev")

        a.send("in the dev room")
        b.expect("<alice> in the dev room")
        c.send("in the lobby")
        c.send("/me waves")
        c.send("/msg Alice psst")               # /msg reaches any room
        a.expect("*carol* psst")
        c.expect("-> *alice* psst")
        a.send("/names")
        assert a.expect("in #dev:") == b"*** 2 people in #dev: bob alice"
        c.send("/names")
        assert c.expect("in #lobby:") == b"*** 1 person in #lobby: carol"
        c.send("/who")                          # everyone, with their room
        assert c.expect("here:") == b"*** 3 people here: carol bob(#dev) alice(#dev)"
        assert quiet(a, "in the lobby") and quiet(c, "in the dev room")

        # A member leaving a room: the room it left and the lobby hear of it,
        # and its lines go to the lobby from then on.
        b.send("/part")
        b.expect("*** You are now in #lobby: 1 other here: carol.")
        assert quiet(b, "waves")
        a.expect("*** bob left for #lobby")
        c.expect("*** bob joined #lobby")
        b.send("back in the lobby")
        c.expect("<bob> back in the lobby")
        a.send("/names")
        assert a.expect("in #dev:") == b"*** 1 person in #dev: alice"
        assert quiet(a, "back in the lobby")
        # Leaving the server: announced in its room only.
        a.send("/quit")
        a.wait_closed()
        c.send("/list")                         # #dev went with its last member
        assert c.expect("room") == b"*** 1 room:"
        assert c.expect("#lobby") == b"***   #lobby (2 people)"
        assert quiet(c, "alice left (", 0.2) and quiet(b, "alice left (")
    finally:
        close_all(ps)


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_list_topics_room_names_and_the_limit(server, model):
    srv = server("chat", "--model", model, "-p", "0", "--max-rooms", "2")
    a, b, c = ps = peers(srv, "alice", "bob", "carol")
    try:
        a.send("/join Rust")                    # the '#' may be left out
        a.expect("*** You are now in #Rust:")
        b.send("/join #rust")                   # kept as first written
        b.expect("*** You are now in #Rust: 1 other here: alice.")
        a.send("/topic")
        a.expect("*** #Rust has no topic")
        a.send("/topic borrow \x1b[31mchecker\x1b[0m talk")
        a.expect("*** alice set the topic of #Rust: borrow checker talk")
        b.expect("*** alice set the topic of #Rust: borrow checker talk")
        c.send("/topic Welcome all")
        c.expect("*** carol set the topic of #lobby: Welcome all")
        b.send("/topic")
        b.expect("*** Topic of #Rust: borrow checker talk")
        c.send("/list")
        assert c.expect(" rooms:") == b"*** 2 rooms:"
        assert c.expect("#lobby") == b"***   #lobby (1 person): Welcome all"
        assert c.expect("#Rust") == b"***   #Rust (2 people): borrow checker talk"
        c.send("/topic " + "t" * 201)
        c.expect("*** Topic too long (more than 200 bytes): not set.")

        # Room names: a documented set and length; each refusal says why.
        for bad, why in (("#no.dots", "may use only letters, digits, _ and -"),
                         ("#caf\u00e9", "may use only"),
                         ("#", "1 to 32 characters"),
                         ("#" + "x" * 33, "at most 32 characters"),
                         ("##x", "may use only")):
            c.send("/join " + bad)
            c.expect("*** Invalid room name")
            assert why.encode() in c.lines[c.pos - 1], c.lines[c.pos - 1]
        c.send("/join #" + "x" * 32)            # the longest name
        c.expect("*** You are now in #" + "x" * 32)
        c.send("/join #third")                  # two rooms besides #lobby: the limit
        c.expect("*** Cannot open #third: there are 2 rooms besides #lobby")
        c.send("/join #LOBBY")                  # the lobby is always there
        c.expect("*** You are now in #lobby:")
        c.send("/join #third")                  # the 32-x room went: room again
        c.expect("*** You are now in #third:")
        c.send("/join #third")
        c.expect("*** You are in #third already.")
        c.send("/join")
        c.expect("*** Usage: /join #ROOM (you are in #third)")
        # Rooms are asked for once named.
        n = ChatPeer(srv)
        ps.append(n)
        n.expect("Type your nickname")
        n.send("/join #x")
        n.expect("*** Choose a nickname first")
        c.send("/help")
        for cmd in ("/join #ROOM", "/part", "/list", "/topic [TEXT]", "/names", "/who"):
            c.expect(cmd)
    finally:
        close_all(ps)


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_nc_and_the_seed_client_in_the_lobby_as_before(server, model):
    """Clients that know nothing of rooms meet in #lobby as they did; a
    member in another room hears none of it."""
    srv = server("chat", "--model", model, "-p", "0")
    a, away = ps = peers(srv, "alice", "away")
    nc = Nc(srv)
    seed = subprocess.Popen([sys.executable, os.path.join(SEEDS, "seed_select_echo_client.py"),
                             srv.host, str(srv.port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        away.send("/join #elsewhere")
        away.expect("*** You are now in #elsewhere")
        nc.expect("Type your nickname")
        nc.send("ncat")
        nc.expect("*** Welcome, ncat! 1 other here: alice.")
        a.expect("*** ncat joined")
        seed.stdin.write("seedy\n")
        seed.stdin.flush()
        a.expect("*** seedy joined")
        nc.expect("*** seedy joined")
        seed.stdin.write("hello from the seed\n")
        seed.stdin.flush()
        a.expect("<seedy> hello from the seed")
        nc.expect("<seedy> hello from the seed")
        nc.send("hello from nc")
        a.expect("<ncat> hello from nc")
        seed.stdin.write("bye\n\n")             # a blank line ends the seed client
        seed.stdin.flush()
        # The seed client reads once per line it sent: talk until it left.
        deadline = time.monotonic() + 10
        i = 0
        while seed.poll() is None and time.monotonic() < deadline:
            a.send(f"ping {i}")
            i += 1
            time.sleep(0.1)
        out, _ = seed.communicate(timeout=10)
        assert seed.returncode == 0
        assert "Welcome to sockit chat" in out and "<ncat> hello from nc" in out, out
        a.expect("*** seedy left")
        away.send("/names")
        away.expect("in #elsewhere:")
        assert quiet(away, "seedy") and quiet(away, "ncat") and quiet(away, "ping")
    finally:
        if seed.poll() is None:
            seed.kill()
        seed.wait()
        nc.close()
        close_all(ps)


@pytest.mark.skipif(not os.path.exists(SOCKIT_TSAN), reason="build/tsan/sockit not built")
@pytest.mark.parametrize("model", [m for m in ("epoll", "thread") if m in MODELS] or MODEL_PARAMS)
def test_rooms_across_threads_under_threadsanitizer(server, model):
    """Rooms opened, joined, emptied and freed from several threads (three
    event loops, or a thread per member) under ThreadSanitizer: every line
    reaches exactly the others in its room, and the run ends without a
    report."""
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:exitcode=66")
    srv = server("chat", "--model", model, "-p", "0", "--workers", "3", binary=SOCKIT_TSAN,
                 env=env)
    ps = [ChatPeer(srv) for _ in range(9)]
    try:
        for i, p in enumerate(ps):
            p.join(f"t{i}")
        for rnd in range(2):                    # the second round re-creates the rooms
            for i, p in enumerate(ps):
                p.send(f"/join #r{rnd}{i % 3}")
            for p in ps:                        # all in: every room is complete
                p.expect("*** You are now in #r")
            for i, p in enumerate(ps):
                p.send(f"{rnd} from t{i}")
            for i, p in enumerate(ps):
                want = sorted(f"<t{j}> {rnd} from t{j}".encode()
                              for j in range(9) if j != i and j % 3 == i % 3)
                deadline = time.monotonic() + 20
                while len([l for l in p.lines if f"> {rnd} from".encode() in l]) < len(want):
                    assert time.monotonic() < deadline, p.lines
                    p.pump(0.5)
                got = sorted(l for l in p.lines if f"> {rnd} from".encode() in l)
                assert got == want
                p.pos = len(p.lines)
            for p in ps:
                p.send("/part")
            for p in ps:
                p.expect("*** You are now in #lobby")
    finally:
        close_all(ps)
    rc = srv.stop()
    assert not SANITIZER_RE.search(srv.stderr), srv.stderr
    assert rc == 0, srv.stderr


@needs_chat
def test_chat_client_prompt_shows_the_room_and_join_completes(server, tmux):  # noqa: F811
    srv = server("chat", "--model", MODELS[0], "-p", "0")
    b, c = ps = peers(srv, "bob", "carol")
    try:
        b.send("/join #devops")
        b.expect("*** You are now in #devops")
        c.send("/join #Design")
        c.expect("*** You are now in #Design")
        tmux.start("a", [SOCKIT, "chat", srv.host, str(srv.port), "--nick", "alice"])
        tmux.wait("a", lambda ls: last(ls) == "alice>")   # in #lobby as before rooms

        tmux.type("a", "/list")
        tmux.keys("a", "Enter")
        tmux.wait_text("a", "#devops (1 person)")
        # Two rooms start with "#d": Tab completes as far as they agree
        # ("#de", whatever the case), then lists them and keeps the line.
        tmux.type("a", "/join #d")
        tmux.keys("a", "Tab")
        tmux.wait("a", lambda ls: last(ls) == "alice> /join #De")
        tmux.keys("a", "Tab")
        lines = tmux.wait_text("a", "rooms: ")
        choice = [l for l in lines if "rooms: " in l][-1]
        assert "#devops" in choice and "#Design" in choice, choice
        assert last(lines) == "alice> /join #De"
        tmux.type("a", "v")
        tmux.keys("a", "Tab")
        tmux.wait("a", lambda ls: last(ls) == "alice> /join #devops")
        tmux.keys("a", "Enter")
        tmux.wait("a", lambda ls: last(ls) == "alice #devops>")
        b.expect("*** alice joined #devops")
        tmux.type("a", "hi devops")
        tmux.keys("a", "Enter")
        b.expect("<alice> hi devops")

        # Without the '#', any case: the room as the server spells it.
        tmux.type("a", "/join des")
        tmux.keys("a", "Tab")
        tmux.wait("a", lambda ls: last(ls) == "alice #devops> /join #Design")
        tmux.keys("a", "Enter")
        tmux.wait("a", lambda ls: last(ls) == "alice #Design>")
        c.expect("*** alice joined #Design")
        assert quiet(c, "hi devops")

        # A room heard of from a notice: bob leaves for #newroom.
        b.send("/join #design")
        tmux.wait_text("a", "*** bob joined #Design")
        b.send("/join #newroom")
        tmux.wait_text("a", "*** bob left for #newroom")
        tmux.type("a", "/join #n")
        tmux.keys("a", "Tab")
        tmux.wait("a", lambda ls: last(ls) == "alice #Design> /join #newroom")
        tmux.keys("a", "C-u")
        # Tab elsewhere still types a space; /part goes back to the lobby.
        tmux.type("a", "/part")
        tmux.keys("a", "Enter")
        tmux.wait("a", lambda ls: last(ls) == "alice>")
        tmux.type("a", "a")
        tmux.keys("a", "Tab")
        tmux.type("a", "b")
        tmux.wait("a", lambda ls: last(ls) == "alice> a b")
        tmux.keys("a", "C-u")
        tmux.type("a", "/quit")
        tmux.keys("a", "Enter")
        tmux.wait_text("a", "EXIT=0")
    finally:
        close_all(ps)
