/*
 * raw.c -- ekko raw: like nc(1), stdin to an echo port and whatever
 * comes back to stdout.  At the end of stdin the write side is shut
 * down and the replies are copied until the server closes; -t bounds
 * the silence allowed after that.
 */
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "ekko.h"
#include "util.h"

#define RAW_CHUNK	65536
#define RAW_OUTMAX	(1 << 20)	/* stdin bytes queued, at most */

struct raw {
	const struct target	*t;
	int			 fd;
	struct buf		 out;	/* stdin not yet sent */
	int			 eof;	/* stdin is done */
	int			 shut;	/* our write side is shut down */
	uint64_t		 quiet;	/* since then nothing arrived (ns) */
};

static int	 raw_stdin(struct raw *);
static int	 raw_send(struct raw *);
static int	 raw_recv(struct raw *);
static int	 raw_timeout(const struct raw *);
static int	 raw_loop(struct raw *);

/* Queue a chunk of stdin; at its end, note it. */
static int
raw_stdin(struct raw *r)
{
	return session_read_stdin(&r->out, RAW_CHUNK, &r->eof);
}

/* Send what the socket takes; once stdin is all sent, shut down. */
static int
raw_send(struct raw *r)
{
	ssize_t n;

	if (r->out.len > 0) {
		n = send(r->fd, buf_head(&r->out), r->out.len, MSG_NOSIGNAL);
		if (n == -1 && errno != EINTR && errno != EAGAIN) {
			ekko_warn(r->t, "send: %s", strerror(errno));
			return -1;
		}
		if (n > 0)
			buf_consume(&r->out, (size_t)n);
	}
	if (r->eof && r->out.len == 0 && !r->shut) {
		shutdown(r->fd, SHUT_WR);
		r->shut = 1;
		r->quiet = util_now_ns();
	}
	return 0;
}

/* Copy what arrived to stdout; 1 when the server has closed. */
static int
raw_recv(struct raw *r)
{
	uint8_t chunk[RAW_CHUNK];
	ssize_t n;

	n = read(r->fd, chunk, sizeof(chunk));
	if (n == 0)
		return 1;
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n == -1) {
		ekko_warn(r->t, "read: %s", strerror(errno));
		return -1;
	}
	r->quiet = util_now_ns();
	if (util_write_all(STDOUT_FILENO, chunk, (size_t)n) == -1) {
		ekko_warn(NULL, "stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* How long poll may wait: for ever until stdin ends, then -t of quiet. */
static int
raw_timeout(const struct raw *r)
{
	uint64_t now, end;

	if (!r->shut)
		return -1;
	now = util_now_ns();
	end = r->quiet + (uint64_t)r->t->timeout_ms * 1000000;
	return now >= end ? 0 : (int)((end - now + 999999) / 1000000);
}

/* Shuttle bytes until the server closes; an exit code. */
static int
raw_loop(struct raw *r)
{
	struct pollfd pfd[2];
	char secs[32];
	int n, st;

	for (;;) {
		pfd[0].fd = r->eof || r->out.len >= RAW_OUTMAX ? -1 :
		    STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = r->fd;
		pfd[1].events = POLLIN | (r->out.len > 0 ? POLLOUT : 0);
		if ((n = poll(pfd, 2, raw_timeout(r))) == -1 && errno != EINTR)
			return EKKO_NET;
		if (n == 0) {
			ekko_warn(r->t, "timed out after %s s waiting for "
			    "the server to close", ekko_seconds(
			    r->t->timeout_ms, secs, sizeof(secs)));
			return EKKO_NET;
		}
		if (n == -1)
			continue;
		if (pfd[0].revents != 0 && raw_stdin(r) == -1)
			return EKKO_REPLY;
		if (raw_send(r) == -1)
			return EKKO_NET;
		if (pfd[1].revents != 0 && (st = raw_recv(r)) != 0)
			return st == 1 ? EKKO_OK : EKKO_NET;
	}
}

/* ekko raw */
int
raw_main(struct target *t, int argc, char **argv)
{
	struct session s;
	struct raw r;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		ekko_usage("raw", stdout);
		return EKKO_OK;
	}
	if (argc > 1) {
		ekko_warn(NULL, "raw: unexpected argument \"%s\"", argv[1]);
		return ekko_usage("raw", stderr);
	}
	if ((rc = session_open(&s, t)) != EKKO_OK)
		return rc;
	memset(&r, 0, sizeof(r));
	r.t = t;
	r.fd = s.fd;
	net_set_nonblock(r.fd, 1);
	rc = raw_loop(&r);
	session_close(&s);
	buf_free(&r.out);
	return rc;
}
