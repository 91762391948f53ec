/*
 * scoreboard.c -- shared memory the master maps before forking: one slot
 * per worker with its counters and heartbeat, and the global figures.
 *
 * Each counter has one writer (a worker its slot, the master the
 * header), so updates are relaxed loads and stores, never locked
 * read-modify-writes; readers (STATS, the watchdog) may see a figure a
 * moment old, never a torn one.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

struct scoreboard *sb;

static const char *const state_names[] = {
	[WS_FREE] = "free",
	[WS_STARTING] = "starting",
	[WS_SERVING] = "serving",
	[WS_DRAINING] = "draining",
	[WS_BACKOFF] = "backoff",
};

static const char *const err_names[ERR_NKINDS] = {
	[ERR_FRAME_TOO_LARGE] = "frame_too_large",
	[ERR_TIMEOUT_IDLE] = "timeout_idle",
	[ERR_TIMEOUT_FRAME] = "timeout_frame",
	[ERR_TIMEOUT_WRITE] = "timeout_write",
	[ERR_DENIED] = "denied",
	[ERR_FORBIDDEN] = "forbidden",
	[ERR_UNKNOWN_OP] = "unknown_op",
	[ERR_EMPTY_FRAME] = "empty_frame",
	[ERR_MAX_CONNECTIONS] = "max_connections",
	[ERR_PER_IP] = "per_ip",
	[ERR_ACCEPT] = "accept",
	[ERR_RESET] = "reset",
	[ERR_NOMEM] = "nomem",
	[ERR_MEMORY] = "memory",
	[ERR_PROXY] = "proxy",
	[ERR_HTTP] = "http",
};

#define LOAD(x)		atomic_load_explicit(&(x), memory_order_relaxed)

/* Map the scoreboard, shared with every child forked after this. */
int
scoreboard_create(long max_connections)
{
	struct timespec ts;
	int i;

	sb = mmap(NULL, sizeof(*sb), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sb == MAP_FAILED) {
		sb = NULL;
		return -1;
	}
	/* fresh anonymous memory is zero: no memset, no pages touched */
	sb->master_pid = getpid();
	clock_gettime(CLOCK_REALTIME, &ts);
	sb->start_wall = (uint64_t)ts.tv_sec;
	sb->start_ms = util_now_ms();
	util_strlcpy(sb->last_reload, "none", sizeof(sb->last_reload));
	for (i = 0; i < SB_SLOTS; i++)
		sb->slot[i].last_exit = -1;
	/* A secret key, so peers cannot aim at one per-IP bucket. */
	if (getrandom(sb->perip_key, sizeof(sb->perip_key), 0) !=
	    sizeof(sb->perip_key))
		sb->perip_key[0] = util_now_ns() ^ (uint64_t)getpid() << 32;
	return perip_create(max_connections, sb->perip_key);
}

/* Unmap (the master, on exit). */
void
scoreboard_destroy(void)
{
	if (sb != NULL)
		munmap(sb, sizeof(*sb));
	sb = NULL;
	perip_destroy();
}

const char *
scoreboard_state_name(int s)
{
	if (s < 0 || (size_t)s >= nitems(state_names))
		return "?";
	return state_names[s];
}

const char *
scoreboard_err_name(int k)
{
	return k >= 0 && k < ERR_NKINDS ? err_names[k] : "?";
}

/* Add a to the relaxed counter *c (single writer, or master-owned). */
static void
sb_add(_Atomic uint64_t *c, uint64_t a)
{
	atomic_fetch_add_explicit(c, a, memory_order_relaxed);
}

/* A worker is about to start in slot: the sums below must reach it. */
void
scoreboard_claim(int slotno)
{
	if (slotno >= LOAD(sb->slots_hi))
		atomic_store(&sb->slots_hi, slotno + 1);
}

/*
 * Connections held by all workers: the sum of the slots' own counts.
 * A slot's count is written by its worker alone and zeroed by the
 * master only once that worker is reaped, so no death can leak or
 * wrap the sum.
 */
uint64_t
scoreboard_conns_active(void)
{
	uint64_t n = 0;
	int i, hi = LOAD(sb->slots_hi);

	for (i = 0; i < hi; i++)
		n += LOAD(sb->slot[i].conns_active);
	return n;
}

/*
 * Count one more connection on our slot unless all workers together
 * hold max: 0 taken, -1 at the limit.  The count goes up before the
 * sum is read, with a full fence between: of two workers racing for
 * the last place at least one sees the other, so the limit is never
 * exceeded (both may refuse; a refusal is the safe side).
 */
int
scoreboard_conn_take(struct sb_slot *s, long max)
{
	sb_count(&s->conns_active, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (scoreboard_conns_active() > (uint64_t)max) {
		sb_count(&s->conns_active, (uint64_t)-1);
		return -1;
	}
	return 0;
}

/* Give back a connection taken with scoreboard_conn_take. */
void
scoreboard_conn_give(struct sb_slot *s)
{
	sb_count(&s->conns_active, (uint64_t)-1);
}

/*
 * Add the histograms of from to those of to; with clear, zero from's
 * (the master, on reaping a worker: no other writer is left).
 */
static void
sb_hist_fold(struct sb_hist *to, struct sb_hist *from, int clear)
{
	int m, b;

	for (m = 0; m < LAT_MODES; m++) {
		for (b = 0; b < LAT_BUCKETS; b++) {
			sb_add(&to[m].bucket[b], LOAD(from[m].bucket[b]));
			if (clear)
				atomic_store(&from[m].bucket[b], 0);
		}
		sb_add(&to[m].sum_ns, LOAD(from[m].sum_ns));
		if (clear)
			atomic_store(&from[m].sum_ns, 0);
	}
}

/* Request durations per mode into h[LAT_MODES]: all workers, gone too. */
void
scoreboard_latency(struct sb_hist *h)
{
	int i, hi = LOAD(sb->slots_hi);

	memset(h, 0, LAT_MODES * sizeof(*h));
	sb_hist_fold(h, sb->retired.lat, 0);
	for (i = 0; i < hi; i++)
		sb_hist_fold(h, sb->slot[i].lat, 0);
}

/*
 * A worker is gone (reaped): fold its counters into the retired
 * totals, clear the slot, drop its per-IP counts.
 */
void
scoreboard_retire(int slotno)
{
	struct sb_slot *s = &sb->slot[slotno];
	int k;

	sb_add(&sb->retired.accepted, LOAD(s->accepted));
	sb_add(&sb->retired.requests, LOAD(s->requests));
	sb_add(&sb->retired.bytes_in, LOAD(s->bytes_in));
	sb_add(&sb->retired.bytes_out, LOAD(s->bytes_out));
	for (k = 0; k < ERR_NKINDS; k++)
		sb_add(&sb->retired.errors[k], LOAD(s->errors[k]));
	sb_hist_fold(sb->retired.lat, s->lat, 1);
	/* its connections died with it: nothing to fold, only to clear */
	atomic_store(&s->accepted, 0);
	atomic_store(&s->requests, 0);
	atomic_store(&s->bytes_in, 0);
	atomic_store(&s->bytes_out, 0);
	atomic_store(&s->conns_active, 0);
	for (k = 0; k < ERR_NKINDS; k++)
		atomic_store(&s->errors[k], 0);
	perip_forget_slot(slotno);
}

/* Append a formatted line, never past the end. */
static size_t __attribute__((format(printf, 4, 5)))
sb_line(char *buf, size_t len, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (off >= len)
		return off;
	va_start(ap, fmt);
	n = vsnprintf(buf + off, len - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return off;
	return off + (size_t)n >= len ? len : off + (size_t)n;
}

/*
 * The figures STATS and /metrics report, in STATS order: one table for
 * both, so that a figure added here shows in each (metrics.c derives
 * the metric's name, type and help from the row).
 */
const struct sb_fig sb_global_figs[SBG_N] = {
	[SBG_UPTIME] = { "uptime", FIG_GAUGE, "uptime_seconds",
	    "Seconds since the master started." },
	[SBG_PID] = { "pid", FIG_GAUGE, NULL, "Process id of the master." },
	[SBG_GENERATION] = { "generation", FIG_GAUGE, NULL,
	    "Configuration generation now serving (1, then +1 per reload)." },
	[SBG_WORKERS_CONFIGURED] = { "workers_configured", FIG_GAUGE, NULL,
	    "Workers wanted." },
	[SBG_WORKERS_RUNNING] = { "workers_running", FIG_GAUGE, NULL,
	    "Worker processes running." },
	[SBG_RESPAWNS] = { "respawns", FIG_COUNTER, NULL,
	    "Workers respawned after an unexpected exit." },
	[SBG_RELOADS] = { "reloads", FIG_COUNTER, NULL,
	    "Configuration reloads that took effect." },
	[SBG_RELOADS_FAILED] = { "reloads_failed", FIG_COUNTER, NULL,
	    "Configuration reloads refused or rolled back." },
	[SBG_LAST_RELOAD] = { "last_reload", FIG_TEXT, NULL, NULL },
	[SBG_CONNS_ACTIVE] = { "connections_active", FIG_GAUGE, NULL,
	    "Client connections open, all workers." },
	[SBG_CONNS_TOTAL] = { "connections_total", FIG_COUNTER, NULL,
	    "Client connections accepted and admitted." },
	[SBG_CONNS_REJECTED] = { "connections_rejected", FIG_COUNTER, NULL,
	    "Connections closed at accept (access lists, limits)." },
	[SBG_REQUESTS] = { "requests_total", FIG_COUNTER, NULL,
	    "Messages answered: echo frames, commands, HTTP requests." },
	[SBG_BYTES_IN] = { "bytes_in", FIG_COUNTER, NULL,
	    "Bytes received on client connections." },
	[SBG_BYTES_OUT] = { "bytes_out", FIG_COUNTER, NULL,
	    "Bytes sent on client connections." },
	[SBG_VERSION] = { "version", FIG_TEXT, NULL, NULL },
	[SBG_UPGRADES] = { "upgrades", FIG_COUNTER, NULL,
	    "Binary upgrades this service went through." },
	[SBG_DRAINING] = { "draining", FIG_GAUGE, NULL,
	    "1 in lame duck (balancers told to send no more), else 0." },
};

const struct sb_fig sb_worker_figs[SBW_N] = {
	[SBW_PID] = { "pid", FIG_GAUGE, NULL, "Process id of the worker." },
	[SBW_GENERATION] = { "generation", FIG_GAUGE, NULL,
	    "Configuration generation the worker serves." },
	[SBW_STATE] = { "state", FIG_STATE, NULL,
	    "1 for the state the worker is in." },
	[SBW_ACCEPTED] = { "accepted", FIG_COUNTER, NULL,
	    "Connections this worker accepted." },
	[SBW_CONNS_ACTIVE] = { "connections_active", FIG_GAUGE, NULL,
	    "Client connections this worker holds." },
	[SBW_REQUESTS] = { "requests", FIG_COUNTER, NULL,
	    "Messages this worker answered." },
	[SBW_BYTES_IN] = { "bytes_in", FIG_COUNTER, NULL,
	    "Bytes this worker received." },
	[SBW_BYTES_OUT] = { "bytes_out", FIG_COUNTER, NULL,
	    "Bytes this worker sent." },
	[SBW_HEARTBEAT_AGE] = { "heartbeat_age", FIG_GAUGE,
	    "heartbeat_age_seconds", "Seconds since the worker's last "
	    "heartbeat." },
	[SBW_RESPAWNS] = { "respawns", FIG_COUNTER, NULL,
	    "Times a worker in this slot was respawned." },
	[SBW_LAST_EXIT] = { "last_exit", FIG_TEXT, NULL, NULL },
};

/* Sum of one counter over live slots plus the retired total. */
#define SUM(field, out) do {						\
	int i_;								\
	(out) = LOAD(sb->retired.field);				\
	for (i_ = 0; i_ < SB_SLOTS; i_++)				\
		(out) += LOAD(sb->slot[i_].field);			\
} while (0)

/* The value of global figure f, now. */
void
scoreboard_global_value(int f, uint64_t now, struct sb_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (f) {
	case SBG_UPTIME:
		v->u = (now - sb->start_ms) / 1000;
		break;
	case SBG_PID:
		v->u = (uint64_t)sb->master_pid;
		break;
	case SBG_GENERATION:
		v->u = (uint64_t)LOAD(sb->generation);
		break;
	case SBG_WORKERS_CONFIGURED:
		v->u = (uint64_t)LOAD(sb->workers_configured);
		break;
	case SBG_WORKERS_RUNNING:
		v->u = (uint64_t)LOAD(sb->workers_running);
		break;
	case SBG_RESPAWNS:
		v->u = LOAD(sb->respawns);
		break;
	case SBG_RELOADS:
		v->u = LOAD(sb->reloads);
		break;
	case SBG_RELOADS_FAILED:
		v->u = LOAD(sb->reloads_failed);
		break;
	case SBG_LAST_RELOAD:
		v->text = sb->last_reload;
		break;
	case SBG_CONNS_ACTIVE:
		v->u = scoreboard_conns_active();
		break;
	case SBG_CONNS_TOTAL:
		SUM(accepted, v->u);
		break;
	case SBG_CONNS_REJECTED:
		v->u = LOAD(sb->conns_rejected);
		break;
	case SBG_REQUESTS:
		SUM(requests, v->u);
		break;
	case SBG_BYTES_IN:
		SUM(bytes_in, v->u);
		break;
	case SBG_BYTES_OUT:
		SUM(bytes_out, v->u);
		break;
	case SBG_VERSION:
		v->text = EKKO_VERSION;
		break;
	case SBG_UPGRADES:
		v->u = LOAD(sb->upgrades);
		break;
	case SBG_DRAINING:
		v->u = (uint64_t)lameduck_draining();
		break;
	}
}

/* Errors of kind k, all workers, those gone included. */
uint64_t
scoreboard_errors(int k)
{
	uint64_t e;

	SUM(errors[k], e);
	return e;
}

/* The value of figure f of the worker in slot i, now. */
void
scoreboard_worker_value(int f, int i, uint64_t now, struct sb_value *v)
{
	struct sb_slot *s = &sb->slot[i];
	uint64_t hb;

	memset(v, 0, sizeof(*v));
	switch (f) {
	case SBW_PID:
		v->u = (uint64_t)LOAD(s->pid);
		break;
	case SBW_GENERATION:
		v->u = (uint64_t)s->generation;
		break;
	case SBW_STATE:
		v->u = (uint64_t)LOAD(s->state);
		v->text = scoreboard_state_name(LOAD(s->state));
		break;
	case SBW_ACCEPTED:
		v->u = LOAD(s->accepted);
		break;
	case SBW_CONNS_ACTIVE:
		v->u = LOAD(s->conns_active);
		break;
	case SBW_REQUESTS:
		v->u = LOAD(s->requests);
		break;
	case SBW_BYTES_IN:
		v->u = LOAD(s->bytes_in);
		break;
	case SBW_BYTES_OUT:
		v->u = LOAD(s->bytes_out);
		break;
	case SBW_HEARTBEAT_AGE:
		hb = LOAD(s->heartbeat_ms);
		v->is_double = 1;
		v->d = hb && now > hb ? (double)(now - hb) / 1000 : 0.0;
		break;
	case SBW_RESPAWNS:
		v->u = (uint64_t)s->respawns;
		break;
	case SBW_LAST_EXIT:
		v->text = proc_status_text(s->last_exit, STATUS_WORDS_STATS,
		    v->buf, sizeof(v->buf));
		break;
	}
}

/* "key value" as STATS shows it. */
static size_t
sb_format_value(char *buf, size_t len, size_t off, const char *pfx,
    int slot, const char *key, const struct sb_value *v)
{
	char w[24] = "";

	if (slot >= 0)
		snprintf(w, sizeof(w), "%d.", slot);
	if (v->text != NULL)
		return sb_line(buf, len, off, "%s%s%s %s\n", pfx, w, key,
		    v->text);
	if (v->is_double)
		return sb_line(buf, len, off, "%s%s%s %.3f\n", pfx, w, key,
		    v->d);
	return sb_line(buf, len, off, "%s%s%s %llu\n", pfx, w, key,
	    (unsigned long long)v->u);
}

/* The per-worker lines of STATS. */
static size_t
sb_format_slot(char *buf, size_t len, size_t off, int i, uint64_t now)
{
	struct sb_value v;
	int f;

	for (f = 0; f < SBW_N; f++) {
		scoreboard_worker_value(f, i, now, &v);
		off = sb_format_value(buf, len, off, "worker.", i,
		    sb_worker_figs[f].key, &v);
	}
	return off;
}

/* The global lines of STATS. */
static size_t
sb_format_global(char *buf, size_t len, size_t off, uint64_t now)
{
	struct sb_value v;
	int f, k;

	for (f = 0; f < SBG_N; f++) {
		scoreboard_global_value(f, now, &v);
		off = sb_format_value(buf, len, off, "", -1,
		    sb_global_figs[f].key, &v);
	}
	for (k = 0; k < ERR_NKINDS; k++)
		off = sb_line(buf, len, off, "errors_%s %llu\n", err_names[k],
		    (unsigned long long)scoreboard_errors(k));
	return off;
}

/*
 * Bytes moved in user space (a -DEKKO_COUNT_COPIES build only; workers
 * gone are not counted): what bench-extra divides by requests_total.
 */
static size_t
sb_format_copies(char *buf, size_t len, size_t off)
{
#ifdef EKKO_COUNT_COPIES
	uint64_t in = 0, out = 0;
	int i;

	for (i = 0; i < SB_SLOTS; i++) {
		in += LOAD(sb->slot[i].copied[BUF_COPY_IN]);
		out += LOAD(sb->slot[i].copied[BUF_COPY_OUT]);
	}
	off = sb_line(buf, len, off, "bytes_copied_in %llu\n"
	    "bytes_copied_out %llu\n", (unsigned long long)in,
	    (unsigned long long)out);
#else
	(void)buf;
	(void)len;
#endif
	return off;
}

/* The STATS text: global keys, then worker.SLOT.key for each worker. */
size_t
scoreboard_format(char *buf, size_t len)
{
	uint64_t now = util_now_ms();
	size_t off;
	int i;

	off = sb_format_global(buf, len, 0, now);
	off = sb_format_copies(buf, len, off);
	for (i = 0; i < SB_SLOTS; i++)
		if (LOAD(sb->slot[i].state) != WS_FREE)
			off = sb_format_slot(buf, len, off, i, now);
	return off;
}
