/*
 * connbuf.c -- the buffers a worker's connections hold, and their budget.
 *
 * Every byte of connection buffer a worker allocates is counted in
 * w->mem_held, pooled blocks included, and may not exceed the worker's
 * share of limits.max_memory: an allocation past it fails, and the
 * caller closes that connection (errors_memory).  Readers are held back
 * before it comes to that (connbuf_read_room).
 *
 * Input buffers grow geometrically, as bytes actually arrive, and never
 * past the end of the frame they hold: a header announcing a huge frame
 * costs nothing until its bytes come, and one over max_frame costs
 * nothing at all (the framer rejects it).
 */
#include <sys/uio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ekkod.h"

#define POOL_MAX	1024		/* blocks, at most */
#define POOL_SHARE	8		/* the pool keeps <= share / this */

/* This worker's part of limits.max_memory: an equal share each. */
size_t
connbuf_share(const struct worker *w)
{
	int n = atomic_load_explicit(&sb->workers_configured,
	    memory_order_relaxed);

	if (n < w->cf->workers)
		n = w->cf->workers;
	if (n < 1)
		n = 1;
	return (size_t)w->cf->limits.max_memory / (size_t)n;
}

/* Bytes the worker may still use: unspent share plus its pooled blocks. */
size_t
connbuf_free(const struct worker *w)
{
	size_t share = connbuf_share(w), pooled;

	pooled = (size_t)w->lists.npool * CONNBUF_BLOCK;
	if (w->mem_held - pooled >= share)
		return 0;
	return share - (w->mem_held - pooled);
}

/* Free pooled blocks until n more bytes fit the share, or none is left. */
static void
connbuf_trim_pool(struct worker *w, size_t n)
{
	void *p;

	while ((p = w->lists.pool) != NULL &&
	    w->mem_held + n > connbuf_share(w)) {
		w->lists.pool = *(void **)p;
		w->lists.npool--;
		free(p);
		w->mem_held -= CONNBUF_BLOCK;
	}
}

/*
 * A buffer block of at least n bytes: a pooled one when small.  NULL
 * with *cap 0 when the share does not allow it, with *cap set when
 * malloc failed.
 */
uint8_t *
connbuf_alloc(struct worker *w, size_t n, size_t *cap)
{
	void *p;

	if (n <= CONNBUF_BLOCK && (p = w->lists.pool) != NULL) {
		w->lists.pool = *(void **)p;
		w->lists.npool--;
		*cap = CONNBUF_BLOCK;
		return p;
	}
	if (n < CONNBUF_BLOCK)
		n = CONNBUF_BLOCK;
	connbuf_trim_pool(w, n);
	if (w->mem_held + n > connbuf_share(w)) {
		*cap = 0;
		return NULL;
	}
	*cap = n;
	if ((p = malloc(n)) != NULL)
		w->mem_held += n;
	return p;
}

/* Give an emptied buffer back: to the pool if it is a pool block. */
void
connbuf_release(struct worker *w, struct buf *b)
{
	size_t keep = connbuf_share(w) / POOL_SHARE / CONNBUF_BLOCK;

	if (b->data == NULL)
		return;
	if (keep > POOL_MAX)
		keep = POOL_MAX;
	if (b->cap == CONNBUF_BLOCK && (size_t)w->lists.npool < keep) {
		*(void **)b->data = w->lists.pool;
		w->lists.pool = b->data;
		w->lists.npool++;
	} else {
		free(b->data);
		w->mem_held -= b->cap;
	}
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

/* ---- the input buffer as a ring ---- */

/*
 * An input buffer is also a ring: its bytes run from off to the end of
 * the block and go on at its start.  A frame then waits where it
 * arrived while those after it are read and answered, and nothing is
 * moved to make room; only a frame larger than the block moves it, to a
 * larger one.
 */

/* How many of b's bytes lie before the wrap (all of them if none). */
size_t
connbuf_ring_first(const struct buf *b)
{
	return b->off + b->len > b->cap ? b->cap - b->off : b->len;
}

/* Drop n bytes from the head of ring b. */
void
connbuf_ring_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	if (b->off >= b->cap)
		b->off -= b->cap;
	b->len -= n;
}

/*
 * The free space of ring b in order (after the tail, then before the
 * head), at most max bytes: iovecs for readv, and how many.
 */
int
connbuf_ring_space(const struct buf *b, struct iovec *iov, size_t max)
{
	size_t end = b->off + b->len, n;
	int cnt = 0;

	if (end >= b->cap) {
		n = b->cap - b->len;
		iov[cnt].iov_base = b->data + end - b->cap;
		iov[cnt++].iov_len = n < max ? n : max;
		return cnt;
	}
	n = b->cap - end;
	iov[cnt].iov_base = b->data + end;
	iov[cnt++].iov_len = n < max ? n : max;
	max -= iov[0].iov_len;
	if (max > 0 && b->off > 0) {
		iov[cnt].iov_base = b->data;
		iov[cnt++].iov_len = b->off < max ? b->off : max;
	}
	return cnt;
}

/* Copy ring b's bytes, in order, to dst (a block being moved to). */
void
connbuf_ring_copy(const struct buf *b, uint8_t *dst)
{
	size_t n1 = connbuf_ring_first(b);

	if (b->len == 0)
		return;
	memcpy(dst, b->data + b->off, n1);
	if (b->len > n1)
		memcpy(dst + n1, b->data, b->len - n1);
	BUF_COPIED(BUF_COPY_IN, b->len);
}

/* The first n (<= b->len) bytes of ring b, copied out (a header). */
void
connbuf_ring_peek(const struct buf *b, uint8_t *dst, size_t n)
{
	size_t n1 = connbuf_ring_first(b);

	if (n <= n1) {
		memcpy(dst, b->data + b->off, n);
		return;
	}
	memcpy(dst, b->data + b->off, n1);
	memcpy(dst + n1, b->data, n - n1);
}

/*
 * Make ring b one run of bytes from its start, in a block of the same
 * size (a frame across the wrap that must be seen whole).
 */
int
connbuf_linearize(struct worker *w, struct buf *b)
{
	if (b->off + b->len <= b->cap)
		return 0;
	return connbuf_reserve(w, b, b->cap - b->len, b->cap);
}

/*
 * Room for n more bytes in b, moving to a larger block if needed: twice
 * the old one (amortized O(n) copying however the bytes trickle in),
 * but not past upto, nor less than n more.  -1 when malloc fails, -2
 * when the worker's share does not allow it.
 */
int
connbuf_reserve(struct worker *w, struct buf *b, size_t n, size_t upto)
{
	struct buf nb = { 0 };
	size_t want = 2 * b->cap;
	int wrapped = b->data != NULL && b->off + b->len > b->cap;

	/* a ring that wraps has no room after its tail: a new block */
	if (b->data != NULL && !wrapped && buf_room(b) >= n)
		return 0;
	if (b->data != NULL && !wrapped && b->cap - b->len >= n) {
		buf_compact(b);
		return 0;
	}
	if (want > upto)
		want = upto;
	if (want < b->len + n)
		want = b->len + n;
	/* The old block goes once the bytes are copied: count it given. */
	w->mem_held -= b->cap;
	nb.data = connbuf_alloc(w, want, &nb.cap);
	w->mem_held += b->cap;
	if (nb.data == NULL)
		return nb.cap == 0 ? -2 : -1;
	connbuf_ring_copy(b, nb.data);
	nb.len = b->len;
	connbuf_release(w, b);
	connbuf_trim_pool(w, 0);	/* the old block pooled: still within */
	*b = nb;
	return 0;
}

/* Free every pooled block (worker exit, for a clean valgrind run). */
void
connbuf_release_pool(struct worker *w)
{
	void *p;

	while ((p = w->lists.pool) != NULL) {
		w->lists.pool = *(void **)p;
		free(p);
		w->mem_held -= CONNBUF_BLOCK;
	}
	w->lists.npool = 0;
}

/*
 * Where the frame that begins the held bytes ends, as far as is known:
 * the announced length, frame_size, or the longest line max_frame
 * allows.  A header over max_frame announces nothing (the framer will
 * reject it), nor does raw framing: then the bytes held, have.
 */
size_t
connbuf_frame_end(const struct framer *f, const uint8_t *head, size_t have)
{
	uint32_t plen;

	switch (f->kind) {
	case FRAMING_LENGTH:
		if (have < FRAME_LENGTH_HDR)
			return FRAME_LENGTH_HDR;
		plen = frame_get_u32(head);
		if (plen > f->max_frame)
			return have;
		return FRAME_LENGTH_HDR + (size_t)plen;
	case FRAMING_FIXED:
		return f->frame_size;
	case FRAMING_LINE:
		return f->max_frame + f->delim_len;
	default:
		return have;
	}
}

/*
 * How large an input buffer holding have bytes may grow: to the end of
 * its frame, and always by a modest read (the next frame's start).
 */
size_t
connbuf_in_limit(const struct framer *f, const uint8_t *head, size_t have)
{
	size_t end = connbuf_frame_end(f, head, have);

	return end > have + CONNBUF_MIN_READ ? end : have + CONNBUF_MIN_READ;
}

/*
 * How many bytes a connection holding in and out may read now without
 * taking its worker past its share, whatever it then buffers: the read
 * may grow both buffers (by the bytes read, plus what in holds moving to
 * out, plus geometric slack), so half of what is free beyond twice what
 * it already holds.  0: it must wait for memory.
 */
size_t
connbuf_read_room(const struct worker *w, const struct buf *in,
    const struct buf *out)
{
	size_t avail = connbuf_free(w), held = 2 * (in->cap + out->cap), room;

	if (avail <= held)
		return 0;
	room = (avail - held) / 2;
	return room >= CONNBUF_BLOCK ? room : 0;
}
