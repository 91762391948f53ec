# ekko -- prefork TCP echo and message server, and its client.
#
#   make          build build/ekkod and build/ekko
#   make run      install missing build deps (as root), build, run ekkod
#   make check    install test deps (as root), build, run every test
#   make install  PREFIX=/usr/local SYSCONFDIR=/etc DESTDIR=
#   make sanitize the test suite against an ASan+UBSan build
#   make fuzz     each libFuzzer target for a bounded time
#   make bench    performance against the limit, redis and memcached
#   make deb      the Debian package
#   make check-systemd  the package under systemd in a systemd-nspawn container

PREFIX		?= /usr/local
SYSCONFDIR	?= /etc
SBINDIR		?= $(PREFIX)/sbin
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR	?= $(PREFIX)/lib/tmpfiles.d
DESTDIR		?=

VERSION		:= 1.0.0
BUILD		?= build
CC		?= cc
OPT		?= -O2 -g
WARN		:= -Wall -Wextra -Werror -Wstrict-prototypes \
		   -Wmissing-prototypes -Wshadow -Wpointer-arith -Wcast-qual
# Link-time optimization with gcc: the hot path crosses files (frame.c,
# proto.c, buf.c), and inlining across them took ECHO at (c) from 273 to
# 207 instructions per request (callgrind).  LTO= turns it off.
LTO		?= $(if $(findstring clang,$(CC)),,-flto=auto)
CFLAGS		?=
CFLAGS		+= -std=c11 $(OPT) $(LTO) $(WARN)
LATENCY		?= 1
CPPFLAGS	+= -D_GNU_SOURCE -DEKKO_VERSION='"$(VERSION)"' \
		   -DEKKO_LATENCY=$(LATENCY) \
		   -DEKKO_SYSCONFDIR='"$(SYSCONFDIR)"' -Icommon
LIBCONFIG_CFLAGS = $(shell pkg-config --cflags libconfig 2>/dev/null)
LIBCONFIG_LIBS	 = $(shell pkg-config --libs libconfig 2>/dev/null || echo -lconfig)
LDLIBS		+= -lm -lpthread

COMMON_SRC	:= $(sort $(wildcard common/*.c))
DAEMON_SRC	:= $(sort $(wildcard daemon/*.c))
CLIENT_SRC	:= $(sort $(wildcard client/*.c))
COMMON_OBJ	:= $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJ	:= $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
CLIENT_OBJ	:= $(CLIENT_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC	:= $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN	:= $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
# the daemon's objects that unit tests link against (all but main)
DAEMON_LIB_OBJ	:= $(filter-out $(BUILD)/obj/daemon/main.o,$(DAEMON_OBJ))

.PHONY: all run check unit install deps deps-test clean sanitize valgrind \
	next
all: $(BUILD)/ekkod $(BUILD)/ekko

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(LIBCONFIG_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/ekkod: $(DAEMON_OBJ) $(COMMON_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBCONFIG_LIBS) $(LDLIBS)

$(BUILD)/ekko: $(CLIENT_OBJ) $(COMMON_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit/%: tests/unit/%.c $(DAEMON_LIB_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(LIBCONFIG_CFLAGS) -Idaemon $(CFLAGS) -o $@ $^ \
	    $(LIBCONFIG_LIBS) $(LDLIBS)

# tests/unit/test_client_*.c test the client's code.  They link its
# objects as an archive, so that each takes only what it uses; main.o is
# left out, a test has a main of its own.
$(BUILD)/obj/client.a: $(filter-out $(BUILD)/obj/client/main.o,$(CLIENT_OBJ))
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/unit/test_client_%: tests/unit/test_client_%.c \
    $(BUILD)/obj/client.a $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iclient $(CFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@sh mk/deps.sh build

deps-test:
	@sh mk/deps.sh test

run: deps
	$(MAKE) all
	$(BUILD)/ekkod -f -c etc/ekkod.conf

unit: $(UNIT_BIN)

# A second ekkod that reports another version, for the upgrade tests.
next:
	$(MAKE) BUILD=$(BUILD)/next VERSION=$(VERSION)+next $(BUILD)/next/ekkod

check: deps-test
	$(MAKE) all unit next
	@sh tests/run.sh $(BUILD)

# The whole suite against an ASan+UBSan build, in its own build folder.
sanitize: deps-test
	$(MAKE) BUILD=build-san CC=clang \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    all unit next
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    EKKO_SANITIZE=1 sh tests/run.sh build-san

# A short session under valgrind: every mode, a reload; no errors, no leaks.
valgrind: deps-test all
	@sh tests/valgrind.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/ekko $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR)
	install -m 755 $(BUILD)/ekkod $(DESTDIR)$(SBINDIR)/ekkod
	install -m 755 $(BUILD)/ekko $(DESTDIR)$(BINDIR)/ekko
	# the installed config keeps a pid file in the unit's /run/ekko, for
	# "ekkod -s" and the unit's ExecReload
	test -e $(DESTDIR)$(SYSCONFDIR)/ekko/ekkod.conf || { \
	    sed 's,^pidfile = "";,pidfile = "/run/ekko/ekkod.pid";,' \
	    etc/ekkod.conf > $(DESTDIR)$(SYSCONFDIR)/ekko/ekkod.conf && \
	    chmod 644 $(DESTDIR)$(SYSCONFDIR)/ekko/ekkod.conf; }
	install -m 644 client/ekko.1 $(DESTDIR)$(MANDIR)/man1/ekko.1
	install -m 644 daemon/ekkod.conf.5 $(DESTDIR)$(MANDIR)/man5/ekkod.conf.5
	install -m 644 daemon/ekkod.8 $(DESTDIR)$(MANDIR)/man8/ekkod.8
	sed 's,@SBINDIR@,$(SBINDIR),g; s,@SYSCONFDIR@,$(SYSCONFDIR),g' \
	    systemd/ekkod.service > $(DESTDIR)$(UNITDIR)/ekkod.service
	chmod 644 $(DESTDIR)$(UNITDIR)/ekkod.service
	install -m 644 systemd/ekkod.socket $(DESTDIR)$(UNITDIR)/ekkod.socket
	install -m 644 systemd/ekko.sysusers $(DESTDIR)$(SYSUSERSDIR)/ekko.conf
	install -m 644 systemd/ekko.tmpfiles $(DESTDIR)$(TMPFILESDIR)/ekko.conf

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard mk/*.mk)
# only obj/ has them (build/ also holds check-systemd's root, with its *.d dirs)
-include $(shell find $(BUILD)/obj -name '*.d' -type f 2>/dev/null)
