/*
 * test_config.c -- the daemon's config loader (config_load_string):
 * built-in defaults, every key with a valid value, unknown keys, wrong
 * types, ranges at both ends, listener rules (mode/framing, fixed,
 * delimiter, duplicates, IPv6), CIDR lists, and that every error of a
 * text is reported with its line.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ekkod.h"
#include "tap.h"
#include "util.h"

#define NAME	"t.conf"

static struct config_errors errs;

/* Load text; errs holds this load's errors only. */
static struct config *
load(const char *text)
{
	config_errors_free(&errs);
	return config_load_string(text, NAME, &errs);
}

/* Load a text built from a format. */
static struct config * __attribute__((format(printf, 1, 2)))
loadf(const char *fmt, ...)
{
	static char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return load(text);
}

/* Is there an error that is exactly "t.conf:LINE: msg"? */
static int
has_err(int line, const char *msg)
{
	char want[1024];
	int i;

	snprintf(want, sizeof(want), "%s:%d: %s", NAME, line, msg);
	for (i = 0; i < errs.n; i++)
		if (strcmp(errs.msgs[i], want) == 0)
			return 1;
	return 0;
}

/* Is there an error containing msg (any line)? */
static int
has_err_part(const char *msg)
{
	int i;

	for (i = 0; i < errs.n; i++)
		if (strstr(errs.msgs[i], msg) != NULL)
			return 1;
	return 0;
}

/* Print the errors of the last load as TAP comments (for diagnosis). */
static void
show_errs(void)
{
	int i;

	for (i = 0; i < errs.n; i++)
		printf("# error: %s\n", errs.msgs[i]);
}

/* Does the 16-byte form of numeric address s match a CIDR list? */
static int
list_matches(const struct cidr *list, size_t n, const char *s)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	uint8_t a[16];

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		if (cidr_addr_of((struct sockaddr *)&sin, a) == -1)
			return -1;
	} else if (inet_pton(AF_INET6, s, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		if (cidr_addr_of((struct sockaddr *)&sin6, a) == -1)
			return -1;
	} else
		return -1;
	return cidr_match_list(list, n, a);
}

/* The port of a parsed listener address. */
static int
addr_port(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return -1;
}

/* Check a config against SPEC section 5's defaults. */
static void
check_defaults(const struct config *cf, const char *how, int finished)
{
	const struct listener_conf *l;

	TAP_OK(cf != NULL, "%s: a config", how);
	if (cf == NULL)
		return;
	TAP_OK(cf->workers == 2 && !cf->workers_auto, "%s: workers = 2", how);
	TAP_OK(cf->user[0] == '\0' && cf->group[0] == '\0',
	    "%s: user and group empty", how);
	TAP_OK(cf->pidfile[0] == '\0', "%s: no pidfile", how);
	TAP_OK(cf->shutdown_timeout == 10, "%s: shutdown_timeout = 10", how);
	TAP_OK(cf->worker_timeout == 30, "%s: worker_timeout = 30", how);
	TAP_OK(cf->drain_delay == 0, "%s: drain_delay = 0", how);
	TAP_OK(cf->log_facility == LOG_DAEMON, "%s: log.facility daemon",
	    how);
	TAP_OK(cf->log_level == LOG_INFO, "%s: log.level info", how);
	TAP_OK(strcmp(cf->log_ident, "ekkod") == 0, "%s: log.ident ekkod",
	    how);
	TAP_OK(cf->limits.max_connections == 10000,
	    "%s: limits.max_connections = 10000", how);
	TAP_OK(cf->limits.per_ip_connections == 0,
	    "%s: limits.per_ip_connections = 0", how);
	TAP_OK(cf->limits.max_frame == 1048576,
	    "%s: limits.max_frame = 1048576", how);
	TAP_OK(cf->limits.idle_timeout == 300, "%s: limits.idle_timeout = 300",
	    how);
	TAP_OK(cf->limits.frame_timeout == 30, "%s: limits.frame_timeout = 30",
	    how);
	TAP_OK(cf->limits.write_timeout == 30, "%s: limits.write_timeout = 30",
	    how);
	TAP_OK(cf->limits.max_output == 4194304,
	    "%s: limits.max_output = 4194304", how);
	TAP_OK(cf->tcp.nodelay == 1 && cf->tcp.keepalive == 1,
	    "%s: tcp.nodelay and tcp.keepalive true", how);
	TAP_OK(cf->tcp.backlog == 511, "%s: tcp.backlog = 511", how);
	TAP_OK(cf->tcp.rcvbuf == 0 && cf->tcp.sndbuf == 0,
	    "%s: tcp.rcvbuf and tcp.sndbuf 0", how);
	TAP_OK(cf->tcp.reuseport == 0, "%s: tcp.reuseport false", how);
	TAP_OK(cf->nadmin == 2, "%s: admin_allow has 2 blocks", how);
	TAP_OK(list_matches(cf->admin_allow, cf->nadmin, "127.0.0.1") == 1 &&
	    list_matches(cf->admin_allow, cf->nadmin, "127.255.0.9") == 1 &&
	    list_matches(cf->admin_allow, cf->nadmin, "::1") == 1,
	    "%s: admin_allow lets in 127.0.0.0/8 and ::1", how);
	TAP_OK(list_matches(cf->admin_allow, cf->nadmin, "10.0.0.1") == 0 &&
	    list_matches(cf->admin_allow, cf->nadmin, "::2") == 0,
	    "%s: admin_allow keeps out 10.0.0.1 and ::2", how);
	TAP_OK(cf->nlisteners == 2, "%s: two listeners", how);
	if (cf->nlisteners != 2)
		return;
	l = &cf->listeners[0];
	TAP_OK(strcmp(l->address, "0.0.0.0") == 0 && l->port == 8888 &&
	    l->mode == MODE_ECHO && l->framer.kind == FRAMING_RAW &&
	    l->addr.ss.ss_family == AF_INET && addr_port(&l->addr) == 8888,
	    "%s: listener 0.0.0.0:8888 echo raw", how);
	TAP_OK(l->nallow == 0 && l->ndeny == 0,
	    "%s: listener 0 without allow/deny", how);
	l = &cf->listeners[1];
	TAP_OK(strcmp(l->address, "127.0.0.1") == 0 && l->port == 8889 &&
	    l->mode == MODE_COMMAND && l->framer.kind == FRAMING_LENGTH &&
	    l->addr.ss.ss_family == AF_INET && addr_port(&l->addr) == 8889,
	    "%s: listener 127.0.0.1:8889 command length", how);
	if (finished) {
		size_t i;
		int ok = 1;

		for (i = 0; i < cf->nlisteners; i++)
			if (cf->listeners[i].framer.max_frame != 1048576)
				ok = 0;
		TAP_OK(ok, "%s: the listeners' framers get max_frame 1048576",
		    how);
	}
}

static void
test_defaults(void)
{
	struct config *cf;

	/*
	 * config_defaults() is what ekkod runs on with no config file at
	 * all, so it must be as complete as a loaded empty file: framers
	 * included.
	 */
	cf = config_defaults();
	check_defaults(cf, "config_defaults()", 1);
	config_free(cf);

	cf = load("");
	check_defaults(cf, "empty text", 1);
	TAP_OK(errs.n == 0, "empty text: no errors");
	TAP_OK(cf != NULL && cf->path != NULL && strcmp(cf->path, NAME) == 0,
	    "empty text: path is the name given");
	config_free(cf);

	cf = load("# only a comment\n\n// and another\n");
	check_defaults(cf, "comments only", 1);
	config_free(cf);
}

/* A text that sets every key, each to a valid non-default value. */
static const char every_key[] =
    "workers = 3;\n"						/* 1 */
    "user = \"nobody\";\n"
    "group = \"nogroup\";\n"
    "pidfile = \"/run/ekko/ekkod.pid\";\n"
    "shutdown_timeout = 7;\n"					/* 5 */
    "worker_timeout = 9;\n"
    "log = { facility = \"local3\"; level = \"debug\"; ident = \"ek\"; };\n"
    "limits = {\n"
    "  max_connections = 123;\n"
    "  per_ip_connections = 4;\n"				/* 10 */
    "  max_frame = 65536;\n"
    "  idle_timeout = 11;\n"
    "  frame_timeout = 12;\n"
    "  write_timeout = 13;\n"
    "  max_output = 2048;\n"					/* 15 */
    "};\n"
    "tcp = { nodelay = false; keepalive = false; backlog = 128;\n"
    "        rcvbuf = 8192; sndbuf = 16384; reuseport = true; };\n"
    "admin_allow = [ \"10.0.0.0/8\", \"fd00::/8\", \"192.168.1.7\" ];\n"
    "listeners = (\n"						/* 20 */
    "  { address = \"127.0.0.1\"; port = 7001; mode = \"echo\";\n"
    "    framing = \"line\"; delimiter = \"\\r\\n\";\n"
    "    allow = [ \"127.0.0.0/8\" ]; deny = [ \"127.0.0.9/32\" ]; },\n"
    "  { address = \"::1\"; port = 7002; mode = \"echo\";\n"
    "    framing = \"fixed\"; frame_size = 16; },\n"		/* 25 */
    "  { address = \"0.0.0.0\"; port = 7003; mode = \"command\";\n"
    "    framing = \"length\"; },\n"
    "  { address = \"::\"; port = 7004; mode = \"command\";\n"
    "    framing = \"line\"; },\n"
    "  { address = \"127.0.0.2\"; port = 7005; }\n"		/* 30 */
    ");\n";

static void
test_every_key(void)
{
	struct config *cf = load(every_key);
	const struct listener_conf *l;

	show_errs();
	TAP_OK(cf != NULL && errs.n == 0, "every key: accepted, no errors");
	if (cf == NULL)
		return;
	TAP_OK(cf->workers == 3 && !cf->workers_auto, "workers = 3");
	TAP_OK(strcmp(cf->user, "nobody") == 0, "user");
	TAP_OK(strcmp(cf->group, "nogroup") == 0, "group");
	TAP_OK(strcmp(cf->pidfile, "/run/ekko/ekkod.pid") == 0, "pidfile");
	TAP_OK(cf->shutdown_timeout == 7, "shutdown_timeout");
	TAP_OK(cf->worker_timeout == 9, "worker_timeout");
	TAP_OK(cf->log_facility == LOG_LOCAL3, "log.facility local3");
	TAP_OK(cf->log_level == LOG_DEBUG, "log.level debug");
	TAP_OK(strcmp(cf->log_ident, "ek") == 0, "log.ident");
	TAP_OK(cf->limits.max_connections == 123, "limits.max_connections");
	TAP_OK(cf->limits.per_ip_connections == 4,
	    "limits.per_ip_connections");
	TAP_OK(cf->limits.max_frame == 65536, "limits.max_frame");
	TAP_OK(cf->limits.idle_timeout == 11, "limits.idle_timeout");
	TAP_OK(cf->limits.frame_timeout == 12, "limits.frame_timeout");
	TAP_OK(cf->limits.write_timeout == 13, "limits.write_timeout");
	TAP_OK(cf->limits.max_output == 2048, "limits.max_output");
	TAP_OK(cf->tcp.nodelay == 0, "tcp.nodelay false");
	TAP_OK(cf->tcp.keepalive == 0, "tcp.keepalive false");
	TAP_OK(cf->tcp.backlog == 128, "tcp.backlog");
	TAP_OK(cf->tcp.rcvbuf == 8192, "tcp.rcvbuf");
	TAP_OK(cf->tcp.sndbuf == 16384, "tcp.sndbuf");
	TAP_OK(cf->tcp.reuseport == 1, "tcp.reuseport true");
	TAP_OK(cf->nadmin == 3, "admin_allow: 3 blocks");
	TAP_OK(list_matches(cf->admin_allow, cf->nadmin, "10.9.8.7") == 1 &&
	    list_matches(cf->admin_allow, cf->nadmin, "fd12::1") == 1 &&
	    list_matches(cf->admin_allow, cf->nadmin, "192.168.1.7") == 1,
	    "admin_allow: its blocks match");
	TAP_OK(list_matches(cf->admin_allow, cf->nadmin, "127.0.0.1") == 0 &&
	    list_matches(cf->admin_allow, cf->nadmin, "192.168.1.8") == 0 &&
	    list_matches(cf->admin_allow, cf->nadmin, "::1") == 0,
	    "admin_allow replaces the default (127.0.0.1, ::1 now out)");
	TAP_OK(cf->nlisteners == 5, "listeners: 5 (defaults replaced)");
	if (cf->nlisteners != 5) {
		config_free(cf);
		return;
	}
	l = &cf->listeners[0];
	TAP_OK(l->port == 7001 && l->mode == MODE_ECHO &&
	    l->framer.kind == FRAMING_LINE && l->framer.delim_len == 2 &&
	    memcmp(l->framer.delim, "\r\n", 2) == 0,
	    "listener 0: echo, line, delimiter CR LF");
	TAP_OK(l->framer.max_frame == 65536,
	    "listener 0: framer max_frame from limits");
	TAP_OK(l->nallow == 1 && l->ndeny == 1, "listener 0: allow and deny");
	TAP_OK(list_matches(l->allow, l->nallow, "127.3.3.3") == 1 &&
	    list_matches(l->deny, l->ndeny, "127.0.0.9") == 1 &&
	    list_matches(l->deny, l->ndeny, "127.0.0.8") == 0,
	    "listener 0: allow/deny blocks parsed");
	l = &cf->listeners[1];
	TAP_OK(strcmp(l->address, "::1") == 0 &&
	    l->addr.ss.ss_family == AF_INET6 && addr_port(&l->addr) == 7002,
	    "listener 1: IPv6 ::1, port 7002");
	TAP_OK(l->framer.kind == FRAMING_FIXED && l->framer.frame_size == 16,
	    "listener 1: fixed, frame_size 16");
	l = &cf->listeners[2];
	TAP_OK(l->mode == MODE_COMMAND && l->framer.kind == FRAMING_LENGTH &&
	    l->addr.ss.ss_family == AF_INET, "listener 2: command, length");
	l = &cf->listeners[3];
	TAP_OK(l->mode == MODE_COMMAND && l->framer.kind == FRAMING_LINE &&
	    l->addr.ss.ss_family == AF_INET6 && l->framer.delim_len == 1 &&
	    l->framer.delim[0] == '\n',
	    "listener 3: [::], command, line with the default delimiter");
	l = &cf->listeners[4];
	TAP_OK(l->mode == MODE_ECHO && l->framer.kind == FRAMING_RAW &&
	    l->port == 7005, "listener 4: mode and framing default to echo raw");
	config_free(cf);

	/* Booleans and the other listener names, each once more. */
	cf = load("tcp = { nodelay = true; keepalive = true; "
	    "reuseport = false; };\n"
	    "log = { level = \"warning\"; facility = \"user\"; };\n");
	TAP_OK(cf != NULL && cf->tcp.nodelay == 1 && cf->tcp.keepalive == 1 &&
	    cf->tcp.reuseport == 0 && cf->log_level == LOG_WARNING &&
	    cf->log_facility == LOG_USER, "tcp true/false, log warning/user");
	config_free(cf);

	/* A 64-bit integer literal within range is fine. */
	cf = load("limits = { max_frame = 4096L; };\n");
	TAP_OK(cf != NULL && cf->limits.max_frame == 4096,
	    "a 64-bit literal (4096L) within range is accepted");
	config_free(cf);
}

static void
test_workers(void)
{
	struct config *cf;
	int cpus = proc_cpu_count();

	cf = load("workers = \"auto\";\n");
	TAP_OK(cf != NULL && cf->workers_auto == 1 &&
	    cf->workers == (cpus > MAX_WORKERS ? MAX_WORKERS : cpus),
	    "workers = \"auto\": one per CPU (%d)", cpus);
	config_free(cf);

	cf = load("workers = \"many\";\n");
	TAP_OK(cf == NULL && errs.n == 1 &&
	    has_err(1, "workers: expected an integer >= 1 or \"auto\""),
	    "workers = \"many\": error");
	config_free(cf);

	cf = load("workers = \"AUTO\";\n");
	TAP_OK(cf == NULL && errs.n == 1, "workers = \"AUTO\": error "
	    "(exact word)");
	config_free(cf);

	cf = load("\nworkers = 2.5;\n");
	TAP_OK(cf == NULL && errs.n == 1 &&
	    has_err(2, "workers: expected an integer"),
	    "workers = 2.5: error on line 2");
	config_free(cf);

	cf = load("workers = true;\n");
	TAP_OK(cf == NULL && errs.n == 1, "workers = true: error");
	config_free(cf);
}

/* A range check: the text around the value, its name, bounds, getter. */
struct range {
	const char	*fmt;		/* one %ld */
	const char	*what;		/* name in the message */
	long		 min, max;
	long		(*get)(const struct config *);
};

#define GETTER(name, expr)						\
static long								\
get_##name(const struct config *cf)					\
{									\
	return (long)(expr);						\
}

GETTER(workers, cf->workers)
GETTER(shutdown_timeout, cf->shutdown_timeout)
GETTER(worker_timeout, cf->worker_timeout)
GETTER(drain_delay, cf->drain_delay)
GETTER(max_connections, cf->limits.max_connections)
GETTER(per_ip_connections, cf->limits.per_ip_connections)
GETTER(max_frame, cf->limits.max_frame)
GETTER(idle_timeout, cf->limits.idle_timeout)
GETTER(frame_timeout, cf->limits.frame_timeout)
GETTER(write_timeout, cf->limits.write_timeout)
GETTER(max_output, cf->limits.max_output)
GETTER(backlog, cf->tcp.backlog)
GETTER(rcvbuf, cf->tcp.rcvbuf)
GETTER(sndbuf, cf->tcp.sndbuf)
GETTER(port, cf->nlisteners == 1 ? cf->listeners[0].port : -1)
GETTER(frame_size, cf->nlisteners == 1 ?
    (long)cf->listeners[0].framer.frame_size : -1)

#define YEAR	(86400L * 365)

static const struct range ranges[] = {
	{ "workers = %ld;", "workers", 1, MAX_WORKERS, get_workers },
	{ "shutdown_timeout = %ld;", "shutdown_timeout", 0, 3600,
	    get_shutdown_timeout },
	{ "worker_timeout = %ld;", "worker_timeout", 2, 3600,
	    get_worker_timeout },
	{ "drain_delay = %ld;", "drain_delay", 0, 3600, get_drain_delay },
	{ "limits = { max_connections = %ld; };", "limits.max_connections",
	    1, 10000000, get_max_connections },
	{ "limits = { per_ip_connections = %ld; };",
	    "limits.per_ip_connections", 0, 10000000, get_per_ip_connections },
	{ "limits = { max_frame = %ld; };", "limits.max_frame", 1, 256L << 20,
	    get_max_frame },
	{ "limits = { idle_timeout = %ld; };", "limits.idle_timeout", 0, YEAR,
	    get_idle_timeout },
	{ "limits = { frame_timeout = %ld; };", "limits.frame_timeout", 0,
	    YEAR, get_frame_timeout },
	{ "limits = { write_timeout = %ld; };", "limits.write_timeout", 0,
	    YEAR, get_write_timeout },
	{ "limits = { max_output = %ld; };", "limits.max_output", 1024,
	    1L << 30, get_max_output },
	{ "tcp = { backlog = %ld; };", "tcp.backlog", 1, 65535, get_backlog },
	{ "tcp = { rcvbuf = %ld; };", "tcp.rcvbuf", 0, 64L << 20, get_rcvbuf },
	{ "tcp = { sndbuf = %ld; };", "tcp.sndbuf", 0, 64L << 20, get_sndbuf },
	{ "listeners = ( { address = \"127.0.0.1\"; port = %ld; } );",
	    "listeners.[0].port",
	    1, 65535, get_port },
	{ "limits = { max_frame = 268435456; };\n"
	  "listeners = ( { address = \"127.0.0.1\"; port = 7000; "
	  "framing = \"fixed\"; frame_size = %ld; } );",
	    "listeners.[0].frame_size",
	    1, 256L << 20, get_frame_size },
};

static void
test_ranges(void)
{
	char msg[256];
	struct config *cf;
	size_t i;
	int line;

	for (i = 0; i < nitems(ranges); i++) {
		const struct range *r = &ranges[i];
		long ok[2] = { r->min, r->max };
		long bad[2] = { r->min - 1, r->max + 1 };
		int j;

		/* frame_size's test text has the listener on line 2. */
		line = strchr(r->fmt, '\n') != NULL ? 2 : 1;
		for (j = 0; j < 2; j++) {
			cf = loadf(r->fmt, ok[j]);
			show_errs();
			TAP_OK(cf != NULL && errs.n == 0 && r->get(cf) == ok[j],
			    "%s = %ld (%s) accepted", r->what, ok[j],
			    j ? "max" : "min");
			config_free(cf);
		}
		for (j = 0; j < 2; j++) {
			cf = loadf(r->fmt, bad[j]);
			snprintf(msg, sizeof(msg),
			    "%s: %ld is out of range (%ld..%ld)", r->what,
			    bad[j], r->min, r->max);
			show_errs();
			TAP_OK(cf == NULL && has_err(line, msg),
			    "%s = %ld (%s) refused: \"%s\"", r->what, bad[j],
			    j ? "max + 1" : "min - 1", msg);
			config_free(cf);
		}
	}

	/* Far out: negative, and past 32 bits. */
	cf = load("limits = { max_connections = -5; };\n");
	TAP_OK(cf == NULL && has_err(1, "limits.max_connections: -5 is out "
	    "of range (1..10000000)"), "max_connections = -5 refused");
	config_free(cf);
	cf = load("limits = { max_frame = 99999999999L; };\n");
	TAP_OK(cf == NULL && has_err(1, "limits.max_frame: 99999999999 is "
	    "out of range (1..268435456)"), "max_frame = 99999999999L refused");
	config_free(cf);
	cf = load("workers = 4294967298L;\n");
	TAP_OK(cf == NULL && errs.n == 1, "workers = 2^32 + 2 refused (no "
	    "truncation to 2)");
	config_free(cf);
	cf = load("listeners = ( { address = \"127.0.0.1\"; port = 65537L; "
	    "} );\n");
	TAP_OK(cf == NULL && has_err_part("listeners.[0].port: 65537 is out of range"),
	    "port = 65537L refused");
	config_free(cf);
}

/* An unknown key and the line where it sits. */
static const struct {
	const char	*text;
	int		 line;
	const char	*msg;
} unknown_keys[] = {
	{ "bogus = 1;\n", 1, "unknown key \"bogus\"" },
	{ "workers = 2;\n\nWorkers = 3;\n", 3, "unknown key \"Workers\"" },
	{ "limits = {\n  max_frame = 10;\n  max_frames = 10;\n};\n", 3,
	    "unknown key \"limits.max_frames\"" },
	{ "tcp = {\n  nodelay = true;\n  cork = true;\n};\n", 3,
	    "unknown key \"tcp.cork\"" },
	{ "log = { level = \"info\";\n  color = true; };\n", 2,
	    "unknown key \"log.color\"" },
	{ "listeners = (\n  { address = \"127.0.0.1\"; port = 7000;\n"
	  "    tls = true; }\n);\n", 3, "unknown key \"listeners.[0].tls\"" },
	{ "limits = { tcp = { nodelay = true; }; };\n", 1,
	    "unknown key \"limits.tcp\"" },
};

static void
test_unknown_keys(void)
{
	struct config *cf;
	size_t i;

	for (i = 0; i < nitems(unknown_keys); i++) {
		cf = load(unknown_keys[i].text);
		show_errs();
		TAP_OK(cf == NULL && errs.n == 1 &&
		    has_err(unknown_keys[i].line, unknown_keys[i].msg),
		    "%s on line %d", unknown_keys[i].msg, unknown_keys[i].line);
		config_free(cf);
	}
}

/* A wrong type and the message it gets. */
static const struct {
	const char	*text;
	const char	*msg;
} wrong_types[] = {
	{ "workers = [1];", "workers: expected an integer" },
	{ "user = 5;", "user: expected a string" },
	{ "group = true;", "group: expected a string" },
	{ "pidfile = 1.5;", "pidfile: expected a string" },
	{ "shutdown_timeout = \"10\";", "shutdown_timeout: expected an "
	    "integer" },
	{ "worker_timeout = 30.0;", "worker_timeout: expected an integer" },
	{ "log = 3;", "log: expected a group { ... }" },
	{ "log = { level = 7; };", "log.level: expected a string" },
	{ "log = { level = \"loud\"; };", "log.level: unknown level \"loud\" "
	    "(emerg, alert, crit, err, warning, notice, info, debug)" },
	{ "log = { facility = \"kern2\"; };", "log.facility: unknown "
	    "facility \"kern2\" (daemon, user, local0..local7)" },
	{ "log = { ident = 1; };", "log.ident: expected a string" },
	{ "limits = ( 1 );", "limits: expected a group { ... }" },
	{ "limits = { max_frame = \"1M\"; };", "limits.max_frame: expected "
	    "an integer" },
	{ "limits = { idle_timeout = 1.5; };", "limits.idle_timeout: "
	    "expected an integer" },
	{ "limits = { max_output = true; };", "limits.max_output: expected "
	    "an integer" },
	{ "tcp = \"fast\";", "tcp: expected a group { ... }" },
	{ "tcp = { nodelay = 1; };", "tcp.nodelay: expected true or false" },
	{ "tcp = { keepalive = \"yes\"; };", "tcp.keepalive: expected true "
	    "or false" },
	{ "tcp = { reuseport = 0; };", "tcp.reuseport: expected true or "
	    "false" },
	{ "tcp = { backlog = false; };", "tcp.backlog: expected an integer" },
	{ "admin_allow = \"127.0.0.1\";", "admin_allow: expected a list of "
	    "CIDR strings" },
	{ "admin_allow = [ 127 ];", "admin_allow: expected a string" },
	{ "listeners = 5;", "listeners: expected a list ( {...}, ... )" },
	{ "listeners = ( 5 );", "listeners.[0]: each listener is a group "
	    "{ address = ...; port = ...; }" },
	{ "listeners = ();", "listeners: need 1 to 64 listeners, not 0" },
	{ "listeners = ( { address = 127; port = 7000; } );", "listeners.[0].address: "
	    "expected a string" },
	{ "listeners = ( { address = \"127.0.0.1\"; port = \"7000\"; } );",
	    "listeners.[0].port: expected an integer" },
	{ "listeners = ( { address = \"127.0.0.1\"; port = 7000; mode = "
	    "\"mirror\"; } );", "listeners.[0].mode: unknown mode \"mirror\" (echo, "
	    "command, metrics, agent)" },
	{ "listeners = ( { address = \"127.0.0.1\"; port = 7000; framing = "
	    "\"chunked\"; } );", "listeners.[0].framing: unknown framing \"chunked\" (raw, "
	    "line, fixed, length)" },
	{ "listeners = ( { address = \"127.0.0.1\"; port = 7000; allow = "
	    "\"127.0.0.1\"; } );", "listeners.[0].allow: expected a list of CIDR strings" },
	{ "listeners = ( { address = \"127.0.0.1\"; port = 7000; deny = "
	    "[ \"300.0.0.1\" ]; } );", "listeners.[0].deny: invalid CIDR \"300.0.0.1\": "
	    "bad address" },
};

static void
test_wrong_types(void)
{
	struct config *cf;
	size_t i;

	for (i = 0; i < nitems(wrong_types); i++) {
		cf = load(wrong_types[i].text);
		show_errs();
		TAP_OK(cf == NULL && has_err(1, wrong_types[i].msg),
		    "%s -> \"%s\"", wrong_types[i].text, wrong_types[i].msg);
		config_free(cf);
	}
}

static void
test_strings(void)
{
	char big[600];
	struct config *cf;

	memset(big, 'u', 256);
	big[256] = '\0';
	cf = loadf("user = \"%s\";\n", big);
	TAP_OK(cf == NULL && has_err(1, "user: longer than 255 bytes"),
	    "user of 256 bytes refused");
	config_free(cf);
	big[255] = '\0';
	cf = loadf("user = \"%s\";\n", big);
	TAP_OK(cf != NULL && strlen(cf->user) == 255,
	    "user of 255 bytes accepted");
	config_free(cf);
}

static void
test_cidrs(void)
{
	struct config *cf;

	cf = load("admin_allow = [ \"10.0.0.0/33\" ];\n");
	TAP_OK(cf == NULL && errs.n == 1 && has_err(1, "admin_allow: invalid "
	    "CIDR \"10.0.0.0/33\": bad prefix length"),
	    "admin_allow 10.0.0.0/33: bad prefix length");
	config_free(cf);

	cf = load("admin_allow = [ \"::1/129\" ];\n");
	TAP_OK(cf == NULL && errs.n == 1 && has_err_part("invalid CIDR "
	    "\"::1/129\""), "admin_allow ::1/129 refused");
	config_free(cf);

	cf = load("admin_allow = [ \"localhost\" ];\n");
	TAP_OK(cf == NULL && errs.n == 1 && has_err_part("invalid CIDR "
	    "\"localhost\""), "admin_allow localhost refused (no names)");
	config_free(cf);

	/* A list ( ... ) works like an array [ ... ]. */
	cf = load("admin_allow = ( \"10.1.0.0/16\", \"2001:db8::/32\" );\n");
	TAP_OK(cf != NULL && cf->nadmin == 2 &&
	    list_matches(cf->admin_allow, cf->nadmin, "10.1.2.3") == 1 &&
	    list_matches(cf->admin_allow, cf->nadmin, "2001:db8::5") == 1 &&
	    list_matches(cf->admin_allow, cf->nadmin, "10.2.0.1") == 0,
	    "admin_allow as a list ( ... )");
	config_free(cf);

	/* An empty list: nobody is admin. */
	cf = load("admin_allow = [ ];\n");
	TAP_OK(cf != NULL && cf->nadmin == 0, "admin_allow = [ ]: nobody");
	config_free(cf);

	/* Two bad entries on two lines: both reported, each with its line. */
	cf = load("admin_allow = [\n  \"1.2.3.4/40\",\n  \"::1\",\n"
	    "  \"x/8\"\n];\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 2 &&
	    has_err_part("\"1.2.3.4/40\"") && has_err_part("\"x/8\""),
	    "two bad CIDRs in one list: both reported");
	config_free(cf);

	/* IPv6 allow on an IPv6 listener. */
	cf = load("listeners = ( { address = \"::1\"; port = 7000; "
	    "allow = [ \"::1/128\" ]; deny = [ \"::/0\", \"0.0.0.0/0\" ]; "
	    "} );\n");
	TAP_OK(cf != NULL && cf->listeners[0].nallow == 1 &&
	    cf->listeners[0].ndeny == 2 &&
	    list_matches(cf->listeners[0].allow, 1, "::1") == 1 &&
	    list_matches(cf->listeners[0].deny, 2, "::5") == 1 &&
	    list_matches(cf->listeners[0].deny, 2, "10.0.0.1") == 1,
	    "listener allow/deny with IPv6 blocks");
	config_free(cf);
}

static void
test_listeners(void)
{
	struct config *cf;

	/* Duplicate: same address and port, also spelt differently. */
	cf = load("listeners = (\n"
	    "  { address = \"127.0.0.1\"; port = 8888; },\n"
	    "  { address = \"127.0.0.1\"; port = 8889; },\n"
	    "  { address = \"127.0.0.1\"; port = 8888; mode = \"command\";\n"
	    "    framing = \"line\"; }\n"
	    ");\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 && has_err_part("listeners.[2]: "
	    "duplicate listener 127.0.0.1:8888 (also at line 2)"),
	    "duplicate listener 127.0.0.1:8888 reported with the first line");
	config_free(cf);

	cf = load("listeners = (\n"
	    "  { address = \"::1\"; port = 9000; },\n"
	    "  { address = \"0:0:0:0:0:0:0:1\"; port = 9000; }\n"
	    ");\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 && has_err_part("duplicate listener "
	    "[::1]:9000"), "duplicate IPv6 listener, two spellings of ::1");
	config_free(cf);

	/* Same port on different addresses, and same address other port. */
	cf = load("listeners = (\n"
	    "  { address = \"127.0.0.1\"; port = 9000; },\n"
	    "  { address = \"127.0.0.2\"; port = 9000; },\n"
	    "  { address = \"::1\"; port = 9000; },\n"
	    "  { address = \"127.0.0.1\"; port = 9001; }\n"
	    ");\n");
	TAP_OK(cf != NULL && cf->nlisteners == 4, "different address or "
	    "listeners.[0].port: not duplicates");
	config_free(cf);

	/* IPv6 addresses, with and without brackets. */
	cf = load("listeners = ( { address = \"::1\"; port = 9000; }, "
	    "{ address = \"fe80::1:2\"; port = 9001; } );\n");
	TAP_OK(cf != NULL && cf->listeners[0].addr.ss.ss_family == AF_INET6 &&
	    addr_port(&cf->listeners[0].addr) == 9000 &&
	    cf->listeners[1].addr.ss.ss_family == AF_INET6,
	    "IPv6 listener addresses");
	config_free(cf);

	/* Names are never resolved. */
	cf = load("listeners = ( { address = \"localhost\"; port = 9000; } );"
	    "\n");
	TAP_OK(cf == NULL && errs.n == 1 && has_err(1, "listeners.[0].address: \"localhost\" "
	    "is not a numeric IPv4 or IPv6 address"),
	    "address localhost refused");
	config_free(cf);
	/* One mistake, one message: not also "port is required". */
	cf = load("listeners = ( { address = \"127.0.0.1\"; port = 0; } );\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 && has_err(1, "listeners.[0].port: 0 is out of "
	    "range (1..65535)"), "port = 0: exactly one error");
	config_free(cf);
	cf = load("listeners = ( { address = \"1.2.3\"; port = 9000; } );\n");
	TAP_OK(cf == NULL && has_err_part("listeners.[0].address: \"1.2.3\" is not a "
	    "numeric"), "address 1.2.3 refused");
	config_free(cf);

	/* Required keys. */
	cf = load("listeners = ( { port = 9000; } );\n");
	TAP_OK(cf == NULL && has_err(1, "listeners.[0]: address is required"),
	    "listener without address");
	config_free(cf);
	cf = load("listeners = ( { address = \"127.0.0.1\"; } );\n");
	TAP_OK(cf == NULL && has_err(1, "listeners.[0]: port is required"),
	    "listener without port");
	config_free(cf);
}

/* A listener's mode/framing/frame_size/delimiter and the verdict. */
static const struct {
	const char	*keys;
	const char	*msg;		/* NULL: accepted */
} rules[] = {
	{ "mode = \"command\"; framing = \"length\";", NULL },
	{ "mode = \"agent\";", NULL },
	{ "mode = \"agent\"; allow = [ \"10.0.0.0/8\" ];", NULL },
	{ "mode = \"agent\"; framing = \"raw\";", "listeners.[0]: mode "
	    "\"agent\" takes no framing: it writes one line at accept and "
	    "closes" },
	{ "mode = \"agent\"; proxy_protocol = \"v2\"; proxy_allow = "
	    "[ \"127.0.0.1/32\" ];", "listeners.[0]: mode \"agent\" takes no "
	    "proxy_protocol: it answers at accept, before any header" },
	{ "mode = \"command\"; framing = \"line\";", NULL },
	{ "mode = \"command\"; framing = \"raw\";", "listeners.[0]: mode "
	    "\"command\" needs framing \"length\" or \"line\", not \"raw\"" },
	{ "mode = \"command\"; framing = \"fixed\"; frame_size = 8;",
	    "listeners.[0]: mode \"command\" needs framing \"length\" or \"line\", "
	    "not \"fixed\"" },
	{ "mode = \"command\";", "listeners.[0]: mode \"command\" needs framing "
	    "\"length\" or \"line\", not \"raw\"" },
	{ "framing = \"fixed\";", "listeners.[0]: framing \"fixed\" needs "
	    "frame_size" },
	{ "framing = \"fixed\"; frame_size = 1;", NULL },
	{ "framing = \"fixed\"; frame_size = 0;", "listeners.[0].frame_size: 0 is out of "
	    "range (1..268435456)" },
	{ "framing = \"line\"; frame_size = 8;", "listeners.[0]: frame_size is "
	    "only for framing \"fixed\"" },
	{ "framing = \"length\"; delimiter = \";\";", "listeners.[0]: delimiter "
	    "is only for framing \"line\"" },
	{ "delimiter = \";\";", "listeners.[0]: delimiter is only for framing "
	    "\"line\"" },
	{ "framing = \"line\"; delimiter = \"\";", "listeners.[0].delimiter: must not be "
	    "empty" },
	{ "framing = \"line\"; delimiter = \"0123456789abcdef\";", NULL },
	{ "framing = \"line\"; delimiter = \"0123456789abcdefg\";",
	    "listeners.[0].delimiter: longer than 16 bytes" },
	{ "framing = \"line\"; delimiter = 10;", "listeners.[0].delimiter: expected a "
	    "string" },
	{ "mode = \"command\"; framing = \"line\"; delimiter = \"\\r\\n\";",
	    NULL },
};

static void
test_listener_rules(void)
{
	struct config *cf;
	size_t i;

	for (i = 0; i < nitems(rules); i++) {
		cf = loadf("listeners = ( { address = \"127.0.0.1\"; port = "
		    "7000; %s } );\n", rules[i].keys);
		show_errs();
		if (rules[i].msg == NULL)
			TAP_OK(cf != NULL && errs.n == 0, "%s: accepted",
			    rules[i].keys);
		else
			TAP_OK(cf == NULL && has_err(1, rules[i].msg),
			    "%s -> \"%s\"", rules[i].keys, rules[i].msg);
		config_free(cf);
	}

	/* Line delimiter: 16 bytes kept exactly. */
	cf = load("listeners = ( { address = \"127.0.0.1\"; port = 7000; "
	    "framing = \"line\"; delimiter = \"0123456789abcdef\"; } );\n");
	TAP_OK(cf != NULL && cf->listeners[0].framer.delim_len == 16 &&
	    memcmp(cf->listeners[0].framer.delim, "0123456789abcdef", 16) == 0,
	    "a 16-byte delimiter is kept whole");
	config_free(cf);

	/* fixed: frame_size above max_frame, whichever comes first. */
	cf = load("listeners = ( { address = \"127.0.0.1\"; port = 7000; "
	    "framing = \"fixed\"; frame_size = 2000; } );\n"
	    "limits = { max_frame = 1999; };\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 && has_err_part("frame_size 2000 "
	    "exceeds limits.max_frame 1999"),
	    "frame_size 2000 > max_frame 1999 (limits after listeners)");
	/* FILE:LINE must name a real line: the listener's or max_frame's. */
	TAP_OK(cf == NULL && (has_err_part(NAME ":1: ") ||
	    has_err_part(NAME ":2: ")),
	    "frame_size > max_frame: the error names line 1 or 2, not 0");
	config_free(cf);
	cf = load("limits = { max_frame = 2000; };\n"
	    "listeners = ( { address = \"127.0.0.1\"; port = 7000; "
	    "framing = \"fixed\"; frame_size = 2000; } );\n");
	TAP_OK(cf != NULL && cf->listeners[0].framer.frame_size == 2000,
	    "frame_size = max_frame accepted");
	config_free(cf);
	cf = load("listeners = ( { address = \"127.0.0.1\"; port = 7000; "
	    "framing = \"fixed\"; frame_size = 1048577; } );\n");
	TAP_OK(cf == NULL && errs.n == 1 && has_err_part("frame_size 1048577 "
	    "exceeds limits.max_frame 1048576"),
	    "frame_size above the default max_frame refused");
	config_free(cf);
}

static void
test_many_errors(void)
{
	struct config *cf;

	cf = load(
	    "workers = 0;\n"					/* 1 */
	    "bogus = 1;\n"					/* 2 */
	    "limits = {\n"
	    "  max_frame = \"big\";\n"				/* 4 */
	    "  idle_timeout = -1;\n"				/* 5 */
	    "};\n"
	    "tcp = { nodelay = 1; };\n"				/* 7 */
	    "admin_allow = [ \"10.0.0.0/33\" ];\n"		/* 8 */
	    "log = { level = \"x\"; };\n"			/* 9 */
	    "listeners = (\n"
	    "  { address = \"localhost\"; port = 7000; },\n"	/* 11 */
	    "  { address = \"127.0.0.1\"; port = 7001;\n"
	    "    mode = \"command\"; framing = \"length\"; shiny = 1; }\n"
	    ");\n");
	show_errs();
	TAP_OK(cf == NULL, "several errors: no config");
	TAP_OK(errs.n >= 9, "several errors: at least 9 reported (got %d)",
	    errs.n);
	TAP_OK(has_err(1, "workers: 0 is out of range (1..256)"),
	    "several errors: workers on line 1");
	TAP_OK(has_err(2, "unknown key \"bogus\""),
	    "several errors: unknown key on line 2");
	TAP_OK(has_err(4, "limits.max_frame: expected an integer"),
	    "several errors: max_frame type on line 4");
	TAP_OK(has_err(5, "limits.idle_timeout: -1 is out of range "
	    "(0..31536000)"), "several errors: idle_timeout on line 5");
	TAP_OK(has_err(7, "tcp.nodelay: expected true or false"),
	    "several errors: tcp.nodelay on line 7");
	TAP_OK(has_err(8, "admin_allow: invalid CIDR \"10.0.0.0/33\": bad "
	    "prefix length"), "several errors: CIDR on line 8");
	TAP_OK(has_err_part("log.level: unknown level \"x\"") &&
	    has_err_part(":9: log.level"), "several errors: log.level on "
	    "line 9");
	TAP_OK(has_err(11, "listeners.[0].address: \"localhost\" is not a "
	    "numeric IPv4 or IPv6 address"), "several errors: address on line "
	    "11");
	TAP_OK(has_err(13, "unknown key \"listeners.[1].shiny\""),
	    "several errors: listener key on line 13");
	config_free(cf);

	/* Exactly as many errors as mistakes, in a text of three. */
	cf = load("workers = 999;\nshutdown_timeout = 4000;\n"
	    "worker_timeout = 1;\n");
	TAP_OK(cf == NULL && errs.n == 3 &&
	    has_err(1, "workers: 999 is out of range (1..256)") &&
	    has_err(2, "shutdown_timeout: 4000 is out of range (0..3600)") &&
	    has_err(3, "worker_timeout: 1 is out of range (2..3600)"),
	    "three mistakes: exactly three errors, each on its line");
	config_free(cf);

	/* Errors accumulate on the caller's list; nothing else is lost. */
	config_errors_free(&errs);
	cf = config_load_string("workers = 0;\n", NAME, &errs);
	config_free(cf);
	cf = config_load_string("bogus = 1;\n", NAME, &errs);
	TAP_OK(cf == NULL && errs.n == 2, "errors of two loads accumulate");
	config_free(cf);
}

static void
test_syntax(void)
{
	struct config *cf;

	cf = load("workers = 2;\nfoo bar;\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 && has_err(2, "syntax error"),
	    "syntax error reported as t.conf:2: syntax error");
	config_free(cf);

	cf = load("workers = 2;\nlimits = {\n  max_frame = 10;\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 &&
	    strncmp(errs.msgs[0], NAME ":", strlen(NAME) + 1) == 0,
	    "unclosed group: one error naming the file");
	config_free(cf);

	cf = load("workers = 2;\n\n\nuser = = \"x\";\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 && has_err(4, "syntax error"),
	    "user = = \"x\": syntax error on line 4");
	config_free(cf);

	cf = load("workers = 2;\nworkers = 3;\n");
	show_errs();
	TAP_OK(cf == NULL && errs.n == 1 && has_err_part(":2: "),
	    "a key set twice: refused, on line 2");
	config_free(cf);

	cf = load("user = \"unterminated;\n");
	TAP_OK(cf == NULL && errs.n == 1, "unterminated string refused");
	config_free(cf);
}

int
main(void)
{
	test_defaults();
	test_every_key();
	test_workers();
	test_ranges();
	test_unknown_keys();
	test_wrong_types();
	test_strings();
	test_cidrs();
	test_listeners();
	test_listener_rules();
	test_many_errors();
	test_syntax();
	config_errors_free(&errs);
	return TAP_DONE();
}
