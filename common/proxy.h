/*
 * proxy.h -- the PROXY protocol header (haproxy's proxy-protocol.txt),
 * versions 1 (text) and 2 (binary), as a balancer sends it before the
 * client's first byte.
 *
 * proxy_parse is a pure function over the bytes received so far, like a
 * framer: "need more", "a header of N bytes" (with the client's address,
 * or none: keep the peer's own) or "invalid".
 */
#ifndef EKKO_PROXY_H
#define EKKO_PROXY_H

#include <stddef.h>
#include <stdint.h>

enum proxy_mode {
	PROXY_OFF,		/* no header: the peer is the client */
	PROXY_V1,		/* "PROXY TCP4 ...\r\n" only */
	PROXY_V2,		/* the binary header only */
	PROXY_ANY		/* either, told apart by the first byte */
};

#define PROXY_V1_MAX	107	/* the longest v1 line, CRLF included */
#define PROXY_V2_HDR	16	/* signature, command, family, length */
#define PROXY_MAX	4096	/* a longer v2 header is refused */

enum proxy_status {
	PROXY_INVALID = -1,
	PROXY_NEED = 0,
	PROXY_OK = 1
};

struct proxy_hdr {
	size_t		 len;		/* header bytes, to be consumed */
	int		 family;	/* AF_INET, AF_INET6; AF_UNSPEC:
					   keep the peer's own address */
	uint8_t		 addr[16];	/* the source, as in cidr.h */
	uint16_t	 port;		/* the source port */
};

int		 proxy_parse(enum proxy_mode, const uint8_t *, size_t,
		    struct proxy_hdr *);
const char	*proxy_mode_name(enum proxy_mode);

#endif
