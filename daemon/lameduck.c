/*
 * lameduck.c -- the daemon's lame duck state: still serving, but
 * telling load balancers to send no more (SPEC section 10).
 *
 * One word in the shared scoreboard, so every worker sees it at once
 * and no message needs to travel: the agent listener, the text PING and
 * STATS read it.  The master writes it for signals and stops; a DRAIN
 * request in a worker changes it itself, with a compare-and-swap, so
 * the reply can say the state that holds and an "off" can never undo a
 * stop that began meanwhile.
 */
#include <stdatomic.h>

#include "ekkod.h"

/* The state now (enum lameduck). */
int
lameduck_get(void)
{
	return atomic_load_explicit(&sb->lameduck, memory_order_relaxed);
}

/* Are balancers being told to send no more? */
int
lameduck_draining(void)
{
	return lameduck_get() != LD_SERVING;
}

/* Enter lame duck; 1 if this call changed the state, 0 if it was. */
int
lameduck_enter(void)
{
	int from = LD_SERVING;

	return atomic_compare_exchange_strong(&sb->lameduck, &from,
	    LD_DRAINING);
}

/*
 * Leave lame duck: 1 if this call changed the state, 0 if serving
 * already, -1 if a stop holds it (undrain is refused then).
 */
int
lameduck_leave(void)
{
	int from = LD_DRAINING;

	if (atomic_compare_exchange_strong(&sb->lameduck, &from, LD_SERVING))
		return 1;
	return from == LD_SERVING ? 0 : -1;
}

/* A stop: the lame duck of drain_delay, or down (the master only). */
void
lameduck_stop(int state)
{
	atomic_store(&sb->lameduck, state);
}

/* "serving" or "draining", as the DRAIN reply and logs say it. */
const char *
lameduck_word(void)
{
	return lameduck_draining() ? "draining" : "serving";
}
