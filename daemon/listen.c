/*
 * listen.c -- the listening sockets, owned by the master.
 *
 * A reload keeps every socket whose address and port did not change, so
 * no connection is refused while generations change hands; only added
 * listeners are bound and removed ones closed.  Sockets passed by systemd
 * (LISTEN_FDS) enter the same way, as if kept from a previous generation.
 *
 * tcp.reuseport needs the shared socket itself bound with SO_REUSEPORT
 * (and by the same user): a kept or passed socket without it cannot get
 * the workers' own sockets beside it, so they share it; the master says
 * so once, and the workers do not try.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

/* The fd in set bound to a, or -1. */
static int
listen_find(const struct listen_set *set, const struct net_addr *a)
{
	int i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (net_same_addr(&set->addr[i], a))
			return set->fd[i];
	return -1;
}

/*
 * Options that accepted sockets inherit from the listener on Linux, set
 * once here instead of twice per accepted connection.
 *
 * TCP_QUICKACK off puts the listener, and so every connection accepted
 * from it, in delayed-ACK mode from the first segment: the request is
 * acknowledged by the reply that follows it at once, not by an ACK
 * packet of its own (what haproxy calls tcp-smart-accept).  A connection
 * that sends one request and closes then costs 9 segments instead of
 * 10, and the saved ACK is processed on the client's CPU.  A peer that
 * sends one message in two writes with Nagle on may see its first
 * message delayed by the kernel's delayed-ACK timer (40 ms); Linux does
 * the same anyway after the first exchange of any interactive connection.
 *
 * The buffer sizes and reuseport are set here too, not only at bind: a
 * socket kept across a reload must take the new generation's values
 * (accepted sockets inherit the listener's buffers).  A size of 0 means
 * the kernel default, which a socket once sized cannot return to, and
 * reuseport is only ever turned on here (see master_reload_warn).
 */
static int
listen_tune(int fd, const struct config *cf, int reuseport, char *err,
    size_t errlen, const struct net_addr *a)
{
	char as[NET_ADDRSTRLEN];
	int on, off = 0;

	on = cf->tcp.rcvbuf;
	if (on > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &on,
	    sizeof(on)) == -1)
		goto fail;
	on = cf->tcp.sndbuf;
	if (on > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &on,
	    sizeof(on)) == -1)
		goto fail;
	on = 1;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1)
		goto fail;
	on = cf->tcp.nodelay;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		goto fail;
	on = cf->tcp.keepalive;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == -1)
		goto fail;
	if (setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof(off)) == -1)
		goto fail;
	/* listen() again is how Linux changes the backlog of a socket. */
	if (listen(fd, cf->tcp.backlog) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "setsockopt %s: %s", net_format(
	    (const struct sockaddr *)&a->ss, as, sizeof(as)), strerror(errno));
	return -1;
}

/*
 * A new listening socket on a with cf's options, tuned; reuseport is
 * cf's for the shared sockets, forced on for a worker's own.  -1 and err
 * naming the address and the reason if it cannot be had.
 */
int
listen_bind(const struct config *cf, const struct net_addr *a,
    int reuseport, char *err, size_t errlen)
{
	struct net_listen_opts o = { cf->tcp.backlog, reuseport,
	    cf->tcp.rcvbuf, cf->tcp.sndbuf };
	int fd;

	if ((fd = net_listen(a, &o, err, errlen)) == -1)
		return -1;
	if (listen_tune(fd, cf, reuseport, err, errlen, a) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Is a the wildcard address (0.0.0.0 or ::) of its family? */
static int
listen_is_wildcard(const struct net_addr *a)
{
	const struct sockaddr_in *a4 = (const void *)&a->ss;
	const struct sockaddr_in6 *a6 = (const void *)&a->ss;

	if (a->ss.ss_family == AF_INET)
		return a4->sin_addr.s_addr == htonl(INADDR_ANY);
	return a->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
}

/*
 * The bind of a failed with EADDRINUSE: if a socket of old holds the
 * same port with a wildcard on one side, that is why.  The old socket
 * stays bound until the new generation serves, so this change cannot be
 * a reload; say so after the bind error already in err.
 */
static void
listen_explain_in_use(const struct listen_set *old, const struct net_addr *a,
    char *err, size_t errlen)
{
	const struct net_addr *o;
	char as[NET_ADDRSTRLEN];
	size_t len = strlen(err);
	int i;

	for (i = 0; old != NULL && i < old->n; i++) {
		o = &old->addr[i];
		if (o->ss.ss_family != a->ss.ss_family ||
		    net_port_of((const struct sockaddr *)&o->ss) !=
		    net_port_of((const struct sockaddr *)&a->ss) ||
		    (!listen_is_wildcard(o) && !listen_is_wildcard(a)))
			continue;
		snprintf(err + len, errlen - len, ": still bound by the "
		    "current %s listener; changing between a wildcard and a "
		    "specific address of the same port needs a restart",
		    net_format((const struct sockaddr *)&o->ss, as,
		    sizeof(as)));
		return;
	}
}

/* Can sockets of our own join fd's port (SO_REUSEPORT set on it)? */
int
listen_reuseport(int fd)
{
	socklen_t len = sizeof(int);
	int on = 0;

	return getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) == 0 &&
	    on;
}

/* The uid the workers run as: the one a socket must have to be joined. */
static uid_t
listen_worker_uid(const struct config *cf)
{
	struct passwd *pw;

	if (geteuid() == 0 && cf->user[0] != '\0' &&
	    (pw = getpwnam(cf->user)) != NULL)
		return pw->pw_uid;
	return geteuid();
}

/*
 * May tcp.reuseport apply to a kept or passed socket?  The kernel keeps
 * a port's reuseport group to sockets of one user, so a socket systemd
 * bound as root cannot be joined by workers running as ekko: then they
 * share it, and the master says so once.  A socket of the workers' own
 * user gets SO_REUSEPORT (a reload may turn it on).
 */
static int
listen_reuseport_ok(const struct config *cf, int fd, const struct net_addr *a)
{
	char as[NET_ADDRSTRLEN];
	struct stat st;
	uid_t uid;

	if (!cf->tcp.reuseport)
		return 0;
	uid = listen_worker_uid(cf);
	if (fstat(fd, &st) == 0 && st.st_uid == uid)
		return 1;
	log_warnx("tcp.reuseport: %s was bound by uid %u (passed by systemd?), "
	    "the workers run as uid %u, and a port's reuseport group is one "
	    "user's: the workers share it", net_format((const struct sockaddr *)
	    &a->ss, as, sizeof(as)), (unsigned)st.st_uid, (unsigned)uid);
	return 0;
}

/*
 * Give every listener of cf a socket: kept from old when the address is
 * the same (and tuned to cf), else newly bound.  On failure nothing newly
 * bound is left open and err names the address and the reason.
 */
int
listen_open(struct config *cf, const struct listen_set *old,
    struct listen_set *set, char *err, size_t errlen)
{
	struct listener_conf *l;
	size_t i;
	int fd;

	set->n = 0;
	for (i = 0; i < cf->nlisteners; i++) {
		l = &cf->listeners[i];
		if ((fd = listen_find(old, &l->addr)) == -1) {
			fd = listen_bind(cf, &l->addr, cf->tcp.reuseport, err,
			    errlen);
			if (fd == -1 && errno == EADDRINUSE)
				listen_explain_in_use(old, &l->addr, err,
				    errlen);
		} else if (listen_tune(fd, cf, listen_reuseport_ok(cf, fd,
		    &l->addr), err, errlen, &l->addr) == -1)
			fd = -1;
		if (fd == -1)
			goto fail;
		set->addr[set->n] = l->addr;
		set->fd[set->n++] = fd;
		l->fd = fd;
	}
	return 0;
fail:
	listen_close_unused(set, old);
	set->n = 0;
	return -1;
}

/*
 * Tune every socket of set to cf again: a rolled-back reload gives the
 * sockets it kept back the serving generation's options.  Best effort.
 */
void
listen_retune(const struct config *cf, const struct listen_set *set)
{
	char err[256];
	int i;

	for (i = 0; i < set->n; i++)
		if (listen_tune(set->fd[i], cf, cf->tcp.reuseport &&
		    listen_reuseport(set->fd[i]), err, sizeof(err),
		    &set->addr[i]) == -1)
			log_warnx("%s", err);
}

/* Close the sockets of from that are not in keep. */
void
listen_close_unused(const struct listen_set *from,
    const struct listen_set *keep)
{
	int i;

	for (i = 0; i < from->n; i++)
		if (listen_find(keep, &from->addr[i]) != from->fd[i])
			close(from->fd[i]);
}

/* Close every socket of the set. */
void
listen_close_all(struct listen_set *set)
{
	int i;

	for (i = 0; i < set->n; i++)
		close(set->fd[i]);
	set->n = 0;
}

/*
 * Sockets passed by systemd socket activation: LISTEN_PID names us and
 * LISTEN_FDS counts descriptors from 3.  Each is recorded by its bound
 * address, so listen_open() adopts it for the listener of that address.
 */
int
listen_adopt_systemd(struct listen_set *set)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long p, n, i;
	struct net_addr a;

	set->n = 0;
	if (pid == NULL || fds == NULL ||
	    util_parse_long(pid, 1, 1L << 22, &p) == -1 || p != getpid() ||
	    util_parse_long(fds, 0, MAX_LISTENERS, &n) == -1)
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < n; i++) {
		int fd = 3 + (int)i;

		a.len = sizeof(a.ss);
		if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == -1 ||
		    (a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6)) {
			log_warnx("systemd passed fd %d that is not an IP "
			    "socket; ignored", fd);
			continue;
		}
		net_set_nonblock(fd, 1);
		set->addr[set->n] = a;
		set->fd[set->n++] = fd;
	}
	return set->n;
}
