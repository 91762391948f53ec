/*
 * load.h -- the load engine behind ekko bench: what it is asked to do,
 * what it found, and its state.  bench.c drives it through load_run;
 * wire.c has the bytes, hist.c the latencies.
 */
#ifndef EKKO_LOAD_H
#define EKKO_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "hist.h"
#include "wire.h"

struct target;

enum load_error {
	LOAD_ERR_CONNECT,	/* connection attempts that failed */
	LOAD_ERR_RESET,		/* connections reset (ECONNRESET, EPIPE) */
	LOAD_ERR_TIMEOUT,	/* connections left without a reply for -t */
	LOAD_ERR_CLOSED,	/* connections the server closed early */
	LOAD_ERR_MISMATCH,	/* replies that differ from what was sent */
	LOAD_ERR_SERVER,	/* ekko error replies (op 0xFF) */
	LOAD_NERRORS
};

struct load_conf {
	const struct target	*t;
	enum wire_mode		 mode;
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

#define LOAD_IO		(256 * 1024)	/* one read or one write, at most */

enum lstate {
	LC_DEAD,		/* given up */
	LC_RETRY,		/* lost; reconnect after this batch of events */
	LC_CONNECTING,
	LC_UP
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
	struct wire_rx	 rx;		/* how far reply `done` is read */
	uint64_t	 due;		/* open loop: requests scheduled */
	uint64_t	 next;		/* open loop: of those, taken */
	uint64_t	 last;		/* progress, or connect start (ns) */
	uint64_t	 ok;		/* replies verified since connecting */
	int		 broken;	/* a send failed: read what is left */
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
	struct wire		 wire;
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

/* load.c */
int		 load_run(const struct load_conf *, struct load_result *);

#endif
