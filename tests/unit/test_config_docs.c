/*
 * test_config_docs.c -- the documentation against the config key table
 * (daemon/config.c), the one place a key is defined: ekkod.conf(5)
 * documents every key, and both etc/ekkod.conf and the first example of
 * ekkod.conf(5) set every key that has a default, to that default.
 *
 * The tree is found from EKKO_BUILD (set by tests/run.sh: TOP/build),
 * else the current directory.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"
#include "util.h"

static char top[4096] = ".";

/* The whole of file TOP/rel, NUL-terminated; exits if it is missing. */
static char *
slurp(const char *rel)
{
	char path[8192], *text;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if ((fp = fopen(path, "r")) == NULL || (text = malloc(1 << 20)) ==
	    NULL) {
		printf("not ok - cannot read %s\n", path);
		exit(1);
	}
	n = fread(text, 1, (1 << 20) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

/* A key's own name: what follows the last dot of its path. */
static const char *
key_name(const struct key *k)
{
	const char *dot = strrchr(k->path, '.');

	return dot ? dot + 1 : k->path;
}

static int
in_listener(const struct key *k)
{
	return strncmp(k->path, LISTENER_SCOPE, strlen(LISTENER_SCOPE)) == 0;
}

/* ekkod.conf(5) has ".It Ic NAME" for each key (groups: the word). */
static void
test_man_documents_every_key(void)
{
	char *man = slurp("daemon/ekkod.conf.5"), item[128], *p;
	const struct key *keys;
	size_t i, n;
	int ok;

	keys = config_keys(&n);
	for (i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "\n.It Ic %s", key_name(&keys[i]));
		ok = 0;
		for (p = man; (p = strstr(p, item)) != NULL; p++)
			if (p[strlen(item)] == ' ' || p[strlen(item)] == '\n')
				ok = 1;
		if (keys[i].type == KEY_GROUP || strcmp(keys[i].path,
		    "listeners") == 0)
			ok = strstr(man, key_name(&keys[i])) != NULL;
		TAP_OK(ok, "ekkod.conf.5 documents %s", keys[i].path);
	}
	free(man);
}

/* Do the fields of row k hold the same value in a and b? */
static int
same_value(const struct key *k, const void *a, const void *b)
{
	const char *fa = (const char *)a + k->off;
	const char *fb = (const char *)b + k->off;
	size_t na, nb;

	if (k->type == KEY_CIDRS) {
		memcpy(&na, (const char *)a + k->off2, sizeof(na));
		memcpy(&nb, (const char *)b + k->off2, sizeof(nb));
		return na == nb && (na == 0 || memcmp(*(void *const *)
		    (const void *)fa, *(void *const *)(const void *)fb,
		    na * sizeof(struct cidr)) == 0);
	}
	return k->size == 0 || memcmp(fa, fb, k->size) == 0;
}

/* The listeners of a and b, row by row. */
static int
same_listeners(const struct config *a, const struct config *b)
{
	const struct key *keys;
	size_t i, j, n;

	keys = config_keys(&n);
	if (a->nlisteners != b->nlisteners)
		return 0;
	for (i = 0; i < a->nlisteners; i++)
		for (j = 0; j < n; j++)
			if (in_listener(&keys[j]) && !same_value(&keys[j],
			    &a->listeners[i], &b->listeners[i]))
				return 0;
	return 1;
}

/*
 * The config text (named name) sets every key that has a default, and
 * to the built-in default, which config_defaults builds from the table.
 */
static void
check_sets_defaults(const char *name, const char *text)
{
	struct config_errors errs = { 0, NULL };
	struct config *cf, *def = config_defaults();
	const struct key *keys;
	config_t lc;
	size_t i, n;

	keys = config_keys(&n);
	cf = config_load_string(text, name, &errs);
	TAP_OK(cf != NULL && def != NULL, "%s loads (%s)", name,
	    errs.n ? errs.msgs[0] : "ok");
	config_init(&lc);
	config_read_string(&lc, text);
	for (i = 0; cf != NULL && i < n; i++) {
		const struct key *k = &keys[i];

		if (in_listener(k) || k->type == KEY_GROUP)
			continue;
		TAP_OK(k->def == NULL || config_lookup(&lc, k->path) != NULL,
		    "%s sets %s", name, k->path);
		TAP_OK(strcmp(k->path, "listeners") == 0 ?
		    same_listeners(cf, def) : same_value(k, cf, def),
		    "%s sets %s to its default %s", name, k->path,
		    k->def ? k->def : "(none)");
	}
	config_destroy(&lc);
	config_free(cf);
	config_free(def);
	config_errors_free(&errs);
}

/* The first literal display after ".Sh EXAMPLES", \e unescaped. */
static char *
man_first_example(char *man)
{
	char *p, *end, *out, *o;

	if ((p = strstr(man, "\n.Sh EXAMPLES")) == NULL ||
	    (p = strstr(p, "\n.Bd -literal")) == NULL ||
	    (p = strchr(p + 1, '\n')) == NULL ||
	    (end = strstr(p, "\n.Ed")) == NULL)
		return strdup("");
	out = o = calloc(1, (size_t)(end - p) + 1);
	for (p++; out != NULL && p < end; p++) {
		if (p[0] == '\\' && p[1] == 'e')
			p++;
		*o++ = *p;
	}
	return out;
}

/* Every listener key is at least mentioned in the reference config. */
static void
test_reference_config(void)
{
	char *ref = slurp("etc/ekkod.conf"), *man, *ex;
	const struct key *keys;
	size_t i, n;

	keys = config_keys(&n);
	check_sets_defaults("etc/ekkod.conf", ref);
	for (i = 0; i < n; i++)
		if (in_listener(&keys[i]))
			TAP_OK(strstr(ref, key_name(&keys[i])) != NULL,
			    "etc/ekkod.conf shows %s", keys[i].path);
	man = slurp("daemon/ekkod.conf.5");
	ex = man_first_example(man);
	check_sets_defaults("ekkod.conf.5 EXAMPLES", ex);
	free(ex);
	free(man);
	free(ref);
}

int
main(void)
{
	const char *build = getenv("EKKO_BUILD");

	if (build != NULL && *build != '\0') {
		util_strlcpy(top, build, sizeof(top));
		util_strlcpy(top, dirname(top), sizeof(top));
	}
	test_man_documents_every_key();
	test_reference_config();
	return TAP_DONE();
}
