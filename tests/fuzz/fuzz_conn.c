/*
 * fuzz_conn.c -- a worker's connection code (conn.c, connring.c,
 * connbuf.c, service.c) against a hostile peer, over a real socket.
 *
 * The input is a listener and a script: writes of literal bytes, bulk
 * writes (so that frames of tens of kilobytes wrap the ring), writes
 * left to pile up before the worker looks, reads of some or all of what
 * came back, a half-close.  The worker's own code serves the other end
 * of a socketpair, polled through its own epoll set, so partial reads,
 * partial writes (a small send buffer), output over max_output and the
 * pause that follows, the ring's wrap, a PROXY header in pieces and a
 * partial frame at half-close all happen as on a real connection.  In echo mode the bytes that come back must be exactly
 * the complete frames of everything written, in order, as one linear
 * scan of the stream frames it: a partial frame at the end is dropped
 * and a frame over max_frame ends the stream.  In command and metrics
 * mode the replies depend on counters and clocks, so there the check is
 * that nothing crashes, leaks or stalls.
 */
#include <sys/socket.h>
#include <syslog.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "fuzz.h"
#include "proxy.h"
#include "util.h"

#define MAXFD		256
#define OUT_MAX		(4u << 20)	/* bytes of stream, and of reply kept */
#define PUMP_ROUNDS	64
#define DRAIN_ROUNDS	4096

/* The listeners: a config each, parsed once. */
static const char *const listener_text[] = {
	"mode = \"echo\"; framing = \"raw\";",
	"mode = \"echo\"; framing = \"length\";",
	"mode = \"echo\"; framing = \"line\";",
	"mode = \"echo\"; framing = \"line\"; delimiter = \"\\r\\n\";",
	"mode = \"echo\"; framing = \"fixed\"; frame_size = 7;",
	"mode = \"echo\"; framing = \"fixed\"; frame_size = 20000;",
	"mode = \"command\"; framing = \"length\";",
	"mode = \"command\"; framing = \"line\";",
	"mode = \"echo\"; framing = \"length\"; proxy_protocol = \"v2\"; "
	    "proxy_allow = [ \"0.0.0.0/0\" ];",
	"mode = \"echo\"; framing = \"line\"; proxy_protocol = \"any\"; "
	    "proxy_allow = [ \"0.0.0.0/0\" ];",
	"mode = \"metrics\";",
};
#define NLISTENERS	(sizeof(listener_text) / sizeof(listener_text[0]))
/* max_frame, max_output and max_memory: the defaults, or small ones */
#define NLIMITS		8

static struct config	*configs[NLISTENERS][NLIMITS];
static struct worker	 w;
static uint8_t		*stream, *reply;
static size_t		 nstream, nreply;
static uint64_t		 skew;		/* ms the clock was moved on */
static int		 hold;		/* writes pile up unread */

static struct config *
load(size_t i, int lim)
{
	char text[1024];
	struct config_errors errs;
	struct config *cf;

	snprintf(text, sizeof(text),
	    "workers = 1;\nlog = { level = \"crit\"; };\n"
	    "limits = { %s %s %s };\n"
	    "listeners = ( { address = \"127.0.0.1\"; port = 7; %s } );\n",
	    lim & 1 ? "max_frame = 30000;" : "",
	    lim & 2 ? "max_output = 1024;" : "",
	    lim & 4 ? "max_memory = 1048576;" : "", listener_text[i]);
	memset(&errs, 0, sizeof(errs));
	cf = config_load_string(text, "fuzz.conf", &errs);
	if (cf == NULL) {
		fprintf(stderr, "fuzz_conn: %s: %s\n", text,
		    errs.n > 0 ? errs.msgs[0] : "?");
		abort();
	}
	config_errors_free(&errs);
	return cf;
}

static void
setup(void)
{
	size_t i;
	int k;

	log_init("fuzz_conn", LOG_DAEMON, LOG_CRIT, 1);
	if (scoreboard_create(1000) == -1)
		abort();
	for (i = 0; i < NLISTENERS; i++)
		for (k = 0; k < NLIMITS; k++)
			configs[i][k] = load(i, k);
	w.slot = &sb->slot[0];
	w.maxfd = MAXFD;
	w.conn_limit = MAXFD - 16;
	w.conns = calloc(MAXFD, sizeof(*w.conns));
	w.scratch_size = 256 * 1024;
	w.scratch = malloc(w.scratch_size);
	stream = malloc(OUT_MAX);
	reply = malloc(OUT_MAX);
	if (w.conns == NULL || w.scratch == NULL || stream == NULL ||
	    reply == NULL || ev_init(&w.ev, 16) == -1)
		abort();
}

/* Run the worker's side until it has nothing more to do (or a bound). */
static void
pump(void)
{
	int i, n, r;

	for (r = 0; r < PUMP_ROUNDS; r++) {
		w.now = util_now_ms() + skew;
		w.lat_mark = util_now_ns();
		if ((n = ev_wait(&w.ev, 0)) <= 0)
			return;
		for (i = 0; i < n; i++)
			conn_event(&w, w.ev.events[i].data.ptr,
			    w.ev.events[i].events);
	}
}

/*
 * Take what the worker sent, up to max bytes (0: all there is).  The
 * first OUT_MAX bytes are kept to compare; command mode's replies can
 * be more than that, and are only counted.
 */
static void
take(int peer, size_t max)
{
	static uint8_t sink[65536];
	size_t got = 0, want;
	ssize_t n;

	while (max == 0 || got < max) {
		want = max == 0 || max - got > sizeof(sink) ? sizeof(sink) :
		    max - got;
		if ((n = recv(peer, sink, want, MSG_DONTWAIT)) <= 0)
			return;
		if (nreply + (size_t)n <= OUT_MAX)
			memcpy(reply + nreply, sink, (size_t)n);
		nreply += (size_t)n;
		got += (size_t)n;
	}
}

/* Write p[0..n) as the peer, serving the worker while it cannot take it. */
static void
give(int peer, const uint8_t *p, size_t n)
{
	ssize_t k;
	int tries;

	if (nstream + n > OUT_MAX)
		n = OUT_MAX - nstream;
	for (tries = 0; n > 0 && tries < 64; tries++) {
		k = send(peer, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN)
			return;		/* the worker closed */
		if (k > 0) {
			memcpy(stream + nstream, p, (size_t)k);
			nstream += (size_t)k;
			p += k;
			n -= (size_t)k;
		}
		if (hold && k > 0)
			continue;
		pump();
		if (k <= 0)
			take(peer, 0);	/* a paused worker waits for us */
	}
}

/*
 * Where echo must start framing the stream: after a PROXY header when
 * the listener takes one; -1 when the header is invalid or never came
 * whole (then nothing is echoed).
 */
static ssize_t
expected_start(const struct listener_conf *l)
{
	struct proxy_hdr h;

	if (l->proxy == PROXY_OFF)
		return 0;
	if (proxy_parse(l->proxy, stream, nstream < PROXY_MAX ? nstream :
	    PROXY_MAX, &h) != PROXY_OK)
		return -1;
	return (ssize_t)h.len;
}

/* What echo must send back for the stream: its complete frames. */
static size_t
expected_echo(const struct framer *f, size_t at)
{
	size_t len, scanned = 0;

	while (frame_next(f, stream + at, nstream - at, &scanned, &len) ==
	    FRAME_OK) {
		at += len;
		scanned = 0;
	}
	return at;
}

/*
 * A connection waiting for memory that nobody else will give back (it
 * holds the worker's share itself) waits for write_timeout: move the
 * clock on past every timeout and let the timers run.  0 if c was not
 * waiting for memory, so nothing should have held it up.
 */
static int
expire(struct conn *c)
{
	if (!(c->flags & CONN_MEMWAIT))
		return 0;
	skew += 3600 * 1000;
	w.now = util_now_ms() + skew;
	conn_expire(&w);
	return 1;
}

/* Play the script against one connection; 1 if it ended. */
static int
play(int peer, struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t bulk[4096];
	size_t len, i;
	int shut = 0;

	while (n > 0) {
		uint8_t op = *p++;

		n--;
		switch (op % 4) {
		case 0:		/* literal bytes */
			len = n == 0 ? 0 : *p % 64 + 1;
			if (n > 0)
				p++, n--;
			if (len > n)
				len = n;
			if (!shut)
				give(peer, p, len);
			p += len;
			n -= len;
			break;
		case 1:		/* op/4 + 1 times 2 KiB of one value */
			memset(bulk, n > 0 ? *p : 0, sizeof(bulk));
			if (n > 0)
				p++, n--;
			for (len = (size_t)(op / 4 + 1) * 2048; len > 0 &&
			    !shut; len -= i) {
				i = len < sizeof(bulk) ? len : sizeof(bulk);
				give(peer, bulk, i);
			}
			break;
		case 2:		/* read some, or all */
			take(peer, (size_t)(op / 4) * 1024);
			break;
		case 3:
			if (op / 4 == 0 && !shut) {
				shutdown(peer, SHUT_WR);
				shut = 1;
			} else if (op / 4 == 1)
				hold = !hold;
			break;
		}
		if (!hold)
			pump();
	}
	hold = 0;
	if (!shut)
		shutdown(peer, SHUT_WR);
	for (i = 0; i < DRAIN_ROUNDS && (c->flags & CONN_OPEN); i++) {
		pump();
		take(peer, 0);
		if (i == DRAIN_ROUNDS / 2 && (c->flags & CONN_OPEN) &&
		    !expire(c)) {
			fprintf(stderr, "fuzz_conn: stuck, flags %#x, in %zu "
			    "out %zu\n", c->flags, c->in.len, c->out.len);
			return 0;
		}
	}
	take(peer, 0);
	return !(c->flags & CONN_OPEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t peer_addr[16];
	struct listener_conf *l;
	struct config *cf;
	struct conn *c;
	int sv[2], sndbuf = 2048;
	uint64_t nomem, skew0 = skew;
	ssize_t start;
	int timed_out;

	if (w.conns == NULL)
		setup();
	if (size < 2)
		return 0;
	cf = configs[data[0] % NLISTENERS][data[1] % NLIMITS];
	l = &cf->listeners[0];
	w.cf = cf;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		return 0;
	if (sv[0] >= MAXFD || sv[1] >= MAXFD)
		abort();
	if (data[1] & 8)	/* the worker's sends come back short */
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
	nstream = nreply = 0;
	hold = 0;
	CHECK(scoreboard_conn_take(w.slot, cf->limits.max_connections) == 0);
	conn_open(&w, sv[0], l, 0, peer_addr, 0);
	c = &w.conns[sv[0]];
	nomem = atomic_load(&w.slot->errors[ERR_MEMORY]) +
	    atomic_load(&w.slot->errors[ERR_NOMEM]);
	CHECK(play(sv[1], c, data + 2, size - 2));
	close(sv[1]);
	timed_out = skew != skew0;
	CHECK(w.nconns == 0);
	CHECK(atomic_load(&w.slot->conns_active) == 0);
	if (getenv("FUZZ_CONN_DEBUG") != NULL)	/* to read a finding */
		fprintf(stderr, "fuzz_conn: wrote %zu, read %zu\n", nstream,
		    nreply);
	if (l->mode == MODE_ECHO && (start = expected_start(l)) == -1)
		CHECK(nreply == 0);
	else if (l->mode == MODE_ECHO) {
		size_t want = expected_echo(&l->framer, (size_t)start) -
		    (size_t)start;

		/* a connection closed for memory ends early, never wrong */
		if (timed_out || atomic_load(&w.slot->errors[ERR_MEMORY]) +
		    atomic_load(&w.slot->errors[ERR_NOMEM]) != nomem)
			CHECK(nreply <= want);
		else
			CHECK(nreply == want);
		CHECK(memcmp(reply, stream + start, nreply) == 0);
	}
	/* every buffer given back: only pooled blocks remain, then none */
	connbuf_release_pool(&w);
	CHECK(w.mem_held == 0);
	return 0;
}
