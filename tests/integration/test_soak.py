"""bench/soak.sh in its 30-second version: mixed load (echo, http with files
and a listing, chat members joining and leaving, UDP) plus the bad clients
of issue 11, against the epoll, uring and thread models at once. No server
may grow in descriptors or RSS from the quiet moment after the warm-up to
the quiet moment at the end, no good client may see an error, and every
server must stop cleanly. Run on the optimised build: ASan's quarantine
would make RSS meaningless. (The 10-minute run is `bench/soak.sh`.)"""
import os
import subprocess

from conftest import SOCKIT_RELEASE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_soak_30_seconds_no_growth_no_errors(tmp_path):
    report = tmp_path / "soak.json"
    p = subprocess.run([os.path.join(ROOT, "bench", "soak.sh"), "--duration", "30",
                        "--interval", "2", "--warmup", "10", "--sockit", SOCKIT_RELEASE,
                        "--json", str(report)],
                       capture_output=True, text=True, timeout=180)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "soak: OK: no growth after warm-up, no errors" in p.stdout, out
    import json
    r = json.loads(report.read_text())
    assert not r["problems"]
    # The load really ran: every kind of good client and several attacks.
    assert all(r["good"].get(k, 0) > 10 for k in ("echo", "http", "chat", "udp")), r["good"]
    assert sum(r["bad"].values()) > 10, r["bad"]
    assert len([s for s in r["samples"] if s["tag"] == "load"]) >= 5
