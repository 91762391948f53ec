/*
 * test_frame_split.c -- frame_next_split: a frame held in two pieces (a
 * ring buffer that wraps) gets the same verdict as the same bytes in
 * one piece, for every place the wrap can fall.
 */
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "tap.h"

/* Every split point of in[0..n) agrees with frame_next on it whole. */
static int
agrees(const struct framer *f, const uint8_t *in, size_t n)
{
	size_t cut, s, len1, len2;
	int r1, r2;

	for (cut = 0; cut <= n; cut++) {
		s = 0;
		len1 = len2 = 0;
		r1 = frame_next(f, in, n, &s, &len1);
		r2 = frame_next_split(f, in, cut, in + cut, n - cut, &len2);
		if (r1 != r2 || (r1 == FRAME_OK && len1 != len2))
			return 0;
	}
	return 1;
}

static struct framer
mk(enum framing kind, size_t max, size_t size, const char *delim)
{
	struct framer f;

	memset(&f, 0, sizeof(f));
	f.kind = kind;
	f.max_frame = max;
	f.frame_size = size;
	f.delim_len = strlen(delim);
	memcpy(f.delim, delim, f.delim_len);
	return f;
}

int
main(void)
{
	struct framer lf = mk(FRAMING_LINE, 10, 0, "\n");
	struct framer crlf = mk(FRAMING_LINE, 10, 0, "\r\n");
	struct framer end3 = mk(FRAMING_LINE, 10, 0, "END");
	struct framer fix = mk(FRAMING_FIXED, 0, 5, "");
	struct framer len = mk(FRAMING_LENGTH, 6, 0, "");
	const uint8_t l1[] = "abc\ndef\n", l2[] = "abcdefghijkl",
	    l3[] = "abcdefghij\n", c1[] = "ab\r\ncd\r\n", c2[] = "ab\rcd\r\n",
	    e1[] = "xEENDyEND", f1[] = "0123456789ab",
	    n1[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0 },
	    n2[] = { 0, 0, 0, 7, 'a' }, n3[] = { 0, 0, 0, 0 };

	TAP_OK(agrees(&lf, l1, 8), "line \\n: frame found wherever the wrap");
	TAP_OK(agrees(&lf, l1, 2), "line \\n: a partial line needs more");
	TAP_OK(agrees(&lf, l2, 12), "line \\n: over max_frame across the wrap");
	TAP_OK(agrees(&lf, l3, 11), "line \\n: exactly max_frame + delimiter");
	TAP_OK(agrees(&crlf, c1, 8), "line \\r\\n: delimiter split by the wrap");
	TAP_OK(agrees(&crlf, c2, 7), "line \\r\\n: a lone \\r is not one");
	TAP_OK(agrees(&end3, e1, 9), "line END: three-byte delimiter, near miss");
	TAP_OK(agrees(&fix, f1, 12), "fixed 5: frame_size across the wrap");
	TAP_OK(agrees(&fix, f1, 4), "fixed 5: need more");
	TAP_OK(agrees(&len, n1, 11), "length: header split by the wrap");
	TAP_OK(agrees(&len, n2, 5), "length: over max_frame across the wrap");
	TAP_OK(agrees(&len, n3, 4), "length: empty frame");
	TAP_OK(agrees(&len, n1, 3), "length: half a header");
	return TAP_DONE();
}
