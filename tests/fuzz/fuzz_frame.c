/*
 * fuzz_frame.c -- the four framers against arbitrary input arriving in
 * arbitrary pieces.  The first bytes choose the framing and parameters;
 * the rest is fed in chunks of varying sizes, every complete frame
 * consumed after each read as a connection does, and each answer of
 * frame_next is checked against a naive oracle that uses no hint.
 *
 * Input: kind, max_frame (2 bytes), frame_size, chunk seed, delim_len,
 * delimiter bytes, then the stream.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frame.h"
#include "fuzz.h"

/* The next chunk size from a small generator. */
static size_t
next_chunk(uint32_t *s, size_t cap)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return 1 + *s % cap;
}

/* The first delimiter in p[0..n), found without any hint; n if none. */
static size_t
naive_find(const uint8_t *p, size_t n, const uint8_t *d, size_t dl)
{
	size_t i;

	for (i = 0; i + dl <= n; i++)
		if (memcmp(p + i, d, dl) == 0)
			return i;
	return n;
}

/* What frame_next must answer for p[0..n), and the frame length. */
static int
oracle(const struct framer *f, const uint8_t *p, size_t n, size_t *len)
{
	size_t pos, limit;
	uint32_t plen;

	switch (f->kind) {
	case FRAMING_RAW:
		*len = n;
		return n == 0 ? FRAME_NEED : FRAME_OK;
	case FRAMING_FIXED:
		*len = f->frame_size;
		return n < f->frame_size ? FRAME_NEED : FRAME_OK;
	case FRAMING_LENGTH:
		if (n < FRAME_LENGTH_HDR)
			return FRAME_NEED;
		plen = frame_get_u32(p);
		if (plen > f->max_frame)
			return FRAME_TOO_LARGE;
		*len = FRAME_LENGTH_HDR + (size_t)plen;
		return n < *len ? FRAME_NEED : FRAME_OK;
	case FRAMING_LINE:
		limit = f->max_frame + f->delim_len;
		pos = naive_find(p, n, f->delim, f->delim_len);
		if (pos < n && pos + f->delim_len <= limit) {
			*len = pos + f->delim_len;
			return FRAME_OK;
		}
		return n >= limit ? FRAME_TOO_LARGE : FRAME_NEED;
	}
	abort();
}

/* The properties every frame must have, whatever the oracle says. */
static void
check_frame(const struct framer *f, const uint8_t *p, size_t n, size_t len)
{
	CHECK(len > 0 && len <= n);
	switch (f->kind) {
	case FRAMING_RAW:
		CHECK(len == n);
		break;
	case FRAMING_FIXED:
		CHECK(len == f->frame_size);
		break;
	case FRAMING_LENGTH:
		CHECK(len == FRAME_LENGTH_HDR + (size_t)frame_get_u32(p));
		CHECK(len - FRAME_LENGTH_HDR <= f->max_frame);
		break;
	case FRAMING_LINE:
		CHECK(len >= f->delim_len);
		CHECK(memcmp(p + len - f->delim_len, f->delim,
		    f->delim_len) == 0);
		CHECK(len - f->delim_len <= f->max_frame);
		/* the first delimiter ends the frame, none earlier */
		CHECK(naive_find(p, len - 1, f->delim, f->delim_len) ==
		    len - 1);
		break;
	}
}

/* Read the framer's parameters from the head of the input. */
static size_t
setup(const uint8_t *d, size_t n, struct framer *f, uint32_t *seed,
    size_t *cap)
{
	static const size_t caps[] = { 1, 2, 3, 7, 64, 4096 };
	size_t dl;

	if (n < 6)
		return 0;
	memset(f, 0, sizeof(*f));
	f->kind = (enum framing)(d[0] % 4);
	f->max_frame = (size_t)d[1] | (size_t)(d[2] & 0x0f) << 8;
	f->frame_size = 1 + d[3] % 64;
	*seed = (uint32_t)d[4] << 8 | 1;
	*cap = caps[(d[2] >> 4) % 6];
	dl = 1 + d[5] % 4;
	if (n < 6 + dl)
		return 0;
	f->delim_len = dl;
	memcpy(f->delim, d + 6, dl);
	return 6 + dl;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct framer f;
	struct buf in = { NULL, 0, 0, 0 }, out = { NULL, 0, 0, 0 };
	const uint8_t *s;
	size_t hdr, n, got = 0, consumed = 0, scanned = 0, len, wlen, cap;
	uint32_t seed;
	int st, want, closed = 0;

	if ((hdr = setup(data, size, &f, &seed, &cap)) == 0)
		return 0;
	s = data + hdr;
	n = size - hdr;
	while (got < n && !closed) {
		size_t c = next_chunk(&seed, cap);

		if (c > n - got)
			c = n - got;
		CHECK(buf_append(&in, s + got, c) == 0);
		got += c;
		for (;;) {
			len = wlen = 0;
			st = frame_next(&f, buf_head(&in), in.len, &scanned,
			    &len);
			want = oracle(&f, buf_head(&in), in.len, &wlen);
			CHECK(st == want);
			if (st == FRAME_NEED) {
				CHECK(f.kind != FRAMING_LINE ||
				    scanned <= in.len);
				break;
			}
			if (st == FRAME_TOO_LARGE) {
				CHECK(f.kind == FRAMING_LINE ||
				    f.kind == FRAMING_LENGTH);
				closed = 1;
				break;
			}
			CHECK(len == wlen);
			check_frame(&f, buf_head(&in), in.len, len);
			CHECK(scanned == 0);
			CHECK(buf_append(&out, buf_head(&in), len) == 0);
			buf_consume(&in, len);
			consumed += len;
		}
	}
	/* frames, put end to end, are exactly the bytes consumed */
	CHECK(out.len == consumed && consumed + in.len == got);
	CHECK(consumed == 0 || memcmp(buf_head(&out), s, consumed) == 0);
	CHECK(in.len == 0 || memcmp(buf_head(&in), s + consumed, in.len) == 0);
	buf_free(&in);
	buf_free(&out);
	return 0;
}
