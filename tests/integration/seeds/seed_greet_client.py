#!/usr/bin/python3
# The seeds' client for the greeting server (001, "Writing separate client
# application instead of telnet"), ported to Python 3 with minimal changes:
# print() and the host and port from argv.
import socket
import sys

host = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 8090
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect((host, port))
data = c.recv(512)
print("Received data:", data.decode(errors="replace"), flush=True)
