/*
 * http.h -- the head of an HTTP/1.x request (RFC 9112), as the metrics
 * listener receives it.
 *
 * http_parse is a pure function over the bytes received so far, like a
 * framer: "need more", "a head of N bytes" (method, path, version, and
 * whether the connection stays open), "invalid" or "too large".  Only
 * what a scraper sends is accepted; anything the RFC rules out is
 * invalid, so that a confused or hostile peer gets a 400 at once.
 */
#ifndef EKKO_HTTP_H
#define EKKO_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX	8192	/* request line and headers, CRLFs too */

enum http_status {
	HTTP_TOO_LARGE = -2,	/* no end of head within HTTP_HEAD_MAX */
	HTTP_INVALID = -1,
	HTTP_NEED = 0,
	HTTP_OK = 1
};

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_OTHER		/* a valid token we do not serve: 405 */
};

struct http_req {
	size_t		 len;		/* head bytes, blank line included */
	enum http_method method;
	const char	*path;		/* into the input, not terminated */
	size_t		 pathlen;
	int		 minor;		/* HTTP/1.minor: 0 or 1 */
	int		 keep_alive;	/* the connection may stay open */
	int		 body;		/* a body follows (we do not read it) */
};

int	 http_parse(const uint8_t *, size_t, struct http_req *);
int	 http_path_is(const struct http_req *, const char *);

#endif
