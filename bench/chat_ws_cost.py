#!/usr/bin/python3
"""Instructions per relayed chat line: a WebSocket sender against a line
sender (nc's way), one line receiver, the server (epoll, flood control off)
under callgrind, so the count does not depend on the machine's load.

    bench/chat_ws_cost.py [SOCKIT] [N]

Runs each sender kind with 200 and 200 + N lines and prints the difference
divided by N (the fixed costs, start-up and the handshake, cancel out).
Needs valgrind and python3-websockets."""
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import websockets


def run_once(sockit, mode, n):
    d = tempfile.mkdtemp()
    out = os.path.join(d, "cg.out")
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          sockit, "serve", "chat", "--model", "epoll", "-p", "0",
                          "-b", "127.0.0.1", "--flood-lines", "0", "--flood-bytes", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         start_new_session=True)
    try:
        port = int(re.search(r":(\d+) ", p.stdout.readline()).group(1))
        rx = socket.create_connection(("127.0.0.1", port), timeout=120)
        rx.sendall(b"rx\n")
        buf = b""

        def wait_for(tok):
            nonlocal buf
            deadline = time.monotonic() + 300
            while tok not in buf:
                assert time.monotonic() < deadline, buf[-200:]
                buf += rx.recv(65536)

        wait_for(b"Welcome, rx")
        text = "m" * 60
        if mode == "ws":
            async def send():
                async with websockets.connect(f"ws://127.0.0.1:{port}/") as w:
                    await w.recv()
                    await w.send("tx")
                    for i in range(n):
                        await w.send(f"{i} {text}")
                    await asyncio.get_running_loop().run_in_executor(
                        None, wait_for, f"<tx> {n - 1} ".encode())
            asyncio.run(send())
        else:
            tx = socket.create_connection(("127.0.0.1", port), timeout=120)
            tx.sendall(b"tx\n")
            for i in range(n):
                tx.sendall(f"{i} {text}\n".encode())
            wait_for(f"<tx> {n - 1} ".encode())
    finally:
        p.terminate()
        p.wait(120)
    with open(out) as f:
        return int(next(l for l in f if l.startswith("summary:")).split()[1])


def main():
    sockit = sys.argv[1] if len(sys.argv) > 1 else "build/sockit"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    for mode in ("line", "ws"):
        base, more = run_once(sockit, mode, 200), run_once(sockit, mode, 200 + n)
        print(f"{mode:5} sender: {(more - base) / n:7.0f} instructions per relayed line "
              f"({base} for 200 lines, {more} for {200 + n})")


if __name__ == "__main__":
    main()
