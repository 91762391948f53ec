/*
 * fuzz_http.c -- the HTTP request-head parser against arbitrary input.
 * Checked: an answer on the whole input agrees with the answers on its
 * prefixes (need more until the head is complete, then the same head;
 * once invalid or too large, never OK for a longer input), a head never
 * claims more bytes than arrived or than HTTP_HEAD_MAX, ends with a
 * blank line, and its path lies inside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "fuzz.h"

/* The head found on the whole input is sound. */
static void
check_head(const uint8_t *p, size_t n, const struct http_req *r)
{
	struct http_req rp;

	CHECK(r->len >= 4 && r->len <= n && r->len <= HTTP_HEAD_MAX);
	CHECK(memcmp(p + r->len - 4, "\r\n\r\n", 4) == 0);
	CHECK(r->pathlen > 0 && (const uint8_t *)r->path > p &&
	    (const uint8_t *)r->path + r->pathlen < p + r->len);
	CHECK(r->minor == 0 || r->minor == 1);
	CHECK(r->keep_alive == 0 || r->keep_alive == 1);
	/* the bytes after the head do not change it */
	CHECK(http_parse(p, r->len, &rp) == HTTP_OK);
	CHECK(rp.len == r->len && rp.method == r->method &&
	    rp.keep_alive == r->keep_alive && rp.body == r->body &&
	    rp.path == r->path && rp.pathlen == r->pathlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r, rp;
	uint8_t *copy;
	size_t i;
	int v, vp;

	/* a copy of its own size, so ASan sees any read past the end */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	v = http_parse(copy, size, &r);
	CHECK(v == HTTP_OK || v == HTTP_NEED || v == HTTP_INVALID ||
	    v == HTTP_TOO_LARGE);
	if (v == HTTP_OK)
		check_head(copy, size, &r);
	if (v == HTTP_NEED)
		CHECK(size < HTTP_HEAD_MAX);
	if (v == HTTP_TOO_LARGE)
		CHECK(size >= HTTP_HEAD_MAX);
	/* every shorter prefix, sampled on long inputs to stay fast */
	for (i = 0; i < size; i += size > 512 ? 1 + i / 64 : 1) {
		vp = http_parse(copy, i, &rp);
		if (v == HTTP_OK)
			CHECK(i < r.len ? vp == HTTP_NEED : vp == HTTP_OK);
		else if (v == HTTP_NEED)
			CHECK(vp == HTTP_NEED);
		else
			CHECK(vp != HTTP_OK);
	}
	free(copy);
	return 0;
}
