#!/usr/bin/python3
# The seeds' tcp-echoclient.py (001), ported to Python 3 with minimal changes:
# input() for raw_input(), bytes on the socket, host and port from argv, and
# an end at end of input (the original would raise EOFError).
# simple  tcp echo client
import socket, sys

host = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5090
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect((host, port))
while True:
    try:
        data = input("Enter data to send to server: press q or Q to quit:\n")
    except EOFError:
        c.close()
        break
    c.send(data.encode())
    if data == 'q' or data == 'Q':
        c.close()
        break
    print(c.recv(512).decode(errors="replace"), flush=True)
