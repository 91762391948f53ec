/*
 * wire.c -- the bytes ekko bench sends and expects back.
 *
 * Nothing is allocated per request.  The bytes of request number seq on
 * a connection are a pure function of seq (a header, a slice of one
 * shared pattern, a trailer), and so are the bytes of its reply.  A
 * connection keeps counters and offsets only: what it sends is built in
 * a shared scratch buffer, and what it reads is compared in place, as
 * it streams in, without being buffered.
 */
#include <stdlib.h>
#include <string.h>

#include "ekko.h"
#include "frame.h"
#include "proto.h"

#define WIRE_PAT	61	/* pattern period, prime: neighbours differ */

static const uint8_t *wire_seg(const struct load *, const struct shape *,
		    uint64_t, int, size_t *, size_t *);
static int	 wire_span(const struct load *, const struct shape *,
		    uint64_t, size_t, size_t, uint8_t *, const uint8_t *);
static void	 wire_complete(struct load *, struct lconn *, uint64_t, int);
static int	 wire_header(struct load *, struct lconn *, uint64_t);
static void	 wire_skip(struct load *, struct lconn *, const uint8_t *,
		    size_t, uint64_t);

/* Lay out requests and replies for the mode, and the shared pattern. */
int
wire_shapes(struct load *l)
{
	struct shape *q = &l->req, *p = &l->rep;
	size_t i, size = l->cf->mode == LOAD_PING ? 0 : (size_t)l->cf->size;

	if ((l->pat = malloc(size + WIRE_PAT)) == NULL)
		return -1;
	for (i = 0; i < size + WIRE_PAT; i++)
		l->pat[i] = (uint8_t)('0' + i % WIRE_PAT);
	q->bodylen = size;
	if (l->cf->mode == LOAD_EKKO || l->cf->mode == LOAD_PING) {
		proto_put_header(q->hdr, l->cf->mode == LOAD_EKKO ?
		    PROTO_ECHO : PROTO_PING, size);
		q->hdrlen = PROTO_HDR;
	} else if (l->cf->mode == LOAD_LENGTH) {
		frame_put_u32(q->hdr, (uint32_t)size);
		q->hdrlen = FRAME_LENGTH_HDR;
	} else if (l->cf->mode == LOAD_LINE) {
		q->trl[0] = '\n';
		q->trllen = 1;
	}
	*p = *q;
	if (l->cf->mode == LOAD_EKKO)
		p->hdr[FRAME_LENGTH_HDR] |= PROTO_REPLY;
	if (l->cf->mode == LOAD_PING) {
		proto_put_header(p->hdr, PROTO_PING | PROTO_REPLY, 4);
		p->body = (const uint8_t *)"PONG";
		p->bodylen = 4;
	}
	q->len = q->hdrlen + q->bodylen + q->trllen;
	p->len = p->hdrlen + p->bodylen + p->trllen;
	return 0;
}

/* Segment i (header, body, trailer) of message seq: offset, bytes. */
static const uint8_t *
wire_seg(const struct load *l, const struct shape *s, uint64_t seq, int i,
    size_t *at, size_t *len)
{
	switch (i) {
	case 0:
		*at = 0;
		*len = s->hdrlen;
		return s->hdr;
	case 1:
		*at = s->hdrlen;
		*len = s->bodylen;
		return s->body != NULL ? s->body : l->pat + seq % WIRE_PAT;
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
wire_span(const struct load *l, const struct shape *s, uint64_t seq,
    size_t off, size_t n, uint8_t *dst, const uint8_t *cmp)
{
	const uint8_t *p;
	size_t at, len, lo, hi;
	int i;

	for (i = 0; i < 3; i++) {
		p = wire_seg(l, s, seq, i, &at, &len);
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

/* Build the unsent bytes of c's issued requests into the scratch buffer. */
size_t
wire_pack(struct load *l, const struct lconn *c)
{
	uint64_t seq = c->sent;
	size_t n = 0, off = c->soff, k;

	while (seq < c->issued && n < LOAD_IO) {
		k = l->req.len - off;
		if (k > LOAD_IO - n)
			k = LOAD_IO - n;
		wire_span(l, &l->req, seq, off, k, l->io + n, NULL);
		n += k;
		off += k;
		if (off == l->req.len) {
			seq++;
			off = 0;
		}
	}
	return n;
}

/* One reply read whole: verified (ok) or an error reply. */
static void
wire_complete(struct load *l, struct lconn *c, uint64_t now, int ok)
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
	c->roff = 0;
	c->last = now;
	l->outstanding--;
}

/* A reply header has arrived: as expected, an error reply, or wrong. */
static int
wire_header(struct load *l, struct lconn *c, uint64_t now)
{
	uint32_t len;

	if (memcmp(c->rhdr, l->rep.hdr, l->rep.hdrlen) == 0)
		return 0;
	len = frame_get_u32(c->rhdr);
	if ((l->cf->mode == LOAD_EKKO || l->cf->mode == LOAD_PING) &&
	    c->rhdr[FRAME_LENGTH_HDR] == PROTO_ERROR && len >= 1) {
		if ((c->skip = len - 1) == 0)
			wire_complete(l, c, now, 0);
		else if (l->res->server_error[0] == '\0' &&
		    l->capture == NULL) {
			l->capture = c;
			l->caplen = 0;
		}
		return 0;
	}
	l->res->errors[LOAD_ERR_MISMATCH]++;
	load_note(l, "reply %llu on connection %ld: bad header",
	    (unsigned long long)c->done, c->id);
	return -1;
}

/* Pass over the text of an error reply, keeping the first one. */
static void
wire_skip(struct load *l, struct lconn *c, const uint8_t *p, size_t n,
    uint64_t now)
{
	size_t i, room = sizeof(l->res->server_error) - 1;

	for (i = 0; l->capture == c && i < n && l->caplen < room; i++)
		l->res->server_error[l->caplen++] =
		    p[i] < ' ' || p[i] == 0x7f ? '?' : (char)p[i];
	c->skip -= n;
	if (c->skip > 0)
		return;
	if (l->capture == c)
		l->capture = NULL;
	wire_complete(l, c, now, 0);
}

/*
 * Check bytes received against the replies owed, completing requests as
 * their last byte arrives.  -1 on a mismatch (counted).
 */
int
wire_input(struct load *l, struct lconn *c, const uint8_t *p, size_t n,
    uint64_t now)
{
	size_t k, hl = l->rep.hdrlen;

	while (n > 0) {
		if (c->skip > 0) {
			k = c->skip < n ? (size_t)c->skip : n;
			wire_skip(l, c, p, k, now);
		} else if (c->done == c->issued) {
			l->res->errors[LOAD_ERR_MISMATCH]++;
			load_note(l, "connection %ld: data beyond the replies "
			    "owed", c->id);
			return -1;
		} else if (c->roff < hl) {
			k = hl - c->roff < n ? hl - c->roff : n;
			memcpy(c->rhdr + c->roff, p, k);
			if ((c->roff += k) == hl &&
			    wire_header(l, c, now) == -1)
				return -1;
		} else {
			k = l->rep.len - c->roff < n ? l->rep.len - c->roff : n;
			if (wire_span(l, &l->rep, c->done, c->roff, k, NULL,
			    p) == -1) {
				l->res->errors[LOAD_ERR_MISMATCH]++;
				load_note(l, "reply %llu on connection %ld "
				    "differs from the request",
				    (unsigned long long)c->done, c->id);
				return -1;
			}
			c->roff += k;
		}
		p += k;
		n -= k;
		if (c->skip == 0 && c->roff == l->rep.len && c->roff > 0)
			wire_complete(l, c, now, 1);
	}
	return 0;
}
