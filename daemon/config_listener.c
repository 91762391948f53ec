/*
 * config_listener.c -- the listeners = ( ... ) part of the configuration:
 * each listener's keys, the rules between them, and duplicates.  The
 * helpers that report and fetch values are config.c's.
 */
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ekkod.h"
#include "util.h"

/* Parse a delimiter: 1 to FRAME_DELIM_MAX bytes, taken as written. */
static void
config_listener_delimiter(struct cfgctx *x, config_setting_t *s,
    struct listener_conf *l)
{
	const char *v;

	if ((v = config_str(x, s, "delimiter", FRAME_DELIM_MAX + 1)) == NULL)
		return;
	if (*v == '\0') {
		config_error(x, s, "delimiter: must not be empty");
		return;
	}
	l->framer.delim_len = strlen(v);
	memcpy(l->framer.delim, v, l->framer.delim_len);
}

/* address = "..." : numeric only, never resolved. */
static void
config_listener_address(struct cfgctx *x, config_setting_t *s,
    struct listener_conf *l)
{
	struct net_addr a;
	const char *v;

	if ((v = config_str(x, s, "address", sizeof(l->address))) == NULL)
		return;
	if (net_parse_addr(v, 1, &a) == -1) {
		config_error(x, s, "address: \"%s\" is not a numeric IPv4 "
		    "or IPv6 address", v);
		return;
	}
	util_strlcpy(l->address, v, sizeof(l->address));
}

/* mode and framing names. */
static void
config_listener_mode(struct cfgctx *x, config_setting_t *s, struct listener_conf *l)
{
	const char *v;

	if ((v = config_str(x, s, "mode", 16)) == NULL)
		return;
	if (strcmp(v, "echo") == 0)
		l->mode = MODE_ECHO;
	else if (strcmp(v, "command") == 0)
		l->mode = MODE_COMMAND;
	else
		config_error(x, s, "mode: unknown mode \"%s\" (echo, "
		    "command)", v);
}

static void
config_listener_framing(struct cfgctx *x, config_setting_t *s,
    struct listener_conf *l)
{
	const char *v;

	if ((v = config_str(x, s, "framing", 16)) == NULL)
		return;
	if (frame_parse_name(v, &l->framer.kind) == -1)
		config_error(x, s, "framing: unknown framing \"%s\" (raw, "
		    "line, fixed, length)", v);
}

/* One member of a listener group. */
static void
config_listener_key(struct cfgctx *x, config_setting_t *s,
    struct listener_conf *l, int *seen)
{
	const char *name = config_setting_name(s);
	long v;

	if (strcmp(name, "address") == 0) {
		config_listener_address(x, s, l);
		*seen |= 4;
	} else if (strcmp(name, "port") == 0) {
		if (config_int(x, s, "port", 1, 65535, &v) == 0)
			l->port = (int)v;
		*seen |= 8;
	} else if (strcmp(name, "mode") == 0)
		config_listener_mode(x, s, l);
	else if (strcmp(name, "framing") == 0)
		config_listener_framing(x, s, l);
	else if (strcmp(name, "frame_size") == 0) {
		if (config_int(x, s, "frame_size", 1, 256L << 20, &v) == 0)
			l->framer.frame_size = (size_t)v;
		*seen |= 1;
	} else if (strcmp(name, "delimiter") == 0) {
		config_listener_delimiter(x, s, l);
		*seen |= 2;
	} else if (strcmp(name, "allow") == 0)
		config_cidrs(x, s, "allow", &l->allow, &l->nallow);
	else if (strcmp(name, "deny") == 0)
		config_cidrs(x, s, "deny", &l->deny, &l->ndeny);
	else
		config_error(x, s, "unknown key \"listeners.%s\"", name);
}

/* Checks across a listener's keys, once all are read. */
static void
config_listener_check(struct cfgctx *x, config_setting_t *g,
    struct listener_conf *l, int seen)
{
	/* A key given with a bad value was reported already. */
	if (!(seen & 4))
		config_error(x, g, "listener: address is required");
	if (!(seen & 8))
		config_error(x, g, "listener: port is required");
	if (l->mode == MODE_COMMAND && l->framer.kind != FRAMING_LENGTH &&
	    l->framer.kind != FRAMING_LINE)
		config_error(x, g, "listener: mode \"command\" needs framing "
		    "\"length\" or \"line\", not \"%s\"",
		    frame_name(l->framer.kind));
	if (l->framer.kind == FRAMING_FIXED && !(seen & 1))
		config_error(x, g, "listener: framing \"fixed\" needs "
		    "frame_size");
	if (l->framer.kind != FRAMING_FIXED && (seen & 1))
		config_error(x, g, "listener: frame_size is only for framing "
		    "\"fixed\"");
	if (l->framer.kind != FRAMING_LINE && (seen & 2))
		config_error(x, g, "listener: delimiter is only for framing "
		    "\"line\"");
	if (l->address[0] != '\0' && l->port != 0 &&
	    net_parse_addr(l->address, l->port, &l->addr) == -1)
		config_error(x, g, "listener: bad address \"%s\"", l->address);
}

/* One listener group, defaults first: echo, raw, "\n". */
static void
config_listener(struct cfgctx *x, config_setting_t *g,
    struct listener_conf *l)
{
	int i, n, seen = 0;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->mode = MODE_ECHO;
	l->framer.kind = FRAMING_RAW;
	l->framer.delim[0] = '\n';
	l->framer.delim_len = 1;
	l->line = config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_error(x, g, "listeners: each listener is a group "
		    "{ address = ...; port = ...; }");
		return;
	}
	n = config_setting_length(g);
	for (i = 0; i < n; i++)
		config_listener_key(x, config_setting_get_elem(g, i), l,
		    &seen);
	config_listener_check(x, g, l, seen);
}

/* Two listeners on one address and port cannot both bind. */
static void
config_listener_dups(struct cfgctx *x, config_setting_t *s)
{
	struct config *cf = x->cf;
	char as[NET_ADDRSTRLEN];
	size_t i, j;

	for (i = 0; i < cf->nlisteners; i++)
		for (j = 0; j < i; j++) {
			if (cf->listeners[i].port == 0 ||
			    !net_same_addr(&cf->listeners[i].addr,
			    &cf->listeners[j].addr))
				continue;
			config_error(x, config_setting_get_elem(s, (int)i),
			    "listeners: duplicate listener %s (also at line "
			    "%d)", net_format((struct sockaddr *)
			    &cf->listeners[i].addr.ss, as, sizeof(as)),
			    config_setting_source_line(
			    config_setting_get_elem(s, (int)j)));
			break;
		}
}

/* listeners = ( {...}, ... ) replaces the default listeners. */
void
config_listeners(struct cfgctx *x, config_setting_t *s)
{
	struct config *cf = x->cf;
	int i, n, t = config_setting_type(s);

	if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
		config_error(x, s, "listeners: expected a list ( {...}, ... )");
		return;
	}
	n = config_setting_length(s);
	if (n == 0 || n > 64) {
		config_error(x, s, "listeners: need 1 to 64 listeners, not %d",
		    n);
		return;
	}
	free(cf->listeners);
	cf->nlisteners = 0;
	if ((cf->listeners = calloc((size_t)n, sizeof(*cf->listeners))) ==
	    NULL)
		return;
	for (i = 0; i < n; i++)
		config_listener(x, config_setting_get_elem(s, i),
		    &cf->listeners[cf->nlisteners++]);
	config_listener_dups(x, s);
}

