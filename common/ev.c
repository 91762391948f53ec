/*
 * ev.c -- epoll, wrapped just enough to pass a context pointer.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ev.h"

/* Create the epoll instance and room for max events per wait. */
int
ev_init(struct ev *ev, int max)
{
	ev->max = max;
	if ((ev->events = calloc((size_t)max, sizeof(*ev->events))) == NULL)
		return -1;
	if ((ev->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(ev->events);
		ev->events = NULL;
		return -1;
	}
	return 0;
}

/* Release the instance. */
void
ev_close(struct ev *ev)
{
	if (ev->epfd != -1)
		close(ev->epfd);
	free(ev->events);
	ev->events = NULL;
	ev->epfd = -1;
}

/* Watch fd for events, handing ptr back with each. */
int
ev_add(struct ev *ev, int fd, uint32_t events, void *ptr)
{
	struct epoll_event e = { .events = events, .data.ptr = ptr };

	return epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e);
}

/* Change what fd is watched for. */
int
ev_mod(struct ev *ev, int fd, uint32_t events, void *ptr)
{
	struct epoll_event e = { .events = events, .data.ptr = ptr };

	return epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &e);
}

/* Stop watching fd. */
int
ev_del(struct ev *ev, int fd)
{
	return epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Wait up to timeout_ms; the number of ready events, 0 on EINTR. */
int
ev_wait(struct ev *ev, int timeout_ms)
{
	int n;

	n = epoll_wait(ev->epfd, ev->events, ev->max, timeout_ms);
	if (n == -1 && errno == EINTR)
		return 0;
	return n;
}
