/*
 * test_proto.c -- the ekko protocol: binary and text requests, reply
 * headers, op names.
 */
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "proto.h"
#include "tap.h"
#include "util.h"

/* Parse a text line given as a C string (delimiter already removed). */
static int
text(const char *s, struct proto_req *r)
{
	return proto_parse_text((const uint8_t *)s, strlen(s), r);
}

/* Does the request's argument equal s, pointing into the line at off? */
static int
arg_is(const struct proto_req *r, const char *line, size_t off,
    const char *s)
{
	return r->arg == (const uint8_t *)line + off &&
	    r->arglen == strlen(s) && memcmp(r->arg, s, r->arglen) == 0;
}

/* Each known op in a binary frame, with and without payload. */
static void
test_binary_ops(void)
{
	static const int ops[] = { PROTO_PING, PROTO_ECHO, PROTO_STATS,
	    PROTO_INFO, PROTO_QUIT };
	uint8_t f[64];
	struct proto_req r;
	size_t i;

	for (i = 0; i < nitems(ops); i++) {
		proto_put_header(f, ops[i], 0);
		TAP_OK(proto_parse_binary(f, PROTO_HDR, &r) == PROTO_OK &&
		    r.op == ops[i] && r.arglen == 0 && r.arg == f + PROTO_HDR,
		    "binary: op 0x%02x (%s) parses, empty payload", ops[i],
		    proto_op_name(ops[i]));
	}
	proto_put_header(f, PROTO_ECHO, 5);
	memcpy(f + PROTO_HDR, "hello", 5);
	TAP_OK(proto_parse_binary(f, PROTO_HDR + 5, &r) == PROTO_OK &&
	    r.op == PROTO_ECHO && r.arg == f + PROTO_HDR && r.arglen == 5 &&
	    memcmp(r.arg, "hello", 5) == 0,
	    "binary: ECHO payload points into the frame, not copied");
	proto_put_header(f, PROTO_ECHO, 3);
	memcpy(f + PROTO_HDR, "a\0b", 3);
	TAP_OK(proto_parse_binary(f, PROTO_HDR + 3, &r) == PROTO_OK &&
	    r.arglen == 3 && r.arg[1] == '\0',
	    "binary: payload is bytes, a NUL inside is kept");
}

/* Unknown ops and empty frames. */
static void
test_binary_errors(void)
{
	static const int unknown[] = { 0x00, 0x07, 0x7f, 0x81, 0xff };
	uint8_t f[16];
	struct proto_req r;
	size_t i;

	for (i = 0; i < nitems(unknown); i++) {
		proto_put_header(f, unknown[i], 2);
		f[5] = 'x';
		f[6] = 'y';
		TAP_OK(proto_parse_binary(f, PROTO_HDR + 2, &r) ==
		    PROTO_UNKNOWN && r.op == unknown[i],
		    "binary: op 0x%02x is unknown and reported as such",
		    unknown[i]);
	}
	frame_put_u32(f, 0);
	r.op = PROTO_PING;
	TAP_OK(proto_parse_binary(f, FRAME_LENGTH_HDR, &r) == PROTO_EMPTY &&
	    r.arg == NULL && r.arglen == 0,
	    "binary: a frame with len 0 (no op byte) is PROTO_EMPTY");
	TAP_OK(r.op != PROTO_PING,
	    "binary: an empty frame reports no op");
}

/* The header of a reply or request frame. */
static void
test_put_header(void)
{
	uint8_t f[8];

	memset(f, 0xaa, sizeof(f));
	proto_put_header(f, PROTO_PING | PROTO_REPLY, 4);
	TAP_OK(f[0] == 0 && f[1] == 0 && f[2] == 0 && f[3] == 5 &&
	    f[4] == 0x81 && f[5] == 0xaa,
	    "header: PONG reply is 00 00 00 05 81, nothing written after");
	proto_put_header(f, PROTO_ERROR, 0x01020304);
	TAP_OK(f[0] == 1 && f[1] == 2 && f[2] == 3 && f[3] == 5 &&
	    f[4] == 0xff,
	    "header: length counts op + payload, big-endian");
	proto_put_header(f, PROTO_QUIT | PROTO_REPLY, 0);
	TAP_OK(frame_get_u32(f) == 1 && f[4] == 0x85,
	    "header: an empty reply has len 1 (the op)");
}

/* Text commands, case, arguments. */
static void
test_text(void)
{
	struct proto_req r;
	const char *l;

	TAP_OK(text("PING", &r) == PROTO_OK && r.op == PROTO_PING &&
	    r.arg == NULL && r.arglen == 0, "text: PING");
	TAP_OK(text("ping", &r) == PROTO_OK && r.op == PROTO_PING,
	    "text: ping (lower case)");
	TAP_OK(text("PiNg", &r) == PROTO_OK && r.op == PROTO_PING,
	    "text: PiNg (mixed case)");
	TAP_OK(text("STATS", &r) == PROTO_OK && r.op == PROTO_STATS,
	    "text: STATS");
	TAP_OK(text("info", &r) == PROTO_OK && r.op == PROTO_INFO,
	    "text: info");
	TAP_OK(text("Quit", &r) == PROTO_OK && r.op == PROTO_QUIT,
	    "text: Quit");
	TAP_OK(text("DRAIN", &r) == PROTO_OK && r.op == PROTO_DRAIN &&
	    r.arglen == 0, "text: DRAIN");
	l = "drain off";
	TAP_OK(text(l, &r) == PROTO_OK && r.op == PROTO_DRAIN &&
	    arg_is(&r, l, 6, "off"), "text: drain off -> arg \"off\"");
	l = "ECHO hello world";
	TAP_OK(text(l, &r) == PROTO_OK && r.op == PROTO_ECHO &&
	    arg_is(&r, l, 5, "hello world"),
	    "text: ECHO hello world -> arg \"hello world\", in place");
	l = "echo  two spaces ";
	TAP_OK(text(l, &r) == PROTO_OK && arg_is(&r, l, 5, " two spaces "),
	    "text: ECHO argument kept byte for byte after the first space");
	TAP_OK(text("ECHO", &r) == PROTO_OK && r.op == PROTO_ECHO &&
	    r.arg == NULL && r.arglen == 0, "text: ECHO with no argument");
	l = "ECHO ";
	TAP_OK(text(l, &r) == PROTO_OK && r.op == PROTO_ECHO &&
	    r.arg == (const uint8_t *)l + 5 && r.arglen == 0,
	    "text: \"ECHO \" has an empty argument");
	l = "PING\r";
	TAP_OK(text(l, &r) == PROTO_OK && r.op == PROTO_PING,
	    "text: trailing CR stripped (nc -C, telnet)");
	l = "ECHO hi\r";
	TAP_OK(text(l, &r) == PROTO_OK && arg_is(&r, l, 5, "hi"),
	    "text: trailing CR not part of ECHO's argument");
	l = "ECHO a\rb";
	TAP_OK(text(l, &r) == PROTO_OK && arg_is(&r, l, 5, "a\rb"),
	    "text: a CR inside the argument is kept");
}

/* Text lines that are not requests. */
static void
test_text_errors(void)
{
	static const struct {
		const char	*line, *what;
	} unknown[] = {
		{ "PINGX", "PINGX is not PING" },
		{ "PIN", "a prefix of PING is not PING" },
		{ "HELLO", "HELLO is not a command" },
		{ " PING", "a leading space is not skipped" },
		{ "PING\t", "a TAB does not separate the argument" },
		{ "ECHOhello", "ECHO needs a space before its argument" },
		{ "PIN\x07", "a control byte does not match a letter" },
		{ "\xd0\xc9\xce\xc7", "high-bit bytes do not match PING" },
	};
	struct proto_req r;
	size_t i;

	TAP_OK(text("", &r) == PROTO_EMPTY && r.arg == NULL,
	    "text: an empty line is PROTO_EMPTY");
	TAP_OK(text("\r", &r) == PROTO_EMPTY,
	    "text: a lone CR is an empty line");
	for (i = 0; i < nitems(unknown); i++)
		TAP_OK(text(unknown[i].line, &r) == PROTO_UNKNOWN &&
		    r.op == PROTO_UNKNOWN && r.arg == NULL,
		    "text: %s (PROTO_UNKNOWN)", unknown[i].what);
	TAP_OK(proto_parse_text((const uint8_t *)"PING\0", 5, &r) ==
	    PROTO_UNKNOWN, "text: a NUL after the command is not a space");
	TAP_OK(proto_parse_text((const uint8_t *)"PINGxxx", 4, &r) ==
	    PROTO_OK && r.op == PROTO_PING,
	    "text: only n bytes are read, no NUL terminator needed");
}

/* Op names both ways. */
static void
test_op_names(void)
{
	TAP_OK(strcmp(proto_op_name(PROTO_PING), "PING") == 0 &&
	    strcmp(proto_op_name(PROTO_QUIT), "QUIT") == 0,
	    "names: op to name");
	TAP_OK(strcmp(proto_op_name(0x42), "UNKNOWN") == 0,
	    "names: unknown op is named UNKNOWN");
	TAP_OK(proto_op_from_name("echo") == PROTO_ECHO &&
	    proto_op_from_name("INFO") == PROTO_INFO,
	    "names: name to op, case-insensitive");
	TAP_OK(proto_op_from_name("ECHOX") == PROTO_UNKNOWN &&
	    proto_op_from_name("") == PROTO_UNKNOWN,
	    "names: unknown name is PROTO_UNKNOWN");
}

int
main(void)
{
	test_binary_ops();
	test_binary_errors();
	test_put_header();
	test_text();
	test_text_errors();
	test_op_names();
	return TAP_DONE();
}
