/*
 * test_net.c -- numeric addresses, formatting, comparison, and the
 * error texts of listen/connect on the loopback.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "tap.h"
#include "util.h"

/* Addresses that must parse, with their family. */
static void
test_parse_ok(void)
{
	static const struct {
		const char	*host;
		int		 family;
		const char	*text;
	} ok[] = {
		{ "127.0.0.1", AF_INET, "127.0.0.1:8888" },
		{ "0.0.0.0", AF_INET, "0.0.0.0:8888" },
		{ "::1", AF_INET6, "[::1]:8888" },
		{ "[::1]", AF_INET6, "[::1]:8888" },
		{ "::", AF_INET6, "[::]:8888" },
		{ "[::]", AF_INET6, "[::]:8888" },
		{ "2001:DB8::1", AF_INET6, "[2001:db8::1]:8888" },
		{ "::ffff:10.0.0.1", AF_INET6, "[::ffff:10.0.0.1]:8888" },
	};
	struct net_addr a;
	char buf[NET_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < nitems(ok); i++) {
		memset(buf, 0, sizeof(buf));
		TAP_OK(net_parse_addr(ok[i].host, 8888, &a) == 0 &&
		    a.ss.ss_family == ok[i].family &&
		    a.len == (ok[i].family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) &&
		    net_port_of((struct sockaddr *)&a.ss) == 8888 &&
		    strcmp(net_format((struct sockaddr *)&a.ss, buf,
		    sizeof(buf)), ok[i].text) == 0,
		    "parse: \"%s\" -> %s", ok[i].host, buf);
	}
	TAP_OK(net_parse_addr("127.0.0.1", 0, &a) == 0 &&
	    net_port_of((struct sockaddr *)&a.ss) == 0,
	    "parse: port 0 (any) is accepted");
	TAP_OK(net_parse_addr("::1", 65535, &a) == 0 &&
	    net_port_of((struct sockaddr *)&a.ss) == 65535,
	    "parse: port 65535 is accepted");
}

/* Inputs that are not numeric addresses, or bad ports. */
static void
test_parse_bad(void)
{
	static const char *const bad[] = { "localhost", "ip6-localhost",
	    "example.com", "1.2.3", "1.2.3.4.5", "256.1.1.1", "", "[",
	    "[]", "[::1", "::1]", " 127.0.0.1", "127.0.0.1 ", ":::",
	    "127.0.0.1:80", "fe80::1%lo" };
	struct net_addr a;
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		TAP_OK(net_parse_addr(bad[i], 8888, &a) == -1,
		    "parse: \"%s\" rejected, never resolved", bad[i]);
	TAP_OK(net_parse_addr("127.0.0.1", -1, &a) == -1,
	    "parse: port -1 rejected");
	TAP_OK(net_parse_addr("127.0.0.1", 65536, &a) == -1,
	    "parse: port 65536 rejected");
	TAP_OK(net_parse_addr("::1", 100000, &a) == -1,
	    "parse: port 100000 rejected");
}

/* Formatting edge cases. */
static void
test_format(void)
{
	struct sockaddr_un sun;
	struct net_addr a;
	char buf[NET_ADDRSTRLEN], small[8];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	TAP_OK(strcmp(net_format((struct sockaddr *)&sun, buf, sizeof(buf)),
	    "(family 1)") == 0 && net_port_of((struct sockaddr *)&sun) == -1,
	    "format: a non-IP family is named by number");
	net_parse_addr("127.0.0.1", 8888, &a);
	TAP_OK(net_format((struct sockaddr *)&a.ss, small, sizeof(small)) ==
	    small && strcmp(small, "127.0.0") == 0,
	    "format: output cut to the buffer, terminated");
	net_parse_addr("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535,
	    &a);
	net_format((struct sockaddr *)&a.ss, buf, sizeof(buf));
	TAP_OK(strcmp(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")
	    == 0, "format: the longest v6 text fits NET_ADDRSTRLEN");
}

/* Same family, address and port. */
static void
test_same(void)
{
	struct net_addr a, b;

	net_parse_addr("127.0.0.1", 8888, &a);
	net_parse_addr("127.0.0.1", 8888, &b);
	TAP_OK(net_same_addr(&a, &b), "same: equal v4 address and port");
	net_parse_addr("127.0.0.1", 8889, &b);
	TAP_OK(!net_same_addr(&a, &b), "same: another port differs");
	net_parse_addr("127.0.0.2", 8888, &b);
	TAP_OK(!net_same_addr(&a, &b), "same: another address differs");
	net_parse_addr("::ffff:127.0.0.1", 8888, &b);
	TAP_OK(!net_same_addr(&a, &b),
	    "same: v4 and its v4-mapped v6 form are different listeners");
	net_parse_addr("::1", 8888, &a);
	net_parse_addr("[::1]", 8888, &b);
	TAP_OK(net_same_addr(&a, &b), "same: ::1 and [::1]");
	net_parse_addr("::", 8888, &b);
	TAP_OK(!net_same_addr(&a, &b), "same: ::1 and :: differ");
	net_parse_addr("0.0.0.0", 8888, &a);
	TAP_OK(!net_same_addr(&a, &b), "same: 0.0.0.0 and :: differ");
}

/* Listen and connect on the loopback; error texts name call and object. */
static void
test_sockets(void)
{
	struct net_listen_opts o = { 16, 0, 0, 0 };
	struct net_addr a;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char err[256], want[128], as[NET_ADDRSTRLEN];
	int lfd, lfd2, cfd, afd = -1, e;

	net_parse_addr("127.0.0.1", 0, &a);
	lfd = net_listen(&a, &o, err, sizeof(err));
	TAP_OK(lfd >= 0, "listen: 127.0.0.1 port 0");
	if (lfd < 0)
		return;
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	net_parse_addr("127.0.0.1", ntohs(sin.sin_port), &a);
	net_format((struct sockaddr *)&a.ss, as, sizeof(as));
	lfd2 = net_listen(&a, &o, err, sizeof(err));
	e = errno;
	snprintf(want, sizeof(want), "bind %s: %s", as, strerror(EADDRINUSE));
	TAP_OK(lfd2 == -1 && e == EADDRINUSE && strcmp(err, want) == 0,
	    "listen: a port in use fails as \"%s\"", err);
	if (lfd2 >= 0)
		close(lfd2);
	cfd = net_connect(&a, 1000, err, sizeof(err));
	TAP_OK(cfd >= 0, "connect: to our listener");
	TAP_OK(net_wait(lfd, POLLIN, 1000) == 1 &&
	    (afd = accept(lfd, NULL, NULL)) >= 0,
	    "connect: the listener sees the connection");
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	cfd = net_connect(&a, 1000, err, sizeof(err));
	e = errno;
	snprintf(want, sizeof(want), "connect %s: %s", as,
	    strerror(ECONNREFUSED));
	TAP_OK(cfd == -1 && e == ECONNREFUSED && strcmp(err, want) == 0,
	    "connect: a closed port fails as \"%s\"", err);
	if (cfd >= 0)
		close(cfd);
}

int
main(void)
{
	test_parse_ok();
	test_parse_bad();
	test_format();
	test_same();
	test_sockets();
	return TAP_DONE();
}
