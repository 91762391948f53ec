/*
 * connring.c -- a connection's input held as a ring.
 *
 * Input that outlives a read (a partial frame) stays where it is and the
 * rest of it lands behind it, wrapping at the end of the block, so no
 * byte is moved per message: framed echo sends every complete frame
 * from where it lies (a piece or two, one call), and command mode
 * parses its requests in place: a binary ECHO across the wrap is
 * answered from its two pieces; any other request across it is copied
 * alone, and a partial text request is moved at most once.
 */
#include <sys/uio.h>
#include <unistd.h>

#include "ekkod.h"
#include "proto.h"

/* Send the n bytes at the head of ring c->in, one piece or two. */
static void
connring_send(struct worker *w, struct conn *c, size_t n)
{
	size_t n1 = connbuf_ring_first(&c->in);
	struct iovec iov[2];

	if (n <= n1) {
		conn_send(w, c, buf_head(&c->in), n);
		return;
	}
	iov[0].iov_base = buf_head(&c->in);
	iov[0].iov_len = n1;
	iov[1].iov_base = c->in.data;
	iov[1].iov_len = n - n1;
	conn_sendv(w, c, iov, 2);
}

/*
 * The frame at offset at of ring c->in, whose first n1 bytes lie before
 * the wrap.  The scan hint serves a frame that lies in one piece; one
 * across the wrap is scanned whole.
 */
static int
connring_next(struct conn *c, size_t at, size_t n1, size_t *len)
{
	const struct framer *f = &c->l->framer;
	int r;

	if (at >= n1)
		return frame_next(f, c->in.data + (at - n1), c->in.len - at,
		    &c->scanned, len);
	if (c->in.len == n1)
		return frame_next(f, buf_head(&c->in) + at, n1 - at,
		    &c->scanned, len);
	r = frame_next_split(f, buf_head(&c->in) + at, n1 - at, c->in.data,
	    c->in.len - n1, len);
	if (r == FRAME_OK)
		c->scanned = 0;
	return r;
}

/*
 * Echo from ring c->in: every complete frame from the head, across the
 * wrap too, goes out from where it lies with one call.  Output already
 * over max_output lets one frame through and pauses, as conn_frames
 * does.  A partial line across the wrap is made whole, so that its
 * scan goes on where it stopped rather than again from its start.
 */
void
connring_echo(struct worker *w, struct conn *c)
{
	size_t at = 0, len = 0, n1 = connbuf_ring_first(&c->in);
	int full = conn_output_full(w, c), r = FRAME_NEED;
	uint64_t nreq = 0;

	while (at < c->in.len) {
		if (full && nreq > 0) {
			/* resumed as output drains */
			c->flags |= CONN_PAUSED;
			break;
		}
		if ((r = connring_next(c, at, n1, &len)) != FRAME_OK)
			break;
		at += len;
		nreq++;
	}
	sb_count(&w->slot->requests, nreq);
	connring_send(w, c, at);
	connbuf_ring_consume(&c->in, r == FRAME_TOO_LARGE ? c->in.len : at);
	if (r == FRAME_TOO_LARGE)
		conn_too_large(w, c);
	else if (r == FRAME_NEED && c->l->framer.kind == FRAMING_LINE &&
	    (r = connbuf_linearize(w, &c->in)) < 0)
		conn_nomem(w, c, r);
}

/*
 * A large ECHO of len bytes at the head of ring c->in, its header
 * before the wrap and its payload across it, answered from its two
 * pieces where they lie: only the reply's header is built
 * (service_echo_split).  0: not one.
 */
static int
connring_split_echo(struct worker *w, struct conn *c, size_t len)
{
	size_t n1 = connbuf_ring_first(&c->in);
	struct iovec iov[3];

	if (n1 < PROTO_HDR || !service_echo_split(w, c, buf_head(&c->in), len))
		return 0;
	sb_count(&w->slot->requests, 1);
	iov[0].iov_base = w->reply.data;
	iov[0].iov_len = w->reply.len;
	iov[1].iov_base = buf_head(&c->in) + PROTO_HDR;
	iov[1].iov_len = n1 - PROTO_HDR;
	iov[2].iov_base = c->in.data;
	iov[2].iov_len = len - n1;
	conn_sendv(w, c, iov, 3);
	w->reply.len = 0;
	metrics_observe(w, c->l->mode, 1);
	return 1;
}

/*
 * The binary request at the head of ring c->in lies across the wrap
 * (output is not over max_output here: conn_process pauses before a
 * request when it is).  While it is partial it waits where it is (0).
 * Complete, a large ECHO is answered from where it lies; any other is
 * copied whole, alone, into the scratch buffer (free while input is in
 * the ring) and answered from there (1).  -1: too large for that, or
 * over max_frame: the ring is to be made one piece.
 */
static int
connring_split_request(struct worker *w, struct conn *c)
{
	size_t len;
	int r;

	if ((r = connring_next(c, 0, connbuf_ring_first(&c->in), &len)) ==
	    FRAME_NEED)
		return 0;
	if (r != FRAME_OK)
		return -1;
	if (!connring_split_echo(w, c, len)) {
		if (len > w->scratch_size)
			return -1;
		connbuf_ring_peek(&c->in, w->scratch, len);
		BUF_COPIED(BUF_COPY_IN, len);
		len = conn_process(w, c, w->scratch, len);
	}
	connbuf_ring_consume(&c->in, len);
	return 1;
}

/*
 * Command requests from ring c->in: those before the wrap where they
 * lie; a binary one across it waits there until it is complete
 * (connring_split_request); any other across it is made whole first (a
 * request is parsed in one piece); then those after it.
 */
void
connring_commands(struct worker *w, struct conn *c)
{
	size_t n1, used;
	int r;

	while (c->in.len > 0) {
		n1 = connbuf_ring_first(&c->in);
		used = conn_process(w, c, buf_head(&c->in), n1);
		connbuf_ring_consume(&c->in, used);
		if (c->flags & (CONN_PAUSED | CONN_CLOSING | CONN_DEAD))
			return;
		if (used == n1)
			continue;	/* the head moved past the wrap */
		if (c->in.len == n1 - used)
			return;		/* partial, in one piece */
		if (c->l->framer.kind == FRAMING_LENGTH &&
		    (r = connring_split_request(w, c)) >= 0) {
			if (r == 0)
				return;
			continue;
		}
		if ((r = connbuf_linearize(w, &c->in)) < 0) {
			conn_nomem(w, c, r);
			return;
		}
	}
}

/*
 * A ring full of one partial frame grows: geometrically as its bytes
 * come, to the frame's end as far as it is known, within memory.
 */
static int
connring_grow(struct worker *w, struct conn *c, size_t room)
{
	uint8_t head[FRAME_LENGTH_HDR];
	size_t upto, n = c->in.len < sizeof(head) ? c->in.len : sizeof(head);

	connbuf_ring_peek(&c->in, head, n);
	upto = connbuf_in_limit(&c->l->framer, head, c->in.len);
	if (upto > c->in.len + room)
		upto = c->in.len + room;
	return connbuf_reserve(w, &c->in, CONNBUF_MIN_READ, upto);
}

/*
 * Text command mode parses a line in one piece, so its input does not
 * wrap: a partial request is moved to the front when the room behind
 * it runs short (at most one request, once per buffer filled), rather
 * than the whole buffer made one piece at the wrap.  (Binary requests
 * wrap: connring_split_request.)
 */
static int
connring_command_space(struct conn *c, struct iovec *iov, size_t room)
{
	if (c->in.off > 0 && buf_room(&c->in) < CONNBUF_MIN_READ) {
		buf_compact(&c->in);
	}
	iov[0].iov_base = buf_tail(&c->in);
	iov[0].iov_len = buf_room(&c->in) < room ? buf_room(&c->in) : room;
	return 1;
}

/*
 * Read into c's ring after the bytes it holds, to the end of the block
 * and on before its head: a partial frame waits where it is and its
 * rest lands behind it.  *filled says the read took all the space
 * there was.  -2 when c could not get memory (it is dead).
 */
ssize_t
connring_read(struct worker *w, struct conn *c, size_t room, int *filled)
{
	struct iovec iov[2];
	size_t space;
	ssize_t n;
	int cnt, r;

	if (c->in.len == c->in.cap && (r = connring_grow(w, c, room)) < 0) {
		conn_nomem(w, c, r);
		return -2;
	}
	if (c->l->mode == MODE_COMMAND &&
	    c->l->framer.kind != FRAMING_LENGTH)
		cnt = connring_command_space(c, iov, room);
	else
		cnt = connbuf_ring_space(&c->in, iov, room);
	space = iov[0].iov_len + (cnt > 1 ? iov[1].iov_len : 0);
	n = readv(c->fd, iov, cnt);
	*filled = n > 0 && (size_t)n == space;
	return n;
}

/*
 * The last read filled the ring: the peer has more in flight than it
 * holds.  Double it up to a scratch buffer's size, for reads as large
 * as raw echo's; past that, add a block at a time, up to twice that,
 * so that it settles just above what the peer keeps in flight and a
 * ring holding a partial frame still takes all that has arrived in one
 * read (four 64 KiB frames in flight are 16 bytes over 256 KiB).  Only
 * while memory is plentiful (a fraction of what is free), and after
 * the frames were answered, when least is held.
 */
void
connring_widen(struct worker *w, struct conn *c)
{
	size_t cap = c->in.cap, want;

	if (cap < w->scratch_size)
		want = cap * 2 < w->scratch_size ? cap * 2 : w->scratch_size;
	else
		want = cap + CONNBUF_BLOCK < 2 * w->scratch_size ?
		    cap + CONNBUF_BLOCK : 2 * w->scratch_size;
	if (c->in.data == NULL || want <= cap || want > connbuf_free(w) / 8)
		return;
	(void)connbuf_reserve(w, &c->in, want - c->in.len, want);
}
