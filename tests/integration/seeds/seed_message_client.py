#!/usr/bin/python3
# The seeds' "Basic Client" (004), already Python 3; the only changes: the
# host and port from argv, and the line break the page lost restored.
import socket
import sys

# Create a socket object
client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

# Connect to the server
server_address = (sys.argv[1] if len(sys.argv) > 1 else 'localhost',
                  int(sys.argv[2]) if len(sys.argv) > 2 else 12345)
client_socket.connect(server_address)

try:
    # Send data
    message = "Hello, server!"
    client_socket.sendall(message.encode())

    # Receive response
    data = client_socket.recv(1024)
    print(f"Received: {data.decode()}")
finally:
    # Clean up the connection
    client_socket.close()
