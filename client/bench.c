/*
 * bench.c -- ekko bench: options, process set-up (descriptors, CPU), and
 * the report, like redis-benchmark's, as text or one JSON object.  The
 * load itself is load.c's.
 */
#include <sys/resource.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "ekko.h"
#include "load.h"
#include "util.h"

#define BENCH_MAXCONNS		100000
#define BENCH_MAXPIPELINE	1024
#define BENCH_MAXSIZE		(64L << 20)
#define BENCH_SPARE_FDS		32	/* stdio, epoll, timer and slack */

struct bench {
	struct target		*t;
	struct load_conf	 cf;
	int			 json;
	long			 cpu;		/* -1: not pinned */
};

static int	 bench_rate(const char *, double *);
static int	 bench_option(struct bench *, int, const char *);
static int	 bench_options(struct bench *, int, char **);
static int	 bench_check(struct bench *);
static int	 bench_limits(const struct bench *);
static void	 bench_text(const struct bench *, const struct load_result *);
static void	 bench_json(const struct bench *, const struct load_result *);
static int	 bench_exit(const struct bench *, const struct load_result *);

/* A rate in requests per second: a positive number, fractions allowed. */
static int
bench_rate(const char *s, double *rate)
{
	char *end;

	errno = 0;
	*rate = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(*rate) ||
	    *rate <= 0 || *rate > 1e9)
		return -1;
	return 0;
}

/* One option; -1 on a bad value. */
static int
bench_option(struct bench *b, int ch, const char *arg)
{
	struct load_conf *cf = &b->cf;
	long v;
	int ms;

	switch (ch) {
	case 'c':
		if (util_parse_long(arg, 1, BENCH_MAXCONNS, &cf->conns) == -1)
			return -1;
		break;
	case 'n':
		if (util_parse_long(arg, 1, LONG_MAX, &v) == -1)
			return -1;
		cf->requests = (uint64_t)v;
		break;
	case 'd':
		if (util_parse_seconds(arg, 1e6, &ms) == -1 || ms <= 0)
			return -1;
		cf->duration_ns = (uint64_t)ms * 1000000;
		break;
	case 'P':
		return util_parse_long(arg, 1, BENCH_MAXPIPELINE,
		    &cf->pipeline);
	case 's':
		return util_parse_long(arg, 0, BENCH_MAXSIZE, &cf->size);
	case 'r':
		return bench_rate(arg, &cf->rate);
	case 'F':
		return wire_mode_parse(arg, &cf->mode);
	case 'C':
		return util_parse_long(arg, 0, CPU_SETSIZE - 1, &b->cpu);
	}
	return 0;
}

/* Parse bench's options; -1 on a usage error, 1 for --help. */
static int
bench_options(struct bench *b, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "framing", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = ekko_getopt(argc, argv, "+c:n:d:P:s:r:h", lo)) != -1) {
		if (ch == 'h') {
			ekko_usage("bench", stdout);
			return 1;
		}
		if (ch == 'j') {
			b->json = 1;
			continue;
		}
		if (ch == '?')
			return -1;
		if (bench_option(b, ch, optarg) == -1) {
			if (ch == 'F')
				ekko_warn(NULL, "bench: --framing %s: not one "
				    "of ekko, ping, raw, line, fixed, length",
				    optarg);
			else if (ch == 'C')
				ekko_warn(NULL, "bench: --cpu %s: bad value",
				    optarg);
			else
				ekko_warn(NULL, "bench: -%c %s: bad value", ch,
				    optarg);
			return -1;
		}
	}
	if (optind != argc) {
		ekko_warn(NULL, "bench: unexpected argument \"%s\"",
		    argv[optind]);
		return -1;
	}
	return 0;
}

/* Settings that only make sense together; -1 with a message if not. */
static int
bench_check(struct bench *b)
{
	struct load_conf *cf = &b->cf;

	if (cf->mode == WIRE_PING)
		cf->size = 0;
	if (cf->size == 0 && (cf->mode == WIRE_RAW || cf->mode == WIRE_FIXED)) {
		ekko_warn(NULL, "bench: -s 0 is no message with %s framing",
		    wire_mode_name(cf->mode));
		return -1;
	}
	if (cf->mode != WIRE_EKKO && cf->mode != WIRE_PING &&
	    ekko_retarget(b->t, EKKO_PORT_ECHO) == -1)
		return -1;
	return 0;
}

/* Room for every connection's descriptor, and the CPU asked for. */
static int
bench_limits(const struct bench *b)
{
	rlim_t need = (rlim_t)b->cf.conns + BENCH_SPARE_FDS;
	struct rlimit rl;
	cpu_set_t set;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_max < need) {
			ekko_warn(NULL, "bench: -c %ld needs %llu descriptors; "
			    "the hard limit is %llu", b->cf.conns,
			    (unsigned long long)need,
			    (unsigned long long)rl.rlim_max);
			return -1;
		}
	}
	if (b->cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET((int)b->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1) {
		ekko_warn(NULL, "bench: --cpu %ld: %s", b->cpu,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The report for people. */
static void
bench_text(const struct bench *b, const struct load_result *r)
{
	const struct load_conf *cf = &b->cf;
	const struct hist *h = &r->hist;
	double secs = (double)r->ns / 1e9, rps;
	const uint64_t *e = r->errors;

	rps = secs > 0 ? (double)r->requests / secs : 0;
	printf("====== ekko bench %s ======\n", cf->t->name);
	printf("  %llu requests completed in %.3f seconds\n",
	    (unsigned long long)r->requests, secs);
	printf("  %ld connections, pipeline %ld, %ld-byte payloads, "
	    "framing %s\n", cf->conns, cf->pipeline, cf->size,
	    wire_mode_name(cf->mode));
	if (cf->rate > 0)
		printf("  open loop at %g requests/s (latency from the "
		    "intended send time)\n", cf->rate);
	else
		printf("  closed loop\n");
	printf("  throughput: %.2f requests/s, %.2f MB/s (payload bytes "
	    "sent and received)\n", rps, rps * 2.0 * (double)cf->size / 1e6);
	printf("  latency summary (msec):\n");
	printf("  %10s %10s %10s %10s %10s %10s\n", "avg", "min", "p50",
	    "p99", "p99.9", "max");
	printf("  %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n",
	    hist_mean(h) / 1e6, (double)h->min / 1e6,
	    (double)hist_quantile(h, 0.5) / 1e6,
	    (double)hist_quantile(h, 0.99) / 1e6,
	    (double)hist_quantile(h, 0.999) / 1e6, (double)h->max / 1e6);
	printf("  errors: connect %llu, reset %llu, timeout %llu, closed "
	    "%llu, mismatch %llu, server %llu\n",
	    (unsigned long long)e[LOAD_ERR_CONNECT],
	    (unsigned long long)e[LOAD_ERR_RESET],
	    (unsigned long long)e[LOAD_ERR_TIMEOUT],
	    (unsigned long long)e[LOAD_ERR_CLOSED],
	    (unsigned long long)e[LOAD_ERR_MISMATCH],
	    (unsigned long long)e[LOAD_ERR_SERVER]);
}

/* The report as one JSON object on one line. */
static void
bench_json(const struct bench *b, const struct load_result *r)
{
	const struct load_conf *cf = &b->cf;
	const struct hist *h = &r->hist;
	double secs = (double)r->ns / 1e9, rps;
	const uint64_t *e = r->errors;

	rps = secs > 0 ? (double)r->requests / secs : 0;
	printf("{\"requests\":%llu,\"seconds\":%.6f,\"rps\":%.2f,"
	    "\"mbps\":%.3f,", (unsigned long long)r->requests, secs, rps,
	    rps * 2.0 * (double)cf->size / 1e6);
	printf("\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
	    "\"max_us\":%.1f,\"min_us\":%.1f,\"avg_us\":%.1f,",
	    (double)hist_quantile(h, 0.5) / 1e3,
	    (double)hist_quantile(h, 0.99) / 1e3,
	    (double)hist_quantile(h, 0.999) / 1e3, (double)h->max / 1e3,
	    (double)h->min / 1e3, hist_mean(h) / 1e3);
	printf("\"errors\":{\"connect\":%llu,\"reset\":%llu,\"timeout\":%llu,"
	    "\"closed\":%llu,\"mismatch\":%llu,\"server\":%llu},",
	    (unsigned long long)e[LOAD_ERR_CONNECT],
	    (unsigned long long)e[LOAD_ERR_RESET],
	    (unsigned long long)e[LOAD_ERR_TIMEOUT],
	    (unsigned long long)e[LOAD_ERR_CLOSED],
	    (unsigned long long)e[LOAD_ERR_MISMATCH],
	    (unsigned long long)e[LOAD_ERR_SERVER]);
	printf("\"conns\":%ld,\"pipeline\":%ld,\"size\":%ld,\"framing\":\"%s\","
	    "\"rate\":%g,\"target\":\"%s\"}\n", cf->conns, cf->pipeline,
	    cf->size, wire_mode_name(cf->mode), cf->rate, cf->t->name);
}

/* 1 for wrong answers, 3 for connections lost or never made, else 0. */
static int
bench_exit(const struct bench *b, const struct load_result *r)
{
	const uint64_t *e = r->errors;

	/* the first error only: the counts tell the rest */
	if (r->first_error[0] != '\0')
		ekko_warn(b->cf.t, "%s", r->first_error);
	if (r->server_error[0] != '\0')
		ekko_warn(b->cf.t, "server error: %s", r->server_error);
	if (e[LOAD_ERR_MISMATCH] > 0 || e[LOAD_ERR_SERVER] > 0)
		return EKKO_REPLY;
	if (e[LOAD_ERR_CONNECT] > 0 || e[LOAD_ERR_RESET] > 0 ||
	    e[LOAD_ERR_TIMEOUT] > 0 || e[LOAD_ERR_CLOSED] > 0)
		return EKKO_NET;
	return EKKO_OK;
}

/* ekko bench [-c conns] [-n requests | -d seconds] [-P pipeline] ... */
int
bench_main(struct target *t, int argc, char **argv)
{
	struct load_result *r;
	struct bench b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.t = t;
	b.cf.t = t;
	b.cf.mode = WIRE_EKKO;
	b.cf.conns = 50;
	b.cf.pipeline = 1;
	b.cf.size = 64;
	b.cf.requests = 100000;
	b.cpu = -1;
	if ((rc = bench_options(&b, argc, argv)) != 0)
		return rc == 1 ? EKKO_OK : ekko_usage("bench", stderr);
	if (bench_check(&b) == -1 || bench_limits(&b) == -1)
		return EKKO_USAGE;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		ekko_warn(NULL, "bench: %s", strerror(errno));
		return EKKO_REPLY;
	}
	ekko_catch_interrupt();
	if (load_run(&b.cf, r) == -1) {
		free(r);
		return EKKO_REPLY;
	}
	if (b.json)
		bench_json(&b, r);
	else
		bench_text(&b, r);
	fflush(stdout);
	rc = bench_exit(&b, r);
	free(r);
	return rc;
}
