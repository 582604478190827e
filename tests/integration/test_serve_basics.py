"""The serve command itself: the first line, bad arguments, port in use,
stopping on SIGTERM with totals."""
import signal
import socket

from conftest import run, recv_exactly


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
    assert "1 connections" in s.stdout_rest
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
