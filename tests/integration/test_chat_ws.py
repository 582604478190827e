"""`sockit serve chat` speaks WebSocket (RFC 6455) and serves its web page on
the chat port: python3-websockets and hand-made frames for the protocol's
edge cases under every chat model, browser and nc members in one room, the
rules every member has (stalled readers, flood control), `--tls` giving
wss:// and https://, and headless Chromium running the built-in page (two
pages and an nc member see each other; a screenshot is decoded and the drawn
lines compared with a rendering of the known text)."""
import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time
import urllib.error
import urllib.request
import zlib

import pytest
import websockets

from conftest import SANITIZER_RE, SOCKIT, SOCKIT_TSAN
from test_chat import MODEL_PARAMS, MODELS, ONE_MODEL, Peer

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_url(srv, scheme="ws"):
    return f"{scheme}://127.0.0.1:{srv.port}/"


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def recv_until(w, pred, timeout=10):
    """Text frames until one satisfies pred; returns them all."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(w.recv(), max(0.1, deadline - time.monotonic()))
        got.append(msg)
        if pred(msg):
            return got


async def join(url, nick, **kw):
    w = await websockets.connect(url, **kw)
    banner = await asyncio.wait_for(w.recv(), 10)
    assert banner.startswith("*** Welcome to sockit chat"), banner
    await w.send(nick)
    await recv_until(w, lambda m: m.startswith(f"*** Welcome, {nick}!"))
    return w


# ---- a raw WebSocket client over a socket, for what websockets won't send ----

def raw_upgrade(srv, key=None, extra=b""):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    key = key or base64.b64encode(os.urandom(16))
    s.sendall(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n" + extra +
              b"\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, head
        head += chunk
    head, rest = head.split(b"\r\n\r\n", 1)
    return s, head.decode(), rest, key


def frame(opcode, payload, fin=True, mask=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        h = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return h + payload
    key = os.urandom(4)
    return h + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


class FrameReader:
    def __init__(self, s, rest=b""):
        self.s, self.buf = s, rest

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk

    def next(self):
        """(fin, opcode, payload) of the next server frame (never masked)."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "a server frame must not be masked"
        n, at = b1 & 0x7f, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(at + n)
        payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
        return bool(b0 & 0x80), b0 & 0x0f, payload

    def close_code(self):
        """Read frames up to the close; its status code."""
        while True:
            _, op, payload = self.next()
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def raw_member(srv, nick):
    s, head, rest, _ = raw_upgrade(srv)
    assert head.startswith("HTTP/1.1 101"), head
    r = FrameReader(s, rest)
    assert r.next()[2].startswith(b"*** Welcome to sockit chat")
    s.sendall(frame(1, nick.encode()))
    while not r.next()[2].startswith(b"*** Welcome, "):
        pass
    return s, r


def http_get(srv, path, scheme="http", ctx=None):
    try:
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{srv.port}{path}", timeout=10,
                                    context=ctx) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# ---- the protocol under every chat model ----

@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_websocket_protocol_under_every_model(server, model):
    srv = server("chat", "--model", model, "-p", "0", "--max-line", "100")
    nc = Peer(srv)
    nc.join("ncuser")

    async def browser():
        w = await join(ws_url(srv), "alice")
        # Both ways between a browser and a raw TCP member.
        nc.expect("*** alice joined")
        await w.send("hello from the browser")
        nc.expect("<alice> hello from the browser")
        nc.send("hello from nc")
        await recv_until(w, lambda m: m == "<ncuser> hello from nc")
        # Fragmentation: three frames, one line.
        await w.send(iter(["frag one, ", "two, ", "three"]))
        nc.expect("<alice> frag one, two, three")
        # A ping interleaved inside a fragmented message is answered.
        pong = await w.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        # The commands work as for anyone.
        await w.send("/who")
        got = await recv_until(w, lambda m: m.startswith("*** 2 people here:"))
        assert "alice" in got[-1] and "ncuser" in got[-1]
        # A message over --max-line (100): closed with 1009.
        with pytest.raises(websockets.ConnectionClosed):
            await w.send("x" * 150)
            await recv_until(w, lambda m: False)
        assert w.close_code == 1009, w.close_code
        nc.expect("*** alice left")
        # The close handshake: the server answers the client's close.
        w2 = await join(ws_url(srv), "bob")
        await w2.close(1000, "bye")
        assert w2.close_code == 1000
        nc.expect("*** bob left")

    run(browser())

    # Frames websockets will not send.
    s, r = raw_member(srv, "carol")
    s.sendall(frame(1, b"unmasked", mask=False))
    assert r.close_code() == 1002          # client frames must be masked
    s.close()
    s, r = raw_member(srv, "dave")
    s.sendall(frame(1, b"bad \xff\xfe utf-8"))
    assert r.close_code() == 1007          # invalid UTF-8 in a text frame
    s.close()
    s, r = raw_member(srv, "erin")          # UTF-8 split across fragments is fine
    s.sendall(frame(1, "caf\u00e9 ".encode()[:4], fin=False) +
              frame(9, b"ping!") + frame(0, "caf\u00e9 ".encode()[4:] + b"ok"))
    fin, op, payload = r.next()
    assert (fin, op, payload) == (True, 10, b"ping!")  # the pong, mid-message
    nc.expect("<erin> caf\u00e9 ok")
    s.sendall(frame(0, b"a continuation out of nowhere"))
    assert r.close_code() == 1002
    s.close()
    s, r = raw_member(srv, "frank")
    s.sendall(frame(1, b"x" * 60, fin=False) + frame(0, b"y" * 60))
    assert r.close_code() == 1009          # the message, not the frame, passes --max-line
    s.close()
    nc.send("still here")
    nc.expect("*** frank left")
    nc.close()


@pytest.mark.skipif(not os.path.exists(SOCKIT_TSAN), reason="build/tsan/sockit not built")
@pytest.mark.parametrize("model", [m for m in ("thread", "epoll") if m in MODELS])
def test_browsers_and_terminals_across_threads_under_threadsanitizer(server, model):
    """Browsers and line members on several threads (a thread a connection,
    or three event loops) at once under ThreadSanitizer: every line reaches every other
    member, and the run ends without a report."""
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:exitcode=66")
    extra = ["--workers", "3"] if model != "thread" else []
    srv = server("chat", "--model", model, "-p", "0", *extra, binary=SOCKIT_TSAN, env=env)
    peers = [Peer(srv) for _ in range(3)]
    for i, p in enumerate(peers):
        p.join(f"t{i}")

    async def talk():
        webs = [await join(ws_url(srv), f"w{i}") for i in range(3)]
        for k in range(3):
            for i, w in enumerate(webs):
                await w.send(f"{k} from w{i}")
            for i, p in enumerate(peers):
                p.send(f"{k} from t{i}")
        want = {f"<{n}{j}> {k} from {n}{j}" for n in "wt" for j in range(3) for k in range(3)}
        for i, w in enumerate(webs):
            got = set()
            mine = {x for x in want if x.startswith(f"<w{i}>")}
            while got != want - mine:
                m = await asyncio.wait_for(w.recv(), 30)
                if m in want:
                    got.add(m)
        for w in webs:
            await w.close()
        return want

    want = run(talk(), timeout=90)
    for i, p in enumerate(peers):
        mine = {x for x in want if x.startswith(f"<t{i}>")}
        deadline = time.monotonic() + 30
        while {l.decode() for l in p.lines} & want != want - mine:
            assert time.monotonic() < deadline, p.lines
            p.pump(0.5)
        p.close()
    assert srv.stop() == 0
    assert not SANITIZER_RE.search(srv.stderr), srv.stderr


@pytest.mark.parametrize("model", ONE_MODEL)
def test_page_404_and_bad_handshakes(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    status, headers, body = http_get(srv, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<title>sockit chat</title>" in body and b"new WebSocket(" in body
    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(rb"(src|href)=\"(https?:)?//", body)
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    status, _, _ = http_get(srv, "/index.php")
    assert status == 404
    s, head, _, _ = raw_upgrade(srv, key=b"not base64 at all")
    assert head.startswith("HTTP/1.1 400")
    s.close()
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    head = s.recv(4096).decode()
    assert head.startswith("HTTP/1.1 426") and "Sec-WebSocket-Version: 13" in head
    s.close()
    # RFC 6455's own example key.
    s, head, _, _ = raw_upgrade(srv, key=b"dGhlIHNhbXBsZSBub25jZQ==")
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    s.close()


@pytest.mark.parametrize("model", ONE_MODEL)
def test_terminal_members_are_unchanged(server, model):
    """A member that types (nc, telnet) still gets the banner without
    typing first, and a first line beginning "GET" that is not "GET " is
    a nickname attempt as before."""
    srv = server("chat", "--model", model, "-p", "0")
    p = Peer(srv)
    p.expect("Type your nickname")          # silent peers get it after the sniff delay
    p.send("GET")
    p.expect("*** Welcome, GET!")
    q = Peer(srv)
    q.send("bob")                            # a fast typist: the banner first, then the welcome
    q.expect("Type your nickname")
    q.expect("*** Welcome, bob!")
    p.close()
    q.close()


@pytest.mark.parametrize("model", ONE_MODEL)
def test_browser_and_sockit_chat_client_see_each_other(server, model):
    srv = server("chat", "--model", model, "-p", "0")
    cl = subprocess.Popen([SOCKIT, "chat", "127.0.0.1", str(srv.port), "--nick", "carol"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        async def browser():
            w = await join(ws_url(srv), "alice")
            cl.stdin.write(b"hello from sockit chat\n")
            cl.stdin.flush()
            await recv_until(w, lambda m: m == "<carol> hello from sockit chat", timeout=15)
            await w.send("hi carol")
            await asyncio.sleep(0.3)
            await w.close()
        run(browser())
        out, err = cl.communicate(input=b"/quit\n", timeout=15)
    finally:
        if cl.poll() is None:
            cl.kill()
            cl.wait()
    assert b"<alice> hi carol" in out, (out, err)


@pytest.mark.parametrize("model", ONE_MODEL)
def test_stalled_browser_is_dropped_like_any_reader(server, model):
    srv = server("chat", "--model", model, "-p", "0", "--max-queue", "16k")
    a, b = Peer(srv), Peer(srv)
    a.join("alice")
    b.join("bob")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", srv.port))
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n" +
              frame(1, b"slowweb"))
    a.expect("*** slowweb joined")           # then it never reads again
    line, sent, dropped = "x" * 400, 0, False
    for _ in range(200):                     # bounded: at most 200 * 50 lines
        for _ in range(50):
            a.send(f"{sent} {line}")
            sent += 1
        b.expect(f"<alice> {sent - 1} ")
        if any(b"*** slowweb left" in l for l in b.lines):
            dropped = True
            break
    assert dropped, "the stalled browser was never dropped"
    note = [l for l in b.lines if b"*** slowweb left" in l]
    assert len(note) == 1 and b"not reading" in note[0]
    s.close()
    a.close()
    b.close()


@pytest.mark.parametrize("model", ONE_MODEL)
def test_browser_flood_is_limited_like_anyone(server, model):
    srv = server("chat", "--model", model, "-p", "0", "--flood-lines", "20",
                 "--flood-time", "0.5")
    nc = Peer(srv)
    nc.join("ncuser")
    s, r = raw_member(srv, "flooder")
    s.settimeout(10)
    # It keeps flooding (bounded: 15 s) until the server has had enough.
    deadline, i, code = time.monotonic() + 15, 0, None
    while time.monotonic() < deadline and not any(b"*** flooder left" in l for l in nc.lines):
        try:
            s.sendall(b"".join(frame(1, f"flood {i + k}".encode()) for k in range(20)))
        except OSError:
            break
        i += 20
        nc.pump(0.01)
    try:
        code = r.close_code()
    except (EOFError, OSError):
        pass
    nc.expect("*** flooder left (Excess Flood)")
    assert code in (1008, None)             # 1008 unless the reset came first
    got = [l for l in nc.lines if l.startswith(b"<flooder> flood ")]
    assert 0 < len(got) < i
    nc.close()
    s.close()


def test_tls_gives_wss_and_https(server):
    srv = server("chat", "--tls", "-b", "127.0.0.1", "-p", "0")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    status, _, body = http_get(srv, "/", scheme="https", ctx=ctx)
    assert status == 200 and b"<title>sockit chat</title>" in body
    async def two():
        a = await join(ws_url(srv, "wss"), "alice", ssl=ctx)
        b = await join(ws_url(srv, "wss"), "bob", ssl=ctx)
        await recv_until(a, lambda m: m == "*** bob joined")
        await b.send("over wss")
        await recv_until(a, lambda m: m == "<bob> over wss")
        await a.close()
        await b.close()

    run(two())


# ---- headless Chromium running the built-in page ----

def png_pixels(data):
    """(width, height, rows of RGBA bytes) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6) and body[12] == 0, body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 4 if ctype == 6 else 3
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xff
            elif f == 2:
                line[i] = (line[i] + b) & 0xff
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
        prev = line  # the next row's filters refer to this one unfiltered
        if bpp == 3:
            line = b"".join(bytes(line[i:i + 3]) + b"\xff" for i in range(0, stride, 3))
        rows.append(bytes(line))
    return w, h, rows


def crop(rows, x, y, w, h):
    return [rows[y + j][4 * x:4 * (x + w)] for j in range(h)]


class Browser:
    """Headless Chromium driven over the DevTools protocol (a WebSocket)."""

    def __init__(self, tmp_path):
        chromium = shutil.which("chromium")
        if not chromium:
            pytest.skip("chromium is not installed")
        # No speculative connections: a socket a browser opens ahead of need
        # and leaves idle past the chat's banner delay gets the banner (see
        # sockit(1), serve chat); the page's own connections are tested.
        prof = tmp_path / "profile"
        (prof / "Default").mkdir(parents=True, exist_ok=True)
        (prof / "Default" / "Preferences").write_text(
            json.dumps({"net": {"network_prediction_options": 2}}))
        self.proc = subprocess.Popen(
            [chromium, "--disable-features=NetworkPrediction,Prerender2,PreconnectToSearch,"
             "SpeculativeServiceWorkerStartup,LoadingPredictorUseLocalPredictions", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
             f"--user-data-dir={prof}", "--remote-debugging-port=0",
             "--window-size=900,600", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.url, err, deadline = None, b"", time.monotonic() + 60
        while time.monotonic() < deadline and self.url is None:
            line = self.proc.stderr.readline()
            if not line:
                break
            err += line
            m = re.search(rb"DevTools listening on (ws://\S+)", line)
            if m:
                self.url = m.group(1).decode()
        if not self.url:
            self.close()
            raise AssertionError(f"chromium did not start: {err[-2000:]!r}")
        self.seq = 0

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the whole tree, by its group
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)

    async def connect(self):
        self.ws = await websockets.connect(self.url, max_size=None)
        self.pending = {}
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for msg in self.ws:
            m = json.loads(msg)
            fut = self.pending.pop(m.get("id"), None)
            if fut and not fut.done():
                fut.set_result(m)

    async def call(self, method, session=None, **params):
        self.seq += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.seq] = fut
        msg = {"id": self.seq, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        m = await asyncio.wait_for(fut, 30)
        assert "error" not in m, m
        return m["result"]

    async def page(self, url):
        t = await self.call("Target.createTarget", url=url)
        s = (await self.call("Target.attachToTarget", targetId=t["targetId"], flatten=True))
        return s["sessionId"]

    async def js(self, session, expr):
        r = await self.call("Runtime.evaluate", session, expression=expr, returnByValue=True,
                            awaitPromise=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    async def wait_js(self, session, expr, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # The page may still be loading: an error is "not yet".
            v = await self.js(session, f"(() => {{ try {{ return {expr}; }} catch (e) {{ return false; }} }})()")
            if v:
                return v
            await asyncio.sleep(0.1)
        state = await self.js(session, "document.body ? document.body.innerText.slice(-1500) : ''")
        raise AssertionError(f"not true after {timeout} s: {expr}; the page shows: {state!r}")


LOG_TEXT = "Array.from(document.querySelectorAll('#log div')).map(d => d.textContent)"


async def page_join(b, s, nick):
    await b.wait_js(s, "document.getElementById('status').textContent === 'connected'")
    await b.js(s, f"document.getElementById('nick').value = {json.dumps(nick)};"
                  "document.getElementById('join').click(); true")
    await b.wait_js(s, "document.getElementById('status').textContent.startsWith("
                       f"'connected as {nick}')")


async def page_say(b, s, text):
    await b.js(s, f"document.getElementById('line').value = {json.dumps(text)};"
                  "document.getElementById('sendbtn').click(); true")


@pytest.mark.parametrize("model", ONE_MODEL)
def test_chromium_two_pages_and_nc_in_one_room(server, model, tmp_path):
    srv = server("chat", "--model", model, "-p", "0")
    nc = Peer(srv)
    nc.join("ncuser")
    evil = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>"
    b = Browser(tmp_path)

    async def scenario():
        await b.connect()
        a = await b.page(f"http://127.0.0.1:{srv.port}/")
        await page_join(b, a, "alice")
        c = await b.page(f"http://127.0.0.1:{srv.port}/")
        await page_join(b, c, "bob")
        nc.expect("*** bob joined")
        await page_say(b, a, "hi from alice")
        await page_say(b, c, "hi from bob")
        nc.send("hi from nc")
        nc.send(evil)
        # Two connections: their lines may reach nc in either order.
        nc.expect_each(["<alice> hi from alice", "<bob> hi from bob"])
        for s, other in ((a, "bob"), (c, "alice")):
            await b.wait_js(s, f"{LOG_TEXT}.includes('<{other}> hi from {other}')")
            await b.wait_js(s, f"{LOG_TEXT}.includes('<ncuser> hi from nc')")
            await b.wait_js(s, f"{LOG_TEXT}.includes({json.dumps('<ncuser> ' + evil)})")
            # Shown literally: no element was made from it, no script ran.
            assert await b.js(s, "document.querySelectorAll('#log img, #log b').length") == 0
            assert await b.js(s, "document.title") == "sockit chat"
            # The member list shows all three.
            await b.wait_js(s, "['alice','bob','ncuser'].every(n => Array.from("
                               "document.querySelectorAll('#members li')).some(l => "
                               "l.textContent === n))")
        # The screenshot: the drawn line of nc's message must be pixel for
        # pixel a rendering of the known text in the same place and style (a
        # reference line the test adds right below it), and not blank.
        want = "hi from nc"
        rects = await b.js(a, f"""(() => {{
            const log = document.getElementById('log');
            const line = Array.from(log.children).find(d => d.textContent === '<ncuser> {want}');
            const ref = line.cloneNode(false);
            const n = document.createElement('span');
            n.className = 'nick';
            n.textContent = '<ncuser>';
            ref.append(n, document.createTextNode(' ' + {json.dumps(want)}));
            const other = ref.cloneNode(true);
            other.lastChild.textContent = ' hi from nd';
            log.append(ref, other);
            log.scrollTop = 0;
            return [line, ref, other].map(e => {{ const r = e.getBoundingClientRect();
                return [r.x, r.y, r.width, r.height]; }});
        }})()""")
        shot = await b.call("Page.captureScreenshot", a, format="png")
        # Rooms: a topic is text too; the room list offers /join by a click.
        nc.send("/topic " + evil)
        rooms = "Array.from(document.querySelectorAll('#rooms li')).map(l => l.textContent)"
        for s in (a, c):
            await b.wait_js(s, f"{rooms}.some(t => t.startsWith('#lobby (3)') && "
                               f"t.endsWith({json.dumps(evil)}))")
            assert await b.js(s, "document.querySelectorAll('#rooms img, #rooms b').length") == 0
        await page_say(b, a, "/join #dev")
        await b.wait_js(c, f"{rooms}.some(t => t.startsWith('#dev (1)'))")
        await b.js(c, "Array.from(document.querySelectorAll('#rooms li'))"
                      ".find(l => l.textContent.startsWith('#dev ')).click(); true")
        await b.wait_js(c, "document.getElementById('status').textContent.endsWith(' in #dev')")
        await b.wait_js(a, f"{LOG_TEXT}.includes('*** bob joined #dev')")
        await b.wait_js(a, "Array.from(document.querySelectorAll('#members li'))"
                           ".map(l => l.textContent).sort().join() === 'alice,bob'")
        nc.expect("*** bob left for #dev")
        assert await b.js(a, "document.title") == "sockit chat"
        return rects, base64.b64decode(shot["data"])

    try:
        rects, png = run(scenario(), timeout=90)
    finally:
        b.close()
    nc.close()
    keep = os.environ.get("SOCKIT_KEEP_SCREENSHOT")
    if keep:
        with open(keep, "wb") as f:
            f.write(png)
    width, height, rows = png_pixels(png)
    (lx, ly, lw, lh), (rx, ry, _, _), (ox, oy, _, _) = rects
    assert lx == rx == ox and lw > 20 and lh >= 10, rects
    x, w, h = int(lx), int(lw), int(lh)
    line, ref, other = (crop(rows, x, int(y), w, h) for y in (ly, ry, oy))
    dark = sum(1 for r in line for i in range(0, len(r), 4) if r[i] + r[i + 1] + r[i + 2] < 300)
    assert dark > 30, "nothing drawn where the line is"
    assert line == ref, "the drawn line differs from a rendering of the known text"
    assert line != other, "a one-letter difference must show (the comparison is meaningful)"


def test_tls_slow_handshake_still_gets_the_page(server):
    """The banner's delay counts from the end of the TLS handshake: a client
    whose handshake starts late (here 0.5 s after connecting, past the
    200 ms delay) still has its GET answered in HTTP, not after a banner."""
    srv = server("chat", "--tls", "-b", "127.0.0.1", "-p", "0")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    time.sleep(0.5)
    with ctx.wrap_socket(raw) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            assert chunk, got
            got += chunk
    assert got.startswith(b"HTTP/1.1 200 OK\r\n"), got[:200]
