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

#include <stddef.h>
#include <stdint.h>

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

int		 frame_next(const struct framer *, const uint8_t *, size_t,
		    size_t *, size_t *);
int		 frame_next_split(const struct framer *, const uint8_t *,
		    size_t, const uint8_t *, size_t, size_t *);
size_t		 frame_header_len(const struct framer *);
size_t		 frame_trailer_len(const struct framer *);
const char	*frame_name(enum framing);
int		 frame_parse_name(const char *, enum framing *);
void		 frame_put_u32(uint8_t *, uint32_t);
uint32_t	 frame_get_u32(const uint8_t *);

#endif
