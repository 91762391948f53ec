/*
 * log.c -- the daemon's voice: syslog, and stderr in the foreground.
 *
 * Two tiers, one vocabulary (OpenNTPD): fatal/fatalx end start-up with
 * and without errno text; log_warn/log_warnx/log_info/log_debug speak at
 * run time.  log_limited() is for anything a peer can trigger, so a flood
 * of bad clients never becomes a flood of log lines.
 *
 * The stderr copy of the foreground (-f) never blocks: a line that would
 * wait for a slow or stuck reader is dropped and counted, and the count
 * is written with the next line that gets out, so serving never waits on
 * a terminal or pipe.  Under systemd, when stderr is the journal stream
 * (JOURNAL_STREAM names it), there is no copy: syslog already puts each
 * line in the journal, at its own priority.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

static int	 log_fg;
static int	 log_stderr_kind;	/* STDERR_* kind of fd 2, at log_init */
static unsigned	 log_dropped;	/* stderr lines that would have blocked */
static int	 log_level = LOG_INFO;
static char	 log_ident[CONF_STR] = "ekkod";

static const struct {
	const char	*name;
	int		 value;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
}, levels[] = {
	{ "emerg", LOG_EMERG }, { "alert", LOG_ALERT }, { "crit", LOG_CRIT },
	{ "err", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

/* A syslog facility by its config name; -1 if unknown. */
int
log_facility_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(facilities); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].value;
	return -1;
}

/* A syslog level by its config name; -1 if unknown. */
int
log_level_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(levels); i++)
		if (strcmp(levels[i].name, name) == 0)
			return levels[i].value;
	return -1;
}

enum { STDERR_OTHER, STDERR_FIFO, STDERR_SOCKET };

/*
 * Is stderr the journal's stream?  systemd sets JOURNAL_STREAM to the
 * "device:inode" of the stream it connected, so a redirected stderr (or
 * an inherited variable) does not match.
 */
static int
log_stderr_is_journal(const struct stat *st)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	return (unsigned long long)st->st_dev == dev &&
	    (unsigned long long)st->st_ino == ino;
}

/*
 * Open syslog; in the foreground, stderr gets every line as well, unless
 * it is the journal already.
 */
void
log_init(const char *ident, int facility, int level, int foreground)
{
	struct stat st;

	log_fg = foreground;
	log_stderr_kind = STDERR_OTHER;
	if (fstat(STDERR_FILENO, &st) == 0) {
		if (log_stderr_is_journal(&st))
			log_fg = 0;
		else if (S_ISSOCK(st.st_mode))
			log_stderr_kind = STDERR_SOCKET;
		else if (S_ISFIFO(st.st_mode))
			log_stderr_kind = STDERR_FIFO;
	}
	log_reconfigure(ident, facility, level);
}

/* Apply a new ident, facility and level (start-up and reload). */
void
log_reconfigure(const char *ident, int facility, int level)
{
	util_strlcpy(log_ident, ident, sizeof(log_ident));
	/* the config's: it begins every line, so no escapes in it either */
	util_text_safe(log_ident, (const uint8_t *)log_ident,
	    strlen(log_ident), 0);
	log_level = level;
	closelog();
	openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
	setlogmask(LOG_UPTO(level));
}

/* Stop copying to stderr (after daemonizing, stderr is /dev/null). */
void
log_set_foreground(int fg)
{
	log_fg = fg;
}

/*
 * Write len bytes to stderr only if that cannot block: a socket with
 * MSG_DONTWAIT, a pipe with RWF_NOWAIT (after a zero-timeout poll, for
 * kernels without it on pipes), anything else after the poll.  The
 * descriptor's own flags are left alone: it is shared with the shell or
 * service manager that started us.  -1 if the line was not written.
 */
static int
log_stderr_try(const char *buf, size_t len)
{
	struct pollfd pfd = { STDERR_FILENO, POLLOUT, 0 };
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	ssize_t n;

	if (log_stderr_kind == STDERR_SOCKET)
		return send(STDERR_FILENO, buf, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
		return -1;
	if (log_stderr_kind == STDERR_FIFO) {
		n = pwritev2(STDERR_FILENO, &iov, 1, -1, RWF_NOWAIT);
		if (n != -1 || errno != EOPNOTSUPP)
			return n == (ssize_t)len ? 0 : -1;
	}
	return write(STDERR_FILENO, buf, len) == (ssize_t)len ? 0 : -1;
}

/*
 * The foreground copy of one line: "ident[pid]: msg", never blocking;
 * errno is left as the caller had it.
 */
static void
log_stderr(const char *msg)
{
	char buf[1400];
	int n, saved = errno;

	if (log_dropped > 0) {
		n = snprintf(buf, sizeof(buf), "%s[%d]: (%u log lines not "
		    "written to stderr: it was not being read)\n", log_ident,
		    (int)getpid(), log_dropped);
		if (n > 0 && (size_t)n < sizeof(buf) &&
		    log_stderr_try(buf, (size_t)n) == 0)
			log_dropped = 0;
	}
	n = snprintf(buf, sizeof(buf), "%s[%d]: %s\n", log_ident,
	    (int)getpid(), msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	if (n > 0 && (log_dropped > 0 ||
	    log_stderr_try(buf, (size_t)n) == -1))
		log_dropped++;
	errno = saved;
}

/*
 * Write one message to stderr (in the foreground) and syslog: one line,
 * no escape sequences, whatever it quotes (a config value, say).
 */
static void
log_emit(int prio, char *msg)
{
	util_text_safe(msg, (const uint8_t *)msg, strlen(msg), 0);
	if (log_fg)
		log_stderr(msg);
	syslog(prio, "%s", msg);
}

/* Emit one line at prio. */
static void
log_vwrite(int prio, const char *fmt, va_list ap)
{
	char msg[1024];

	if (prio > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(prio, msg);
}

/* Emit "message: strerror(errno)" at prio. */
static void
log_verrno(int prio, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno, n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(saved));
	errno = saved;
	if (prio <= log_level)
		log_emit(prio, msg);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

/*
 * An error that ends start-up, one of several listed before the exit
 * (fatalx is for one).  Before log_init it reaches syslog alone: the
 * caller has printed it on stderr itself.
 */
void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/*
 * A warning that a peer can provoke: at most 10 lines a second; what is
 * held back is counted and reported with the next line that gets out.
 */
void
log_limited(struct log_limit *ll, const char *fmt, ...)
{
	uint64_t now = util_now_ms();
	va_list ap;

	if (now - ll->window_ms >= 1000) {
		if (ll->suppressed > 0)
			log_warnx("(%u similar messages suppressed)",
			    ll->suppressed);
		ll->window_ms = now;
		ll->count = 0;
		ll->suppressed = 0;
	}
	if (ll->count >= 10) {
		ll->suppressed++;
		return;
	}
	ll->count++;
	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* Start-up failure with errno text: log, and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Start-up failure: log, and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
