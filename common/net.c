/*
 * net.c -- sockets without a resolver: every address is numeric.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

/* Parse a numeric IPv4 or IPv6 address and a port; -1 if not numeric. */
int
net_parse_addr(const char *host, int port, struct net_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
	char buf[NET_ADDRSTRLEN];
	size_t n = strlen(host);

	memset(a, 0, sizeof(*a));
	if (port < 0 || port > 65535)
		return -1;
	/* Accept "[::1]" as well as "::1". */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' &&
	    n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		a->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* "1.2.3.4:80" or "[::1]:80", into buf; returns buf. */
const char *
net_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
	return buf;
}

/* The port of an IP socket address, host order. */
int
net_port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)
		    ->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_port);
	return -1;
}

/* Same family, address and port? */
int
net_same_addr(const struct net_addr *a, const struct net_addr *b)
{
	const struct sockaddr_in *a4 = (const void *)&a->ss;
	const struct sockaddr_in *b4 = (const void *)&b->ss;
	const struct sockaddr_in6 *a6 = (const void *)&a->ss;
	const struct sockaddr_in6 *b6 = (const void *)&b->ss;

	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss.ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return 0;
}

/* Turn O_NONBLOCK on or off. */
int
net_set_nonblock(int fd, int on)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

/* Fill err with "call addr: reason" and return -1, errno kept. */
static int
net_fail(const char *call, const struct net_addr *a, char *err, size_t len)
{
	char as[NET_ADDRSTRLEN];
	int saved = errno;

	if (err != NULL)
		snprintf(err, len, "%s %s: %s", call,
		    net_format((const struct sockaddr *)&a->ss, as, sizeof(as)),
		    strerror(saved));
	errno = saved;
	return -1;
}

/* Apply the options that must be set before bind. */
static int
net_listen_sockopts(int fd, const struct net_addr *a,
    const struct net_listen_opts *o)
{
	int on = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		return -1;
	if (o->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1)
		return -1;
	/* "::" means IPv6 only; 0.0.0.0 is a listener of its own. */
	if (a->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		return -1;
	if (o->rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf,
	    sizeof(o->rcvbuf)) == -1)
		return -1;
	if (o->sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf,
	    sizeof(o->sndbuf)) == -1)
		return -1;
	return 0;
}

/*
 * A non-blocking, close-on-exec listening socket bound to a.  On failure
 * err reads like "bind 0.0.0.0:8888: Address already in use".
 */
int
net_listen(const struct net_addr *a, const struct net_listen_opts *o,
    char *err, size_t errlen)
{
	int fd, saved;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return net_fail("socket", a, err, errlen);
	if (net_listen_sockopts(fd, a, o) == -1) {
		net_fail("setsockopt", a, err, errlen);
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		net_fail("bind", a, err, errlen);
		goto fail;
	}
	if (listen(fd, o->backlog) == -1) {
		net_fail("listen", a, err, errlen);
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* poll one fd for events within timeout_ms; 1 ready, 0 timed out, -1. */
int
net_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n == -1 && errno == EINTR);
	return n;
}

/*
 * Connect within timeout_ms and return a blocking socket with
 * TCP_NODELAY.  On failure err reads "connect 127.0.0.1:8889: reason".
 */
int
net_connect(const struct net_addr *a, int timeout_ms, char *err,
    size_t errlen)
{
	int fd, n, soerr = 0, on = 1;
	socklen_t sl = sizeof(soerr);

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return net_fail("socket", a, err, errlen);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		if ((n = net_wait(fd, POLLOUT, timeout_ms)) <= 0) {
			if (n == 0)
				errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			goto fail;
		if (soerr != 0) {
			errno = soerr;
			goto fail;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	net_set_nonblock(fd, 0);
	return fd;
fail:
	net_fail("connect", a, err, errlen);
	n = errno;
	close(fd);
	errno = n;
	return -1;
}
