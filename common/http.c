/*
 * http.c -- parse the head of an HTTP/1.0 or 1.1 request, strictly.
 *
 * The parser walks complete lines only, so a head arriving in pieces
 * gets the same verdict as the whole; a byte no head may hold (a control
 * character, a bare LF) makes it invalid as soon as it arrives rather
 * than at the frame timeout.
 */
#include <string.h>
#include <strings.h>

#include "http.h"

/* A tchar of RFC 9110 5.6.2: what a method or a field name is made of. */
static int
http_tchar(uint8_t ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* May ch appear in a head at all?  Visible, SP, HT, obs-text, CR, LF. */
static int
http_byte_ok(uint8_t ch)
{
	return ch >= 0x20 ? ch != 0x7f : ch == '\t' || ch == '\r' ||
	    ch == '\n';
}

/*
 * The request line: method SP target SP "HTTP/1." digit.  0 ok, -1 not.
 */
static int
http_request_line(const uint8_t *p, size_t n, struct http_req *r)
{
	size_t i = 0, m;

	while (i < n && http_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return -1;
	m = i;
	if (m == 3 && memcmp(p, "GET", 3) == 0)
		r->method = HTTP_GET;
	else if (m == 4 && memcmp(p, "HEAD", 4) == 0)
		r->method = HTTP_HEAD;
	else
		r->method = HTTP_OTHER;
	r->path = (const char *)p + ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	r->pathlen = (size_t)((const char *)p + i - r->path);
	if (r->pathlen == 0 || n - i != 9 || memcmp(p + i, " HTTP/1.", 8) ||
	    (p[i + 8] != '0' && p[i + 8] != '1'))
		return -1;
	r->minor = p[i + 8] - '0';
	r->keep_alive = r->minor == 1;
	return 0;
}

/* Does the comma-separated list v[0..n) hold token tok (any case)? */
static int
http_has_token(const uint8_t *v, size_t n, const char *tok)
{
	size_t i = 0, s, e, tl = strlen(tok);

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp((const char *)v + s, tok,
		    tl) == 0)
			return 1;
	}
	return 0;
}

/* Content-Length: digits only; a body we will not read if nonzero. */
static int
http_content_length(const uint8_t *v, size_t n, struct http_req *r)
{
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (v[i] != '0')
			r->body = 1;
	}
	return 0;
}

/* One header line: name ":" OWS value OWS.  0 ok, -1 not. */
static int
http_header(const uint8_t *p, size_t n, struct http_req *r, int *host)
{
	size_t i = 0, nl, e;
	const uint8_t *v;

	while (i < n && http_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':')
		return -1;	/* obs-fold and "name :" too */
	nl = i++;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (e = n; e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'); e--)
		;
	v = p + i;
	if (nl == 4 && strncasecmp((const char *)p, "host", 4) == 0)
		(*host)++;
	else if (nl == 10 && strncasecmp((const char *)p, "connection",
	    10) == 0) {
		if (http_has_token(v, e - i, "close"))
			r->keep_alive = 0;
		else if (http_has_token(v, e - i, "keep-alive"))
			r->keep_alive = 1;
	} else if (nl == 14 && strncasecmp((const char *)p,
	    "content-length", 14) == 0)
		return http_content_length(v, e - i, r);
	else if (nl == 17 && strncasecmp((const char *)p,
	    "transfer-encoding", 17) == 0)
		r->body = 1;
	return 0;
}

/*
 * The head in p[0..n): HTTP_OK with *r filled (r->len bytes, the blank
 * line included), HTTP_NEED, HTTP_INVALID, or HTTP_TOO_LARGE when
 * HTTP_HEAD_MAX bytes hold no blank line.  Bytes after the head are not
 * looked at.  An HTTP/1.1 request must name its Host (RFC 9112 3.2).
 */
int
http_parse(const uint8_t *p, size_t n, struct http_req *r)
{
	size_t at = 0, i;
	int host = 0, line = 0;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < n && i < HTTP_HEAD_MAX; i++) {
		if (!http_byte_ok(p[i]))
			return HTTP_INVALID;
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			if (i + 1 < n)
				return HTTP_INVALID;	/* CR alone */
		if (p[i] != '\n')
			continue;
		if (i == 0 || p[i - 1] != '\r')
			return HTTP_INVALID;		/* LF alone */
		if (i - 1 == at) {			/* the blank line */
			if (line == 0 || (r->minor == 1 && host != 1))
				return HTTP_INVALID;
			r->len = i + 1;
			return HTTP_OK;
		}
		if ((line++ == 0 ? http_request_line(p + at, i - 1 - at, r) :
		    http_header(p + at, i - 1 - at, r, &host)) == -1)
			return HTTP_INVALID;
		at = i + 1;
	}
	return n >= HTTP_HEAD_MAX ? HTTP_TOO_LARGE : HTTP_NEED;
}

/* Is the request's path p, with or without a query string? */
int
http_path_is(const struct http_req *r, const char *p)
{
	size_t pl = strlen(p);

	return r->pathlen >= pl && memcmp(r->path, p, pl) == 0 &&
	    (r->pathlen == pl || r->path[pl] == '?');
}
