/*
 * test_util.c -- number parsing, strlcpy, clocks, write_all, UTF-8 and
 * text made safe for a terminal.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

/* Whole numbers within bounds. */
static void
test_parse_long(void)
{
	static const char *const bad[] = { "", "x", "12x", "1.5", "0x10",
	    "11", "-1", "99999999999999999999999" };
	long v;
	size_t i;

	TAP_OK(util_parse_long("10", 0, 10, &v) == 0 && v == 10,
	    "parse_long: the upper bound is included");
	TAP_OK(util_parse_long("0", 0, 10, &v) == 0 && v == 0,
	    "parse_long: the lower bound is included");
	TAP_OK(util_parse_long("-5", -10, 10, &v) == 0 && v == -5,
	    "parse_long: negative numbers within bounds");
	for (i = 0; i < nitems(bad); i++) {
		v = 42;
		TAP_OK(util_parse_long(bad[i], 0, 10, &v) == -1 && v == 42,
		    "parse_long: \"%s\" rejected in [0, 10], value untouched",
		    bad[i]);
	}
}

/* Seconds with fractions, into milliseconds. */
static void
test_parse_seconds(void)
{
	static const char *const bad[] = { "", "x", "1s", "-1", "nan", "inf",
	    "301", "1e400" };
	int ms;
	size_t i;

	TAP_OK(util_parse_seconds("30", 300, &ms) == 0 && ms == 30000,
	    "parse_seconds: 30 -> 30000 ms");
	TAP_OK(util_parse_seconds("0.25", 300, &ms) == 0 && ms == 250,
	    "parse_seconds: 0.25 -> 250 ms");
	TAP_OK(util_parse_seconds("0.0005", 300, &ms) == 0 && ms == 1,
	    "parse_seconds: half a millisecond rounds up");
	TAP_OK(util_parse_seconds("0", 300, &ms) == 0 && ms == 0,
	    "parse_seconds: 0 is allowed");
	for (i = 0; i < nitems(bad); i++) {
		ms = 42;
		TAP_OK(util_parse_seconds(bad[i], 300, &ms) == -1 && ms == 42,
		    "parse_seconds: \"%s\" rejected in [0, 300]", bad[i]);
	}
}

/* strlcpy, clocks, write_all. */
static void
test_misc(void)
{
	char d[4];
	char rb[8];
	int p[2];
	uint64_t a, b;

	TAP_OK(util_strlcpy(d, "abcdef", sizeof(d)) == 6 &&
	    strcmp(d, "abc") == 0,
	    "strlcpy: truncates, terminates, returns the source length");
	TAP_OK(util_strlcpy(d, "ab", sizeof(d)) == 2 && strcmp(d, "ab") == 0,
	    "strlcpy: a short string is copied whole");
	d[0] = 'z';
	TAP_OK(util_strlcpy(d, "ab", 0) == 2 && d[0] == 'z',
	    "strlcpy: size 0 writes nothing");
	a = util_now_ms();
	b = util_now_ms();
	TAP_OK(b >= a && a > 0, "now_ms: monotonic");
	a = util_now_ns();
	b = util_now_ns();
	TAP_OK(b >= a, "now_ns: monotonic");
	TAP_OK(pipe(p) == 0 && util_write_all(p[1], "hello", 5) == 0 &&
	    read(p[0], rb, sizeof(rb)) == 5 && memcmp(rb, "hello", 5) == 0,
	    "write_all: all bytes reach the descriptor");
	close(p[0]);
	close(p[1]);
	TAP_OK(util_write_all(-1, "x", 1) == -1,
	    "write_all: a bad descriptor fails");
}

/* Valid UTF-8 sequences and what is not one. */
static void
test_utf8_len(void)
{
	const unsigned char *u;

	u = (const unsigned char *)"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	TAP_OK(util_utf8_len(u, 10) == 1 && util_utf8_len(u + 1, 9) == 2 &&
	    util_utf8_len(u + 3, 7) == 3 && util_utf8_len(u + 6, 4) == 4,
	    "utf8_len: ASCII, 2, 3 and 4 bytes");
	TAP_OK(util_utf8_len(u + 6, 3) == 0 && util_utf8_len(u, 0) == 0,
	    "utf8_len: a sequence cut short is none");
	TAP_OK(util_utf8_len((const unsigned char *)"\x82x", 2) == 0 &&
	    util_utf8_len((const unsigned char *)"\xc0\x80", 2) == 0 &&
	    util_utf8_len((const unsigned char *)"\xf5\x80\x80\x80", 4) == 0 &&
	    util_utf8_len((const unsigned char *)"\xc3x", 2) == 0,
	    "utf8_len: a stray continuation, bad leads, a bad continuation");
}

/* Control bytes become '?', byte for byte; text and UTF-8 stay. */
static void
test_text_safe(void)
{
	static const uint8_t in[] = "ok \xc3\xa9\x1b[2J\n\x07\x7f\x9b"
	    "\xc2\x9b\xc2\xa0\xe2\x82\xac";
	char out[sizeof(in)];

	util_text_safe(out, in, sizeof(in) - 1, 1);
	out[sizeof(in) - 1] = '\0';
	TAP_OK(strcmp(out, "ok \xc3\xa9?[2J\n?????\xc2\xa0\xe2\x82\xac") == 0,
	    "text_safe: C0, DEL, C1 raw and encoded replaced; newline kept");
	util_text_safe(out, in, sizeof(in) - 1, 0);
	TAP_OK(out[9] == '?', "text_safe: newline replaced when lines are not kept");
	util_text_safe(out, (const uint8_t *)"\xe2\x82", 2, 1);
	TAP_OK(out[0] == '?' && out[1] == '?', "text_safe: a cut sequence replaced");
}

int
main(void)
{
	test_parse_long();
	test_parse_seconds();
	test_misc();
	test_utf8_len();
	test_text_safe();
	return TAP_DONE();
}
