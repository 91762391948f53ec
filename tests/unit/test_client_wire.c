/*
 * test_client_wire.c -- the bytes ekko bench sends and expects back:
 * request layout per mode, packing in pieces, and the verdicts on
 * replies fed whole, byte by byte and in odd chunks (good replies, ekko
 * error replies with and without text, bad headers, wrong bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"
#include "tap.h"
#include "wire.h"

#define NREQ	40
#define BIG	(NREQ * 400)

/* What feeding a byte stream to wire_read produced. */
struct fed {
	size_t	 replies;
	size_t	 errors;
	size_t	 texts;		/* WIRE_TEXT verdicts */
	size_t	 bad;		/* WIRE_BAD_HEADER */
	size_t	 differs;	/* WIRE_DIFFERS */
	size_t	 used;		/* bytes taken in all */
	char	 text[256];	/* error text, as taken */
	size_t	 textlen;
	int	 broken;	/* wire_read broke a rule of its contract */
};

static uint8_t	 stream[BIG];

/* Feed n bytes in chunks of at most chunk, replies counted from seq 0. */
static void
feed(const struct wire *w, const uint8_t *p, size_t n, size_t chunk,
    struct fed *f)
{
	struct wire_rx rx;
	enum wire_verdict v;
	uint64_t seq = 0;
	size_t k, used, intext = 0;

	memset(f, 0, sizeof(*f));
	memset(&rx, 0, sizeof(rx));
	while (n > 0) {
		k = n < chunk ? n : chunk;
		while (k > 0) {
			v = wire_read(w, &rx, seq, p, k, &used);
			if (used == 0 || used > k) {
				f->broken = 1;
				return;
			}
			if (intext && f->textlen + used < sizeof(f->text)) {
				memcpy(f->text + f->textlen, p, used);
				f->textlen += used;
			}
			f->used += used;
			p += used;
			k -= used;
			n -= used;
			switch (v) {
			case WIRE_MORE:
				break;
			case WIRE_TEXT:
				f->texts++;
				intext = 1;
				break;
			case WIRE_REPLY:
				f->replies++;
				seq++;
				break;
			case WIRE_ERROR:
				f->errors++;
				intext = 0;
				seq++;
				break;
			case WIRE_BAD_HEADER:
				f->bad++;
				return;
			case WIRE_DIFFERS:
				f->differs++;
				return;
			}
		}
	}
}

/* The replies an echo port sends back: the requests themselves. */
static size_t
pack_all(const struct wire *w, uint64_t nreq, uint8_t *dst, size_t room)
{
	return wire_pack(w, 0, 0, nreq, dst, room);
}

/* Mode names, as --framing takes them. */
static void
test_names(void)
{
	enum wire_mode m;
	int ok = 1, i;

	for (i = WIRE_EKKO; i <= WIRE_LENGTH; i++)
		if (wire_mode_parse(wire_mode_name((enum wire_mode)i), &m) ==
		    -1 || m != (enum wire_mode)i)
			ok = 0;
	TAP_OK(ok, "every mode name parses back to its mode");
	TAP_OK(wire_mode_parse("ekkoo", &m) == -1, "an unknown name is -1");
	TAP_OK(strcmp(wire_mode_name((enum wire_mode)99), "?") == 0,
	    "an unknown mode is named ?");
}

/* The length of a request and of its reply, per mode. */
static void
test_shapes(void)
{
	static const struct {
		enum wire_mode	 mode;
		size_t		 size, req, rep;
	} t[] = {
		{ WIRE_EKKO, 64, PROTO_HDR + 64, PROTO_HDR + 64 },
		{ WIRE_EKKO, 0, PROTO_HDR, PROTO_HDR },
		{ WIRE_PING, 64, PROTO_HDR, PROTO_HDR + 4 },
		{ WIRE_RAW, 64, 64, 64 },
		{ WIRE_LINE, 10, 11, 11 },
		{ WIRE_FIXED, 32, 32, 32 },
		{ WIRE_LENGTH, 100, FRAME_LENGTH_HDR + 100,
		    FRAME_LENGTH_HDR + 100 },
	};
	struct wire w;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (wire_init(&w, t[i].mode, t[i].size) == -1)
			abort();
		TAP_OK(w.req.len == t[i].req && w.rep.len == t[i].rep,
		    "%s -s %zu: request %zu, reply %zu bytes",
		    wire_mode_name(t[i].mode), t[i].size, t[i].req, t[i].rep);
		wire_free(&w);
	}
}

/* Requests are framed for their mode, and neighbours differ. */
static void
test_pack_bytes(void)
{
	struct wire w;
	uint8_t buf[256], hdr[PROTO_HDR];
	size_t n;

	wire_init(&w, WIRE_EKKO, 10);
	n = wire_pack(&w, 0, 0, 2, buf, sizeof(buf));
	proto_put_header(hdr, PROTO_ECHO, 10);
	TAP_OK(n == 2 * (PROTO_HDR + 10) && memcmp(buf, hdr, PROTO_HDR) == 0 &&
	    memcmp(buf + 15, hdr, PROTO_HDR) == 0,
	    "ekko: two ECHO requests of 10 bytes");
	TAP_OK(memcmp(buf + PROTO_HDR, buf + 15 + PROTO_HDR, 10) != 0,
	    "ekko: request 0 and 1 carry different bodies");
	wire_free(&w);

	wire_init(&w, WIRE_LINE, 5);
	n = wire_pack(&w, 3, 0, 5, buf, sizeof(buf));
	TAP_OK(n == 12 && buf[5] == '\n' && buf[11] == '\n' &&
	    memchr(buf, '\n', 5) == NULL, "line: two lines of 5 bytes");
	wire_free(&w);

	wire_init(&w, WIRE_LENGTH, 300);
	n = wire_pack(&w, 0, 0, 1, buf, sizeof(buf));
	TAP_OK(n == sizeof(buf) && frame_get_u32(buf) == 300,
	    "length: the header, then as much as fits");
	wire_free(&w);
}

/* Packing in small pieces, resumed at (seq, off), gives the same bytes. */
static void
test_pack_pieces(void)
{
	static uint8_t whole[BIG], pieces[BIG];
	struct wire w;
	uint64_t seq = 0;
	size_t n, total, got = 0, off = 0, room = 7;

	wire_init(&w, WIRE_EKKO, 100);
	total = wire_pack(&w, 0, 0, NREQ, whole, sizeof(whole));
	while (seq < NREQ && got < sizeof(pieces)) {
		n = wire_pack(&w, seq, off, NREQ, pieces + got, room);
		got += n;
		off += n;
		seq += off / w.req.len;
		off %= w.req.len;
		room = room % 97 + 13;
	}
	TAP_OK(total == NREQ * w.req.len && got == total &&
	    memcmp(whole, pieces, total) == 0,
	    "packed in pieces == packed whole (%zu bytes)", total);
	TAP_OK(wire_pack(&w, NREQ, 0, NREQ, pieces, room) == 0,
	    "nothing to pack when all is sent");
	wire_free(&w);
}

/* Echo modes: the requests, fed back in any chunking, are the replies. */
static void
test_echo_replies(void)
{
	static const enum wire_mode modes[] = {
		WIRE_RAW, WIRE_LINE, WIRE_FIXED, WIRE_LENGTH
	};
	static const size_t chunks[] = { 1, 3, 64, 1000, BIG };
	struct wire w;
	struct fed f;
	size_t i, j, n;
	int ok;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		wire_init(&w, modes[i], 50);
		n = pack_all(&w, NREQ, stream, sizeof(stream));
		ok = 1;
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			feed(&w, stream, n, chunks[j], &f);
			if (f.broken || f.replies != NREQ || f.used != n ||
			    f.errors + f.bad + f.differs + f.texts != 0)
				ok = 0;
		}
		TAP_OK(ok, "%s: %d replies, whole, byte by byte, in chunks",
		    wire_mode_name(modes[i]), NREQ);
		wire_free(&w);
	}
}

/* ekko: the requests with the reply bit set are the replies. */
static void
test_ekko_replies(void)
{
	struct wire w;
	struct fed f, f1;
	size_t i, n;

	wire_init(&w, WIRE_EKKO, 20);
	n = pack_all(&w, NREQ, stream, sizeof(stream));
	for (i = 0; i < NREQ; i++)
		stream[i * w.req.len + FRAME_LENGTH_HDR] |= PROTO_REPLY;
	feed(&w, stream, n, BIG, &f);
	feed(&w, stream, n, 1, &f1);
	TAP_OK(f.replies == NREQ && f1.replies == NREQ && !f.broken &&
	    !f1.broken, "ekko: %d ECHO replies, whole and byte by byte",
	    NREQ);
	wire_free(&w);

	wire_init(&w, WIRE_EKKO, 0);
	n = pack_all(&w, 3, stream, sizeof(stream));
	for (i = 0; i < 3; i++)
		stream[i * w.req.len + FRAME_LENGTH_HDR] |= PROTO_REPLY;
	feed(&w, stream, n, 2, &f);
	TAP_OK(f.replies == 3 && f.used == n,
	    "ekko -s 0: a header alone is a whole reply");
	wire_free(&w);

	wire_init(&w, WIRE_PING, 0);
	proto_put_header(stream, PROTO_PING | PROTO_REPLY, 4);
	memcpy(stream + PROTO_HDR, "PONG", 4);
	memcpy(stream + 9, stream, 9);
	feed(&w, stream, 18, 1, &f);
	TAP_OK(f.replies == 2 && f.used == 18, "ping: two PONG replies");
	wire_free(&w);
}

/* Put an ekko error reply with text at p; its length. */
static size_t
error_reply(uint8_t *p, const char *text)
{
	size_t n = strlen(text);

	proto_put_header(p, PROTO_ERROR, n);
	memcpy(p + PROTO_HDR, text, n);
	return PROTO_HDR + n;
}

/* ekko error replies: counted, their text handed out, the stream goes on. */
static void
test_error_replies(void)
{
	static const size_t chunks[] = { 1, 2, 5, 7, BIG };
	static const char msg[] = "frame too large";
	struct wire w;
	struct fed f;
	size_t n, j, rep;
	int ok = 1;

	wire_init(&w, WIRE_EKKO, 8);
	n = error_reply(stream, msg);
	rep = wire_pack(&w, 1, 0, 2, stream + n, sizeof(stream) - n);
	stream[n + FRAME_LENGTH_HDR] |= PROTO_REPLY;
	n += rep;
	for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
		feed(&w, stream, n, chunks[j], &f);
		if (f.broken || f.texts != 1 || f.errors != 1 ||
		    f.replies != 1 || f.textlen != strlen(msg) ||
		    memcmp(f.text, msg, f.textlen) != 0 || f.used != n)
			ok = 0;
	}
	TAP_OK(ok, "an error reply, its text, then reply 1, in any chunks");

	proto_put_header(stream, PROTO_ERROR, 0);
	feed(&w, stream, PROTO_HDR, 1, &f);
	TAP_OK(f.errors == 1 && f.texts == 0 && f.textlen == 0,
	    "an error reply without text completes at its header");
	wire_free(&w);

	wire_init(&w, WIRE_LENGTH, 8);
	n = error_reply(stream, msg);
	feed(&w, stream, n, BIG, &f);
	TAP_OK(f.errors == 0 && f.bad + f.differs == 1,
	    "an echo port has no error replies: 0xFF is wrong there");
	wire_free(&w);
}

/* Bytes that are not the reply owed are reported at once. */
static void
test_mismatch(void)
{
	struct wire w;
	struct fed f;
	size_t n;

	wire_init(&w, WIRE_EKKO, 30);
	n = pack_all(&w, 2, stream, sizeof(stream));
	feed(&w, stream, n, BIG, &f);
	TAP_OK(f.bad == 1 && f.replies == 0 && f.used == PROTO_HDR,
	    "ekko: a request echoed as is has a bad header");
	stream[FRAME_LENGTH_HDR] |= PROTO_REPLY;
	stream[PROTO_HDR + 29] ^= 1;
	feed(&w, stream, n, 4, &f);
	TAP_OK(f.differs == 1 && f.replies == 0,
	    "ekko: a changed last byte differs");
	wire_free(&w);

	wire_init(&w, WIRE_RAW, 30);
	n = wire_pack(&w, 1, 0, 2, stream, sizeof(stream));
	feed(&w, stream, n, BIG, &f);
	TAP_OK(f.differs == 1 && f.replies == 0,
	    "raw: the reply to request 1 is not the reply to request 0");
	wire_free(&w);
}

/* A lost stream starts over after wire_rx_reset. */
static void
test_reset(void)
{
	struct wire w;
	struct wire_rx rx;
	size_t n, used;
	enum wire_verdict v;

	wire_init(&w, WIRE_LENGTH, 10);
	n = wire_pack(&w, 0, 0, 1, stream, sizeof(stream));
	memset(&rx, 0, sizeof(rx));
	wire_read(&w, &rx, 0, stream, 3, &used);
	wire_rx_reset(&rx);
	v = wire_read(&w, &rx, 0, stream, n, &used);
	if (v == WIRE_MORE)
		v = wire_read(&w, &rx, 0, stream + used, n - used, &used);
	TAP_OK(v == WIRE_REPLY, "after a reset a whole reply reads again");
	wire_free(&w);
}

int
main(void)
{
	test_names();
	test_shapes();
	test_pack_bytes();
	test_pack_pieces();
	test_echo_replies();
	test_ekko_replies();
	test_error_replies();
	test_mismatch();
	test_reset();
	return TAP_DONE();
}
