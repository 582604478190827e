"""sockit bench: the load generator against sockit's own servers and real
peers (Python servers written here, Python's http.server, nginx), byte
verification against a corrupting peer, exact -n counts, the open-loop
latency correction against a stalling peer, and `bench models`."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import SOCKIT, STALLING_ECHO, run

HERE = os.path.dirname(os.path.abspath(__file__))
PYECHO = os.path.join(HERE, "..", "..", "bench", "pyecho.py")


# A thread-per-client echo server that flips one bit of every 1000th byte.
CORRUPTING_ECHO = r"""
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
def client(c):
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            return
        b = bytearray(d)
        for i in range(len(b)):
            if (n + i) % 1000 == 999:
                b[i] ^= 1
        n += len(b)
        c.sendall(bytes(b))
while True:
    c, _ = s.accept()
    threading.Thread(target=client, args=(c,), daemon=True).start()
"""

# An echo server that stalls once for 300 ms when the 100th message arrives.


# Python's http.server on port 0 (HTTP/1.0: a connection per request).
HTTP_SERVER = r"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Hello, World!"
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
"""

# Keep-alive HTTP/1.1 with a chunked body on every other response.
CHUNKED_SERVER = r"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    n = 0
    def do_GET(self):
        H.n += 1
        self.send_response(200)
        if H.n % 2:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
        else:
            self.send_header("Content-Length", "12")
            self.end_headers()
            self.wfile.write(b"hello, world")
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
"""


def bench_json(*args, timeout=30):
    p = run("bench", *args, "--json", timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, p.stdout + p.stderr
    return p, json.loads(lines[-1])


def test_echo_exact_count_against_sockit(server):
    s = server("echo", "--model", "iterative", "-p", "0", "-b", "127.0.0.1")
    p, d = bench_json("echo", "127.0.0.1", str(s.port), "-c", "1", "-n", "1234", "-s", "100")
    assert p.returncode == 0, p.stderr
    assert d["requests"] == 1234
    assert d["bytes_in"] == 1234 * 100 and d["bytes_out"] == 1234 * 100
    assert d["errors_total"] == 0
    assert d["latency_us"]["count"] == 1234
    lat = d["latency_us"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]


def test_progress_line_on_a_terminal(pyserver):
    """The load generator reports progress through a callback and the command
    prints it: on a terminal, a line rewritten in place once a second, then
    cleared before the report."""
    import pty
    s = pyserver([sys.executable, PYECHO, "threads"], script=False)
    master, slave = pty.openpty()
    p = subprocess.Popen([SOCKIT, "bench", "echo", "127.0.0.1", str(s.port), "-c", "2",
                          "-d", "2500ms"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave, start_new_session=True)
    os.close(slave)
    err = b""
    try:
        out, _ = p.communicate(timeout=60)
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        os.close(master)
    assert p.returncode == 0, err
    assert b"replies" in err and b"/s" in err and b"errors" in err, err
    assert err.endswith(b"\r"), err  # cleared: the report starts on a clean line
    assert b"messages" in out


def test_echo_pipelined_threads_against_python(pyserver):
    s = pyserver([sys.executable, PYECHO, "asyncio"], script=False)
    p, d = bench_json("echo", "127.0.0.1", str(s.port), "-c", "8", "-t", "2", "-P", "4",
                      "-s", "3000", "-n", "4000")
    assert p.returncode == 0, p.stderr
    assert d["requests"] == 4000
    assert d["connections"] == 8 and d["threads"] == 2 and d["pipeline"] == 4
    assert d["errors_total"] == 0


def test_echo_text_report_and_quiet(pyserver):
    s = pyserver([sys.executable, PYECHO, "threads"], script=False)
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "2", "-d", "300ms")
    assert p.returncode == 0, p.stderr
    for word in ("messages", "latency", "p99.9", "errors", "mismatch 0"):
        assert word in p.stdout
    assert "\r" not in p.stderr  # no progress line when stderr is not a terminal
    q = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "2", "-n", "50", "-q")
    assert q.returncode == 0 and len(q.stdout.splitlines()) == 1 and "req/s" in q.stdout


def test_mismatch_is_caught(pyserver):
    s = pyserver(CORRUPTING_ECHO)
    p, d = bench_json("echo", "127.0.0.1", str(s.port), "-c", "1", "-s", "100", "-n", "500")
    # Every 1000th byte is flipped: one message in ten comes back wrong.
    assert d["errors"]["mismatch"] == 50, d
    assert d["requests"] == 500
    assert p.returncode == 1
    assert "differed" in p.stderr


def test_rate_measures_from_intended_send_time(pyserver):
    s = pyserver(STALLING_ECHO)
    p, d = bench_json("echo", "127.0.0.1", str(s.port), "-c", "1", "--rate", "200", "-d", "2s")
    assert p.returncode == 0, p.stderr
    # About 400 requests were due; a 300 ms stall delays the ~60 due during
    # it, so well over 1% of the latencies are above 150 ms.
    assert 300 <= d["requests"] <= 420, d
    assert d["latency_us"]["p99"] >= 150000, d["latency_us"]
    assert d["latency_us"]["p50"] < 100000, d["latency_us"]


def test_closed_loop_hides_the_stall_rate_does_not(pyserver):
    """Same stall, closed loop: one request sees it, so p99 stays low. This
    is the coordinated omission --rate corrects."""
    s = pyserver(STALLING_ECHO)
    p, d = bench_json("echo", "127.0.0.1", str(s.port), "-c", "1", "-n", "1000")
    assert p.returncode == 0
    assert d["latency_us"]["max"] >= 250000
    assert d["latency_us"]["p99"] < 150000


def test_connect_errors_counted():
    # A port nobody listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p, d = bench_json("echo", "127.0.0.1", str(port), "-c", "2", "-d", "400ms")
    assert d["errors"]["connect"] >= 2
    assert d["requests"] == 0
    assert p.returncode == 1


def test_http_against_python_http_server(pyserver):
    s = pyserver(HTTP_SERVER)
    url = f"http://127.0.0.1:{s.port}/"
    p, d = bench_json("http", url, "-c", "4", "-n", "300")
    assert p.returncode == 0, p.stderr
    assert d["requests"] == 300 and d["errors_total"] == 0
    assert d["connects"] >= 300  # HTTP/1.0: the server closes after each response
    p, d = bench_json("http", f"http://127.0.0.1:{s.port}/missing", "-c", "2", "-n", "40")
    assert d["errors"]["status"] == 40


def test_http_chunked_and_pipelined(pyserver):
    s = pyserver(CHUNKED_SERVER)
    p, d = bench_json("http", f"http://127.0.0.1:{s.port}/", "-c", "2", "-P", "4", "-n", "400")
    assert p.returncode == 0, p.stderr
    assert d["requests"] == 400 and d["errors_total"] == 0


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_http_against_nginx():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    d = tempfile.mkdtemp(prefix="sockit-nginx-")
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;
events {{}}
http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p;
  fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "Hello, World!"; }} }} }}
""")
    ng = subprocess.Popen(["nginx", "-c", conf, "-e", f"{d}/error.log"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        p, r = bench_json("http", f"http://127.0.0.1:{port}/", "-c", "10", "-t", "2",
                          "-P", "8", "-n", "5000")
        assert p.returncode == 0, p.stderr
        assert r["requests"] == 5000 and r["errors_total"] == 0
        assert r["connects"] == 10  # keep-alive: no reconnects
    finally:
        os.killpg(ng.pid, signal.SIGKILL)
        ng.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


def sockit_http_available():
    p = subprocess.run([SOCKIT, "serve", "--list"], capture_output=True, text=True)
    return any(l.split()[2:3] == ["ok"] and " http" in l for l in p.stdout.splitlines())


def test_http_against_sockit_http(server):
    assert sockit_http_available(), "serve --list shows no model carrying http"
    # One connection, so that any model serves it (iterative serves one at a time).
    s = server("http", "-p", "0", "-b", "127.0.0.1")
    p, d = bench_json("http", f"http://127.0.0.1:{s.port}/", "-c", "1", "-P", "4", "-n", "500")
    assert p.returncode == 0, p.stderr
    assert d["requests"] == 500
    assert d["errors"]["mismatch"] == 0 and d["errors"]["read"] == 0


def test_unix_socket(server):
    path = os.path.join(tempfile.mkdtemp(prefix="sockit-bench-"), "echo.sock")
    server("echo", "--model", "iterative", "--unix", path)
    p, d = bench_json("echo", "--unix", path, "-c", "1", "-n", "300")
    assert p.returncode == 0, p.stderr
    assert d["requests"] == 300 and d["errors_total"] == 0


def test_usage_errors():
    for args in (["bench"], ["bench", "nope"], ["bench", "echo", "127.0.0.1"],
                 ["bench", "echo", "127.0.0.1", "7", "-c", "0"],
                 ["bench", "http", "ftp://example.com/"],  # https:// is TLS now (issue 13)
                 ["bench", "echo", "127.0.0.1", "7", "--rate", "-5"],
                 ["bench", "echo", "-u", "127.0.0.1", "7", "-s", "4"],
                 ["bench", "models", "chat"]):
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.startswith("sockit: ") and "--help" in p.stderr
    assert run("bench", "--help").returncode == 0


def tcp_models(service):
    """Models `serve --list` says are built and can carry service over TCP."""
    p = subprocess.run([SOCKIT, "serve", "--list"], capture_output=True, text=True)
    out = []
    for l in p.stdout.splitlines():
        f = l.split()
        if len(f) >= 4 and f[1] == "tcp" and f[2] == "ok" and service in f[3:]:
            out.append(f[0])
    return out


def test_models_table_and_chart(tmp_path):
    models = tcp_models("echo")
    # Two quick ones; the event models are quickest, iterative always exists.
    pick = [m for m in ("epoll", "thread", "poll", "iterative") if m in models][:2]
    outdir = tmp_path / "out"
    p = run("bench", "models", "echo", "--models", ",".join(pick), "--conns", "1,2",
            "-d", "300ms", "--out", str(outdir), timeout=60)
    assert p.returncode == 0, p.stderr
    for m in pick:
        rows = [l for l in p.stdout.splitlines() if l.startswith(m + " ")]
        assert len(rows) == 2, p.stdout
    assert "cpu/req" in p.stdout and "chart: " in p.stdout
    svg = outdir / "echo.svg"
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f".//{ns}g[@class='model']/{ns}polyline")
    # One line per model in each of the two panels.
    assert len(lines) == 2 * len(pick)
    assert {g.get("data-model") for g in root.findall(f".//{ns}g[@class='model']")} == set(pick)
    for pl in lines:
        assert len(pl.get("points").split()) == 2
    texts = "".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "requests per second" in texts and "p99" in texts and "connections" in texts


def test_models_json_and_refused_model(tmp_path):
    p = run("bench", "models", "echo", "--models", "iterative", "--conns", "1", "-d", "200ms",
            "--json", "--out", str(tmp_path), timeout=60)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["service"] == "echo" and len(d["points"]) == 1
    pt = d["points"][0]
    assert pt["ok"] and pt["requests"] > 0 and pt["cpu_us_per_request"] > 0
    assert pt["peak_rss_kb"] > 0
    p = run("bench", "models", "echo", "--models", "nosuchmodel")
    assert p.returncode == 2


UDP_ECHO = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d, a)
"""


def test_udp_echo_batched(pyserver):
    s = pyserver(UDP_ECHO)
    p, d = bench_json("echo", "-u", "127.0.0.1", str(s.port), "-c", "4", "-P", "8", "-s", "200",
                      "-n", "3000")
    assert p.returncode == 0, p.stderr
    assert d["kind"] == "udp-echo"
    assert d["requests"] == 3000 and d["errors"]["mismatch"] == 0
    assert d["bytes_out"] >= 3000 * 200


def test_udp_models_if_built(tmp_path):
    p = subprocess.run([SOCKIT, "serve", "--list"], capture_output=True, text=True)
    udp = [l.split()[0] for l in p.stdout.splitlines()
           if l.split()[1:3] == ["udp", "ok"] and "echo" in l.split()[3:]]
    if not udp:
        pytest.skip("no UDP model is built yet")
    p = run("bench", "models", "echo", "-u", "--models", udp[0], "--conns", "4", "-P", "4",
            "-d", "300ms", "--json", "--out", str(tmp_path), timeout=60)
    assert p.returncode == 0, p.stderr
    pt = json.loads(p.stdout)["points"][0]
    assert pt["ok"] and pt["requests"] > 0, pt
    assert (tmp_path / "udp-echo.svg").exists()
