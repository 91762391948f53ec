/*
 * hist.c -- a log-linear latency histogram in the manner of HdrHistogram:
 * below 2^HIST_SUB_BITS every value has a bucket of its own; above, each
 * power of two is cut into HIST_SUB equal steps, so every value is kept
 * to better than 1% (two significant digits) in fixed memory, and adding
 * a value costs a few instructions and no allocation.
 */
#include <math.h>
#include <string.h>

#include "hist.h"

static size_t	 hist_index(uint64_t);
static uint64_t	 hist_top(size_t);

/* The bucket of value v (ns); values beyond the range share the last. */
static size_t
hist_index(uint64_t v)
{
	unsigned int shift;

	if (v < HIST_SUB)
		return (size_t)v;
	if (v >> HIST_MAX_BITS)
		return HIST_BUCKETS - 1;
	shift = (unsigned int)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	return (size_t)(shift + 1) * HIST_SUB +
	    (size_t)((v >> shift) - HIST_SUB);
}

/* The largest value that falls in bucket i. */
static uint64_t
hist_top(size_t i)
{
	unsigned int shift;
	uint64_t sub;

	if (i < HIST_SUB)
		return i;
	shift = (unsigned int)(i / HIST_SUB) - 1;
	sub = i % HIST_SUB + HIST_SUB;
	return ((sub + 1) << shift) - 1;
}

/* An empty histogram. */
void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Count one value, in nanoseconds. */
void
hist_add(struct hist *h, uint64_t v)
{
	h->buckets[hist_index(v)]++;
	if (h->count++ == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->sum += (double)v;
}

/*
 * The value below which a fraction q of the values fall, reported as
 * the top of its bucket (never above the true maximum), as
 * HdrHistogram's highest equivalent value.
 */
uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, top;
	size_t i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	top = hist_top(i);
	return top < h->max ? top : h->max;
}

/* The mean, in nanoseconds. */
double
hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}
