/*
 * connproxy.c -- a connection's PROXY protocol header (SPEC section 10).
 *
 * Until the header is whole nothing reaches the framer; then its client
 * is admitted as if it had connected itself (access lists, per-IP,
 * admin_allow), and the bytes after the header are served as its first.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "proxy.h"

/* The header was bad or cut short: count it, say so, close. */
static void
connproxy_fail(struct worker *w, struct conn *c, const char *why)
{
	sb_count(&w->slot->errors[ERR_PROXY], 1);
	log_limited(&w->log_conn, "connection on port %d: PROXY header %s; "
	    "closing", c->l->port, why);
	c->flags |= CONN_DEAD;
}

/*
 * Read into c's partial header (in c->in), or into the scratch buffer
 * when there is none; *p and *len get all the bytes so far.
 */
static ssize_t
connproxy_read(struct worker *w, struct conn *c, uint8_t **p,
    size_t *len)
{
	ssize_t n;
	int r;

	if (c->in.len == 0) {
		n = read(c->fd, w->scratch, w->scratch_size);
		*p = w->scratch;
		*len = n > 0 ? (size_t)n : 0;
		return n;
	}
	/* no further than a header can reach: the rest waits in the socket */
	if ((r = connbuf_reserve(w, &c->in, PROXY_MAX - c->in.len,
	    PROXY_MAX)) < 0) {
		conn_nomem(w, c, r);
		return -2;
	}
	n = read(c->fd, buf_tail(&c->in), PROXY_MAX - c->in.len);
	if (n > 0)
		c->in.len += (size_t)n;
	*p = buf_head(&c->in);
	*len = c->in.len;
	return n;
}

/*
 * Readable before the PROXY header is complete.  Nothing reaches the
 * framer before it; once it is, its client is admitted (the access
 * lists, per-IP, admin_allow apply to it) and the bytes after it are
 * the client's first, served at once.
 */
void
connproxy_readable(struct worker *w, struct conn *c)
{
	struct proxy_hdr h;
	uint8_t *p;
	size_t len, used;
	ssize_t n;
	int r;

	if ((n = connproxy_read(w, c, &p, &len)) <= 0) {
		if (n == 0 && c->in.len > 0)
			connproxy_fail(w, c, "cut short");
		else if (n == 0)
			conn_eof(w, c);	/* a probe that sent nothing */
		else if (n == -1 && errno != EAGAIN && errno != EINTR) {
			sb_count(&w->slot->errors[ERR_RESET], 1);
			c->flags |= CONN_DEAD;
		}
		return;
	}
	sb_count(&w->slot->bytes_in, (uint64_t)n);
	conntimer_touch(w, c, TIMER_IDLE);
	if ((r = proxy_parse(c->l->proxy, p, len, &h)) == PROXY_INVALID) {
		connproxy_fail(w, c, len >= PROXY_MAX ? "over 4 KiB" :
		    "invalid");
		return;
	}
	if (r == PROXY_NEED) {
		if (p == w->scratch)
			conn_keep_rest(w, c, p, len);
		return;
	}
	c->flags &= ~CONN_PROXY;
	conntimer_del(w, c, TIMER_FRAME);
	if (h.family != AF_UNSPEC)
		memcpy(c->peer, h.addr, sizeof(c->peer));
	if (worker_admit_client(w, c) == -1) {
		c->flags |= CONN_DEAD;
		return;
	}
	if (p == w->scratch) {
		used = h.len + conn_process(w, c, p + h.len, len - h.len);
		if (used < len)
			conn_keep_rest(w, c, p + used, len - used);
	} else {
		buf_consume(&c->in, h.len);
		conn_input_buffered(w, c);
		if (c->in.len == 0)
			connbuf_release(w, &c->in);
	}
	conn_after_input(w, c, 1);
}
