/*
 * ekko.h -- the ekko client: ping, echo, stats, info, bench and raw
 * against ekkod.  One internal header; prototypes grouped by file.
 * The load engine behind bench has its own: load.h (with wire.h and
 * hist.h for its layers).
 */
#ifndef EKKO_H
#define EKKO_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "net.h"

#define EKKO_PORT_COMMAND	8889	/* the binary command listener */
#define EKKO_PORT_ECHO		8888	/* the RFC 862 echo listener */
#define EKKO_TIMEOUT_MS		5000

/* Exit codes, SPEC section 8. */
#define EKKO_OK		0	/* success */
#define EKKO_REPLY	1	/* the server answered with an error */
#define EKKO_USAGE	2	/* bad command line */
#define EKKO_NET	3	/* cannot connect, timed out, or cut off */

#define EKKO_PRINTF(f, a)	__attribute__((format(printf, f, a)))

/* Where a command goes, and how long it may wait there. */
struct target {
	const char	*host;
	int		 port;
	int		 port_given;	/* -p given: keep it */
	int		 timeout_ms;
	struct net_addr	 addr;
	char		 name[NET_ADDRSTRLEN];	/* "127.0.0.1:8889" */
};

/* A blocking connection to the command port. */
struct session {
	const struct target	*t;
	int			 fd;
	int			 error;	/* errno of a SESSION_ERROR */
	struct buf		 in;
	size_t			 used;	/* bytes of the last reply */
};

/* One binary reply; data points into the session's input buffer. */
struct reply {
	int		 op;
	const uint8_t	*data;
	size_t		 len;
};

enum session_status {
	SESSION_OK,
	SESSION_TIMEOUT,	/* no reply within the timeout */
	SESSION_CLOSED,		/* the server closed the connection */
	SESSION_ERROR,		/* a socket error; errno says which */
	SESSION_INTR,		/* interrupted by SIGINT */
	SESSION_BAD		/* the reply is not an ekko frame */
};

/* main.c */
extern volatile sig_atomic_t	 ekko_interrupted;
void		 ekko_warn(const struct target *, const char *, ...)
		    EKKO_PRINTF(2, 3);
int		 ekko_usage(const char *, FILE *);
void		 ekko_catch_interrupt(void);
int		 ekko_retarget(struct target *, int);
const char	*ekko_seconds(int, char *, size_t);
int		 ekko_getopt(int, char **, const char *,
		    const struct option *);

/* session.c */
int		 session_open(struct session *, const struct target *);
int		 session_send(struct session *, int, const void *, size_t);
int		 session_recv(struct session *, struct reply *, int);
int		 session_idle_closed(struct session *);
int		 session_fail(const struct session *, int);
int		 session_server_error(const struct target *,
		    const struct reply *);
int		 session_call(struct session *, int, const void *, size_t,
		    struct reply *);
void		 session_close(struct session *);
int		 session_read_stdin(struct buf *, size_t, int *);

/* ping.c */
int		 ping_main(struct target *, int, char **);

/* echo.c */
int		 echo_main(struct target *, int, char **);

/* stats.c */
int		 stats_main(struct target *, int, char **);
int		 stats_info_main(struct target *, int, char **);

/* raw.c */
int		 raw_main(struct target *, int, char **);

/* top.c */
int		 top_main(struct target *, int, char **);
/* drain.c */
int		 drain_main(struct target *, int, char **);
int		 drain_undrain_main(struct target *, int, char **);

/* bench.c */
int		 bench_main(struct target *, int, char **);

#endif
