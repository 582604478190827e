"""sockit serve http: the Hello, World! server and the static file server,
against curl, Python's http.client, raw sockets (pipelining, errors, path
traversal), headless Chromium (the directory listing) and wrk (every model
under load)."""
import http.client
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import zlib

import pytest

from conftest import SOCKIT, run, recv_until_close


def http_models():
    """The TCP models `sockit serve --list` reports as ok for http."""
    try:
        from conftest import available_models
        return available_models("tcp", "http")
    except ImportError:  # an older conftest: read the list here
        out = []
        for line in run("serve", "--list").stdout.splitlines():
            f = line.split()
            if len(f) >= 4 and f[1] == "tcp" and f[2] == "ok" and "http" in f[3:]:
                out.append(f[0])
        return out


MODELS = http_models()
CLF_RE = re.compile(r'^(\S+) - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "([^"]*)" (\d{3}) (\d+|-)$')


def curl(*args, timeout=20):
    p = subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True,
                       timeout=timeout)
    return p


def url(s, path="/"):
    return f"http://{s.host}:{s.port}{path}"


class Resp:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def h(self, name):
        return self.headers.get(name.lower())


def read_response(f, head=False):
    """One response from a buffered socket file; None at end of stream."""
    line = f.readline()
    if not line:
        return None
    m = re.match(rb"HTTP/1\.1 (\d{3}) (.*)\r\n$", line)
    assert m, line
    headers = {}
    while True:
        h = f.readline()
        assert h.endswith(b"\r\n"), h
        if h == b"\r\n":
            break
        k, v = h.decode("latin-1").split(":", 1)
        headers[k.strip().lower()] = v.strip()
    status = int(m.group(1))
    n = 0 if head or status == 304 else int(headers["content-length"])
    body = f.read(n) if n else b""
    assert len(body) == n
    return Resp(status, m.group(2).decode(), headers, body)


def raw(s, data, head=False, timeout=10):
    """Send data on a new connection; return the first response and whether the
    server closed the connection right after it."""
    with s.connect(timeout=timeout) as c:
        c.sendall(data)
        f = c.makefile("rb")
        r = read_response(f, head)
        # Still open? A second request answered says so without waiting.
        try:
            c.sendall(b"HEAD / HTTP/1.1\r\nHost: probe\r\n\r\n")
            closed = read_response(f, head=True) is None
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        return r, closed


@pytest.fixture
def site(tmp_path):
    """www/ to serve, with a secret next to it that must never be reachable."""
    (tmp_path / "secret.txt").write_text("TOPSECRET\n")
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_text("hello, file\n")
    (www / "page.html").write_text("<p>page</p>\n")
    (www / "style.css").write_text("p{}\n")
    (www / "data.json").write_text("{}\n")
    (www / "blob.unknownext").write_bytes(b"\x00\x01")
    (www / "big.bin").write_bytes(bytes(range(256)) * 1024)  # 256 KiB
    (www / "empty.txt").write_bytes(b"")
    (www / "a & b <c>.txt").write_text("odd name\n")
    (www / ".hidden").write_text("dot\n")
    (www / "docs").mkdir()
    (www / "docs" / "index.html").write_text("<h1>docs index</h1>\n")
    (www / "files").mkdir()
    (www / "files" / "one.txt").write_text("1\n")
    (www / "files" / "two.md").write_text("2\n")
    (www / "files" / "sub").mkdir()
    os.symlink("../secret.txt", www / "escape")
    os.symlink(str(tmp_path), www / "escdir")
    os.symlink("hello.txt", www / "inside-link.txt")
    os.mkfifo(www / "fifo")
    return tmp_path


# ---- every model ----

@pytest.mark.parametrize("model", MODELS)
def test_hello_and_keep_alive_with_curl(server, model):
    s = server("http", "--model", model, "-q")
    p = curl("-v", url(s, "/"), url(s, "/any/path?x=1"))
    err = p.stderr.decode()
    assert p.returncode == 0, err
    assert p.stdout == b"Hello, World!Hello, World!"
    assert "Re-using existing connection" in err
    assert "< Content-Type: text/plain" in err and "< Content-Length: 13" in err
    assert "< Server: sockit" in err and "< Date: " in err
    h = curl("-I", url(s))
    assert h.stdout.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 13" in h.stdout
    r, closed = raw(s, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
    assert r.status == 405 and r.h("allow") == "GET, HEAD" and closed


@pytest.mark.parametrize("model", MODELS)
def test_pipelined_burst_answered_in_order(server, site, model):
    s = server("http", "--model", model, "-q", "--root", str(site / "www"))
    reqs = [
        (b"GET /hello.txt", 200, b"hello, file\n"),
        (b"GET /missing", 404, None),
        (b"HEAD /hello.txt", 200, b""),
        (b"GET /big.bin", 200, bytes(range(256)) * 1024),
        (b"GET /hello.txt?v=2", 200, b"hello, file\n"),
        (b"GET /big.bin", 206, bytes(range(10, 21)), b"Range: bytes=10-20\r\n"),
        (b"GET /files/", 200, None),
        (b"GET /docs/", 200, b"<h1>docs index</h1>\n"),
        (b"GET /empty.txt", 200, b""),
        (b"GET /style.css", 200, b"p{}\n"),
    ]
    burst = b""
    for i, r in enumerate(reqs):
        extra = r[3] if len(r) > 3 else b""
        last = b"Connection: close\r\n" if i == len(reqs) - 1 else b""
        burst += r[0] + b" HTTP/1.1\r\nHost: t\r\n" + extra + last + b"\r\n"
    with s.connect() as c:
        c.sendall(burst)
        f = c.makefile("rb")
        for i, r in enumerate(reqs):
            got = read_response(f, head=r[0].startswith(b"HEAD"))
            assert got is not None, f"response {i} missing"
            assert got.status == r[1], (i, got.status)
            if r[2] is not None:
                assert got.body == r[2], i
        assert f.read(1) == b""  # closed after the last (Connection: close)


@pytest.mark.parametrize("model", MODELS)
def test_header_timeout_408(server, model):
    s = server("http", "--model", model, "-q", "--header-timeout", "0.3")
    with s.connect() as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: slow\r\n")
        t0 = time.monotonic()
        data = recv_until_close(c, timeout=8)
        assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data
        assert b"Connection: close" in data
        assert time.monotonic() - t0 < 6


@pytest.mark.parametrize("model", MODELS)
def test_head_cut_short_by_eof_is_answered_at_once(server, model):
    # The peer sends half a head, then EOF: nothing can complete it, so the
    # 408 comes now, not after --header-timeout (30 s here; the recv below
    # gives up after 8 s), and the connection (a thread under the blocking
    # models) is freed for the next client.
    s = server("http", "--model", model, "-q", "--header-timeout", "30")
    with s.connect() as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: cut\r\n")
        c.shutdown(socket.SHUT_WR)
        data = recv_until_close(c, timeout=8)
        assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data
    with s.connect() as c:
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert recv_until_close(c, timeout=8).startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("model", MODELS)
def test_wrk_under_load(server, model):
    s = server("http", "--model", model, "-q")
    conns = "1" if model == "iterative" else "20"  # iterative serves one at a time
    p = subprocess.run(["wrk", "-t1", "-c", conns, "-d2s", url(s)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "Non-2xx" not in p.stdout, p.stdout
    assert "Socket errors" not in p.stdout, p.stdout
    m = re.search(r"(\d+) requests in", p.stdout)
    assert m and int(m.group(1)) > 100, p.stdout
    assert s.alive()


# ---- the static file server (default model) ----

def test_static_files_with_curl(server, site):
    s = server("http", "-q", "--root", str(site / "www"))
    for path, ctype, body in [
        ("/hello.txt", "text/plain; charset=utf-8", b"hello, file\n"),
        ("/page.html", "text/html; charset=utf-8", b"<p>page</p>\n"),
        ("/style.css", "text/css; charset=utf-8", b"p{}\n"),
        ("/data.json", "application/json", b"{}\n"),
        ("/blob.unknownext", "application/octet-stream", b"\x00\x01"),
        ("/a%20%26%20b%20%3Cc%3E.txt", "text/plain; charset=utf-8", b"odd name\n"),
        ("/inside-link.txt", "text/plain; charset=utf-8", b"hello, file\n"),
        ("/docs/", "text/html; charset=utf-8", b"<h1>docs index</h1>\n"),
        ("/empty.txt", "text/plain; charset=utf-8", b""),
    ]:
        p = curl("-D", "-", "-o", "/dev/null", "-w", "%{content_type}", url(s, path))
        b = curl(url(s, path))
        assert p.stdout.startswith(b"HTTP/1.1 200 OK"), (path, p.stdout)
        assert p.stdout.endswith(ctype.encode()), (path, p.stdout)
        assert f"Content-Length: {len(body)}\r\n".encode() in p.stdout, path
        assert b.stdout == body, path

    # A directory without its slash is redirected; curl -L follows it.
    p = curl("-si", url(s, "/docs?x=1"))
    assert p.stdout.startswith(b"HTTP/1.1 301") and b"Location: /docs/?x=1\r\n" in p.stdout
    assert curl("-sL", url(s, "/docs")).stdout == b"<h1>docs index</h1>\n"
    # Built from the normalised path: "//docs" must not become "//docs/" (another host).
    r, _ = raw(s, b"GET //docs HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 301 and r.h("location") == "/docs/"

    # HEAD: the headers of GET, no body.
    p = curl("-sI", url(s, "/big.bin"))
    assert b"Content-Length: 262144\r\n" in p.stdout and b"Accept-Ranges: bytes" in p.stdout

    # Last-Modified, then If-Modified-Since gives 304 (and an older date 200).
    lm = re.search(rb"Last-Modified: (.*)\r\n", p.stdout).group(1).decode()
    p = curl("-si", "-H", f"If-Modified-Since: {lm}", url(s, "/big.bin"))
    assert p.stdout.startswith(b"HTTP/1.1 304 Not Modified") and b"\r\n\r\n" == p.stdout[-4:]
    p = curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
             "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT", url(s, "/big.bin"))
    assert p.stdout == b"200"
    p = curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
             "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT", url(s, "/big.bin"))
    assert p.stdout == b"200"  # a date in the future is ignored

    # Ranges: a-b, a-, -n, unsatisfiable, several (ignored: whole file).
    data = bytes(range(256)) * 1024
    for rng, want, crange in [("0-9", data[:10], "0-9"), ("262140-", data[-4:], "262140-262143"),
                              ("-5", data[-5:], "262139-262143")]:
        p = curl("-si", "-r", rng, url(s, "/big.bin"))
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 206 Partial Content"), rng
        assert f"Content-Range: bytes {crange}/262144".encode() in head, rng
        assert body == want, rng
    p = curl("-si", "-r", "300000-", url(s, "/big.bin"))
    assert p.stdout.startswith(b"HTTP/1.1 416") and b"Content-Range: bytes */262144" in p.stdout
    p = curl("-s", "-r", "0-1,5-6", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
             url(s, "/big.bin"))
    assert p.stdout == b"200 262144"
    # If-Range with a different date: the whole file.
    p = curl("-s", "-r", "0-1", "-H", "If-Range: Thu, 01 Jan 1970 00:00:00 GMT", "-o", "/dev/null",
             "-w", "%{http_code}", url(s, "/big.bin"))
    assert p.stdout == b"200"


def test_python_http_client_and_http10(server, site):
    s = server("http", "-q", "--root", str(site / "www"))
    conn = http.client.HTTPConnection(s.host, s.port, timeout=10)
    conn.request("GET", "/hello.txt")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"hello, file\n"
    sock = conn.sock
    conn.request("GET", "/files/one.txt")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"1\n"
    assert conn.sock is sock  # the same connection, kept alive
    conn.request("HEAD", "/big.bin")
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Content-Length") == "262144" and r.read() == b""
    conn.request("GET", "/nope")
    r = conn.getresponse()
    assert r.status == 404 and r.read() == b"404 Not Found\n"
    conn.close()

    # HTTP/1.0 closes by default; with Connection: keep-alive it stays open.
    r, closed = raw(s, b"GET /hello.txt HTTP/1.0\r\n\r\n")
    assert r.status == 200 and r.h("connection") == "close" and closed
    r, closed = raw(s, b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert r.status == 200 and r.h("connection") == "keep-alive" and not closed
    r, closed = raw(s, b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert r.status == 200 and closed
    # A body on a GET is read and skipped; the next request still works.
    with s.connect() as c:
        c.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nXXXXX"
                  b"GET /files/one.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        f = c.makefile("rb")
        assert read_response(f).body == b"hello, file\n"
        assert read_response(f).body == b"1\n"


def test_errors_have_the_right_status(server, site):
    s = server("http", "-q", "--root", str(site / "www"))
    # Oversized heads are sent exactly up to where the server decides, so it
    # has read every byte before it answers and closes (no reset races).
    big = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: "
    big += b"b" * (32768 - len(big))
    cases = [
        (b"GARBAGE\r\n\r\n", 400, True),
        (b"GET / HTTP/1.1\r\n\r\n", 400, True),  # no Host
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, True),
        (b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, False),
        (b"DELETE /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n", 405, True),
        (b"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 501, True),
        (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, True),
        (b"GET /" + b"a" * 9000, 414, True),
        (big, 431, True),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431, True),
        (b"GET / HTTP/2.0\r\n\r\n", 505, True),
        (b"GET /missing.txt HTTP/1.1\r\nHost: a\r\n\r\n", 404, False),
        (b"GET /fifo HTTP/1.1\r\nHost: a\r\n\r\n", 403, False),
        (b"GET /escdir/ HTTP/1.1\r\nHost: a\r\n\r\n", 403, False),
    ]
    for req, status, closes in cases:
        r, closed = raw(s, req)
        assert r is not None and r.status == status, (req[:40], r and r.status)
        assert r.body == f"{status} {r.reason}\n".encode()
        assert r.h("content-length") == str(len(r.body))
        assert closed == closes, (req[:40], closed)
    # A head that fills --max-input is answered 431 before the input is full.
    s2 = server("http", "-q", "--root", str(site / "www"), "--max-input", "4k", "--no-listing")
    r, closed = raw(s2, b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"x" * (4096 - 28))
    assert r.status == 431 and closed
    # No listing: a directory without index.html is 403, index.html still served.
    r, _ = raw(s2, b"GET /files/ HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 403
    r, _ = raw(s2, b"GET /docs/ HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200


def test_no_permission_is_403(server, site, tmp_path):
    locked = site / "www" / "locked.txt"
    locked.write_text("x")
    locked.chmod(0)
    (site / "www" / "closed").mkdir(mode=0)
    binary = None
    if os.geteuid() == 0:
        # Root reads anything: run the server without the capabilities that
        # override file permissions.
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        binary = tmp_path / "sockit-no-dac"
        binary.write_text("#!/bin/sh\nexec setpriv --bounding-set -dac_override,-dac_read_search "
                          f"{SOCKIT} \"$@\"\n")
        binary.chmod(0o755)
    s = server("http", "-q", "--root", str(site / "www"), binary=str(binary) if binary else None)
    for path in [b"/locked.txt", b"/closed/", b"/closed/x"]:
        r, closed = raw(s, b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        assert r.status == 403, (path, r.status)
        assert not closed
    r, _ = raw(s, b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200


def test_path_traversal_never_serves_outside_root(server, site):
    s = server("http", "-q", "--root", str(site / "www"))
    attempts = [
        b"/../secret.txt", b"/..", b"/../", b"//../secret.txt", b"/./../secret.txt",
        b"/files/../../secret.txt", b"/%2e%2e/secret.txt", b"/%2E%2E/secret.txt",
        b"/.%2e/secret.txt", b"/%2e./secret.txt", b"/..%2fsecret.txt", b"/%2f..%2fsecret.txt",
        b"/files/..%2f..%2fsecret.txt", b"/%252e%252e/secret.txt", b"/..\\secret.txt",
        b"/hello.txt%00.html", b"/%00", b"/escape", b"/escdir/secret.txt",
        b"/escdir/www/hello.txt/../../secret.txt", b"http://x/../secret.txt",
        b"/files/./../../../../../../etc/passwd", b"/.hidden", b"/%2ehidden",
    ]
    for a in attempts:
        r, _ = raw(s, b"GET " + a + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        assert r.status in (400, 403, 404), (a, r.status)
        assert b"TOPSECRET" not in r.body and b"root:" not in r.body, a
    # The listing hides dot-files and shows the links by their own size.
    r, _ = raw(s, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200 and b".hidden" not in r.body and b"TOPSECRET" not in r.body
    # --dotfiles serves them.
    s2 = server("http", "-q", "--root", str(site / "www"), "--dotfiles")
    r, _ = raw(s2, b"GET /.hidden HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 200 and r.body == b"dot\n"
    r, _ = raw(s2, b"GET /../secret.txt HTTP/1.1\r\nHost: a\r\n\r\n")
    assert r.status == 403


def read_png(data):
    """(width, height, the decompressed scanlines) of a PNG, checked loosely."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    return size[0], size[1], zlib.decompress(idat)


def test_listing_in_headless_chromium(server, site, tmp_path):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("chromium is not installed")
    s = server("http", "-q", "--root", str(site / "www"))
    # The listing itself: sorted (directories first), escaped, linked.
    r, _ = raw(s, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    html = r.body.decode()
    names = re.findall(r'<a href="([^"]*)">([^<]*)</a>', html)
    shown = [n for _, n in names]
    # Only what would be served (issue 12): no link out of the root (escdir,
    # escape: 403), no fifo; a link inside is listed.
    assert shown[:2] == ["docs/", "files/"]
    assert shown[2:] == sorted(shown[2:]) and "hello.txt" in shown
    assert not {"escdir/", "escape", "fifo"} & set(shown) and "inside-link.txt" in shown
    assert ("a%20%26%20b%20%3Cc%3E.txt", "a &amp; b &lt;c&gt;.txt") in names
    assert "262144" in html  # big.bin's size

    prof = tmp_path / "chromium-profile"
    shot = tmp_path / "listing.png"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", f"--user-data-dir={prof}", "--window-size=1024,768"]
    p = subprocess.run(common + [f"--screenshot={shot}", url(s, "/files/")],
                       capture_output=True, timeout=60)
    assert shot.exists(), p.stderr.decode(errors="replace")[-2000:]
    width, height, pixels = read_png(shot.read_bytes())
    assert (width, height) == (1024, 768)
    # Text was drawn: a blank page is one colour, anti-aliased text many.
    assert len(set(pixels)) > 16
    keep = os.environ.get("SOCKIT_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    p = subprocess.run(common + ["--dump-dom", url(s, "/")], capture_output=True, timeout=60)
    dom = p.stdout.decode()
    for n in ["docs/", "files/", "hello.txt", "big.bin", "a &amp; b &lt;c&gt;.txt"]:
        assert n in dom, n
    assert "Index of /" in dom


def test_access_log_common_log_format(server, site, tmp_path):
    log = tmp_path / "access.log"
    s = server("http", "--root", str(site / "www"), "--access-log", str(log))
    curl(url(s, "/hello.txt"), url(s, "/nope"))
    raw(s, b"GET /\"quoted\x7f HTTP/1.1\r\nHost: a\r\n\r\n")
    curl("-I", url(s, "/big.bin"))
    assert s.stop() == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 4, lines
    parsed = [CLF_RE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m.group(2), m.group(3), m.group(4)) for m in parsed] == [
        ("GET /hello.txt HTTP/1.1", "200", "12"),
        ("GET /nope HTTP/1.1", "404", "14"),
        ("GET /\\x22quoted\\x7f HTTP/1.1", "400", "16"),
        ("HEAD /big.bin HTTP/1.1", "200", "-"),
    ]
    assert parsed[0].group(1) == "127.0.0.1"

    # To standard output by default; -q turns it off.
    s = server("http")
    curl(url(s, "/x"))
    s.stop()
    assert re.search(r'"GET /x HTTP/1\.1" 200 13$', s.stdout_rest, re.M), s.stdout_rest
    s = server("http", "-q")
    curl(url(s, "/x"))
    s.stop()
    assert "GET /x" not in s.stdout_rest


def test_options_and_help():
    h = run("serve", "http", "--help").stdout
    for opt in ["--root DIR", "--body TEXT", "--listing", "--no-listing", "--dotfiles",
                "--access-log FILE", "--no-access-log", "--header-timeout SECS"]:
        assert opt in h, opt
    assert "default with --root" in h
    p = run("serve", "http", "--root", "/nonexistent/dir", "-p", "0")
    assert p.returncode == 1 and "--root /nonexistent/dir" in p.stderr
    p = run("serve", "http", "--listing", "-p", "0")
    assert p.returncode == 1 and "need --root" in p.stderr
    p = run("serve", "http", "--header-timeout", "soon")
    assert p.returncode == 2


def test_custom_body(server):
    s = server("http", "-q", "--body", "pong")
    p = curl("-si", url(s, "/"))
    assert p.stdout.endswith(b"\r\nContent-Length: 4\r\n\r\npong")
