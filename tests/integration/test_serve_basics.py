"""The serve command itself: the first line, bad arguments, port in use,
addresses it may not bind, stopping on SIGTERM with totals."""
import os
import shutil
import signal
import socket
import subprocess

import pytest

from conftest import SOCKIT, SANITIZER_RE, run, recv_exactly, serve_list


def test_first_line_names_service_address_and_model(server):
    s = server("echo", "--model", "iterative", "-p", "0")
    assert s.first.startswith("sockit: echo listening on 127.0.0.1:")
    assert "(tcp, model iterative)" in s.first
    assert s.port > 0


def test_echo_roundtrip_and_totals_on_sigterm(server):
    s = server("echo", "--model", "iterative", "-p", "0")
    with s.connect() as c:
        c.sendall(b"hello\n")
        assert recv_exactly(c, 6) == b"hello\n"
    assert s.stop(signal.SIGTERM) == 0
    assert "1 connection," in s.stdout_rest  # singular (issue 12, item 14)
    assert "6 bytes in, 6 bytes out" in s.stdout_rest


def test_port_in_use_is_one_clear_line(server):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        p = run("serve", "echo", "--model", "iterative", "-b", "127.0.0.1", "-p", str(port))
        assert p.returncode == 1
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1
        assert f"127.0.0.1:{port}" in lines[0] and "Address already in use" in lines[0]
    finally:
        holder.close()


def test_bad_arguments_exit_2_with_hint():
    for args in (["serve"], ["serve", "nosuch"], ["serve", "echo", "-p", "70000"],
                 ["serve", "echo", "--model", "nosuch"], ["serve", "echo", "--max-conns", "x"]):
        p = run(*args)
        assert p.returncode == 2, args
        assert p.stderr.startswith("sockit: serve: "), p.stderr
        assert "Try 'sockit serve --help'" in p.stderr


def test_list_shows_models_and_default():
    p = run("serve", "--list")
    assert p.returncode == 0
    assert "iterative" in p.stdout and "default:" in p.stdout


def test_list_has_every_model_and_what_each_carries():
    """The matrix tests take their models from --list: if a model or service
    fell off it they would shrink silently, so its whole shape is pinned here.
    Only the io_uring models may be refused (by the kernel)."""
    rows = {(r["model"], r["kind"]): r for r in serve_list()}
    tcp = ["iterative", "fork", "prefork", "thread", "pool", "select", "poll", "epoll", "uring"]
    assert set(rows) == {(m, "tcp") for m in tcp} | {(m, "udp") for m in ("plain", "batch", "uring")}
    for (model, kind), r in rows.items():
        assert r["status"] == "ok" or (model == "uring" and r["status"] == "refused"), r
        want = {"echo", "greet", "discard", "daytime", "chargen", "http"} if kind == "tcp" \
            else {"echo", "discard", "daytime", "chargen"}
        if kind == "tcp" and model not in ("iterative", "fork", "prefork"):
            want.add("chat")
            want.add("broker")  # issue 14: listen --broker's hub service
        want.add("relay")  # issue 14: under every stream model, and with --udp every UDP one
        if kind == "tcp":
            want |= {"socks", "http-proxy"}  # issue 14: the proxies, likewise
            want.add("exec")
        assert set(r["services"]) == want, r


def one_line_failure(p, *wanted):
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    assert p.returncode == 1, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sockit: serve: "), p.stderr
    for w in wanted:
        assert w in lines[0], lines[0]


def test_address_not_on_this_machine_is_one_clear_line():
    # 192.0.2.0/24 and 2001:db8::/32 are documentation blocks: never local.
    one_line_failure(run("serve", "echo", "-b", "192.0.2.1", "-p", "7777"),
                     "192.0.2.1:7777", "Cannot assign requested address")
    one_line_failure(run("serve", "echo", "-b", "2001:db8::1", "-p", "7777"),
                     "[2001:db8::1]:7777", "Cannot assign requested address")
    one_line_failure(run("serve", "echo", "-b", "nosuch.invalid"), "nosuch.invalid")


def test_bind_address_is_strict_ipv4():
    for bad in ("1.2.3", "01.2.3.4", "256.1.1.1"):
        p = run("serve", "echo", "-b", bad)
        assert p.returncode == 2, (bad, p.stderr)
        assert p.stderr.startswith(f"sockit: serve: -b {bad}: "), p.stderr
        assert p.stderr.splitlines()[1] == "Try 'sockit serve --help'."


def drop_to_nobody():
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root, and no setpriv to drop the privilege")
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return []


def test_privileged_port_and_unwritable_unix_path_as_non_root(tmp_path):
    pre = drop_to_nobody()
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 80:
            pytest.skip("this machine lets anyone bind port 80")
    for udp in ([], ["-u"]):
        p = subprocess.run([*pre, SOCKIT, "serve", "echo", *udp, "-p", "80"], capture_output=True,
                           text=True, timeout=20)
        one_line_failure(p, "127.0.0.1:80", "port 80", "Permission denied")
    os.chmod(tmp_path, 0o755)  # nobody may look in, not write
    path = str(tmp_path / "s.sock")
    p = subprocess.run([*pre, SOCKIT, "serve", "echo", "--unix", path], capture_output=True,
                       text=True, timeout=20)
    one_line_failure(p, f"unix:{path}: Permission denied")
