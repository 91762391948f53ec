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
