/*
 * loadgen.c -- the load generator of make bench and make bench-scale.
 *
 * Closed loop (-m closed): every connection keeps -k requests in flight and
 * sends a new one as each reply completes.  Connect-echo-close (-m cec):
 * every slot connects, sends one request, checks the reply, closes, again.
 * Hold (-m hold): open -c connections, echo once on each, stay idle -H
 * seconds (with -G, counted from a SIGUSR1 that says every generator is
 * connected), echo again on each; any failure fails the run.  Stats (-m stats):
 * print an ekko STATS reply.
 *
 * Every reply is checked byte for byte against what it must be: each
 * request carries a stamp unique to its connection and sequence number, so
 * a reply that is late, early, mixed up or damaged is a mismatch.  The
 * request path allocates nothing: requests are written with writev straight
 * from constant parts, replies are compared in place as they arrive.
 * Latency is taken once per epoll wake-up (one clock read for the batch).
 * The result is one line of key=value pairs on stdout.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <err.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXSIZE		(1 << 20)	/* largest payload */
#define MAXPIPE		1024		/* most requests in flight per conn */
#define MAXTHR		64
#define MAXEV		512
#define RBUFSZ		(256 * 1024)
#define NIOV		1024
#define STAMP		8
#define HBUCKETS	(59 * 64)
#define PARTMAX		64
#define PROTO_HDRLEN	5		/* ekko: u32 len, u8 op */

enum proto {
	P_RAW, P_LENGTH, P_EKKO_ECHO, P_EKKO_PING, P_REDIS, P_MEMCACHED
};

enum mode {
	M_CLOSED, M_CEC, M_HOLD, M_STATS
};

enum cstate {
	CS_FREE, CS_CONNECTING, CS_OPEN, CS_IDLE, CS_DEAD
};

/* A request or a reply: head, payload (stamp then body), tail. */
struct shape {
	uint8_t		 head[PARTMAX];
	size_t		 hlen;
	size_t		 plen;
	uint8_t		 tail[PARTMAX];
	size_t		 tlen;
};

struct conn {
	int		 fd;
	uint32_t	 id;
	enum cstate	 state;
	int		 wblocked;	/* short write: wait for EPOLLOUT */
	uint64_t	 issued;	/* requests issued */
	uint64_t	 wseq;		/* request being written */
	size_t		 woff;		/* bytes of it written */
	uint64_t	 rseq;		/* reply being read */
	size_t		 roff;		/* bytes of it read */
	uint64_t	 tstart;	/* cec: connect time */
	size_t		 ppleft;	/* -X: PROXY header bytes unsent */
	uint64_t	*tissue;	/* issue time of each one in flight */
	uint8_t		*stamps;	/* stamp of each request in flight */
	uint8_t		*reqs;		/* one request per slot, end to end */
};

struct worker {
	pthread_t	 tid;
	int		 idx;
	int		 ep;
	struct conn	*conns;
	int		 nconns;
	uint8_t		*rbuf;
	struct iovec	 iov[NIOV];
	uint64_t	 hist[HBUCKETS];
	uint64_t	 max;
	uint64_t	 done;		/* replies in the measuring window */
	uint64_t	 all;		/* replies, warm-up included */
	uint64_t	 mismatches;
	uint64_t	 errors;	/* resets, early closes */
	uint64_t	 connfail;
	uint64_t	 opened;	/* hold: connections opened so far */
	uint64_t	 ok;		/* hold: echoes verified this phase */
	uint64_t	 failed;	/* hold: connections lost */
};

static struct {
	struct sockaddr_in	 dst;
	uint32_t		 srcbase;	/* host order; 0: kernel's */
	int			 nsrc;
	enum proto		 proto;
	enum mode		 mode;
	int			 conns;
	int			 pipe;
	size_t			 size;
	double			 secs;
	double			 warm;
	double			 hold;
	int			 holdsig;	/* -G: hold from SIGUSR1 */
	int			 threads;
	int			 cpus[MAXTHR];
	int			 ncpus;
	int			 ckconc;	/* hold: connects in progress */
	int			 srvcpu;	/* CPU whose load to report */
	pid_t			 srvpid;	/* server, to tell others' */
	int			 proxy;		/* -X: PROXY v2 header first */
} opt;

/*
 * -X: every connection starts with this PROXY protocol v2 header (TCP
 * over IPv4, from 192.0.2.1:4567, the documentation range, to the
 * server), as haproxy's send-proxy-v2 would; the port is filled in.
 */
static uint8_t pp2[28] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
	0x0a, 0x21, 0x11, 0x00, 0x0c, 192, 0, 2, 1, 127, 0, 0, 1,
	0x11, 0xd7, 0, 0
};

static struct shape	 req, rep;
static uint8_t		*pattern;
static uint64_t		 t_warm, t_end;
static pthread_barrier_t barrier;
static struct worker	 workers[MAXTHR];

static const char *proto_names[] = {
	"raw", "length", "ekko-echo", "ekko-ping", "redis-echo",
	"memcached-version"
};
static const char *mode_names[] = { "closed", "cec", "hold", "stats" };

/* Monotonic time in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Histogram bucket of a latency: 64 linear steps per power of two. */
static int
hist_index(uint64_t v)
{
	int b;

	if (v < 64)
		return (int)v;
	b = 63 - __builtin_clzll(v);
	return (b - 5) * 64 + (int)((v >> (b - 6)) & 63);
}

/* Middle of a histogram bucket, in nanoseconds. */
static double
hist_value(int i)
{
	int b;

	if (i < 64)
		return i;
	b = i / 64 + 5;
	return (double)((uint64_t)(64 + i % 64) << (b - 6)) +
	    (double)(1ULL << (b - 6)) / 2;
}

/* The latency below which a fraction q of the samples fall. */
static double
hist_quantile(const uint64_t *h, uint64_t n, double q)
{
	uint64_t want, sum = 0;
	int i;

	if (n == 0)
		return 0;
	want = (uint64_t)(q * (double)n);
	if (want < 1)
		want = 1;
	for (i = 0; i < HBUCKETS; i++) {
		sum += h[i];
		if (sum >= want)
			return hist_value(i);
	}
	return hist_value(HBUCKETS - 1);
}

/* Put a 32-bit big-endian value. */
static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The stamp of request seq on connection id: unique per both. */
static uint64_t
stamp_of(uint32_t id, uint64_t seq)
{
	return ((uint64_t)id << 40) ^ (seq * 0x9E3779B97F4A7C15ULL) ^ 0x5A;
}

/* Start of a connection's constant body bytes in the pattern. */
static const uint8_t *
body_of(const struct conn *c)
{
	return pattern + (c->id % 251);
}

/* Lay out one message (request or reply) as at most four iovecs. */
static int
shape_iov(const struct shape *s, const struct conn *c, const uint8_t *stamp,
    size_t skip, struct iovec *iov)
{
	const uint8_t *p[4];
	size_t l[4], sl;
	int i, n = 0;

	sl = s->plen < STAMP ? s->plen : STAMP;
	p[0] = s->head;
	l[0] = s->hlen;
	p[1] = stamp;
	l[1] = sl;
	p[2] = body_of(c) + STAMP;
	l[2] = s->plen - sl;
	p[3] = s->tail;
	l[3] = s->tlen;
	for (i = 0; i < 4; i++) {
		if (skip >= l[i]) {
			skip -= l[i];
			continue;
		}
		iov[n].iov_base = (void *)(uintptr_t)(p[i] + skip);
		iov[n].iov_len = l[i] - skip;
		skip = 0;
		n++;
	}
	return n;
}

/* Whether len bytes at offset off of reply seq are what came in. */
static int
reply_matches(const struct conn *c, uint64_t seq, size_t off,
    const uint8_t *data, size_t len)
{
	struct iovec iov[4];
	uint8_t stamp[STAMP];
	uint64_t v;
	size_t k;
	int i, n;

	v = stamp_of(c->id, seq);
	memcpy(stamp, &v, sizeof(stamp));
	n = shape_iov(&rep, c, stamp, off, iov);
	for (i = 0; i < n && len > 0; i++) {
		k = iov[i].iov_len < len ? iov[i].iov_len : len;
		if (memcmp(iov[i].iov_base, data, k) != 0)
			return 0;
		data += k;
		len -= k;
	}
	return len == 0;
}

/* Total length of a message of a shape. */
static size_t
shape_len(const struct shape *s)
{
	return s->hlen + s->plen + s->tlen;
}

/*
 * Append len bytes at p to iov[0..n), extending the last piece when p
 * follows it: requests in consecutive slots go out as one piece, so that
 * the kernel's cost per piece does not grow with a protocol's header.
 */
static int
iov_add(struct iovec *iov, int n, const uint8_t *p, size_t len)
{
	if (n > 0 && (const uint8_t *)iov[n - 1].iov_base +
	    iov[n - 1].iov_len == p) {
		iov[n - 1].iov_len += len;
		return n;
	}
	iov[n].iov_base = (void *)(uintptr_t)p;
	iov[n].iov_len = len;
	return n + 1;
}

/* Lay out every request slot of c: all but the stamp never change. */
static void
reqs_init(struct conn *c)
{
	static const uint8_t nostamp[STAMP];
	struct iovec iov[4];
	size_t mlen = shape_len(&req), off;
	int i, k, n;

	if ((c->reqs = malloc((size_t)opt.pipe * mlen)) == NULL)
		err(1, "malloc");
	for (i = 0; i < opt.pipe; i++) {
		n = shape_iov(&req, c, nostamp, 0, iov);
		for (k = 0, off = 0; k < n; k++) {
			memcpy(c->reqs + (size_t)i * mlen + off,
			    iov[k].iov_base, iov[k].iov_len);
			off += iov[k].iov_len;
		}
	}
}

/* Issue one more request on a connection (written by conn_send). */
static void
conn_issue(struct conn *c, uint64_t now)
{
	uint64_t v;
	int slot;

	slot = c->issued % opt.pipe;
	v = stamp_of(c->id, c->issued);
	memcpy(c->stamps + slot * STAMP, &v, STAMP);
	memcpy(c->reqs + slot * shape_len(&req) + req.hlen, &v,
	    req.plen < STAMP ? req.plen : STAMP);
	c->tissue[slot] = now;
	c->issued++;
}

/* Close a connection and remember why. */
static void
conn_drop(struct worker *w, struct conn *c, uint64_t *counter)
{
	if (counter != NULL)
		(*counter)++;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = CS_DEAD;
	(void)w;
}

/* Write every issued request not yet written, as far as the socket takes. */
static int
conn_send(struct worker *w, struct conn *c)
{
	uint64_t seq;
	size_t off, mlen;
	ssize_t n;
	int niov;

	mlen = shape_len(&req);
	while (c->wseq < c->issued && !c->wblocked) {
		niov = 0;
		if (c->ppleft > 0) {
			w->iov[0].iov_base = pp2 + sizeof(pp2) - c->ppleft;
			w->iov[0].iov_len = c->ppleft;
			niov = 1;
		}
		off = c->woff;
		for (seq = c->wseq; seq < c->issued && niov < NIOV; seq++) {
			niov = iov_add(w->iov, niov, c->reqs +
			    (seq % opt.pipe) * mlen + off, mlen - off);
			off = 0;
		}
		n = writev(c->fd, w->iov, niov);
		if (n < 0) {
			if (errno == EAGAIN) {
				c->wblocked = 1;
				return 0;
			}
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (c->ppleft > 0) {
			mlen = (size_t)n < c->ppleft ? (size_t)n : c->ppleft;
			c->ppleft -= mlen;
			n -= (ssize_t)mlen;
			mlen = shape_len(&req);
		}
		while (n > 0) {
			if ((size_t)n >= mlen - c->woff) {
				n -= mlen - c->woff;
				c->wseq++;
				c->woff = 0;
			} else {
				c->woff += n;
				n = 0;
			}
		}
		if (c->wseq < c->issued && seq == c->issued)
			c->wblocked = 1;
	}
	return 0;
}

/* Account one complete, verified reply. */
static void
reply_done(struct worker *w, struct conn *c, uint64_t now)
{
	uint64_t t0, lat;

	t0 = opt.mode == M_CEC ? c->tstart : c->tissue[c->rseq % opt.pipe];
	lat = now > t0 ? now - t0 : 0;
	c->rseq++;
	c->roff = 0;
	if (opt.mode == M_HOLD) {
		w->ok++;
		return;
	}
	w->all++;
	if (now >= t_warm && now < t_end) {
		w->hist[hist_index(lat)]++;
		if (lat > w->max)
			w->max = lat;
		w->done++;
	}
	if (opt.mode == M_CLOSED && now < t_end)
		conn_issue(c, now);
}

/*
 * Read what the socket holds and check it reply by reply.  Returns 1 when
 * the connection is still open, 0 when it was dropped.
 */
static int
conn_recv(struct worker *w, struct conn *c, uint64_t now)
{
	const uint8_t *p;
	size_t rlen, k;
	ssize_t n;

	rlen = shape_len(&rep);
	for (;;) {
		n = read(c->fd, w->rbuf, RBUFSZ);
		if (n < 0) {
			if (errno == EAGAIN)
				return 1;
			if (errno == EINTR)
				continue;
			conn_drop(w, c, &w->errors);
			return 0;
		}
		if (n == 0) {
			conn_drop(w, c, &w->errors);
			return 0;
		}
		p = w->rbuf;
		while (n > 0) {
			if (c->rseq >= c->issued) {
				/* bytes nobody asked for */
				conn_drop(w, c, &w->mismatches);
				return 0;
			}
			k = rlen - c->roff;
			if ((size_t)n < k)
				k = n;
			if (!reply_matches(c, c->rseq, c->roff, p, k)) {
				conn_drop(w, c, &w->mismatches);
				return 0;
			}
			c->roff += k;
			p += k;
			n -= k;
			if (c->roff == rlen) {
				reply_done(w, c, now);
				if (opt.mode != M_CLOSED)
					return 1;
			}
		}
		if (p - w->rbuf < RBUFSZ)
			return 1;	/* a short read drained the socket */
	}
}

/* Start a non-blocking connect, from the next source address if asked. */
static int
conn_open(struct worker *w, struct conn *c, uint64_t now)
{
	struct epoll_event ev;
	struct sockaddr_in src;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1)
		goto fail;
	if (opt.srcbase != 0) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(opt.srcbase +
		    (uint32_t)(w->opened % opt.nsrc));
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1)
			goto fail;
	}
	w->opened++;
	c->ppleft = opt.proxy ? sizeof(pp2) : 0;
	if (opt.mode != M_CEC)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&opt.dst, sizeof(opt.dst))
	    == -1 && errno != EINPROGRESS)
		goto fail;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		goto fail;
	c->state = CS_CONNECTING;
	c->wblocked = 1;
	c->tstart = now;
	return 0;
fail:
	conn_drop(w, c, &w->connfail);
	return -1;
}

/* Reset a slot's counters for a new connection. */
static void
conn_reset(struct conn *c)
{
	c->issued = c->wseq = c->rseq = 0;
	c->woff = c->roff = 0;
	c->wblocked = 0;
}

/* Handle one readiness event; returns 0 if the connection was dropped. */
static int
conn_event(struct worker *w, struct conn *c, uint32_t evs, uint64_t now)
{
	if (c->state == CS_DEAD || c->fd == -1)
		return 0;
	if (c->state == CS_CONNECTING) {
		if (evs & (EPOLLERR | EPOLLHUP)) {
			conn_drop(w, c, &w->connfail);
			return 0;
		}
		if (!(evs & EPOLLOUT))
			return 1;
		c->state = CS_OPEN;
	}
	if (evs & EPOLLOUT)
		c->wblocked = 0;
	if (c->state == CS_IDLE && (evs & (EPOLLIN | EPOLLRDHUP | EPOLLERR |
	    EPOLLHUP))) {
		conn_drop(w, c, &w->failed);	/* closed while idle */
		return 0;
	}
	if (conn_send(w, c) == -1) {
		conn_drop(w, c, &w->errors);
		return 0;
	}
	if ((evs & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) &&
	    !conn_recv(w, c, now))
		return 0;
	if (conn_send(w, c) == -1) {
		conn_drop(w, c, &w->errors);
		return 0;
	}
	return 1;
}

/* Pin the calling thread to one CPU. */
static void
pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		warn("sched_setaffinity %d", cpu);
}

/* Connect a closed-loop connection, then make it non-blocking. */
static int
closed_connect(struct worker *w, struct conn *c)
{
	struct epoll_event ev;
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&opt.dst, sizeof(opt.dst)) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->state = CS_OPEN;
	c->ppleft = opt.proxy ? sizeof(pp2) : 0;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Give a worker its connections and their in-flight bookkeeping. */
static void
worker_init(struct worker *w, int idx, int first, int n)
{
	int i;

	w->idx = idx;
	w->nconns = n;
	if ((w->conns = calloc(n ? n : 1, sizeof(*w->conns))) == NULL ||
	    (w->rbuf = malloc(RBUFSZ)) == NULL)
		err(1, "malloc");
	for (i = 0; i < n; i++) {
		w->conns[i].fd = -1;
		w->conns[i].id = first + i;
		w->conns[i].tissue = calloc(opt.pipe, sizeof(uint64_t));
		w->conns[i].stamps = calloc(opt.pipe, STAMP);
		if (w->conns[i].tissue == NULL || w->conns[i].stamps == NULL)
			err(1, "calloc");
		reqs_init(&w->conns[i]);
	}
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
}

/* cec: open a slot's next connection with its one request. */
static void
cec_start(struct worker *w, struct conn *c, uint64_t now)
{
	conn_reset(c);
	if (conn_open(w, c, now) == 0)
		conn_issue(c, now);
}

/* A load thread: connect, wait for the start, run until the deadline. */
static void *
worker_run(void *arg)
{
	struct epoll_event evs[MAXEV];
	struct worker *w = arg;
	struct conn *c;
	uint64_t now;
	int i, k, n, alive;

	if (opt.ncpus > 0)
		pin_cpu(opt.cpus[w->idx % opt.ncpus]);
	for (i = 0; opt.mode == M_CLOSED && i < w->nconns; i++) {
		if (closed_connect(w, &w->conns[i]) == -1) {
			w->connfail++;
			w->conns[i].state = CS_DEAD;
		}
	}
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	now = now_ns();
	for (i = 0; i < w->nconns; i++) {
		c = &w->conns[i];
		if (opt.mode == M_CEC) {
			cec_start(w, c, now);
			continue;
		}
		if (c->state != CS_OPEN)
			continue;
		for (k = 0; k < opt.pipe; k++)
			conn_issue(c, now);
		if (conn_send(w, c) == -1)
			conn_drop(w, c, &w->errors);
	}
	while (now < t_end) {
		n = epoll_wait(w->ep, evs, MAXEV, 20);
		now = now_ns();
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			alive = conn_event(w, c, evs[i].events, now);
			if (opt.mode != M_CEC || (alive && c->rseq == 0))
				continue;
			if (alive) {
				close(c->fd);
				c->fd = -1;
			}
			if (now < t_end)
				cec_start(w, c, now);
		}
	}
	for (i = 0; i < w->nconns; i++)
		if (w->conns[i].fd != -1)
			close(w->conns[i].fd);
	return NULL;
}

/* Hold mode: wait for the outstanding echoes of a phase. */
static void
hold_wait(struct worker *w, int *pending, uint64_t deadline, int opening)
{
	struct epoll_event evs[MAXEV];
	struct conn *c;
	uint64_t now, before;
	int i, n, next = 0;

	now = now_ns();
	while (now < deadline && (*pending > 0 || (opening &&
	    next < w->nconns))) {
		while (opening && next < w->nconns && *pending < opt.ckconc) {
			c = &w->conns[next++];
			conn_reset(c);
			if (conn_open(w, c, now) == 0) {
				conn_issue(c, now);
				(*pending)++;
			}
		}
		n = epoll_wait(w->ep, evs, MAXEV, 100);
		now = now_ns();
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->state == CS_IDLE || c->state == CS_DEAD) {
				conn_event(w, c, evs[i].events, now);
				continue;
			}
			before = w->ok;
			if (!conn_event(w, c, evs[i].events, now))
				(*pending)--;
			else if (w->ok > before) {
				c->state = CS_IDLE;
				(*pending)--;
			}
		}
	}
}

/* Hold mode with -G: SIGUSR1 says every generator is connected. */
static volatile sig_atomic_t hold_go;

static void
hold_on_usr1(int sig)
{
	(void)sig;
	hold_go = 1;
}

/* Failures so far in hold mode. */
static uint64_t
hold_failures(const struct worker *w)
{
	return w->connfail + w->errors + w->mismatches + w->failed;
}

/* Hold mode: connect all, echo, idle, echo again; 0 if nothing failed. */
static int
hold_run(void)
{
	struct epoll_event evs[MAXEV];
	struct worker *w = &workers[0];
	struct conn *c;
	uint64_t now, end, ok1, f1;
	int i, n, pending = 0, live = 0;

	if (opt.ncpus > 0)
		pin_cpu(opt.cpus[0]);
	if (opt.holdsig)
		signal(SIGUSR1, hold_on_usr1);
	hold_wait(w, &pending, now_ns() + 600ULL * 1000000000, 1);
	ok1 = w->ok;
	f1 = hold_failures(w);
	printf("phase=connected conns=%d ok=%ju failures=%ju\n", opt.conns,
	    (uintmax_t)ok1, (uintmax_t)(opt.conns - ok1));
	fflush(stdout);
	/* -G: the hold starts when the caller says all are connected */
	while (opt.holdsig && !hold_go) {
		n = epoll_wait(w->ep, evs, MAXEV, 100);
		now = now_ns();
		for (i = 0; i < n; i++)
			conn_event(w, evs[i].data.ptr, evs[i].events, now);
	}
	end = now_ns() + (uint64_t)(opt.hold * 1e9);
	while ((now = now_ns()) < end) {
		n = epoll_wait(w->ep, evs, MAXEV, (int)((end - now) / 1000000)
		    + 1);
		for (i = 0; i < n; i++)
			conn_event(w, evs[i].data.ptr, evs[i].events, now);
	}
	w->ok = 0;
	now = now_ns();
	for (i = 0; i < w->nconns; i++) {
		c = &w->conns[i];
		if (c->state != CS_IDLE)
			continue;
		live++;
		c->state = CS_OPEN;
		conn_issue(c, now);
		if (conn_send(w, c) == -1)
			conn_drop(w, c, &w->errors);
		else
			pending++;
	}
	printf("phase=held conns=%d live=%d lost=%ju\n", opt.conns, live,
	    (uintmax_t)(hold_failures(w) - f1));
	fflush(stdout);
	hold_wait(w, &pending, now_ns() + 300ULL * 1000000000, 0);
	printf("mode=hold conns=%d echo1_ok=%ju echo2_ok=%ju connfail=%ju "
	    "errors=%ju mismatches=%ju lost_idle=%ju failures=%ju\n",
	    opt.conns, (uintmax_t)ok1, (uintmax_t)w->ok,
	    (uintmax_t)w->connfail, (uintmax_t)w->errors,
	    (uintmax_t)w->mismatches, (uintmax_t)w->failed,
	    (uintmax_t)(opt.conns - w->ok));
	return w->ok == (uint64_t)opt.conns ? 0 : 1;
}

/* Connect, blocking, for a one-off exchange. */
static int
dial(void)
{
	struct timeval tv = { 5, 0 };
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&opt.dst, sizeof(opt.dst)) == -1)
		err(3, "connect %s:%d", inet_ntoa(opt.dst.sin_addr),
		    ntohs(opt.dst.sin_port));
	return fd;
}

/* Read exactly n bytes or die. */
static void
read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0)
			errx(1, "short reply");
		p += r;
		n -= r;
	}
}

/* Stats mode: print the payload of an ekko STATS reply. */
static int
stats_run(void)
{
	uint8_t hdr[PROTO_HDRLEN] = { 0, 0, 0, 1, 0x03 }, *buf;
	uint32_t len;
	int fd;

	fd = dial();
	if (write(fd, hdr, sizeof(hdr)) != sizeof(hdr))
		err(1, "write");
	read_full(fd, hdr, sizeof(hdr));
	len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	if (len < 1 || len > (1 << 24) || (buf = malloc(len)) == NULL)
		errx(1, "bad STATS reply length %u", len);
	read_full(fd, buf, len - 1);
	if (hdr[4] != 0x83)
		errx(1, "STATS refused: %.*s", (int)len - 1, buf);
	fwrite(buf, 1, len - 1, stdout);
	close(fd);
	return 0;
}

/* Ask memcached its version once: that line is every reply. */
static void
memcached_probe(void)
{
	uint8_t c;
	int fd;

	fd = dial();
	if (write(fd, "version\r\n", 9) != 9)
		err(1, "write");
	rep.hlen = 0;
	do {
		read_full(fd, &c, 1);
		if (rep.hlen == sizeof(rep.head))
			errx(1, "memcached version reply too long");
		rep.head[rep.hlen++] = c;
	} while (c != '\n');
	close(fd);
}

/* Build the request and reply shapes of the protocol. */
static void
shapes_init(void)
{
	size_t s = opt.size;

	req.plen = rep.plen = s;
	switch (opt.proto) {
	case P_RAW:
		break;
	case P_LENGTH:
		put_be32(req.head, s);
		put_be32(rep.head, s);
		req.hlen = rep.hlen = 4;
		break;
	case P_EKKO_ECHO:
	case P_EKKO_PING:
		put_be32(req.head, opt.proto == P_EKKO_ECHO ? s + 1 : 1);
		req.head[4] = opt.proto == P_EKKO_ECHO ? 0x02 : 0x01;
		req.hlen = PROTO_HDRLEN;
		if (opt.proto == P_EKKO_ECHO) {
			memcpy(rep.head, req.head, PROTO_HDRLEN);
			rep.head[4] = 0x82;
			rep.hlen = PROTO_HDRLEN;
			break;
		}
		req.plen = rep.plen = 0;
		memcpy(rep.head, "\0\0\0\5\x81PONG", 9);
		rep.hlen = 9;
		break;
	case P_REDIS:
		req.hlen = snprintf((char *)req.head, sizeof(req.head),
		    "*2\r\n$4\r\nECHO\r\n$%zu\r\n", s);
		rep.hlen = snprintf((char *)rep.head, sizeof(rep.head),
		    "$%zu\r\n", s);
		memcpy(req.tail, "\r\n", 2);
		memcpy(rep.tail, "\r\n", 2);
		req.tlen = rep.tlen = 2;
		break;
	case P_MEMCACHED:
		memcpy(req.head, "version\r\n", 9);
		req.hlen = 9;
		req.plen = rep.plen = 0;
		memcached_probe();
		break;
	}
}

/* Fill the payload pattern with pseudo-random bytes. */
static void
pattern_init(void)
{
	uint64_t x = 0x243F6A8885A308D3ULL;
	size_t i;

	if ((pattern = malloc(MAXSIZE + 256 + STAMP)) == NULL)
		err(1, "malloc");
	for (i = 0; i < MAXSIZE + 256 + STAMP; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pattern[i] = (uint8_t)(x >> 32);
	}
}

/* Index of a name in a table, or -1. */
static int
lookup(const char *name, const char **tab, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(name, tab[i]) == 0)
			return i;
	return -1;
}

/* Parse a CPU list like "0,1". */
static void
parse_cpus(char *s)
{
	char *t;

	opt.ncpus = 0;
	while ((t = strsep(&s, ",")) != NULL && opt.ncpus < MAXTHR)
		opt.cpus[opt.ncpus++] = atoi(t);
}

/* Raise the open-files limit as far as allowed. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Explain the options and exit 2. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen [-a addr] -p port [-P proto] [-m mode] [-c conns]\n"
	    "    [-k inflight] [-s size] [-d secs] [-W warmup] [-T threads]\n"
	    "    [-C cpu,...] [-S srvcpu] [-Q srvpid] [-B srcaddr -N nsrc]\n"
	    "    [-H holdsecs [-G]] [-K conc] [-X (PROXY v2 header first)]\n"
	    "  proto: raw length ekko-echo ekko-ping redis-echo "
	    "memcached-version\n"
	    "  mode:  closed cec hold stats\n");
	exit(2);
}

/* Busy and total jiffies of one CPU from /proc/stat. */
static void
cpu_sample(int cpu, uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	char line[512], name[16];
	FILE *fp;
	int i;

	*busy = *total = 0;
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	if ((fp = fopen("/proc/stat", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, name, strlen(name)) != 0)
			continue;
		sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu "
		    "%llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		    &v[6], &v[7]);
		for (i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];
		break;
	}
	fclose(fp);
}

/* Clock ticks of CPU time used by a process (all its threads). */
static uint64_t
proc_ticks(long pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* after ")": state is field 3, utime 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* Ticks used by a process and its children (ekkod's workers). */
static uint64_t
tree_ticks(long pid)
{
	char path[64];
	uint64_t t;
	long child;
	FILE *fp;

	t = proc_ticks(pid);
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	if ((fp = fopen(path, "r")) == NULL)
		return t;
	while (fscanf(fp, "%ld", &child) == 1)
		t += proc_ticks(child);
	fclose(fp);
	return t;
}

/* Ticks all CPUs spent busy or stolen, and their total. */
static void
sys_ticks(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	char line[512];
	FILE *fp;
	int i;

	*busy = *total = 0;
	if ((fp = fopen("/proc/stat", "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    strncmp(line, "cpu ", 4) == 0) {
		sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu",
		    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		for (i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];
	}
	fclose(fp);
}

/* Sleep until a monotonic time. */
static void
sleep_until(uint64_t t)
{
	struct timespec ts;

	ts.tv_sec = t / 1000000000ULL;
	ts.tv_nsec = t % 1000000000ULL;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

static double	 srv_busy = -1;
static double	 others = -1;	/* share of all CPUs used by other processes */

/* Merge the workers' results and print the one result line. */
static int
report(double secs)
{
	static uint64_t h[HBUCKETS];
	uint64_t done = 0, all = 0, mis = 0, errs = 0, cf = 0, max = 0;
	double rps;
	int t, i;

	for (t = 0; t < opt.threads; t++) {
		for (i = 0; i < HBUCKETS; i++)
			h[i] += workers[t].hist[i];
		done += workers[t].done;
		all += workers[t].all;
		mis += workers[t].mismatches;
		errs += workers[t].errors;
		cf += workers[t].connfail;
		if (workers[t].max > max)
			max = workers[t].max;
	}
	rps = done / secs;
	printf("proto=%s mode=%s conns=%d inflight=%d size=%zu threads=%d "
	    "secs=%.2f requests=%ju rps=%.0f gbps=%.3f p50_us=%.2f "
	    "p99_us=%.2f p999_us=%.2f max_us=%.2f mismatches=%ju errors=%ju "
	    "connfail=%ju srv_busy=%.2f others=%.3f total=%ju valid=%d\n",
	    proto_names[opt.proto],
	    mode_names[opt.mode], opt.conns, opt.pipe, rep.plen, opt.threads,
	    secs, (uintmax_t)done, rps, rps * rep.plen / 1e9,
	    hist_quantile(h, done, 0.50) / 1e3,
	    hist_quantile(h, done, 0.99) / 1e3,
	    hist_quantile(h, done, 0.999) / 1e3, max / 1e3, (uintmax_t)mis,
	    (uintmax_t)errs, (uintmax_t)cf, srv_busy, others, (uintmax_t)all,
	    mis == 0 && errs == 0 && cf == 0 && done > 0);
	return mis == 0 && errs == 0 && cf == 0 && done > 0 ? 0 : 1;
}

/* Start the load threads, time the run, report. */
static int
load_run(void)
{
	uint64_t t0, b0, b1, j0, j1, s0, s1, a0, a1, o0, o1;
	int t, first = 0, n;

	if (pthread_barrier_init(&barrier, NULL, opt.threads + 1) != 0)
		errx(1, "pthread_barrier_init");
	for (t = 0; t < opt.threads; t++) {
		n = opt.conns / opt.threads + (t < opt.conns % opt.threads);
		worker_init(&workers[t], t, first, n);
		first += n;
		if (pthread_create(&workers[t].tid, NULL, worker_run,
		    &workers[t]) != 0)
			errx(1, "pthread_create");
	}
	pthread_barrier_wait(&barrier);
	t0 = now_ns();
	t_warm = t0 + (uint64_t)(opt.warm * 1e9);
	t_end = t_warm + (uint64_t)(opt.secs * 1e9);
	pthread_barrier_wait(&barrier);
	sleep_until(t_warm);
	cpu_sample(opt.srvcpu, &b0, &j0);
	sys_ticks(&s0, &a0);
	o0 = proc_ticks(getpid()) + (opt.srvpid > 0 ? tree_ticks(opt.srvpid) :
	    0);
	sleep_until(t_end);
	cpu_sample(opt.srvcpu, &b1, &j1);
	sys_ticks(&s1, &a1);
	o1 = proc_ticks(getpid()) + (opt.srvpid > 0 ? tree_ticks(opt.srvpid) :
	    0);
	if (opt.srvcpu >= 0 && j1 > j0)
		srv_busy = (double)(b1 - b0) / (double)(j1 - j0);
	if (opt.srvpid > 0 && a1 > a0)
		others = ((double)(s1 - s0) - (double)(o1 - o0)) /
		    (double)(a1 - a0);
	for (t = 0; t < opt.threads; t++)
		pthread_join(workers[t].tid, NULL);
	return report(opt.secs);
}

/* Parse options, set up, run the chosen mode. */
int
main(int argc, char *argv[])
{
	const char *addr = "127.0.0.1";
	struct in_addr in;
	int ch, port = 0;

	opt.proto = P_RAW;
	opt.mode = M_CLOSED;
	opt.conns = 1;
	opt.pipe = 1;
	opt.size = 64;
	opt.secs = 5;
	opt.warm = 0.25;
	opt.threads = 1;
	opt.nsrc = 1;
	opt.ckconc = 256;
	opt.srvcpu = -1;
	opt.srvpid = -1;
	while ((ch = getopt(argc, argv, "a:B:c:C:d:GH:k:K:m:N:p:P:Q:s:S:T:W:X"))
	    != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'B':
			if (inet_pton(AF_INET, optarg, &in) != 1)
				usage();
			opt.srcbase = ntohl(in.s_addr);
			break;
		case 'c':
			opt.conns = atoi(optarg);
			break;
		case 'C':
			parse_cpus(optarg);
			break;
		case 'd':
			opt.secs = atof(optarg);
			break;
		case 'G':
			opt.holdsig = 1;
			break;
		case 'H':
			opt.hold = atof(optarg);
			break;
		case 'k':
			opt.pipe = atoi(optarg);
			break;
		case 'K':
			opt.ckconc = atoi(optarg);
			break;
		case 'm':
			if ((ch = lookup(optarg, mode_names, 4)) == -1)
				usage();
			opt.mode = ch;
			break;
		case 'N':
			opt.nsrc = atoi(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			if ((ch = lookup(optarg, proto_names, 6)) == -1)
				usage();
			opt.proto = ch;
			break;
		case 'Q':
			opt.srvpid = atol(optarg);
			break;
		case 's':
			opt.size = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			opt.srvcpu = atoi(optarg);
			break;
		case 'T':
			opt.threads = atoi(optarg);
			break;
		case 'W':
			opt.warm = atof(optarg);
			break;
		case 'X':
			opt.proxy = 1;
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || port > 65535 || opt.conns < 1 || opt.pipe < 1 ||
	    opt.pipe > MAXPIPE || opt.size > MAXSIZE || opt.threads < 1 ||
	    opt.threads > MAXTHR || opt.nsrc < 1 || opt.ckconc < 1 ||
	    opt.secs <= 0)
		usage();
	opt.dst.sin_family = AF_INET;
	opt.dst.sin_port = htons(port);
	memcpy(pp2 + 26, &opt.dst.sin_port, 2);
	if (inet_pton(AF_INET, addr, &opt.dst.sin_addr) != 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (opt.mode == M_STATS)
		return stats_run();
	pattern_init();
	shapes_init();
	if (opt.mode == M_CEC)
		opt.pipe = 1;
	if (opt.mode == M_HOLD) {
		opt.pipe = 1;
		opt.threads = 1;
		worker_init(&workers[0], 0, 0, opt.conns);
		return hold_run();
	}
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;
	return load_run();
}
