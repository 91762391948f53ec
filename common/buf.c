/*
 * buf.c -- growable byte buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#ifdef EKKO_COUNT_COPIES
uint64_t buf_copied[2];
#endif

/* Move the unconsumed bytes to the front. */
void
buf_compact(struct buf *b)
{
	if (b->off == 0)
		return;
	if (b->len > 0) {
		memmove(b->data, b->data + b->off, b->len);
		BUF_COPIED(BUF_COPY_IN, b->len);
	}
	b->off = 0;
}

/* Make room for n more bytes after the tail; -1 if out of memory. */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (buf_room(b) >= n)
		return 0;
	if (b->cap - b->len >= n) {
		buf_compact(b);
		return 0;
	}
	buf_compact(b);
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Append n bytes; -1 if out of memory. */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;	/* memcpy(NULL, p, 0) is undefined */
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->off + b->len, p, n);
	BUF_COPIED(BUF_COPY_IN, n);
	b->len += n;
	return 0;
}

/* Drop n bytes from the front; an emptied buffer restarts at 0. */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = 0;
		b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

/* Release the storage. */
void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
