#!/usr/bin/python3
# The seeds' tcp-echoserver.py (001), ported to Python 3 with minimal changes:
# print() and bytes, the port from argv (0: any free port; the line printed
# names the real one), and a break when recv() returns b'' (the original
# loops forever sending "You Send:" once the client has gone).
# A simple echo Server, send back the same message the client sent back to it.

import socket, sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5090
# Creat the socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('localhost', port))
s.listen(5)
print("Server is running on port %d:" % s.getsockname()[1], flush=True)

while True:
    clientsocket, clientaddress = s.accept()
    print("Received the connection from:", clientaddress, flush=True)
    while True:
        data = clientsocket.recv(512)
        if data == b'q' or data == b'Q' or not data:
            clientsocket.close()
            print("Client quits:", flush=True)
            break
        else:
            print("Data received", data, flush=True)
            newdata = b"You Send:" + data
            clientsocket.send(newdata)
