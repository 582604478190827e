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
