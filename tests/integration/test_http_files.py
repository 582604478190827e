"""sockit serve http --root: the file server's edges found by attacking it
(issue 11): empty directories, a file named as a directory, and directory
listings that must neither stall the event loop nor grow without bound."""
import os
import socket
import subprocess
import time

import pytest

from conftest import SOCKIT
from test_http import MODELS, raw, read_response


def test_listing_of_an_empty_or_dotfile_only_root(server, tmp_path):
    # qsort(NULL, 0, ...) is undefined: the sanitized build died on it.
    empty = tmp_path / "empty"
    empty.mkdir()
    dots = tmp_path / "dots"
    dots.mkdir()
    (dots / ".a").write_text("a\n")
    (dots / ".b").write_text("b\n")
    for root in (empty, dots):
        s = server("http", "-q", "--root", str(root))
        r, closed = raw(s, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert r.status == 200 and b"Index of /" in r.body, root
        assert b"<a href=\"" not in r.body and not closed
        assert s.proc.poll() is None


@pytest.mark.parametrize("model", MODELS)
def test_a_file_named_as_a_directory_is_404(server, tmp_path, model):
    # nginx: "GET /file.txt/" is 404; a trailing slash names a directory.
    (tmp_path / "file.txt").write_text("hello\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("f\n")
    s = server("http", "-q", "--model", model, "--root", str(tmp_path))
    for path in (b"/file.txt/", b"/d/f.txt/", b"/file.txt//", b"/file.txt/."):
        r, _ = raw(s, b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        assert r.status == 404 and b"hello" not in r.body, path
    r, _ = raw(s, b"GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200 and r.body == b"hello\n"
    r, _ = raw(s, b"GET /d/ HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200 and b"f.txt" in r.body


EVENT_MODELS = [m for m in MODELS if m in ("select", "poll", "epoll", "uring")]


def make_dir(path, n, prefix="f"):
    path.mkdir()
    for i in range(n):
        os.close(os.open(path / f"{prefix}{i:06d}.txt", os.O_CREAT | os.O_WRONLY, 0o644))


def rows(body):
    return body.count(b"<tr><td><a href=\"")


def test_listing_max_caps_and_says_so(server, tmp_path):
    make_dir(tmp_path / "d", 12)
    (tmp_path / "d" / ".hidden").write_text("h\n")
    s = server("http", "-q", "--root", str(tmp_path), "--listing-max", "5")
    r, closed = raw(s, b"GET /d/ HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200 and not closed
    assert rows(r.body) == 5 + 1  # five entries and "../"
    assert b"the listing stops at 5 (--listing-max)" in r.body
    h, _ = raw(s, b"HEAD /d/ HTTP/1.1\r\nHost: a\r\n\r\n", head=True)
    assert h.status == 200 and int(h.h("content-length")) == len(r.body)
    # Exactly at the cap (the hidden file does not count): nothing to say.
    s2 = server("http", "-q", "--root", str(tmp_path), "--listing-max", "12")
    r, _ = raw(s2, b"GET /d/ HTTP/1.1\r\nHost: a\r\n\r\n")
    assert rows(r.body) == 12 + 1 and b"--listing-max" not in r.body
    for bad in ("0", "x", "10000001"):
        p = subprocess.run([SOCKIT, "serve", "http", "--root", str(tmp_path), "--listing-max", bad],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 2 and "--listing-max" in p.stderr, bad
    p = subprocess.run([SOCKIT, "serve", "http", "--listing-max", "5"], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 1 and "need --root" in p.stderr


@pytest.mark.parametrize("model", MODELS)
def test_big_listing_pipelined_and_half_closed(server, tmp_path, model):
    # A listing made in slices holds the requests behind it, answers them in
    # order after it, and is finished even when the client has shut down
    # its side right after asking.
    make_dir(tmp_path / "big", 3000)
    (tmp_path / "small.txt").write_text("small\n")
    s = server("http", "-q", "--model", model, "--root", str(tmp_path))
    with s.connect(timeout=30) as c:
        c.sendall(b"GET /big/ HTTP/1.1\r\nHost: a\r\n\r\n" + b"GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n"
                  + b"HEAD /big/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        c.shutdown(socket.SHUT_WR)
        f = c.makefile("rb")
        big = read_response(f)
        assert big.status == 200 and rows(big.body) == 3000 + 1
        assert big.body.endswith(b"</html>\n")
        small = read_response(f)
        assert small.status == 200 and small.body == b"small\n"
        head = read_response(f, head=True)
        assert head.status == 200 and int(head.h("content-length")) == len(big.body)
        assert f.read() == b""  # then a clean end


@pytest.mark.parametrize("model", EVENT_MODELS)
def test_a_small_file_is_not_stuck_behind_big_listings(server, tmp_path, model):
    # Issue 11: four listings of a big directory made a 6-byte file wait for
    # seconds on the event loop. Listings are now made in slices: the small
    # file is answered before any listing's first byte.
    make_dir(tmp_path / "big", 30000)
    (tmp_path / "small.txt").write_text("small\n")
    s = server("http", "-q", "--model", model, "--root", str(tmp_path), "--listing-max", "100000")
    lists = []
    try:
        for _ in range(4):
            c = s.connect(timeout=60)
            c.sendall(b"GET /big/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            lists.append(c)
        time.sleep(0.05)  # the listings are under way
        t0 = time.monotonic()
        with s.connect(timeout=60) as c:
            c.sendall(b"GET /small.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            small = read_response(c.makefile("rb"))
        waited = time.monotonic() - t0
        assert small.status == 200 and small.body == b"small\n"
        # No listing had sent anything yet: none held the loop until it was done.
        for c in lists:
            c.setblocking(False)
            try:
                first = c.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                first = None
            assert first is None, f"a listing came first (small file after {waited:.3f} s)"
        # And each listing then completes, whole.
        for c in lists:
            c.setblocking(True)
            f = c.makefile("rb")
            r = read_response(f)
            assert r.status == 200 and rows(r.body) == 30000 + 1
        print(f"small file during 4 listings of 30000 entries ({model}): {waited * 1000:.1f} ms")
    finally:
        for c in lists:
            c.close()
