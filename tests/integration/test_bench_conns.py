"""sockit bench with many connections: --source spreads them over local
addresses (seen by the server as their peers), --ramp opens them over time,
the descriptor limit is raised and said, and bench models reports memory
per connection."""
import json
import re
import resource
import subprocess
from datetime import datetime

from conftest import SANITIZER_RE, SOCKIT, available_models, run


def opened(stderr):
    """(time, peer address) of each 'connection N from ADDR:PORT opened'."""
    out = []
    for l in stderr.splitlines():
        m = re.match(r"(\S+) sockit: connection \d+ from ([\d.]+):\d+ opened", l)
        if m:
            out.append((datetime.fromisoformat(m.group(1)), m.group(2)))
    return out


def test_source_range_spreads_connections(server):
    s = server("echo", "--model", "epoll", "-v", "--log-time", "-p", "0", "-b", "127.0.0.1")
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "30", "--source",
            "127.0.0.1-127.0.0.3", "-n", "300", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["requests"] == 300 and d["errors_total"] == 0, d
    s.stop()
    peers = [a for _, a in opened(s.stderr)]
    assert len(peers) == 30, s.stderr
    assert {a: peers.count(a) for a in set(peers)} == {"127.0.0.1": 10, "127.0.0.2": 10,
                                                       "127.0.0.3": 10}


def test_ramp_opens_connections_over_time(server):
    s = server("echo", "--model", "epoll", "-v", "--log-time", "-p", "0", "-b", "127.0.0.1")
    p = run("bench", "echo", "127.0.0.1", str(s.port), "-c", "20", "--ramp", "1s", "-d",
            "300ms", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    # The ramp is a warm-up: the figures are those of the 300 ms after it.
    assert 0.25 <= d["elapsed_s"] < 1.0, d
    assert d["requests"] > 0
    assert d["starved_connections"] == 0
    s.stop()
    times = sorted(t for t, _ in opened(s.stderr))
    assert len(times) == 20
    assert (times[-1] - times[0]).total_seconds() >= 0.6, times


def test_descriptor_limit_raised_and_said(server):
    s = server("echo", "--model", "epoll", "-p", "0", "-b", "127.0.0.1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def low():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    p = subprocess.run([SOCKIT, "bench", "echo", "127.0.0.1", str(s.port), "-c", "400", "-n",
                        "800", "-q"], capture_output=True, text=True, timeout=60,
                       preexec_fn=low)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    assert p.returncode == 0, p.stderr
    m = re.search(r"descriptor limit (\d+) \(was 256\)", p.stderr)
    assert m and int(m.group(1)) >= 464, p.stderr


def test_source_usage_errors():
    for args in (["--source", "127.0.0.2-127.0.0.1"], ["--source", "::1"], ["--ramp", "soon"]):
        p = run("bench", "echo", "127.0.0.1", "7", *args)
        assert p.returncode == 2, (args, p.stderr)


def test_models_memory_per_connection(tmp_path):
    model = "epoll" if "epoll" in available_models("tcp", "echo") else "poll"
    p = run("bench", "models", "echo", "--models", model, "--conns", "200", "-d", "300ms",
            "--json", "--out", str(tmp_path), timeout=60)
    assert p.returncode == 0, p.stderr
    pt = json.loads(p.stdout)["points"][0]
    assert pt["base_rss_kb"] > 0 and pt["peak_rss_kb"] >= pt["base_rss_kb"]
    assert abs(pt["kb_per_conn"] - (pt["peak_rss_kb"] - pt["base_rss_kb"]) / 200) < 0.01


def test_models_rates_sweep_draws_latency_against_load(tmp_path):
    import xml.etree.ElementTree as ET
    model = "epoll" if "epoll" in available_models("tcp", "echo") else "poll"
    p = run("bench", "models", "echo", "--models", model, "-c", "4", "--rates", "500,2000",
            "-d", "400ms", "--json", "--out", str(tmp_path), timeout=60)
    assert p.returncode == 0, p.stderr
    pts = json.loads(p.stdout)["points"]
    assert [(pt["rate"], pt["conns"]) for pt in pts] == [(500, 4), (2000, 4)]
    for pt in pts:
        assert 0.8 * pt["rate"] <= pt["requests_per_s"] <= 1.1 * pt["rate"], pt
    root = ET.parse(tmp_path / "echo-rates.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f".//{ns}g[@class='model']/{ns}polyline")
    assert len(lines) == 2 and all(len(l.get("points").split()) == 2 for l in lines)
    texts = "".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "offered rate" in texts and "p99 latency against load" in texts
    bad = run("bench", "models", "echo", "--conns", "1,2", "--rates", "100")
    assert bad.returncode == 2 and "one connection count" in bad.stderr
