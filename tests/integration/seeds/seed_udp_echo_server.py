#!/usr/bin/python3
# The seeds' udp-echoserver.py (001), ported to Python 3 with minimal changes:
# print() and the port from argv (0: any free port; the line printed names the
# real one).
# UDP echo Server
import socket, sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
server_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server_socket.bind(('localhost', port))
print("UDP -Echo Server listening on port %d:" % server_socket.getsockname()[1], flush=True)
while True:
    data, address = server_socket.recvfrom(512)
    print(address, ":said", data, flush=True)
    server_socket.sendto(data, address)
