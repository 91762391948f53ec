/*
 * frame.h -- the four answers to TCP's missing message boundaries.
 *
 * A framer is a pure function over a buffer: given the bytes received so
 * far it says "need more", "one frame of N bytes" or "too large".  The
 * caller consumes every complete frame before reading again; that is the
 * whole cure for "sticky packets".
 */
#ifndef EKKO_FRAME_H
#define EKKO_FRAME_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum framing {
	FRAMING_RAW,		/* a byte stream, no boundaries (RFC 862) */
	FRAMING_LINE,		/* a message ends at the delimiter */
	FRAMING_FIXED,		/* every message is frame_size bytes */
	FRAMING_LENGTH		/* u32 big-endian length, then that many bytes */
};

#define FRAME_DELIM_MAX		16
#define FRAME_LENGTH_HDR	4

struct framer {
	enum framing	 kind;
	size_t		 max_frame;	/* line, length: largest payload */
	size_t		 frame_size;	/* fixed */
	size_t		 delim_len;	/* line */
	uint8_t		 delim[FRAME_DELIM_MAX];
};

enum frame_status {
	FRAME_TOO_LARGE = -1,
	FRAME_NEED = 0,
	FRAME_OK = 1
};

int		 frame_line(const struct framer *, const uint8_t *, size_t,
		    size_t *, size_t *);
int		 frame_next_split(const struct framer *, const uint8_t *,
		    size_t, const uint8_t *, size_t, size_t *);
size_t		 frame_header_len(const struct framer *);
size_t		 frame_trailer_len(const struct framer *);
const char	*frame_name(enum framing);
int		 frame_parse_name(const char *, enum framing *);

/* Store v big-endian at p (any alignment: one store). */
static inline void
frame_put_u32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

/* Load a big-endian u32 from p (any alignment: one load). */
static inline uint32_t
frame_get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

/*
 * Find the first complete frame in p[0..n).  On FRAME_OK, *len is the
 * whole frame, header and delimiter included.  Raw framing makes every
 * byte received a message of its own size.  *scanned is the caller's
 * per-connection hint (line framing only), reset to 0 after each frame.
 * Inline, since it runs once per request: only the line scan is a call.
 */
static inline int
frame_next(const struct framer *f, const uint8_t *p, size_t n,
    size_t *scanned, size_t *len)
{
	uint32_t plen;

	switch (f->kind) {
	case FRAMING_RAW:
		if (n == 0)
			return FRAME_NEED;
		*len = n;
		return FRAME_OK;
	case FRAMING_LINE:
		return frame_line(f, p, n, scanned, len);
	case FRAMING_FIXED:
		if (n < f->frame_size)
			return FRAME_NEED;
		*len = f->frame_size;
		return FRAME_OK;
	case FRAMING_LENGTH:
		if (n < FRAME_LENGTH_HDR)
			return FRAME_NEED;
		if ((plen = frame_get_u32(p)) > f->max_frame)
			return FRAME_TOO_LARGE;
		if (n - FRAME_LENGTH_HDR < plen)
			return FRAME_NEED;
		*len = FRAME_LENGTH_HDR + (size_t)plen;
		return FRAME_OK;
	}
	return FRAME_TOO_LARGE;
}

#endif
