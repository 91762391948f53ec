/*
 * util.c -- clocks, number parsing and the like.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/*
 * Monotonic milliseconds: timeouts never jump with the wall clock.  The
 * coarse clock (a few ms of resolution) is read from memory the kernel
 * updates at each tick, several times cheaper than the precise one, and
 * a worker reads it on every turn of its loop.
 */
uint64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Monotonic nanoseconds, for latency measurements. */
uint64_t
util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A whole decimal number within [min, max]; -1 otherwise. */
int
util_parse_long(const char *s, long min, long max, long *v)
{
	char *end;
	long n;

	if (*s == '\0')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

/* Seconds, fractions allowed, into milliseconds within [0, max]. */
int
util_parse_seconds(const char *s, double max, int *ms)
{
	char *end;
	double d;

	if (*s == '\0')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d < 0 || d > max)
		return -1;
	*ms = (int)(d * 1000 + 0.5);
	return 0;
}

/*
 * The length of the valid UTF-8 sequence at p, of the n bytes there: 1
 * for ASCII, 2 to 4, or 0 when p does not start one (a stray
 * continuation byte, a bad or overlong lead, a sequence cut short).
 */
size_t
util_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;

	if (n == 0)
		return 0;
	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		len = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		len = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/*
 * Copy n bytes of text from a peer to dst for a terminal, byte for byte
 * (widths measured on it still hold): control bytes (C0 but for
 * newlines when lines are kept, DEL, C1 raw or UTF-8 encoded) and bytes
 * that are not UTF-8 become '?'.  Whoever holds a server's port must not
 * drive the operator's terminal with escape sequences.  dst is not
 * terminated.
 */
void
util_text_safe(char *dst, const uint8_t *src, size_t n, int lines)
{
	size_t i, k, len;

	for (i = 0; i < n; i += len) {
		len = util_utf8_len(src + i, n - i);
		if (len == 0 || (src[i] < ' ' && !(lines && src[i] == '\n')) ||
		    src[i] == 0x7f || (src[i] == 0xc2 && src[i + 1] < 0xa0)) {
			len = len == 0 ? 1 : len;
			memset(dst + i, '?', len);
			continue;
		}
		for (k = 0; k < len; k++)
			dst[i + k] = (char)src[i + k];
	}
}

/* strlcpy(3): copy with truncation, always terminated. */
size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

/* write(2) until done, retrying on EINTR; for blocking descriptors. */
int
util_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
