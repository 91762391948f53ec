/*
 * drain.c -- ekko drain and ekko undrain: the server's lame duck on and
 * off with the DRAIN op (SPEC sections 7 and 10), for an operator or a
 * Kubernetes preStop hook that has no pidfile to signal through.
 */
#include <stdio.h>
#include <string.h>

#include "ekko.h"
#include "proto.h"
#include "util.h"

/* The state the server reports, made safe for a terminal. */
static void
drain_print(const struct reply *r)
{
	char text[256];
	size_t n = r->len < sizeof(text) - 1 ? r->len : sizeof(text) - 1;

	util_text_safe(text, r->data, n, 0);
	text[n] = '\0';
	printf("%s\n", text);
}

/* Send DRAIN (on) or DRAIN "off", print the state the server reports. */
static int
drain_run(struct target *t, int argc, char **argv, int on)
{
	struct session s;
	struct reply r;
	int rc;

	if (argc > 1) {
		ekko_warn(NULL, "%s: unexpected argument \"%s\"", argv[0],
		    argv[1]);
		return ekko_usage(argv[0], stderr);
	}
	if ((rc = session_open(&s, t)) != EKKO_OK)
		return rc;
	if ((rc = session_call(&s, PROTO_DRAIN, on ? "" : "off", on ? 0 : 3,
	    &r)) == EKKO_OK)
		drain_print(&r);
	session_close(&s);
	return rc;
}

/* ekko drain */
int
drain_main(struct target *t, int argc, char **argv)
{
	return drain_run(t, argc, argv, 1);
}

/* ekko undrain */
int
drain_undrain_main(struct target *t, int argc, char **argv)
{
	return drain_run(t, argc, argv, 0);
}
