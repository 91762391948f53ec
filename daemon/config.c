/*
 * config.c -- read, validate and default the configuration.
 *
 * libconfig parses; this file checks every key against one table, so an
 * unknown key, a wrong type or a value out of range is an error naming
 * file, line and the key's full path.  Each key is one row: its path,
 * type, where it lands, range and default.  The defaults are libconfig
 * text, walked by the same code as a config file, so the built-in
 * configuration and a file that spells it out can never differ.  Errors
 * are collected, not stopped at: "ekkod -t" and a refused reload report
 * all of them.  The same function serves -t, start and reload.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "util.h"

static key_fn	config_workers, config_log_facility, config_log_level;

static const char *const mode_names[] = { "echo", "command", "metrics",
    "agent", NULL };
/* in the order of enum framing */
static const char *const framing_names[] = { "raw", "line", "fixed",
    "length", NULL };
/* in the order of enum proxy_mode */
static const char *const proxy_names[] = { "off", "v1", "v2", "any", NULL };

/* Where a field lands, and its size: in struct config, in a listener. */
#define CF(f)	.off = offsetof(struct config, f),			\
		.size = sizeof(((struct config *)0)->f)
#define LF(f)	.off = offsetof(struct listener_conf, f),		\
		.size = sizeof(((struct listener_conf *)0)->f)
#define KEY(p, t)	.path = (p), .type = (t)
#define RANGE(lo, hi)	.min = (lo), .max = (hi)
#define YEAR		(86400L * 365)

static const struct key keys[] = {
	{ KEY("workers", KEY_FN), CF(workers), RANGE(1, MAX_WORKERS),
	    .def = "2", .fn = config_workers },
	{ KEY("user", KEY_STR), CF(user), .def = "\"\"" },
	{ KEY("group", KEY_STR), CF(group), .def = "\"\"" },
	{ KEY("pidfile", KEY_STR), CF(pidfile), .def = "\"\"" },
	{ KEY("shutdown_timeout", KEY_INT), CF(shutdown_timeout),
	    RANGE(0, 3600), .def = "10" },
	{ KEY("drain_delay", KEY_INT), CF(drain_delay), RANGE(0, 3600),
	    .def = "0" },
	/* Workers beat at least once a second; less than 2 s would race. */
	{ KEY("worker_timeout", KEY_INT), CF(worker_timeout), RANGE(2, 3600),
	    .def = "30" },
	{ KEY("log", KEY_GROUP) },
	{ KEY("log.facility", KEY_FN), CF(log_facility),
	    .def = "\"daemon\"", .fn = config_log_facility },
	{ KEY("log.level", KEY_FN), CF(log_level), .def = "\"info\"",
	    .fn = config_log_level },
	{ KEY("log.ident", KEY_STR), CF(log_ident), .def = "\"ekkod\"" },
	{ KEY("limits", KEY_GROUP) },
	{ KEY("limits.max_connections", KEY_INT), CF(limits.max_connections),
	    RANGE(1, 10000000), .def = "10000" },
	{ KEY("limits.per_ip_connections", KEY_INT),
	    CF(limits.per_ip_connections), RANGE(0, 10000000), .def = "0" },
	{ KEY("limits.max_frame", KEY_INT), CF(limits.max_frame),
	    RANGE(1, 256L << 20), .def = "1048576" },
	{ KEY("limits.idle_timeout", KEY_INT), CF(limits.idle_timeout),
	    RANGE(0, YEAR), .def = "300" },
	{ KEY("limits.frame_timeout", KEY_INT), CF(limits.frame_timeout),
	    RANGE(0, YEAR), .def = "30" },
	{ KEY("limits.write_timeout", KEY_INT), CF(limits.write_timeout),
	    RANGE(0, YEAR), .def = "30" },
	{ KEY("limits.max_output", KEY_INT), CF(limits.max_output),
	    RANGE(1024, 1L << 30), .def = "4194304" },
	{ KEY("limits.max_memory", KEY_INT), CF(limits.max_memory),
	    RANGE(1L << 20, 1L << 40), .def = "268435456" },
	{ KEY("tcp", KEY_GROUP) },
	{ KEY("tcp.nodelay", KEY_BOOL), CF(tcp.nodelay), .def = "true" },
	{ KEY("tcp.keepalive", KEY_BOOL), CF(tcp.keepalive), .def = "true" },
	{ KEY("tcp.backlog", KEY_INT), CF(tcp.backlog), RANGE(1, 65535),
	    .def = "511" },
	{ KEY("tcp.rcvbuf", KEY_INT), CF(tcp.rcvbuf), RANGE(0, 64 << 20),
	    .def = "0" },
	{ KEY("tcp.sndbuf", KEY_INT), CF(tcp.sndbuf), RANGE(0, 64 << 20),
	    .def = "0" },
	{ KEY("tcp.reuseport", KEY_BOOL), CF(tcp.reuseport), .def = "false" },
	{ KEY("admin_allow", KEY_CIDRS), CF(admin_allow),
	    .off2 = offsetof(struct config, nadmin),
	    .def = "[ \"127.0.0.0/8\", \"::1/128\" ]" },
	{ KEY("listeners", KEY_FN), RANGE(1, MAX_LISTENERS),
	    .def = "( { address = \"0.0.0.0\"; port = 8888; mode = \"echo\"; "
	    "framing = \"raw\"; }, { address = \"127.0.0.1\"; port = 8889; "
	    "mode = \"command\"; framing = \"length\"; } )",
	    .fn = config_listeners },
	{ KEY("listeners.address", KEY_FN), LF(address),
	    .fn = config_listener_address, .flags = KEY_REQUIRED },
	{ KEY("listeners.port", KEY_INT), LF(port), RANGE(1, 65535),
	    .flags = KEY_REQUIRED },
	{ KEY("listeners.mode", KEY_NAME), LF(mode), .def = "\"echo\"",
	    .names = mode_names, .noun = "mode" },
	{ KEY("listeners.framing", KEY_NAME), LF(framer.kind),
	    .def = "\"raw\"", .names = framing_names, .noun = "framing" },
	{ KEY("listeners.frame_size", KEY_INT), LF(framer.frame_size),
	    RANGE(1, 256L << 20) },
	{ KEY("listeners.delimiter", KEY_FN), LF(framer.delim),
	    RANGE(1, FRAME_DELIM_MAX), .def = "\"\\n\"",
	    .fn = config_listener_delimiter },
	{ KEY("listeners.allow", KEY_CIDRS), LF(allow),
	    .off2 = offsetof(struct listener_conf, nallow) },
	{ KEY("listeners.deny", KEY_CIDRS), LF(deny),
	    .off2 = offsetof(struct listener_conf, ndeny) },
	{ KEY("listeners.proxy_protocol", KEY_NAME), LF(proxy),
	    .def = "\"off\"", .names = proxy_names, .noun = "proxy_protocol" },
	{ KEY("listeners.proxy_allow", KEY_CIDRS), LF(proxy_allow),
	    .off2 = offsetof(struct listener_conf, nproxy_allow) },
};

_Static_assert(nitems(keys) <= 64, "cfgctx.seen has a bit a row");

/* The whole table, for the walker and for the documentation's test. */
const struct key *
config_keys(size_t *n)
{
	*n = nitems(keys);
	return keys;
}

/* The row of a path ("limits.max_frame", "listeners.port"), or NULL. */
const struct key *
config_key(const char *path)
{
	size_t i;

	for (i = 0; i < nitems(keys); i++)
		if (strcmp(keys[i].path, path) == 0)
			return &keys[i];
	return NULL;
}

/* Was the key at path given in the listener being walked? */
int
config_seen(const struct cfgctx *x, const char *path)
{
	const struct key *k = config_key(path);

	return k != NULL && (x->seen & (1ULL << (k - keys))) != 0;
}

/* Append one formatted message to the error list. */
static void __attribute__((format(printf, 2, 3)))
config_errors_add(struct config_errors *e, const char *fmt, ...)
{
	char *line, **msgs;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (r == -1)
		return;
	/* values are quoted back: none may drive the terminal it reaches */
	util_text_safe(line, (const uint8_t *)line, (size_t)r, 0);
	if ((msgs = realloc(e->msgs, sizeof(char *) * (e->n + 1))) == NULL) {
		free(line);
		return;
	}
	e->msgs = msgs;
	e->msgs[e->n++] = line;
}

/* Record "file:line: message" for a setting. */
void
config_error(struct cfgctx *x, config_setting_t *s, const char *fmt, ...)
{
	const char *file = NULL;
	char msg[512];
	int lineno = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL) {
		file = config_setting_source_file(s);
		lineno = config_setting_source_line(s);
	}
	config_errors_add(x->errs, "%s:%d: %s", file ? file : x->name, lineno,
	    msg);
}

/* Release collected messages. */
void
config_errors_free(struct config_errors *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = 0;
}

/* The config name of a mode. */
const char *
config_mode_name(enum mode m)
{
	return mode_names[m];
}

/* Fetch an integer setting within [min, max]; -1 after an error. */
static int
config_int(struct cfgctx *x, config_setting_t *s, const char *what,
    long min, long max, long *v)
{
	int t = config_setting_type(s);
	long long n;

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		config_error(x, s, "%s: expected an integer", what);
		return -1;
	}
	n = config_setting_get_int64(s);
	if (n < min || n > max) {
		config_error(x, s, "%s: %lld is out of range (%ld..%ld)",
		    what, n, min, max);
		return -1;
	}
	*v = (long)n;
	return 0;
}

/* Fetch a string setting that fits in len bytes; NULL after an error. */
const char *
config_str(struct cfgctx *x, config_setting_t *s, const char *what,
    size_t len)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_error(x, s, "%s: expected a string", what);
		return NULL;
	}
	v = config_setting_get_string(s);
	if (strlen(v) >= len) {
		config_error(x, s, "%s: longer than %zu bytes", what, len - 1);
		return NULL;
	}
	return v;
}

/* Store v in an int, long or size_t field of size bytes. */
static void
config_store(void *field, size_t size, long v)
{
	int i = (int)v;

	if (size == sizeof(int))
		memcpy(field, &i, sizeof(i));
	else if (size == sizeof(long))
		memcpy(field, &v, sizeof(v));
}

/* KEY_NAME: one of the row's names, stored as its index. */
static void
config_name(struct cfgctx *x, config_setting_t *s, const struct key *k,
    const char *what, void *field)
{
	char list[128] = "";
	const char *v;
	int i;

	if ((v = config_str(x, s, what, 32)) == NULL)
		return;
	for (i = 0; k->names[i] != NULL; i++) {
		if (strcmp(k->names[i], v) == 0) {
			config_store(field, k->size, i);
			return;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i ? ", " : "", k->names[i]);
	}
	config_error(x, s, "%s: unknown %s \"%s\" (%s)", what, k->noun, v,
	    list);
}

/* KEY_CIDRS: a list or array of CIDR strings into a new array. */
static void
config_cidrs(struct cfgctx *x, config_setting_t *s, const char *what,
    struct cidr **out, size_t *nout)
{
	int i, n, t = config_setting_type(s);
	char err[160];
	const char *v;

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		config_error(x, s, "%s: expected a list of CIDR strings", what);
		return;
	}
	n = config_setting_length(s);
	free(*out);
	*nout = 0;
	if ((*out = calloc((size_t)n + 1, sizeof(**out))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, i);

		if ((v = config_str(x, e, what, 64)) == NULL)
			continue;
		if (cidr_parse(v, &(*out)[*nout], err, sizeof(err)) == -1)
			config_error(x, e, "%s: %s", what, err);
		else
			(*nout)++;
	}
}

/* Set one key from its setting, by its row's type. */
static void
config_set(struct cfgctx *x, config_setting_t *s, const struct key *k,
    const char *what, void *base)
{
	char *field = (char *)base + k->off, scope[64];
	const char *v;
	long n;

	switch (k->type) {
	case KEY_GROUP:
		snprintf(scope, sizeof(scope), "%s.", k->path);
		config_walk(x, s, scope, scope, base);
		break;
	case KEY_INT:
		if (config_int(x, s, what, k->min, k->max, &n) == 0)
			config_store(field, k->size, n);
		break;
	case KEY_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			config_error(x, s, "%s: expected true or false", what);
		else
			config_store(field, k->size,
			    config_setting_get_bool(s));
		break;
	case KEY_STR:
		if ((v = config_str(x, s, what, k->size)) != NULL)
			util_strlcpy(field, v, k->size);
		break;
	case KEY_NAME:
		config_name(x, s, k, what, field);
		break;
	case KEY_CIDRS:
		config_cidrs(x, s, what, (struct cidr **)(void *)field,
		    (size_t *)(void *)((char *)base + k->off2));
		break;
	case KEY_FN:
		k->fn(x, s, what, base);
		break;
	}
}

/*
 * Walk the members of group g through the table: scope is the path of
 * the group's rows ("", "log.", "listeners."), where the same for
 * messages ("listeners.[2]."), base the struct the rows land in.
 */
void
config_walk(struct cfgctx *x, config_setting_t *g, const char *scope,
    const char *where, void *base)
{
	char path[128], what[128];
	const struct key *k;
	int i, n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_error(x, g, "%.*s: expected a group { ... }",
		    (int)strlen(where) - 1, where);
		return;
	}
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);

		snprintf(path, sizeof(path), "%s%s", scope, name);
		snprintf(what, sizeof(what), "%s%s", where, name);
		if ((k = config_key(path)) == NULL) {
			config_error(x, s, "unknown key \"%s\"", what);
			continue;
		}
		x->seen |= 1ULL << (k - keys);
		config_set(x, s, k, what, base);
	}
}

/*
 * The defaults of the rows in scope ("" for the root with its groups,
 * "listeners." for one listener) as libconfig text.
 */
void
config_default_text(const char *scope, char *buf, size_t len)
{
	size_t i, sl = strlen(scope), off = 0;
	const char *name, *open = NULL;

	buf[0] = '\0';
	for (i = 0; i < nitems(keys) && off < len; i++) {
		const struct key *k = &keys[i];

		if (strncmp(k->path, scope, sl) != 0 || (sl == 0 &&
		    strncmp(k->path, LISTENER_SCOPE, strlen(LISTENER_SCOPE))
		    == 0))
			continue;
		name = k->path + sl;
		if (open != NULL && strncmp(name, open, strlen(open)) != 0) {
			off += (size_t)snprintf(buf + off, len - off, "}; ");
			open = NULL;
		}
		if (k->type == KEY_GROUP) {
			off += (size_t)snprintf(buf + off, len - off,
			    "%s = { ", name);
			open = name;
		} else if (k->def != NULL)
			off += (size_t)snprintf(buf + off, len - off,
			    "%s = %s; ", strrchr(name, '.') ?
			    strrchr(name, '.') + 1 : name, k->def);
	}
	if (open != NULL && off < len)
		snprintf(buf + off, len - off, "}; ");
}

/* workers = N | "auto" */
static void
config_workers(struct cfgctx *x, config_setting_t *s, const char *what,
    void *base)
{
	struct config *cf = base;
	long v;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (strcmp(config_setting_get_string(s), "auto") != 0) {
			config_error(x, s, "%s: expected an integer >= 1 or "
			    "\"auto\"", what);
			return;
		}
		cf->workers_auto = 1;
		cf->workers = proc_cpu_count();
		if (cf->workers > MAX_WORKERS)
			cf->workers = MAX_WORKERS;
		return;
	}
	if (config_int(x, s, what, 1, MAX_WORKERS, &v) == 0) {
		cf->workers = (int)v;
		cf->workers_auto = 0;
	}
}

static void
config_log_facility(struct cfgctx *x, config_setting_t *s, const char *what,
    void *base)
{
	struct config *cf = base;
	const char *v;
	int f;

	if ((v = config_str(x, s, what, 32)) == NULL)
		return;
	if ((f = log_facility_from_name(v)) == -1)
		config_error(x, s, "%s: unknown facility \"%s\" (daemon, "
		    "user, local0..local7)", what, v);
	else
		cf->log_facility = f;
}

static void
config_log_level(struct cfgctx *x, config_setting_t *s, const char *what,
    void *base)
{
	struct config *cf = base;
	const char *v;
	int l;

	if ((v = config_str(x, s, what, 32)) == NULL)
		return;
	if ((l = log_level_from_name(v)) == -1)
		config_error(x, s, "%s: unknown level \"%s\" (emerg, alert, "
		    "crit, err, warning, notice, info, debug)", what, v);
	else
		cf->log_level = l;
}

/* Values that follow from other keys, settled after the walk. */
static void
config_settle(struct config *cf)
{
	size_t i;

	for (i = 0; i < cf->nlisteners; i++) {
		cf->listeners[i].framer.max_frame =
		    (size_t)cf->limits.max_frame;
		if (cf->listeners[i].mode == MODE_METRICS)
			config_listener_http(&cf->listeners[i]);
	}
}

/*
 * Walk libconfig text (the defaults) onto base; -1 if it does not
 * parse or walk cleanly, which would be a bug in the table.
 */
int
config_walk_text(struct cfgctx *x, const char *text, const char *scope,
    const char *where, void *base)
{
	config_t lc;
	int before = x->errs->n, r = -1;

	config_init(&lc);
	if (config_read_string(&lc, text) == CONFIG_TRUE) {
		config_walk(x, config_root_setting(&lc), scope, where, base);
		r = x->errs->n > before ? -1 : 0;
	}
	config_destroy(&lc);
	return r;
}

/* The built-in configuration of SPEC section 5: the table's defaults. */
struct config *
config_defaults(void)
{
	struct config_errors errs = { 0, NULL };
	struct cfgctx x = { .name = "(built-in defaults)", .errs = &errs };
	char text[2048];

	if ((x.cf = calloc(1, sizeof(*x.cf))) == NULL)
		return NULL;
	config_default_text("", text, sizeof(text));
	if (config_walk_text(&x, text, "", "", x.cf) == -1) {
		config_errors_free(&errs);
		config_free(x.cf);
		return NULL;
	}
	config_settle(x.cf);
	return x.cf;
}

/* Release a configuration. */
void
config_free(struct config *cf)
{
	size_t i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nlisteners; i++) {
		free(cf->listeners[i].allow);
		free(cf->listeners[i].deny);
		free(cf->listeners[i].proxy_allow);
	}
	free(cf->listeners);
	free(cf->admin_allow);
	free(cf->path);
	free(cf);
}

/* Checks across keys, once all are read. */
static void
config_check(struct cfgctx *x, config_setting_t *root)
{
	struct config *cf = x->cf;
	size_t i;

	for (i = 0; i < cf->nlisteners; i++) {
		struct framer *f = &cf->listeners[i].framer;

		if (f->kind == FRAMING_FIXED &&
		    f->frame_size > (size_t)cf->limits.max_frame)
			config_errors_add(x->errs, "%s:%d: listeners.[%zu]: "
			    "frame_size %zu exceeds limits.max_frame %ld",
			    config_setting_source_file(root) ?
			    config_setting_source_file(root) : x->name,
			    cf->listeners[i].line, i, f->frame_size,
			    cf->limits.max_frame);
	}
	/* Dropping to a group but not a user would leave uid 0: refuse. */
	if (cf->group[0] != '\0' && cf->user[0] == '\0')
		config_error(x, config_setting_get_member(root, "group"),
		    "group: \"%s\" is set without user: ekkod would keep "
		    "running as root; set user too", cf->group);
}

/* Validate a parsed libconfig tree into a new config. */
static struct config *
config_build(config_t *lc, const char *name, struct config_errors *errs)
{
	struct cfgctx x = { .name = name, .errs = errs };
	config_setting_t *root = config_root_setting(lc);
	int before = errs->n;

	if ((x.cf = config_defaults()) == NULL)
		return NULL;
	if ((x.cf->path = strdup(name)) == NULL) {
		config_free(x.cf);
		return NULL;
	}
	config_walk(&x, root, "", "", x.cf);
	config_settle(x.cf);
	config_check(&x, root);
	if (errs->n > before) {
		config_free(x.cf);
		return NULL;
	}
	return x.cf;
}

/* Record a libconfig syntax error. */
static void
config_syntax_error(config_t *lc, const char *name,
    struct config_errors *errs)
{
	const char *file = config_error_file(lc);

	config_errors_add(errs, "%s:%d: %s", file ? file : name,
	    config_error_line(lc), config_error_text(lc));
}

/* Parse a config held in memory (tests, fuzzing). */
struct config *
config_load_string(const char *text, const char *name,
    struct config_errors *errs)
{
	struct config *cf = NULL;
	config_t lc;

	config_init(&lc);
	if (config_read_string(&lc, text) == CONFIG_FALSE)
		config_syntax_error(&lc, name, errs);
	else
		cf = config_build(&lc, name, errs);
	config_destroy(&lc);
	return cf;
}

/* Parse and validate a config file; NULL with errs filled on failure. */
struct config *
config_load_file(const char *path, struct config_errors *errs)
{
	struct config *cf = NULL;
	config_t lc;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		config_errors_add(errs, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	config_init(&lc);
	if (config_read(&lc, fp) == CONFIG_FALSE)
		config_syntax_error(&lc, path, errs);
	else
		cf = config_build(&lc, path, errs);
	config_destroy(&lc);
	fclose(fp);
	return cf;
}
