/*
 * fuzz_cidr.c -- cidr_parse on arbitrary NUL-terminated strings: an
 * error always says why; a block has its host bits clear, matches like a
 * naive bit-by-bit check, and formats to text that parses back to the
 * same block.  net_parse_addr on the same text must agree with cidr on
 * what a numeric address is, and its net_format output parses back.
 */
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "net.h"
#include "fuzz.h"

/* Bit i (from the top) of a 16-byte address. */
static int
bit(const uint8_t *a, unsigned int i)
{
	return a[i / 8] >> (7 - i % 8) & 1;
}

/* Block membership, one bit at a time. */
static int
naive_match(const struct cidr *c, const uint8_t *a)
{
	unsigned int i;

	for (i = 0; i < c->prefix; i++)
		if (bit(c->addr, i) != bit(a, i))
			return 0;
	return 1;
}

/* The properties of a parsed block. */
static void
check_block(const struct cidr *c, const uint8_t *probe)
{
	struct cidr d;
	char text[128], err[256];
	unsigned int i;
	int n;

	CHECK(c->prefix <= 128);
	for (i = c->prefix; i < 128; i++)
		CHECK(bit(c->addr, i) == 0);
	CHECK(cidr_match(c, c->addr));
	CHECK(cidr_match(c, probe) == naive_match(c, probe));
	CHECK(cidr_match_list(c, 1, probe) == naive_match(c, probe));
	n = cidr_format(c, text, sizeof(text));
	CHECK(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
	err[0] = '\0';
	if (cidr_parse(text, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "\"%s\" does not parse back: %s\n", text, err);
		abort();
	}
	CHECK(d.prefix == c->prefix && memcmp(d.addr, c->addr, 16) == 0);
}

/* net_parse_addr agrees with cidr_parse and round-trips net_format. */
static void
check_net(const char *s, int cidr_ok, int port)
{
	struct net_addr a, b;
	char text[NET_ADDRSTRLEN], *colon;
	int r;

	r = net_parse_addr(s, port, &a);
	if (s[0] != '[' && strchr(s, '/') == NULL)
		CHECK((r == 0) == cidr_ok);
	if (r != 0)
		return;
	CHECK(a.ss.ss_family == AF_INET || a.ss.ss_family == AF_INET6);
	CHECK(net_port_of((struct sockaddr *)&a.ss) == port);
	net_format((struct sockaddr *)&a.ss, text, sizeof(text));
	CHECK((colon = strrchr(text, ':')) != NULL);
	*colon = '\0';
	CHECK(net_parse_addr(text, port, &b) == 0 && net_same_addr(&a, &b));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr c;
	uint8_t probe[16];
	char s[256], err[256];
	size_t n;
	int r;

	/* the first 16 bytes probe matching, the rest is the text */
	if (size < 16)
		return 0;
	memcpy(probe, data, 16);
	n = size - 16 < sizeof(s) - 1 ? size - 16 : sizeof(s) - 1;
	memcpy(s, data + 16, n);
	s[n] = '\0';
	memset(err, 0, sizeof(err));
	r = cidr_parse(s, &c, err, sizeof(err));
	CHECK(r == 0 || r == -1);
	if (r == -1)
		CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
	else
		check_block(&c, probe);
	check_net(s, r == 0 && strchr(s, '/') == NULL, probe[0] << 8 |
	    probe[1]);
	return 0;
}
