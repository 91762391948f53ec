/*
 * worker.c -- a worker process: accept, serve, beat, drain.
 *
 * Each worker runs one epoll loop over the listeners it shares with its
 * siblings, its own connections, and its channel to the master.  The
 * master speaks over the channel (CHAN_DRAIN for a reload, CHAN_QUIT
 * graceful stop, CHAN_STOP stop now); the channel closing means the
 * master is gone, and the worker goes too.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

#define SCRATCH_SIZE	(256 * 1024)
#define ACCEPT_BATCH	64
#define ACCEPT_REARM	8	/* accepts before going to the back */
#define FD_RESERVE	16	/* kept for logs, pidfile, stray opens */
#define EMFILE_PAUSE_MS	100
#define LIMIT_LOG_MS	10000	/* one report of a limit episode per */

static char	 chan_tag;	/* epoll data for the channel */

#define RELAXED		memory_order_relaxed

/*
 * The sockets to accept on: every shared listener and, with
 * tcp.reuseport, a socket of our own per listener, so that the kernel
 * hashes connections across workers' queues instead of one shared
 * queue.  The shared one stays watched too: it is in the reuseport group
 * and gets its share.
 */
static void
worker_listen_setup(struct worker *w)
{
	struct listener_conf *l;
	char err[256];
	size_t i;
	int fd;

	for (i = 0; i < w->cf->nlisteners; i++) {
		l = &w->cf->listeners[i];
		w->lst[w->nlst++] = (struct wlisten){ l, l->fd, 0 };
		if (!w->cf->tcp.reuseport || !listen_reuseport(l->fd))
			continue;	/* the master said why, once */
		if ((fd = listen_bind(w->cf, &l->addr, 1, err,
		    sizeof(err))) == -1)
			log_warnx("reuseport: %s; sharing the master's socket",
			    err);
		else
			w->lst[w->nlst++] = (struct wlisten){ l, fd, 1 };
	}
}

/* Are there other workers (now, TTIN included) to share accepts with? */
static int
worker_siblings(const struct worker *w)
{
	return w->cf->workers > 1 ||
	    atomic_load_explicit(&sb->workers_configured, RELAXED) > 1;
}

/*
 * Watch the listeners again (or for the first time).  Never once
 * draining: a drain sets w->draining before it accepts or closes
 * anything, so no path through here can re-add a listener it closes.
 */
static void
worker_listen_on(struct worker *w)
{
	int i;

	if (w->accepting || w->draining)
		return;
	/*
	 * EPOLLEXCLUSIVE: one sleeping worker woken per connection, no
	 * thundering herd.  A lone worker has no herd, and the exclusive
	 * wake-up path costs it a few percent of its connection rate.
	 */
	w->listen_events = EPOLLIN;
	if (worker_siblings(w))
		w->listen_events |= EPOLLEXCLUSIVE;
	for (i = 0; i < w->nlst; i++)
		if (w->lst[i].fd != -1 && ev_add(&w->ev, w->lst[i].fd,
		    w->listen_events, &w->lst[i]) == -1)
			log_warn("epoll_ctl listener port %d",
			    w->lst[i].l->port);
	w->accepting = 1;
}

/* Stop watching the listeners: the siblings take the connections. */
static void
worker_listen_off(struct worker *w)
{
	int i;

	if (!w->accepting)
		return;
	for (i = 0; i < w->nlst; i++)
		if (w->lst[i].fd != -1)
			ev_del(&w->ev, w->lst[i].fd);
	w->accepting = 0;
}

/*
 * Close our copy of a listener, out of epoll first: a registration
 * outlives the fd while another process (the master) holds the socket,
 * and would then report a socket we can no longer accept on.
 */
static void
worker_listen_close(struct worker *w, struct wlisten *wl)
{
	if (wl->fd == -1)
		return;
	ev_del(&w->ev, wl->fd);
	close(wl->fd);
	wl->fd = -1;
}

/* Is the peer allowed in by the listener's allow/deny lists? */
static int
worker_allowed(const struct listener_conf *l, const uint8_t *addr)
{
	if (l->ndeny > 0 && cidr_match_list(l->deny, l->ndeny, addr))
		return 0;
	if (l->nallow > 0 && !cidr_match_list(l->allow, l->nallow, addr))
		return 0;
	return 1;
}

/* Refuse an accepted socket: count it, log it (bounded), close it. */
static void
worker_refuse(struct worker *w, int fd, int kind, const char *why,
    const struct sockaddr *peer, const struct listener_conf *l)
{
	char as[NET_ADDRSTRLEN];

	sb_count(&w->slot->errors[kind], 1);
	atomic_fetch_add_explicit(&sb->conns_rejected, 1, RELAXED);
	log_limited(&w->log_accept, "refused %s on port %d: %s",
	    net_format(peer, as, sizeof(as)), l->port, why);
	close(fd);
}

/*
 * A socket of a proxy_protocol listener: only the balancers of
 * proxy_allow get in.  The client's own address, known once the header
 * is read, faces the access lists and the per-IP limit then
 * (worker_admit_client); the balancer's is never counted per IP, or
 * per_ip_connections would limit all of its clients together.
 */
static void
worker_admit_balancer(struct worker *w, struct listener_conf *l, int fd,
    const struct sockaddr *peer)
{
	uint8_t addr[16];

	if (cidr_addr_of(peer, addr) == -1 || !cidr_match_list(l->proxy_allow,
	    l->nproxy_allow, addr)) {
		worker_refuse(w, fd, ERR_DENIED, "not in proxy_allow", peer,
		    l);
		return;
	}
	if (scoreboard_conn_take(w->slot, w->cf->limits.max_connections) ==
	    -1) {
		worker_refuse(w, fd, ERR_MAX_CONNECTIONS,
		    "max_connections reached", peer, l);
		return;
	}
	conn_open(w, fd, l, 0, addr, 0);
}

/* A refusal of the client a PROXY header named: counted, logged. */
static int
worker_refuse_client(struct worker *w, const struct conn *c, int kind,
    const char *why)
{
	char as[INET6_ADDRSTRLEN];
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (memcmp(c->peer, v4mapped, 12) == 0)
		inet_ntop(AF_INET, c->peer + 12, as, sizeof(as));
	else
		inet_ntop(AF_INET6, c->peer, as, sizeof(as));
	sb_count(&w->slot->errors[kind], 1);
	atomic_fetch_add_explicit(&sb->conns_rejected, 1, RELAXED);
	log_limited(&w->log_accept, "refused %s (by PROXY header) on port "
	    "%d: %s", as, c->l->port, why);
	return -1;
}

/*
 * The PROXY header of c named its client, now in c->peer (or kept the
 * balancer's): admit that client as worker_admit would have.  0 if
 * admitted; -1 if refused, counted and logged, for the caller to close.
 */
int
worker_admit_client(struct worker *w, struct conn *c)
{
	const struct limits_conf *lim = &w->cf->limits;
	int r;

	if (!worker_allowed(c->l, c->peer))
		return worker_refuse_client(w, c, ERR_DENIED,
		    "denied by allow/deny");
	if (lim->per_ip_connections > 0) {
		if ((r = perip_acquire(c->peer, w->slotno,
		    lim->per_ip_connections)) != 0)
			return worker_refuse_client(w, c, ERR_PER_IP, r == -1 ?
			    "per_ip_connections reached" : "per-IP table full");
		c->flags |= CONN_PERIP;	/* given back by conn_close */
	}
	if (cidr_match_list(w->cf->admin_allow, w->cf->nadmin, c->peer))
		c->flags |= CONN_ADMIN;
	return 0;
}

/*
 * Admit an accepted socket past the access lists and the limits, before
 * a byte of it is read.
 */
static void
worker_admit(struct worker *w, struct listener_conf *l, int fd,
    const struct sockaddr *peer)
{
	const struct limits_conf *lim = &w->cf->limits;
	uint8_t addr[16];
	int perip = lim->per_ip_connections > 0, r;

	if (l->proxy != PROXY_OFF) {
		worker_admit_balancer(w, l, fd, peer);
		return;
	}
	if (cidr_addr_of(peer, addr) == -1 || !worker_allowed(l, addr)) {
		worker_refuse(w, fd, ERR_DENIED, "denied by allow/deny", peer,
		    l);
		return;
	}
	if (l->mode == MODE_AGENT) {
		agent_answer(w, fd);	/* one line and closed: no limit */
		return;
	}
	if (scoreboard_conn_take(w->slot, lim->max_connections) == -1) {
		worker_refuse(w, fd, ERR_MAX_CONNECTIONS,
		    "max_connections reached", peer, l);
		return;
	}
	if (perip && (r = perip_acquire(addr, w->slotno,
	    lim->per_ip_connections)) != 0) {
		scoreboard_conn_give(w->slot);
		worker_refuse(w, fd, ERR_PER_IP, r == -1 ?
		    "per_ip_connections reached" : "per-IP table full", peer, l);
		return;
	}
	/* conn_open owns both counts now, and gives them back on failure */
	conn_open(w, fd, l, cidr_match_list(w->cf->admin_allow,
	    w->cf->nadmin, addr), addr, perip);
}

/*
 * May an episode of a limit that begins now be reported?  One report
 * every LIMIT_LOG_MS: a client that flips a limit on and off cannot
 * flood the log.  more gets what to append: the episodes held back.
 */
static int
worker_episode_report(struct worker *w, struct episode_log *e,
    char *more, size_t morelen)
{
	if (e->last_ms != 0 && w->now - e->last_ms < LIMIT_LOG_MS) {
		e->held++;
		return 0;
	}
	more[0] = '\0';
	if (e->held > 0)
		snprintf(more, morelen, " (%u more times since the last "
		    "report)", e->held);
	e->held = 0;
	e->last_ms = w->now;
	return 1;
}

/*
 * Out of descriptors or memory: stop accepting for a moment instead of
 * spinning on a listener that stays readable.  Reported once an episode,
 * at most once every LIMIT_LOG_MS.
 */
static void
worker_accept_pause(struct worker *w, int err)
{
	char more[64];

	sb_count(&w->slot->errors[ERR_ACCEPT], 1);
	if (w->accept_paused == 0 && worker_episode_report(w, &w->pause_log,
	    more, sizeof(more)))
		log_warnx("accept: %s; pausing accepts for %d ms%s",
		    strerror(err), EMFILE_PAUSE_MS, more);
	w->accept_paused = 1;
	w->accept_resume_ms = w->now + EMFILE_PAUSE_MS;
	worker_listen_off(w);
}

/*
 * This worker holds as many connections as its descriptor budget
 * allows: stop watching the listeners so that the siblings take the new
 * ones.  Said once an episode, at most once every LIMIT_LOG_MS (a
 * churning client flips it many times a second); the "below again"
 * line is paired with a reported episode only.
 */
static void
worker_at_limit(struct worker *w)
{
	char more[64];

	if (!w->at_limit) {
		w->at_limit_said = worker_episode_report(w, &w->fd_limit_log,
		    more, sizeof(more));
		if (w->at_limit_said)
			log_warnx("accept: worker at its descriptor limit (%d "
			    "connections, RLIMIT_NOFILE %d); pausing accepts "
			    "until some close%s", w->nconns, w->maxfd, more);
	}
	w->at_limit = 1;
	worker_listen_off(w);
}

/* The worker is below its descriptor limit again. */
static void
worker_below_limit(struct worker *w)
{
	if (w->at_limit && w->at_limit_said)
		log_info("accept: below the descriptor limit again; "
		    "accepting");
	w->at_limit = 0;
	w->at_limit_said = 0;
}

/* Is errno after a failed accept4 one that passes (try again later)? */
static int
worker_accept_transient(int err)
{
	switch (err) {
	case EAGAIN:		/* a sibling won */
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	/* network errors of the new connection, passed on by Linux */
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
	case EPERM:		/* a firewall said no */
	case ETIMEDOUT:
		return 1;
	}
	return 0;
}

/*
 * accept4 failed.  Transient: try at the next wake-up.  Out of a
 * resource: pause.  Anything else will fail again at once, and the
 * listener stays readable: drop it from this worker instead of spinning,
 * and say so once (per listener, so bounded).
 */
static void
worker_accept_failed(struct worker *w, struct wlisten *wl, int err)
{
	if (worker_accept_transient(err))
		return;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		worker_accept_pause(w, err);
		return;
	}
	sb_count(&w->slot->errors[ERR_ACCEPT], 1);
	log_warnx("accept port %d: %s; no longer accepting on this listener "
	    "in this worker", wl->l->port, strerror(err));
	worker_listen_close(w, wl);
}

/*
 * With EPOLLEXCLUSIVE the worker whose epoll is first on the listener's
 * wait queue is handed every connection it is awake for, so one busy
 * worker can take far more than its share.  Going to the back of the
 * queue every few accepts (remove and add again, as nginx does) passes
 * the lead around.
 */
static void
worker_rearm(struct worker *w)
{
	w->accepts_since_arm = 0;
	worker_listen_off(w);
	worker_listen_on(w);
}

/*
 * Accept one connection from wl and admit it.  0 if one was taken, -1
 * if none (the failure is handled) or the descriptor budget is spent.
 */
static int
worker_accept_one(struct worker *w, struct wlisten *wl)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	fd = accept4(wl->fd, (struct sockaddr *)&ss, &sl,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		worker_accept_failed(w, wl, errno);
		return -1;
	}
	if (fd >= w->maxfd) {
		close(fd);
		worker_accept_pause(w, EMFILE);
		return -1;
	}
	worker_admit(w, wl->l, fd, (struct sockaddr *)&ss);
	if (w->nconns >= w->conn_limit) {
		worker_at_limit(w);
		return -1;
	}
	return 0;
}

/*
 * An agent listener stays open through a graceful stop, answering
 * "down" until this worker exits: a balancer asking then is told, not
 * refused (which haproxy would not count against the server).
 */
static int
worker_agent_kept(const struct worker *w, const struct wlisten *wl)
{
	return wl->l->mode == MODE_AGENT && w->draining == DRAIN_QUIT;
}

/*
 * A listener is readable: accept a batch, going to the back of the
 * queue every few accepts.  Only for a listener still watched: an event
 * of this same wake-up may have been for one a drain closed since.
 */
static void
worker_accept(struct worker *w, struct wlisten *wl)
{
	int i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (wl->fd == -1 || ((!w->accepting || w->draining) &&
		    !worker_agent_kept(w, wl)))
			return;
		if (worker_accept_one(w, wl) == -1)
			return;
		if (++w->accepts_since_arm >= ACCEPT_REARM &&
		    worker_siblings(w))
			worker_rearm(w);
	}
}

/*
 * Begin draining: stop accepting for good and close our listener
 * copies.  The state is set first, so that nothing below can watch a
 * listener again.  A socket of our own (reuseport) is emptied before it
 * is closed: what sits in its queue was meant for us and would be reset
 * by the close.
 */
static void
worker_drain(struct worker *w, enum drain_mode how)
{
	int i;

	if (w->draining == DRAIN_NONE) {
		w->draining = how;
		worker_listen_off(w);
		for (i = 0; i < w->nlst; i++) {
			while (w->lst[i].own && w->lst[i].fd != -1 &&
			    worker_accept_one(w, &w->lst[i]) == 0)
				;
			if (!worker_agent_kept(w, &w->lst[i]))
				worker_listen_close(w, &w->lst[i]);
			else if (w->lst[i].fd != -1)
				ev_add(&w->ev, w->lst[i].fd, EPOLLIN,
				    &w->lst[i]);
		}
		w->drain_deadline = w->now +
		    (uint64_t)w->cf->shutdown_timeout * 1000;
		atomic_store(&w->slot->state, WS_DRAINING);
	}
	w->draining = how;
	if (how == DRAIN_QUIT) {
		w->closing_idle = 1;
		conn_drain_idle(w);
	}
	worker_count_closed(w);
}

/* A command from the master, or its death. */
static void
worker_channel(struct worker *w)
{
	char cmd[16];
	ssize_t n, i;

	n = read(w->chan, cmd, sizeof(cmd));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		w->quit = 1;		/* the master is gone */
		return;
	}
	for (i = 0; i < n; i++) {
		if (cmd[i] == CHAN_STOP)
			w->quit = 1;
		else if (cmd[i] == CHAN_DRAIN)
			worker_drain(w, DRAIN_FINISH);
		else if (cmd[i] == CHAN_QUIT)
			worker_drain(w, DRAIN_QUIT);
	}
}

/* A connection closed: a draining worker with none left is done. */
void
worker_count_closed(struct worker *w)
{
	if (w->draining && w->nconns == 0)
		w->quit = 1;
}

/* Deadlines of the loop: accept pause, drain, timeouts. */
static void
worker_tick(struct worker *w)
{
	int fd;

	conn_expire(w);
	if (w->accept_paused && w->now >= w->accept_resume_ms &&
	    w->nconns < w->conn_limit) {
		w->accept_paused = 0;
		worker_listen_on(w);
	} else if (!w->accepting && !w->accept_paused &&
	    w->nconns < w->conn_limit) {
		worker_below_limit(w);
		worker_listen_on(w);
	}
	if (!w->draining || w->now < w->drain_deadline)
		return;
	/* Time is up: idle ones go now; a graceful stop ends outright. */
	if (!w->closing_idle) {
		w->closing_idle = 1;
		conn_drain_idle(w);
	} else if (w->draining == DRAIN_QUIT) {
		for (fd = 0; fd < w->maxfd; fd++)
			conn_close(w, &w->conns[fd]);
	}
	worker_count_closed(w);
}

/* Dispatch one epoll event. */
static void
worker_event(struct worker *w, struct epoll_event *e)
{
	void *p = e->data.ptr;

	if (p == &chan_tag)
		worker_channel(w);
	else if ((struct conn *)p >= w->conns &&
	    (struct conn *)p < w->conns + w->maxfd)
		conn_event(w, p, e->events);
	else
		worker_accept(w, p);
}

/* How long the loop may sleep: until a timer or the accept pause. */
static int
worker_timeout_ms(struct worker *w)
{
	int t = conntimer_next(w);

	if (w->accept_paused) {
		if (w->accept_resume_ms <= w->now)
			return 0;
		if (w->accept_resume_ms - w->now < (uint64_t)t)
			t = (int)(w->accept_resume_ms - w->now);
	}
	return t;
}

/* The loop: wait, beat, serve, expire. */
static void
worker_loop(struct worker *w)
{
	int i, n;

	while (!w->quit) {
		n = ev_wait(&w->ev, worker_timeout_ms(w));
#if EKKO_LATENCY
		/* one clock read: the loop's time and the latency mark */
		w->lat_mark = util_now_ns();
		w->now = w->lat_mark / 1000000;
#else
		w->now = util_now_ms();
#endif
		atomic_store_explicit(&w->slot->heartbeat_ms, w->now, RELAXED);
		if (n == -1) {
			log_warn("epoll_wait");
			break;
		}
		for (i = 0; i < n; i++)
			worker_event(w, &w->ev.events[i]);
		worker_tick(w);
	}
}

/* Set up the worker's state; exits on failure (the master respawns). */
static void
worker_init(struct worker *w, struct config *cf, int slotno, int chan)
{
	struct rlimit rl;

	memset(w, 0, sizeof(*w));
	w->cf = cf;
	w->slotno = slotno;
	w->slot = &sb->slot[slotno];
	w->chan = chan;
	w->now = util_now_ms();
	atomic_store(&w->slot->pid, getpid());
	atomic_store(&w->slot->heartbeat_ms, w->now);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > 1 << 24)
		rl.rlim_cur = 1024;
	w->maxfd = (int)rl.rlim_cur;
	w->conn_limit = w->maxfd - FD_RESERVE;
	w->conns = calloc((size_t)w->maxfd, sizeof(*w->conns));
	w->scratch = malloc(SCRATCH_SIZE);
	w->scratch_size = SCRATCH_SIZE;
	if (w->conns == NULL || w->scratch == NULL || ev_init(&w->ev, 512))
		fatal("worker %d: cannot allocate", slotno);
	net_set_nonblock(chan, 1);
	if (ev_add(&w->ev, chan, EPOLLIN, &chan_tag) == -1)
		fatal("worker %d: epoll_ctl channel", slotno);
}

/* Close everything and free what we hold, for a clean exit. */
static void
worker_exit(struct worker *w)
{
	int fd, i;

	for (fd = 0; fd < w->maxfd; fd++)
		conn_close(w, &w->conns[fd]);
	for (i = 0; i < w->nlst; i++)
		worker_listen_close(w, &w->lst[i]);
	conn_release_buffers(w);
	free(w->conns);
	ev_close(&w->ev);
	close(w->chan);
	config_free(w->cf);
}

/* A worker's life, from fork to exit. */
void
worker_main(struct config *cf, int slotno, int chan)
{
	struct worker w;
	char ready = CHAN_READY;

	sig_worker_setup();
	worker_init(&w, cf, slotno, chan);
	worker_listen_setup(&w);
	worker_listen_on(&w);
	atomic_store(&w.slot->state, WS_SERVING);
	/* Tell the master we are ready: a reload waits for this. */
	if (write(chan, &ready, 1) != 1)
		w.quit = 1;
	worker_loop(&w);
	worker_exit(&w);
	_exit(0);
}
