/*
 * frame.c -- decoders for raw, line, fixed and length framing.
 */
#include <string.h>

#include "frame.h"

static const char *const framing_names[] = {
	[FRAMING_RAW] = "raw",
	[FRAMING_LINE] = "line",
	[FRAMING_FIXED] = "fixed",
	[FRAMING_LENGTH] = "length",
};

/* The name used in the config file and in logs. */
const char *
frame_name(enum framing kind)
{
	if ((size_t)kind >= sizeof(framing_names) / sizeof(framing_names[0]))
		return "?";
	return framing_names[kind];
}

/* Map a config name to a framing; -1 if unknown. */
int
frame_parse_name(const char *name, enum framing *kind)
{
	size_t i;

	for (i = 0; i < sizeof(framing_names) / sizeof(framing_names[0]); i++)
		if (strcmp(name, framing_names[i]) == 0) {
			*kind = (enum framing)i;
			return 0;
		}
	return -1;
}

/* Bytes before the payload of a frame. */
size_t
frame_header_len(const struct framer *f)
{
	return f->kind == FRAMING_LENGTH ? FRAME_LENGTH_HDR : 0;
}

/* Bytes after the payload of a frame. */
size_t
frame_trailer_len(const struct framer *f)
{
	return f->kind == FRAMING_LINE ? f->delim_len : 0;
}

/*
 * Line framing (frame_next's one out-of-line case).  *scanned remembers
 * how far earlier calls looked without finding the delimiter, so a line
 * trickling in byte by byte costs O(n) in all, not O(n^2).
 */
int
frame_line(const struct framer *f, const uint8_t *p, size_t n,
    size_t *scanned, size_t *len)
{
	size_t from, limit, dl = f->delim_len;
	const uint8_t *hit;

	from = *scanned > dl - 1 ? *scanned - (dl - 1) : 0;
	limit = f->max_frame + dl;
	if (n > limit)
		n = limit;
	if (from >= n)
		hit = NULL;
	else if (dl == 1)
		hit = memchr(p + from, f->delim[0], n - from);
	else
		hit = memmem(p + from, n - from, f->delim, dl);
	if (hit != NULL) {
		*len = (size_t)(hit - p) + dl;
		*scanned = 0;
		return FRAME_OK;
	}
	*scanned = n;
	return n == limit ? FRAME_TOO_LARGE : FRAME_NEED;
}

/*
 * A line across the wrap: p1 holds no whole delimiter (frame_line said
 * so), but one may start in p1 and end in p2, or lie in p2.  The limit
 * counts both pieces, as frame_line counts one.
 */
static int
frame_line_split(const struct framer *f, const uint8_t *p1, size_t n1,
    const uint8_t *p2, size_t n2, size_t *len)
{
	uint8_t win[2 * FRAME_DELIM_MAX];
	size_t dl = f->delim_len, limit = f->max_frame + dl, w1, w2, m;
	const uint8_t *hit;

	w1 = n1 < dl - 1 ? n1 : dl - 1;
	w2 = n2 < dl - 1 ? n2 : dl - 1;
	memcpy(win, p1 + n1 - w1, w1);
	memcpy(win + w1, p2, w2);
	if (w1 + w2 >= dl &&
	    (hit = memmem(win, w1 + w2, f->delim, dl)) != NULL) {
		/* a match here must straddle: neither side holds dl bytes */
		*len = n1 + (size_t)(hit - win) - w1 + dl;
		return *len <= limit ? FRAME_OK : FRAME_TOO_LARGE;
	}
	m = limit - n1 < n2 ? limit - n1 : n2;
	hit = dl == 1 ? memchr(p2, f->delim[0], m) : memmem(p2, m, f->delim,
	    dl);
	if (hit != NULL) {
		*len = n1 + (size_t)(hit - p2) + dl;
		return FRAME_OK;
	}
	return n1 + n2 >= limit ? FRAME_TOO_LARGE : FRAME_NEED;
}

/*
 * frame_next over bytes held in two pieces, p1[0..n1) then p2[0..n2)
 * (a ring buffer that wraps), with the same verdicts; *len counts both
 * pieces.  No scan hint: a caller keeping a partial line across the
 * wrap makes it whole rather than scan it again on every read.
 */
int
frame_next_split(const struct framer *f, const uint8_t *p1, size_t n1,
    const uint8_t *p2, size_t n2, size_t *len)
{
	uint8_t hdr[FRAME_LENGTH_HDR];
	size_t scanned = 0, i;
	uint32_t plen;
	int r;

	if (n1 == 0)
		return frame_next(f, p2, n2, &scanned, len);
	r = frame_next(f, p1, n1, &scanned, len);
	if (r != FRAME_NEED || n2 == 0)
		return r;
	switch (f->kind) {
	case FRAMING_LINE:
		return frame_line_split(f, p1, n1, p2, n2, len);
	case FRAMING_FIXED:
		if (n1 + n2 < f->frame_size)
			return FRAME_NEED;
		*len = f->frame_size;
		return FRAME_OK;
	case FRAMING_LENGTH:
		if (n1 + n2 < FRAME_LENGTH_HDR)
			return FRAME_NEED;
		for (i = 0; i < FRAME_LENGTH_HDR; i++)
			hdr[i] = i < n1 ? p1[i] : p2[i - n1];
		if ((plen = frame_get_u32(hdr)) > f->max_frame)
			return FRAME_TOO_LARGE;
		if (n1 + n2 - FRAME_LENGTH_HDR < plen)
			return FRAME_NEED;
		*len = FRAME_LENGTH_HDR + (size_t)plen;
		return FRAME_OK;
	default:
		return r;	/* raw: p1 alone is a frame */
	}
}
