/*
 * config.c -- read, validate and default the configuration.
 *
 * libconfig parses; this file checks every key against a table, so an
 * unknown key, a wrong type or a value out of range is an error naming
 * file and line.  Errors are collected, not stopped at: "ekkod -t" and a
 * refused reload report all of them.  The same function serves -t, start
 * and reload, so they can never disagree.
 */
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ekkod.h"
#include "util.h"

struct key {
	const char	*name;
	void		(*fn)(struct cfgctx *, config_setting_t *);
};

static void	config_walk(struct cfgctx *, config_setting_t *,
		    const struct key *, const char *);

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
	return m == MODE_ECHO ? "echo" : "command";
}

/* Fetch an integer setting within [min, max]; -1 after an error. */
int
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

/* Fetch a boolean setting; -1 after an error. */
static int
config_bool(struct cfgctx *x, config_setting_t *s, const char *what, int *v)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_error(x, s, "%s: expected true or false", what);
		return -1;
	}
	*v = config_setting_get_bool(s);
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

/* Copy a string setting into dst. */
static void
config_copy_str(struct cfgctx *x, config_setting_t *s, const char *what,
    char *dst, size_t len)
{
	const char *v;

	if ((v = config_str(x, s, what, len)) != NULL)
		util_strlcpy(dst, v, len);
}

/* Parse a list or array of CIDR strings into a new array. */
void
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

/* workers = N | "auto" */
static void
config_workers(struct cfgctx *x, config_setting_t *s)
{
	long v;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (strcmp(config_setting_get_string(s), "auto") != 0) {
			config_error(x, s, "workers: expected an integer "
			    ">= 1 or \"auto\"");
			return;
		}
		x->cf->workers_auto = 1;
		x->cf->workers = proc_cpu_count();
		if (x->cf->workers > MAX_WORKERS)
			x->cf->workers = MAX_WORKERS;
		return;
	}
	if (config_int(x, s, "workers", 1, MAX_WORKERS, &v) == 0) {
		x->cf->workers = (int)v;
		x->cf->workers_auto = 0;
	}
}

static void
config_user(struct cfgctx *x, config_setting_t *s)
{
	config_copy_str(x, s, "user", x->cf->user, sizeof(x->cf->user));
}

static void
config_group(struct cfgctx *x, config_setting_t *s)
{
	config_copy_str(x, s, "group", x->cf->group, sizeof(x->cf->group));
}

static void
config_pidfile(struct cfgctx *x, config_setting_t *s)
{
	config_copy_str(x, s, "pidfile", x->cf->pidfile,
	    sizeof(x->cf->pidfile));
}

static void
config_shutdown_timeout(struct cfgctx *x, config_setting_t *s)
{
	long v;

	if (config_int(x, s, "shutdown_timeout", 0, 3600, &v) == 0)
		x->cf->shutdown_timeout = (int)v;
}

static void
config_worker_timeout(struct cfgctx *x, config_setting_t *s)
{
	long v;

	/* Workers beat at least once a second; less than 2 s would race. */
	if (config_int(x, s, "worker_timeout", 2, 3600, &v) == 0)
		x->cf->worker_timeout = (int)v;
}

static void
config_log_facility(struct cfgctx *x, config_setting_t *s)
{
	const char *v;
	int f;

	if ((v = config_str(x, s, "log.facility", 32)) == NULL)
		return;
	if ((f = log_facility_from_name(v)) == -1)
		config_error(x, s, "log.facility: unknown facility \"%s\" "
		    "(daemon, user, local0..local7)", v);
	else
		x->cf->log_facility = f;
}

static void
config_log_level(struct cfgctx *x, config_setting_t *s)
{
	const char *v;
	int l;

	if ((v = config_str(x, s, "log.level", 32)) == NULL)
		return;
	if ((l = log_level_from_name(v)) == -1)
		config_error(x, s, "log.level: unknown level \"%s\" (emerg, "
		    "alert, crit, err, warning, notice, info, debug)", v);
	else
		x->cf->log_level = l;
}

static void
config_log_ident(struct cfgctx *x, config_setting_t *s)
{
	config_copy_str(x, s, "log.ident", x->cf->log_ident,
	    sizeof(x->cf->log_ident));
}

static const struct key log_keys[] = {
	{ "facility", config_log_facility },
	{ "level", config_log_level },
	{ "ident", config_log_ident },
	{ NULL, NULL }
};

static void
config_log(struct cfgctx *x, config_setting_t *s)
{
	config_walk(x, s, log_keys, "log.");
}

/* A limits.* integer: name, range and where it goes. */
#define LIMIT(fname, min, max)						\
static void								\
config_limit_##fname(struct cfgctx *x, config_setting_t *s)		\
{									\
	config_int(x, s, "limits." #fname, min, max,			\
	    &x->cf->limits.fname);					\
}

LIMIT(max_connections, 1, 10000000)
LIMIT(per_ip_connections, 0, 10000000)
LIMIT(max_frame, 1, 256L << 20)
LIMIT(idle_timeout, 0, 86400 * 365)
LIMIT(frame_timeout, 0, 86400 * 365)
LIMIT(write_timeout, 0, 86400 * 365)
LIMIT(max_output, 1024, 1L << 30)
LIMIT(max_memory, 1L << 20, 1L << 40)

static const struct key limit_keys[] = {
	{ "max_connections", config_limit_max_connections },
	{ "per_ip_connections", config_limit_per_ip_connections },
	{ "max_frame", config_limit_max_frame },
	{ "idle_timeout", config_limit_idle_timeout },
	{ "frame_timeout", config_limit_frame_timeout },
	{ "write_timeout", config_limit_write_timeout },
	{ "max_output", config_limit_max_output },
	{ "max_memory", config_limit_max_memory },
	{ NULL, NULL }
};

static void
config_limits(struct cfgctx *x, config_setting_t *s)
{
	config_walk(x, s, limit_keys, "limits.");
}

/* A tcp.* boolean. */
#define TCPBOOL(fname)							\
static void								\
config_tcp_##fname(struct cfgctx *x, config_setting_t *s)		\
{									\
	config_bool(x, s, "tcp." #fname, &x->cf->tcp.fname);		\
}

/* A tcp.* integer. */
#define TCPINT(fname, min, max)						\
static void								\
config_tcp_##fname(struct cfgctx *x, config_setting_t *s)		\
{									\
	long v;								\
									\
	if (config_int(x, s, "tcp." #fname, min, max, &v) == 0)	\
		x->cf->tcp.fname = (int)v;				\
}

TCPBOOL(nodelay)
TCPBOOL(keepalive)
TCPBOOL(reuseport)
TCPINT(backlog, 1, 65535)
TCPINT(rcvbuf, 0, 64 << 20)
TCPINT(sndbuf, 0, 64 << 20)

static const struct key tcp_keys[] = {
	{ "nodelay", config_tcp_nodelay },
	{ "keepalive", config_tcp_keepalive },
	{ "backlog", config_tcp_backlog },
	{ "rcvbuf", config_tcp_rcvbuf },
	{ "sndbuf", config_tcp_sndbuf },
	{ "reuseport", config_tcp_reuseport },
	{ NULL, NULL }
};

static void
config_tcp(struct cfgctx *x, config_setting_t *s)
{
	config_walk(x, s, tcp_keys, "tcp.");
}

static void
config_admin_allow(struct cfgctx *x, config_setting_t *s)
{
	config_cidrs(x, s, "admin_allow", &x->cf->admin_allow,
	    &x->cf->nadmin);
}

/* Default listeners, as SPEC section 5 gives them. */
static const struct {
	const char	*address;
	int		 port;
	enum mode	 mode;
	enum framing	 framing;
} default_listeners[] = {
	{ "0.0.0.0", 8888, MODE_ECHO, FRAMING_RAW },
	{ "127.0.0.1", 8889, MODE_COMMAND, FRAMING_LENGTH },
};

static const struct key root_keys[] = {
	{ "workers", config_workers },
	{ "user", config_user },
	{ "group", config_group },
	{ "pidfile", config_pidfile },
	{ "shutdown_timeout", config_shutdown_timeout },
	{ "worker_timeout", config_worker_timeout },
	{ "log", config_log },
	{ "limits", config_limits },
	{ "tcp", config_tcp },
	{ "admin_allow", config_admin_allow },
	{ "listeners", config_listeners },
	{ NULL, NULL }
};

/* Dispatch each member of a group through its key table. */
static void
config_walk(struct cfgctx *x, config_setting_t *g, const struct key *keys,
    const char *prefix)
{
	const struct key *k;
	int i, n;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_error(x, g, "%.*s: expected a group { ... }",
		    (int)strlen(prefix) - 1, prefix);
		return;
	}
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);

		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, name) == 0)
				break;
		if (k->name == NULL)
			config_error(x, s, "unknown key \"%s%s\"", prefix, name);
		else
			k->fn(x, s);
	}
}

/* Set one built-in default listener. */
static void
config_default_listener(struct listener_conf *l, int i)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	util_strlcpy(l->address, default_listeners[i].address,
	    sizeof(l->address));
	l->port = default_listeners[i].port;
	l->mode = default_listeners[i].mode;
	l->framer.kind = default_listeners[i].framing;
	l->framer.delim[0] = '\n';
	l->framer.delim_len = 1;
	net_parse_addr(l->address, l->port, &l->addr);
}

/* The built-in configuration of SPEC section 5. */
struct config *
config_defaults(void)
{
	struct config *cf;
	size_t i;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return NULL;
	cf->workers = 2;
	cf->shutdown_timeout = 10;
	cf->worker_timeout = 30;
	cf->log_facility = LOG_DAEMON;
	cf->log_level = LOG_INFO;
	util_strlcpy(cf->log_ident, "ekkod", sizeof(cf->log_ident));
	cf->limits = (struct limits_conf){ 10000, 0, 1048576, 300, 30, 30,
	    4194304, 268435456 };
	cf->tcp = (struct tcp_conf){ 1, 1, 511, 0, 0, 0 };
	cf->admin_allow = calloc(2, sizeof(*cf->admin_allow));
	cf->listeners = calloc(nitems(default_listeners),
	    sizeof(*cf->listeners));
	if (cf->admin_allow == NULL || cf->listeners == NULL) {
		config_free(cf);
		return NULL;
	}
	cidr_parse("127.0.0.0/8", &cf->admin_allow[0], NULL, 0);
	cidr_parse("::1/128", &cf->admin_allow[1], NULL, 0);
	cf->nadmin = 2;
	for (i = 0; i < nitems(default_listeners); i++) {
		config_default_listener(&cf->listeners[i], (int)i);
		cf->listeners[i].framer.max_frame =
		    (size_t)cf->limits.max_frame;
	}
	cf->nlisteners = nitems(default_listeners);
	return cf;
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
	}
	free(cf->listeners);
	free(cf->admin_allow);
	free(cf->path);
	free(cf);
}

/* Values that depend on other keys, settled after the walk. */
static void
config_finish(struct cfgctx *x, config_setting_t *root)
{
	struct config *cf = x->cf;
	size_t i;

	for (i = 0; i < cf->nlisteners; i++) {
		struct framer *f = &cf->listeners[i].framer;

		f->max_frame = (size_t)cf->limits.max_frame;
		if (f->kind == FRAMING_FIXED &&
		    f->frame_size > (size_t)cf->limits.max_frame)
			config_errors_add(x->errs, "%s:%d: listener %s:%d: "
			    "frame_size %zu exceeds limits.max_frame %ld",
			    config_setting_source_file(root) ?
			    config_setting_source_file(root) : x->name,
			    cf->listeners[i].line, cf->listeners[i].address,
			    cf->listeners[i].port, f->frame_size,
			    cf->limits.max_frame);
	}
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
	config_walk(&x, root, root_keys, "");
	config_finish(&x, root);
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
