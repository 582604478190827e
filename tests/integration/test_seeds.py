"""The seeds' own client programs (Python 3 ports in seeds/, changed as little
as possible) against the sockit servers that replace the seeds' servers:
the greeting client, the one-message client, the select echo client and the
forking server's echo client."""
import os
import subprocess
import sys

from conftest import SEEDS, child_pids, proc_state


def seed(name, server, stdin=None):
    p = subprocess.run([sys.executable, os.path.join(SEEDS, name), "127.0.0.1", str(server.port)],
                       input=stdin, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_greeting_client_against_serve_greet(server):
    s = server("greet", "--model", "iterative")
    assert seed("seed_greet_client.py", s) == "Received data: Thank you for connecting\n\n"
    s2 = server("greet", "--banner", "Thank you for Connecting  ")
    assert seed("seed_greet_client.py", s2) == "Received data: Thank you for Connecting  \n\n"


def test_one_message_client_against_greet_reply(server):
    # The client sends "Hello, server!" bare and waits for the answer.
    s = server("greet", "--model", "thread", "--reply", "Message received")
    assert seed("seed_message_client.py", s) == "Received: Message received\n\n"
    assert s.stop() == 0
    assert "(14 bytes): Hello, server!" in s.stderr, s.stderr


def test_select_echo_client_against_serve_echo_select(server):
    s = server("echo", "--model", "select")
    out = seed("seed_select_echo_client.py", s, stdin="hello\nworld\n\nnot sent\n")
    assert out == "%hello\n%world\n%"


def test_fork_echo_client_against_echo_lines_fork(server):
    # The forking server's client sends each line bare and prints the reply;
    # 'q' ends it, as it ends the connection on the server.
    s = server("echo", "--model", "fork", "--lines", "--prefix", "you send:", "--quit", "q")
    out = seed("seed_fork_echo_client.py", s, stdin="hello\nsecond message\nq\n")
    assert out.splitlines() == ["Enter q or Q to quits:", ">you send:hello",
                                ">you send:second message", ">"], out
    # No child of the fork model outlives its client as a zombie.
    for pid in child_pids(s.pid):
        assert proc_state(pid) != "Z", pid
