/*
 * master.c -- the master process: supervise workers, turn signals into
 * actions, reload by generations.
 *
 * The master never serves a connection and never blocks: its loop waits
 * on a signalfd and the workers' channels, and a short tick drives the
 * timed parts (watchdog, back-off, reload and stop deadlines).  A reload
 * starts a whole new generation with the new config; only when every
 * new worker has said it is ready are the old ones told to drain
 * (nginx's respawn-then-quit, Postfix's master_generation).
 */
#include <sys/signalfd.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

#define TICK_MS		100
#define HUNG_GRACE_MS	500	/* SIGABRT to SIGKILL */
#define STOP_GRACE_MS	3000	/* fast stop: SIGKILL after this */
#define DRAIN_GRACE_MS	5000	/* beyond shutdown_timeout */
#define STATUS_EVERY_MS	5000

static void	master_reload(struct master *);

/* ---- status for ekkod -s reload and systemd ---- */

/*
 * Record a reload's or upgrade's outcome where "ekkod -s" waits for it:
 * a file beside the pidfile, opened before privileges were dropped.
 * "for PID" names who asked (the signal's sender), so that two waiters
 * each take their own outcome.
 */
void
master_status_file(struct master *m, pid_t for_pid, const char *result,
    struct config_errors *errs, const char *extra)
{
	char buf[8192], lines[256];
	size_t len;

	snprintf(lines, sizeof(lines), "for %d\n%s", (int)for_pid,
	    extra != NULL ? extra : "");
	m->reload_seq++;
	len = pidfile_status_format(buf, sizeof(buf),
	    (unsigned long long)m->reload_seq, result, errs, lines);
	if (m->statusfd != -1 && pidfile_status_write(m->statusfd, buf, len)
	    == -1)
		log_warn("writing reload status");
}

/*
 * The live STATUS= line for systemctl status.  After a refused reload it
 * starts with "reload failed: ..." until a reload succeeds, so the
 * refusal stays visible instead of being overwritten within seconds.
 */
static void
master_sd_status(struct master *m)
{
	uint64_t req = 0, elapsed;
	const char *last = sb->last_reload;
	int i, failed = strcmp(last, "ok") != 0 && strcmp(last, "none") != 0;

	for (i = 0; i < SB_SLOTS; i++)
		req += atomic_load(&sb->slot[i].requests);
	req += atomic_load(&sb->retired.requests);
	elapsed = m->now - m->status_ms;
	/* only the service's main process may speak (upgrade.c) */
	if (m->owner && !m->handed_over)
		sdnotify("STATUS=%s%s%s%d workers, generation %d, %llu "
		    "connections, %llu req/s", failed ? "reload failed: " : "",
		    failed ? last : "", failed ? "; " : "",
		    atomic_load(&sb->workers_running), m->generation,
		    (unsigned long long)scoreboard_conns_active(),
		    (unsigned long long)(elapsed && req >= m->status_requests ?
		    (req - m->status_requests) * 1000 / elapsed : 0));
	m->status_ms = m->now;
	m->status_requests = req;
}

/* ---- generations ---- */

/* Start workers of the serving generation until there are target. */
static void
master_fill(struct master *m)
{
	int have, slot;

	/* those told to drain are leaving; those in back-off will be back */
	have = spawn_count(m, m->generation, WS_UP | WS_BIT(WS_BACKOFF));
	for (; have < m->target; have++) {
		if ((slot = spawn_free_slot(m)) == -1 ||
		    spawn_worker(m, slot, m->cf, m->generation) == -1)
			break;
	}
	atomic_store(&sb->workers_configured, m->target);
}

/* The reload failed: say so everywhere, change nothing. */
static void
master_reload_failed(struct master *m, struct config_errors *errs)
{
	int i;

	for (i = 0; i < errs->n; i++)
		log_warnx("reload failed: %s", errs->msgs[i]);
	atomic_fetch_add(&sb->reloads_failed, 1);
	util_strlcpy(sb->last_reload, errs->n > 0 ? errs->msgs[0] :
	    "failed", sizeof(sb->last_reload));
	master_status_file(m, m->reload_for, "failed", errs, NULL);
	sdnotify("READY=1");
	master_sd_status(m);
}

/* Fail a reload with one message. */
static void
master_reload_fail_msg(struct master *m, const char *msg)
{
	char *one = (char *)(uintptr_t)msg;
	struct config_errors e = { 1, &one };

	master_reload_failed(m, &e);
}

/* Undo a reload whose new generation did not come up. */
static void
master_rollback(struct master *m, const char *why)
{
	int i, gen = m->generation + 1;
	char msg[256];

	for (i = 0; i < SB_SLOTS; i++)
		if (m->w[i].pid != 0 && m->w[i].gen == gen) {
			m->w[i].state = WS_DRAINING;
			kill(m->w[i].pid, SIGKILL);
		}
	listen_close_unused(&m->next_ls, &m->ls);
	m->next_ls.n = 0;
	listen_retune(m->cf, &m->ls);
	config_free(m->next_cf);
	m->next_cf = NULL;
	snprintf(msg, sizeof(msg), "rolled back: %s", why);
	master_reload_fail_msg(m, msg);
}

/* Every new worker is ready: the new generation takes over. */
static void
master_commit(struct master *m)
{
	struct config *old = m->cf;
	int i, gen = m->generation + 1;

	for (i = 0; i < SB_SLOTS; i++) {
		if (m->w[i].state == WS_BACKOFF && m->w[i].gen != gen) {
			m->w[i].state = WS_FREE;
			atomic_store(&sb->slot[i].state, WS_FREE);
		}
		if (m->w[i].pid == 0 || m->w[i].gen == gen)
			continue;
		spawn_tell(m, i, CHAN_DRAIN);
		m->w[i].kill_ms = m->now + (uint64_t)
		    m->next_cf->shutdown_timeout * 1000 + DRAIN_GRACE_MS;
	}
	listen_close_unused(&m->ls, &m->next_ls);
	m->ls = m->next_ls;
	m->next_ls.n = 0;
	m->cf = m->next_cf;
	m->next_cf = NULL;
	m->generation = gen;
	m->target = m->cf->workers;
	config_free(old);
	log_reconfigure(m->cf->log_ident, m->cf->log_facility,
	    m->cf->log_level);
	atomic_store(&sb->generation, gen);
	atomic_store(&sb->workers_configured, m->target);
	atomic_fetch_add(&sb->reloads, 1);
	util_strlcpy(sb->last_reload, "ok", sizeof(sb->last_reload));
	master_status_file(m, m->reload_for, "ok", NULL, NULL);
	log_info("reload: generation %d serving %s with %d workers", gen,
	    m->cf->path, m->target);
	sdnotify("READY=1");
	master_sd_status(m);
}

/* Settings that only a restart can change. */
static void
master_reload_warn(struct master *m, const struct config *n)
{
	if (strcmp(m->cf->user, n->user) || strcmp(m->cf->group, n->group))
		log_warnx("reload: user/group changes take effect at the "
		    "next restart");
	if (strcmp(m->cf->pidfile, n->pidfile))
		log_warnx("reload: pidfile changes take effect at the next "
		    "restart");
	/* A kept socket once sized cannot go back to the kernel default. */
	if ((m->cf->tcp.rcvbuf > 0 && n->tcp.rcvbuf == 0) ||
	    (m->cf->tcp.sndbuf > 0 && n->tcp.sndbuf == 0))
		log_warnx("reload: tcp.rcvbuf/sndbuf = 0 (kernel default) "
		    "takes effect on kept listeners at the next restart");
	if (m->cf->tcp.reuseport && !n->tcp.reuseport)
		log_warnx("reload: kept listeners keep SO_REUSEPORT until the "
		    "next restart");
}

/* HUP: validate the new config on the side, then start a generation. */
static void
master_reload(struct master *m)
{
	struct config_errors errs = { 0, NULL };
	struct config *n;
	char err[256];
	int i;

	if (m->up.pid != 0 && !m->up.failed) {
		m->reload_for = m->requester;
		master_reload_fail_msg(m, "an upgrade is in progress: reload "
		    "the new master once it serves");
		return;
	}
	if (m->next_cf != NULL || m->stopping != STOP_NONE) {
		m->reload_pending = m->stopping == STOP_NONE;
		m->pending_for = m->requester;
		return;
	}
	m->reload_for = m->requester;
	sdnotify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)util_now_ns() / 1000);
	log_info("reload: reading %s", m->cf->path);
	if ((n = config_load_file(m->cf->path, &errs)) == NULL) {
		master_reload_failed(m, &errs);
		config_errors_free(&errs);
		return;
	}
	if (listen_open(n, &m->ls, &m->next_ls, err, sizeof(err)) == -1) {
		listen_retune(m->cf, &m->ls);
		config_free(n);
		master_reload_fail_msg(m, err);
		return;
	}
	master_reload_warn(m, n);
	m->next_cf = n;
	m->reload_deadline = m->now + (uint64_t)n->worker_timeout * 1000;
	for (i = 0; i < n->workers; i++) {
		int slot = spawn_free_slot(m);

		if (slot == -1 || spawn_worker(m, slot, n,
		    m->generation + 1) == -1) {
			master_rollback(m, "cannot start new workers");
			return;
		}
	}
}

/* Watch a reload in progress: commit, roll back, or keep waiting. */
static void
master_reload_tick(struct master *m)
{
	int gen = m->generation + 1, ready, alive;

	if (m->next_cf == NULL) {
		if (m->reload_pending && m->stopping == STOP_NONE) {
			m->reload_pending = 0;
			m->requester = m->pending_for;
			master_reload(m);
		}
		return;
	}
	alive = spawn_count(m, gen, WS_ALIVE);
	ready = spawn_count(m, gen, WS_BIT(WS_SERVING));
	if (ready == m->next_cf->workers)
		master_commit(m);
	else if (alive < m->next_cf->workers)
		master_rollback(m, "a new worker exited while starting");
	else if (m->now >= m->reload_deadline)
		master_rollback(m, "new workers not ready within "
		    "worker_timeout");
}

/* ---- stopping ---- */

/*
 * Tell every worker cmd, to be gone by the stop deadline; the slots
 * waiting in back-off are not respawned any more.
 */
static void
master_tell_all(struct master *m, enum chan_cmd cmd)
{
	int i;

	for (i = 0; i < SB_SLOTS; i++) {
		if (m->w[i].state == WS_BACKOFF)
			m->w[i].state = WS_FREE;
		if (m->w[i].pid != 0) {
			spawn_tell(m, i, cmd);
			m->w[i].kill_ms = m->stop_deadline;
		}
	}
}

/* TERM/INT (fast) or QUIT (graceful): stop accepting, then stop. */
static void
master_stop(struct master *m, enum stop_mode how)
{
	if (m->stopping == STOP_FAST || m->stopping == how)
		return;
	if (m->quit_at != 0 && how == STOP_GRACEFUL)
		log_info("graceful stop: drain_delay over, closing listeners");
	else
		log_info("%s stop requested", how == STOP_FAST ? "fast" :
		    "graceful");
	if (m->quit_at == 0 && !m->handed_over)
		sdnotify("STOPPING=1");
	m->quit_at = 0;
	lameduck_stop(LD_DOWN);
	if (m->next_cf != NULL)
		master_rollback(m, "stop requested");
	upgrade_abort(m, "stop requested");
	m->stopping = how;
	listen_close_all(&m->ls);
	m->stop_deadline = m->now + (how == STOP_FAST ? STOP_GRACE_MS :
	    (uint64_t)m->cf->shutdown_timeout * 1000 + DRAIN_GRACE_MS);
	master_tell_all(m, how == STOP_FAST ? CHAN_STOP : CHAN_QUIT);
}

/*
 * QUIT: a graceful stop, after drain_delay seconds of lame duck in
 * which every listener still accepts and serves while the balancers
 * (told "drain") move their new clients elsewhere.
 */
static void
master_quit(struct master *m)
{
	if (m->stopping != STOP_NONE || m->quit_at != 0)
		return;
	if (m->cf->drain_delay == 0) {
		master_stop(m, STOP_GRACEFUL);
		return;
	}
	log_info("graceful stop requested: lame duck for %d s first",
	    m->cf->drain_delay);
	if (!m->handed_over)
		sdnotify("STOPPING=1");
	lameduck_stop(LD_QUITTING);
	m->quit_at = m->now + (uint64_t)m->cf->drain_delay * 1000;
}

/* -s drain / -s undrain: lame duck on or off, not during a stop. */
static void
master_lameduck(struct master *m, int on)
{
	int r = on ? lameduck_enter() : lameduck_leave();

	if (r == -1)
		log_warnx("lame duck: undrain from pid %d ignored: stopping",
		    (int)m->requester);
	else if (r == 1)
		log_info("lame duck: %s (signal from pid %d)",
		    lameduck_word(), (int)m->requester);
}

/*
 * A new master serves (upgrade.c): close our copies of the listeners
 * (the sockets stay open in it) and drain every worker as a reload
 * does; the loop ends when the last one is gone.
 */
void
master_handover(struct master *m)
{
	m->stopping = STOP_UPGRADE;
	listen_close_all(&m->ls);
	m->stop_deadline = m->now + (uint64_t)m->cf->shutdown_timeout * 1000 +
	    DRAIN_GRACE_MS;
	master_tell_all(m, CHAN_DRAIN);
}

/*
 * As a new master: the old one said "G" (it wrote our pid into the
 * pidfile and told systemd), or it is gone (EOF) and we take the
 * pidfile over ourselves.
 */
static void
master_parent(struct master *m)
{
	ssize_t n;
	char c;

	n = read(m->parent_chan, &c, 1);
	if ((n == -1 && (errno == EAGAIN || errno == EINTR)) ||
	    (n == 1 && c != UPGRADE_SERVE))
		return;
	ev_del(&m->ev, m->parent_chan);
	close(m->parent_chan);
	m->parent_chan = -1;
	m->owner = 1;
	/* feed systemd's watchdog at the next tick, not up to wd/2 later:
	 * the old master's last ping may be nearly WatchdogSec/2 old */
	m->watchdog_ms = 0;
	if (n == 1) {
		log_info("upgrade: serving as the master, pid %d",
		    (int)getpid());
		return;
	}
	log_warnx("upgrade: the old master is gone; pid %d takes over",
	    (int)getpid());
	if (m->pidfd != -1 && pidfile_write(m->pidfd, getpid()) == -1)
		log_warn("upgrade: writing the pidfile");
	if (m->ready_sent)
		sdnotify("READY=1\nMAINPID=%d", (int)getpid());
}

/* Every worker is ready for the first time: say so to whom waits. */
static void
master_first_ready(struct master *m)
{
	m->ready_sent = 1;
	log_info("ready: %d workers serving", m->target);
	if (m->parent_chan != -1) {
		/* the old master switches over, then answers "G" */
		upgrade_child_say(m->parent_chan, UPGRADE_READY, EKKO_VERSION);
		return;
	}
	sdnotify("READY=1\nMAINPID=%d", (int)getpid());
	proc_ready(&m->ready_fd);
}

/* ---- the watchdog ---- */

/* A worker that stopped beating: ABRT (for a core), then KILL. */
static void
master_watchdog(struct master *m)
{
	uint64_t limit = (uint64_t)m->cf->worker_timeout * 1000, hb;
	int i;

	for (i = 0; i < SB_SLOTS; i++) {
		struct wproc *w = &m->w[i];

		if (w->pid == 0)
			continue;
		if (w->kill_ms != 0 && m->now >= w->kill_ms) {
			log_warnx("worker %d (slot %d) %s; sending SIGKILL",
			    (int)w->pid, i, w->hung ? "did not exit after "
			    "SIGABRT" : "did not finish in time");
			kill(w->pid, SIGKILL);
			w->kill_ms = 0;
			continue;
		}
		hb = atomic_load(&sb->slot[i].heartbeat_ms);
		if (w->hung || m->now < hb || m->now - hb <= limit)
			continue;
		log_warnx("worker %d (slot %d) hung: no heartbeat for %.1f s; "
		    "sending SIGABRT", (int)w->pid, i,
		    (double)(m->now - hb) / 1000);
		w->hung = 1;
		kill(w->pid, SIGABRT);
		kill(w->pid, SIGCONT);	/* a stopped worker must see it */
		w->kill_ms = m->now + HUNG_GRACE_MS;
	}
}

/* ---- signals and events ---- */

/* TTIN/TTOU: one worker more or fewer, never fewer than one. */
static void
master_resize(struct master *m, int delta)
{
	int i;

	if (m->stopping != STOP_NONE || (delta < 0 && m->target <= 1) ||
	    (delta > 0 && m->target >= MAX_WORKERS))
		return;
	m->target += delta;
	log_info("workers: %d", m->target);
	if (delta > 0) {
		master_fill(m);
		return;
	}
	for (i = SB_SLOTS - 1; i >= 0; i--)
		if ((WS_UP & WS_BIT(m->w[i].state)) &&
		    m->w[i].gen == m->generation) {
			spawn_tell(m, i, CHAN_QUIT);
			m->w[i].kill_ms = m->now + (uint64_t)
			    m->cf->shutdown_timeout * 1000 + DRAIN_GRACE_MS;
			break;
		}
	atomic_store(&sb->workers_configured, m->target);
}

/* USR1: a statistics snapshot in the log, one line per worker. */
static void
master_log_stats(void)
{
	static char text[256 * 1024];
	char *line, *save = NULL, out[1024];
	size_t off = 0;

	scoreboard_format(text, sizeof(text));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (off > 0 && (strncmp(line, "worker.", 7) == 0 &&
		    strstr(line, ".pid ") != NULL))
			off = (log_info("stats: %s", out), 0);
		if (off + strlen(line) + 2 >= sizeof(out))
			off = (log_info("stats: %s", out), 0);
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s",
		    off ? ", " : "", line);
	}
	if (off > 0)
		log_info("stats: %s", out);
}

/* Act on every signal queued in the signalfd, in order. */
static void
master_signals(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
		m->requester = (pid_t)si.ssi_pid;
		switch (sig_action_of((int)si.ssi_signo)) {
		case SIG_ACT_RELOAD:
			master_reload(m);
			break;
		case SIG_ACT_STOP:
			master_stop(m, STOP_FAST);
			break;
		case SIG_ACT_QUIT:
			master_quit(m);
			break;
		case SIG_ACT_DRAIN:
			master_lameduck(m, 1);
			break;
		case SIG_ACT_UNDRAIN:
			master_lameduck(m, 0);
			break;
		case SIG_ACT_STATS:
			master_log_stats();
			break;
		case SIG_ACT_MORE:
			master_resize(m, 1);
			break;
		case SIG_ACT_FEWER:
			master_resize(m, -1);
			break;
		case SIG_ACT_CHILD:
			spawn_reap(m);
			break;
		case SIG_ACT_UPGRADE:
			upgrade_start(m);
			break;
		case SIG_ACT_NONE:
			break;
		}
	}
}

/* A worker wrote on its channel: CHAN_READY is all it says. */
static void
master_channel(struct master *m, struct wproc *w)
{
	char buf[16];
	ssize_t n, i;

	n = read(w->chan, buf, sizeof(buf));
	if (n <= 0) {
		/* gone: SIGCHLD reaps it; stop polling the dead channel */
		ev_del(&m->ev, w->chan);
		return;
	}
	/* one told to drain before it was ready stays draining */
	for (i = 0; i < n; i++)
		if (buf[i] == CHAN_READY && w->state == WS_STARTING)
			w->state = WS_SERVING;
}

/* Has every worker of the serving generation said it is ready? */
static int
master_all_ready(const struct master *m)
{
	return spawn_count(m, m->generation, WS_BIT(WS_SERVING)) >=
	    m->target;
}

/* The timed parts of supervision. */
static void
master_tick(struct master *m)
{
	uint64_t wd = sdnotify_watchdog_ms();

	spawn_reap(m);
	master_watchdog(m);
	upgrade_tick(m);
	if (m->quit_at != 0 && m->now >= m->quit_at)
		master_stop(m, STOP_GRACEFUL);
	if (m->stopping == STOP_NONE) {
		spawn_backoff_tick(m);
		master_reload_tick(m);
		if (m->next_cf == NULL)
			master_fill(m);
	}
	if (!m->ready_sent && master_all_ready(m))
		master_first_ready(m);
	if (m->now - m->status_ms >= STATUS_EVERY_MS)
		master_sd_status(m);
	if (wd && m->now - m->watchdog_ms >= wd / 2) {
		int i, healthy = 1;

		for (i = 0; i < SB_SLOTS; i++)
			healthy &= !m->w[i].hung;
		if (healthy && m->owner && !m->handed_over)
			sdnotify("WATCHDOG=1");
		m->watchdog_ms = m->now;
	}
}

/* The master's loop, until a stop has seen every worker out. */
static void
master_loop(struct master *m)
{
	int i, n;

	for (;;) {
		n = ev_wait(&m->ev, TICK_MS);
		m->now = util_now_ms();
		for (i = 0; i < n; i++) {
			void *p = m->ev.events[i].data.ptr;

			if (p == &m->sigfd)
				master_signals(m);
			else if (p == &m->up)
				upgrade_channel(m);
			else if (p == &m->parent_chan)
				master_parent(m);
			else
				master_channel(m, p);
		}
		master_tick(m);
		if (m->stopping != STOP_NONE &&
		    spawn_count(m, GEN_ANY, WS_ALIVE) == 0)
			break;
	}
}

/*
 * Run the master: the listeners are bound and privileges dropped.  Fork
 * the first generation, supervise, and return the exit status.
 */
int
master_main(struct config *cf, struct listen_set *ls,
    struct master_files *f)
{
	static struct master m;
	int i;

	m.cf = cf;
	m.ls = *ls;
	m.pidfd = f->pidfd;
	m.statusfd = f->statusfd;
	m.ready_fd = f->ready_fd;
	m.up.chan = -1;
	m.parent_chan = f->parent.chan;
	m.owner = m.parent_chan == -1;
	m.reload_seq = f->parent.seq;
	atomic_store(&sb->upgrades, f->parent.upgrades);
	if (f->parent.draining)		/* a new binary is no undrain */
		lameduck_enter();
	m.generation = 1;
	m.target = cf->workers;
	m.now = m.status_ms = m.watchdog_ms = util_now_ms();
	for (i = 0; i < SB_SLOTS; i++)
		m.w[i].chan = -1;
	atomic_store(&sb->generation, 1);
	if ((m.sigfd = sig_master_fd()) == -1)
		fatal("signalfd");
	if (ev_init(&m.ev, 64) == -1 ||
	    ev_add(&m.ev, m.sigfd, EPOLLIN, &m.sigfd) == -1 ||
	    (m.parent_chan != -1 && ev_add(&m.ev, m.parent_chan, EPOLLIN,
	    &m.parent_chan) == -1))
		fatal("epoll");
	master_fill(&m);
	log_info("started: %d workers, generation 1, config %s",
	    m.target, cf->path ? cf->path : "(built-in defaults)");
	master_sd_status(&m);
	master_loop(&m);
	log_info(m.handed_over ? "stopped: handed over to the new master" :
	    "stopped");
	listen_close_all(&m.ls);
	ev_close(&m.ev);
	close(m.sigfd);
	config_free(m.cf);
	f->owner = m.owner && !m.handed_over;
	return 0;
}
