#!/usr/bin/env python3
"""tcpio.py -- the old command line of the test socket tools, kept for
bats files written against it; new tests use helper.bash (tcp_roundtrip,
stats_of) or ekkotest.py directly.

  tcpio.py HOST PORT [IDLE] | --stats PORT | --req PORT OP [PAYLOAD]
"""
import sys

import ekkotest

a = sys.argv[1:]
if a and a[0] in ("--stats", "--req"):
    ekkotest.main([a[0][2:]] + a[1:])
else:
    ekkotest.main(["roundtrip"] + a)
