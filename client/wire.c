/*
 * wire.c -- the bytes ekko bench sends and expects back.
 *
 * Nothing is allocated per request.  The bytes of request number seq on
 * a connection are a pure function of seq (a header, a slice of one
 * shared pattern, a trailer), and so are the bytes of its reply.  A
 * connection keeps counters and offsets only: what it sends is built in
 * a scratch buffer, and what it reads is compared in place, as it
 * streams in, without being buffered.  Like common/frame.c this file
 * only judges bytes: the caller counts what it reports.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

#define WIRE_PAT	61	/* pattern period, prime: neighbours differ */

static const char *const wire_modes[] = {
	[WIRE_EKKO] = "ekko", [WIRE_PING] = "ping", [WIRE_RAW] = "raw",
	[WIRE_LINE] = "line", [WIRE_FIXED] = "fixed",
	[WIRE_LENGTH] = "length",
};

static const uint8_t *wire_seg(const struct wire *, const struct wire_shape *,
		    uint64_t, int, size_t *, size_t *);
static int	 wire_span(const struct wire *, const struct wire_shape *,
		    uint64_t, size_t, size_t, uint8_t *, const uint8_t *);
static enum wire_verdict wire_header(const struct wire *, struct wire_rx *);
static enum wire_verdict wire_text(struct wire_rx *, size_t, size_t *);

/* The name of a mode, as --framing takes it. */
const char *
wire_mode_name(enum wire_mode m)
{
	return (size_t)m < nitems(wire_modes) ? wire_modes[m] : "?";
}

/* Map a --framing name to a mode; -1 if unknown. */
int
wire_mode_parse(const char *name, enum wire_mode *m)
{
	size_t i;

	for (i = 0; i < nitems(wire_modes); i++)
		if (strcmp(name, wire_modes[i]) == 0) {
			*m = (enum wire_mode)i;
			return 0;
		}
	return -1;
}

/* Lay out requests and replies for the mode, and the shared pattern. */
int
wire_init(struct wire *w, enum wire_mode mode, size_t size)
{
	struct wire_shape *q = &w->req, *p = &w->rep;
	size_t i;

	memset(w, 0, sizeof(*w));
	if (mode == WIRE_PING)
		size = 0;
	if ((w->pat = malloc(size + WIRE_PAT)) == NULL)
		return -1;
	for (i = 0; i < size + WIRE_PAT; i++)
		w->pat[i] = (uint8_t)('0' + i % WIRE_PAT);
	q->bodylen = size;
	if (mode == WIRE_EKKO || mode == WIRE_PING) {
		proto_put_header(q->hdr, mode == WIRE_EKKO ? PROTO_ECHO :
		    PROTO_PING, size);
		q->hdrlen = PROTO_HDR;
		w->errors = 1;
	} else if (mode == WIRE_LENGTH) {
		frame_put_u32(q->hdr, (uint32_t)size);
		q->hdrlen = FRAME_LENGTH_HDR;
	} else if (mode == WIRE_LINE) {
		q->trl[0] = '\n';
		q->trllen = 1;
	}
	*p = *q;
	if (mode == WIRE_EKKO)
		p->hdr[FRAME_LENGTH_HDR] |= PROTO_REPLY;
	if (mode == WIRE_PING) {
		proto_put_header(p->hdr, PROTO_PING | PROTO_REPLY, 4);
		p->body = (const uint8_t *)"PONG";
		p->bodylen = 4;
	}
	q->len = q->hdrlen + q->bodylen + q->trllen;
	p->len = p->hdrlen + p->bodylen + p->trllen;
	return 0;
}

/* Free what wire_init allocated. */
void
wire_free(struct wire *w)
{
	free(w->pat);
	w->pat = NULL;
}

/* Forget a reply half read: the connection starts over. */
void
wire_rx_reset(struct wire_rx *rx)
{
	rx->off = 0;
	rx->skip = 0;
}

/* Segment i (header, body, trailer) of message seq: offset, bytes. */
static const uint8_t *
wire_seg(const struct wire *w, const struct wire_shape *s, uint64_t seq,
    int i, size_t *at, size_t *len)
{
	switch (i) {
	case 0:
		*at = 0;
		*len = s->hdrlen;
		return s->hdr;
	case 1:
		*at = s->hdrlen;
		*len = s->bodylen;
		return s->body != NULL ? s->body : w->pat + seq % WIRE_PAT;
	default:
		*at = s->hdrlen + s->bodylen;
		*len = s->trllen;
		return s->trl;
	}
}

/*
 * Bytes [off, off + n) of message seq: copied to dst, or (dst NULL)
 * compared with cmp; -1 if they differ.
 */
static int
wire_span(const struct wire *w, const struct wire_shape *s, uint64_t seq,
    size_t off, size_t n, uint8_t *dst, const uint8_t *cmp)
{
	const uint8_t *p;
	size_t at, len, lo, hi;
	int i;

	for (i = 0; i < 3; i++) {
		p = wire_seg(w, s, seq, i, &at, &len);
		lo = at > off ? at : off;
		hi = at + len < off + n ? at + len : off + n;
		if (lo >= hi)
			continue;
		if (dst != NULL)
			memcpy(dst + (lo - off), p + (lo - at), hi - lo);
		else if (memcmp(cmp + (lo - off), p + (lo - at), hi - lo) != 0)
			return -1;
	}
	return 0;
}

/*
 * Build requests seq (from byte off of it) up to end, not included, into
 * dst, at most room bytes; the number of bytes built.
 */
size_t
wire_pack(const struct wire *w, uint64_t seq, size_t off, uint64_t end,
    uint8_t *dst, size_t room)
{
	size_t n = 0, k;

	while (seq < end && n < room) {
		k = w->req.len - off;
		if (k > room - n)
			k = room - n;
		wire_span(w, &w->req, seq, off, k, dst + n, NULL);
		n += k;
		off += k;
		if (off == w->req.len) {
			seq++;
			off = 0;
		}
	}
	return n;
}

/*
 * A reply header has arrived whole in rx: as expected (WIRE_MORE: the
 * body, if any, follows), an error reply, or wrong.
 */
static enum wire_verdict
wire_header(const struct wire *w, struct wire_rx *rx)
{
	uint32_t len;

	if (memcmp(rx->hdr, w->rep.hdr, w->rep.hdrlen) == 0)
		return WIRE_MORE;
	len = frame_get_u32(rx->hdr);
	if (!w->errors || rx->hdr[FRAME_LENGTH_HDR] != PROTO_ERROR || len < 1)
		return WIRE_BAD_HEADER;
	if ((rx->skip = len - 1) > 0)
		return WIRE_TEXT;
	rx->off = 0;
	return WIRE_ERROR;
}

/* Pass over n bytes of an error reply's text. */
static enum wire_verdict
wire_text(struct wire_rx *rx, size_t n, size_t *used)
{
	*used = rx->skip < n ? (size_t)rx->skip : n;
	if ((rx->skip -= *used) > 0)
		return WIRE_MORE;
	rx->off = 0;
	return WIRE_ERROR;
}

/*
 * Take bytes of reply seq from p[0, n), n > 0, up to the end of the
 * reply, of an error reply's header or of its text; *used says how
 * many.  The bytes taken after a WIRE_TEXT, up to and with those of its
 * WIRE_ERROR, are the error text.  After WIRE_BAD_HEADER or WIRE_DIFFERS
 * the stream is lost: reset rx before reading a new one.
 *
 * This is the hot path: header and body in one call, and a header that
 * arrives whole and as expected is compared in place, not copied.
 */
enum wire_verdict
wire_read(const struct wire *w, struct wire_rx *rx, uint64_t seq,
    const uint8_t *p, size_t n, size_t *used)
{
	const struct wire_shape *r = &w->rep;
	size_t h = 0, k, off = rx->off;
	enum wire_verdict v;

	if (rx->skip > 0)
		return wire_text(rx, n, used);
	if (off < r->hdrlen) {
		h = r->hdrlen - off < n ? r->hdrlen - off : n;
		if (off > 0 || h < r->hdrlen || memcmp(p, r->hdr, h) != 0) {
			memcpy(rx->hdr + off, p, h);
			rx->off = off += h;
			v = off < r->hdrlen ? WIRE_MORE : wire_header(w, rx);
			if (v != WIRE_MORE || off < r->hdrlen) {
				*used = h;
				return v;
			}
		} else
			off = h;
	}
	k = r->len - off < n - h ? r->len - off : n - h;
	*used = h + k;
	if (wire_span(w, r, seq, off, k, NULL, p + h) == -1)
		return WIRE_DIFFERS;
	off += k;
	rx->off = off < r->len ? off : 0;
	return off < r->len ? WIRE_MORE : WIRE_REPLY;
}
