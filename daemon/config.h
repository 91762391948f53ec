/*
 * config.h -- the configuration's key table, private to config.c and
 * config_listener.c (and the unit test that checks the documentation
 * against it): libconfig's types stay out of ekkod.h.
 */
#ifndef EKKOD_CONFIG_H
#define EKKOD_CONFIG_H

#include <libconfig.h>

#include "ekkod.h"

enum key_type {
	KEY_GROUP,	/* { ... } of the keys whose path continues it */
	KEY_INT,	/* an integer in [min, max], into an int or a long */
	KEY_BOOL,	/* true or false, into an int */
	KEY_STR,	/* a string shorter than size, into a char[size] */
	KEY_NAME,	/* one of names[], its index into an int (an enum) */
	KEY_CIDRS,	/* a list of CIDRs: struct cidr * at off, count at off2 */
	KEY_FN		/* a handler of its own */
};

#define KEY_REQUIRED	0x1	/* a listener key without a default */

struct cfgctx;
struct key;
typedef void	key_fn(struct cfgctx *, config_setting_t *, const char *,
		    void *);

/*
 * One row per key: where it is, what it holds, where it lands (off in
 * struct config, or in struct listener_conf for "listeners.*" keys),
 * its range and its default as libconfig text, which is parsed by the
 * same walker to build the built-in configuration.  A key's own name is
 * what follows the last dot of its path.
 */
struct key {
	const char		*path;
	enum key_type		 type;
	size_t			 off;
	size_t			 size;
	long			 min, max;
	const char		*def;		/* NULL: no default */
	const char *const	*names;		/* KEY_NAME */
	const char		*noun;		/* KEY_NAME: "unknown mode" */
	size_t			 off2;		/* KEY_CIDRS: the count */
	key_fn			*fn;		/* KEY_FN */
	int			 flags;
};

struct cfgctx {
	const char		*name;		/* file name for messages */
	struct config_errors	*errs;
	struct config		*cf;
	uint64_t		 seen;		/* rows given, in one listener */
};

#define LISTENER_SCOPE	"listeners."

const struct key *config_keys(size_t *);
const struct key *config_key(const char *);
void		 config_error(struct cfgctx *, config_setting_t *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
const char	*config_str(struct cfgctx *, config_setting_t *, const char *,
		    size_t);
void		 config_walk(struct cfgctx *, config_setting_t *, const char *,
		    const char *, void *);
int		 config_seen(const struct cfgctx *, const char *);
void		 config_default_text(const char *, char *, size_t);
int		 config_walk_text(struct cfgctx *, const char *, const char *,
		    const char *, void *);

/* config_listener.c: the handlers of the listeners part */
key_fn		 config_listeners;
key_fn		 config_listener_address;
key_fn		 config_listener_delimiter;
void		 config_listener_http(struct listener_conf *);

#endif
