/*
 * hist.h -- a log-linear latency histogram of fixed size, for ekko bench.
 */
#ifndef EKKO_HIST_H
#define EKKO_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS	7	/* 128 steps per power of two: < 1% error */
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_MAX_BITS	40	/* up to 2^40 ns, about 18 minutes */
#define HIST_BUCKETS	((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

/* A log-linear latency histogram of fixed size, in nanoseconds. */
struct hist {
	uint64_t	 count;
	uint64_t	 min;
	uint64_t	 max;
	double		 sum;
	uint64_t	 buckets[HIST_BUCKETS];
};

/* hist.c */
void		 hist_init(struct hist *);
void		 hist_add(struct hist *, uint64_t);
uint64_t	 hist_quantile(const struct hist *, double);
double		 hist_mean(const struct hist *);

#endif
