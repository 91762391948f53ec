/*
 * test_buf.c -- byte buffers: append, consume, reserve and compact keep
 * the unconsumed bytes intact and in order, and reuse space before
 * growing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* off + len within cap, and room what is left after them. */
static int
sane(const struct buf *b)
{
	if (b->data == NULL)
		return b->cap == 0 && b->len == 0 && buf_room(b) == 0 &&
		    buf_head(b) == NULL && buf_tail(b) == NULL;
	return b->off <= b->cap && b->len <= b->cap - b->off &&
	    buf_room(b) == b->cap - b->off - b->len &&
	    buf_head(b) == b->data + b->off &&
	    buf_tail(b) == b->data + b->off + b->len;
}

/* Does the buffer hold exactly want[0..n)? */
static int
holds(const struct buf *b, const void *want, size_t n)
{
	return sane(b) && b->len == n &&
	    (n == 0 || memcmp(buf_head(b), want, n) == 0);
}

/* The basic operations on a fresh buffer. */
static void
test_basic(void)
{
	struct buf b = { NULL, 0, 0, 0 };
	uint8_t *data;

	TAP_OK(sane(&b) && b.len == 0 && buf_room(&b) == 0,
	    "a zeroed buffer is empty and has no room");
	TAP_OK(buf_head(&b) == NULL && buf_tail(&b) == NULL,
	    "head and tail of a buffer without storage are NULL, "
	    "no arithmetic on NULL");
	TAP_OK(buf_append(&b, "x", 0) == 0 && holds(&b, "", 0) &&
	    buf_reserve(&b, 0) == 0,
	    "appending or reserving 0 bytes on a fresh buffer is a no-op");
	TAP_OK(buf_append(&b, "hello", 5) == 0 && holds(&b, "hello", 5) &&
	    b.cap >= 5, "append to an empty buffer allocates");
	TAP_OK(buf_append(&b, " world", 6) == 0 &&
	    holds(&b, "hello world", 11), "append adds after the tail");
	data = b.data;
	buf_consume(&b, 6);
	TAP_OK(holds(&b, "world", 5) && b.off == 6 && b.data == data,
	    "consume moves the head without copying");
	buf_compact(&b);
	TAP_OK(holds(&b, "world", 5) && b.off == 0,
	    "compact moves the bytes to the front");
	buf_compact(&b);
	TAP_OK(holds(&b, "world", 5) && b.off == 0,
	    "compact of a compacted buffer changes nothing");
	buf_consume(&b, 5);
	TAP_OK(holds(&b, "", 0) && b.off == 0,
	    "consuming everything restarts at offset 0");
	buf_append(&b, "abc", 3);
	buf_consume(&b, 100);
	TAP_OK(holds(&b, "", 0) && b.off == 0,
	    "consuming more than held empties the buffer");
	buf_append(&b, "abc", 3);
	buf_consume(&b, 0);
	TAP_OK(holds(&b, "abc", 3), "consuming 0 bytes changes nothing");
	buf_free(&b);
	TAP_OK(b.data == NULL && b.off == 0 && b.len == 0 && b.cap == 0,
	    "free leaves an empty, reusable buffer");
	TAP_OK(buf_append(&b, "again", 5) == 0 && holds(&b, "again", 5),
	    "a freed buffer can be appended to again");
	buf_free(&b);
	buf_free(&b);
	TAP_OK(b.data == NULL, "free twice is harmless");
}

/* Reserve: room after the tail, reusing consumed space first. */
static void
test_reserve(void)
{
	struct buf b = { NULL, 0, 0, 0 };
	uint8_t big[5000], *data;
	size_t cap, i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	TAP_OK(buf_reserve(&b, 10) == 0 && buf_room(&b) >= 10 && b.len == 0,
	    "reserve on an empty buffer makes room");
	buf_append(&b, big, 100);
	data = b.data;
	cap = b.cap;
	TAP_OK(buf_reserve(&b, buf_room(&b)) == 0 && b.data == data &&
	    b.cap == cap && holds(&b, big, 100),
	    "reserve within the room neither moves nor grows");
	buf_append(&b, big + 100, cap - 100);
	buf_consume(&b, 60);
	TAP_OK(buf_room(&b) == 0 && buf_reserve(&b, 50) == 0 &&
	    b.cap == cap && b.off == 0 && buf_room(&b) >= 50 &&
	    holds(&b, big + 60, cap - 60),
	    "reserve reuses consumed space by compacting, no growth");
	TAP_OK(buf_reserve(&b, 5000) == 0 && b.cap > cap &&
	    buf_room(&b) >= 5000 && holds(&b, big + 60, cap - 60),
	    "reserve beyond capacity grows and keeps the bytes");
	memcpy(buf_tail(&b), "xyz", 3);
	b.len += 3;
	TAP_OK(sane(&b) && memcmp(buf_tail(&b) - 3, "xyz", 3) == 0,
	    "bytes written at the tail after reserve are kept");
	buf_free(&b);
	TAP_OK(buf_reserve(&b, 1 << 20) == 0 && buf_room(&b) >= 1 << 20,
	    "reserve of 1 MiB at once");
	buf_free(&b);
}

/* Random appends, consumes, reserves and compacts against a model. */
static void
test_model(void)
{
	static uint8_t model[1 << 18];
	struct buf b = { NULL, 0, 0, 0 };
	uint8_t chunk[9000];
	uint32_t seed = 12345;
	size_t mlen = 0, n, i, step, bad = 0, badsane = 0;

	for (step = 0; step < 20000; step++) {
		switch (rnd(&seed) % 4) {
		case 0:
		case 1:
			n = rnd(&seed) % sizeof(chunk);
			if (mlen + n > sizeof(model))
				n = sizeof(model) - mlen;
			for (i = 0; i < n; i++)
				chunk[i] = (uint8_t)rnd(&seed);
			if (buf_append(&b, chunk, n) == -1)
				abort();
			memcpy(model + mlen, chunk, n);
			mlen += n;
			break;
		case 2:
			n = rnd(&seed) % (mlen + 2);
			buf_consume(&b, n);
			n = n > mlen ? mlen : n;
			memmove(model, model + n, mlen - n);
			mlen -= n;
			break;
		default:
			if (rnd(&seed) % 2) {
				n = rnd(&seed) % 20000;
				if (buf_reserve(&b, n) == -1)
					abort();
				if (buf_room(&b) < n)
					bad++;
			} else
				buf_compact(&b);
			break;
		}
		if (!sane(&b))
			badsane++;
		if (!holds(&b, model, mlen))
			bad++;
	}
	TAP_OK(badsane == 0,
	    "model: off+len <= cap after 20000 random operations");
	TAP_OK(bad == 0,
	    "model: contents equal a flat model after 20000 random operations");
	buf_free(&b);
}

int
main(void)
{
	test_basic();
	test_reserve();
	test_model();
	return TAP_DONE();
}
