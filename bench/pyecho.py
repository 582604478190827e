#!/usr/bin/env python3
"""Python TCP echo servers to compare sockit with (standard library only).

    pyecho.py asyncio|socketserver|threads [PORT]

asyncio       an asyncio.Protocol echo (the fast way to write it in Python)
socketserver  socketserver.ThreadingTCPServer with a StreamRequestHandler
threads       written like the seeds' servers: accept() in a loop, one
              threading.Thread per client doing recv()/sendall()

Binds 127.0.0.1 (port 0: any free port) and prints one line
"listening on 127.0.0.1:PORT" once it accepts connections.
"""
import asyncio
import socket
import socketserver
import sys
import threading


def announce(port):
    print(f"listening on 127.0.0.1:{port}", flush=True)


def run_asyncio(port):
    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport

        def data_received(self, data):
            self.t.write(data)

    async def main():
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(Echo, "127.0.0.1", port, backlog=4096)
        announce(srv.sockets[0].getsockname()[1])
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


def run_socketserver(port):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                self.request.sendall(data)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 4096

    with Server(("127.0.0.1", port), Handler) as srv:
        announce(srv.server_address[1])
        srv.serve_forever()


def run_threads(port):
    """The seeds' shape: a listening socket, accept, a thread per client."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    announce(s.getsockname()[1])

    def client(conn):
        with conn:
            while True:
                data = conn.recv(1024)
                if not data:
                    break
                conn.sendall(data)

    while True:
        conn, _ = s.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    kinds = {"asyncio": run_asyncio, "socketserver": run_socketserver, "threads": run_threads}
    if len(sys.argv) < 2 or sys.argv[1] not in kinds:
        sys.exit(__doc__)
    try:
        kinds[sys.argv[1]](int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    except KeyboardInterrupt:
        pass
