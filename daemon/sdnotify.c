/*
 * sdnotify.c -- the sd_notify protocol, written out (about 60 lines)
 * rather than linking libsystemd for one sendmsg: a datagram of
 * "KEY=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET ('@'
 * for the abstract namespace).  Without the variable every call is a
 * no-op, so nothing changes outside systemd.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

static int			 sd_fd = -1;
static struct sockaddr_un	 sd_addr;
static socklen_t		 sd_len;
static uint64_t			 sd_watchdog_ms;

/* Read NOTIFY_SOCKET and WATCHDOG_USEC once, in the master. */
void
sdnotify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *wd = getenv("WATCHDOG_USEC");
	const char *wdpid = getenv("WATCHDOG_PID");
	size_t n;
	long v;

	if (wd != NULL && util_parse_long(wd, 1, 1L << 40, &v) == 0 &&
	    (wdpid == NULL || atol(wdpid) == getpid()))
		sd_watchdog_ms = (uint64_t)v / 1000;
	if (path == NULL || (n = strlen(path)) < 2 ||
	    n >= sizeof(sd_addr.sun_path) || (path[0] != '/' && path[0] != '@'))
		return;
	memset(&sd_addr, 0, sizeof(sd_addr));
	sd_addr.sun_family = AF_UNIX;
	memcpy(sd_addr.sun_path, path, n);
	if (path[0] == '@')
		sd_addr.sun_path[0] = '\0';
	sd_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

/* The watchdog interval systemd asked for; 0 when none. */
uint64_t
sdnotify_watchdog_ms(void)
{
	return sd_watchdog_ms;
}

/* Send one notification; -1 if it could not be sent. */
int
sdnotify(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	if (sd_fd == -1)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (sendto(sd_fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&sd_addr, sd_len) == -1) {
		log_debug("sd_notify: %s", strerror(errno));
		return -1;
	}
	return 0;
}
