#!/usr/bin/python3
# The seeds' udp-echoclient.py (001), ported to Python 3 with minimal changes:
# input() for raw_input(), bytes on the socket, host and port from argv, an end
# at end of input, and a 5 s timeout on recvfrom (the original waits forever
# for a datagram that UDP may have lost).
import socket, sys

host = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
client_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client_socket.settimeout(5)
while True:
    try:
        data = input("Type Something(q or Q to exit:)")
    except EOFError:
        client_socket.close()
        break
    if data == 'q' or data == 'Q':
        client_socket.close()
        break
    else:
        client_socket.sendto(data.encode(), (host, port))
        newdata = client_socket.recvfrom(512)
        print("Received:", newdata[0].decode(errors="replace"), flush=True)
