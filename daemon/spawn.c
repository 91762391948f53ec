/*
 * spawn.c -- forking workers, reaping them, and respawning with
 * back-off.
 *
 * A worker that dies before it could do any work (within a second of
 * its start) again and again is respawned after a delay that doubles up
 * to a cap, so a crash loop never turns into a fork bomb.  The throttle
 * is logged when it turns on and when it turns off, not per death
 * (Postfix master_throttle; s6-supervise).
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

#define FAST_DEATH_MS	1000	/* dying sooner than this is "at once" */
#define THROTTLE_AFTER	3	/* fast deaths in a row before delaying */
#define BACKOFF_BASE_MS	100
#define BACKOFF_CAP_MS	30000

/* A scoreboard slot with no worker, or -1. */
int
spawn_free_slot(const struct master *m)
{
	int i;

	for (i = 0; i < SB_SLOTS; i++)
		if (m->w[i].state == WS_FREE)
			return i;
	return -1;
}

/*
 * Workers of generation gen (GEN_ANY: of any) in one of the states of
 * the mask (WS_BIT(WS_SERVING), WS_ALIVE, ...).
 */
int
spawn_count(const struct master *m, int gen, unsigned int states)
{
	int i, n = 0;

	for (i = 0; i < SB_SLOTS; i++)
		if ((states & WS_BIT(m->w[i].state)) &&
		    (gen == GEN_ANY || m->w[i].gen == gen))
			n++;
	return n;
}

/* Send a one-byte command down a worker's channel. */
void
spawn_tell(struct master *m, int slot, enum chan_cmd cmd)
{
	struct wproc *w = &m->w[slot];
	char c = (char)cmd;

	if (w->pid == 0 || w->chan == -1)
		return;
	/* EPIPE: it is already gone (a TERM to the whole process group);
	 * SIGCHLD will tell. */
	if (write(w->chan, &c, 1) != 1 && errno != EPIPE)
		log_warn("worker %d (slot %d): channel", (int)w->pid, slot);
	if (cmd == CHAN_DRAIN || cmd == CHAN_QUIT)
		w->state = WS_DRAINING;
}

/* In the child: close what belongs to the master or other workers. */
static void
spawn_child_close(struct master *m, struct config *cf)
{
	const struct listen_set *sets[2] = { &m->ls, &m->next_ls };
	size_t k;
	int i, s;

	for (i = 0; i < SB_SLOTS; i++)
		if (m->w[i].chan != -1 && m->w[i].pid != 0)
			close(m->w[i].chan);
	for (s = 0; s < 2; s++)
		for (i = 0; i < sets[s]->n; i++) {
			for (k = 0; k < cf->nlisteners; k++)
				if (cf->listeners[k].fd == sets[s]->fd[i])
					break;
			if (k == cf->nlisteners)
				close(sets[s]->fd[i]);
		}
	close(m->sigfd);
	ev_close(&m->ev);
	/* a worker holding an upgrade pair would hide the other end's exit */
	if (m->up.chan != -1)
		close(m->up.chan);
	if (m->parent_chan != -1)
		close(m->parent_chan);
	if (m->pidfd != -1)
		close(m->pidfd);
	if (m->statusfd != -1)
		close(m->statusfd);
	if (m->ready_fd != -1)
		close(m->ready_fd);
}

/*
 * Fork a worker of generation gen into slot, serving cf.  Signals are
 * blocked across the fork (they were blocked at start), so the child
 * can set its own mask before anything is delivered.
 */
int
spawn_worker(struct master *m, int slot, struct config *cf, int gen)
{
	struct wproc *w = &m->w[slot];
	struct sb_slot *s = &sb->slot[slot];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair for worker slot %d", slot);
		return -1;
	}
	/* Before the fork: the child may report "serving" at once. */
	scoreboard_claim(slot);
	s->generation = gen;
	s->started_ms = m->now;
	atomic_store(&s->heartbeat_ms, m->now);
	atomic_store(&s->state, WS_STARTING);
	if ((pid = fork()) == -1) {
		log_warn("fork worker slot %d", slot);
		close(sv[0]);
		close(sv[1]);
		atomic_store(&s->state, WS_FREE);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		spawn_child_close(m, cf);
		worker_main(cf, slot, sv[1]);
	}
	close(sv[1]);
	*w = (struct wproc){ .pid = pid, .gen = gen, .chan = sv[0],
	    .state = WS_STARTING, .started_ms = m->now };
	atomic_store(&s->pid, pid);
	if (ev_add(&m->ev, sv[0], EPOLLIN, w) == -1)
		log_warn("epoll_ctl worker channel");
	atomic_store(&sb->workers_running, spawn_count(m, GEN_ANY, WS_ALIVE));
	log_debug("worker %d started (slot %d, generation %d)", (int)pid,
	    slot, gen);
	return 0;
}

/* Schedule the respawn of slot, after a delay if deaths come fast. */
static void
spawn_schedule(struct master *m, int slot, uint64_t lived_ms)
{
	struct wproc *w = &m->w[slot];
	uint64_t delay = 0;
	int n;

	if (lived_ms < FAST_DEATH_MS && !w->hung)
		m->fast_deaths++;
	else if (m->fast_deaths > 0) {
		m->fast_deaths = 0;
		if (m->throttled)
			log_notice("respawn throttle off: worker ran %llu ms",
			    (unsigned long long)lived_ms);
		m->throttled = 0;
	}
	if (m->fast_deaths >= THROTTLE_AFTER) {
		n = m->fast_deaths - THROTTLE_AFTER;
		delay = n >= 9 ? BACKOFF_CAP_MS :
		    (uint64_t)BACKOFF_BASE_MS << n;
		if (delay > BACKOFF_CAP_MS)
			delay = BACKOFF_CAP_MS;
		if (!m->throttled)
			log_warnx("respawn throttled: %d workers died within "
			    "%d ms of starting; respawning after a delay "
			    "growing to %d s", m->fast_deaths, FAST_DEATH_MS,
			    BACKOFF_CAP_MS / 1000);
		m->throttled = 1;
	}
	w->state = WS_BACKOFF;
	w->respawn_ms = m->now + delay;
	atomic_store(&sb->slot[slot].state, WS_BACKOFF);
}

/* Respawn the slots whose back-off has run out. */
void
spawn_backoff_tick(struct master *m)
{
	int i;

	for (i = 0; i < SB_SLOTS; i++) {
		struct wproc *w = &m->w[i];

		if (w->state != WS_BACKOFF || m->now < w->respawn_ms ||
		    m->stopping != STOP_NONE)
			continue;
		if (spawn_worker(m, i, m->cf, m->generation) == 0) {
			sb->slot[i].respawns++;
			atomic_fetch_add(&sb->respawns, 1);
		} else {
			/* fork failed (EAGAIN): try again in a second */
			w->respawn_ms = m->now + 1000;
		}
	}
}

/* One worker is gone: account for it, and respawn it if it should be. */
static void
spawn_gone(struct master *m, int slot, int status)
{
	struct wproc *w = &m->w[slot];
	char why[64];
	int expected = w->state == WS_DRAINING || m->stopping != STOP_NONE ||
	    w->gen != m->generation;

	proc_status_text(status, STATUS_WORDS_LOG, why, sizeof(why));
	if (expected)
		log_debug("worker %d (slot %d, generation %d) %s", (int)w->pid,
		    slot, w->gen, why);
	else
		log_warnx("worker %d (slot %d, generation %d) %s%s; "
		    "respawning", (int)w->pid, slot, w->gen, why,
		    w->hung ? " after hanging" : "");
	ev_del(&m->ev, w->chan);
	close(w->chan);
	w->chan = -1;
	scoreboard_retire(slot);
	sb->slot[slot].last_exit = status;
	atomic_store(&sb->slot[slot].pid, 0);
	atomic_store(&sb->slot[slot].state, WS_FREE);
	w->pid = 0;
	w->state = WS_FREE;
	if (!expected)
		spawn_schedule(m, slot, m->now - w->started_ms);
	w->hung = 0;
	atomic_store(&sb->workers_running, spawn_count(m, GEN_ANY, WS_ALIVE));
}

/* Reap every exited child (SIGCHLD). */
void
spawn_reap(struct master *m)
{
	int i, status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < SB_SLOTS; i++)
			if (m->w[i].pid == pid)
				break;
		if (i < SB_SLOTS)
			spawn_gone(m, i, status);
		else
			upgrade_reaped(m, pid, status);
	}
}
