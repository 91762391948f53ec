/*
 * load.c -- the load generator behind ekko bench: one thread, one epoll
 * loop, many connections, pipelined requests, every reply checked byte
 * for byte as it streams in.  wire.c judges the bytes; this file counts
 * what it reports.
 *
 * Closed loop: each connection keeps up to -P requests in flight.  Open
 * loop (-r): request g (over all connections) is due at start + g / rate
 * and goes to connection g % conns; its latency counts from that
 * intended time, so a server that falls behind shows its queueing.
 */
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekko.h"
#include "load.h"
#include "util.h"

#define LOAD_TICK_NS	(50 * 1000000ULL)	/* timeout scan interval */
#define LOAD_EVENTS	1024

static void	 load_note(struct load *, const char *, ...) EKKO_PRINTF(2, 3);
static void	 load_state(struct load *, struct lconn *, enum lstate);
static void	 load_want(struct load *, struct lconn *, uint32_t);
static void	 load_connect(struct load *, struct lconn *, uint64_t);
static void	 load_connect_failed(struct load *, struct lconn *, int);
static void	 load_connected(struct load *, struct lconn *, uint64_t);
static void	 load_lost(struct load *, struct lconn *, int);
static void	 load_retry(struct load *, uint64_t);
static uint64_t	 load_when(const struct load *, const struct lconn *,
		    uint64_t);
static void	 load_issue(struct load *, struct lconn *, uint64_t);
static void	 load_flush(struct load *, struct lconn *);
static void	 load_complete(struct load *, struct lconn *, uint64_t, int);
static void	 load_capture(struct load *, struct lconn *, enum wire_verdict,
		    const uint8_t *, size_t);
static int	 load_verdict(struct load *, struct lconn *,
		    enum wire_verdict, const uint8_t *, size_t, uint64_t);
static int	 load_input(struct load *, struct lconn *, const uint8_t *,
		    size_t, uint64_t);
static void	 load_readable(struct load *, struct lconn *);
static void	 load_event(struct load *, struct lconn *, uint32_t);
static uint64_t	 load_due(const struct load *, long, uint64_t);
static void	 load_schedule_one(struct load *, struct lconn *, uint64_t,
		    uint64_t);
static void	 load_schedule(struct load *, uint64_t);
static void	 load_arm(struct load *);
static void	 load_stop(struct load *);
static void	 load_tick(struct load *, uint64_t);
static int	 load_finished(const struct load *);
static int	 load_wait_ms(const struct load *, uint64_t);
static void	 load_loop(struct load *, int);
static int	 load_setup(struct load *, const struct load_conf *,
		    struct load_result *);
static void	 load_cleanup(struct load *);

/* Keep the first error's text for the report. */
static void
load_note(struct load *l, const char *fmt, ...)
{
	va_list ap;

	if (l->res->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(l->res->first_error, sizeof(l->res->first_error), fmt, ap);
	va_end(ap);
}

/* Move c to state s, keeping the counts of live and connecting ones. */
static void
load_state(struct load *l, struct lconn *c, enum lstate s)
{
	l->alive += (s != LC_DEAD) - (c->state != LC_DEAD);
	l->connecting += (s == LC_CONNECTING) - (c->state == LC_CONNECTING);
	if (s == LC_DEAD && l->cf->rate > 0) {
		/* its share of the schedule will never be sent */
		l->backlog -= c->due - c->next;
		c->next = c->due;
	}
	c->state = s;
}

/* Ask epoll for these events, if that is a change. */
static void
load_want(struct load *l, struct lconn *c, uint32_t events)
{
	if (c->events == events)
		return;
	if (ev_mod(&l->ev, c->fd, events, c) == 0)
		c->events = events;
}

/* Start a non-blocking connect. */
static void
load_connect(struct load *l, struct lconn *c, uint64_t now)
{
	const struct net_addr *a = &l->cf->t->addr;
	int on = 1;

	c->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		load_connect_failed(l, c, errno);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((connect(c->fd, (const struct sockaddr *)&a->ss, a->len) == -1 &&
	    errno != EINPROGRESS) ||
	    ev_add(&l->ev, c->fd, EPOLLOUT, c) == -1) {
		load_connect_failed(l, c, errno);
		return;
	}
	c->events = EPOLLOUT;
	c->last = now;
	c->ok = 0;
	c->broken = 0;
	load_state(l, c, LC_CONNECTING);
}

/* Count a failed connect; the connection is given up. */
static void
load_connect_failed(struct load *l, struct lconn *c, int err)
{
	char secs[32];

	l->res->errors[LOAD_ERR_CONNECT]++;
	if (err == ETIMEDOUT)
		load_note(l, "connect: timed out after %s s", ekko_seconds(
		    l->cf->t->timeout_ms, secs, sizeof(secs)));
	else
		load_note(l, "connect: %s", strerror(err));
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	load_state(l, c, LC_DEAD);
}

/* The connect finished: up, or failed. */
static void
load_connected(struct load *l, struct lconn *c, uint64_t now)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		err = errno;
	if (err != 0) {
		load_connect_failed(l, c, err);
		return;
	}
	load_state(l, c, LC_UP);
	c->last = now;
	load_want(l, c, EPOLLIN);
	load_issue(l, c, now);
	load_flush(l, c);
}

/*
 * The connection broke (kind: the error to count, or -1 if counted).
 * Its unanswered requests are lost; it is reopened after this batch of
 * events if it had been working, else given up.
 */
static void
load_lost(struct load *l, struct lconn *c, int kind)
{
	if (kind >= 0)
		l->res->errors[kind]++;
	close(c->fd);
	c->fd = -1;
	l->outstanding -= c->issued - c->done;
	c->sent = c->done = c->issued;
	c->soff = 0;
	wire_rx_reset(&c->rx);
	if (l->capture == c)
		l->capture = NULL;
	if (l->stopping || c->ok == 0) {
		load_state(l, c, LC_DEAD);
		return;
	}
	load_state(l, c, LC_RETRY);
	l->retry[l->nretry++] = c->id;
}

/* Reopen the connections lost in the last batch of events. */
static void
load_retry(struct load *l, uint64_t now)
{
	struct lconn *c;

	while (l->nretry > 0) {
		c = &l->conns[l->retry[--l->nretry]];
		if (c->state != LC_RETRY)
			continue;
		if (l->stopping)
			load_state(l, c, LC_DEAD);
		else
			load_connect(l, c, now);
	}
}

/* Open loop: when the j-th request of connection c was due. */
static uint64_t
load_when(const struct load *l, const struct lconn *c, uint64_t j)
{
	double g = (double)c->id + (double)j * (double)l->cf->conns;

	return l->start + (uint64_t)(g * 1e9 / l->cf->rate);
}

/* Hand c the requests it may have now: pipeline room, budget, schedule. */
static void
load_issue(struct load *l, struct lconn *c, uint64_t now)
{
	uint64_t p = (uint64_t)l->cf->pipeline, room, k;

	if (!l->started || l->stopping || c->state != LC_UP || c->broken)
		return;
	room = p - (c->issued - c->done);
	if (c->issued == c->done && room > 0)
		c->last = now;	/* the reply clock starts now */
	if (l->cf->rate <= 0) {
		k = room < l->budget ? room : l->budget;
		l->budget -= k;
		l->outstanding += k;
		while (k-- > 0)
			c->ts[c->issued++ % p] = now;
		return;
	}
	for (; room > 0 && c->next < c->due; room--) {
		c->ts[c->issued++ % p] = load_when(l, c, c->next++);
		l->backlog--;
		l->outstanding++;
	}
}

/* Write everything issued and unsent, in as few writes as fit. */
static void
load_flush(struct load *l, struct lconn *c)
{
	ssize_t w;
	size_t n;

	while (c->state == LC_UP && !c->broken && c->sent < c->issued) {
		n = wire_pack(&l->wire, c->sent, c->soff, c->issued, l->io,
		    LOAD_IO);
		w = send(c->fd, l->io, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN)
			break;
		if (w == -1) {
			/*
			 * Replies owed (an error reply, say) may still be
			 * waiting: the read side reads them, then ends it.
			 */
			c->broken = 1;
			break;
		}
		c->soff += (size_t)w;
		c->sent += c->soff / l->wire.req.len;
		c->soff %= l->wire.req.len;
		if ((size_t)w < n)
			break;
	}
	if (c->state == LC_UP)
		load_want(l, c, EPOLLIN |
		    (c->sent < c->issued && !c->broken ? EPOLLOUT : 0));
}

/* One reply read whole: verified (ok) or an error reply. */
static void
load_complete(struct load *l, struct lconn *c, uint64_t now, int ok)
{
	uint64_t t0 = c->ts[c->done % (uint64_t)l->cf->pipeline];

	if (ok) {
		hist_add(&l->res->hist, now > t0 ? now - t0 : 0);
		l->res->requests++;
		l->last_done = now;
		c->ok++;
	} else
		l->res->errors[LOAD_ERR_SERVER]++;
	c->done++;
	c->last = now;
	l->outstanding--;
}

/*
 * The text of the first error reply: claimed by a connection at its
 * header (WIRE_TEXT), kept as it streams in, let go at its end.
 */
static void
load_capture(struct load *l, struct lconn *c, enum wire_verdict v,
    const uint8_t *p, size_t n)
{
	size_t i, room = sizeof(l->res->server_error) - 1;

	if (v == WIRE_TEXT) {
		if (l->res->server_error[0] == '\0' && l->capture == NULL) {
			l->capture = c;
			l->caplen = 0;
		}
		return;
	}
	for (i = 0; i < n && l->caplen < room; i++)
		l->res->server_error[l->caplen++] =
		    p[i] < ' ' || p[i] == 0x7f ? '?' : (char)p[i];
	if (v == WIRE_ERROR)
		l->capture = NULL;
}

/*
 * What is not a plain reply: error replies and their text, and replies
 * that are not what was sent (counted; -1).
 */
static int
load_verdict(struct load *l, struct lconn *c, enum wire_verdict v,
    const uint8_t *p, size_t n, uint64_t now)
{
	if (v == WIRE_BAD_HEADER || v == WIRE_DIFFERS) {
		l->res->errors[LOAD_ERR_MISMATCH]++;
		load_note(l, "reply %llu on connection %ld%s",
		    (unsigned long long)c->done, c->id, v == WIRE_BAD_HEADER ?
		    ": bad header" : " differs from the request");
		return -1;
	}
	if (l->capture == c || v == WIRE_TEXT)
		load_capture(l, c, v, p, n);
	if (v == WIRE_ERROR)
		load_complete(l, c, now, 0);
	return 0;
}

/*
 * Check bytes received against the replies owed, completing requests as
 * their last byte arrives.  -1 on a mismatch (counted).
 */
static int
load_input(struct load *l, struct lconn *c, const uint8_t *p, size_t n,
    uint64_t now)
{
	enum wire_verdict v;
	size_t k;

	while (n > 0) {
		if (c->done == c->issued) {
			l->res->errors[LOAD_ERR_MISMATCH]++;
			load_note(l, "connection %ld: data beyond the replies "
			    "owed", c->id);
			return -1;
		}
		v = wire_read(&l->wire, &c->rx, c->done, p, n, &k);
		if (v == WIRE_REPLY)
			load_complete(l, c, now, 1);
		else if ((v != WIRE_MORE || l->capture == c) &&
		    load_verdict(l, c, v, p, k, now) == -1)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/* Read big chunks, check them, then send what that made room for. */
static void
load_readable(struct load *l, struct lconn *c)
{
	uint64_t now = util_now_ns();
	ssize_t n;
	int i;

	for (i = 0; i < 4; i++) {
		n = read(c->fd, l->io, LOAD_IO);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			load_note(l, "read: %s", strerror(errno));
			load_lost(l, c, LOAD_ERR_RESET);
			return;
		}
		if (n == 0 && c->broken) {
			load_note(l, "send: %s", strerror(EPIPE));
			load_lost(l, c, LOAD_ERR_RESET);
			return;
		}
		if (n == 0) {
			/* early, unless nothing more was wanted of it */
			if (c->issued > c->done || !l->stopping)
				load_note(l, "connection closed by server");
			load_lost(l, c, c->issued > c->done || !l->stopping ?
			    LOAD_ERR_CLOSED : -1);
			return;
		}
		now = util_now_ns();
		if (load_input(l, c, l->io, (size_t)n, now) == -1) {
			load_lost(l, c, -1);
			return;
		}
		if ((size_t)n < LOAD_IO)
			break;
	}
	load_issue(l, c, now);
	load_flush(l, c);
}

/* Dispatch one epoll event for connection c. */
static void
load_event(struct load *l, struct lconn *c, uint32_t events)
{
	if (c->state == LC_CONNECTING) {
		load_connected(l, c, util_now_ns());
		return;
	}
	if (c->state != LC_UP)
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		load_readable(l, c);
	if (c->state == LC_UP && (events & EPOLLOUT))
		load_flush(l, c);
}

/* Open loop: how many of the first G requests go to connection i. */
static uint64_t
load_due(const struct load *l, long i, uint64_t G)
{
	uint64_t n = (uint64_t)l->cf->conns;

	return G > (uint64_t)i ? (G - 1 - (uint64_t)i) / n + 1 : 0;
}

/* Open loop: give c its share of the first G requests, send what is due. */
static void
load_schedule_one(struct load *l, struct lconn *c, uint64_t G, uint64_t now)
{
	uint64_t d;

	if (c->state == LC_DEAD)
		return;
	d = load_due(l, c->id, G);
	l->backlog += d - c->due;
	c->due = d;
	load_issue(l, c, now);
	load_flush(l, c);
}

/* Open loop: hand out every request now due, then rearm the clock. */
static void
load_schedule(struct load *l, uint64_t now)
{
	uint64_t G, g, n = (uint64_t)l->cf->conns;

	if (l->cf->rate <= 0 || !l->started || l->stopping)
		return;
	G = now < l->start ? 0 :
	    (uint64_t)((double)(now - l->start) * l->cf->rate / 1e9) + 1;
	G = G < l->gmax ? G : l->gmax;
	if (G <= l->g) {	/* woken a hair early: rounding */
		load_arm(l);
		return;
	}
	if (G - l->g >= n)	/* a full round or more: everyone */
		for (g = 0; g < n; g++)
			load_schedule_one(l, &l->conns[g], G, now);
	else			/* just the connections whose turn came */
		for (g = l->g; g < G; g++)
			load_schedule_one(l, &l->conns[g % n], G, now);
	l->g = G;
	load_arm(l);
}

/* Set the timer for the next request due. */
static void
load_arm(struct load *l)
{
	struct itimerspec its;
	uint64_t at;

	if (l->tfd == -1 || l->stopping || l->g >= l->gmax)
		return;
	memset(&its, 0, sizeof(its));
	/* rounded up, so that at that time request g counts as due */
	at = l->start + (uint64_t)ceil((double)l->g * 1e9 / l->cf->rate) + 1;
	if (at == l->armed)
		return;
	l->armed = at;
	its.it_value.tv_sec = (time_t)(at / 1000000000);
	its.it_value.tv_nsec = (long)(at % 1000000000);
	timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Issue nothing more; drop connects still under way. */
static void
load_stop(struct load *l)
{
	long i;

	if (l->stopping)
		return;
	l->stopping = 1;
	for (i = 0; i < l->cf->conns; i++)
		if (l->conns[i].state == LC_CONNECTING) {
			close(l->conns[i].fd);
			l->conns[i].fd = -1;
			load_state(l, &l->conns[i], LC_DEAD);
		}
}

/* Every LOAD_TICK_NS: replies and connects overdue by -t. */
static void
load_tick(struct load *l, uint64_t now)
{
	uint64_t limit = (uint64_t)l->cf->t->timeout_ms * 1000000;
	struct lconn *c;
	char secs[32];
	long i;

	l->last_tick = now;
	for (i = 0; i < l->cf->conns; i++) {
		c = &l->conns[i];
		if (now - c->last <= limit)
			continue;
		if (c->state == LC_CONNECTING)
			load_connect_failed(l, c, ETIMEDOUT);
		else if (c->state == LC_UP && c->issued > c->done) {
			load_note(l, "timed out after %s s waiting for reply",
			    ekko_seconds(l->cf->t->timeout_ms, secs,
			    sizeof(secs)));
			load_lost(l, c, LOAD_ERR_TIMEOUT);
		}
	}
}

/* Nothing more to send, nothing more to wait for? */
static int
load_finished(const struct load *l)
{
	if (l->abort || l->alive == 0)
		return 1;
	if (l->outstanding > 0)
		return 0;
	if (l->stopping)
		return 1;
	if (l->cf->rate <= 0)
		return l->budget == 0;
	return l->g >= l->gmax && l->backlog == 0;
}

/* How long epoll may sleep: until the next tick or the deadline. */
static int
load_wait_ms(const struct load *l, uint64_t now)
{
	uint64_t end = l->last_tick + LOAD_TICK_NS;

	if (l->deadline != 0 && !l->stopping && l->deadline < end)
		end = l->deadline;
	return now >= end ? 0 : (int)((end - now + 999999) / 1000000);
}

/* Run the loop: phase 0 until connected, phase 1 until finished. */
static void
load_loop(struct load *l, int phase)
{
	uint64_t now = util_now_ns(), expired;
	void *ptr;
	int i, n;

	while (phase == 0 ? l->connecting > 0 : !load_finished(l)) {
		if ((n = ev_wait(&l->ev, load_wait_ms(l, now))) == -1) {
			load_note(l, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			ptr = l->ev.events[i].data.ptr;
			if (ptr == &l->tfd)
				(void)!read(l->tfd, &expired, sizeof(expired));
			else
				load_event(l, ptr, l->ev.events[i].events);
		}
		now = util_now_ns();
		load_retry(l, now);
		if (l->deadline != 0 && now >= l->deadline)
			load_stop(l);
		load_schedule(l, now);
		if (now - l->last_tick >= LOAD_TICK_NS)
			load_tick(l, now);
		if (ekko_interrupted) {
			load_stop(l);
			l->abort = 1;
			break;
		}
	}
}

/* Allocate everything up front: nothing is allocated per request. */
static int
load_setup(struct load *l, const struct load_conf *cf,
    struct load_result *res)
{
	size_t n = (size_t)cf->conns, p = (size_t)cf->pipeline, i;

	memset(l, 0, sizeof(*l));
	l->cf = cf;
	l->res = res;
	l->tfd = -1;
	l->ev.epfd = -1;
	hist_init(&res->hist);
	if (wire_init(&l->wire, cf->mode, (size_t)cf->size) == -1 ||
	    (l->io = malloc(LOAD_IO)) == NULL ||
	    (l->conns = calloc(n, sizeof(*l->conns))) == NULL ||
	    (l->ring = calloc(n * p, sizeof(*l->ring))) == NULL ||
	    (l->retry = calloc(n, sizeof(*l->retry))) == NULL ||
	    ev_init(&l->ev, n < LOAD_EVENTS ? (int)n + 1 : LOAD_EVENTS) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		l->conns[i].fd = -1;
		l->conns[i].id = (long)i;
		l->conns[i].ts = l->ring + i * p;
	}
	if (cf->rate > 0 && ((l->tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    ev_add(&l->ev, l->tfd, EPOLLIN, &l->tfd) == -1))
		return -1;
	return 0;
}

/* Close and free what load_setup and the run left. */
static void
load_cleanup(struct load *l)
{
	long i;

	for (i = 0; l->conns != NULL && i < l->cf->conns; i++)
		if (l->conns[i].fd != -1)
			close(l->conns[i].fd);
	if (l->tfd != -1)
		close(l->tfd);
	if (l->ev.epfd != -1)
		ev_close(&l->ev);
	free(l->conns);
	free(l->ring);
	free(l->retry);
	free(l->io);
	wire_free(&l->wire);
}

/*
 * Connect everything, then drive the load until the requests, the
 * duration or the patience run out.  -1 if it could not even start.
 */
int
load_run(const struct load_conf *cf, struct load_result *res)
{
	struct load l;
	uint64_t now;
	long i;

	if (load_setup(&l, cf, res) == -1) {
		ekko_warn(NULL, "bench: %s", strerror(errno));
		load_cleanup(&l);
		return -1;
	}
	now = util_now_ns();
	for (i = 0; i < cf->conns; i++)
		load_connect(&l, &l.conns[i], now);
	l.last_tick = now;
	load_loop(&l, 0);
	l.started = 1;
	l.start = l.last_tick = util_now_ns();
	l.deadline = cf->duration_ns ? l.start + cf->duration_ns : 0;
	l.budget = cf->duration_ns ? UINT64_MAX : cf->requests;
	l.gmax = cf->duration_ns ? (uint64_t)((double)cf->duration_ns *
	    cf->rate / 1e9) : cf->requests;
	for (i = 0; cf->rate <= 0 && i < cf->conns; i++) {
		load_issue(&l, &l.conns[i], l.start);
		load_flush(&l, &l.conns[i]);
	}
	load_schedule(&l, l.start);
	if (!ekko_interrupted)
		load_loop(&l, 1);
	res->ns = (l.last_done > l.start ? l.last_done : util_now_ns()) -
	    l.start;
	load_cleanup(&l);
	return 0;
}
