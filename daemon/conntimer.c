/*
 * conntimer.c -- a connection's timers: idle, frame and write timeouts,
 * and how long an emptied large input buffer is kept.
 *
 * Each is a list ordered by time, because every entry on a list has the
 * same timeout: a touched connection goes to the tail, the head is the
 * first to expire.  Adding, touching and expiring are O(1), whatever the
 * number of connections; conn_expire walks the heads.
 */
#include "ekkod.h"

/* Milliseconds allowed on list k; 0 = no timeout. */
uint64_t
conntimer_ms(struct worker *w, int k)
{
	const struct limits_conf *lim = &w->cf->limits;

	switch (k) {
	case TIMER_IDLE:
		return (uint64_t)lim->idle_timeout * 1000;
	case TIMER_FRAME:
		return (uint64_t)lim->frame_timeout * 1000;
	case TIMER_WRITE:
		return (uint64_t)lim->write_timeout * 1000;
	default:
		return BUF_KEEP_MS;
	}
}

/* Take c off list k. */
void
conntimer_del(struct worker *w, struct conn *c, int k)
{
	if (!(c->flags & CONN_INTIMER(k)))
		return;
	if (c->prev[k])
		c->prev[k]->next[k] = c->next[k];
	else
		w->lists.timer_head[k] = c->next[k];
	if (c->next[k])
		c->next[k]->prev[k] = c->prev[k];
	else
		w->lists.timer_tail[k] = c->prev[k];
	c->flags &= ~CONN_INTIMER(k);
}

/* Put c at the tail of list k, stamped now. */
void
conntimer_touch(struct worker *w, struct conn *c, int k)
{
	if (w->lists.timer_tail[k] == c) {
		c->since[k] = w->now;
		return;
	}
	conntimer_del(w, c, k);
	if (conntimer_ms(w, k) == 0)
		return;
	c->since[k] = w->now;
	c->next[k] = NULL;
	c->prev[k] = w->lists.timer_tail[k];
	if (w->lists.timer_tail[k])
		w->lists.timer_tail[k]->next[k] = c;
	else
		w->lists.timer_head[k] = c;
	w->lists.timer_tail[k] = c;
	c->flags |= CONN_INTIMER(k);
}

/* Milliseconds until the first timer fires, capped at max. */
int
conntimer_next(struct worker *w)
{
	uint64_t best = 1000, t, due;
	int k;

	for (k = 0; k < NTIMERS; k++) {
		if (w->lists.timer_head[k] == NULL)
			continue;
		due = w->lists.timer_head[k]->since[k] + conntimer_ms(w, k);
		t = due > w->now ? due - w->now : 0;
		if (t < best)
			best = t;
	}
	return (int)best;
}
