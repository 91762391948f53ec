# helper_cmd.bash -- extra helpers for command.bats, client.bats and
# reload.bats, on top of helper.bash (which it loads).
#
#   load helper_cmd
#   setup()    { cmd_setup; }
#   teardown() { ekko_teardown; }
#
#   cmd_setup          ekko_setup, plus PYTHONPATH so that python can
#                      "import ekkotest" (tests/ekkotest.py) and the
#                      modules of tests/clients/
#   bg_record PID      record a background PID so teardown kills it
#   pidfile_conf       a pidfile line for the config ($T/ekkod.pid)

load helper

cmd_setup() {
	ekko_setup
	export PYTHONPATH="$BATS_TEST_DIRNAME:$BATS_TEST_DIRNAME/clients${PYTHONPATH:+:$PYTHONPATH}"
}

# Record a PID that teardown kills (helper.bash reads $T/pids).
bg_record() {
	echo "$1" >> "$T/pids"
}

pidfile_conf() {
	echo "pidfile = \"$T/ekkod.pid\";"
}

