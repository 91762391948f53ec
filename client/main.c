/*
 * main.c -- ekko: global options, then one of a table of subcommands.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekko.h"
#include "util.h"

#ifndef EKKO_VERSION
#define EKKO_VERSION	"unknown"
#endif

struct cmd {
	const char	*name;
	int		(*run)(struct target *, int, char **);
	int		 port;
	const char	*args;
};

static const struct cmd cmds[] = {
	{ "ping", ping_main, EKKO_PORT_COMMAND, "[-c count] [-i interval]" },
	{ "echo", echo_main, EKKO_PORT_COMMAND, "[MESSAGE ...]" },
	{ "stats", stats_main, EKKO_PORT_COMMAND, "[--json]" },
	{ "info", stats_info_main, EKKO_PORT_COMMAND, "[--json]" },
	{ "bench", bench_main, EKKO_PORT_COMMAND,
	    "[-c conns] [-n requests | -d seconds] [-P pipeline]\n"
	    "\t [-s size] [-r rate] [--framing F] [--cpu N] [--json]" },
	{ "raw", raw_main, EKKO_PORT_ECHO, "" },
	{ "top", top_main, EKKO_PORT_COMMAND, "[-i interval] [-n count]" },
	{ "drain", drain_main, EKKO_PORT_COMMAND, "" },
	{ "undrain", drain_undrain_main, EKKO_PORT_COMMAND, "" },
};

static const char ekko_synopsis[] =
    "usage: ekko [-hV] [-H host] [-p port] [-t timeout] COMMAND [ARGS]\n";

volatile sig_atomic_t ekko_interrupted;

static void		 ekko_on_interrupt(int);
static const struct cmd	*ekko_find(const char *);
static int		 ekko_target(struct target *, const char *);
static int		 ekko_options(int, char **, struct target *);
static void		 ekko_help(FILE *);
static void		 ekko_badopt(char **, const char *,
		    const struct option *);

/* "ekko: 127.0.0.1:8889: reason" on stderr; t may be NULL. */
void
ekko_warn(const struct target *t, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (t != NULL)
		fprintf(stderr, "ekko: %s: %s\n", t->name, msg);
	else
		fprintf(stderr, "ekko: %s\n", msg);
}

/* The whole usage text: every command and its arguments. */
static void
ekko_help(FILE *fp)
{
	size_t i;

	fputs(ekko_synopsis, fp);
	fputs("commands:\n", fp);
	for (i = 0; i < nitems(cmds); i++)
		if (*cmds[i].args == '\0')
			fprintf(fp, "  %s\n", cmds[i].name);
		else
			fprintf(fp, "  %-6s %s\n", cmds[i].name, cmds[i].args);
	fputs("defaults: -H 127.0.0.1 -p 8889 (raw: 8888) -t 5\n", fp);
}

/* Print the usage of one command (NULL: all); returns EKKO_USAGE. */
int
ekko_usage(const char *name, FILE *fp)
{
	const struct cmd *c;

	if (name == NULL || (c = ekko_find(name)) == NULL) {
		ekko_help(fp);
		return EKKO_USAGE;
	}
	fprintf(fp, "usage: ekko [-H host] [-p port] [-t timeout] %s%s%s\n",
	    c->name, *c->args ? " " : "", c->args);
	return EKKO_USAGE;
}

/* The command of that name, or NULL. */
static const struct cmd *
ekko_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* A signal handler only records. */
static void
ekko_on_interrupt(int sig)
{
	(void)sig;
	ekko_interrupted = 1;
}

/* Let SIGINT end a long command gracefully: no SA_RESTART, so waits end. */
void
ekko_catch_interrupt(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ekko_on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* A timeout as people write it: "5.0", "0.25". */
const char *
ekko_seconds(int ms, char *buf, size_t len)
{
	if (ms % 100 == 0)
		snprintf(buf, len, "%.1f", ms / 1000.0);
	else if (ms % 10 == 0)
		snprintf(buf, len, "%.2f", ms / 1000.0);
	else
		snprintf(buf, len, "%.3f", ms / 1000.0);
	return buf;
}

/* Resolve host and port (numerically) into t; -1 if not numeric. */
static int
ekko_target(struct target *t, const char *host)
{
	t->host = host;
	if (net_parse_addr(host, t->port, &t->addr) == -1) {
		ekko_warn(NULL, "%s: not a numeric IPv4 or IPv6 address", host);
		return -1;
	}
	net_format((const struct sockaddr *)&t->addr.ss, t->name,
	    sizeof(t->name));
	return 0;
}

/* Switch to a command's default port unless -p was given. */
int
ekko_retarget(struct target *t, int port)
{
	if (t->port_given)
		return 0;
	t->port = port;
	return ekko_target(t, t->host);
}

/* Say what is wrong with the option getopt_long just refused. */
static void
ekko_badopt(char **argv, const char *opts, const struct option *lo)
{
	const char *arg = argv[optind - 1];
	char who[32] = "";

	if (ekko_find(argv[0]) != NULL)
		snprintf(who, sizeof(who), "%s: ", argv[0]);
	if (optopt == 0) {
		ekko_warn(NULL, "%sunknown option %s", who, arg);
		return;
	}
	if (optopt != ':' && optopt != '+' && strchr(opts, optopt) != NULL) {
		ekko_warn(NULL, "%soption -%c needs a value", who, optopt);
		return;
	}
	for (; lo != NULL && lo->name != NULL; lo++)
		if (lo->val == optopt && strncmp(arg, "--", 2) == 0) {
			ekko_warn(NULL, "%soption --%s needs a value", who,
			    lo->name);
			return;
		}
	if (optopt > ' ' && optopt < 127)
		ekko_warn(NULL, "%sunknown option -%c", who, optopt);
	else
		ekko_warn(NULL, "%sbad option %s", who, arg);
}

/*
 * getopt_long for the global options or a command's own argv (argv[0]
 * is then the command), with messages in ekko's voice.
 */
int
ekko_getopt(int argc, char **argv, const char *opts,
    const struct option *lo)
{
	int ch;

	opterr = 0;
	ch = getopt_long(argc, argv, opts, lo, NULL);
	if (ch == '?')
		ekko_badopt(argv, opts, lo);
	return ch;
}

/* The global options, before the command; -1 on a usage error. */
static int
ekko_options(int argc, char **argv, struct target *t)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	long v;
	int ch;

	while ((ch = ekko_getopt(argc, argv, "+H:p:t:hV", lo)) != -1) {
		switch (ch) {
		case 'H':
			t->host = optarg;
			break;
		case 'p':
			if (util_parse_long(optarg, 1, 65535, &v) == -1) {
				ekko_warn(NULL, "-p %s: not a port", optarg);
				return -1;
			}
			t->port = (int)v;
			t->port_given = 1;
			break;
		case 't':
			if (util_parse_seconds(optarg, 86400, &t->timeout_ms)
			    == -1 || t->timeout_ms <= 0) {
				ekko_warn(NULL, "-t %s: not a timeout in "
				    "seconds", optarg);
				return -1;
			}
			break;
		case 'h':
			ekko_help(stdout);
			exit(EKKO_OK);
		case 'V':
			printf("ekko %s\n", EKKO_VERSION);
			exit(EKKO_OK);
		default:
			return -1;
		}
	}
	return 0;
}

/* ekko [-hV] [-H host] [-p port] [-t timeout] COMMAND [ARGS] */
int
main(int argc, char *argv[])
{
	struct target t;
	const struct cmd *c;

	memset(&t, 0, sizeof(t));
	t.host = "127.0.0.1";
	t.timeout_ms = EKKO_TIMEOUT_MS;
	signal(SIGPIPE, SIG_IGN);
	if (ekko_options(argc, argv, &t) == -1)
		return ekko_usage(NULL, stderr);
	if (optind >= argc) {
		ekko_warn(NULL, "no command given");
		return ekko_usage(NULL, stderr);
	}
	if ((c = ekko_find(argv[optind])) == NULL) {
		ekko_warn(NULL, "unknown command \"%s\"", argv[optind]);
		return ekko_usage(NULL, stderr);
	}
	if (!t.port_given)
		t.port = c->port;
	if (ekko_target(&t, t.host) == -1)
		return EKKO_USAGE;
	argc -= optind;
	argv += optind;
	optind = 0;		/* glibc: start afresh on the command's argv */
	return c->run(&t, argc, argv);
}
