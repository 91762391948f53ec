/*
 * fuzz_proto.c -- proto_parse_binary and proto_parse_text on arbitrary
 * bytes: never a read outside the input, arguments point inside it, and
 * an accepted request is really the op it claims.  Also what the client
 * makes of a reply's text for a terminal (util_text_safe): the same
 * length, every byte kept or '?', and not one control byte left.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frame.h"
#include "proto.h"
#include "fuzz.h"
#include "util.h"

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

/* A reply's text made safe for a terminal, newlines kept or not. */
static void
fuzz_text_safe(const uint8_t *p, size_t n, int lines)
{
	const unsigned char *o;
	char *out;
	size_t i, len;

	if ((out = malloc(n + 1)) == NULL)
		return;
	util_text_safe(out, p, n, lines);
	o = (const unsigned char *)out;
	for (i = 0; i < n; i++)
		CHECK(o[i] == p[i] || o[i] == '?');
	for (i = 0; i < n; i += len) {
		len = util_utf8_len(o + i, n - i);
		CHECK(len >= 1 && len <= n - i);	/* all of it UTF-8 */
		CHECK(o[i] >= ' ' || (lines && o[i] == '\n'));
		CHECK(o[i] != 0x7f && !(o[i] == 0xc2 && o[i + 1] < 0xa0));
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_binary(data, size);
	fuzz_text(data, size);
	fuzz_text_safe(data, size, 0);
	fuzz_text_safe(data, size, 1);
	return 0;
}
