/*
 * proto.c -- parse ekko requests and lay out ekko frames.
 */
#include <strings.h>

#include "frame.h"
#include "proto.h"

static const struct {
	int		 op;
	const char	*name;
} proto_ops[] = {
	{ PROTO_PING, "PING" },
	{ PROTO_ECHO, "ECHO" },
	{ PROTO_STATS, "STATS" },
	{ PROTO_INFO, "INFO" },
	{ PROTO_QUIT, "QUIT" },
	{ PROTO_DRAIN, "DRAIN" },
};

#define NOPS (sizeof(proto_ops) / sizeof(proto_ops[0]))

/* The name of an op, for logs and the text protocol. */
const char *
proto_op_name(int op)
{
	size_t i;

	for (i = 0; i < NOPS; i++)
		if (proto_ops[i].op == op)
			return proto_ops[i].name;
	return "UNKNOWN";
}

/* Map a case-insensitive command name to its op; PROTO_UNKNOWN if none. */
int
proto_op_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < NOPS; i++)
		if (strcasecmp(proto_ops[i].name, name) == 0)
			return proto_ops[i].op;
	return PROTO_UNKNOWN;
}

/* Write the 5-byte header of a frame carrying op and n payload bytes. */
void
proto_put_header(uint8_t *p, int op, size_t n)
{
	frame_put_u32(p, (uint32_t)(n + 1));
	p[4] = (uint8_t)op;
}

/*
 * Parse one binary frame, length header included (as frame_next returns
 * it).  The op is checked against the known ones; the payload is not
 * copied.
 */
int
proto_parse_binary(const uint8_t *p, size_t n, struct proto_req *r)
{
	size_t i;

	r->arg = NULL;
	r->arglen = 0;
	r->op = PROTO_UNKNOWN;
	if (n <= FRAME_LENGTH_HDR)
		return PROTO_EMPTY;
	r->arg = p + PROTO_HDR;
	r->arglen = n - PROTO_HDR;
	for (i = 0; i < NOPS; i++)
		if (proto_ops[i].op == p[4]) {
			r->op = p[4];
			return PROTO_OK;
		}
	r->op = p[4];
	return PROTO_UNKNOWN;
}

/* Case-insensitive compare of the first word of a line with a name. */
static int
proto_word_is(const uint8_t *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n && name[i] != '\0'; i++)
		if ((p[i] | 0x20) != (name[i] | 0x20))
			return 0;
	return i == n && name[i] == '\0';
}

/*
 * Parse one text line, delimiter removed.  A trailing CR is dropped so
 * that telnet and nc -C work.  ECHO's argument is everything after the
 * first space, kept byte for byte.
 */
int
proto_parse_text(const uint8_t *p, size_t n, struct proto_req *r)
{
	size_t i, w;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	r->op = PROTO_UNKNOWN;
	r->arg = NULL;
	r->arglen = 0;
	for (w = 0; w < n && p[w] != ' '; w++)
		;
	if (w == 0)
		return n == 0 ? PROTO_EMPTY : PROTO_UNKNOWN;
	for (i = 0; i < NOPS; i++)
		if (proto_word_is(p, w, proto_ops[i].name)) {
			r->op = proto_ops[i].op;
			break;
		}
	if (r->op == PROTO_UNKNOWN)
		return PROTO_UNKNOWN;
	if (w < n) {
		r->arg = p + w + 1;
		r->arglen = n - w - 1;
	}
	return PROTO_OK;
}
