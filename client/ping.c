/*
 * ping.c -- ekko ping: PING requests at an interval, the round trip of
 * each, and a summary in the manner of ping(8).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "ekko.h"
#include "proto.h"
#include "util.h"

#define PING_SERVER_ERROR	(-1)	/* ping_wait: an error reply */

struct ping {
	struct target	*t;
	struct session	 s;
	int		 up;		/* s is connected */
	long		 count;		/* 0: until interrupted */
	int		 interval_ms;
	long		 sent;
	long		 received;
	long		 late;		/* replies owed to requests given up */
	double		 min, max, sum, sum2;	/* round trips, ms */
	uint64_t	 start;
};

static int	 ping_options(struct ping *, int, char **);
static int	 ping_connect(struct ping *);
static int	 ping_wait(struct ping *, long, uint64_t);
static int	 ping_once(struct ping *, long);
static void	 ping_pause(uint64_t);
static void	 ping_summary(const struct ping *);

/* -c count and -i interval; -1 on a usage error. */
static int
ping_options(struct ping *p, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = ekko_getopt(argc, argv, "+c:i:h", lo)) != -1) {
		switch (ch) {
		case 'c':
			if (util_parse_long(optarg, 1, 1000000000, &p->count)
			    == -1) {
				ekko_warn(NULL, "ping: -c %s: not a count",
				    optarg);
				return -1;
			}
			break;
		case 'i':
			if (util_parse_seconds(optarg, 86400, &p->interval_ms)
			    == -1) {
				ekko_warn(NULL, "ping: -i %s: not an interval "
				    "in seconds", optarg);
				return -1;
			}
			break;
		case 'h':
			ekko_usage("ping", stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		ekko_warn(NULL, "ping: unexpected argument \"%s\"",
		    argv[optind]);
		return -1;
	}
	return 0;
}

/* (Re)connect when there is no live connection; 0 or EKKO_NET. */
static int
ping_connect(struct ping *p)
{
	if (p->up && !session_idle_closed(&p->s))
		return EKKO_OK;
	if (p->up)
		session_close(&p->s);
	p->up = 0;
	p->late = 0;
	if (session_open(&p->s, p->t) != EKKO_OK)
		return EKKO_NET;
	p->up = 1;
	return EKKO_OK;
}

/*
 * Wait for the reply to seq, sent at t0, dropping the late replies of
 * requests already counted lost (replies come in request order).
 */
static int
ping_wait(struct ping *p, long seq, uint64_t t0)
{
	uint64_t end = t0 + (uint64_t)p->t->timeout_ms * 1000000, now;
	struct reply r;
	double ms;
	int st;

	for (;;) {
		now = util_now_ns();
		st = session_recv(&p->s, &r, now >= end ? 0 :
		    (int)((end - now + 999999) / 1000000));
		if (st != SESSION_OK || p->late == 0)
			break;
		p->late--;
	}
	if (st != SESSION_OK)
		return st;
	if (r.op == PROTO_ERROR) {
		session_server_error(p->t, &r);
		return PING_SERVER_ERROR;
	}
	ms = (double)(util_now_ns() - t0) / 1e6;
	printf("PONG from %s: seq=%ld time=%.3f ms\n", p->t->name, seq, ms);
	fflush(stdout);
	p->received++;
	p->min = p->received == 1 || ms < p->min ? ms : p->min;
	p->max = ms > p->max ? ms : p->max;
	p->sum += ms;
	p->sum2 += ms * ms;
	return SESSION_OK;
}

/*
 * One round trip.  A lost reply or a failed reconnect is reported and
 * counted; the result is EKKO_OK to go on, or the exit code to stop with.
 */
static int
ping_once(struct ping *p, long seq)
{
	char secs[32];
	uint64_t t0;
	int st;

	/* A server that went away costs this one; the next may find it. */
	p->sent++;
	if (ping_connect(p) != EKKO_OK)
		return EKKO_OK;
	t0 = util_now_ns();
	if ((st = session_send(&p->s, PROTO_PING, NULL, 0)) == SESSION_OK)
		st = ping_wait(p, seq, t0);
	if (st == SESSION_OK || st == SESSION_INTR)
		return EKKO_OK;
	if (st == PING_SERVER_ERROR)
		return EKKO_REPLY;
	if (st == SESSION_TIMEOUT) {
		p->late++;
		ekko_warn(p->t, "seq=%ld: timed out after %s s waiting for "
		    "reply", seq, ekko_seconds(p->t->timeout_ms, secs,
		    sizeof(secs)));
		return EKKO_OK;
	}
	/* Cut off: say so, and reconnect for the next one. */
	session_fail(&p->s, st);
	session_close(&p->s);
	p->up = 0;
	return st == SESSION_BAD ? EKKO_REPLY : EKKO_OK;
}

/* Sleep until the monotonic time end (ns), or until interrupted. */
static void
ping_pause(uint64_t end)
{
	uint64_t now;

	while (!ekko_interrupted && (now = util_now_ns()) < end)
		poll(NULL, 0, (int)((end - now + 999999) / 1000000));
}

/* The ping(8)-style summary. */
static void
ping_summary(const struct ping *p)
{
	double avg, mdev, loss;

	loss = p->sent ? 100.0 * (double)(p->sent - p->received) /
	    (double)p->sent : 0;
	printf("\n--- %s ekko ping statistics ---\n", p->t->name);
	printf("%ld requests sent, %ld replies received, %g%% loss, "
	    "time %.0fms\n", p->sent, p->received, loss,
	    (double)(util_now_ns() - p->start) / 1e6);
	if (p->received > 0) {
		avg = p->sum / (double)p->received;
		mdev = sqrt(fmax(0, p->sum2 / (double)p->received - avg * avg));
		printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n",
		    p->min, avg, p->max, mdev);
	}
	fflush(stdout);
}

/* ekko ping [-c count] [-i interval] */
int
ping_main(struct target *t, int argc, char **argv)
{
	struct ping p;
	uint64_t t0;
	long seq;
	int rc = EKKO_OK;

	memset(&p, 0, sizeof(p));
	p.t = t;
	p.interval_ms = 1000;
	if ((rc = ping_options(&p, argc, argv)) != 0)
		return rc == 1 ? EKKO_OK : ekko_usage("ping", stderr);
	ekko_catch_interrupt();
	if (ping_connect(&p) != EKKO_OK)
		return EKKO_NET;
	printf("PING %s (ekko protocol)\n", t->name);
	p.start = util_now_ns();
	for (seq = 1; !ekko_interrupted; seq++) {
		t0 = util_now_ns();
		if ((rc = ping_once(&p, seq)) != EKKO_OK)
			break;
		if (p.count > 0 && seq >= p.count)
			break;
		ping_pause(t0 + (uint64_t)p.interval_ms * 1000000);
	}
	ping_summary(&p);
	if (p.up)
		session_close(&p.s);
	if (rc == EKKO_OK && p.received == 0)
		rc = EKKO_NET;
	return rc;
}
