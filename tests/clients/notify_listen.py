#!/usr/bin/env python3
"""notify_listen.py SOCKET OUT SECONDS -- act as systemd's notify socket:
bind an AF_UNIX datagram socket at SOCKET and append every message to OUT,
one message per line with newlines inside shown as '|', for SECONDS."""
import os
import socket
import sys
import time

path, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
end = time.time() + secs
with open(out, "a", buffering=1) as f:
    while time.time() < end:
        try:
            m = s.recv(4096)
        except socket.timeout:
            continue
        f.write(m.decode(errors="replace").replace("\n", "|") + "\n")
os.unlink(path)
