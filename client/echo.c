/*
 * echo.c -- ekko echo: send words, or every line of stdin, as ECHO
 * requests and print the replies.  Stdin lines are pipelined within a
 * bounded window, so a large file streams in constant memory.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekko.h"
#include "frame.h"
#include "proto.h"
#include "util.h"

#define ECHO_WINDOW	256		/* requests in flight, at most */
#define ECHO_OUTMAX	(1 << 20)	/* request bytes queued, at most */
#define ECHO_LINEMAX	(64 << 20)	/* the longest line accepted */
#define ECHO_READ	65536

struct echo {
	struct session	 s;
	struct framer	 f;		/* lines of stdin */
	size_t		 scanned;
	struct buf	 lines;		/* stdin not yet sent */
	struct buf	 out;		/* requests not yet written */
	struct buf	 print;		/* replies for stdout */
	size_t		 inflight;	/* requests not yet answered */
	int		 eof;		/* stdin is done */
	int		 broken;	/* a write failed: only read now */
	int		 rc;
	uint64_t	 since;		/* last progress while waiting (ns) */
};

static int	 echo_words(struct session *, int, char **);
static int	 echo_queue(struct echo *, const uint8_t *, size_t);
static int	 echo_take(struct echo *);
static int	 echo_read_stdin(struct echo *);
static int	 echo_write(struct echo *);
static int	 echo_replies(struct echo *);
static int	 echo_step(struct echo *);
static int	 echo_stream(struct echo *);

/* Join the words with one space, as echo(1) does; send; print. */
static int
echo_words(struct session *s, int argc, char **argv)
{
	struct reply r;
	size_t n = 0, len;
	char *msg;
	int i, rc;

	for (i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if ((msg = malloc(n)) == NULL) {
		ekko_warn(NULL, "%s", strerror(errno));
		return EKKO_NET;
	}
	for (n = 0, i = 0; i < argc; i++) {
		len = strlen(argv[i]);
		memcpy(msg + n, argv[i], len);
		n += len;
		msg[n++] = ' ';
	}
	rc = session_call(s, PROTO_ECHO, msg, n - 1, &r);
	free(msg);
	if (rc != EKKO_OK)
		return rc;
	if (util_write_all(STDOUT_FILENO, r.data, r.len) == -1 ||
	    util_write_all(STDOUT_FILENO, "\n", 1) == -1) {
		ekko_warn(NULL, "stdout: %s", strerror(errno));
		return EKKO_REPLY;
	}
	return EKKO_OK;
}

/* Queue one ECHO request carrying line p[0..n). */
static int
echo_queue(struct echo *e, const uint8_t *p, size_t n)
{
	if (buf_reserve(&e->out, PROTO_HDR + n) == -1)
		return -1;
	proto_put_header(buf_tail(&e->out), PROTO_ECHO, n);
	if (n > 0)
		memcpy(buf_tail(&e->out) + PROTO_HDR, p, n);
	e->out.len += PROTO_HDR + n;
	if (e->inflight++ == 0)
		e->since = util_now_ns();
	return 0;
}

/* Turn complete stdin lines into requests while the window allows. */
static int
echo_take(struct echo *e)
{
	size_t len;
	int st;

	while (e->inflight < ECHO_WINDOW && e->out.len < ECHO_OUTMAX &&
	    e->lines.len > 0) {
		st = frame_next(&e->f, buf_head(&e->lines), e->lines.len,
		    &e->scanned, &len);
		if (st == FRAME_TOO_LARGE) {
			ekko_warn(NULL, "stdin: line longer than %d bytes",
			    ECHO_LINEMAX);
			return -1;
		}
		if (st == FRAME_NEED && !e->eof)
			break;
		if (st == FRAME_NEED)	/* a last line without newline */
			len = e->lines.len + 1;
		if (echo_queue(e, buf_head(&e->lines), len - 1) == -1) {
			ekko_warn(NULL, "%s", strerror(errno));
			return -1;
		}
		buf_consume(&e->lines, len);
	}
	return 0;
}

/* Read a chunk of stdin. */
static int
echo_read_stdin(struct echo *e)
{
	return session_read_stdin(&e->lines, ECHO_READ, &e->eof);
}

/* Write what the socket takes of the queued requests. */
static int
echo_write(struct echo *e)
{
	ssize_t n;

	n = write(e->s.fd, buf_head(&e->out), e->out.len);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n == -1 && (errno == EPIPE || errno == ECONNRESET)) {
		/* an error reply may be waiting: let the read side say */
		e->broken = 1;
		return 0;
	}
	if (n == -1) {
		e->s.error = errno;
		session_fail(&e->s, SESSION_ERROR);
		return -1;
	}
	buf_consume(&e->out, (size_t)n);
	return 0;
}

/* Take every complete reply there is and print the lot in one write. */
static int
echo_replies(struct echo *e)
{
	struct reply r;
	int st = SESSION_TIMEOUT;

	while (e->inflight > 0 &&
	    (st = session_recv(&e->s, &r, 0)) == SESSION_OK) {
		e->inflight--;
		e->since = util_now_ns();
		if (r.op == PROTO_ERROR) {
			e->rc = session_server_error(e->s.t, &r);
			continue;
		}
		if (r.op != (PROTO_ECHO | PROTO_REPLY)) {
			ekko_warn(e->s.t, "unexpected reply op 0x%02x", r.op);
			e->rc = EKKO_REPLY;
			continue;
		}
		if (buf_append(&e->print, r.data, r.len) == -1 ||
		    buf_append(&e->print, "\n", 1) == -1) {
			ekko_warn(NULL, "%s", strerror(errno));
			return -1;
		}
	}
	if (e->inflight == 0)	/* data beyond the replies owed? */
		st = session_recv(&e->s, &r, 0);
	if (util_write_all(STDOUT_FILENO, buf_head(&e->print),
	    e->print.len) == -1) {
		ekko_warn(NULL, "stdout: %s", strerror(errno));
		return -1;
	}
	buf_consume(&e->print, e->print.len);
	if (st == SESSION_TIMEOUT)
		return 0;
	if (st == SESSION_OK)
		ekko_warn(e->s.t, "reply to no request");
	else if (e->rc == EKKO_OK)	/* else the error reply said it all */
		session_fail(&e->s, st);
	return -1;
}

/* One turn of the loop: wait for stdin or the socket, serve each. */
static int
echo_step(struct echo *e)
{
	struct pollfd pfd[2];
	uint64_t now, end;
	int n, ms = -1;

	pfd[0].fd = e->eof || e->broken || e->inflight >= ECHO_WINDOW ||
	    e->out.len >= ECHO_OUTMAX ? -1 : STDIN_FILENO;
	pfd[0].events = POLLIN;
	pfd[1].fd = e->s.fd;
	pfd[1].events = POLLIN | (e->out.len > 0 && !e->broken ? POLLOUT : 0);
	if (e->inflight > 0) {
		now = util_now_ns();
		end = e->since + (uint64_t)e->s.t->timeout_ms * 1000000;
		ms = now >= end ? 0 : (int)((end - now + 999999) / 1000000);
	}
	if ((n = poll(pfd, 2, ms)) == -1)
		return errno == EINTR ? 0 : -1;
	if (n == 0) {
		session_fail(&e->s, SESSION_TIMEOUT);
		return -1;
	}
	if (pfd[0].revents != 0 && echo_read_stdin(e) == -1)
		return -1;
	if ((pfd[1].revents & POLLOUT) && echo_write(e) == -1)
		return -1;
	if ((pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    echo_replies(e) == -1)
		return -1;
	return 0;
}

/* Every line of stdin, pipelined. */
static int
echo_stream(struct echo *e)
{
	e->f.kind = FRAMING_LINE;
	e->f.max_frame = ECHO_LINEMAX;
	e->f.delim[0] = '\n';
	e->f.delim_len = 1;
	net_set_nonblock(e->s.fd, 1);
	for (;;) {
		if (echo_take(e) == -1)
			return e->rc != EKKO_OK ? e->rc : EKKO_NET;
		if (e->eof && e->inflight == 0 && e->lines.len == 0)
			return e->rc;
		if (echo_step(e) == -1)
			return e->rc != EKKO_OK ? e->rc : EKKO_NET;
	}
}

/* ekko echo [MESSAGE ...] */
int
echo_main(struct target *t, int argc, char **argv)
{
	struct echo e;
	int rc;

	memset(&e, 0, sizeof(e));
	if ((rc = session_open(&e.s, t)) != EKKO_OK)
		return rc;
	if (argc > 1)
		rc = echo_words(&e.s, argc - 1, argv + 1);
	else
		rc = echo_stream(&e);
	session_close(&e.s);
	buf_free(&e.lines);
	buf_free(&e.out);
	buf_free(&e.print);
	return rc;
}
