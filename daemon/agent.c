/*
 * agent.c -- mode = "agent": haproxy's agent-check (SPEC section 10).
 *
 * Each connection gets one line at accept and is closed: "up ready N%"
 * (N the free share of limits.max_connections, so that haproxy weighs
 * a busy instance down), "drain" in lame duck, "down" while stopping.
 * Nothing is waited for: what the balancer sent by then (agent-send) is
 * read and dropped, so that the close is a FIN and not a reset.
 */
#include <sys/socket.h>
#include <stdio.h>
#include <unistd.h>

#include "ekkod.h"

#define AGENT_DRAIN_READS	4	/* reads of what the balancer sent */

/* The agent's answer to a check now, with its newline. */
size_t
agent_line(char *buf, size_t len, long max_connections)
{
	uint64_t active = scoreboard_conns_active();
	long freepct;
	int n;

	switch (lameduck_get()) {
	case LD_SERVING:
		/*
		 * Rounded up: haproxy scales the server's weight by it and
		 * truncates, so 99% of the default weight 1 would be 0, a
		 * drain.  0% likewise would stop it sending: drain's job.
		 */
		freepct = active >= (uint64_t)max_connections ? 0 :
		    (long)((((uint64_t)max_connections - active) * 100 +
		    (uint64_t)max_connections - 1) /
		    (uint64_t)max_connections);
		n = snprintf(buf, len, "up ready %ld%%\n",
		    freepct < 1 ? 1 : freepct);
		break;
	case LD_DRAINING:
	case LD_QUITTING:
		n = snprintf(buf, len, "drain\n");
		break;
	default:
		n = snprintf(buf, len, "down\n");
		break;
	}
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* Answer an accepted agent connection and close it. */
void
agent_answer(struct worker *w, int fd)
{
	char line[32], sink[512];
	ssize_t r;
	size_t n;
	int i;

	n = agent_line(line, sizeof(line), w->cf->limits.max_connections);
	sb_count(&w->slot->accepted, 1);
	if ((r = send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT)) > 0)
		sb_count(&w->slot->bytes_out, (uint64_t)r);
	shutdown(fd, SHUT_WR);
	for (i = 0; i < AGENT_DRAIN_READS; i++) {
		if ((r = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) <= 0)
			break;
		sb_count(&w->slot->bytes_in, (uint64_t)r);
	}
	close(fd);
}
