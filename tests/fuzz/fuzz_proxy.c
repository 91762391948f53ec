/*
 * fuzz_proxy.c -- the PROXY protocol parser against arbitrary input.
 * The first byte chooses the mode; the rest is the stream.  Checked:
 * an answer on the whole input agrees with the answers on its prefixes
 * (need more until the header is complete, then the same header; once
 * invalid, invalid for every longer input), a header never claims more
 * bytes than arrived or than PROXY_MAX, and the address is of a family
 * the parser may report.
 */
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr h, hp;
	enum proxy_mode m;
	const uint8_t *p;
	uint8_t *copy;
	size_t n, i;
	int r, rp;

	if (size < 1)
		return 0;
	m = (enum proxy_mode)(data[0] % 4);
	n = size - 1;
	/* a copy of its own size, so ASan sees any read past the end */
	if ((copy = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, n);
	p = copy;
	r = proxy_parse(m, p, n, &h);
	CHECK(r == PROXY_OK || r == PROXY_NEED || r == PROXY_INVALID);
	if (m == PROXY_OFF)
		CHECK(r == PROXY_INVALID || n == 0);
	if (r == PROXY_OK) {
		CHECK(h.len > 0 && h.len <= n && h.len <= PROXY_MAX);
		CHECK(h.family == AF_INET || h.family == AF_INET6 ||
		    h.family == AF_UNSPEC);
		if (m == PROXY_V1 || (m == PROXY_ANY && p[0] == 'P'))
			CHECK(h.len <= PROXY_V1_MAX &&
			    p[h.len - 2] == '\r' && p[h.len - 1] == '\n');
		/* the bytes after the header do not change it */
		CHECK(proxy_parse(m, p, h.len, &hp) == PROXY_OK);
		CHECK(hp.len == h.len && hp.family == h.family &&
		    memcmp(hp.addr, h.addr, 16) == 0 && hp.port == h.port);
	}
	if (r == PROXY_NEED)
		CHECK(n < PROXY_MAX);
	/* every shorter prefix: need more, or invalid if this is */
	for (i = 0; i < n && i < PROXY_MAX + 1; i++) {
		rp = proxy_parse(m, p, i, &hp);
		if (r == PROXY_OK)
			CHECK(i < h.len ? rp == PROXY_NEED : rp == PROXY_OK);
		else if (r == PROXY_NEED)
			CHECK(rp == PROXY_NEED);
		else
			CHECK(rp != PROXY_OK);
	}
	free(copy);
	return 0;
}
