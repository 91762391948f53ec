#!/usr/bin/env python3
"""zcopy.py -- drive an echo or command port with large pipelined frames
and check the bytes on the wire (tests/zcopy.bats).

  zcopy.py PORT KIND ARG NFRAMES SEED [--partial] [--slow] [--chunk N]

KIND: length, line (ARG: delimiter, e.g. '\\n' or '\\r\\n'), fixed (ARG:
frame_size), echo-bin, echo-text, mix-bin (ARG unused, "-").  NFRAMES
frames of sizes drawn from SEED (large ones, so the server's input ring
fills, grows and wraps) are sent in chunks of random size, pipelined.
mix-bin is binary PINGs and small ECHOs with a large ECHO now and then,
sent in small chunks, so that small requests, too, lie across the wrap.
--toolarge ends the input with a frame over max_frame 300000: the
replies are the frames before it, then the server closes.
--partial adds the first half of one more frame and half-closes: the
reply must be exactly the complete frames, then EOF.  Without it the
writer half-closes after the last frame.  --slow: the client does not
read until everything is sent (small receive buffer), so the server's
replies are taken only in part and wait while its input holds more.
Exit 0 when the replies are the expected bytes, 1 (with the first
difference) otherwise.
"""
import os
import random
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import connect  # noqa: E402


def frames(kind, arg, n, rnd):
    """(request, reply) byte strings for n frames."""
    out = []
    for i in range(n):
        size = rnd.choice([1, 7, 4093, 65536, 70001, 131071, 200003])
        if kind == "mix-bin":
            size = rnd.choice([0, 0, 1, 60, 700, 1023, 1024, 5000])
        size = max(1, size + rnd.randrange(0, 5))
        body = bytes((65 + (i + j) % 26) for j in range(size))
        if kind == "length":
            req = size.to_bytes(4, "big") + body
            rep = req
        elif kind == "line":
            req = body + arg
            rep = req
        elif kind == "fixed":
            body = (body * (arg // len(body) + 1))[:arg]
            req = rep = body
        elif kind == "mix-bin" and size < 3:
            req = (1).to_bytes(4, "big") + b"\x01"
            rep = (5).to_bytes(4, "big") + b"\x81PONG"
        elif kind in ("echo-bin", "mix-bin"):
            req = (size + 1).to_bytes(4, "big") + b"\x02" + body
            rep = (size + 1).to_bytes(4, "big") + b"\x82" + body
        else:
            req = b"ECHO " + body + b"\n"
            rep = body + b"\n"
        out.append((req, rep))
    return out


def main():
    port, kind, arg = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    n, seed = int(sys.argv[4]), int(sys.argv[5])
    opts = sys.argv[6:]
    partial = "--partial" in opts
    toolarge = "--toolarge" in opts
    slow = "--slow" in opts
    if kind == "line":
        arg = arg.encode().decode("unicode_escape").encode("latin-1")
    elif kind == "fixed":
        arg = int(arg)
    rnd = random.Random(seed)
    fr = frames(kind, arg, n, rnd)
    data = b"".join(r for r, _ in fr)
    want = b"".join(r for _, r in fr)
    if partial:
        extra = frames(kind, arg, 1, rnd)[0][0]
        data += extra[:max(1, len(extra) // 2)]
    if toolarge:
        # a frame over max_frame (300000 in zcopy.bats): the frames before
        # it are answered, then the server closes
        # (and nothing after what shows it too large: bytes the server
        # never reads would make its close a reset, losing replies)
        if kind == "length":
            data += (300001).to_bytes(4, "big")
        else:
            data += b"y" * 300001
    s = connect(port, rcvbuf=4096 if slow else 0, timeout=30)

    def writer():
        at = 0
        try:
            while at < len(data):
                step = rnd.choice([1, 3, 17, 200, 1000, 5000]
                                  if kind == "mix-bin" else
                                  [1, 3, 1000, 16384, 65536, 300000])
                s.sendall(data[at:at + step])
                at += step
            s.shutdown(socket.SHUT_WR)
        except OSError:
            if not toolarge:
                raise

    if slow:
        writer()
    else:
        t = threading.Thread(target=writer)
        t.start()
    got = bytearray()
    while True:
        try:
            b = s.recv(1 << 20)
        except ConnectionResetError:
            break
        if not b:
            break
        got += b
        if len(got) > len(want):
            break
    if not slow:
        t.join()
    if bytes(got) == want:
        print("ok: %d frames, sent %d bytes, %d back" % (n, len(data),
                                                         len(got)))
        return 0
    i = next((i for i in range(min(len(got), len(want)))
              if got[i] != want[i]), min(len(got), len(want)))
    print("FAIL: got %d bytes, want %d; first difference at %d"
          % (len(got), len(want), i))
    return 1


sys.exit(main())
