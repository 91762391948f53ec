/*
 * fuzz_proto.c -- proto_parse_binary and proto_parse_text on arbitrary
 * bytes: never a read outside the input, arguments point inside it, and
 * an accepted request is really the op it claims.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frame.h"
#include "proto.h"
#include "fuzz.h"

/* Is op one of the five requests? */
static int
known(int op)
{
	return op >= PROTO_PING && op <= PROTO_DRAIN;
}

/* The argument lies within p[0..n). */
static void
check_arg(const struct proto_req *r, const uint8_t *p, size_t n)
{
	if (r->arg == NULL) {
		CHECK(r->arglen == 0);
		return;
	}
	CHECK(r->arg >= p && r->arg <= p + n);
	CHECK(r->arglen <= (size_t)(p + n - r->arg));
}

/* A binary frame as frame_next hands it over. */
static void
fuzz_binary(const uint8_t *p, size_t n)
{
	struct proto_req r;
	uint8_t hdr[PROTO_HDR];
	int st;

	st = proto_parse_binary(p, n, &r);
	check_arg(&r, p, n);
	if (n <= FRAME_LENGTH_HDR) {
		CHECK(st == PROTO_EMPTY && r.arg == NULL);
		return;
	}
	CHECK(st == PROTO_OK || st == PROTO_UNKNOWN);
	CHECK(r.op == p[4]);
	CHECK(r.arg == p + PROTO_HDR && r.arglen == n - PROTO_HDR);
	CHECK((st == PROTO_OK) == known(r.op));
	proto_put_header(hdr, r.op | PROTO_REPLY, r.arglen);
	CHECK(frame_get_u32(hdr) == r.arglen + 1 &&
	    hdr[4] == (uint8_t)(r.op | PROTO_REPLY));
}

/* A text line, delimiter removed. */
static void
fuzz_text(const uint8_t *p, size_t n)
{
	struct proto_req r;
	const char *name;
	size_t w;
	int st;

	st = proto_parse_text(p, n, &r);
	check_arg(&r, p, n);
	CHECK(st == PROTO_OK || st == PROTO_EMPTY || st == PROTO_UNKNOWN);
	if (st != PROTO_OK) {
		CHECK(r.arg == NULL);
		CHECK(st != PROTO_EMPTY || n == 0 || (n == 1 && p[0] == '\r'));
		return;
	}
	CHECK(known(r.op));
	name = proto_op_name(r.op);
	w = strlen(name);
	CHECK(n >= w && strncasecmp((const char *)p, name, w) == 0);
	CHECK(n == w || p[w] == ' ' || (n == w + 1 && p[w] == '\r'));
	if (r.arg != NULL) {
		CHECK(r.arg == p + w + 1);
		/* a trailing CR is never part of the argument */
		CHECK(r.arg + r.arglen == p + n ||
		    (r.arg + r.arglen == p + n - 1 && p[n - 1] == '\r'));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_binary(data, size);
	fuzz_text(data, size);
	return 0;
}
