/*
 * log.c -- the daemon's voice: syslog, and stderr in the foreground.
 *
 * Two tiers, one vocabulary (OpenNTPD): fatal/fatalx end start-up with
 * and without errno text; log_warn/log_warnx/log_info/log_debug speak at
 * run time.  log_limited() is for anything a peer can trigger, so a flood
 * of bad clients never becomes a flood of log lines.
 */
#include <errno.h>
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

/* Open syslog; in the foreground, stderr gets every line as well. */
void
log_init(const char *ident, int facility, int level, int foreground)
{
	log_fg = foreground;
	log_reconfigure(ident, facility, level);
}

/* Apply a new ident, facility and level (start-up and reload). */
void
log_reconfigure(const char *ident, int facility, int level)
{
	util_strlcpy(log_ident, ident, sizeof(log_ident));
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

/* Emit one line at prio. */
static void
log_vwrite(int prio, const char *fmt, va_list ap)
{
	char msg[1024];

	if (prio > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_fg)
		dprintf(STDERR_FILENO, "%s[%d]: %s\n", log_ident,
		    (int)getpid(), msg);
	syslog(prio, "%s", msg);
}

/* Emit "message: strerror(errno)" at prio. */
static void
log_verrno(int prio, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	errno = saved;
	if (prio > log_level)
		return;
	if (log_fg)
		dprintf(STDERR_FILENO, "%s[%d]: %s: %s\n", log_ident,
		    (int)getpid(), msg, strerror(saved));
	syslog(prio, "%s: %s", msg, strerror(saved));
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
