/*
 * upgrade.c -- binary upgrade in place (USR2, "ekkod -s upgrade").
 *
 * The old master forks a child that executes the binary now on disk at
 * the path the master was started from, with the same arguments.  The
 * child inherits, as plain descriptors (close-on-exec cleared only in
 * it): every listening socket, from 3 on, announced the way systemd
 * announces socket activation (LISTEN_FDS, LISTEN_PID), so nothing is
 * ever re-bound; then the pidfile, the reload status file and one end of
 * a socket pair, named by EKKOD_UPGRADE.  The new master loads its config
 * with the -t loader and starts its workers.  On the pair:
 *
 *	new -> old	"E message"	an error; the new master exits
 *	new -> old	"R version"	every new worker is ready
 *	old -> new	"G"		the switch is done: serve as the master
 *
 * The pidfile never lacks a live, locked master: masters lock one of two
 * bytes of it, the new one the byte the old one does not hold, before
 * it starts its workers; at the switch the old master writes the new
 * pid into the file, tells systemd MAINPID=, answers "G", and drains
 * its workers as a reload does.  Anything else before the switch (exec
 * failure, an early exit, no "R" within worker_timeout, TERM) ends the
 * new master and the old one serves on: rollback.  If the old master
 * dies first (EOF on the pair), the new one takes the file over itself.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

#define UPGRADE_ENV	"EKKOD_UPGRADE"
#define UPGRADE_KILL_MS	3000	/* SIGTERM, then SIGKILL after this */
#define UPGRADE_ARGS	64

/* What the master was started as: path, arguments, directory. */
static char	 start_path[4096];
static char	 start_cwd[2048];
static char	*start_argv[UPGRADE_ARGS + 1];

/*
 * At start, before getopt permutes argv and before daemonizing leaves
 * the directory: the absolute path it was started from (not resolved
 * through links: a package upgrade replaces the file at that path).
 */
void
upgrade_init(int argc, char **argv)
{
	int i;
	ssize_t n;

	if (getcwd(start_cwd, sizeof(start_cwd)) == NULL)
		util_strlcpy(start_cwd, "/", sizeof(start_cwd));
	if (argv[0][0] == '/')
		util_strlcpy(start_path, argv[0], sizeof(start_path));
	else if (strchr(argv[0], '/') != NULL)
		snprintf(start_path, sizeof(start_path), "%s/%s", start_cwd,
		    strncmp(argv[0], "./", 2) == 0 ? argv[0] + 2 : argv[0]);
	else if ((n = readlink("/proc/self/exe", start_path,
	    sizeof(start_path) - 1)) > 0)
		start_path[n] = '\0';
	for (i = 0; i < argc && i < UPGRADE_ARGS; i++)
		start_argv[i] = argv[i];
	start_argv[i] = NULL;
}

/* ---- in the new master ---- */

/*
 * Is this process a new master started by an upgrade?  Fills u from
 * EKKOD_UPGRADE ("chan pidfd statusfd seq upgrades [draining]") and
 * clears it, so the workers and a later upgrade never see it.  The last
 * field is optional: a binary that predates the lame duck does not send
 * it, and one that does not know it reads the first five alone.
 */
int
upgrade_child_info(struct upgrade_child *u)
{
	const char *v = getenv(UPGRADE_ENV);
	unsigned long long seq, ups;

	memset(u, 0, sizeof(*u));
	u->chan = u->pidfd = u->statusfd = -1;
	if (v == NULL)
		return 0;
	if (sscanf(v, "%d %d %d %llu %llu %d", &u->chan, &u->pidfd,
	    &u->statusfd, &seq, &ups, &u->draining) < 5)
		fatalx("%s: malformed: \"%s\"", UPGRADE_ENV, v);
	unsetenv(UPGRADE_ENV);
	u->seq = seq;
	u->upgrades = ups;
	fcntl(u->chan, F_SETFD, FD_CLOEXEC);
	fcntl(u->pidfd, F_SETFD, FD_CLOEXEC);
	fcntl(u->statusfd, F_SETFD, FD_CLOEXEC);
	return 1;
}

/* Tell the old master: an error line, or "R version" when ready. */
void
upgrade_child_say(int chan, enum upgrade_msg kind, const char *text)
{
	char line[600];
	int n;

	if (chan == -1)
		return;
	n = snprintf(line, sizeof(line), "%c %s\n", (char)kind, text);
	if (n > 0 && write(chan, line, (size_t)n < sizeof(line) ?
	    (size_t)n : sizeof(line) - 1) == -1)
		log_debug("upgrade: telling the old master: %s",
		    strerror(errno));
}

/* ---- in the old master ---- */

/* Move fd to a number above every fd the child will be given. */
static int
upgrade_high(int fd)
{
	return fd == -1 ? -1 : fcntl(fd, F_DUPFD, 256);
}

/*
 * In the forked child: lay out the descriptors from 3 on (listeners,
 * then pidfile, status file, pair), close everything else, set the
 * environment, and execute the binary.  Reports a failure on the pair.
 */
static void __attribute__((noreturn))
upgrade_exec(struct master *m, int chan)
{
	int hi[MAX_LISTENERS + 3], i, n = m->ls.n, fd = 3;
	char env[128], num[32];

	for (i = 0; i < n; i++)
		hi[i] = upgrade_high(m->ls.fd[i]);
	hi[n] = upgrade_high(m->pidfd);
	hi[n + 1] = upgrade_high(m->statusfd);
	hi[n + 2] = upgrade_high(chan);
	for (i = 0; i < n + 3; i++)
		if (hi[i] != -1 && dup2(hi[i], fd + i) == -1)
			_exit(127);
	close_range((unsigned)(fd + n + 3), ~0U, 0);
	snprintf(num, sizeof(num), "%d", n);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	if (getenv("WATCHDOG_USEC") != NULL)
		setenv("WATCHDOG_PID", num, 1);
	snprintf(env, sizeof(env), "%d %d %d %llu %llu %d", fd + n + 2,
	    hi[n] != -1 ? fd + n : -1, hi[n + 1] != -1 ? fd + n + 1 : -1,
	    (unsigned long long)m->reload_seq + 1,
	    (unsigned long long)atomic_load(&sb->upgrades) + 1,
	    lameduck_draining());
	setenv(UPGRADE_ENV, env, 1);
	sig_unblock_all();
	if (chdir(start_cwd) == -1)
		(void)!chdir("/");
	execv(start_path, start_argv);
	snprintf(env, sizeof(env), "cannot execute %.80s: %s", start_path,
	    strerror(errno));
	upgrade_child_say(fd + n + 2, UPGRADE_ERROR, env);
	_exit(127);
}

/* Refuse an upgrade before anything started; -s upgrade learns why. */
static void
upgrade_refuse(struct master *m, const char *why)
{
	char *one = (char *)(uintptr_t)why;
	struct config_errors e = { 1, &one };

	log_warnx("upgrade refused: %s", why);
	master_status_file(m, m->requester, "failed", &e, NULL);
}

/* No upgrade any more. */
static void
upgrade_reset(struct master *m)
{
	memset(&m->up, 0, sizeof(m->up));
	m->up.chan = -1;
}

/* USR2: start the new master, unless something is in the way. */
void
upgrade_start(struct master *m)
{
	int pair[2];
	pid_t pid;

	const char *busy = m->up.pid != 0 ? "an upgrade is already in "
	    "progress" : m->stopping != STOP_NONE || m->quit_at ? "the master is stopping" :
	    m->next_cf != NULL ? "a reload is in progress" : NULL;

	if (busy != NULL) {
		upgrade_refuse(m, busy);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == -1) {
		upgrade_refuse(m, strerror(errno));
		return;
	}
	if ((pid = fork()) == -1) {
		close(pair[0]);
		close(pair[1]);
		upgrade_refuse(m, strerror(errno));
		return;
	}
	if (pid == 0) {
		close(pair[0]);
		upgrade_exec(m, pair[1]);
	}
	close(pair[1]);
	upgrade_reset(m);
	m->up.pid = pid;
	m->up.for_pid = m->requester;
	m->up.chan = pair[0];
	m->up.deadline = m->now + (uint64_t)m->cf->worker_timeout * 1000;
	net_set_nonblock(m->up.chan, 1);
	ev_add(&m->ev, m->up.chan, EPOLLIN, &m->up);
	log_info("upgrade: started %s as pid %d", start_path, (int)pid);
}

/* Forget the new master's channel. */
static void
upgrade_close(struct master *m)
{
	if (m->up.chan == -1)
		return;
	ev_del(&m->ev, m->up.chan);
	close(m->up.chan);
	m->up.chan = -1;
}

/*
 * The upgrade failed: log why with the new master's own errors, tell
 * -s upgrade, end the new master if it still runs.  The old generation
 * never stopped serving.
 */
static void
upgrade_fail(struct master *m, const char *why)
{
	struct config_errors e = { 0, NULL };
	char *msgs[UPGRADE_MSGS + 1];
	int i;

	for (i = 0; i < m->up.nmsgs; i++)
		log_warnx("upgrade: new master: %s", m->up.msgs[i]);
	log_warnx("upgrade rolled back: %s; pid %d keeps serving", why,
	    (int)getpid());
	for (i = 0; i < m->up.nmsgs; i++)
		msgs[i] = m->up.msgs[i];
	msgs[i] = (char *)(uintptr_t)why;
	e.n = m->up.nmsgs + 1;
	e.msgs = msgs;
	master_status_file(m, m->up.for_pid, "failed", &e, NULL);
	upgrade_close(m);
	if (!m->up.reaped && m->up.kill_ms == 0) {
		kill(m->up.pid, SIGTERM);
		m->up.kill_ms = m->now + UPGRADE_KILL_MS;
	}
	m->up.failed = 1;
	if (m->up.reaped)
		upgrade_reset(m);
}

/*
 * Every new worker is ready: the new master takes over.  The file is
 * rewritten before our lock goes (the new master holds its own byte
 * already), systemd learns the new main PID, and our workers drain.
 */
static void
upgrade_switch(struct master *m, const char *version)
{
	char extra[128], serve = UPGRADE_SERVE;

	if (m->pidfd != -1 && pidfile_write(m->pidfd, m->up.pid) == -1)
		log_warn("upgrade: writing the pidfile");
	/* let our lock byte go now, not when we exit after draining: the
	 * next upgrade's master needs it (the new master holds the other) */
	if (m->pidfd != -1) {
		close(m->pidfd);
		m->pidfd = -1;
	}
	/* WATCHDOG=1: the new master's first ping is due a full
	 * WatchdogSec from the switch, not from our last ping */
	sdnotify("MAINPID=%d\nREADY=1\nWATCHDOG=1\n"
	    "STATUS=upgraded: pid %d, version %s",
	    (int)m->up.pid, (int)m->up.pid, version);
	m->handed_over = 1;
	master_handover(m);
	if (write(m->up.chan, &serve, 1) != 1)
		log_warn("upgrade: telling the new master");
	log_info("upgrade: pid %d (version %s) serves; pid %d drains and "
	    "exits", (int)m->up.pid, version, (int)getpid());
	snprintf(extra, sizeof(extra), "pid %d\nversion %s\n",
	    (int)m->up.pid, version);
	master_status_file(m, m->up.for_pid, "ok", NULL, extra);
	upgrade_close(m);
}

/* Keep an error line of the new master's, for the log and -s. */
static void
upgrade_keep_msg(struct master *m, const char *text)
{
	if (m->up.nmsgs < UPGRADE_MSGS)
		util_strlcpy(m->up.msgs[m->up.nmsgs++], text,
		    sizeof(m->up.msgs[0]));
}

/* Read what the new master wrote; 0 when there is nothing (more). */
static int
upgrade_read(struct master *m)
{
	ssize_t n;

	n = read(m->up.chan, m->up.in + m->up.inlen,
	    sizeof(m->up.in) - 1 - m->up.inlen);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			upgrade_close(m);	/* its exit is reaped */
		return 0;
	}
	m->up.inlen += (size_t)n;
	m->up.in[m->up.inlen] = '\0';
	return 1;
}

/* The new master wrote: error lines, or "R version". */
void
upgrade_channel(struct master *m)
{
	char *line, *nl;

	if (!upgrade_read(m))
		return;
	for (line = m->up.in; (nl = strchr(line, '\n')) != NULL;
	    line = nl + 1) {
		*nl = '\0';
		if (line[0] == UPGRADE_ERROR && line[1] == ' ')
			upgrade_keep_msg(m, line + 2);
		else if (line[0] == UPGRADE_READY && line[1] == ' ' &&
		    !m->up.failed) {
			upgrade_switch(m, line + 2);
			return;
		}
	}
	m->up.inlen = strlen(line);
	memmove(m->up.in, line, m->up.inlen + 1);
	if (m->up.inlen == sizeof(m->up.in) - 1)
		m->up.inlen = 0;	/* a line too long: dropped */
}

/* The new master exited (or was ended): was it a failure? */
int
upgrade_reaped(struct master *m, pid_t pid, int status)
{
	char why[128], st[64];
	int i;

	if (pid != m->up.pid || pid == 0)
		return 0;
	m->up.reaped = 1;
	if (m->up.failed || m->handed_over) {
		upgrade_close(m);
		upgrade_reset(m);
		return 1;
	}
	/* what it said before it went: its errors */
	for (i = 0; i < 64 && m->up.chan != -1 && !m->handed_over; i++)
		upgrade_channel(m);
	if (m->handed_over)
		return 1;
	proc_status_text(status, STATUS_WORDS_LOG, st, sizeof(st));
	snprintf(why, sizeof(why), "the new master %s", st);
	upgrade_fail(m, why);
	return 1;
}

/* The timed part: no "R" in time, or a new master that will not end. */
void
upgrade_tick(struct master *m)
{
	char why[96];

	if (m->up.pid == 0)
		return;
	if (m->up.kill_ms != 0 && m->now >= m->up.kill_ms && !m->up.reaped) {
		kill(m->up.pid, SIGKILL);
		m->up.kill_ms = UINT64_MAX;
	}
	if (!m->up.failed && m->now >= m->up.deadline) {
		snprintf(why, sizeof(why), "the new master was not ready "
		    "within worker_timeout (%d s)", m->cf->worker_timeout);
		upgrade_fail(m, why);
	}
}

/* A stop during an upgrade: the new master goes, the old one stops. */
void
upgrade_abort(struct master *m, const char *why)
{
	if (m->up.pid != 0 && !m->up.failed)
		upgrade_fail(m, why);
}
