/*
 * service.c -- command mode: the ekko protocol over a connection.
 *
 * Replies are appended to the worker's reply buffer in request order and
 * leave with one write per batch (conn.c).  The buffer grows to its high
 * water mark once and is reused, so a request allocates nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ekkod.h"
#include "proto.h"
#include "util.h"

#define STATS_MAX	(256 * 1024)
#define SERVICE_REF_MIN	1024	/* ECHO payloads sent from the request */

/* Append raw bytes to the reply; on out-of-memory the reply is cut. */
static void
service_put(struct worker *w, const void *p, size_t n)
{
	if (buf_append(&w->reply, p, n) == -1)
		sb_count(&w->slot->errors[ERR_NOMEM], 1);
}

/*
 * Append a binary reply frame, its header written in place: one room
 * check and one copy per reply, the hot path of PING and ECHO.
 */
static void
service_reply(struct worker *w, int op, const void *p, size_t n)
{
	uint8_t *q;

	/* the reply buffer is grown once and kept: the call is rare */
	if (buf_room(&w->reply) < PROTO_HDR + n &&
	    buf_reserve(&w->reply, PROTO_HDR + n) == -1) {
		sb_count(&w->slot->errors[ERR_NOMEM], 1);
		return;
	}
	q = buf_tail(&w->reply);
	proto_put_header(q, op, n);
	if (n > 0)
		memcpy(q + PROTO_HDR, p, n);
	BUF_COPIED(BUF_COPY_IN, PROTO_HDR + n);
	w->reply.len += PROTO_HDR + n;
}

/* Append a line in the listener's own delimiter. */
static void
service_line(struct worker *w, struct conn *c, const void *p, size_t n)
{
	service_put(w, p, n);
	service_put(w, c->l->framer.delim, c->l->framer.delim_len);
}

/* An error: op 0xFF in binary, "ERR message" in text. */
static void
service_error(struct worker *w, struct conn *c, const char *msg)
{
	char line[160];
	int n;

	if (c->l->framer.kind == FRAMING_LENGTH) {
		service_reply(w, PROTO_ERROR, msg, strlen(msg));
		return;
	}
	n = snprintf(line, sizeof(line), "ERR %s", msg);
	service_line(w, c, line, (size_t)n);
}

/* The INFO text: what this server is and how it is set up. */
static size_t
service_info_text(struct worker *w, char *buf, size_t len)
{
	size_t i, off;
	int n;

	n = snprintf(buf, len, "version %s\npid %d\nuptime %llu\n"
	    "upgrades %llu\ngeneration %d\nworkers %d\nconfig %s\n"
	    "listeners %zu\n", EKKO_VERSION, (int)sb->master_pid,
	    (unsigned long long)(util_now_ms() - sb->start_ms) / 1000,
	    (unsigned long long)atomic_load(&sb->upgrades),
	    atomic_load(&sb->generation), atomic_load(&sb->workers_configured),
	    w->cf->path ? w->cf->path : "(built-in defaults)",
	    w->cf->nlisteners);
	off = n < 0 ? 0 : (size_t)n;
	for (i = 0; i < w->cf->nlisteners && off < len; i++) {
		const struct listener_conf *l = &w->cf->listeners[i];
		char as[NET_ADDRSTRLEN];

		n = snprintf(buf + off, len - off, "listener.%zu %s %s %s\n", i,
		    net_format((const struct sockaddr *)&l->addr.ss, as,
		    sizeof(as)), config_mode_name(l->mode),
		    frame_name(l->framer.kind));
		if (n > 0)
			off += (size_t)n;
	}
	return off < len ? off : len;
}

/* STATS or INFO: "key value" lines; in text mode each line, then END. */
static void
service_report(struct worker *w, struct conn *c, int op)
{
	size_t n, at;
	char *text, *nl;

	if (buf_reserve(&w->reply, STATS_MAX + PROTO_HDR) == -1) {
		service_error(w, c, "out of memory");
		return;
	}
	text = (char *)buf_tail(&w->reply) + PROTO_HDR;
	n = op == PROTO_STATS ? scoreboard_format(text, STATS_MAX) :
	    service_info_text(w, text, STATS_MAX);
	if (c->l->framer.kind == FRAMING_LENGTH) {
		proto_put_header(buf_tail(&w->reply), op | PROTO_REPLY, n);
		w->reply.len += PROTO_HDR + n;
		return;
	}
	/* Text: move the lines down over the unused header room. */
	memmove(buf_tail(&w->reply), text, n);
	text = (char *)buf_tail(&w->reply);
	if (c->l->framer.delim_len == 1 && c->l->framer.delim[0] == '\n') {
		w->reply.len += n;
	} else {
		/* Re-terminate each line with the listener's delimiter. */
		char tmp[STATS_MAX];

		memcpy(tmp, text, n);
		for (at = 0; at < n; at = (size_t)(nl - tmp) + 1) {
			if ((nl = memchr(tmp + at, '\n', n - at)) == NULL)
				break;
			service_line(w, c, tmp + at, (size_t)(nl - tmp) - at);
		}
	}
	service_line(w, c, "END", 3);
}

/* A request from outside admin_allow for STATS or INFO. */
static int
service_admin_ok(struct worker *w, struct conn *c)
{
	if (c->flags & CONN_ADMIN)
		return 1;
	sb_count(&w->slot->errors[ERR_FORBIDDEN], 1);
	service_error(w, c, "forbidden");
	return 0;
}

/* Count a protocol error of kind k, and log it at a bounded rate. */
static void
service_bad(struct worker *w, struct conn *c, int k, const char *msg)
{
	sb_count(&w->slot->errors[k], 1);
	log_limited(&w->log_conn, "command port %d: %s", c->l->port, msg);
	service_error(w, c, msg);
}

/*
 * A large text ECHO is answered from the request's own bytes: its
 * payload and the delimiter that follows it are left where they lie, in
 * *ref, for conn.c to send after the replies before it.  Small ones are
 * copied: for a few bytes that is cheaper than one more piece to send.
 * (A binary ECHO never comes here: conn.c turns its op byte and sends
 * the request itself, conn_echo_in_place.)
 */
static int
service_echo_ref(const struct conn *c, const struct proto_req *r,
    struct iovec *ref)
{
	const struct framer *f = &c->l->framer;

	/* no ref for a "\r\n" ending a "\n" line: its reply is built */
	if (ref == NULL || r->arglen < SERVICE_REF_MIN ||
	    f->kind == FRAMING_LENGTH ||
	    memcmp(r->arg + r->arglen, f->delim, f->delim_len) != 0)
		return 0;
	ref->iov_base = (void *)(uintptr_t)r->arg;
	ref->iov_len = r->arglen + f->delim_len;
	return 1;
}

/*
 * A binary request of len bytes that lies in two pieces, its first
 * PROTO_HDR bytes in hdr: when it is a large ECHO, build only its
 * reply's header and return 1, the payload to be sent from where it
 * lies; 0 for any other request (answered by service_handle from a copy
 * in one piece: connring_split_request).
 */
int
service_echo_split(struct worker *w, struct conn *c, const uint8_t *hdr,
    size_t len)
{
	uint8_t rh[PROTO_HDR];

	if (c->l->framer.kind != FRAMING_LENGTH || len < PROTO_HDR ||
	    hdr[FRAME_LENGTH_HDR] != PROTO_ECHO ||
	    len - PROTO_HDR < SERVICE_REF_MIN)
		return 0;
	proto_put_header(rh, PROTO_ECHO | PROTO_REPLY, len - PROTO_HDR);
	service_put(w, rh, sizeof(rh));
	return 1;
}

/*
 * DRAIN: lame duck on (no argument) or off ("off"); the reply is the
 * state that holds after it.  An "off" during a stop is an error: the
 * stop's lame duck lasts until the exit.
 */
static void
service_drain(struct worker *w, struct conn *c, const struct proto_req *r)
{
	const char *word;
	int off = r->arglen == 3 && strncasecmp((const char *)r->arg, "off",
	    3) == 0, changed;

	if (r->arglen > 0 && !off) {
		service_bad(w, c, ERR_UNKNOWN_OP, "DRAIN takes nothing or "
		    "\"off\"");
		return;
	}
	if ((changed = off ? lameduck_leave() : lameduck_enter()) == -1) {
		service_error(w, c, "stopping: lame duck holds until exit");
		return;
	}
	word = lameduck_word();
	if (changed)
		log_info("lame duck: %s (DRAIN%s on port %d)", word,
		    off ? " off" : "", c->l->port);
	if (c->l->framer.kind == FRAMING_LENGTH)
		service_reply(w, PROTO_DRAIN | PROTO_REPLY, word, strlen(word));
	else
		service_line(w, c, word, strlen(word));
}

/* The text PING's answer: balancers' health checks read the state. */
static void
service_pong_text(struct worker *w, struct conn *c)
{
	if (lameduck_draining())
		service_line(w, c, "PONG draining", 13);
	else
		service_line(w, c, "PONG", 4);
}

/* Answer one parsed request; 0 when the connection is to close. */
static int
service_dispatch(struct worker *w, struct conn *c, const struct proto_req *r,
    struct iovec *ref)
{
	int bin = c->l->framer.kind == FRAMING_LENGTH;

	switch (r->op) {
	case PROTO_PING:
		if (bin)
			service_reply(w, PROTO_PING | PROTO_REPLY, "PONG", 4);
		else
			service_pong_text(w, c);
		return 1;
	case PROTO_ECHO:
		if (service_echo_ref(c, r, ref))
			return 1;
		if (bin)
			service_reply(w, PROTO_ECHO | PROTO_REPLY, r->arg,
			    r->arglen);
		else
			service_line(w, c, r->arg, r->arglen);
		return 1;
	case PROTO_STATS:
	case PROTO_INFO:
		if (service_admin_ok(w, c))
			service_report(w, c, r->op);
		return 1;
	case PROTO_DRAIN:
		if (service_admin_ok(w, c))
			service_drain(w, c, r);
		return 1;
	case PROTO_QUIT:
		if (bin)
			service_reply(w, PROTO_QUIT | PROTO_REPLY, "", 0);
		else
			service_line(w, c, "BYE", 3);
		return 0;
	}
	return 1;
}

/*
 * Answer one complete frame (length header or delimiter included);
 * returns 0 when the connection is to close after the replies.  When
 * ref is not NULL a large ECHO may leave its payload in the request,
 * ref->iov_len > 0 (service_echo_ref).
 */
int
service_handle(struct worker *w, struct conn *c, const uint8_t *p,
    size_t n, struct iovec *ref)
{
	struct proto_req r;
	char msg[64];
	int st;

	if (c->l->framer.kind == FRAMING_LENGTH)
		st = proto_parse_binary(p, n, &r);
	else
		st = proto_parse_text(p, n - c->l->framer.delim_len, &r);
	if (st == PROTO_EMPTY) {
		service_bad(w, c, ERR_EMPTY_FRAME, "empty frame");
		return 1;
	}
	if (st == PROTO_UNKNOWN) {
		if (c->l->framer.kind == FRAMING_LENGTH)
			snprintf(msg, sizeof(msg), "unknown op 0x%02x", r.op);
		else
			snprintf(msg, sizeof(msg), "unknown command");
		service_bad(w, c, ERR_UNKNOWN_OP, msg);
		return 1;
	}
	return service_dispatch(w, c, &r, ref);
}

/* The reply owed for a frame over max_frame, before the close. */
void
service_too_large(struct worker *w, struct conn *c)
{
	char msg[80];

	snprintf(msg, sizeof(msg), "frame too large (max_frame %ld bytes)",
	    w->cf->limits.max_frame);
	service_error(w, c, msg);
}
