/*
 * config_listener.c -- the listeners = ( ... ) part of the configuration:
 * the handlers of its keys that are more than a type and a range, the
 * rules between a listener's keys, and duplicates.  The rows themselves
 * are in config.c's table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "util.h"

/* delimiter = "..." : 1 to FRAME_DELIM_MAX bytes, taken as written. */
void
config_listener_delimiter(struct cfgctx *x, config_setting_t *s,
    const char *what, void *base)
{
	struct listener_conf *l = base;
	const char *v;

	if ((v = config_str(x, s, what, FRAME_DELIM_MAX + 1)) == NULL)
		return;
	if (*v == '\0') {
		config_error(x, s, "%s: must not be empty", what);
		return;
	}
	l->framer.delim_len = strlen(v);
	memcpy(l->framer.delim, v, l->framer.delim_len);
}

/*
 * A metrics listener's frames are HTTP request heads: they end at the
 * blank line, and the line framer with CRLF CRLF as delimiter finds it
 * (the head is then parsed whole, metrics.c).  HTTP_HEAD_MAX bounds the
 * head, whatever limits.max_frame says.
 */
void
config_listener_http(struct listener_conf *l)
{
	l->framer.kind = FRAMING_LINE;
	memcpy(l->framer.delim, "\r\n\r\n", 4);
	l->framer.delim_len = 4;
	l->framer.max_frame = HTTP_HEAD_MAX - 4;
}

/* address = "..." : numeric only, never resolved. */
void
config_listener_address(struct cfgctx *x, config_setting_t *s,
    const char *what, void *base)
{
	struct listener_conf *l = base;
	struct net_addr a;
	const char *v;

	if ((v = config_str(x, s, what, sizeof(l->address))) == NULL)
		return;
	if (net_parse_addr(v, 1, &a) == -1) {
		config_error(x, s, "%s: \"%s\" is not a numeric IPv4 or IPv6 "
		    "address", what, v);
		return;
	}
	util_strlcpy(l->address, v, sizeof(l->address));
}

/*
 * A PROXY header names any address it likes: only the balancers listed
 * in proxy_allow may send one, so the list is required.
 */
static void
config_listener_proxy_check(struct cfgctx *x, config_setting_t *g,
    const char *where, const struct listener_conf *l)
{
	if (l->proxy != PROXY_OFF && l->nproxy_allow == 0)
		config_error(x, g, "%s: proxy_protocol \"%s\" needs "
		    "proxy_allow, the balancers that may send a header",
		    where, proxy_mode_name(l->proxy));
	if (l->proxy == PROXY_OFF && config_seen(x, "listeners.proxy_allow"))
		config_error(x, g, "%s: proxy_allow is only for "
		    "proxy_protocol \"v1\", \"v2\" or \"any\"", where);
}

/*
 * An agent answers one line at accept: it has no messages to frame and
 * no header to wait for, so saying otherwise is a mistake, not a no-op.
 */
static void
config_listener_agent_check(struct cfgctx *x, config_setting_t *g,
    const char *where, const struct listener_conf *l)
{
	if (l->mode != MODE_AGENT)
		return;
	if (config_seen(x, "listeners.framing"))
		config_error(x, g, "%s: mode \"agent\" takes no framing: it "
		    "writes one line at accept and closes", where);
	if (l->proxy != PROXY_OFF)
		config_error(x, g, "%s: mode \"agent\" takes no "
		    "proxy_protocol: it answers at accept, before any header",
		    where);
}

/* Checks across a listener's keys, once all are read. */
static void
config_listener_check(struct cfgctx *x, config_setting_t *g,
    const char *where, struct listener_conf *l)
{
	int fixed = l->framer.kind == FRAMING_FIXED;

	/* A key given with a bad value was reported already. */
	if (!config_seen(x, "listeners.address"))
		config_error(x, g, "%s: address is required", where);
	if (!config_seen(x, "listeners.port"))
		config_error(x, g, "%s: port is required", where);
	if (l->mode == MODE_METRICS && (config_seen(x, "listeners.framing") ||
	    config_seen(x, "listeners.delimiter")))
		config_error(x, g, "%s: mode \"metrics\" speaks HTTP: framing "
		    "and delimiter do not apply", where);
	if (l->mode == MODE_COMMAND && l->framer.kind != FRAMING_LENGTH &&
	    l->framer.kind != FRAMING_LINE)
		config_error(x, g, "%s: mode \"command\" needs framing "
		    "\"length\" or \"line\", not \"%s\"", where,
		    frame_name(l->framer.kind));
	if (fixed && !config_seen(x, "listeners.frame_size"))
		config_error(x, g, "%s: framing \"fixed\" needs frame_size",
		    where);
	if (!fixed && config_seen(x, "listeners.frame_size"))
		config_error(x, g, "%s: frame_size is only for framing "
		    "\"fixed\"", where);
	if (l->framer.kind != FRAMING_LINE &&
	    config_seen(x, "listeners.delimiter"))
		config_error(x, g, "%s: delimiter is only for framing "
		    "\"line\"", where);
	config_listener_proxy_check(x, g, where, l);
	config_listener_agent_check(x, g, where, l);
	if (l->address[0] != '\0' && l->port != 0 &&
	    net_parse_addr(l->address, l->port, &l->addr) == -1)
		config_error(x, g, "%s: bad address \"%s\"", where,
		    l->address);
}

/* Listener i: the table's listener defaults, then its own keys. */
static void
config_listener(struct cfgctx *x, config_setting_t *g, int i,
    const char *defaults, struct listener_conf *l)
{
	char where[32], scope[40];

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->line = config_setting_source_line(g);
	snprintf(where, sizeof(where), "listeners.[%d]", i);
	snprintf(scope, sizeof(scope), "%s.", where);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_error(x, g, "%s: each listener is a group "
		    "{ address = ...; port = ...; }", where);
		return;
	}
	config_walk_text(x, defaults, LISTENER_SCOPE, scope, l);
	x->seen = 0;
	config_walk(x, g, LISTENER_SCOPE, scope, l);
	config_listener_check(x, g, where, l);
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
			    "listeners.[%zu]: duplicate listener %s (also at "
			    "line %d)", i, net_format((struct sockaddr *)
			    &cf->listeners[i].addr.ss, as, sizeof(as)),
			    config_setting_source_line(
			    config_setting_get_elem(s, (int)j)));
			break;
		}
}

/* listeners = ( {...}, ... ) replaces the default listeners. */
void
config_listeners(struct cfgctx *x, config_setting_t *s, const char *what,
    void *base)
{
	struct config *cf = base;
	int i, n, t = config_setting_type(s);
	char defaults[512];

	if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
		config_error(x, s, "%s: expected a list ( {...}, ... )", what);
		return;
	}
	n = config_setting_length(s);
	if (n == 0 || n > MAX_LISTENERS) {
		config_error(x, s, "%s: need 1 to %d listeners, not %d", what,
		    MAX_LISTENERS, n);
		return;
	}
	free(cf->listeners);
	cf->nlisteners = 0;
	if ((cf->listeners = calloc((size_t)n, sizeof(*cf->listeners))) ==
	    NULL)
		return;
	config_default_text(LISTENER_SCOPE, defaults, sizeof(defaults));
	for (i = 0; i < n; i++)
		config_listener(x, config_setting_get_elem(s, i), i, defaults,
		    &cf->listeners[cf->nlisteners++]);
	config_listener_dups(x, s);
}
