# bench.mk -- performance targets (issue #7); see bench/README.md.
#
#   make bench        ekkod vs the limit reference, redis and memcached:
#                     workloads (a')-(e), medians of 3 runs, build/bench.md
#   make bench-extra  syscalls, heap allocations and instructions per
#                     request, build/bench-extra.md
#   make bench-scale  100,000 idle connections held, memory per connection,
#                     build/bench-scale.md
# BENCH_SECONDS (5) shortens or lengthens each run.

.PHONY: bench bench-extra bench-scale

bench: all
	@sh mk/deps.sh bench
	BUILD=$(BUILD) bash bench/run.sh

bench-extra: all
	@sh mk/deps.sh bench
	BUILD=$(BUILD) bash bench/extra.sh

bench-scale: all
	BUILD=$(BUILD) bash bench/scale.sh
