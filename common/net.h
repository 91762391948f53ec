/*
 * net.h -- sockets: numeric addresses, listen, connect, formatting.
 *
 * Shared by ekkod and ekko.  Nothing here logs or exits: failures return
 * -1 with errno set, and err (when given) names the call and the object,
 * as in "bind 0.0.0.0:8888: Address already in use".
 */
#ifndef EKKO_NET_H
#define EKKO_NET_H

#include <sys/socket.h>
#include <stddef.h>

#define NET_ADDRSTRLEN	64	/* "[v6 address]:port" and a NUL */

struct net_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

struct net_listen_opts {
	int	 backlog;
	int	 reuseport;
	int	 rcvbuf;	/* 0 = kernel default */
	int	 sndbuf;
};

int		 net_parse_addr(const char *, int, struct net_addr *);
const char	*net_format(const struct sockaddr *, char *, size_t);
int		 net_port_of(const struct sockaddr *);
int		 net_same_addr(const struct net_addr *, const struct net_addr *);
int		 net_listen(const struct net_addr *, const struct net_listen_opts *,
		    char *, size_t);
int		 net_connect(const struct net_addr *, int, char *, size_t);
int		 net_set_nonblock(int, int);
int		 net_wait(int, short, int);

#endif
