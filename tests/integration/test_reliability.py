"""Reliability of the server core and the models (issue 11): each test is a
defect found by attacking or reading the servers, run across every model
`sockit serve --list` offers for the service."""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import SANITIZER_RE, SOCKIT, available_models, recv_until_close, run

HTTP_MODELS = available_models("tcp", "http")
ECHO_MODELS = available_models("tcp", "echo")


def bench_json(*args, timeout=60):
    p = run("bench", *args, "--json", timeout=timeout)
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    assert lines, p.stdout + p.stderr
    return p, json.loads(lines[-1])


# ---- 2: pipelined file requests ----

@pytest.mark.parametrize("model", HTTP_MODELS)
def test_pipelined_file_requests_all_answered(server, tmp_path, model):
    # 2000 requests in flight on one connection, each answered with a file
    # (sent after the head, so the service holds the rest of the input back
    # meanwhile): every one is answered on the one connection, no error.
    (tmp_path / "file").write_bytes(os.urandom(1500).hex().encode())
    s = server("http", "--model", model, "-q", "--root", str(tmp_path))
    p, d = bench_json("http", f"http://127.0.0.1:{s.port}/file", "-c", "1", "-P", "2000",
                      "-n", "4000")
    assert p.returncode == 0, p.stderr
    assert d["requests"] == 4000 and d["errors_total"] == 0, d
    assert d["connects"] == 1, d
