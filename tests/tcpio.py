#!/usr/bin/env python3
"""tcpio.py -- small socket tools for the bats tests.

  tcpio.py HOST PORT [IDLE]   stdin to the socket (then half-close), the
                              replies to stdout until EOF or IDLE seconds
  tcpio.py --stats PORT       the STATS text from a command port (binary)
  tcpio.py --req PORT OP [PAYLOAD]   one binary request; prints
                              "0xOP payload" of the reply
"""
import socket
import struct
import sys


def roundtrip(host, port, idle):
    data = sys.stdin.buffer.read()
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(idle)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    sys.stdout.buffer.write(out)


def recv_exact(s, n):
    d = b""
    while len(d) < n:
        b = s.recv(n - len(d))
        if not b:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(d), n))
        d += b
    return d


def request(port, op, payload=b"", host="127.0.0.1"):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(struct.pack(">IB", len(payload) + 1, op) + payload)
    n, rop = struct.unpack(">IB", recv_exact(s, 5))
    body = recv_exact(s, n - 1)
    s.close()
    return rop, body


def main():
    a = sys.argv[1:]
    if a and a[0] == "--stats":
        rop, body = request(a[1], 3)
        if rop != 0x83:
            sys.exit("stats: error reply 0x%02x %r" % (rop, body))
        sys.stdout.write(body.decode())
    elif a and a[0] == "--req":
        payload = a[3].encode() if len(a) > 3 else b""
        rop, body = request(a[1], int(a[2], 0), payload)
        print("0x%02x %s" % (rop, body.decode(errors="replace")))
    else:
        roundtrip(a[0], a[1], float(a[2]) if len(a) > 2 else 3.0)


if __name__ == "__main__":
    main()
