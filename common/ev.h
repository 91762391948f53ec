/*
 * ev.h -- a thin epoll event loop.  The loop is an explicit struct passed
 * to every call, with no globals, so ekkod's workers and ekko bench share
 * it.
 */
#ifndef EKKO_EV_H
#define EKKO_EV_H

#include <sys/epoll.h>
#include <stdint.h>

struct ev {
	int			 epfd;
	int			 max;
	struct epoll_event	*events;
};

int	 ev_init(struct ev *, int);
void	 ev_close(struct ev *);
int	 ev_add(struct ev *, int, uint32_t, void *);
int	 ev_mod(struct ev *, int, uint32_t, void *);
int	 ev_del(struct ev *, int);
int	 ev_wait(struct ev *, int);

#endif
