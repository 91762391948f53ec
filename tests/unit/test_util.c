/*
 * test_util.c -- number parsing, strlcpy, clocks, write_all.
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

int
main(void)
{
	test_parse_long();
	test_parse_seconds();
	test_misc();
	return TAP_DONE();
}
