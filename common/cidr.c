/*
 * cidr.c -- parse and match CIDR blocks.  Numeric only: no resolver is
 * ever asked, so parsing never sends a packet or blocks.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Parse a numeric IPv4 or IPv6 address into the 16-byte form. */
static int
cidr_parse_addr(const char *s, uint8_t *addr, int *is_v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(addr, v4mapped, 12);
		memcpy(addr + 12, &a4, 4);
		*is_v4 = 1;
		return 0;
	}
	*is_v4 = 0;
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
}

/* Parse the "/N" part; -1 if it is not a plain decimal within max. */
static int
cidr_parse_prefix(const char *s, unsigned int max, unsigned int *prefix)
{
	unsigned long v = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > max)
		return -1;
	*prefix = (unsigned int)v;
	return 0;
}

/* Clear the host bits so that "10.1.2.3/8" matches like "10.0.0.0/8". */
static void
cidr_mask(struct cidr *c)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (c->prefix >= (i + 1) * 8)
			continue;
		if (c->prefix <= i * 8)
			c->addr[i] = 0;
		else
			c->addr[i] &= (uint8_t)(0xff << (8 - c->prefix % 8));
	}
}

/*
 * Parse "addr" or "addr/prefix".  A bare address is a host (/32, /128).
 * On error, err says what is wrong.
 */
int
cidr_parse(const char *s, struct cidr *c, char *err, size_t errlen)
{
	char buf[64];
	char *slash;
	int is_v4;
	unsigned int prefix;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "invalid CIDR \"%.64s...\": too long", s);
		return -1;
	}
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (cidr_parse_addr(buf, c->addr, &is_v4) == -1) {
		snprintf(err, errlen, "invalid CIDR \"%s\": bad address", s);
		return -1;
	}
	if (slash == NULL)
		prefix = is_v4 ? 32 : 128;
	else if (cidr_parse_prefix(slash, is_v4 ? 32 : 128, &prefix) == -1) {
		snprintf(err, errlen, "invalid CIDR \"%s\": bad prefix length",
		    s);
		return -1;
	}
	c->prefix = is_v4 ? prefix + 96 : prefix;
	cidr_mask(c);
	return 0;
}

/* Does the 16-byte address fall in the block? */
int
cidr_match(const struct cidr *c, const uint8_t *addr)
{
	unsigned int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return (addr[full] & (uint8_t)(0xff << (8 - rest))) == c->addr[full];
}

/* Does the address fall in any block of the list? */
int
cidr_match_list(const struct cidr *list, size_t n, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_match(&list[i], addr))
			return 1;
	return 0;
}

/* The 16-byte form of a socket address; -1 for a family not IP. */
int
cidr_addr_of(const struct sockaddr *sa, uint8_t *addr)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		memcpy(addr, v4mapped, 12);
		memcpy(addr + 12, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		memcpy(addr, &sin6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* Format a block back as text, v4 blocks in dotted form. */
int
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (memcmp(c->addr, v4mapped, 12) == 0 && c->prefix >= 96) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		return snprintf(buf, len, "%s/%u", a, c->prefix - 96);
	}
	inet_ntop(AF_INET6, c->addr, a, sizeof(a));
	return snprintf(buf, len, "%s/%u", a, c->prefix);
}
