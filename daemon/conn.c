/*
 * conn.c -- one client connection: read, frame, answer, write.
 *
 * The hot path reads into the worker's scratch buffer, answers every
 * complete frame in it and writes the answers with one write(2).  Only
 * what is left over -- a partial frame, or output the socket would not
 * take -- is copied into buffers of the connection's own, taken from a
 * pool and given back as soon as they empty, so an idle connection holds
 * no buffer at all and a busy one allocates nothing per request.  What
 * they hold is counted against the worker's share of limits.max_memory
 * (connbuf.c); at the share, reading waits for memory to come back.
 *
 * Below this file: the ring that holds input across reads
 * (connring.c), the PROXY header that may come first (connproxy.c), and
 * the timer lists that close what stalls (conntimer.c).
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "proto.h"
#include "util.h"

/* ---- buffers ---- */

/*
 * No buffer for c: malloc failed (r -1), or the worker is at its
 * max_memory share (r -2).  Either way c cannot go on.
 */
void
conn_nomem(struct worker *w, struct conn *c, int r)
{
	if (r == -2) {
		w->mem_full_ms = w->now;
		sb_count(&w->slot->errors[ERR_MEMORY], 1);
		log_limited(&w->log_conn, "connection on port %d: worker at "
		    "its max_memory share; closing", c->l->port);
	} else
		sb_count(&w->slot->errors[ERR_NOMEM], 1);
	c->flags |= CONN_DEAD;
}

/* Free every pooled block (worker exit, for a clean valgrind run). */
void
conn_release_buffers(struct worker *w)
{
	connbuf_release_pool(w);
	buf_free(&w->reply);
	free(w->scratch);
	w->scratch = NULL;
}

/* ---- waiting for memory ---- */

/*
 * Can c never read again, however much memory the others give back?  A
 * reader needs more free than twice what it holds (connbuf_read_room),
 * and the most it could ever see free is its share less its input: an
 * input buffer past about a third of the share, with no output to
 * drain, holds a frame that can never complete.  Waiting write_timeout
 * for it would only keep that memory from the others.
 */
static int
conn_mem_hopeless(const struct worker *w, const struct conn *c)
{
	return c->out.len == 0 &&
	    3 * c->in.cap + 2 * CONNBUF_BLOCK > connbuf_share(w);
}

/*
 * Was the worker at its share within the last write_timeout?  Then a
 * connection that did not drain in that time is closed for memory.
 */
static int
conn_mem_full(const struct worker *w)
{
	return w->memwait != NULL || (w->mem_full_ms != 0 &&
	    w->now - w->mem_full_ms <=
	    (uint64_t)w->cf->limits.write_timeout * 1000 + 1000);
}

/*
 * A connection that holds part of a frame while it waits for memory
 * waits on its write timer.  Connections that each hold part of a frame
 * can each wait for memory only the others could give back, and with
 * frame_timeout and idle_timeout off nothing else would end that.  The
 * timer keeps its start across wake-ups that find no room; a read that
 * takes bytes ends it (conn_readable).  One that holds nothing is in
 * nobody's way and waits on, as a new connection does.
 */
static void
conn_mem_deadline(struct worker *w, struct conn *c)
{
	if (c->in.len > 0 && !(c->flags & CONN_INTIMER(TIMER_WRITE)))
		conntimer_touch(w, c, TIMER_WRITE);
}

/* Hold c's reading back until memory is given back (conn_mem_wake). */
static void
conn_mem_wait(struct worker *w, struct conn *c)
{
	w->mem_full_ms = w->now;
	w->mem_wait_free = connbuf_free(w);
	conn_mem_deadline(w, c);
	if (c->flags & CONN_MEMWAIT)
		return;
	c->flags |= CONN_MEMWAIT;
	c->mem_prev = NULL;
	c->mem_next = w->memwait;
	if (w->memwait != NULL)
		w->memwait->mem_prev = c;
	w->memwait = c;
}

/* Take c off the list of those waiting for memory. */
static void
conn_mem_unwait(struct worker *w, struct conn *c)
{
	if (!(c->flags & CONN_MEMWAIT))
		return;
	if (c->mem_prev != NULL)
		c->mem_prev->mem_next = c->mem_next;
	else
		w->memwait = c->mem_next;
	if (c->mem_next != NULL)
		c->mem_next->mem_prev = c->mem_prev;
	c->flags &= ~CONN_MEMWAIT;
}

static void	conn_update_events(struct worker *, struct conn *);

/*
 * Memory given back since the last one had to wait, and a quarter of
 * the share free: let every waiting connection read (those that still
 * do not fit wait again).  The margin keeps this walk from running for
 * every block given back; the first condition keeps a connection too
 * big for what is free from being woken on every turn of the loop.
 */
static void
conn_mem_wake(struct worker *w)
{
	struct conn *c;
	size_t avail;

	if (w->memwait == NULL)
		return;
	avail = connbuf_free(w);
	if (avail <= w->mem_wait_free || avail < connbuf_share(w) / 4)
		return;
	while ((c = w->memwait) != NULL) {
		conn_mem_unwait(w, c);
		conn_update_events(w, c);
	}
}

/* ---- timeouts ---- */

/* Close every connection whose oldest timer has run out. */
void
conn_expire(struct worker *w)
{
	static const int errs[3] = { ERR_TIMEOUT_IDLE, ERR_TIMEOUT_FRAME,
	    ERR_TIMEOUT_WRITE };
	struct conn *c;
	uint64_t lim;
	int k;

	for (k = 0; k < 3; k++) {
		lim = conntimer_ms(w, k);
		while ((c = w->lists.timer_head[k]) != NULL &&
		    w->now - c->since[k] >= lim) {
			sb_count(&w->slot->errors[(c->flags & CONN_PROXY) ?
			    ERR_PROXY : k == TIMER_WRITE && conn_mem_full(w) ?
			    ERR_MEMORY : errs[k]], 1);
			conn_close(w, c);
		}
	}
	conn_mem_wake(w);
	/* Large input buffers left empty: back to the allocator. */
	while ((c = w->lists.timer_head[TIMER_BUF]) != NULL &&
	    w->now - c->since[TIMER_BUF] >= BUF_KEEP_MS) {
		conntimer_del(w, c, TIMER_BUF);
		if (c->in.len == 0)
			connbuf_release(w, &c->in);
	}
}

/* ---- events ---- */

/* Register with epoll for what c needs now, if that changed. */
static void
conn_update_events(struct worker *w, struct conn *c)
{
	uint16_t want = 0;
	uint32_t ev = 0;

	if (!(c->flags & (CONN_PAUSED | CONN_EOF | CONN_CLOSING |
	    CONN_MEMWAIT)))
		want |= CONN_READING;
	if (c->out.len > 0)
		want |= CONN_WRITING;
	if (want == (c->flags & (CONN_READING | CONN_WRITING)))
		return;
	if (want & CONN_READING)
		ev |= EPOLLIN;
	if (want & CONN_WRITING)
		ev |= EPOLLOUT;
	if (ev_mod(&w->ev, c->fd, ev, c) == -1) {
		c->flags |= CONN_CLOSING;
		return;
	}
	c->flags = (uint16_t)((c->flags & ~(CONN_READING | CONN_WRITING)) |
	    want);
}

/* Nothing owed either way: no partial message, no pending output. */
int
conn_is_idle(const struct conn *c)
{
	return c->in.len == 0 && c->out.len == 0;
}

/* Give back the global and per-IP counts worker_admit took for c. */
static void
conn_give_counts(struct worker *w, struct conn *c)
{
	if (c->flags & CONN_PERIP)
		perip_release(c->peer, w->slotno);
	scoreboard_conn_give(w->slot);
}

/*
 * Start serving an accepted socket whose counts worker_admit has taken
 * (scoreboard_conn_take, and perip_acquire when perip): from here on
 * they are c's, given back by conn_close or here on failure.
 */
void
conn_open(struct worker *w, int fd, struct listener_conf *l, int admin,
    const uint8_t *peer, int perip)
{
	struct conn *c = &w->conns[fd];

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->l = l;
	memcpy(c->peer, peer, sizeof(c->peer));
	c->flags = CONN_OPEN | CONN_READING;
	if (admin)
		c->flags |= CONN_ADMIN;
	if (perip)
		c->flags |= CONN_PERIP;
	if (ev_add(&w->ev, fd, EPOLLIN, c) == -1) {
		log_limited(&w->log_conn, "epoll_ctl: %s", strerror(errno));
		close(fd);
		conn_give_counts(w, c);
		c->flags = 0;
		return;
	}
	conntimer_touch(w, c, TIMER_IDLE);
	if (l->proxy != PROXY_OFF) {
		/* the header is due within frame_timeout of the accept */
		c->flags |= CONN_PROXY;
		conntimer_touch(w, c, TIMER_FRAME);
	}
	w->nconns++;
	sb_count(&w->slot->accepted, 1);
}

/* Close c and give back everything it held. */
void
conn_close(struct worker *w, struct conn *c)
{
	int k;

	if (!(c->flags & CONN_OPEN))
		return;
	for (k = 0; k < NTIMERS; k++)
		conntimer_del(w, c, k);
	close(c->fd);
	conn_mem_unwait(w, c);
	connbuf_release(w, &c->in);
	connbuf_release(w, &c->out);
	conn_give_counts(w, c);
	c->flags = 0;
	w->nconns--;
	worker_count_closed(w);
}

/* Queue n bytes the socket did not take, behind what waits already. */
static void
conn_keep_out(struct worker *w, struct conn *c, const uint8_t *p, size_t n)
{
	int err;

	if (n == 0 || (c->flags & CONN_DEAD))
		return;
	if ((err = connbuf_reserve(w, &c->out, n, SIZE_MAX)) < 0) {
		conn_nomem(w, c, err);
		return;
	}
	memcpy(buf_tail(&c->out), p, n);
	BUF_COPIED(BUF_COPY_OUT, n);
	c->out.len += n;
}

/*
 * Send n bytes: straight to the socket while nothing is queued, and
 * whatever it will not take into the output buffer.
 */
void
conn_send(struct worker *w, struct conn *c, const uint8_t *p, size_t n)
{
	ssize_t r;

	if (n == 0 || (c->flags & CONN_DEAD))
		return;
	if (c->out.len == 0) {
		r = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r == (ssize_t)n) {
			sb_count(&w->slot->bytes_out, n);
			return;
		}
		if (r == -1 && errno != EAGAIN) {
			sb_count(&w->slot->errors[ERR_RESET], 1);
			c->flags |= CONN_DEAD;
			return;
		}
		if (r > 0) {
			sb_count(&w->slot->bytes_out, (uint64_t)r);
			p += r;
			n -= (size_t)r;
		}
		conntimer_touch(w, c, TIMER_WRITE);
	}
	conn_keep_out(w, c, p, n);
}

/*
 * Send cnt pieces with one call: straight to the socket while nothing
 * is queued, and whatever it will not take into the output buffer.
 */
void
conn_sendv(struct worker *w, struct conn *c, struct iovec *iov, int cnt)
{
	struct msghdr m;
	ssize_t r = 0;
	size_t left, take;
	int i;

	if (c->flags & CONN_DEAD)
		return;
	if (c->out.len == 0) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)cnt;
		r = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r == -1 && errno != EAGAIN) {
			sb_count(&w->slot->errors[ERR_RESET], 1);
			c->flags |= CONN_DEAD;
			return;
		}
		r = r < 0 ? 0 : r;
		sb_count(&w->slot->bytes_out, (uint64_t)r);
	}
	left = (size_t)r;
	for (i = 0; i < cnt; i++) {
		take = left < iov[i].iov_len ? left : iov[i].iov_len;
		left -= take;
		if (take == iov[i].iov_len)
			continue;
		if (c->out.len == 0)
			conntimer_touch(w, c, TIMER_WRITE);
		conn_keep_out(w, c, (const uint8_t *)iov[i].iov_base + take,
		    iov[i].iov_len - take);
	}
}

/*
 * A batch of command replies, in request order: runs of the worker's
 * reply buffer, and runs of the input where a reply is the request's
 * own bytes (a binary ECHO with its op byte turned into the reply's, a
 * large text ECHO's payload), sent with one call.  Reply runs are kept
 * as offsets, since the reply buffer may move as it grows.
 */
#define BATCH_PIECES	64

struct batch {
	struct iovec	 iov[BATCH_PIECES];
	uint64_t	 inreply;	/* bit k: iov[k] is an offset in reply */
	size_t		 mark;		/* reply bytes up to here are in iov */
	size_t		 held;		/* input bytes in iov */
	int		 n;
};

/* Close the reply run written since the last piece, if any. */
static void
batch_reply_run(struct worker *w, struct batch *b)
{
	if (w->reply.len == b->mark)
		return;
	b->iov[b->n].iov_base = (void *)(uintptr_t)b->mark;
	b->iov[b->n].iov_len = w->reply.len - b->mark;
	b->inreply |= 1ULL << b->n;
	b->n++;
	b->mark = w->reply.len;
}

/* Send the batch and start an empty one. */
static void
batch_flush(struct worker *w, struct conn *c, struct batch *b)
{
	int k;

	if (b->n == 0) {	/* replies alone: the common case */
		conn_send(w, c, w->reply.data, w->reply.len);
		w->reply.len = 0;
		return;
	}
	batch_reply_run(w, b);
	for (k = 0; k < b->n; k++)
		if (b->inreply & (1ULL << k))
			b->iov[k].iov_base = w->reply.data +
			    (uintptr_t)b->iov[k].iov_base;
	conn_sendv(w, c, b->iov, b->n);
	w->reply.len = 0;
	b->mark = 0;
	b->held = 0;
	b->inreply = 0;
	b->n = 0;
}

/* Add n input bytes at p, after the replies so far, to the batch. */
static void
batch_input(struct worker *w, struct conn *c, struct batch *b,
    const uint8_t *p, size_t n)
{
	struct iovec *last = b->iov + (b->n > 0 ? b->n - 1 : 0);

	if (w->reply.len == b->mark && b->n > 0 &&
	    !(b->inreply & (1ULL << (b->n - 1))) &&
	    (const uint8_t *)last->iov_base + last->iov_len == p) {
		last->iov_len += n;	/* the next ECHO of a run */
		b->held += n;
		return;
	}
	/* room for a reply run and p, and for the reply run after them */
	if (b->n + 3 > BATCH_PIECES)
		batch_flush(w, c, b);
	batch_reply_run(w, b);
	b->iov[b->n].iov_base = (void *)(uintptr_t)p;
	b->iov[b->n].iov_len = n;
	b->n++;
	b->held += n;
}

/*
 * A binary ECHO is its own reply once its op byte is the reply's: the
 * length and payload are the same.  1 if q[0..len) was one, turned.
 */
static inline int
conn_echo_in_place(uint8_t *q, size_t len)
{
	if (len < PROTO_HDR || q[FRAME_LENGTH_HDR] != PROTO_ECHO)
		return 0;
	q[FRAME_LENGTH_HDR] = PROTO_ECHO | PROTO_REPLY;
	return 1;
}

/*
 * Output held back, with owed more bytes of replies still to send,
 * beyond max_output stops the reading of more requests.
 */
static inline size_t
conn_output_room(const struct worker *w, const struct conn *c, size_t owed)
{
	size_t used = c->out.len + w->reply.len + owed;
	size_t max = (size_t)w->cf->limits.max_output;

	return used < max ? max - used : 0;
}

static inline int
conn_output_over(const struct worker *w, const struct conn *c, size_t owed)
{
	return conn_output_room(w, c, owed) == 0;
}

int
conn_output_full(struct worker *w, const struct conn *c)
{
	return conn_output_over(w, c, 0);
}

/* A frame over max_frame: error reply (command mode), then close. */
void
conn_too_large(struct worker *w, struct conn *c)
{
	sb_count(&w->slot->errors[ERR_FRAME_TOO_LARGE], 1);
	if (c->l->mode == MODE_METRICS) {
		metrics_too_large(w, c);
		c->flags |= CONN_CLOSING;
		return;
	}
	if (c->l->mode == MODE_COMMAND)
		service_too_large(w, c);
	log_limited(&w->log_conn, "connection on port %d: frame larger "
	    "than max_frame %ld; closing", c->l->port,
	    w->cf->limits.max_frame);
	c->flags |= CONN_CLOSING;
}

/*
 * The binary ECHOs after the one ending at off, each turned into its
 * reply where it lies, while they are complete and the replies owed
 * stay under max_output: conn_frames' tests for one request, fused for
 * a pipeline of ECHOs (60 instructions a request at (c), from 87-97).
 * Whatever stops it is looked at again by conn_frames.  The offset
 * after the last taken.
 */
static size_t
conn_echo_run(const struct worker *w, const struct conn *c,
    const struct batch *b, const uint8_t *run, uint8_t *p, size_t off,
    size_t n, uint64_t *nreq)
{
	size_t room = conn_output_room(w, c, b->held), end = n, len;
	size_t max_frame = c->l->framer.max_frame;
	uint64_t k = 0;

	/* frames starting before end keep the replies owed under max */
	if ((size_t)(run - p) + room < end)
		end = (size_t)(run - p) + room;
	/* frame_next's length case, without its switch on the framing */
	for (; off < end && n - off >= FRAME_LENGTH_HDR; k++) {
		len = frame_get_u32(p + off);
		if (len > max_frame || n - off - FRAME_LENGTH_HDR < len ||
		    !conn_echo_in_place(p + off, FRAME_LENGTH_HDR + len))
			break;
		off += FRAME_LENGTH_HDR + len;
	}
	*nreq += k;
	return off;
}

/*
 * Answer every complete frame of p[0..n) and return how many bytes
 * were consumed.  Echo sends the frames back as one run of bytes;
 * command mode gathers the replies (struct batch) and sends them with
 * one call.  Requests are counted before one is answered from the
 * reply buffer: STATS must see itself.
 */
static size_t
conn_frames(struct worker *w, struct conn *c, uint8_t *p, size_t n,
    int *more)
{
	const struct framer *f = &c->l->framer;
	const int mode = c->l->mode, binary = mode == MODE_COMMAND &&
	    f->kind == FRAMING_LENGTH;
	uint8_t *run = NULL;	/* binary ECHOs in a row, each its reply */
	struct batch b;
	struct iovec ref;
	size_t off = 0, len;
	uint64_t nreq = 0;
	int r;

	b.n = 0;
	b.mark = 0;
	b.held = 0;
	b.inreply = 0;
	while (off < n && !(c->flags & CONN_CLOSING)) {
		/* replies owed count as output, wherever they lie */
		if (off > 0 && conn_output_over(w, c, b.held +
		    (run != NULL ? (size_t)(p + off - run) : 0))) {
			*more = 1;	/* frames left for when output drains */
			break;
		}
		r = frame_next(f, p + off, n - off, &c->scanned, &len);
		if (r == FRAME_NEED)
			break;
		if (r == FRAME_TOO_LARGE) {
			sb_count(&w->slot->requests, nreq);
			if (mode == MODE_ECHO)
				conn_send(w, c, p, off);
			else if (run != NULL)
				batch_input(w, c, &b, run, (size_t)(p + off - run));
			conn_too_large(w, c);
			if (mode != MODE_ECHO)
				goto flush;
			return n;
		}
		off += len;
		nreq++;
		if (mode == MODE_ECHO)
			continue;
		if (binary && conn_echo_in_place(p + off - len, len)) {
			if (run == NULL)
				run = p + off - len;
			off = conn_echo_run(w, c, &b, run, p, off, n, &nreq);
			continue;
		}
		if (run != NULL) {	/* its replies go before this one's */
			batch_input(w, c, &b, run, (size_t)(p + off - len - run));
			run = NULL;
		}
		sb_count(&w->slot->requests, nreq);
		nreq = 0;
		ref.iov_len = 0;
		if (mode == MODE_METRICS ?
		    metrics_handle(w, c, p + off - len, len) == 0 :
		    service_handle(w, c, p + off - len, len, &ref) == 0)
			c->flags |= CONN_CLOSING;
		if (ref.iov_len > 0)
			batch_input(w, c, &b, ref.iov_base, ref.iov_len);
	}
	sb_count(&w->slot->requests, nreq);
	if (mode == MODE_ECHO) {
		conn_send(w, c, p, off);
		return off;
	}
	if (run != NULL)
		batch_input(w, c, &b, run, (size_t)(p + off - run));
flush:
	batch_flush(w, c, &b);
	return c->flags & CONN_CLOSING ? n : off;
}

/*
 * Answer the frames of p[0..n) for as long as the output keeps
 * draining into the socket.  Frames left because output is over
 * max_output wait, with reading paused, for the socket to take it: the
 * writable event resumes them (conn_writable).
 */
size_t
conn_process(struct worker *w, struct conn *c, uint8_t *p, size_t n)
{
	uint64_t before = atomic_load_explicit(&w->slot->requests,
	    memory_order_relaxed);
	size_t off = 0;
	int more;

	do {
		more = 0;
		off += conn_frames(w, c, p + off, n - off, &more);
	} while (more && off < n && !conn_output_full(w, c) &&
	    !(c->flags & (CONN_CLOSING | CONN_DEAD)));
	if (more && off < n)
		c->flags |= CONN_PAUSED;
	/* the batch's replies are with the kernel: time them, at one go */
	metrics_observe(w, c->l->mode, atomic_load_explicit(
	    &w->slot->requests, memory_order_relaxed) - before);
	return off;
}

/* Frames still held in c->in (after a pause or a partial read). */
void
conn_input_buffered(struct worker *w, struct conn *c)
{
	if (c->in.len == 0)
		return;
	if (c->l->mode == MODE_ECHO)
		connring_echo(w, c);
	else
		connring_commands(w, c);
	if (c->in.len > 0)
		conntimer_del(w, c, TIMER_BUF);
	else if (c->in.cap <= CONNBUF_BLOCK || w->memwait != NULL)
		connbuf_release(w, &c->in);	/* others wait for memory */
	else
		/* Large frames come in runs: keep it, for a second. */
		conntimer_touch(w, c, TIMER_BUF);
}

/* Keep what the scratch buffer held beyond the complete frames. */
void
conn_keep_rest(struct worker *w, struct conn *c, const uint8_t *p,
    size_t n)
{
	int r;

	/* Only what arrived: a header's promise is not an allocation. */
	if ((r = connbuf_reserve(w, &c->in, n, c->in.len + n)) < 0) {
		conn_nomem(w, c, r);
		return;
	}
	memcpy(buf_tail(&c->in), p, n);
	BUF_COPIED(BUF_COPY_IN, n);
	c->in.len += n;
}

/*
 * After input: pause reading when output is over max_output, and keep
 * the frame timer running while a message is incomplete.
 */
void
conn_after_input(struct worker *w, struct conn *c, int completed)
{
	if (conn_output_full(w, c))
		c->flags |= CONN_PAUSED;
	if (c->in.len == 0 || (c->flags & CONN_PAUSED))
		conntimer_del(w, c, TIMER_FRAME);
	else if (completed || !(c->flags & CONN_INTIMER(TIMER_FRAME)))
		conntimer_touch(w, c, TIMER_FRAME);
}

/* The peer half-closed: no partial message will ever complete. */
void
conn_eof(struct worker *w, struct conn *c)
{
	c->flags |= CONN_EOF;
	conntimer_del(w, c, TIMER_FRAME);
}

/* Readable: one read, then every complete frame answered. */
static void
conn_readable(struct worker *w, struct conn *c)
{
	size_t used, before = c->in.len, room;
	int scratch = c->in.data == NULL, filled = 0;
	ssize_t n;

	if (c->flags & CONN_PROXY) {
		connproxy_readable(w, c);
		return;
	}
	if ((room = connbuf_read_room(w, &c->in, &c->out)) == 0) {
		if (conn_mem_hopeless(w, c)) {
			sb_count(&w->slot->errors[ERR_MEMORY], 1);
			log_limited(&w->log_conn, "connection on port %d: a "
			    "frame of more than %zu bytes cannot be held "
			    "within the worker's max_memory share; closing",
			    c->l->port, c->in.len);
			c->flags |= CONN_DEAD;
			return;
		}
		conn_mem_wait(w, c);
		return;
	}
	if (scratch)
		n = read(c->fd, w->scratch, room < w->scratch_size ? room :
		    w->scratch_size);
	else if ((n = connring_read(w, c, room, &filled)) == -2)
		return;
	if (n <= 0) {
		if (n == 0)
			conn_eof(w, c);
		else if (errno != EAGAIN && errno != EINTR) {
			sb_count(&w->slot->errors[ERR_RESET], 1);
			c->flags |= CONN_DEAD;
		}
		return;
	}
	sb_count(&w->slot->bytes_in, (uint64_t)n);
	conntimer_touch(w, c, TIMER_IDLE);
	if ((c->flags & CONN_INTIMER(TIMER_WRITE)) && c->out.len == 0)
		conntimer_del(w, c, TIMER_WRITE);	/* a memory wait ended */
	if (scratch) {
		used = conn_process(w, c, w->scratch, (size_t)n);
		if (used < (size_t)n)
			conn_keep_rest(w, c, w->scratch + used, (size_t)n - used);
	} else {
		c->in.len += (size_t)n;
		conn_input_buffered(w, c);
		used = before + (size_t)n - c->in.len;
		if (filled)
			connring_widen(w, c);
	}
	conn_after_input(w, c, used > 0);
}

/* Writable: flush the output buffer; resume input once it drains. */
static void
conn_writable(struct worker *w, struct conn *c)
{
	ssize_t r;

	r = send(c->fd, buf_head(&c->out), c->out.len,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			sb_count(&w->slot->errors[ERR_RESET], 1);
			c->flags |= CONN_DEAD;
		}
		return;
	}
	sb_count(&w->slot->bytes_out, (uint64_t)r);
	buf_consume(&c->out, (size_t)r);
	conntimer_touch(w, c, TIMER_IDLE);
	if (c->out.len > 0) {
		conntimer_touch(w, c, TIMER_WRITE);
		if (c->out.len >= (size_t)w->cf->limits.max_output / 2)
			return;
	} else {
		conntimer_del(w, c, TIMER_WRITE);
		connbuf_release(w, &c->out);
		if (c->flags & CONN_MEMWAIT)	/* now waits for memory alone */
			conn_mem_deadline(w, c);
	}
	if (c->flags & CONN_PAUSED) {
		c->flags &= ~CONN_PAUSED;
		conn_input_buffered(w, c);
		conn_after_input(w, c, 1);
	}
}

/* Is c done: closing or half-closed, with nothing left to send? */
static int
conn_finished(struct worker *w, const struct conn *c)
{
	if (c->flags & CONN_DEAD)
		return 1;
	if (c->out.len > 0)
		return 0;
	if (c->flags & CONN_CLOSING)
		return 1;
	if ((c->flags & CONN_EOF) && !(c->flags & CONN_PAUSED))
		return 1;
	return w->closing_idle && conn_is_idle(c);
}

/* Dispatch one epoll event for c. */
void
conn_event(struct worker *w, struct conn *c, uint32_t events)
{
	if ((events & EPOLLOUT) && c->out.len > 0)
		conn_writable(w, c);
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    !(c->flags & (CONN_EOF | CONN_CLOSING | CONN_PAUSED | CONN_DEAD))) {
		if (!(c->flags & CONN_MEMWAIT))
			conn_readable(w, c);
		else if (events & (EPOLLHUP | EPOLLERR))
			c->flags |= CONN_DEAD;	/* gone; nobody will read */
	}
	if (conn_finished(w, c))
		conn_close(w, c);
	else
		conn_update_events(w, c);
#ifdef EKKO_COUNT_COPIES
	atomic_store_explicit(&w->slot->copied[BUF_COPY_IN],
	    buf_copied[BUF_COPY_IN], memory_order_relaxed);
	atomic_store_explicit(&w->slot->copied[BUF_COPY_OUT],
	    buf_copied[BUF_COPY_OUT], memory_order_relaxed);
#endif
}

/*
 * Close every idle connection now (graceful stop, end of a drain).  A
 * walk of the table, once per drain; the others close as soon as their
 * current message is answered (conn_finished).
 */
void
conn_drain_idle(struct worker *w)
{
	int fd;

	for (fd = 0; fd < w->maxfd; fd++)
		if ((w->conns[fd].flags & CONN_OPEN) &&
		    conn_is_idle(&w->conns[fd]))
			conn_close(w, &w->conns[fd]);
}
