# mk/fuzz.mk -- libFuzzer targets (included by the Makefile).
#
#   make fuzz         build every target, run each for FUZZ_SECONDS (60)
#   make fuzz-smoke   the same, 10 s each (for CI)
#   make fuzz-build   build only
#
# Each target runs on a copy of its seed corpus in build-fuzz/corpus/, so
# new inputs never land in the tree; a crash leaves its input in
# build-fuzz/artifacts/ and fails the run once every target has run.
# fuzz_config links the daemon's config loader, fuzz_conn its connection
# code.  Leaks in libconfig
# itself are suppressed by tests/fuzz/lsan.supp.

FUZZ_DIR	?= build-fuzz
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_OPTS	?=
FUZZ_CFLAGS	?= -g -O1 -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=all -fno-omit-frame-pointer \
		   -std=c11 -Wall -Wextra
FUZZ_TARGETS	:= fuzz_frame fuzz_proto fuzz_cidr fuzz_config fuzz_proxy \
		   fuzz_http fuzz_conn

# The daemon's objects, as an archive: the linker takes only what
# config.c needs (its log and proc helpers), never main.
FUZZ_DAEMON_SRC	:= $(filter-out daemon/main.c,$(wildcard daemon/*.c))
FUZZ_DAEMON_OBJ	:= $(FUZZ_DAEMON_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_LIBCONFIG	 = $(shell pkg-config --libs --cflags libconfig \
		   2>/dev/null || echo -lconfig)
FUZZ_CONFIG_CFLAGS = $(shell pkg-config --cflags libconfig 2>/dev/null)
FUZZ_COMMON_H	:= $(wildcard common/*.h) tests/fuzz/fuzz.h
FUZZ_DAEMON_H	:= $(wildcard daemon/*.h)

FUZZ_BINS	:= $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

.PHONY: fuzz fuzz-smoke fuzz-build

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(FUZZ_COMMON_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) -lm

$(FUZZ_DIR)/obj/daemon/%.o: daemon/%.c $(FUZZ_DAEMON_H) $(FUZZ_COMMON_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Idaemon $(FUZZ_CONFIG_CFLAGS) \
	    $(filter-out -fsanitize=fuzzer%,$(FUZZ_CFLAGS)) \
	    -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZ_DIR)/libekkod-fuzz.a: $(FUZZ_DAEMON_OBJ)
	rm -f $@
	ar rcs $@ $^

# The targets that link the daemon's own code.
FUZZ_DAEMON_BINS := $(FUZZ_DIR)/fuzz_config $(FUZZ_DIR)/fuzz_conn

$(FUZZ_DAEMON_BINS): $(FUZZ_DIR)/%: tests/fuzz/%.c $(COMMON_SRC) \
    $(FUZZ_DIR)/libekkod-fuzz.a $(FUZZ_DAEMON_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Idaemon $(FUZZ_CONFIG_CFLAGS) \
	    $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_DIR)/libekkod-fuzz.a \
	    $(COMMON_SRC) $(FUZZ_LIBCONFIG) -lm

# Run each target for $(1) seconds; fail at the end if any crashed.
define fuzz_run
	@fail=; for t in $(FUZZ_TARGETS); do \
	    c=$(FUZZ_DIR)/corpus/$$t; mkdir -p $$c $(FUZZ_DIR)/artifacts; \
	    cp -n tests/fuzz/corpus/$$t/* $$c/ 2>/dev/null; \
	    d=; [ -f tests/fuzz/$$t.dict ] && d=-dict=tests/fuzz/$$t.dict; \
	    echo "fuzz: $$t for $(1) s"; \
	    if LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp \
		./$(FUZZ_DIR)/$$t -max_total_time=$(1) -timeout=10 \
		-print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $$d \
		$(FUZZ_OPTS) $$c >$(FUZZ_DIR)/$$t.log 2>&1; then \
		grep -E 'Done [0-9]+ runs' \
		    $(FUZZ_DIR)/$$t.log | sed "s/^/fuzz: $$t: /"; \
	    else \
		echo "fuzz: $$t FAILED, see $(FUZZ_DIR)/$$t.log:"; \
		grep -E 'ERROR|SUMMARY|check failed|runtime error' \
		    $(FUZZ_DIR)/$$t.log | head -20; \
		grep 'Test unit written' $(FUZZ_DIR)/$$t.log; \
		fail="$$fail $$t"; \
	    fi; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: crashes in:$$fail"; exit 1; fi; \
	echo "fuzz: no crashes"
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call fuzz_run,10)
