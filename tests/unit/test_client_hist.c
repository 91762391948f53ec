/*
 * test_client_hist.c -- ekko bench's latency histogram: exact below 128,
 * within 1% above, quantiles never above the true maximum, the mean, and
 * values beyond its range.
 */
#include <stdint.h>
#include <stdlib.h>

#include "hist.h"
#include "tap.h"

static struct hist h;	/* too big for a comfortable stack frame */

/* Every value below HIST_SUB has a bucket of its own. */
static void
test_small_exact(void)
{
	uint64_t v;
	int exact = 1;

	hist_init(&h);
	for (v = 0; v < HIST_SUB; v++)
		hist_add(&h, v);
	TAP_OK(h.count == HIST_SUB && h.min == 0 && h.max == HIST_SUB - 1,
	    "count, min and max of 0..127");
	TAP_OK(hist_mean(&h) == 63.5, "mean of 0..127 is 63.5");
	for (v = 1; v <= HIST_SUB; v++)
		if (hist_quantile(&h, (double)v / HIST_SUB) != v - 1)
			exact = 0;
	TAP_OK(exact, "each quantile of 0..127 is exact");
	TAP_OK(hist_quantile(&h, 0) == 0, "quantile 0 is the minimum");
}

/* Above, a value is reported as the top of its bucket: under 1% high. */
static void
test_large_within_one_percent(void)
{
	uint64_t v, q, worst_v = 0;
	double err, worst = 0;
	int below = 0;

	for (v = HIST_SUB; v < (1ULL << 39); v = v * 13 / 11 + 7) {
		hist_init(&h);
		hist_add(&h, v);
		hist_add(&h, 1ULL << 39);	/* so that max does not cap */
		q = hist_quantile(&h, 0.5);
		if (q < v)
			below++;
		err = (double)(q - v) / (double)v;
		if (err > worst) {
			worst = err;
			worst_v = v;
		}
	}
	TAP_OK(below == 0, "no value is reported below itself");
	TAP_OK(worst < 0.01, "every value kept within 1%% (worst %.4f%% at "
	    "%llu)", worst * 100, (unsigned long long)worst_v);
}

/* A quantile is never above the largest value seen. */
static void
test_capped_at_max(void)
{
	hist_init(&h);
	hist_add(&h, 1000003);
	TAP_OK(hist_quantile(&h, 0.5) == 1000003 &&
	    hist_quantile(&h, 1) == 1000003,
	    "one value: every quantile is that value");
}

/* Quantiles grow with q, and the mean is the mean. */
static void
test_monotonic_and_mean(void)
{
	uint64_t prev = 0, q, v;
	double sum = 0;
	int i, ok = 1;

	hist_init(&h);
	srand(16);
	for (i = 0; i < 100000; i++) {
		v = (uint64_t)rand() % 5000000;
		sum += (double)v;
		hist_add(&h, v);
	}
	for (i = 0; i <= 1000; i++) {
		q = hist_quantile(&h, i / 1000.0);
		if (q < prev)
			ok = 0;
		prev = q;
	}
	TAP_OK(ok, "quantiles never fall as q grows");
	TAP_OK(prev == h.max, "quantile 1 is the maximum");
	TAP_OK(hist_mean(&h) == sum / 100000, "mean is sum / count");
}

/* Empty, and values beyond 2^HIST_MAX_BITS ns. */
static void
test_edges(void)
{
	hist_init(&h);
	TAP_OK(hist_quantile(&h, 0.99) == 0 && hist_mean(&h) == 0,
	    "an empty histogram reports 0");
	hist_add(&h, 1);
	hist_add(&h, 1ULL << 50);
	TAP_OK(h.max == 1ULL << 50, "max keeps a value beyond the range");
	TAP_OK(hist_quantile(&h, 1) == (1ULL << HIST_MAX_BITS) - 1,
	    "beyond the range, quantiles report its top");
}

int
main(void)
{
	test_small_exact();
	test_large_within_one_percent();
	test_capped_at_max();
	test_monotonic_and_mean();
	test_edges();
	return TAP_DONE();
}
