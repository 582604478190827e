"""Bad clients against every model: random binary, connections reset
(SO_LINGER 0) with a request half sent, connections opened and never used,
and a quick burst of connect/close. The server must stay up, keep serving a
good client throughout, and give back every descriptor once they are gone."""
import os
import random
import socket
import struct
import time

import pytest

from conftest import available_models

MODELS = available_models("tcp")


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_table(pid):
    """What each descriptor is (for the failure message): fd -> link target,
    sockets with their TCP state from /proc/net/tcp{,6}."""
    states = {}
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f"/proc/{pid}/net/{f.rsplit('/', 1)[1]}") as t:
                for line in t.readlines()[1:]:
                    p = line.split()
                    states[p[9]] = f"{p[1]}->{p[2]} st={p[3]}"
        except OSError:
            pass
    out = {}
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            link += " " + states.get(link[8:-1], "")
        out[int(fd)] = link
    return out


def fds_settle(pid, want, limit=30.0):
    # fork under a loaded machine (ASan makes each fork slow) may still be
    # working through the backlog of the connect/close burst, holding one
    # accepted descriptor at a time: wait for it, returning at once when done.
    deadline = time.monotonic() + limit
    while fds(pid) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return fds(pid)


class Good:
    """A well-behaved client: a persistent connection when the model serves
    several at once (iterative serves one at a time: a fresh one each time)."""

    def __init__(self, s, http, persistent):
        self.s, self.http, self.persistent, self.n = s, http, persistent, 0
        self.c = s.connect(timeout=10) if persistent else None

    def check(self):
        self.n += 1
        c = self.c or self.s.connect(timeout=10)
        try:
            if self.http:
                c.sendall(b"GET /%d HTTP/1.1\r\nHost: good\r\n\r\n" % self.n)
                want = b"Hello, World!"
            else:
                want = b"good %d\n" % self.n
                c.sendall(want)
            got = b""
            while not got.endswith(want):
                chunk = c.recv(4096)
                assert chunk, f"the good client was dropped ({got!r})"
                got += chunk
        finally:
            if not self.persistent:
                c.close()

    def close(self):
        if self.c:
            self.c.close()


@pytest.mark.parametrize("svc", [["echo", "--lines"], ["http"]], ids=["echo-lines", "http"])
@pytest.mark.parametrize("model", MODELS)
def test_bad_clients_do_not_hurt_the_server(server, model, svc):
    rnd = random.Random(f"{model}-{svc[0]}")
    s = server(*svc, "--model", model, "-q", "--max-input", "4k")
    time.sleep(0.2)  # fork/prefork: children and listeners settle first
    before, before_table = fds(s.pid), fd_table(s.pid)
    concurrent = model != "iterative"
    good = Good(s, svc[0] == "http", concurrent)
    good.check()

    silent = [s.connect() for _ in range(10)] if concurrent else []
    for i in range(40):  # random binary, some past --max-input, then close
        with s.connect() as c:
            try:
                c.sendall(rnd.randbytes(rnd.choice((1, 100, 3000, 9000))))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may refuse an oversized message first
    good.check()
    for i in range(40):  # a request half sent, then a reset instead of a close
        c = s.connect()
        c.sendall(b"GET / HTTP/1.1\r\nHost: x" if i % 2 else rnd.randbytes(50))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    good.check()
    for i in range(300):  # connect and close at once
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.connect(s.addr)
        c.close()
    good.check()
    for c in silent:
        c.close()
    good.check()
    good.close()

    assert s.alive()
    after = fds_settle(s.pid, before)
    after_table = fd_table(s.pid)
    changed = {fd: (before_table.get(fd), what) for fd, what in after_table.items()
               if before_table.get(fd) != what}
    gone = sorted(set(before_table) - set(after_table))
    # Only what differs: the whole tables are cut short in pytest's report.
    assert after == before, f"new or changed descriptors {changed}, gone {gone}"
    assert s.stop() == 0, s.stderr
