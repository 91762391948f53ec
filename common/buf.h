/*
 * buf.h -- a byte buffer: data[off .. off+len) holds the bytes not yet
 * consumed.  Consuming moves off; space is reclaimed by compaction when
 * it is needed, not on every consume.
 */
#ifndef EKKO_BUF_H
#define EKKO_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t		*data;
	size_t		 off;
	size_t		 len;
	size_t		 cap;
};

int	 buf_reserve(struct buf *, size_t);
int	 buf_append(struct buf *, const void *, size_t);
void	 buf_consume(struct buf *, size_t);
void	 buf_compact(struct buf *);
void	 buf_free(struct buf *);

/*
 * Bytes of connection data moved in user space, counted only in a test
 * build (-DEKKO_COUNT_COPIES) so that bench-extra can show what a
 * request costs in copies; the hot path of a normal build has no trace
 * of it.  BUF_COPY_IN: input kept, grown or compacted, replies built;
 * BUF_COPY_OUT: output the socket did not take.
 */
enum { BUF_COPY_IN, BUF_COPY_OUT };
#ifdef EKKO_COUNT_COPIES
extern uint64_t buf_copied[2];
#define BUF_COPIED(k, n)	(buf_copied[(k)] += (n))
#else
#define BUF_COPIED(k, n)	((void)0)
#endif

/* Where the next byte goes (NULL before any storage: NULL + 0 is UB). */
static inline uint8_t *
buf_tail(const struct buf *b)
{
	return b->data == NULL ? NULL : b->data + b->off + b->len;
}

/* How many bytes fit after the tail without growing. */
static inline size_t
buf_room(const struct buf *b)
{
	return b->cap - b->off - b->len;
}

static inline uint8_t *
buf_head(const struct buf *b)
{
	return b->data == NULL ? NULL : b->data + b->off;
}

#endif
