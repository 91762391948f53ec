/*
 * refecho.c -- the limit reference for make bench: the smallest correct
 * epoll echo server.  Level-triggered; per readiness event one read into a
 * static buffer (64 KiB, -b) and one write of what was read; a short write
 * keeps the rest and waits for EPOLLOUT with reading paused.  Workers are
 * forked and share one listening socket, woken one at a time
 * (EPOLLEXCLUSIVE).
 *
 *	refecho [-a address] [-p port] [-w workers] [-b bufsize]
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFMAX	(1024 * 1024)
#define MAXEV	256

struct pend {
	char	*buf;		/* bytes read but not yet written back */
	size_t	 len;
	size_t	 off;
};

static char		 iobuf[BUFMAX];
static size_t		 bufsz = 65536;	/* bytes per read */
static struct pend	*pend;		/* indexed by fd */
static int		 npend;

/* Close a connection and forget what it still owed. */
static void
conn_close(int fd)
{
	if (fd < npend) {
		free(pend[fd].buf);
		pend[fd].buf = NULL;
		pend[fd].len = pend[fd].off = 0;
	}
	close(fd);
}

/* Keep the unwritten tail of a reply and wait until the socket drains. */
static int
conn_defer(int ep, int fd, const char *p, size_t n)
{
	struct epoll_event ev;

	if (fd >= npend)
		return -1;
	if ((pend[fd].buf = malloc(n)) == NULL)
		return -1;
	memcpy(pend[fd].buf, p, n);
	pend[fd].len = n;
	pend[fd].off = 0;
	ev.events = EPOLLOUT;
	ev.data.fd = fd;
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Write what is owed; once drained, go back to reading. */
static void
conn_flush(int ep, int fd)
{
	struct epoll_event ev;
	struct pend *p = &pend[fd];
	ssize_t n;

	n = write(fd, p->buf + p->off, p->len - p->off);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(fd);
		return;
	}
	p->off += n;
	if (p->off < p->len)
		return;
	free(p->buf);
	p->buf = NULL;
	p->len = p->off = 0;
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == -1)
		conn_close(fd);
}

/* One read, then one write of what was read. */
static void
conn_echo(int ep, int fd)
{
	ssize_t n, w;

	n = read(fd, iobuf, bufsz);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(fd);
		return;
	}
	w = write(fd, iobuf, n);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			conn_close(fd);
			return;
		}
		w = 0;
	}
	if (w < n && conn_defer(ep, fd, iobuf + w, n - w) == -1)
		conn_close(fd);
}

/* Take the pending connections this wake-up allows. */
static void
conn_accept(int ep, int lfd)
{
	struct epoll_event ev;
	int fd, i, one = 1;

	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			close(fd);
	}
}

/* A worker's event loop; never returns. */
static void __attribute__((noreturn))
worker(int lfd)
{
	struct epoll_event ev, evs[MAXEV];
	int ep, i, n, fd;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	npend = sysconf(_SC_OPEN_MAX);
	if ((pend = calloc(npend, sizeof(*pend))) == NULL)
		err(1, "calloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		err(1, "epoll_ctl");
	for (;;) {
		n = epoll_wait(ep, evs, MAXEV, -1);
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd)
				conn_accept(ep, lfd);
			else if (pend[fd].buf != NULL)
				conn_flush(ep, fd);
			else
				conn_echo(ep, fd);
		}
	}
}

/* Bind the shared listening socket, fork the workers, wait for them. */
int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	const char *addr = "127.0.0.1";
	int c, i, lfd, port = 7000, workers = 1, one = 1;

	while ((c = getopt(argc, argv, "a:b:p:w:")) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'b':
			bufsz = strtoul(optarg, NULL, 10);
			if (bufsz < 1 || bufsz > BUFMAX)
				errx(2, "buffer size 1..%d", BUFMAX);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'w':
			workers = atoi(optarg);
			break;
		default:
			errx(2, "usage: refecho [-a addr] [-p port] "
			    "[-w workers] [-b bufsize]");
		}
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		errx(2, "bad address %s", addr);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		err(1, "socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind %s:%d", addr, port);
	if (listen(lfd, 511) == -1)
		err(1, "listen");
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < workers; i++) {
		switch (fork()) {
		case -1:
			err(1, "fork");
		case 0:
			worker(lfd);
		}
	}
	close(lfd);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
