/*
 * proxy.c -- parse a PROXY protocol v1 or v2 header, strictly: anything
 * the specification does not allow is invalid, so that a balancer's
 * misconfiguration shows at once instead of as wrong addresses.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <string.h>

#include "proxy.h"

static const char *const proxy_mode_names[] = {
	[PROXY_OFF] = "off",
	[PROXY_V1] = "v1",
	[PROXY_V2] = "v2",
	[PROXY_ANY] = "any",
};

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

#define V1_SIG		"PROXY "
#define V1_SIG_LEN	6
#define V1_FIELD_MAX	48	/* longer than any address or port */

/* The config name of a mode. */
const char *
proxy_mode_name(enum proxy_mode m)
{
	if ((size_t)m >= sizeof(proxy_mode_names) / sizeof(proxy_mode_names[0]))
		return "?";
	return proxy_mode_names[m];
}

/* Does p[0..n) start like sig, as far as it goes?  1 yes, 0 no. */
static int
proxy_prefix(const uint8_t *p, size_t n, const void *sig, size_t siglen)
{
	return memcmp(p, sig, n < siglen ? n : siglen) == 0;
}

/* "the header is the peer's own": LOCAL, UNKNOWN, AF_UNIX, UNSPEC. */
static void
proxy_keep_peer(struct proxy_hdr *h, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->len = len;
	h->family = AF_UNSPEC;
}

/* ---- version 1 ---- */

/*
 * The next space-separated field of the line at *pos into out: exactly
 * one space before it (the first field excepted), nonempty.
 */
static int
v1_field(const char *line, size_t len, size_t *pos, char *out)
{
	size_t start = *pos, i = start;

	while (i < len && line[i] != ' ')
		i++;
	if (i == start || i - start >= V1_FIELD_MAX)
		return -1;
	memcpy(out, line + start, i - start);
	out[i - start] = '\0';
	*pos = i < len ? i + 1 : i;	/* past the single space */
	return i < len && i + 1 == len ? -1 : 0;	/* no trailing space */
}

/* A port: decimal 0..65535, no sign, no leading zero. */
static int
v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An address of the family the protocol names, into the 16-byte form. */
static int
v1_addr(const char *s, int v6, uint8_t *addr)
{
	if (v6)
		return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
	memcpy(addr, v4mapped, 12);
	return inet_pton(AF_INET, s, addr + 12) == 1 ? 0 : -1;
}

/* "TCP4|TCP6 src dst sport dport" (the line without "PROXY " and CRLF). */
static int
v1_tcp(const char *line, size_t len, int v6, struct proxy_hdr *h)
{
	char src[V1_FIELD_MAX], dst[V1_FIELD_MAX], sp[V1_FIELD_MAX],
	    dp[V1_FIELD_MAX];
	uint8_t dummy[16];
	uint16_t dport;
	size_t pos = 5;		/* past "TCPx " */

	if (v1_field(line, len, &pos, src) == -1 ||
	    v1_field(line, len, &pos, dst) == -1 ||
	    v1_field(line, len, &pos, sp) == -1 ||
	    v1_field(line, len, &pos, dp) == -1 || pos != len)
		return PROXY_INVALID;
	if (v1_addr(src, v6, h->addr) == -1 || v1_addr(dst, v6, dummy) == -1 ||
	    v1_port(sp, &h->port) == -1 || v1_port(dp, &dport) == -1)
		return PROXY_INVALID;
	h->family = v6 ? AF_INET6 : AF_INET;
	return PROXY_OK;
}

/* A v1 line: "PROXY " protocol ... CRLF within PROXY_V1_MAX bytes. */
static int
proxy_v1(const uint8_t *p, size_t n, struct proxy_hdr *h)
{
	const char *line;
	size_t i, len, lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX;

	if (!proxy_prefix(p, n, V1_SIG, V1_SIG_LEN))
		return PROXY_INVALID;
	for (i = 0; i < lim; i++) {
		if (p[i] == '\r')
			break;
		if (p[i] < 0x20 || p[i] > 0x7e)
			return PROXY_INVALID;	/* a bare LF among them */
	}
	if (i == lim)
		return n >= PROXY_V1_MAX ? PROXY_INVALID : PROXY_NEED;
	if (i + 1 >= lim)
		return n >= PROXY_V1_MAX ? PROXY_INVALID : PROXY_NEED;
	if (p[i + 1] != '\n' || i < V1_SIG_LEN)
		return PROXY_INVALID;
	line = (const char *)p + V1_SIG_LEN;
	len = i - V1_SIG_LEN;
	proxy_keep_peer(h, i + 2);
	/* UNKNOWN: whatever follows up to the CRLF is to be ignored. */
	if (len == 7 && memcmp(line, "UNKNOWN", 7) == 0)
		return PROXY_OK;
	if (len > 8 && memcmp(line, "UNKNOWN ", 8) == 0)
		return PROXY_OK;
	if (len > 5 && memcmp(line, "TCP4 ", 5) == 0)
		return v1_tcp(line, len, 0, h);
	if (len > 5 && memcmp(line, "TCP6 ", 5) == 0)
		return v1_tcp(line, len, 1, h);
	return PROXY_INVALID;
}

/* ---- version 2 ---- */

/* Every TLV after the addresses lies wholly within the header. */
static int
v2_tlvs_ok(const uint8_t *p, size_t n)
{
	size_t off = 0, vlen;

	while (off < n) {
		if (n - off < 3)
			return 0;
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > n - off - 3)
			return 0;
		off += 3 + vlen;
	}
	return 1;
}

/* The address block of a PROXY command, by family and transport. */
static int
v2_addrs(uint8_t fam, const uint8_t *p, size_t alen, struct proxy_hdr *h)
{
	size_t need;

	switch (fam) {
	case 0x00:		/* UNSPEC: nothing to learn */
		return v2_tlvs_ok(p, alen) ? PROXY_OK : PROXY_INVALID;
	case 0x11:		/* TCP over IPv4 */
		need = 12;
		break;
	case 0x21:		/* TCP over IPv6 */
		need = 36;
		break;
	case 0x31:		/* UNIX stream: no address of ours */
		need = 216;
		break;
	default:		/* datagrams, or not in the specification */
		return PROXY_INVALID;
	}
	if (alen < need || !v2_tlvs_ok(p + need, alen - need))
		return PROXY_INVALID;
	if (fam == 0x11) {
		memcpy(h->addr, v4mapped, 12);
		memcpy(h->addr + 12, p, 4);
		h->port = (uint16_t)(p[8] << 8 | p[9]);
		h->family = AF_INET;
	} else if (fam == 0x21) {
		memcpy(h->addr, p, 16);
		h->port = (uint16_t)(p[32] << 8 | p[33]);
		h->family = AF_INET6;
	}
	return PROXY_OK;
}

/* The binary header: signature, version 2, command, family, length. */
static int
proxy_v2(const uint8_t *p, size_t n, struct proxy_hdr *h)
{
	size_t alen;

	if (!proxy_prefix(p, n, v2_sig, sizeof(v2_sig)))
		return PROXY_INVALID;
	if (n > 12 && (p[12] >> 4 != 2 || (p[12] & 0x0f) > 1))
		return PROXY_INVALID;	/* version 2; LOCAL or PROXY */
	if (n < PROXY_V2_HDR)
		return PROXY_NEED;
	alen = (size_t)p[14] << 8 | p[15];
	if (PROXY_V2_HDR + alen > PROXY_MAX)
		return PROXY_INVALID;
	if (n < PROXY_V2_HDR + alen)
		return PROXY_NEED;
	proxy_keep_peer(h, PROXY_V2_HDR + alen);
	/* LOCAL: the balancer's own (a health check); family ignored. */
	if ((p[12] & 0x0f) == 0)
		return PROXY_OK;
	return v2_addrs(p[13], p + PROXY_V2_HDR, alen, h);
}

/*
 * The header at the start of p[0..n) under mode: PROXY_OK with h filled
 * (h->len bytes to consume; family AF_UNSPEC: keep the peer's address),
 * PROXY_NEED, or PROXY_INVALID -- as early as the bytes show it.
 */
int
proxy_parse(enum proxy_mode mode, const uint8_t *p, size_t n,
    struct proxy_hdr *h)
{
	if (n == 0)
		return PROXY_NEED;
	switch (mode) {
	case PROXY_V1:
		return proxy_v1(p, n, h);
	case PROXY_V2:
		return proxy_v2(p, n, h);
	case PROXY_ANY:
		return p[0] == v2_sig[0] ? proxy_v2(p, n, h) :
		    proxy_v1(p, n, h);
	default:
		return PROXY_INVALID;
	}
}
