/*
 * fuzz_conn.c -- a worker's connection code (conn.c, connring.c,
 * connbuf.c, connproxy.c, service.c, metrics.c) against two hostile
 * peers, over real sockets.
 *
 * The input is a listener and a script for two peers: writes of literal
 * bytes, bulk writes (so that frames of tens of kilobytes wrap the
 * ring), writes left to pile up before the worker looks, reads of some
 * or all of what came back, a half-close.  The worker's own code serves
 * the other ends of two socketpairs, polled through its own epoll set
 * and run by its own timers, so partial reads, partial writes (a small
 * send buffer), output over max_output and the pause that follows, the
 * ring's wrap, a PROXY header in pieces, a partial frame at half-close
 * and one connection waiting for the memory another holds all happen as
 * on real connections.
 *
 * In echo mode the bytes that come back on each must be exactly the
 * complete frames of everything written to it, in order, as one linear
 * scan of its stream frames them: a partial frame at the end is dropped
 * and a frame over max_frame ends the stream (only a prefix, if memory
 * or a timeout closed it).  In command and metrics mode the replies
 * depend on counters and clocks, so there the check is that nothing
 * crashes, leaks or stalls.  Every connection must end once its peer
 * has half-closed, and give back its count and every buffer byte.
 */
#include <sys/socket.h>
#include <syslog.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "fuzz.h"
#include "proxy.h"
#include "util.h"

#define MAXFD		256
#define NPEERS		2
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
/*
 * max_frame, max_output and max_memory: the defaults, or small ones;
 * per_ip_connections off, or 1 (counted at a PROXY header's source).
 */
#define NLIMITS		16

/* One peer: our end of its socketpair, and what went each way. */
struct peer {
	int		 fd;
	struct conn	*c;		/* the worker's end */
	int		 shut;
	uint8_t		*stream;	/* all we wrote */
	size_t		 nstream;
	uint8_t		*reply;		/* what came back: the first OUT_MAX */
	size_t		 nreply;
};

static struct config	*configs[NLISTENERS][NLIMITS];
static struct worker	 w;
static struct peer	 peers[NPEERS];
static int		 hold;		/* writes pile up unread */
static uint64_t		 skew;		/* ms the clock was moved on */

static struct config *
load(size_t i, int lim)
{
	char text[1024];
	struct config_errors errs;
	struct config *cf;

	snprintf(text, sizeof(text),
	    "workers = 1;\nlog = { level = \"crit\"; };\n"
	    "limits = { %s %s %s %s };\n"
	    "listeners = ( { address = \"127.0.0.1\"; port = 7; %s } );\n",
	    lim & 1 ? "max_frame = 30000;" : "",
	    lim & 2 ? "max_output = 1024;" : "",
	    lim & 4 ? "max_memory = 1048576;" : "",
	    lim & 8 ? "per_ip_connections = 1;" : "", listener_text[i]);
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
	if (w.conns == NULL || w.scratch == NULL || ev_init(&w.ev, 16) == -1)
		abort();
	for (k = 0; k < NPEERS; k++) {
		peers[k].stream = malloc(OUT_MAX);
		peers[k].reply = malloc(OUT_MAX);
		if (peers[k].stream == NULL || peers[k].reply == NULL)
			abort();
	}
}

/* Run the worker as its loop does, until it has nothing to do. */
static void
pump(void)
{
	int i, n, r;

	for (r = 0; r < PUMP_ROUNDS; r++) {
		w.now = util_now_ms() + skew;
		w.lat_mark = util_now_ns();
		n = ev_wait(&w.ev, 0);
		for (i = 0; i < n; i++)
			conn_event(&w, w.ev.events[i].data.ptr,
			    w.ev.events[i].events);
		conn_expire(&w);	/* timers, and memory waiters woken */
		if (n <= 0)
			return;
	}
}

/*
 * Take what the worker sent pe, up to max bytes (0: all there is).  The
 * first OUT_MAX bytes are kept to compare; command mode's replies can
 * be more than that, and are only counted.
 */
static void
take(struct peer *pe, size_t max)
{
	static uint8_t sink[65536];
	size_t got = 0, want;
	ssize_t n;

	while (max == 0 || got < max) {
		want = max == 0 || max - got > sizeof(sink) ? sizeof(sink) :
		    max - got;
		if ((n = recv(pe->fd, sink, want, MSG_DONTWAIT)) <= 0)
			return;
		if (pe->nreply + (size_t)n <= OUT_MAX)
			memcpy(pe->reply + pe->nreply, sink, (size_t)n);
		pe->nreply += (size_t)n;
		got += (size_t)n;
	}
}

static void
take_all(void)
{
	int k;

	for (k = 0; k < NPEERS; k++)
		take(&peers[k], 0);
}

/* Write p[0..n) as pe, serving the worker while it cannot take it. */
static void
give(struct peer *pe, const uint8_t *p, size_t n)
{
	ssize_t k;
	int tries;

	if (pe->shut)
		return;
	if (pe->nstream + n > OUT_MAX)
		n = OUT_MAX - pe->nstream;
	for (tries = 0; n > 0 && tries < 64; tries++) {
		k = send(pe->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN)
			return;		/* the worker closed */
		if (k > 0) {
			memcpy(pe->stream + pe->nstream, p, (size_t)k);
			pe->nstream += (size_t)k;
			p += k;
			n -= (size_t)k;
		}
		if (hold && k > 0)
			continue;
		pump();
		if (k <= 0)
			take_all();	/* a paused worker waits for us */
	}
}

/*
 * Where echo must start framing pe's stream: after a PROXY header when
 * the listener takes one; -1 when the header is invalid or never came
 * whole (then nothing is echoed).
 */
static ssize_t
expected_start(const struct listener_conf *l, const struct peer *pe)
{
	struct proxy_hdr h;

	if (l->proxy == PROXY_OFF)
		return 0;
	if (proxy_parse(l->proxy, pe->stream, pe->nstream < PROXY_MAX ?
	    pe->nstream : PROXY_MAX, &h) != PROXY_OK)
		return -1;
	return (ssize_t)h.len;
}

/* The end of the complete frames of pe's stream from at on. */
static size_t
expected_end(const struct framer *f, const struct peer *pe, size_t at)
{
	size_t len, scanned = 0;

	while (frame_next(f, pe->stream + at, pe->nstream - at, &scanned,
	    &len) == FRAME_OK) {
		at += len;
		scanned = 0;
	}
	return at;
}

/*
 * Echo sent pe back exactly the complete frames of its stream; only a
 * prefix of them if cut short (closed for memory, or by a timeout), and
 * nothing if refused (per_ip_connections, at its PROXY header).
 */
static void
check_echo(const struct listener_conf *l, const struct peer *pe, int cut,
    int refused)
{
	ssize_t start = expected_start(l, pe);
	size_t want;

	if (start == -1 || (refused && pe->nreply == 0)) {
		CHECK(pe->nreply == 0);
		return;
	}
	want = expected_end(&l->framer, pe, (size_t)start) - (size_t)start;
	if (cut)
		CHECK(pe->nreply <= want);
	else
		CHECK(pe->nreply == want);
	CHECK(memcmp(pe->reply, pe->stream + start, pe->nreply) == 0);
}

/*
 * The source a PROXY header gave pe's connection is counted no more: one
 * more connection from it is let in under per_ip_connections = 1.
 */
static void
check_perip(const struct listener_conf *l, const struct peer *pe)
{
	static const uint8_t none[16];
	struct proxy_hdr h;
	const uint8_t *addr = none;

	if (l->proxy == PROXY_OFF || w.cf->limits.per_ip_connections == 0)
		return;
	if (proxy_parse(l->proxy, pe->stream, pe->nstream < PROXY_MAX ?
	    pe->nstream : PROXY_MAX, &h) == PROXY_OK && h.family != AF_UNSPEC)
		addr = h.addr;
	CHECK(perip_acquire(addr, w.slotno, 1) == 0);
	perip_release(addr, w.slotno);
}

/* Is any connection still open?  Any waiting for memory? */
static int
open_conns(int flag)
{
	int k, n = 0;

	for (k = 0; k < NPEERS; k++)
		n += (peers[k].c->flags & flag) != 0;
	return n;
}

/*
 * Every connection left open waits for memory that only the others
 * could give back, each holding a partial frame: a deadlock that the
 * worker's timers end (write_timeout bounds a memory wait, and
 * frame_timeout a partial frame).  Move the clock on
 * past every timeout and let them.  0 if that is not the state, so
 * nothing should have held them up.
 */
static int
expire(void)
{
	if (open_conns(CONN_MEMWAIT) != open_conns(CONN_OPEN))
		return 0;
	skew += 3600 * 1000;
	pump();
	return 1;
}

/* Play the script; 1 if every connection then ended. */
static int
play(const uint8_t *p, size_t n)
{
	uint8_t bulk[4096];
	struct peer *pe;
	size_t len, i;
	int k, arg;

	while (n > 0) {
		uint8_t op = *p++;

		n--;
		pe = &peers[op >> 7];
		arg = (op & 0x7f) / 4;
		switch (op % 4) {
		case 0:		/* literal bytes */
			len = n == 0 ? 0 : *p % 64 + 1;
			if (n > 0)
				p++, n--;
			if (len > n)
				len = n;
			give(pe, p, len);
			p += len;
			n -= len;
			break;
		case 1:		/* arg + 1 times 2 KiB of one value */
			memset(bulk, n > 0 ? *p : 0, sizeof(bulk));
			if (n > 0)
				p++, n--;
			for (len = (size_t)(arg + 1) * 2048; len > 0 &&
			    !pe->shut; len -= i) {
				i = len < sizeof(bulk) ? len : sizeof(bulk);
				give(pe, bulk, i);
			}
			break;
		case 2:		/* read arg KiB, or all */
			take(pe, (size_t)arg * 1024);
			break;
		case 3:
			if (arg == 0 && !pe->shut) {
				shutdown(pe->fd, SHUT_WR);
				pe->shut = 1;
			} else if (arg == 1)
				hold = !hold;
			break;
		}
		if (!hold)
			pump();
	}
	hold = 0;
	for (k = 0; k < NPEERS; k++)
		if (!peers[k].shut)
			shutdown(peers[k].fd, SHUT_WR);
	for (i = 0; i < DRAIN_ROUNDS && open_conns(CONN_OPEN); i++) {
		pump();
		take_all();
		if (i == DRAIN_ROUNDS / 2 && !expire())
			break;
	}
	take_all();
	if (open_conns(CONN_OPEN) == 0)
		return 1;
	fprintf(stderr, "fuzz_conn: stuck, flags %#x %#x\n",
	    peers[0].c->flags, peers[1].c->flags);
	return 0;
}

/* Open a connection for peer k, its sends short if small_sndbuf. */
static void
peer_open(struct listener_conf *l, int k, int small_sndbuf)
{
	static const uint8_t peer_addr[16];
	struct peer *pe = &peers[k];
	int sv[2], sndbuf = 2048;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(sv[0] < MAXFD && sv[1] < MAXFD);
	if (small_sndbuf)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
	pe->fd = sv[1];
	pe->c = &w.conns[sv[0]];
	pe->shut = 0;
	pe->nstream = pe->nreply = 0;
	CHECK(scoreboard_conn_take(w.slot, w.cf->limits.max_connections) ==
	    0);
	conn_open(&w, sv[0], l, 0, peer_addr, 0);
}

static uint64_t
memory_errors(void)
{
	return atomic_load(&w.slot->errors[ERR_MEMORY]) +
	    atomic_load(&w.slot->errors[ERR_NOMEM]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listener_conf *l;
	uint64_t nomem, perip, skew0 = skew;
	int k, cut, refused;

	if (w.conns == NULL)
		setup();
	if (size < 2)
		return 0;
	w.cf = configs[data[0] % NLISTENERS][data[1] % NLIMITS];
	l = &w.cf->listeners[0];
	hold = 0;
	w.now = util_now_ms() + skew;	/* the accept's time, for timers */
	for (k = 0; k < NPEERS; k++)	/* bit 4: peer 0's, bit 5: peer 1's */
		peer_open(l, k, data[1] & (16 << k));
	nomem = memory_errors();
	perip = atomic_load(&w.slot->errors[ERR_PER_IP]);
	CHECK(play(data + 2, size - 2));
	cut = skew != skew0 || memory_errors() != nomem;
	refused = atomic_load(&w.slot->errors[ERR_PER_IP]) != perip;
	for (k = 0; k < NPEERS; k++)
		close(peers[k].fd);
	CHECK(w.nconns == 0);
	CHECK(atomic_load(&w.slot->conns_active) == 0);
	if (getenv("FUZZ_CONN_DEBUG") != NULL)	/* to read a finding */
		fprintf(stderr, "fuzz_conn: wrote %zu %zu, read %zu %zu\n",
		    peers[0].nstream, peers[1].nstream, peers[0].nreply,
		    peers[1].nreply);
	if (l->mode == MODE_ECHO)
		for (k = 0; k < NPEERS; k++)
			check_echo(l, &peers[k], cut, refused);
	for (k = 0; k < NPEERS; k++)
		check_perip(l, &peers[k]);
	/* every buffer given back: only pooled blocks remain, then none */
	connbuf_release_pool(&w);
	CHECK(w.mem_held == 0);
	return 0;
}
