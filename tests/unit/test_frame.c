/*
 * test_frame.c -- the four framers: whole, byte by byte, sticky packets,
 * partial leftovers, limits, and the names used in the config.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frame.h"
#include "tap.h"
#include "util.h"

#define MAXF	64

/* What a connection saw after all of its input was fed to a framer. */
struct run {
	size_t	 nframes;
	size_t	 lens[MAXF];
	size_t	 consumed;	/* bytes handed out as frames */
	size_t	 left;		/* bytes still buffered at the end */
	int	 too_large;
	size_t	 too_large_at;	/* bytes received when it was reported */
	int	 bad;		/* a frame broke an invariant */
};

/* A line framer with the given delimiter and limit. */
static struct framer
line_framer(const char *delim, size_t max)
{
	struct framer f;

	memset(&f, 0, sizeof(f));
	f.kind = FRAMING_LINE;
	f.max_frame = max;
	f.delim_len = strlen(delim);
	memcpy(f.delim, delim, f.delim_len);
	return f;
}

/* A framer of another kind. */
static struct framer
framer_of(enum framing kind, size_t max, size_t size)
{
	struct framer f;

	memset(&f, 0, sizeof(f));
	f.kind = kind;
	f.max_frame = max;
	f.frame_size = size;
	return f;
}

/*
 * Feed in[0..n) in reads of chunk bytes (0: all at once), consuming every
 * complete frame after each read as the server does, the scanned hint
 * kept per connection.  Each frame must be the next bytes of the input.
 */
static void
drive(const struct framer *f, const void *vin, size_t n, size_t chunk,
    struct run *r)
{
	const uint8_t *in = vin;
	struct buf b = { NULL, 0, 0, 0 };
	size_t got = 0, scanned = 0, len, c;
	int st;

	memset(r, 0, sizeof(*r));
	while (got < n && !r->too_large) {
		c = chunk == 0 || n - got < chunk ? n - got : chunk;
		if (buf_append(&b, in + got, c) == -1)
			abort();
		got += c;
		for (;;) {
			len = 0;
			st = frame_next(f, buf_head(&b), b.len, &scanned, &len);
			if (st == FRAME_NEED)
				break;
			if (st == FRAME_TOO_LARGE) {
				r->too_large = 1;
				r->too_large_at = got;
				break;
			}
			if (st != FRAME_OK || len == 0 || len > b.len ||
			    scanned != 0 ||
			    memcmp(buf_head(&b), in + r->consumed, len) != 0 ||
			    r->nframes == MAXF) {
				r->bad = 1;
				goto out;
			}
			r->lens[r->nframes++] = len;
			r->consumed += len;
			buf_consume(&b, len);
		}
	}
out:
	r->left = b.len;
	buf_free(&b);
}

/* Do the frame lengths of a run equal the expected list? */
static int
lens_are(const struct run *r, const size_t *want, size_t nwant)
{
	size_t i;

	if (r->bad || r->nframes != nwant)
		return 0;
	for (i = 0; i < nwant; i++)
		if (r->lens[i] != want[i])
			return 0;
	return 1;
}

/* One chunk size after another: whole, byte by byte, odd sizes. */
static const size_t chunks[] = { 0, 1, 2, 3, 5, 7 };

/* Check a line input under every chunking. */
static void
check_line_chunked(const char *delim, size_t max, const char *in,
    const size_t *want, size_t nwant, size_t left, const char *what)
{
	struct framer f = line_framer(delim, max);
	struct run r;
	size_t i;

	for (i = 0; i < nitems(chunks); i++) {
		drive(&f, in, strlen(in), chunks[i], &r);
		TAP_OK(lens_are(&r, want, nwant) && r.left == left &&
		    !r.too_large, "line: %s (reads of %zu bytes)", what,
		    chunks[i]);
	}
}

/* Append a length frame carrying n bytes of payload to out at *off. */
static void
put_len_frame(uint8_t *out, size_t *off, const void *payload, size_t n)
{
	frame_put_u32(out + *off, (uint32_t)n);
	memcpy(out + *off + FRAME_LENGTH_HDR, payload, n);
	*off += FRAME_LENGTH_HDR + n;
}

/* Raw framing: whatever arrived is one message. */
static void
test_raw(void)
{
	struct framer f = framer_of(FRAMING_RAW, 0, 0);
	const size_t want3[] = { 3, 3, 2 }, want8[] = { 8 };
	size_t scanned = 0, len = 0;
	struct run r;

	TAP_OK(frame_next(&f, (const uint8_t *)"", 0, &scanned, &len) ==
	    FRAME_NEED, "raw: an empty buffer needs more");
	drive(&f, "abcdefgh", 8, 0, &r);
	TAP_OK(lens_are(&r, want8, 1) && r.left == 0,
	    "raw: one read is one message of its size");
	drive(&f, "abcdefgh", 8, 3, &r);
	TAP_OK(lens_are(&r, want3, 3) && r.left == 0,
	    "raw: each read is passed on as it arrives, never held back");
	TAP_OK(frame_header_len(&f) == 0 && frame_trailer_len(&f) == 0,
	    "raw: no header, no trailer");
}

/* Line framing with "\n": whole, byte by byte, sticky, partial. */
static void
test_line_lf(void)
{
	const size_t one[] = { 6 }, three[] = { 2, 3, 4 }, empty[] = { 1, 1 };

	check_line_chunked("\n", 64, "hello\n", one, 1, 0,
	    "one line arrives whole or in pieces");
	check_line_chunked("\n", 64, "a\nbb\nccc\n", three, 3, 0,
	    "sticky lines in one buffer are all consumed");
	check_line_chunked("\n", 64, "a\nbb\nccc\npar", three, 3, 3,
	    "a partial line is left over after the complete ones");
	check_line_chunked("\n", 64, "\n\n", empty, 2, 0,
	    "an empty line is a frame of just the delimiter");
	check_line_chunked("\n", 64, "no delimiter yet", NULL, 0, 16,
	    "without a delimiter nothing is a frame");
}

/* Line framing with "\r\n" and longer delimiters split across reads. */
static void
test_line_multibyte(void)
{
	const size_t crlf[] = { 6, 8 }, bare[] = { 5 }, end[] = { 6, 6 };
	const size_t overlap[] = { 4 };
	struct framer f = line_framer("\r\n", 64), g = line_framer("END", 64);
	size_t scanned = 0, len = 0;

	check_line_chunked("\r\n", 64, "PING\r\nECHO x\r\n", crlf, 2, 0,
	    "CRLF lines, sticky, in any pieces");
	check_line_chunked("\r\n", 64, "a\nb\r\n", bare, 1, 0,
	    "a bare LF does not end a CRLF line");
	check_line_chunked("END", 64, "oneENDtwoENDtr", end, 2, 2,
	    "a 3-byte delimiter split across reads is found");
	check_line_chunked("aab", 64, "aaab", overlap, 1, 0,
	    "a self-overlapping delimiter is found after a false start");

	TAP_OK(frame_next(&f, (const uint8_t *)"abc\r", 4, &scanned, &len) ==
	    FRAME_NEED && scanned == 4,
	    "line: CR alone needs more, hint records 4 bytes looked at");
	TAP_OK(frame_next(&f, (const uint8_t *)"abc\r\n", 5, &scanned,
	    &len) == FRAME_OK && len == 5 && scanned == 0,
	    "line: the LF of a CRLF split after the CR completes the line "
	    "and resets the hint");
	scanned = 0;
	TAP_OK(frame_next(&g, (const uint8_t *)"xE", 2, &scanned, &len) ==
	    FRAME_NEED && frame_next(&g, (const uint8_t *)"xEN", 3, &scanned,
	    &len) == FRAME_NEED && frame_next(&g, (const uint8_t *)"xEND", 4,
	    &scanned, &len) == FRAME_OK && len == 4,
	    "line: a 3-byte delimiter arriving 1+1+1 bytes is found");
	scanned = 0;
	TAP_OK(frame_next(&g, (const uint8_t *)"xEN", 3, &scanned, &len) ==
	    FRAME_NEED && frame_next(&g, (const uint8_t *)"xENDyy", 6,
	    &scanned, &len) == FRAME_OK && len == 4,
	    "line: a 3-byte delimiter split 2+1 with bytes after it is found");
	scanned = 3;
	TAP_OK(frame_next(&f, (const uint8_t *)"ab\r\ncd", 6, &scanned,
	    &len) == FRAME_OK && len == 4,
	    "line: the hint backs off delim_len-1 bytes so a split "
	    "delimiter is not missed");
	scanned = 4;
	TAP_OK(frame_next(&f, (const uint8_t *)"ab\r\ncd", 6, &scanned,
	    &len) == FRAME_NEED && scanned == 6,
	    "line: bytes before the hint are trusted and not searched again");
}

/* Line framing at and beyond max_frame. */
static void
test_line_limit(void)
{
	const size_t at[] = { 9 }, atcrlf[] = { 10 }, first[] = { 3 };
	struct framer f = line_framer("\n", 8), g = line_framer("\r\n", 8);
	size_t i;
	struct run r;

	check_line_chunked("\n", 8, "12345678\n", at, 1, 0,
	    "a line of exactly max_frame bytes is accepted");
	check_line_chunked("\n", 8, "12345678\nmore", at, 1, 4,
	    "a line of max_frame bytes with more buffered behind it");
	check_line_chunked("\r\n", 8, "12345678\r\n", atcrlf, 1, 0,
	    "a CRLF line of exactly max_frame bytes is accepted");
	for (i = 0; i < nitems(chunks); i++) {
		drive(&f, "123456789\n", 10, chunks[i], &r);
		TAP_OK(r.too_large && r.nframes == 0 && !r.bad,
		    "line: max_frame+1 bytes is too large (reads of %zu)",
		    chunks[i]);
	}
	drive(&f, "123456789", 9, 1, &r);
	TAP_OK(r.too_large && r.too_large_at == 9,
	    "line: too large is reported at max_frame+delim bytes, "
	    "without waiting for a delimiter that may never come");
	drive(&f, "12345678", 8, 1, &r);
	TAP_OK(!r.too_large && r.left == 8,
	    "line: max_frame bytes without delimiter still waits");
	drive(&g, "123456789\r\n", 11, 1, &r);
	TAP_OK(r.too_large && r.too_large_at == 10 && r.nframes == 0,
	    "line: CRLF line of max_frame+1 is too large at max_frame+2 bytes");
	drive(&g, "12345678\r", 9, 1, &r);
	TAP_OK(!r.too_large && r.left == 9,
	    "line: max_frame bytes and half a CRLF still waits");
	drive(&f, "ab\nxxxxxxxxxxxxxxxxxxxx", 23, 0, &r);
	TAP_OK(lens_are(&r, first, 1) && r.too_large,
	    "line: frames before an oversized one are delivered first");
}

/* Fixed framing: every message is frame_size bytes. */
static void
test_fixed(void)
{
	struct framer f = framer_of(FRAMING_FIXED, 0, 4);
	struct framer one = framer_of(FRAMING_FIXED, 0, 1);
	const size_t two[] = { 4, 4 }, ones[] = { 1, 1, 1 };
	size_t i, scanned = 0, len = 0;
	struct run r;

	for (i = 0; i < nitems(chunks); i++) {
		drive(&f, "abcdefghij", 10, chunks[i], &r);
		TAP_OK(lens_are(&r, two, 2) && r.left == 2,
		    "fixed: two frames and a partial (reads of %zu bytes)",
		    chunks[i]);
	}
	TAP_OK(frame_next(&f, (const uint8_t *)"abc", 3, &scanned, &len) ==
	    FRAME_NEED, "fixed: frame_size-1 bytes need more");
	TAP_OK(frame_next(&f, (const uint8_t *)"abcd", 4, &scanned, &len) ==
	    FRAME_OK && len == 4, "fixed: exactly frame_size bytes is a frame");
	drive(&one, "xyz", 3, 0, &r);
	TAP_OK(lens_are(&r, ones, 3) && r.left == 0,
	    "fixed: frame_size 1 makes every byte a frame");
	TAP_OK(frame_header_len(&f) == 0 && frame_trailer_len(&f) == 0,
	    "fixed: no header, no trailer");
}

/* Length framing: u32 big-endian N, then N bytes. */
static void
test_length(void)
{
	struct framer f = framer_of(FRAMING_LENGTH, 16, 0);
	struct framer big = framer_of(FRAMING_LENGTH, SIZE_MAX, 0);
	uint8_t in[256], hdr[4];
	const size_t zero[] = { 4 }, sticky[] = { 4, 6, 9 }, max[] = { 20 };
	size_t i, n, scanned = 0, len = 0;
	struct run r;

	n = 0;
	put_len_frame(in, &n, "", 0);
	for (i = 0; i < nitems(chunks); i++) {
		drive(&f, in, n, chunks[i], &r);
		TAP_OK(lens_are(&r, zero, 1) && r.left == 0,
		    "length: N=0 is a valid frame of 4 bytes (reads of %zu)",
		    chunks[i]);
	}
	n = 0;
	put_len_frame(in, &n, "", 0);
	put_len_frame(in, &n, "hi", 2);
	put_len_frame(in, &n, "hello", 5);
	put_len_frame(in, &n, "part", 4);
	n -= 2;
	for (i = 0; i < nitems(chunks); i++) {
		drive(&f, in, n, chunks[i], &r);
		TAP_OK(lens_are(&r, sticky, 3) && r.left == 6,
		    "length: sticky frames consumed, partial left "
		    "(reads of %zu)", chunks[i]);
	}
	n = 0;
	put_len_frame(in, &n, "0123456789abcdef", 16);
	for (i = 0; i < nitems(chunks); i++) {
		drive(&f, in, n, chunks[i], &r);
		TAP_OK(lens_are(&r, max, 1),
		    "length: N = max_frame is accepted (reads of %zu)",
		    chunks[i]);
	}
	n = 0;
	put_len_frame(in, &n, "0123456789abcdefg", 17);
	drive(&f, in, n, 1, &r);
	TAP_OK(r.too_large && r.too_large_at == 4 && r.nframes == 0,
	    "length: N = max_frame+1 is too large as soon as the header is in");
	frame_put_u32(hdr, UINT32_MAX);
	TAP_OK(frame_next(&f, hdr, 4, &scanned, &len) == FRAME_TOO_LARGE,
	    "length: N = 2^32-1 is too large");
	TAP_OK(frame_next(&big, hdr, 4, &scanned, &len) == FRAME_NEED,
	    "length: N = 2^32-1 under a huge max_frame needs more, "
	    "no overflow");
	TAP_OK(frame_next(&f, hdr, 3, &scanned, &len) == FRAME_NEED,
	    "length: a header of 3 bytes needs more, whatever it holds");
	frame_put_u32(hdr, 5);
	TAP_OK(frame_next(&f, hdr, 4, &scanned, &len) == FRAME_NEED,
	    "length: a full header without its payload needs more");
	n = 0;
	put_len_frame(in, &n, "abc", 3);
	TAP_OK(frame_next(&f, in, 1, &scanned, &len) == FRAME_NEED &&
	    frame_next(&f, in, 2, &scanned, &len) == FRAME_NEED &&
	    frame_next(&f, in, 6, &scanned, &len) == FRAME_NEED &&
	    frame_next(&f, in, 7, &scanned, &len) == FRAME_OK && len == 7,
	    "length: header split across reads, then payload completes it");
	TAP_OK(frame_header_len(&f) == 4 && frame_trailer_len(&f) == 0,
	    "length: 4-byte header, no trailer");
}

/* Names as in the config file, and the u32 helpers. */
static void
test_names(void)
{
	static const char *const names[] = { "raw", "line", "fixed", "length" };
	static const enum framing kinds[] = { FRAMING_RAW, FRAMING_LINE,
	    FRAMING_FIXED, FRAMING_LENGTH };
	static const char *const bad[] = { "", "bogus", "lines", "raw ",
	    "LINE" };
	struct framer lf = line_framer("\r\n", 8);
	enum framing k;
	uint8_t b[4];
	size_t i;

	for (i = 0; i < nitems(names); i++) {
		k = FRAMING_RAW;
		if (kinds[i] == FRAMING_RAW)
			k = FRAMING_LENGTH;
		TAP_OK(frame_parse_name(names[i], &k) == 0 && k == kinds[i] &&
		    strcmp(frame_name(k), names[i]) == 0,
		    "names: \"%s\" parses and formats back", names[i]);
	}
	for (i = 0; i < nitems(bad); i++) {
		k = FRAMING_FIXED;
		TAP_OK(frame_parse_name(bad[i], &k) == -1 &&
		    k == FRAMING_FIXED,
		    "names: \"%s\" is rejected, kind untouched", bad[i]);
	}
	TAP_OK(strcmp(frame_name((enum framing)42), "?") == 0,
	    "names: an out-of-range framing is named \"?\"");
	TAP_OK(frame_trailer_len(&lf) == 2 && frame_header_len(&lf) == 0,
	    "line: the trailer is the delimiter");
	frame_put_u32(b, 0x01020304);
	TAP_OK(b[0] == 1 && b[1] == 2 && b[2] == 3 && b[3] == 4,
	    "u32: stored big-endian");
	frame_put_u32(b, 0xfedcba98);
	TAP_OK(frame_get_u32(b) == 0xfedcba98, "u32: put then get round trip");
}

int
main(void)
{
	test_raw();
	test_line_lf();
	test_line_multibyte();
	test_line_limit();
	test_fixed();
	test_length();
	test_names();
	return TAP_DONE();
}
