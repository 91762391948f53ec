# bench.mk -- performance targets (issue #7); see bench/README.md.
#
#   make bench        ekkod vs the limit reference, redis and memcached:
#                     workloads (a')-(e), medians of 11 runs, build/bench.md
#   make bench-extra  syscalls, heap allocations and instructions per
#                     request, build/bench-extra.md
#   make bench-scale  CONNS (100,000) idle connections held, memory per
#                     connection, build/bench-scale.md
#   make bench-cpu    server CPU per request, ekko raw against the limit
#                     at (b)-(d) and length against raw at (d), from
#                     alternating runs, and length against raw echo of
#                     the same bytes on the wire (issue #17)
# BENCH_SECONDS (1) and BENCH_RUNS (11) set each run's length and count.

.PHONY: bench bench-extra bench-scale bench-latency bench-cpu

bench: all
	@sh mk/deps.sh bench
	BUILD=$(BUILD) bash bench/run.sh

bench-extra: all bench-copies-build
	@sh mk/deps.sh bench
	BUILD=$(BUILD) bash bench/extra.sh

CONNS = 100000
bench-scale: all
	BUILD=$(BUILD) SCALE_CONNS=$(CONNS) bash bench/scale.sh

# Server CPU per request from rounds of runs seconds apart.
bench-cpu: all
	@sh mk/deps.sh bench
	BUILD=$(BUILD) bash bench/cpu.sh

# The latency histogram's cost: against an ekkod built without it.
bench-latency: all
	$(MAKE) BUILD=$(BUILD)/nolat LATENCY=0 $(BUILD)/nolat/ekkod
	BUILD=$(BUILD) bash bench/latency.sh

# An ekkod that counts the bytes it copies in user space (STATS
# bytes_copied_in, bytes_copied_out), for bench-extra; its own folder.
.PHONY: bench-copies-build
bench-copies-build:
	$(MAKE) BUILD=$(BUILD)/copies OPT="$(OPT) -DEKKO_COUNT_COPIES" \
	    $(BUILD)/copies/ekkod $(BUILD)/copies/ekko
