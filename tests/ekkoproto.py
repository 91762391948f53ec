"""ekkoproto -- the old name of ekkotest, kept for inline python written
against it ("from ekkoproto import *"): importing it yields ekkotest."""
import sys

import ekkotest

sys.modules[__name__] = ekkotest
