/*
 * test_http.c -- the HTTP request-head parser: what scrapers send, each
 * thing RFC 9112 rules out, the keep-alive decision, the 8 KiB bound,
 * and byte by byte arrival.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "tap.h"

/* Parse all of s; then every prefix: NEED (or the same error). */
static int
parse(const char *s, struct http_req *r)
{
	struct http_req rr;
	size_t n = strlen(s), i;
	int v = http_parse((const uint8_t *)s, n, r), vi;

	for (i = 0; i < n && i < (v == HTTP_OK ? r->len : n); i++) {
		vi = http_parse((const uint8_t *)s, i, &rr);
		if (vi != HTTP_NEED && vi != v) {
			printf("# prefix of %zu bytes gave %d\n", i, vi);
			return -9;
		}
	}
	return v;
}

static void
test_good(void)
{
	struct http_req r;
	const char *prom = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
	    "User-Agent: Prometheus/2.42.0\r\nAccept: text/plain;"
	    "version=0.0.4;q=1,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\nGET";

	TAP_OK(parse(prom, &r) == HTTP_OK, "a Prometheus scrape");
	TAP_OK(r.len == strlen(prom) - 3, "head length stops at the blank "
	    "line");
	TAP_OK(r.method == HTTP_GET && r.minor == 1 && r.keep_alive &&
	    !r.body, "GET, 1.1, keep-alive by default, no body");
	TAP_OK(http_path_is(&r, "/metrics"), "path /metrics");
	TAP_OK(parse("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", &r) == HTTP_OK &&
	    r.method == HTTP_HEAD && r.minor == 0 && !r.keep_alive &&
	    http_path_is(&r, "/metrics"), "HEAD, 1.0 closes, query ignored");
	TAP_OK(parse("GET /metricsx HTTP/1.0\r\n\r\n", &r) == HTTP_OK &&
	    !http_path_is(&r, "/metrics"), "/metricsx is another path");
	TAP_OK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    &r) == HTTP_OK && r.keep_alive, "1.0 with keep-alive stays");
	TAP_OK(parse("GET / HTTP/1.1\r\nhost:x\r\nconnection: foo, "
	    "CLOSE\r\n\r\n", &r) == HTTP_OK && !r.keep_alive,
	    "1.1 with close (any case, in a list) closes");
	TAP_OK(parse("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "5\r\n\r\nhello", &r) == HTTP_OK && r.method == HTTP_OTHER &&
	    r.body, "POST: another method, with a body");
	TAP_OK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
	    "\r\n", &r) == HTTP_OK && !r.body, "Content-Length 0: no body");
	TAP_OK(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n", &r) == HTTP_OK && r.body, "chunked: a body");
	TAP_OK(parse("GET / HTTP/1.1\r\nHost: \xc3\xa9\t \r\n\r\n", &r) ==
	    HTTP_OK, "obs-text and trailing whitespace in a value");
}

static void
test_bad(void)
{
	static const char *const bad[] = {
		"GET /metrics\r\n\r\n",			/* HTTP/0.9 */
		"GET /metrics HTTP/2.0\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n\r\n",	/* no Host */
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET  / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.0 \r\n\r\n",
		"G(T / HTTP/1.0\r\n\r\n",
		" GET / HTTP/1.0\r\n\r\n",
		"\r\nGET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.0\n\n",			/* bare LF */
		"GET / HTTP/1.0\r\nA: b\rc\r\n\r\n",	/* bare CR */
		"GET / HTTP/1.0\r\nA: b\r\n folded\r\n\r\n",
		"GET / HTTP/1.0\r\nA : b\r\n\r\n",
		"GET / HTTP/1.0\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.0\r\nA: \x01\r\n\r\n",
		"GET / HTTP/1.0\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.0\r\nContent-Length: \r\n\r\n",
		"GET /\x7f HTTP/1.0\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01",		/* a TLS hello */
	};
	struct http_req r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TAP_OK(parse(bad[i], &r) == HTTP_INVALID, "invalid: bad[%zu]",
		    i);
}

static void
test_size(void)
{
	static char big[HTTP_HEAD_MAX + 64];
	struct http_req r;
	size_t n;

	/* exactly 8 KiB with the blank line: accepted */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.0\r\nX: ");
	memset(big + n, 'a', HTTP_HEAD_MAX - n - 4);
	memcpy(big + HTTP_HEAD_MAX - 4, "\r\n\r\n", 5);
	TAP_OK(http_parse((uint8_t *)big, HTTP_HEAD_MAX, &r) == HTTP_OK &&
	    r.len == HTTP_HEAD_MAX, "a head of exactly 8 KiB");
	/* one byte more: too large, whatever follows */
	memset(big + n, 'a', HTTP_HEAD_MAX - n - 3);
	memcpy(big + HTTP_HEAD_MAX - 3, "\r\n\r\n", 5);
	TAP_OK(http_parse((uint8_t *)big, HTTP_HEAD_MAX + 1, &r) ==
	    HTTP_TOO_LARGE, "8 KiB + 1: too large");
	TAP_OK(http_parse((uint8_t *)big, HTTP_HEAD_MAX - 1, &r) == HTTP_NEED,
	    "below 8 KiB with no end yet: need more");
	TAP_OK(http_parse((uint8_t *)"", 0, &r) == HTTP_NEED, "empty: need");
}

int
main(void)
{
	test_good();
	test_bad();
	test_size();
	return TAP_DONE();
}
