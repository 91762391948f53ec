/*
 * metrics.c -- mode "metrics": GET /metrics over HTTP/1.1, answered with
 * the Prometheus text exposition format 0.0.4, and the request-duration
 * histogram it reports.
 *
 * A request head reaches us as one frame (the listener's framer ends a
 * frame at the blank line, at most HTTP_HEAD_MAX bytes: config.c), so
 * keep-alive, pipelining, frame_timeout, max_output and write_timeout
 * work as for the other modes.  The figures are the scoreboard's table,
 * the one STATS prints, so the two never disagree on what there is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ekkod.h"
#include "http.h"
#include "util.h"

#define METRICS_MAX	(1024 * 1024)	/* the exposition, at most */
#define HDR_ROOM	256		/* the response head, at most */

/* Bucket bounds: 1, 2.5, 5 per decade, 1 us .. 1 s. */
static const uint64_t lat_bound_ns[LAT_BUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000,
	250000000, 500000000, 1000000000
};
static const char *const lat_le[LAT_BUCKETS] = {
	"1e-06", "2.5e-06", "5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001",
	"0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "+Inf"
};

static const char *const worker_states[] = {
	"starting", "serving", "draining", "backoff"
};

/* ---- the histogram ---- */

/*
 * n requests were answered since the worker last read the clock (after
 * epoll_wait, or at the end of the previous batch): one clock read for
 * the whole batch, which every request of it is counted with.  What is
 * measured is the worker's time for the batch: the read that brought
 * it, the answers, and the write that handed them to the kernel.
 */
void
metrics_observe(struct worker *w, int mode, uint64_t n)
{
	struct sb_hist *h;
	uint64_t t, d;
	int b;

	/* compiled out (make LATENCY=0), or nothing answered: no clock */
	if (!EKKO_LATENCY || n == 0 || mode < 0 || mode >= LAT_MODES)
		return;
	t = util_now_ns();
	d = t - w->lat_mark;
	w->lat_mark = t;
	for (b = 0; b < LAT_BUCKETS - 1 && d > lat_bound_ns[b]; b++)
		;
	h = &w->slot->lat[mode];
	sb_count(&h->bucket[b], n);
	sb_count(&h->sum_ns, d * n);
}

/* ---- the exposition ---- */

struct mtext {
	char	*buf;
	size_t	 len;
	size_t	 off;
};

/* Append a formatted line; a full buffer drops the rest. */
static void __attribute__((format(printf, 2, 3)))
mt_put(struct mtext *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->off >= t->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->off, t->len - t->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->off = t->off + (size_t)n >= t->len ? t->len :
		    t->off + (size_t)n;
}

/* "ekko_" [pfx] name ["_total" for a counter], into out. */
static const char *
mt_name(const struct sb_fig *f, const char *pfx, char *out, size_t len)
{
	const char *n = f->metric ? f->metric : f->key;
	size_t nl = strlen(n);
	int total = f->type == FIG_COUNTER && (nl < 6 ||
	    strcmp(n + nl - 6, "_total") != 0);

	snprintf(out, len, "ekko_%s%s%s", pfx, n, total ? "_total" : "");
	return out;
}

/* The HELP and TYPE lines of a family. */
static void
mt_family(struct mtext *t, const char *name, const char *type,
    const char *help)
{
	mt_put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value as the format writes it. */
static void
mt_value(struct mtext *t, const struct sb_value *v)
{
	if (v->is_double)
		mt_put(t, " %.3f\n", v->d);
	else
		mt_put(t, " %llu\n", (unsigned long long)v->u);
}

/* The global figures, the errors by kind, what this build is. */
static void
mt_global(struct mtext *t, uint64_t now)
{
	const struct sb_fig *f;
	struct sb_value v;
	char name[96];
	int i, k;

	for (i = 0; i < SBG_N; i++) {
		f = &sb_global_figs[i];
		if (f->type == FIG_TEXT)
			continue;	/* version: ekko_build_info below */
		mt_name(f, "", name, sizeof(name));
		mt_family(t, name, f->type == FIG_COUNTER ? "counter" :
		    "gauge", f->help);
		scoreboard_global_value(i, now, &v);
		mt_put(t, "%s", name);
		mt_value(t, &v);
	}
	mt_family(t, "ekko_errors_total", "counter",
	    "Connections and requests that failed, by kind.");
	for (k = 0; k < ERR_NKINDS; k++)
		mt_put(t, "ekko_errors_total{kind=\"%s\"} %llu\n",
		    scoreboard_err_name(k),
		    (unsigned long long)scoreboard_errors(k));
	mt_family(t, "ekko_build_info", "gauge", "The version of ekkod "
	    "serving, as a label; always 1.");
	mt_put(t, "ekko_build_info{version=\"%s\"} 1\n", EKKO_VERSION);
	mt_family(t, "ekko_start_time_seconds", "gauge", "When the master "
	    "started, in seconds since the Unix epoch.");
	mt_put(t, "ekko_start_time_seconds %llu\n",
	    (unsigned long long)sb->start_wall);
}

/* One worker's series of figure i (every state, for the state). */
static void
mt_worker_series(struct mtext *t, const char *name, int i, int slot,
    uint64_t now)
{
	struct sb_value v;
	size_t s;

	scoreboard_worker_value(i, slot, now, &v);
	if (sb_worker_figs[i].type != FIG_STATE) {
		mt_put(t, "%s{worker=\"%d\",generation=\"%d\"}", name, slot,
		    sb->slot[slot].generation);
		mt_value(t, &v);
		return;
	}
	for (s = 0; s < nitems(worker_states); s++)
		mt_put(t, "%s{worker=\"%d\",generation=\"%d\",state=\"%s\"} "
		    "%d\n", name, slot, sb->slot[slot].generation,
		    worker_states[s], strcmp(v.text, worker_states[s]) == 0);
}

/* The per-worker figures: a family each, a series per live slot. */
static void
mt_workers(struct mtext *t, uint64_t now)
{
	const struct sb_fig *f;
	char name[96];
	int i, slot;

	for (i = 0; i < SBW_N; i++) {
		f = &sb_worker_figs[i];
		if (f->type == FIG_TEXT)
			continue;
		mt_name(f, "worker_", name, sizeof(name));
		mt_family(t, name, f->type == FIG_COUNTER ? "counter" :
		    "gauge", f->help);
		for (slot = 0; slot < SB_SLOTS; slot++)
			if (atomic_load_explicit(&sb->slot[slot].state,
			    memory_order_relaxed) != WS_FREE)
				mt_worker_series(t, name, i, slot, now);
	}
}

/* ekko_request_duration_seconds, a histogram per listener mode. */
static void
mt_latency(struct mtext *t)
{
	static const char *name = "ekko_request_duration_seconds";
	struct sb_hist h[LAT_MODES];
	uint64_t cum;
	int m, b;

	if (!EKKO_LATENCY)
		return;
	scoreboard_latency(h);
	mt_family(t, name, "histogram", "Worker time from reading a batch "
	    "of requests to handing their replies to the kernel.");
	for (m = 0; m < LAT_MODES; m++) {
		const char *mode = config_mode_name((enum mode)m);

		if (mode == NULL || m == MODE_AGENT)	/* no requests */
			continue;
		for (cum = 0, b = 0; b < LAT_BUCKETS; b++) {
			cum += h[m].bucket[b];
			mt_put(t, "%s_bucket{mode=\"%s\",le=\"%s\"} %llu\n",
			    name, mode, lat_le[b], (unsigned long long)cum);
		}
		mt_put(t, "%s_sum{mode=\"%s\"} %.9f\n%s_count{mode=\"%s\"} "
		    "%llu\n", name, mode, (double)h[m].sum_ns / 1e9, name,
		    mode, (unsigned long long)cum);
	}
}

/* The whole exposition into buf; its length. */
static size_t
metrics_text(char *buf, size_t len)
{
	struct mtext t = { buf, len, 0 };
	uint64_t now = util_now_ms();

	mt_global(&t, now);
	mt_workers(&t, now);
	mt_latency(&t);
	return t.off;
}

/* ---- HTTP ---- */

/*
 * Append a response to the worker's reply: status line, head, and body
 * (body_len bytes waiting at tail + HDR_ROOM; not sent for HEAD).
 * keep: 0 the connection closes after it, 1 it stays (HTTP/1.1), 2 it
 * stays and an HTTP/1.0 client must be told so.
 */
static void
metrics_respond(struct worker *w, const char *status, const char *type,
    const char *extra, size_t body_len, int send_body, int keep)
{
	char head[HDR_ROOM];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%s%s\r\n", status, type, body_len, extra,
	    keep == 0 ? "Connection: close\r\n" : keep == 2 ?
	    "Connection: keep-alive\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	/* the body, if any, waits at tail + HDR_ROOM (metrics_body) */
	if (send_body)
		memmove(buf_tail(&w->reply) + n, buf_tail(&w->reply) +
		    HDR_ROOM, body_len);
	memcpy(buf_tail(&w->reply), head, (size_t)n);
	w->reply.len += (size_t)n + (send_body ? body_len : 0);
}

/* A short text response (errors), body included unless HEAD. */
static void
metrics_simple(struct worker *w, const char *status, const char *extra,
    int head, int keep)
{
	size_t n = strlen(status) + 1;

	if (buf_reserve(&w->reply, HDR_ROOM + n + 1) == -1) {
		sb_count(&w->slot->errors[ERR_NOMEM], 1);
		return;
	}
	snprintf((char *)buf_tail(&w->reply) + HDR_ROOM, n + 1, "%s\n",
	    status);
	metrics_respond(w, status, "text/plain; charset=utf-8", extra, n,
	    !head, keep);
}

/* 200 with the exposition (its head only, for HEAD). */
static void
metrics_ok(struct worker *w, int head, int keep)
{
	size_t n;

	if (buf_reserve(&w->reply, HDR_ROOM + METRICS_MAX) == -1) {
		sb_count(&w->slot->errors[ERR_NOMEM], 1);
		metrics_simple(w, "500 Internal Server Error", "", head, 0);
		return;
	}
	n = metrics_text((char *)buf_tail(&w->reply) + HDR_ROOM,
	    METRICS_MAX);
	metrics_respond(w, "200 OK", "text/plain; version=0.0.4; "
	    "charset=utf-8", "", n, !head, keep);
}

/* A head we cannot parse: 400, counted, logged at a bounded rate. */
static int
metrics_bad(struct worker *w, struct conn *c)
{
	sb_count(&w->slot->errors[ERR_HTTP], 1);
	log_limited(&w->log_conn, "metrics port %d: malformed HTTP request; "
	    "closing", c->l->port);
	metrics_simple(w, "400 Bad Request", "", 0, 0);
	return 0;
}

/*
 * Answer one request head (a whole frame); 0 when the connection is to
 * close after the replies.  A request with a body is answered, then
 * closed: the body is never read, so nothing after it could be framed.
 */
int
metrics_handle(struct worker *w, struct conn *c, const uint8_t *p,
    size_t n)
{
	struct http_req r;
	int keep, head;

	if (http_parse(p, n, &r) != HTTP_OK || r.len != n)
		return metrics_bad(w, c);
	keep = r.keep_alive && !r.body && !w->draining;
	if (keep && r.minor == 0)
		keep = 2;
	head = r.method == HTTP_HEAD;
	if (r.method == HTTP_OTHER) {
		sb_count(&w->slot->errors[ERR_UNKNOWN_OP], 1);
		metrics_simple(w, "405 Method Not Allowed",
		    "Allow: GET, HEAD\r\n", 0, keep);
	} else if (!http_path_is(&r, "/metrics")) {
		sb_count(&w->slot->errors[ERR_UNKNOWN_OP], 1);
		metrics_simple(w, "404 Not Found", "", head, keep);
	} else
		metrics_ok(w, head, keep);
	return keep;
}

/* A head over HTTP_HEAD_MAX (counted by the caller): 400, then close. */
void
metrics_too_large(struct worker *w, struct conn *c)
{
	log_limited(&w->log_conn, "metrics port %d: request head over %d "
	    "bytes; closing", c->l->port, HTTP_HEAD_MAX);
	metrics_simple(w, "400 Bad Request", "", 0, 0);
}
