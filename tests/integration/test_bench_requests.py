"""sockit bench, beyond GET at a fixed load: what `bench http` sends (-m,
-H, --body, --urls rotated, --no-keepalive, HEAD) as a Python server sees
it; the latency outputs (corrected beside uncorrected under --rate, the
.hgrm file agreeing with the summary, --json-stream); and the capacity
search (--find-max --slo) against a server whose capacity is known because
it sleeps a fixed time per request."""
import json

from conftest import SOCKIT, STALLING_ECHO, run


# HTTP/1.1 keep-alive; appends one JSON line per request (method, path,
# headers, body, connection number) to the file named by argv[1]. HEAD gets
# a Content-Length of 1000 and no body, as RFC 9110 says.
RECORDING_HTTP = r"""
import http.server, json, sys, threading
log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
conns = [0]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        with lock:
            conns[0] += 1
            self.conn_no = conns[0]
    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        with lock:
            log.write(json.dumps({"method": self.command, "path": self.path,
                                  "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "body": body.decode("latin-1"), "conn": self.conn_no}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        if self.headers.get("Connection", "").lower() == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"x" * 1000)
    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
"""

# A single-threaded echo server that sleeps 4 ms before answering each
# message: it serves at most 250 messages/s whatever the load, so the
# highest rate meeting any latency goal is below that.
SLOW_ECHO = r"""
import selectors, socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64); s.setblocking(False)
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
sel = selectors.DefaultSelector(); sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is s:
            c, _ = s.accept(); sel.register(c, selectors.EVENT_READ)
            continue
        c = key.fileobj
        try:
            d = c.recv(65536)
        except OSError:
            d = b""
        if not d:
            sel.unregister(c); c.close(); continue
        time.sleep(0.004)
        c.setblocking(True); c.sendall(d); c.setblocking(False)
"""

# An echo server that stalls once for 300 ms when the 100th message arrives.



def records(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def last_json(p):
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, p.stdout + p.stderr
    return json.loads(lines[-1])


def test_method_headers_body_and_rotated_urls(pyserver, tmp_path):
    log = tmp_path / "log"
    s = pyserver(RECORDING_HTTP, str(log))
    body = tmp_path / "body"
    body.write_bytes(b"name=value&\x01binary\xff")
    urls = tmp_path / "urls"
    urls.write_text(f"# targets\nhttp://127.0.0.1:{s.port}/a\n\n/b?x=1\n"
                    f"http://127.0.0.1:{s.port}/c\n")
    p = run("bench", "http", "--urls", str(urls), "-m", "PUT", "-H", "X-Test: one two",
            "-H", "User-Agent: mine/2", "--body", str(body), "-c", "1", "-n", "30", "--json",
            timeout=60)
    assert p.returncode == 0, p.stderr
    d = last_json(p)
    assert d["requests"] == 30 and d["errors_total"] == 0, d
    rs = records(log)
    assert len(rs) == 30
    assert [r["path"] for r in rs[:6]] == ["/a", "/b?x=1", "/c"] * 2
    for r in rs:
        assert r["method"] == "PUT"
        assert r["headers"]["x-test"] == "one two"
        assert r["headers"]["user-agent"] == "mine/2"  # replaces the default
        assert r["headers"]["host"] == f"127.0.0.1:{s.port}"
        assert r["body"] == "name=value&\x01binary\xff"
    assert {r["conn"] for r in rs} == {rs[0]["conn"]}  # keep-alive: one connection


def test_body_from_stdin_is_a_post(pyserver, tmp_path):
    log = tmp_path / "log"
    s = pyserver(RECORDING_HTTP, str(log))
    p = run("bench", "http", f"http://127.0.0.1:{s.port}/up", "--body", "@-", "-c", "1",
            "-n", "5", "-q", input="from stdin\n")
    assert p.returncode == 0, p.stderr
    rs = records(log)
    assert len(rs) == 5
    assert all(r["method"] == "POST" and r["body"] == "from stdin\n" for r in rs)


def test_no_keepalive_is_a_connection_per_request(pyserver, tmp_path):
    log = tmp_path / "log"
    s = pyserver(RECORDING_HTTP, str(log))
    p = run("bench", "http", f"http://127.0.0.1:{s.port}/", "--no-keepalive", "-c", "2",
            "-n", "20", "--json")
    assert p.returncode == 0, p.stderr
    d = last_json(p)
    assert d["requests"] == 20 and d["errors_total"] == 0, d
    assert d["connects"] >= 20
    rs = records(log)
    assert len(rs) == 20
    assert len({r["conn"] for r in rs}) == 20
    assert all(r["headers"]["connection"] == "close" for r in rs)


def test_head_responses_have_no_body(pyserver, tmp_path):
    """HEAD answers carry Content-Length: 1000 and no body; the bench must
    not wait for those 1000 bytes (it would time out)."""
    s = pyserver(RECORDING_HTTP, str(tmp_path / "log"))
    p = run("bench", "http", f"http://127.0.0.1:{s.port}/", "-m", "HEAD", "-c", "1", "-n",
            "10", "--timeout", "2s", "--json")
    assert p.returncode == 0, p.stderr
    d = last_json(p)
    assert d["requests"] == 10 and d["errors_total"] == 0, d


def test_request_option_errors(tmp_path):
    bad = [
        (["bench", "http", "http://127.0.0.1:1/", "-m", "GE T"], "method"),
        (["bench", "http", "http://127.0.0.1:1/", "-H", "NoColon"], "Name: value"),
        (["bench", "http", "http://127.0.0.1:1/", "--no-keepalive", "-P", "4"], "-P"),
        (["bench", "echo", "127.0.0.1", "1", "-m", "POST"], "bench http"),
        (["bench", "http", "http://127.0.0.1:1/", "--body", str(tmp_path / "none")], "--body"),
        (["bench", "http", "--urls", str(tmp_path / "none")], "--urls"),
        (["bench", "http", "http://127.0.0.1:1/", "--slo", "p99=5ms"], "--find-max"),
        (["bench", "http", "http://127.0.0.1:1/", "--find-max"], "--slo"),
        (["bench", "echo", "127.0.0.1", "1", "--find-max", "--slo", "p99=5"], "--slo"),
        (["bench", "echo", "127.0.0.1", "1", "--find-max", "--slo", "p99=5ms", "--rate", "10"],
         "--rate"),
    ]
    other = tmp_path / "urls"
    other.write_text("http://127.0.0.1:1/a\nhttp://127.0.0.2:1/b\n")
    bad.append((["bench", "http", "--urls", str(other)], "one host and port"))
    for args, word in bad:
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert word in p.stderr, (args, p.stderr)


def test_corrected_and_uncorrected_side_by_side(pyserver):
    """Under --rate, a 300 ms stall shows in the corrected latencies (from
    the intended send time) and mostly not in the uncorrected ones (from
    when each request was written): both are reported."""
    s = pyserver(STALLING_ECHO)
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "1", "--rate", "200", "-d", "2s",
            "--json")
    assert p.returncode == 0, p.stderr
    d = last_json(p)
    cor, unc = d["latency_us"], d["latency_uncorrected_us"]
    assert cor["count"] == unc["count"] == d["requests"]
    assert cor["p99"] >= 150000, cor
    assert unc["p99"] < cor["p99"], (unc, cor)
    assert unc["p50"] <= cor["p50"]
    t = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "1", "--rate", "100", "-d", "1s")
    assert t.returncode == 0, t.stderr
    assert "corrected" in t.stdout and "uncorrected" in t.stdout
    assert "rate: target 100/s, achieved " in t.stdout, t.stdout


def parse_hgrm(text):
    lines = text.splitlines()
    assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    assert lines[1] == ""
    rows, footer = [], []
    for l in lines[2:]:
        if l.startswith("#["):
            footer.append(l)
            continue
        f = l.split()
        rows.append((float(f[0]), float(f[1]), int(f[2])))
        if float(f[1]) < 1.0:
            assert len(f) == 4 and abs(float(f[3]) - 1 / (1 - float(f[1]))) < 0.01, l
        else:
            assert len(f) == 3, l
    return rows, footer


def test_hgrm_file_agrees_with_the_summary(server, tmp_path):
    s = server("echo", "-p", "0", "-b", "127.0.0.1")
    out = tmp_path / "lat.hgrm"
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "2", "-n", "3000", "--hgrm",
            str(out), "--json")
    assert p.returncode == 0, p.stderr
    d = last_json(p)
    rows, footer = parse_hgrm(out.read_text())
    assert len(footer) == 3 and footer[0].startswith("#[Mean    =")
    assert f"Total count    = {d['requests']:12d}]" in footer[1]
    # Percentiles rise, counts never fall, the last row is 100% of the count.
    assert all(a[1] < b[1] and a[0] <= b[0] and a[2] <= b[2] for a, b in zip(rows, rows[1:]))
    assert rows[-1][1] == 1.0 and rows[-1][2] == d["requests"]
    assert abs(rows[-1][0] * 1000 - d["latency_us"]["max"]) < 1
    lat = d["latency_us"]
    for pct, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        # The summary's percentile lies between the rows around that level
        # (values in ms with 3 decimals in the file: 0.5 us rounding).
        below = [r for r in rows if r[1] <= pct][-1]
        above = [r for r in rows if r[1] >= pct][0]
        assert below[0] * 1000 - 0.51 <= lat[key] <= above[0] * 1000 + 0.51, (key, lat, below,
                                                                               above)


def test_json_stream_one_line_a_second(server):
    s = server("echo", "-p", "0", "-b", "127.0.0.1")
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "2", "--rate", "300", "-d",
            "3500ms", "--json-stream", timeout=30)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    ticks, summary = lines[:-1], lines[-1]
    assert 2 <= len(ticks) <= 4, lines
    assert [round(t["t"]) for t in ticks] == list(range(1, len(ticks) + 1))
    for t in ticks:
        assert t["errors"] == 0
        assert 150 <= t["requests"] <= 450, t  # about 300 in each second
        assert t["latency_us"]["count"] == t["requests"]
    assert summary["requests"] >= sum(t["requests"] for t in ticks)
    assert "latency_uncorrected_us" in summary


def test_find_max_lands_below_a_known_capacity(pyserver):
    """The slow server answers at most 250 messages/s; with a generous goal
    the search must settle on a rate near but not above that: every rate it
    accepts was actually achieved, and it finds more than a token rate."""
    s = pyserver(SLOW_ECHO)
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "4", "-s", "16", "-d", "1s",
            "--find-max", "--slo", "p99=200ms,errors=0", "--json", timeout=90)
    assert p.returncode == 0, p.stdout + p.stderr
    d = last_json(p)
    steps = d["steps"]
    assert steps[0]["target"] == 0  # the closed-loop probe
    assert 2 <= len(steps) <= 11
    assert 60 <= d["max_rate"] <= 260, d
    for st in steps[1:]:
        assert st["achieved"] <= 275, st  # nobody gets more than the server gives
        if st["pass"]:
            assert st["achieved"] >= 0.9 * st["target"] and st["p99_us"] <= 200000, st
            assert st["target"] <= d["max_rate"]
    assert any(st["pass"] for st in steps[1:])
    # The text form: each step with target and achieved rate, then the answer.
    t = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "2", "-s", "16", "-d", "500ms",
            "--find-max", "--slo", "p99=1s", timeout=90)
    assert "target/s" in t.stdout and "achieved/s" in t.stdout, t.stdout
    assert "max rate meeting p99=1s:" in t.stdout, t.stdout
