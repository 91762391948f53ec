/*
 * session.c -- a tiny blocking session with the command port: connect,
 * send one binary request, read one reply, never waiting past -t.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekko.h"
#include "frame.h"
#include "proto.h"
#include "util.h"

#define SESSION_READ	65536
#define SESSION_MAXREP	(1U << 30)	/* the largest reply accepted */

static int	 session_parse(struct session *, struct reply *);
static int	 session_fill(struct session *, uint64_t);

/* Connect to t; on failure say why and return EKKO_NET. */
int
session_open(struct session *s, const struct target *t)
{
	struct timeval tv;
	char secs[32];

	memset(s, 0, sizeof(*s));
	s->t = t;
	s->fd = net_connect(&t->addr, t->timeout_ms, NULL, 0);
	if (s->fd == -1) {
		if (errno == ETIMEDOUT)
			ekko_warn(t, "connect: timed out after %s s",
			    ekko_seconds(t->timeout_ms, secs, sizeof(secs)));
		else
			ekko_warn(t, "connect: %s", strerror(errno));
		return EKKO_NET;
	}
	/* A server that stops reading must not block a write for ever. */
	tv.tv_sec = t->timeout_ms / 1000;
	tv.tv_usec = (t->timeout_ms % 1000) * 1000;
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return EKKO_OK;
}

/* Send one request in one write; a SESSION_* status. */
int
session_send(struct session *s, int op, const void *p, size_t n)
{
	uint8_t small[512], *frame = small;
	int rc = SESSION_OK;

	if (n > SESSION_MAXREP) {
		s->error = EMSGSIZE;
		return SESSION_ERROR;
	}
	if (n + PROTO_HDR > sizeof(small) &&
	    (frame = malloc(n + PROTO_HDR)) == NULL) {
		s->error = errno;
		return SESSION_ERROR;
	}
	proto_put_header(frame, op, n);
	if (n > 0)
		memcpy(frame + PROTO_HDR, p, n);
	if (util_write_all(s->fd, frame, n + PROTO_HDR) == -1) {
		s->error = errno;
		rc = errno == EAGAIN || errno == EWOULDBLOCK ?
		    SESSION_TIMEOUT : SESSION_ERROR;
	}
	if (frame != small)
		free(frame);
	return rc;
}

/* A complete reply at the head of the input, if there is one. */
static int
session_parse(struct session *s, struct reply *r)
{
	struct framer f = { .kind = FRAMING_LENGTH,
	    .max_frame = SESSION_MAXREP };
	const uint8_t *p = buf_head(&s->in);
	size_t len, scanned = 0;
	int st;

	st = frame_next(&f, p, s->in.len, &scanned, &len);
	if (st == FRAME_NEED)
		return -1;
	if (st == FRAME_TOO_LARGE || len < PROTO_HDR)
		return SESSION_BAD;
	r->op = p[FRAME_LENGTH_HDR];
	r->data = p + PROTO_HDR;
	r->len = len - PROTO_HDR;
	s->used = len;
	return SESSION_OK;
}

/* Read what is there, waiting until deadline (ns); a SESSION_* status. */
static int
session_fill(struct session *s, uint64_t deadline)
{
	uint64_t now = util_now_ns();
	ssize_t n;
	int ready, ms;

	ms = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
	ready = poll(&(struct pollfd){ .fd = s->fd, .events = POLLIN }, 1,
	    ms);
	if (ready == -1 && errno == EINTR)
		return ekko_interrupted ? SESSION_INTR : SESSION_OK;
	if (ready <= 0) {
		s->error = errno;
		return ready == 0 ? SESSION_TIMEOUT : SESSION_ERROR;
	}
	if (buf_reserve(&s->in, SESSION_READ) == -1) {
		s->error = errno;
		return SESSION_ERROR;
	}
	n = read(s->fd, buf_tail(&s->in), buf_room(&s->in));
	if (n == 0)
		return SESSION_CLOSED;
	if (n == -1) {
		s->error = errno;
		return errno == EINTR || errno == EAGAIN ? SESSION_OK :
		    SESSION_ERROR;
	}
	s->in.len += (size_t)n;
	return SESSION_OK;
}

/*
 * Wait up to timeout_ms for the next reply (0: take what is there).  The
 * reply points into the session's buffer and stays valid until the next
 * call.
 */
int
session_recv(struct session *s, struct reply *r, int timeout_ms)
{
	uint64_t deadline;
	int st;

	buf_consume(&s->in, s->used);
	s->used = 0;
	deadline = util_now_ns() + (uint64_t)timeout_ms * 1000000;
	for (;;) {
		if ((st = session_parse(s, r)) != -1)
			return st;
		if ((st = session_fill(s, deadline)) != SESSION_OK)
			return st;
	}
}

/*
 * Did the server close the connection while we were not asking (a
 * drained worker, an idle timeout)?  Stale bytes do not count.
 */
int
session_idle_closed(struct session *s)
{
	uint8_t c;
	ssize_t n;

	if (net_wait(s->fd, POLLIN, 0) <= 0)
		return 0;
	n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR);
}

/* Report a failed send or receive; returns the exit code for it. */
int
session_fail(const struct session *s, int st)
{
	char secs[32];

	ekko_seconds(s->t->timeout_ms, secs, sizeof(secs));
	switch (st) {
	case SESSION_TIMEOUT:
		ekko_warn(s->t, "timed out after %s s waiting for reply", secs);
		break;
	case SESSION_CLOSED:
		ekko_warn(s->t, "connection closed by server");
		break;
	case SESSION_BAD:
		ekko_warn(s->t, "malformed reply");
		break;
	case SESSION_INTR:
		ekko_warn(s->t, "interrupted");
		break;
	default:
		ekko_warn(s->t, "%s", strerror(s->error));
		break;
	}
	return EKKO_NET;
}

/* Report an error reply (op 0xFF), control bytes made harmless. */
int
session_server_error(const struct target *t, const struct reply *r)
{
	char text[512];
	size_t n = r->len < sizeof(text) - 1 ? r->len : sizeof(text) - 1;

	util_text_safe(text, r->data, n, 0);
	text[n] = '\0';
	ekko_warn(t, "server error: %s", text);
	return EKKO_REPLY;
}

/* One request, one reply of the matching op; 0 or an exit code. */
int
session_call(struct session *s, int op, const void *p, size_t n,
    struct reply *r)
{
	int st;

	if ((st = session_send(s, op, p, n)) != SESSION_OK ||
	    (st = session_recv(s, r, s->t->timeout_ms)) != SESSION_OK)
		return session_fail(s, st);
	if (r->op == PROTO_ERROR)
		return session_server_error(s->t, r);
	if (r->op != (op | PROTO_REPLY)) {
		ekko_warn(s->t, "unexpected reply op 0x%02x to %s", r->op,
		    proto_op_name(op));
		return EKKO_REPLY;
	}
	return EKKO_OK;
}

/* Hang up and free the buffer. */
void
session_close(struct session *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	buf_free(&s->in);
}

/*
 * Append up to chunk bytes of stdin to b; *eof is set at its end.  For
 * the commands that stream stdin (echo, raw).  -1 after a reported error.
 */
int
session_read_stdin(struct buf *b, size_t chunk, int *eof)
{
	ssize_t n;

	if (buf_reserve(b, chunk) == -1) {
		ekko_warn(NULL, "%s", strerror(errno));
		return -1;
	}
	n = read(STDIN_FILENO, buf_tail(b), chunk);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n == -1) {
		ekko_warn(NULL, "stdin: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		*eof = 1;
	b->len += (size_t)n;
	return 0;
}
