#!/usr/bin/env python3
"""duck.py -- clients for tests/duck.bats (lame duck, the agent listener,
haproxy in front of two instances).

  python3 duck.py COMMAND ARGS...

  agent_share PE PA       the agent's answer with 3 echo clients held,
                          again, then once they are gone (one a line)
  spread HP N PIDA PIDB   N connections through haproxy: "a=N b=M" by
                          the master pid INFO reports
  rolling HP STOPFILE     4 threads of sessions through haproxy until
                          STOPFILE exists (or 120 s): connect, three
                          ECHOs checked byte for byte, close; prints the
                          count of each kind of failure

A failed check is an assertion: a traceback and exit 1.
"""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import connect, read_all  # noqa: E402


def agent(pa):
    """What the agent on port pa answers, until it closes."""
    s = connect(pa)
    d, how = read_all(s, 5)
    s.close()
    return d.decode()


def cmd_agent_share(pe, pa):
    held = []
    for i in range(3):
        s = connect(pe)
        s.sendall(b"x\n")
        assert s.recv(10) == b"x\n"
        held.append(s)
    print(agent(pa).strip())
    # the agent's own connections do not count, nor linger
    print(agent(pa).strip())
    for s in held:
        s.close()
    for i in range(50):
        a = agent(pa).strip()
        if a == "up ready 100%":
            break
        time.sleep(0.1)
    print(a)


def cmd_spread(hp, n, pa, pb):
    n, pa, pb = int(n), int(pa), int(pb)
    got = {pa: 0, pb: 0}
    for i in range(n):
        s = connect(hp)
        s.sendall(b"INFO\r\n")
        d = b""
        while not d.endswith(b"END\n"):
            b = s.recv(65536)
            assert b, "closed after %r" % d
            d += b
        s.close()
        pid = [int(line.split()[1]) for line in d.decode().splitlines()
               if line.startswith("pid ")][0]
        got[pid] += 1
    print("a=%d b=%d" % (got[pa], got[pb]))


def cmd_rolling(hp, stop):
    n = {"sessions": 0, "connect": 0, "reset": 0, "wrong": 0, "eof": 0}
    lock = threading.Lock()
    t0 = time.monotonic()

    def count(k):
        with lock:
            n[k] += 1

    def session(rnd):
        try:
            s = connect(hp)
        except OSError:
            return count("connect")
        try:
            f = s.makefile("rb")
            for i in range(3):
                msg = "%016x" % rnd.getrandbits(64)
                s.sendall(("ECHO %s\r\n" % msg).encode())
                line = f.readline()
                if not line:
                    sys.stderr.write("%.2f eof at %d\n" %
                                     (time.monotonic() - t0, i))
                    return count("eof")
                if line != (msg + "\n").encode():
                    return count("wrong")
            count("sessions")
        except (ConnectionResetError, BrokenPipeError):
            count("reset")
        except OSError as e:
            sys.stderr.write("%.2f %r\n" % (time.monotonic() - t0, e))
            count("eof")
        finally:
            s.close()

    def run(seed):
        rnd = random.Random(seed)
        deadline = time.monotonic() + 120
        while not os.path.exists(stop) and time.monotonic() < deadline:
            session(rnd)
            time.sleep(0.01)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("sessions=%(sessions)d connect=%(connect)d reset=%(reset)d "
          "wrong=%(wrong)d eof=%(eof)d" % n)
    sys.stdout.flush()


def main():
    a = sys.argv[1:]
    fn = globals().get("cmd_" + a[0]) if a else None
    if fn is None:
        sys.exit("duck.py: unknown command %s" % (a[0] if a else ""))
    fn(*a[1:])


if __name__ == "__main__":
    main()
