"""pp -- PROXY protocol headers (v1, v2) and checks for tests/proxy.bats;
its inline python does "import pp" (PYTHONPATH from cmd_setup)."""
import socket
import struct

import ekkotest as ep

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, sport=40000, dst=None, dport=80):
    six = ":" in src
    dst = dst or ("::1" if six else "127.0.0.1")
    return ("PROXY %s %s %s %d %d\r\n" % ("TCP6" if six else "TCP4", src,
            dst, sport, dport)).encode()


def v2(src=None, sport=40000, dport=80, cmd=0x21, tlvs=b""):
    if src is None:
        body, fam = b"", 0x00
    elif ":" in src:
        body = (socket.inet_pton(socket.AF_INET6, src) +
                socket.inet_pton(socket.AF_INET6, "::1") +
                struct.pack(">HH", sport, dport))
        fam = 0x21
    else:
        body = (socket.inet_aton(src) + socket.inet_aton("127.0.0.1") +
                struct.pack(">HH", sport, dport))
        fam = 0x11
    body += tlvs
    return SIG + bytes([cmd, fam]) + struct.pack(">H", len(body)) + body


def send(port, data):
    s = ep.connect(port)
    s.sendall(data)
    return s


def read_n(s, n):
    """n bytes, or what came before the server closed."""
    d = b""
    s.settimeout(5)
    while len(d) < n:
        try:
            b = s.recv(n - len(d))
        except ConnectionResetError:
            break
        if not b:
            break
        d += b
    return d


def closed(s, timeout=5):
    """The server closes s (EOF or reset) within timeout, sending nothing."""
    s.settimeout(timeout)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True


def stat(port, key):
    return int(ep.stats(port)[key])
