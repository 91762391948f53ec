/*
 * test_cidr.c -- CIDR blocks: parsing, matching v4 and v6 peers (a v4
 * peer also as seen through a dual-stack socket), errors, formatting.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "tap.h"
#include "util.h"

/*
 * The 16-byte form of a peer address, going through the sockaddr a
 * socket would give: sockaddr_in for dotted quads, sockaddr_in6 else.
 */
static void
peer(const char *s, uint8_t *addr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		if (cidr_addr_of((struct sockaddr *)&sin, addr) == -1)
			abort();
		return;
	}
	if (inet_pton(AF_INET6, s, &sin6.sin6_addr) != 1)
		abort();
	sin6.sin6_family = AF_INET6;
	if (cidr_addr_of((struct sockaddr *)&sin6, addr) == -1)
		abort();
}

/* Does block b (which must parse) match peer address a? */
static int
matches(const char *b, const char *a)
{
	struct cidr c;
	uint8_t addr[16];
	char err[128];

	if (cidr_parse(b, &c, err, sizeof(err)) == -1)
		abort();
	peer(a, addr);
	return cidr_match(&c, addr);
}

/* A table of block, address, expected match. */
static const struct {
	const char	*block, *addr;
	int		 want;
} match_cases[] = {
	{ "0.0.0.0/0", "1.2.3.4", 1 },
	{ "0.0.0.0/0", "255.255.255.255", 1 },
	{ "0.0.0.0/0", "::1", 0 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "10.0.0.0/8", "10.0.0.0", 1 },
	{ "10.0.0.0/8", "10.255.255.255", 1 },
	{ "10.0.0.0/8", "11.0.0.0", 0 },
	{ "10.0.0.0/8", "9.255.255.255", 0 },
	{ "192.0.2.7/32", "192.0.2.7", 1 },
	{ "192.0.2.7/32", "192.0.2.6", 0 },
	{ "192.0.2.7/32", "192.0.2.8", 0 },
	{ "192.168.1.0/31", "192.168.1.0", 1 },
	{ "192.168.1.0/31", "192.168.1.1", 1 },
	{ "192.168.1.0/31", "192.168.1.2", 0 },
	{ "172.16.0.0/12", "172.31.255.255", 1 },
	{ "172.16.0.0/12", "172.32.0.0", 0 },
	{ "192.0.2.7", "192.0.2.7", 1 },
	{ "192.0.2.7", "192.0.2.17", 0 },
	{ "::/0", "2001:db8::1", 1 },
	{ "::/0", "::", 1 },
	{ "::/0", "1.2.3.4", 1 },
	{ "2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff", 1 },
	{ "2001:db8:1:2::/64", "2001:db8:1:2::", 1 },
	{ "2001:db8:1:2::/64", "2001:db8:1:3::", 0 },
	{ "2001:db8:1:2::/64", "2001:db8:1:1:ffff:ffff:ffff:ffff", 0 },
	{ "2001:db8::/65", "2001:db8::7fff:0:0:1", 1 },
	{ "2001:db8::/65", "2001:db8::8000:0:0:0", 0 },
	{ "::1/128", "::1", 1 },
	{ "::1/128", "::2", 0 },
	{ "::1/128", "::", 0 },
	{ "::1", "::1", 1 },
	{ "::1", "127.0.0.1", 0 },
	{ "fe80::/10", "febf::1", 1 },
	{ "fe80::/10", "fec0::1", 0 },
	{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
	{ "10.0.0.0/8", "::10.1.2.3", 0 },
	{ "10.1.2.3/8", "10.200.0.1", 1 },
	{ "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
	{ "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
};

/* Blocks matched against peers. */
static void
test_match(void)
{
	size_t i;

	for (i = 0; i < nitems(match_cases); i++)
		TAP_OK(matches(match_cases[i].block, match_cases[i].addr) ==
		    match_cases[i].want, "match: %s %s %s",
		    match_cases[i].block, match_cases[i].want ? "matches" :
		    "does not match", match_cases[i].addr);
}

/* What is stored: v4 mapped, prefix in 16-byte terms, host bits off. */
static void
test_stored(void)
{
	static const uint8_t ten[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 10, 0, 0, 0 };
	struct cidr c;
	char err[128];

	TAP_OK(cidr_parse("10.1.2.3/8", &c, err, sizeof(err)) == 0 &&
	    c.prefix == 104 && memcmp(c.addr, ten, 16) == 0,
	    "parse: 10.1.2.3/8 is stored as ::ffff:10.0.0.0/104, host bits "
	    "cleared");
	TAP_OK(cidr_parse("1.2.3.4", &c, err, sizeof(err)) == 0 &&
	    c.prefix == 128, "parse: a bare v4 address is a host (/32)");
	TAP_OK(cidr_parse("2001:db8::1", &c, err, sizeof(err)) == 0 &&
	    c.prefix == 128, "parse: a bare v6 address is a host (/128)");
	TAP_OK(cidr_parse("2001:db8::ff/121", &c, err, sizeof(err)) == 0 &&
	    c.addr[15] == 0x80, "parse: host bits cleared inside a byte");
}

/* Peer addresses from sockets of each family. */
static void
test_addr_of(void)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct cidr c;
	uint8_t addr[16];
	char err[128];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	TAP_OK(cidr_addr_of((struct sockaddr *)&sin6, addr) == 0 &&
	    cidr_parse("10.0.0.0/8", &c, err, sizeof(err)) == 0 &&
	    cidr_match(&c, addr),
	    "addr_of: a v4 block matches a v4-mapped peer on a v6 socket");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	TAP_OK(cidr_addr_of((struct sockaddr *)&sun, addr) == -1,
	    "addr_of: a non-IP family is refused");
}

/* Lists, as admin_allow and allow/deny use them. */
static void
test_list(void)
{
	struct cidr l[2];
	uint8_t a[16];
	char err[128];

	cidr_parse("127.0.0.0/8", &l[0], err, sizeof(err));
	cidr_parse("::1/128", &l[1], err, sizeof(err));
	peer("::1", a);
	TAP_OK(cidr_match_list(l, 2, a), "list: second entry matches");
	peer("127.3.3.3", a);
	TAP_OK(cidr_match_list(l, 2, a), "list: first entry matches");
	peer("10.0.0.1", a);
	TAP_OK(!cidr_match_list(l, 2, a), "list: no entry matches");
	TAP_OK(!cidr_match_list(l, 0, a), "list: an empty list matches none");
}

/* Inputs that are not CIDR blocks. */
static void
test_bad(void)
{
	static const char *const bad[] = { "", "1.2.3.4/33", "::1/129",
	    "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/ 8", "abc", "10.0.0.0/8x",
	    "localhost", "localhost/8", "ip6-localhost", "example.com/24",
	    "/8", "1.2.3", "1.2.3.4.5", "256.0.0.0/8", " 1.2.3.4",
	    "1.2.3.4 ", "1.2.3.4/8/8", "1.2.3.4/+8", "1.2.3.4/0x8",
	    "1.2.3.4/1000", "::1/", "::1/abc", ":::1", "1.2.3.4/4294967304",
	    "10.0.0.0/8 ", "fe80::1%lo" };
	struct cidr c;
	char err[128];
	char big[200];
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		strcpy(err, "");
		TAP_OK(cidr_parse(bad[i], &c, err, sizeof(err)) == -1 &&
		    err[0] != '\0' && strstr(err, bad[i]) != NULL,
		    "bad: \"%s\" rejected, error names it: %s", bad[i], err);
	}
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strcpy(err, "");
	TAP_OK(cidr_parse(big, &c, err, sizeof(err)) == -1 &&
	    strstr(err, "too long") != NULL,
	    "bad: a 199-byte string is rejected as too long: %s", err);
	TAP_OK(cidr_parse("1.2.3.4/33", &c, err, 8) == -1 &&
	    strlen(err) == 7, "bad: the error text is cut to fit its buffer");
}

/* Formatting and parsing back. */
static void
test_format(void)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "10.1.2.3/8", "10.0.0.0/8" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "192.0.2.7", "192.0.2.7/32" },
		{ "192.168.1.1/31", "192.168.1.0/31" },
		{ "::1", "::1/128" },
		{ "::/0", "::/0" },
		{ "2001:DB8:1:2:3::/64", "2001:db8:1:2::/64" },
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8" },
		{ "::ffff:0:0/95", "::fffe:0:0/95" },
		{ "fe80::1/10", "fe80::/10" },
	};
	struct cidr c, d;
	char buf[64], err[128];
	size_t i;
	int n;

	for (i = 0; i < nitems(cases); i++) {
		n = -1;
		if (cidr_parse(cases[i].in, &c, err, sizeof(err)) == 0)
			n = cidr_format(&c, buf, sizeof(buf));
		TAP_OK(n > 0 && (size_t)n == strlen(buf) &&
		    strcmp(buf, cases[i].out) == 0 &&
		    cidr_parse(buf, &d, err, sizeof(err)) == 0 &&
		    d.prefix == c.prefix && memcmp(d.addr, c.addr, 16) == 0,
		    "format: %s -> %s and back to the same block", cases[i].in,
		    cases[i].out);
	}
}

int
main(void)
{
	test_match();
	test_stored();
	test_addr_of();
	test_list();
	test_bad();
	test_format();
	return TAP_DONE();
}
