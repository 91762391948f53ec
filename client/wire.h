/*
 * wire.h -- the bytes ekko bench sends and expects back, as a pure layer
 * like common/frame.h: it builds requests into a buffer it is given and
 * says of the bytes received "more to come", "a reply", "an error
 * reply" or "wrong".  It counts nothing; load.c does the accounting.
 */
#ifndef EKKO_WIRE_H
#define EKKO_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* What is driven: the protocol and framing of requests and replies. */
enum wire_mode {
	WIRE_EKKO,		/* the ekko protocol, ECHO op */
	WIRE_PING,		/* the ekko protocol, PING op */
	WIRE_RAW,		/* an echo port, raw framing */
	WIRE_LINE,		/* an echo port, line framing */
	WIRE_FIXED,		/* an echo port, fixed framing */
	WIRE_LENGTH		/* an echo port, length framing */
};

/* A request or reply on the wire: header, body, trailer. */
struct wire_shape {
	uint8_t		 hdr[8];
	size_t		 hdrlen;
	const uint8_t	*body;		/* NULL: the pattern slice for seq */
	size_t		 bodylen;
	uint8_t		 trl[1];
	size_t		 trllen;
	size_t		 len;
};

/* The requests and replies of a run, and the pattern their bodies share. */
struct wire {
	struct wire_shape	 req;
	struct wire_shape	 rep;
	uint8_t			*pat;
	int			 errors;	/* ekko error replies may come */
};

/* How far one connection has read into the reply it waits for. */
struct wire_rx {
	size_t		 off;		/* bytes of the reply read */
	uint64_t	 skip;		/* bytes of an error reply's text to come */
	uint8_t		 hdr[8];	/* the reply header, as it arrives */
};

/* What wire_read made of the bytes it took. */
enum wire_verdict {
	WIRE_MORE,		/* part of a reply: give it the rest */
	WIRE_TEXT,		/* an error reply's header: its text follows */
	WIRE_REPLY,		/* a reply complete and as expected */
	WIRE_ERROR,		/* an ekko error reply complete */
	WIRE_BAD_HEADER,	/* a header neither expected nor an error */
	WIRE_DIFFERS		/* bytes that differ from the request's */
};

/* wire.c */
const char	*wire_mode_name(enum wire_mode);
int		 wire_mode_parse(const char *, enum wire_mode *);
int		 wire_init(struct wire *, enum wire_mode, size_t);
void		 wire_free(struct wire *);
void		 wire_rx_reset(struct wire_rx *);
size_t		 wire_pack(const struct wire *, uint64_t, size_t, uint64_t,
		    uint8_t *, size_t);
enum wire_verdict wire_read(const struct wire *, struct wire_rx *, uint64_t,
		    const uint8_t *, size_t, size_t *);

#endif
