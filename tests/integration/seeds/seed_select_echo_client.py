#!/usr/bin/python3
# The seeds' "Echo client using select" (001), ported to Python 3 with
# minimal changes: bytes on the socket, host and port from argv, flushes for
# the '%' prompt, and the exit on a blank line the text promises (the
# original compares with ' ', which readline() never returns, and loops
# forever at end of input).
"""
An echo client that allows the user to send multiple lines to the server.
Entering a blank line will exit the client.
"""

import socket
import sys

host = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
size = 1024
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((host, port))
sys.stdout.write('%')
sys.stdout.flush()

while 1:
    # read from keyboard
    line = sys.stdin.readline()
    if line == '' or line == '\n':
        break
    s.send(line.encode())
    data = s.recv(size)
    sys.stdout.write(data.decode(errors="replace"))
    sys.stdout.write('%')
    sys.stdout.flush()
s.close()
