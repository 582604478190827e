#!/usr/bin/python3
# The seeds' "Echo Client" of the forking server (001), ported to Python 3
# with minimal changes: input() for raw_input(), bytes on the socket, host and
# port from argv, and an end at end of input (the original would raise
# EOFError). Like the original it sends each line bare, without a newline.
############################################################################
# Client side: use sockets to send data to the server, and print server's
# reply to each message line; 'localhost' means that the server is running
# on the same machine as the client, which lets us test client and server
# on one machine
############################################################################
import socket
import sys

host = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 50007
clientsocket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
clientsocket.connect((host, port))
print("Enter q or Q to quits:")
while 1:
    try:
        data = input('>')
    except EOFError:
        break
    clientsocket.send(data.encode())
    if data == 'q' or data == 'Q':
        break
    newdata = clientsocket.recv(1024)
    print(newdata.decode(errors="replace"), flush=True)

clientsocket.close()
