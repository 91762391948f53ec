#!/usr/bin/env python3
"""reload_load.py -- load for the whole run of reload.bats (e): threads
open connections in a loop, a few requests on each, every reply checked
byte for byte; the counts go to OUTFILE as JSON.

  reload_load.py CMDPORT LINEPORT LENPORT STOPFILE PROGFILE OUTFILE
"""
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import ECHO, frame, read_line, read_reply, recv_exact  # noqa

pc, pl, pr = (int(x) for x in sys.argv[1:4])
stopfile, progfile, outfile = sys.argv[4:7]
THREADS, PER_CONN, MAXTIME = 6, 4, 60
lock = threading.Lock()
n = dict(requests=0, connections=0, connect_fail=0, reset=0, eof=0,
         timeout=0, mismatch=0, other=0)
errors = []
deadline = time.monotonic() + MAXTIME


def bump(k, v=1, why=None):
    with lock:
        n[k] += v
        if why and len(errors) < 20:
            errors.append("%s: %s" % (k, why))


class Mismatch(Exception):
    pass


def one_conn(tid, i):
    kind = (tid + i) % 3
    port = (pc, pl, pr)[kind]
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError as e:
        bump("connect_fail", why="port %d: %r" % (port, e))
        time.sleep(0.01)
        return
    bump("connections")
    s.settimeout(5)
    buf = bytearray()
    try:
        for k in range(PER_CONN):
            p = b"t%d-c%d-r%d-" % (tid, i, k) + bytes([65 + k]) * (i % 40)
            if kind == 0:
                s.sendall(frame(ECHO, p))
                got = read_reply(s)
                want = (0x82, p)
            elif kind == 1:
                s.sendall(p + b"\n")
                got = read_line(s, buf)
                want = p
            else:
                fr = struct.pack(">I", len(p)) + p
                s.sendall(fr)
                got = recv_exact(s, len(fr))
                want = fr
            if got != want:
                raise Mismatch("port %d: got %r want %r" % (port, got, want))
            bump("requests")
    except Mismatch as e:
        bump("mismatch", why=str(e))
    except socket.timeout as e:
        bump("timeout", why="port %d: %r" % (port, e))
    except (ConnectionResetError, BrokenPipeError) as e:
        bump("reset", why="port %d: %r" % (port, e))
    except EOFError as e:
        bump("eof", why="port %d: %r" % (port, e))
    except Exception as e:
        bump("other", why="port %d: %r" % (port, e))
    finally:
        s.close()


def run(tid):
    i = 0
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        one_conn(tid, i)
        i += 1
        time.sleep(0.002)


def progress():
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        with lock:
            c = n["requests"]
        with open(progfile + ".tmp", "w") as f:
            f.write("%d\n" % c)
        os.rename(progfile + ".tmp", progfile)
        time.sleep(0.02)


ts = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
for t in ts:
    t.start()
progress()
for t in ts:
    t.join()
with open(outfile + ".tmp", "w") as f:
    json.dump(dict(n, errors=errors), f)
os.rename(outfile + ".tmp", outfile)
