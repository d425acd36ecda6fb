#!/usr/bin/env python3
"""ntlsd_status: what a running ntlsd answers on its status socket, for the shell tests.

    ntlsd_status.py SOCKET          prints the whole reply (up to its "end" line)
    ntlsd_status.py SOCKET --port   prints the port of its first "listen ADDR:PORT" line

Exits 1, saying why on stderr, when the socket does not answer within 5 s.
"""
import socket
import sys


def status(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b"status\n")
    out = b""
    while not out.endswith(b"end\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    return out.decode()


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--port"]):
        sys.exit(__doc__)
    try:
        reply = status(sys.argv[1])
    except OSError as e:
        sys.exit(f"ntlsd_status: {sys.argv[1]}: {e}")
    if sys.argv[2:] == ["--port"]:
        for line in reply.splitlines():
            if line.startswith("listen "):
                print(line.rsplit(":", 1)[1])
                return
        sys.exit(f"ntlsd_status: no listen line in: {reply!r}")
    sys.stdout.write(reply)


if __name__ == "__main__":
    main()
