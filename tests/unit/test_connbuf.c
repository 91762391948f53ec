/*
 * test_connbuf.c -- connection buffers: input grows geometrically and
 * never past the frame announced (nor for a header over max_frame), and
 * every byte allocated is counted against the worker's share, given
 * back on release, and refused past it.
 */
#include <stdlib.h>
#include <string.h>

#include "ekkod.h"
#include "tap.h"

static struct scoreboard board;

/* A worker with a share of max_memory / workers and nothing held. */
static void
worker_with(struct worker *w, struct config *cf, long max_memory,
    int workers)
{
	memset(w, 0, sizeof(*w));
	memset(cf, 0, sizeof(*cf));
	cf->workers = workers;
	cf->limits.max_memory = max_memory;
	w->cf = cf;
	sb = &board;
	atomic_store(&sb->workers_configured, workers);
}

/* Where frames end, as far as the held bytes tell. */
static void
test_frame_end(void)
{
	struct framer f = { .kind = FRAMING_LENGTH, .max_frame = 1000 };
	uint8_t h[8] = { 0, 0, 0x03, 0xe8 };		/* 1000 */

	TAP_OK(connbuf_frame_end(&f, h, 2) == FRAME_LENGTH_HDR,
	    "length: a partial header announces only itself");
	TAP_OK(connbuf_frame_end(&f, h, 4) == 1004,
	    "length: a valid header announces its frame");
	memcpy(h, "\xff\xff\xff\xf0", 4);
	TAP_OK(connbuf_frame_end(&f, h, 5) == 5,
	    "length: a header over max_frame announces nothing");
	f.kind = FRAMING_FIXED;
	f.frame_size = 64 << 20;
	TAP_OK(connbuf_frame_end(&f, h, 1) == 64 << 20,
	    "fixed: frame_size");
	f.kind = FRAMING_LINE;
	f.delim_len = 2;
	TAP_OK(connbuf_frame_end(&f, h, 1) == 1002,
	    "line: the longest line max_frame allows");
	f.kind = FRAMING_RAW;
	TAP_OK(connbuf_frame_end(&f, h, 7) == 7, "raw: what is held");
}

/* How far an input buffer may grow: to the frame's end, not past. */
static void
test_in_limit(void)
{
	struct framer f = { .kind = FRAMING_FIXED, .frame_size = 64 << 20,
	    .max_frame = 64 << 20 };
	uint8_t h[4] = { 0 };

	TAP_OK(connbuf_in_limit(&f, h, 1) == 64 << 20,
	    "one byte of a 64 MiB fixed frame: up to the frame");
	TAP_OK(connbuf_in_limit(&f, h, (64 << 20) - 100) ==
	    (64 << 20) - 100 + CONNBUF_MIN_READ,
	    "near the end: a modest read beyond");
	f.kind = FRAMING_LENGTH;
	memcpy(h, "\xff\xff\xff\xf0", 4);
	TAP_OK(connbuf_in_limit(&f, h, 5) == 5 + CONNBUF_MIN_READ,
	    "a header over max_frame: a modest read, no more");
}

/*
 * A 16 MiB line arriving 64 KiB at a time: few moves, O(n) bytes
 * copied in all, and everything given back at the end.
 */
static void
test_line_growth(void)
{
	struct framer f = { .kind = FRAMING_LINE, .max_frame = 16 << 20,
	    .delim_len = 1, .delim = "\n" };
	struct config cf;
	struct worker w;
	struct buf b = { 0 };
	size_t copied = 0, moves = 0, chunk = 65536, room;
	uint8_t *was;
	int bad = 0;

	worker_with(&w, &cf, 1L << 30, 1);
	while (b.len < (size_t)16 << 20) {
		was = b.data;
		if (connbuf_reserve(&w, &b, CONNBUF_MIN_READ,
		    connbuf_in_limit(&f, buf_head(&b), b.len)) != 0) {
			bad = 1;
			break;
		}
		if (b.data != was) {
			moves++;
			copied += b.len;
		}
		room = buf_room(&b) < chunk ? buf_room(&b) : chunk;
		memset(buf_tail(&b), 'x', room);
		b.len += room;
		if (w.mem_held != b.cap + (size_t)w.lists.npool * CONNBUF_BLOCK)
			bad = 1;
	}
	TAP_OK(!bad, "every reservation fits and is counted");
	TAP_OK(moves <= 12, "16 MiB in %zu moves", moves);
	TAP_OK(copied <= (size_t)32 << 20, "%zu bytes copied", copied);
	TAP_OK(b.cap <= (size_t)(16 << 20) + 1 + CONNBUF_BLOCK,
	    "capacity %zu within the longest line", b.cap);
	connbuf_release(&w, &b);
	connbuf_release_pool(&w);
	TAP_OK(w.mem_held == 0, "all given back (%zu held)", w.mem_held);
}

/* The share is a hard limit, and pooled blocks count toward it. */
static void
test_share(void)
{
	struct config cf;
	struct worker w;
	struct buf b[80];
	size_t i, got = 0;
	int r = 0;

	worker_with(&w, &cf, 1 << 20, 2);	/* a share of 512 KiB */
	TAP_OK(connbuf_share(&w) == 512 * 1024, "share = max_memory / 2");
	memset(b, 0, sizeof(b));
	for (i = 0; i < 80; i++) {
		if ((r = connbuf_reserve(&w, &b[i], 100, 0)) != 0)
			break;
		got++;
	}
	TAP_OK(r == -2 && got == 512 * 1024 / CONNBUF_BLOCK,
	    "%zu blocks fit, then refused (%d)", got, r);
	TAP_OK(w.mem_held == got * CONNBUF_BLOCK, "held counted exactly");
	TAP_OK(connbuf_free(&w) == 0, "nothing free");
	for (i = 0; i < got; i++)
		connbuf_release(&w, &b[i]);
	TAP_OK(w.lists.npool <= 512 * 1024 / 8 / CONNBUF_BLOCK,
	    "the pool keeps at most an eighth of the share (%d)",
	    w.lists.npool);
	TAP_OK(connbuf_free(&w) == 512 * 1024, "all free again (pool too)");
	TAP_OK(connbuf_reserve(&w, &b[0], 400 * 1024, 400 * 1024) == 0,
	    "a large block fits once the pool is trimmed");
	TAP_OK(w.mem_held <= 512 * 1024, "held %zu within the share",
	    w.mem_held);
	b[0].len = b[0].cap;
	TAP_OK(connbuf_reserve(&w, &b[0], 1, SIZE_MAX) == -2,
	    "growing past the share is refused");
	TAP_OK(connbuf_read_room(&w, &b[0], &b[1]) == 0,
	    "a reader holding most of the share must wait");
	TAP_OK(b[0].len == 400 * 1024, "the refused buffer kept its bytes");
	connbuf_release(&w, &b[0]);
	connbuf_release_pool(&w);
	TAP_OK(w.mem_held == 0, "all given back");
	TAP_OK(connbuf_read_room(&w, &b[0], &b[1]) >= CONNBUF_BLOCK,
	    "an empty reader may read again");
}

int
main(void)
{
	test_frame_end();
	test_in_limit();
	test_line_growth();
	test_share();
	return TAP_DONE();
}
