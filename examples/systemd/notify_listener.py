"""notify_listener SOCKET OUT: the service manager's end of NOTIFY_SOCKET, for
the tests of ntlsd and htlclient (no systemd needed). It binds the datagram
socket SOCKET, appends each message received to OUT (a line "---" after
each), and exits 0 once a message holds the line READY=1, or 1 after 20 s."""
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
sock.settimeout(20)
with open(sys.argv[2], "w") as out:
    while True:
        try:
            message = sock.recv(4096).decode()
        except socket.timeout:
            sys.exit("notify_listener: no READY=1 within 20 s")
        out.write(message + "\n---\n")
        out.flush()
        if "READY=1" in message.split("\n"):
            break
