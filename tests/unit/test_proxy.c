/*
 * test_proxy.c -- the PROXY protocol parser against the examples of
 * haproxy's proxy-protocol.txt, every bad input it rules out, and byte
 * by byte arrival.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"
#include "tap.h"

#define V6MAX	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header: command byte, family byte, then alen bytes of body. */
static size_t
v2(uint8_t *out, uint8_t cmd, uint8_t fam, const uint8_t *body,
    size_t alen)
{
	memcpy(out, sig, 12);
	out[12] = cmd;
	out[13] = fam;
	out[14] = (uint8_t)(alen >> 8);
	out[15] = (uint8_t)alen;
	if (body != NULL)
		memcpy(out + 16, body, alen);
	else
		memset(out + 16, 0, alen);
	return 16 + alen;
}

/* Parse all of p; then feed it byte by byte: NEED until the whole. */
static int
parse_both(enum proxy_mode m, const uint8_t *p, size_t n,
    struct proxy_hdr *h)
{
	struct proxy_hdr hh;
	size_t i;
	int r = proxy_parse(m, p, n, h), ri;

	if (r != PROXY_OK)
		return r;
	for (i = 0; i < h->len; i++)
		if ((ri = proxy_parse(m, p, i, &hh)) != PROXY_NEED) {
			printf("# prefix of %zu bytes gave %d\n", i, ri);
			return -2;
		}
	return r;
}

/* The 16-byte form of a numeric address. */
static void
addr16(const char *s, uint8_t *a)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET6, s, a) == 1)
		return;
	a[10] = a[11] = 0xff;
	inet_pton(AF_INET, s, a + 12);
}

/* A good v1 line: OK, its whole length, the family, address, port. */
static void
good_v1(enum proxy_mode m, const char *line, int fam, const char *src,
    uint16_t port)
{
	struct proxy_hdr h;
	uint8_t want[16];
	size_t n = strlen(line);
	char extra[256];
	int r;

	/* the client's first bytes follow in the same segment */
	snprintf(extra, sizeof(extra), "%shello\r\n", line);
	r = parse_both(m, (const uint8_t *)extra, strlen(extra), &h);
	TAP_OK(r == PROXY_OK && h.len == n && h.family == fam,
	    "v1 %.*s: ok, %zu bytes (got %d, %zu)", (int)n - 2, line, n, r,
	    h.len);
	if (fam != AF_UNSPEC) {
		addr16(src, want);
		TAP_OK(memcmp(h.addr, want, 16) == 0 && h.port == port,
		    "v1 %.*s: source %s port %u", (int)n - 2, line, src,
		    port);
	}
}

/* A bad input: INVALID, and never OK for any prefix of it. */
static void
bad(enum proxy_mode m, const uint8_t *p, size_t n, const char *what)
{
	struct proxy_hdr h;
	size_t i;
	int r = proxy_parse(m, p, n, &h), ok = 0;

	for (i = 0; i < n; i++)
		if (proxy_parse(m, p, i, &h) == PROXY_OK)
			ok = 1;
	TAP_OK(r == PROXY_INVALID && !ok, "invalid: %s (got %d)", what, r);
}

static void
bad_v1(const char *line, const char *what)
{
	bad(PROXY_V1, (const uint8_t *)line, strlen(line), what);
	bad(PROXY_ANY, (const uint8_t *)line, strlen(line), what);
}

static void
test_v1_good(void)
{
	char line[128];

	good_v1(PROXY_V1, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	    AF_INET, "192.168.0.1", 56324);
	good_v1(PROXY_ANY, "PROXY TCP4 255.255.255.255 255.255.255.255 65535 "
	    "65535\r\n", AF_INET, "255.255.255.255", 65535);
	good_v1(PROXY_V1, "PROXY TCP6 2001:db8::1 2001:db8::2 0 1\r\n",
	    AF_INET6, "2001:db8::1", 0);
	/* the worst case of the specification: 107 bytes exactly */
	snprintf(line, sizeof(line), "PROXY TCP6 %s %s 65535 65535\r\n",
	    V6MAX, V6MAX);
	TAP_OK(strlen(line) == 104, "the longest TCP6 line is 104 bytes");
	good_v1(PROXY_ANY, line, AF_INET6, V6MAX, 65535);
	good_v1(PROXY_V1, "PROXY UNKNOWN\r\n", AF_UNSPEC, NULL, 0);
	snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 65535\r\n",
	    V6MAX, V6MAX);
	TAP_OK(strlen(line) == PROXY_V1_MAX, "the longest line is 107 bytes");
	good_v1(PROXY_V1, line, AF_UNSPEC, NULL, 0);
}

static void
test_v1_bad(void)
{
	char line[256];

	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "LF without CR");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx", "CR without LF");
	bad_v1("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "two spaces");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "trailing space");
	bad_v1("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "two spaces first");
	bad_v1("PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "a tab");
	bad_v1("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "lower case");
	bad_v1("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "unknown protocol");
	bad_v1("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "protocol lower case");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "a port missing");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "a field too many");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "port over 65535");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "port leading zero");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "negative port");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", "port with a sign");
	bad_v1("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "octet over 255");
	bad_v1("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "three octets");
	bad_v1("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "octet leading zero");
	bad_v1("PROXY TCP4 ::1 ::1 1 2\r\n", "TCP4 with IPv6 addresses");
	bad_v1("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "TCP6 with IPv4 addresses");
	bad_v1("PROXY TCP4 host 5.6.7.8 1 2\r\n", "a name, not an address");
	bad_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x01\r\n", "a control byte");
	bad_v1("PROXY \r\n", "no protocol");
	bad_v1("PROXY\r\n", "no space");
	bad_v1("PROXY UNKNOWNX\r\n", "UNKNOWN run on");
	bad_v1("GET / HTTP/1.0\r\n", "not a header");
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	strcpy(line + PROXY_V1_MAX - 1, "\r\n");
	bad_v1(line, "108 bytes with its CRLF");
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	line[PROXY_V1_MAX] = '\0';
	bad_v1(line, "107 bytes without a CRLF");
}

/* A good v2 header (and the client's bytes after it). */
static void
good_v2(enum proxy_mode m, const uint8_t *p, size_t n, int fam,
    const char *src, uint16_t port, const char *what)
{
	struct proxy_hdr h;
	uint8_t buf[PROXY_MAX + 16], want[16];
	int r;

	memcpy(buf, p, n);
	memcpy(buf + n, "abc", 3);
	r = parse_both(m, buf, n + 3, &h);
	TAP_OK(r == PROXY_OK && h.len == n && h.family == fam,
	    "v2 %s: ok, %zu bytes (got %d, %zu)", what, n, r, h.len);
	if (fam != AF_UNSPEC) {
		addr16(src, want);
		TAP_OK(memcmp(h.addr, want, 16) == 0 && h.port == port,
		    "v2 %s: source %s port %u", what, src, port);
	}
}

static void
test_v2_good(void)
{
	static const uint8_t in4[12] = { 10, 1, 2, 3, 127, 0, 0, 1,
	    0xdc, 0x05, 0x22, 0xb8 };
	uint8_t in6[36], un[216], b[PROXY_MAX + 16], body[PROXY_MAX];
	size_t n;

	n = v2(b, 0x21, 0x11, in4, sizeof(in4));
	good_v2(PROXY_V2, b, n, AF_INET, "10.1.2.3", 56325, "PROXY TCP4");
	good_v2(PROXY_ANY, b, n, AF_INET, "10.1.2.3", 56325, "any, TCP4");
	memset(in6, 0, sizeof(in6));
	addr16("2001:db8::7", in6);
	in6[32] = 0x01;
	in6[33] = 0x02;
	n = v2(b, 0x21, 0x21, in6, sizeof(in6));
	good_v2(PROXY_V2, b, n, AF_INET6, "2001:db8::7", 258, "PROXY TCP6");
	memset(un, 'u', sizeof(un));
	n = v2(b, 0x21, 0x31, un, sizeof(un));
	good_v2(PROXY_V2, b, n, AF_UNSPEC, NULL, 0, "PROXY AF_UNIX");
	n = v2(b, 0x21, 0x00, NULL, 0);
	good_v2(PROXY_V2, b, n, AF_UNSPEC, NULL, 0, "PROXY UNSPEC");
	n = v2(b, 0x20, 0x00, NULL, 0);
	good_v2(PROXY_V2, b, n, AF_UNSPEC, NULL, 0, "LOCAL");
	/* LOCAL: the family and its addresses are ignored */
	n = v2(b, 0x20, 0x11, in4, sizeof(in4));
	good_v2(PROXY_ANY, b, n, AF_UNSPEC, NULL, 0, "LOCAL with TCP4");
	/* TLVs after the addresses: ALPN "h2", NOOP padding, a unique id */
	memcpy(body, in4, 12);
	memcpy(body + 12, "\x01\x00\x02h2\x04\x00\x03\x00\x00\x00"
	    "\x05\x00\x04" "ABCD", 18);
	n = v2(b, 0x21, 0x11, body, 30);
	good_v2(PROXY_V2, b, n, AF_INET, "10.1.2.3", 56325, "TCP4 + TLVs");
	/* the largest we take: 4096 bytes in all, one long TLV */
	memcpy(body, in4, 12);
	body[12] = 0xe0;
	body[13] = (PROXY_MAX - 16 - 12 - 3) >> 8;
	body[14] = (PROXY_MAX - 16 - 12 - 3) & 0xff;
	memset(body + 15, 'x', PROXY_MAX - 16 - 12 - 3);
	n = v2(b, 0x21, 0x11, body, PROXY_MAX - 16);
	good_v2(PROXY_V2, b, n, AF_INET, "10.1.2.3", 56325, "4096 bytes");
}

static void
test_v2_bad(void)
{
	static const uint8_t in4[12] = { 10, 1, 2, 3, 127, 0, 0, 1, 0, 1, 0, 2 };
	uint8_t b[PROXY_MAX + 64], body[64];
	size_t n;

	n = v2(b, 0x21, 0x11, in4, sizeof(in4));
	b[7] = 'q';
	bad(PROXY_V2, b, n, "v2 wrong signature");
	n = v2(b, 0x11, 0x11, in4, sizeof(in4));
	bad(PROXY_V2, b, n, "v2 version 1 in the binary header");
	n = v2(b, 0x31, 0x11, in4, sizeof(in4));
	bad(PROXY_V2, b, n, "v2 version 3");
	n = v2(b, 0x22, 0x11, in4, sizeof(in4));
	bad(PROXY_V2, b, n, "v2 command 2");
	n = v2(b, 0x21, 0x12, in4, sizeof(in4));
	bad(PROXY_V2, b, n, "v2 UDP over IPv4");
	n = v2(b, 0x21, 0x41, in4, sizeof(in4));
	bad(PROXY_V2, b, n, "v2 family 4");
	n = v2(b, 0x21, 0x13, in4, sizeof(in4));
	bad(PROXY_V2, b, n, "v2 transport 3");
	n = v2(b, 0x21, 0x11, in4, 11);
	bad(PROXY_V2, b, n, "v2 IPv4 block too short");
	n = v2(b, 0x21, 0x21, NULL, 35);
	bad(PROXY_V2, b, n, "v2 IPv6 block too short");
	n = v2(b, 0x21, 0x31, NULL, 215);
	bad(PROXY_V2, b, n, "v2 UNIX block too short");
	memcpy(body, in4, 12);
	memcpy(body + 12, "\x01\x00\x09h2", 5);
	n = v2(b, 0x21, 0x11, body, 17);
	bad(PROXY_V2, b, n, "v2 TLV beyond the header");
	memcpy(body + 12, "\x01\x00", 2);
	n = v2(b, 0x21, 0x11, body, 14);
	bad(PROXY_V2, b, n, "v2 TLV header cut short");
	n = v2(b, 0x21, 0x11, NULL, PROXY_MAX - 16 + 1);
	bad(PROXY_V2, b, 16, "v2 over 4 KiB, known from the length");
	n = v2(b, 0x21, 0x11, in4, sizeof(in4));
	bad(PROXY_V1, b, n, "v2 header to a v1 listener");
	bad(PROXY_V2, (const uint8_t *)"PROXY UNKNOWN\r\n", 15,
	    "v1 header to a v2 listener");
	bad(PROXY_ANY, (const uint8_t *)"\r\nGET", 5, "any: neither");
	bad(PROXY_OFF, b, n, "mode off parses nothing");
}

/* Truncated input is "need more" for as long as it could complete. */
static void
test_need(void)
{
	struct proxy_hdr h;
	uint8_t b[64];

	TAP_OK(proxy_parse(PROXY_ANY, b, 0, &h) == PROXY_NEED, "empty: need");
	TAP_OK(proxy_parse(PROXY_V1, (const uint8_t *)"PRO", 3, &h) ==
	    PROXY_NEED, "PRO: need");
	TAP_OK(proxy_parse(PROXY_V1, (const uint8_t *)"PROXY TCP4 1.2.3.4\r",
	    19, &h) == PROXY_NEED, "up to the CR: need");
	v2(b, 0x21, 0x11, NULL, 12);
	TAP_OK(proxy_parse(PROXY_V2, b, 27, &h) == PROXY_NEED,
	    "v2 one byte short: need");
	TAP_OK(proxy_parse(PROXY_V2, b, 13, &h) == PROXY_NEED,
	    "v2 signature and command: need");
	TAP_OK(strcmp(proxy_mode_name(PROXY_ANY), "any") == 0 &&
	    strcmp(proxy_mode_name(PROXY_OFF), "off") == 0, "mode names");
}

int
main(void)
{
	test_v1_good();
	test_v1_bad();
	test_v2_good();
	test_v2_bad();
	test_need();
	return TAP_DONE();
}
