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
