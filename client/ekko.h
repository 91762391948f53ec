/*
 * ekko.h -- the ekko client: ping, echo, stats, info, bench and raw
 * against ekkod.  One internal header; prototypes grouped by file.
 */
#ifndef EKKO_H
#define EKKO_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "ev.h"
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

/* bench: what is driven, and how. */
enum load_mode {
	LOAD_EKKO,		/* the ekko protocol, ECHO op */
	LOAD_PING,		/* the ekko protocol, PING op */
	LOAD_RAW,		/* an echo port, raw framing */
	LOAD_LINE,		/* an echo port, line framing */
	LOAD_FIXED,		/* an echo port, fixed framing */
	LOAD_LENGTH		/* an echo port, length framing */
};

enum load_error {
	LOAD_ERR_CONNECT,	/* connection attempts that failed */
	LOAD_ERR_RESET,		/* connections reset (ECONNRESET, EPIPE) */
	LOAD_ERR_TIMEOUT,	/* connections left without a reply for -t */
	LOAD_ERR_CLOSED,	/* connections the server closed early */
	LOAD_ERR_MISMATCH,	/* replies that differ from what was sent */
	LOAD_ERR_SERVER,	/* ekko error replies (op 0xFF) */
	LOAD_NERRORS
};

#define HIST_SUB_BITS	7	/* 128 steps per power of two: < 1% error */
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_MAX_BITS	40	/* up to 2^40 ns, about 18 minutes */
#define HIST_BUCKETS	((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

/* A log-linear latency histogram of fixed size, in nanoseconds. */
struct hist {
	uint64_t	 count;
	uint64_t	 min;
	uint64_t	 max;
	double		 sum;
	uint64_t	 buckets[HIST_BUCKETS];
};

struct load_conf {
	const struct target	*t;
	enum load_mode		 mode;
	long			 conns;
	long			 pipeline;
	long			 size;
	uint64_t		 requests;	/* total, when duration is 0 */
	uint64_t		 duration_ns;	/* 0: run for requests */
	double			 rate;		/* requests/s; 0: closed loop */
};

struct load_result {
	uint64_t	 requests;	/* verified replies */
	uint64_t	 ns;		/* from the start to the last reply */
	uint64_t	 errors[LOAD_NERRORS];
	char		 first_error[160];
	char		 server_error[160];
	struct hist	 hist;
};

/* bench internals, shared by load.c (the loop) and wire.c (the bytes) */
#define LOAD_IO		(256 * 1024)	/* one read or one write, at most */

enum lstate {
	LC_DEAD,		/* given up */
	LC_RETRY,		/* lost; reconnect after this batch of events */
	LC_CONNECTING,
	LC_UP
};

/* A request or reply on the wire: header, body, trailer. */
struct shape {
	uint8_t		 hdr[8];
	size_t		 hdrlen;
	const uint8_t	*body;		/* NULL: the pattern slice for seq */
	size_t		 bodylen;
	uint8_t		 trl[1];
	size_t		 trllen;
	size_t		 len;
};

/* One connection of the load. */
struct lconn {
	int		 fd;
	enum lstate	 state;
	uint32_t	 events;	/* registered with epoll */
	long		 id;
	uint64_t	 issued;	/* requests handed to this connection */
	uint64_t	 sent;		/* of those, written whole */
	uint64_t	 done;		/* of those, answered */
	size_t		 soff;		/* bytes of request `sent` written */
	size_t		 roff;		/* bytes of reply `done` read */
	uint64_t	 skip;		/* bytes of an error reply to pass */
	uint64_t	 due;		/* open loop: requests scheduled */
	uint64_t	 next;		/* open loop: of those, taken */
	uint64_t	 last;		/* progress, or connect start (ns) */
	uint64_t	 ok;		/* replies verified since connecting */
	int		 broken;	/* a send failed: read what is left */
	uint8_t		 rhdr[8];	/* the reply header, as it arrives */
	uint64_t	*ts;		/* [pipeline]: when each was due */
};

/* The whole run: an explicit context, no globals. */
struct load {
	const struct load_conf	*cf;
	struct load_result	*res;
	struct ev		 ev;
	struct lconn		*conns;
	uint64_t		*ring;
	long			*retry;
	long			 nretry;
	struct shape		 req;
	struct shape		 rep;
	uint8_t			*pat;
	uint8_t			*io;
	int			 tfd;		/* open loop clock */
	uint64_t		 armed;		/* when it is set to ring */
	int			 started;
	int			 stopping;	/* issue nothing more */
	int			 abort;		/* and do not wait either */
	uint64_t		 start;
	uint64_t		 deadline;	/* 0: none */
	uint64_t		 last_tick;
	uint64_t		 last_done;
	uint64_t		 budget;	/* closed loop: left to issue */
	uint64_t		 g;		/* open loop: scheduled */
	uint64_t		 gmax;
	uint64_t		 backlog;	/* open loop: due, not issued */
	uint64_t		 outstanding;	/* issued, not answered */
	long			 alive;		/* connections not dead */
	long			 connecting;
	struct lconn		*capture;	/* reading an error text */
	size_t			 caplen;
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

/* bench.c */
int		 bench_main(struct target *, int, char **);

/* load.c */
int		 load_run(const struct load_conf *, struct load_result *);
const char	*load_mode_name(enum load_mode);
int		 load_mode_parse(const char *, enum load_mode *);
void		 load_note(struct load *, const char *, ...) EKKO_PRINTF(2, 3);

/* wire.c */
int		 wire_shapes(struct load *);
size_t		 wire_pack(struct load *, const struct lconn *);
int		 wire_input(struct load *, struct lconn *, const uint8_t *,
		    size_t, uint64_t);

/* hist.c */
void		 hist_init(struct hist *);
void		 hist_add(struct hist *, uint64_t);
uint64_t	 hist_quantile(const struct hist *, double);
double		 hist_mean(const struct hist *);

#endif
