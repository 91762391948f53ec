/*
 * proto.h -- the ekko request/reply protocol, binary and text.
 *
 * Binary (length framing): u32 len | u8 op | payload, len counting op and
 * payload.  A reply carries op | 0x80, or PROTO_ERROR with an error text.
 * Text (line framing): PING, ECHO text, STATS, INFO, QUIT, DRAIN [off];
 * replies PONG (or "PONG draining"), text, "key value" lines then END,
 * BYE, "draining" or "serving", or "ERR message".
 */
#ifndef EKKO_PROTO_H
#define EKKO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_PING	0x01
#define PROTO_ECHO	0x02
#define PROTO_STATS	0x03
#define PROTO_INFO	0x04
#define PROTO_QUIT	0x05
#define PROTO_DRAIN	0x06	/* lame duck: empty on, "off" off */
#define PROTO_REPLY	0x80
#define PROTO_ERROR	0xFF

#define PROTO_HDR	5	/* u32 length + u8 op */

enum proto_status {
	PROTO_OK = 0,
	PROTO_EMPTY = -1,	/* binary frame with len 0 */
	PROTO_UNKNOWN = -2	/* op or command not known */
};

struct proto_req {
	int		 op;
	const uint8_t	*arg;
	size_t		 arglen;
};

int		 proto_parse_binary(const uint8_t *, size_t, struct proto_req *);
int		 proto_parse_text(const uint8_t *, size_t, struct proto_req *);
void		 proto_put_header(uint8_t *, int, size_t);
const char	*proto_op_name(int);
int		 proto_op_from_name(const char *);

#endif
