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
#include <sys/wait.h>
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

/* "none", "exit 0", "signal 9" for a wait status. */
static const char *
sb_exit_text(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "none");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status %d", status);
	return buf;
}

/* The per-worker lines of STATS. */
static size_t
sb_format_slot(char *buf, size_t len, size_t off, int i, uint64_t now)
{
	struct sb_slot *s = &sb->slot[i];
	uint64_t hb = LOAD(s->heartbeat_ms);
	char ex[32];

	off = sb_line(buf, len, off,
	    "worker.%d.pid %d\nworker.%d.generation %d\n"
	    "worker.%d.state %s\nworker.%d.accepted %llu\n"
	    "worker.%d.connections_active %llu\nworker.%d.requests %llu\n"
	    "worker.%d.bytes_in %llu\nworker.%d.bytes_out %llu\n"
	    "worker.%d.heartbeat_age %.3f\nworker.%d.respawns %d\n"
	    "worker.%d.last_exit %s\n",
	    i, LOAD(s->pid), i, s->generation,
	    i, scoreboard_state_name(LOAD(s->state)),
	    i, (unsigned long long)LOAD(s->accepted),
	    i, (unsigned long long)LOAD(s->conns_active),
	    i, (unsigned long long)LOAD(s->requests),
	    i, (unsigned long long)LOAD(s->bytes_in),
	    i, (unsigned long long)LOAD(s->bytes_out),
	    i, hb && now > hb ? (double)(now - hb) / 1000 : 0.0,
	    i, s->respawns, i, sb_exit_text(s->last_exit, ex, sizeof(ex)));
	return off;
}

/* Sum of one counter over live slots plus the retired total. */
#define SUM(field, out) do {						\
	int i_;								\
	(out) = LOAD(sb->retired.field);				\
	for (i_ = 0; i_ < SB_SLOTS; i_++)				\
		(out) += LOAD(sb->slot[i_].field);			\
} while (0)

/* The global lines of STATS. */
static size_t
sb_format_global(char *buf, size_t len, size_t off, uint64_t now)
{
	uint64_t acc, req, bin, bout, e;
	int k;

	SUM(accepted, acc);
	SUM(requests, req);
	SUM(bytes_in, bin);
	SUM(bytes_out, bout);
	off = sb_line(buf, len, off,
	    "uptime %llu\npid %d\ngeneration %d\nworkers_configured %d\n"
	    "workers_running %d\nrespawns %llu\nreloads %llu\n"
	    "reloads_failed %llu\nlast_reload %s\nconnections_active %llu\n"
	    "connections_total %llu\nconnections_rejected %llu\n"
	    "requests_total %llu\nbytes_in %llu\nbytes_out %llu\n",
	    (unsigned long long)(now - sb->start_ms) / 1000,
	    (int)sb->master_pid, LOAD(sb->generation),
	    LOAD(sb->workers_configured), LOAD(sb->workers_running),
	    (unsigned long long)LOAD(sb->respawns),
	    (unsigned long long)LOAD(sb->reloads),
	    (unsigned long long)LOAD(sb->reloads_failed), sb->last_reload,
	    (unsigned long long)scoreboard_conns_active(),
	    (unsigned long long)acc,
	    (unsigned long long)LOAD(sb->conns_rejected),
	    (unsigned long long)req, (unsigned long long)bin,
	    (unsigned long long)bout);
	off = sb_line(buf, len, off, "version %s\nupgrades %llu\n"
	    "draining %d\n", EKKO_VERSION,
	    (unsigned long long)LOAD(sb->upgrades), lameduck_draining());
	for (k = 0; k < ERR_NKINDS; k++) {
		SUM(errors[k], e);
		off = sb_line(buf, len, off, "errors_%s %llu\n", err_names[k],
		    (unsigned long long)e);
	}
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
	for (i = 0; i < SB_SLOTS; i++)
		if (LOAD(sb->slot[i].state) != WS_FREE)
			off = sb_format_slot(buf, len, off, i, now);
	return off;
}
