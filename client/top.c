/*
 * top.c -- ekko top: a live view of the server's STATS, refreshed every
 * interval: per worker its pid, generation, state, connections, request
 * and byte rates, accepts and heartbeat; the global rates, reloads and
 * the errors that changed since top started.
 *
 * On a terminal it draws full screen with plain ANSI sequences (the
 * alternate screen, no curses) and reads keys unbuffered; q or Ctrl-C
 * ends it and the terminal is put back as it was.  Elsewhere it prints
 * one plain snapshot per interval, for scripts and tests.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ekko.h"
#include "proto.h"
#include "util.h"

#define TOP_SLOTS	1024	/* scoreboard slots there can be */
#define TOP_ERRS	32	/* error kinds */

/* What one STATS reply said, as numbers where they are. */
struct top_worker {
	int		 seen;
	long long	 pid;
	long long	 gen;
	char		 state[16];
	unsigned long long conns, reqs, in, out, accepted;
	double		 heartbeat;
};

struct top_snap {
	uint64_t	 at_ns;
	unsigned long long uptime, gen, wconf, wrun, reloads, reloads_failed;
	unsigned long long conns, conns_total, reqs, in, out;
	char		 errname[TOP_ERRS][32];
	unsigned long long err[TOP_ERRS];
	int		 nerr;
	struct top_worker w[TOP_SLOTS];
};

struct top {
	struct target	*t;
	struct session	 s;
	int		 interval_ms;
	long		 count;		/* snapshots to show, 0: until q */
	int		 tty;
	struct termios	 saved;
	struct top_snap	 first, prev, cur;
};

/* One global "key value" line into the snapshot. */
static void
top_global(struct top_snap *sn, const char *k, const char *v)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} keys[] = {
#define K(k, f)	{ k, offsetof(struct top_snap, f) }
		K("uptime", uptime), K("generation", gen),
		K("workers_configured", wconf), K("workers_running", wrun),
		K("reloads", reloads), K("reloads_failed", reloads_failed),
		K("connections_active", conns),
		K("connections_total", conns_total),
		K("requests_total", reqs), K("bytes_in", in),
		K("bytes_out", out),
#undef K
	};
	size_t i;

	if (strncmp(k, "errors_", 7) == 0 && sn->nerr < TOP_ERRS) {
		util_strlcpy(sn->errname[sn->nerr], k + 7,
		    sizeof(sn->errname[0]));
		sn->err[sn->nerr++] = strtoull(v, NULL, 10);
		return;
	}
	for (i = 0; i < nitems(keys); i++)
		if (strcmp(k, keys[i].key) == 0)
			*(unsigned long long *)((char *)sn + keys[i].off) =
			    strtoull(v, NULL, 10);
}

/* One "worker.SLOT.key value" line into the snapshot. */
static void
top_worker(struct top_snap *sn, const char *k, const char *v)
{
	struct top_worker *w;
	char *end;
	long slot;

	slot = strtol(k + 7, &end, 10);
	if (*end != '.' || slot < 0 || slot >= TOP_SLOTS)
		return;
	w = &sn->w[slot];
	w->seen = 1;
	k = end + 1;
	if (strcmp(k, "pid") == 0)
		w->pid = strtoll(v, NULL, 10);
	else if (strcmp(k, "generation") == 0)
		w->gen = strtoll(v, NULL, 10);
	else if (strcmp(k, "state") == 0)
		util_strlcpy(w->state, v, sizeof(w->state));
	else if (strcmp(k, "connections_active") == 0)
		w->conns = strtoull(v, NULL, 10);
	else if (strcmp(k, "requests") == 0)
		w->reqs = strtoull(v, NULL, 10);
	else if (strcmp(k, "bytes_in") == 0)
		w->in = strtoull(v, NULL, 10);
	else if (strcmp(k, "bytes_out") == 0)
		w->out = strtoull(v, NULL, 10);
	else if (strcmp(k, "accepted") == 0)
		w->accepted = strtoull(v, NULL, 10);
	else if (strcmp(k, "heartbeat_age") == 0)
		w->heartbeat = strtod(v, NULL);
}

/* Ask for STATS and parse the reply into sn. */
static int
top_fetch(struct top *tp, struct top_snap *sn)
{
	struct reply r;
	char *text, *line, *next, *sp;
	int rc;

	if ((rc = session_call(&tp->s, PROTO_STATS, NULL, 0, &r)) != EKKO_OK)
		return rc;
	if ((text = malloc(r.len + 1)) == NULL)
		return EKKO_NET;
	util_text_safe(text, r.data, r.len, 1);	/* names are shown */
	text[r.len] = '\0';
	memset(sn, 0, sizeof(*sn));
	sn->at_ns = util_now_ns();
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp++ = '\0';
		if (strncmp(line, "worker.", 7) == 0)
			top_worker(sn, line, sp);
		else
			top_global(sn, line, sp);
	}
	free(text);
	return EKKO_OK;
}

/* A per-second rate of a counter between two snapshots. */
static double
top_rate(unsigned long long now, unsigned long long then, double secs)
{
	return now >= then && secs > 0 ? (double)(now - then) / secs : 0;
}

/* Bytes per second, human-sized, into buf. */
static const char *
top_bytes(double b, char *buf, size_t len)
{
	if (b >= 1e6)
		snprintf(buf, len, "%.1fM", b / 1e6);
	else if (b >= 1e3)
		snprintf(buf, len, "%.1fk", b / 1e3);
	else
		snprintf(buf, len, "%.0f", b);
	return buf;
}

/* The header lines: the server as a whole. */
static void
top_print_global(struct top *tp, double secs)
{
	const struct top_snap *c = &tp->cur, *p = &tp->prev;
	char in[16], out[16];
	int i, any = 0;

	printf("ekko top %s  uptime %llus  generation %llu  workers %llu/%llu"
	    "  reloads %llu (failed %llu)\n", tp->t->name, c->uptime, c->gen,
	    c->wrun, c->wconf, c->reloads, c->reloads_failed);
	printf("requests %.0f/s  in %sB/s  out %sB/s  connections %llu "
	    "active, %llu total\n", top_rate(c->reqs, p->reqs, secs),
	    top_bytes(top_rate(c->in, p->in, secs), in, sizeof(in)),
	    top_bytes(top_rate(c->out, p->out, secs), out, sizeof(out)),
	    c->conns, c->conns_total);
	printf("errors since start of top:");
	for (i = 0; i < c->nerr && i < tp->first.nerr; i++)
		if (c->err[i] != tp->first.err[i]) {
			printf(" %s +%llu", c->errname[i], c->err[i] -
			    tp->first.err[i]);
			any = 1;
		}
	printf("%s\n\n", any ? "" : " none");
}

/* One row per worker. */
static void
top_print_workers(struct top *tp, double secs)
{
	const struct top_worker *w, *pw;
	char in[16], out[16];
	int i;

	printf("%4s %8s %4s %-9s %7s %9s %9s %9s %10s %9s\n", "SLOT", "PID",
	    "GEN", "STATE", "CONNS", "REQ/S", "IN B/S", "OUT B/S", "ACCEPTED",
	    "HEARTBEAT");
	for (i = 0; i < TOP_SLOTS; i++) {
		w = &tp->cur.w[i];
		pw = &tp->prev.w[i];
		if (!w->seen)
			continue;
		if (pw->pid != w->pid)
			pw = w;		/* a new process: no rate yet */
		printf("%4d %8lld %4lld %-9s %7llu %9.0f %9s %9s %10llu "
		    "%8.1fs\n", i, w->pid, w->gen, w->state, w->conns,
		    top_rate(w->reqs, pw->reqs, secs),
		    top_bytes(top_rate(w->in, pw->in, secs), in, sizeof(in)),
		    top_bytes(top_rate(w->out, pw->out, secs), out,
		    sizeof(out)), w->accepted, w->heartbeat);
	}
}

/* Draw one snapshot: over the screen on a terminal, appended if not. */
static void
top_draw(struct top *tp)
{
	double secs = (double)(tp->cur.at_ns - tp->prev.at_ns) / 1e9;

	if (tp->tty)
		printf("\033[H\033[2J");
	top_print_global(tp, secs);
	top_print_workers(tp, secs);
	if (tp->tty)
		printf("\n(q to quit, every %.1fs)", tp->interval_ms / 1000.0);
	else
		printf("\n");
	fflush(stdout);
}

/* Raw keys, the alternate screen, no cursor; top_tty_off undoes it. */
static void
top_tty_on(struct top *tp)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &tp->saved) == 0) {
		raw = tp->saved;
		/* keys one at a time, unechoed; ISIG stays: Ctrl-C works */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	}
	printf("\033[?1049h\033[?25l");
	fflush(stdout);
}

/* Put the terminal back as top found it. */
static void
top_tty_off(struct top *tp)
{
	printf("\033[?25h\033[?1049l");
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tp->saved);
}

/* Wait out the interval; 1 if q was pressed or Ctrl-C came. */
static int
top_wait(struct top *tp)
{
	uint64_t end = util_now_ns() + (uint64_t)tp->interval_ms * 1000000,
	    now;
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	char ch;

	while (!ekko_interrupted && (now = util_now_ns()) < end) {
		if (!tp->tty) {
			poll(NULL, 0, (int)((end - now + 999999) / 1000000));
			continue;
		}
		if (poll(&pfd, 1, (int)((end - now + 999999) / 1000000)) > 0 &&
		    read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
			return 1;
	}
	return ekko_interrupted != 0;
}

/* The loop: fetch, draw, wait, until q, Ctrl-C, -n or an error. */
static int
top_loop(struct top *tp)
{
	long shown = 0;
	int rc;

	if ((rc = top_fetch(tp, &tp->cur)) != EKKO_OK)
		return rc;
	tp->first = tp->cur;
	while (!top_wait(tp)) {
		tp->prev = tp->cur;
		if ((rc = top_fetch(tp, &tp->cur)) != EKKO_OK)
			return rc;
		top_draw(tp);
		if (tp->count > 0 && ++shown >= tp->count)
			break;
	}
	return EKKO_OK;
}

/* -i interval, -n count; 1 for --help, -1 on a usage error. */
static int
top_options(struct top *tp, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = ekko_getopt(argc, argv, "+i:n:h", lo)) != -1) {
		switch (ch) {
		case 'i':
			if (util_parse_seconds(optarg, 86400, &tp->interval_ms)
			    == -1 || tp->interval_ms < 10) {
				ekko_warn(NULL, "top: -i %s: not an interval "
				    "(0.01 s or more)", optarg);
				return -1;
			}
			break;
		case 'n':
			if (util_parse_long(optarg, 1, 1000000000, &tp->count)
			    == -1) {
				ekko_warn(NULL, "top: -n %s: not a count",
				    optarg);
				return -1;
			}
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	return optind < argc ? -1 : 0;
}

/* ekko top [-i interval] [-n count] */
int
top_main(struct target *t, int argc, char **argv)
{
	struct top *tp;
	int rc;

	if ((tp = calloc(1, sizeof(*tp))) == NULL)
		return EKKO_NET;
	tp->t = t;
	tp->interval_ms = 1000;
	if ((rc = top_options(tp, argc, argv)) != 0) {
		free(tp);
		return rc == 1 ? EKKO_OK : ekko_usage("top", stderr);
	}
	ekko_catch_interrupt();
	if ((rc = session_open(&tp->s, t)) != EKKO_OK) {
		free(tp);
		return rc;
	}
	tp->tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (tp->tty)
		top_tty_on(tp);
	rc = top_loop(tp);
	if (tp->tty)
		top_tty_off(tp);
	session_close(&tp->s);
	free(tp);
	return rc;
}
