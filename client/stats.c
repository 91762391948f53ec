/*
 * stats.c -- ekko stats and ekko info: the server's "key value" lines as
 * aligned tables or as one JSON object.
 *
 * Keys shaped NAME.SLOT.KEY ("worker.0.pid") form a table of their own:
 * one row per slot, one column per KEY in the order the keys first
 * appear; in JSON an array "NAMEs" of objects ("workers").
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ekko.h"
#include "proto.h"
#include "util.h"

struct stat_line {
	char		*key;
	const char	*val;
	const char	*group;		/* "worker"; NULL for a global key */
	long		 slot;
};

struct stat_set {
	char			*text;
	struct stat_line	*lines;
	size_t			 n;
	const char		**groups;	/* in order of appearance */
	size_t			 ngroups;
};

/* One table: its slots, ascending, and its columns, as first seen. */
struct stat_table {
	const char	*group;
	long		*slots;
	size_t		 nslots;
	const char	**cols;
	size_t		 ncols;
	int		*width;		/* per column, the slot column first */
	int		*right;		/* numbers only: align right */
};

static int	 stats_run(struct target *, int, char **, int);
static void	 stats_group(struct stat_set *, struct stat_line *);
static int	 stats_parse(struct stat_set *, const uint8_t *, size_t, int);
static void	 stats_free(struct stat_set *);
static int	 stats_table(const struct stat_set *, const char *,
		    struct stat_table *);
static const char *stats_cell(const struct stat_set *, const char *, long,
		    const char *);
static int	 stats_is_number(const char *);
static void	 stats_json_chars(const char *);
static void	 stats_json_string(const char *);
static void	 stats_json_value(const char *);
static int	 stats_collides(const struct stat_set *, const char *);
static int	 stats_slot_cmp(const void *, const void *);
static void	 stats_print_globals(const struct stat_set *);
static void	 stats_cell_out(const char *, int, int, int);
static void	 stats_print_table(const struct stat_set *,
		    const struct stat_table *);
static void	 stats_json_table(const struct stat_set *,
		    const struct stat_table *);
static void	 stats_table_free(struct stat_table *);
static int	 stats_json_globals(const struct stat_set *);
static int	 stats_print(const struct stat_set *, int);
static int	 stats_options(int, char **, int *);

/* File "worker.3.accepted" under group "worker", slot 3, key "accepted". */
static void
stats_group(struct stat_set *ss, struct stat_line *l)
{
	char *key = l->key, *dot, *end;
	size_t i;

	if ((dot = strchr(key, '.')) == NULL || dot == key ||
	    !isdigit((unsigned char)dot[1]))
		return;
	errno = 0;
	l->slot = strtol(dot + 1, &end, 10);
	if (errno != 0 || *end != '.' || end[1] == '\0')
		return;
	*dot = '\0';
	l->key = end + 1;
	/* one pointer per group name, so that lines compare by pointer */
	for (i = 0; i < ss->ngroups; i++)
		if (strcmp(ss->groups[i], key) == 0)
			break;
	if (i == ss->ngroups)
		ss->groups[ss->ngroups++] = key;
	l->group = ss->groups[i];
}

/*
 * Split the reply into lines of "key value" (value may hold spaces).
 * For a table (safe), control bytes are made harmless first; JSON
 * escapes them instead.
 */
static int
stats_parse(struct stat_set *ss, const uint8_t *p, size_t len, int safe)
{
	char *line, *next, *sp;
	size_t max = 1, i;

	memset(ss, 0, sizeof(*ss));
	for (i = 0; i < len; i++)
		max += p[i] == '\n';
	if ((ss->text = malloc(len + 1)) == NULL ||
	    (ss->lines = calloc(max, sizeof(*ss->lines))) == NULL ||
	    (ss->groups = calloc(max, sizeof(*ss->groups))) == NULL)
		return -1;
	if (safe)
		util_text_safe(ss->text, p, len, 1);
	else
		memcpy(ss->text, p, len);
	ss->text[len] = '\0';
	for (line = ss->text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (*line == '\0')
			continue;
		if ((sp = strchr(line, ' ')) != NULL)
			*sp++ = '\0';
		ss->lines[ss->n].key = line;
		ss->lines[ss->n].val = sp != NULL ? sp : "";
		stats_group(ss, &ss->lines[ss->n++]);
	}
	return 0;
}

/* Release a parsed reply. */
static void
stats_free(struct stat_set *ss)
{
	free(ss->text);
	free(ss->lines);
	free(ss->groups);
}

/* Compare slots for qsort. */
static int
stats_slot_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Gather the slots and columns of one group. */
static int
stats_table(const struct stat_set *ss, const char *group,
    struct stat_table *tb)
{
	size_t i, j;

	memset(tb, 0, sizeof(*tb));
	tb->group = group;
	if ((tb->slots = calloc(ss->n, sizeof(*tb->slots))) == NULL ||
	    (tb->cols = calloc(ss->n, sizeof(*tb->cols))) == NULL ||
	    (tb->width = calloc(ss->n + 1, sizeof(*tb->width))) == NULL ||
	    (tb->right = calloc(ss->n + 1, sizeof(*tb->right))) == NULL)
		return -1;
	for (i = 0; i < ss->n; i++) {
		if (ss->lines[i].group != group)
			continue;
		for (j = 0; j < tb->nslots; j++)
			if (tb->slots[j] == ss->lines[i].slot)
				break;
		if (j == tb->nslots)
			tb->slots[tb->nslots++] = ss->lines[i].slot;
		for (j = 0; j < tb->ncols; j++)
			if (strcmp(tb->cols[j], ss->lines[i].key) == 0)
				break;
		if (j == tb->ncols)
			tb->cols[tb->ncols++] = ss->lines[i].key;
	}
	qsort(tb->slots, tb->nslots, sizeof(*tb->slots), stats_slot_cmp);
	return 0;
}

/* The value at (slot, key) of a group, or NULL. */
static const char *
stats_cell(const struct stat_set *ss, const char *group, long slot,
    const char *key)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		if (ss->lines[i].group == group && ss->lines[i].slot == slot &&
		    strcmp(ss->lines[i].key, key) == 0)
			return ss->lines[i].val;
	return NULL;
}

/* An integer or a decimal, written as JSON writes numbers? */
static int
stats_is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0' && isdigit((unsigned char)s[1]))
		return 0;
	if (!isdigit((unsigned char)*s))
		return 0;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/*
 * The inside of a JSON string; bytes not UTF-8 are taken as Latin-1.
 * Control characters, C1 included, are escaped: JSON printed to a
 * terminal must not drive it either.
 */
static void
stats_json_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, left = strlen(s);

	for (; left > 0; p += n, left -= n) {
		n = util_utf8_len(p, left);
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f || n == 0)
			printf("\\u%04x", *p);
		else if (*p == 0xc2 && p[1] < 0xa0)	/* C1 controls too */
			printf("\\u%04x", p[1]);
		else
			fwrite(p, 1, n, stdout);
		if (n == 0)
			n = 1;
	}
}

/* A JSON string. */
static void
stats_json_string(const char *s)
{
	putchar('"');
	stats_json_chars(s);
	putchar('"');
}

/* A value: a JSON number when it reads as one, else a string. */
static void
stats_json_value(const char *v)
{
	if (stats_is_number(v))
		fputs(v, stdout);
	else
		stats_json_string(v);
}

/* Is key also the JSON name of a table ("workers")? */
static int
stats_collides(const struct stat_set *ss, const char *key)
{
	size_t i, n;

	for (i = 0; i < ss->ngroups; i++) {
		n = strlen(ss->groups[i]);
		if (strncmp(key, ss->groups[i], n) == 0 &&
		    strcmp(key + n, "s") == 0)
			return 1;
	}
	return 0;
}

/* The global keys, two aligned columns. */
static void
stats_print_globals(const struct stat_set *ss)
{
	size_t i, w = 0;

	for (i = 0; i < ss->n; i++)
		if (ss->lines[i].group == NULL && strlen(ss->lines[i].key) > w)
			w = strlen(ss->lines[i].key);
	for (i = 0; i < ss->n; i++)
		if (ss->lines[i].group == NULL)
			printf("%-*s  %s\n", (int)w, ss->lines[i].key,
			    ss->lines[i].val);
}

/* Print one cell padded to w, numbers to the right; none after the last. */
static void
stats_cell_out(const char *v, int w, int right, int last)
{
	if (right)
		printf("%*s", w, v);
	else if (last)
		fputs(v, stdout);
	else
		printf("%-*s", w, v);
	fputs(last ? "\n" : "  ", stdout);
}

/* One table: a header row of KEYs, then a row per slot. */
static void
stats_print_table(const struct stat_set *ss, const struct stat_table *tb)
{
	int *w = tb->width, *right = tb->right;
	char slot[32];
	const char *v;
	size_t i, j;

	w[0] = (int)strlen(tb->group);
	right[0] = 1;
	for (i = 0; i < tb->nslots; i++)
		if (snprintf(slot, sizeof(slot), "%ld", tb->slots[i]) > w[0])
			w[0] = (int)strlen(slot);
	for (j = 0; j < tb->ncols; j++) {
		w[j + 1] = (int)strlen(tb->cols[j]);
		right[j + 1] = 1;
		for (i = 0; i < tb->nslots; i++) {
			v = stats_cell(ss, tb->group, tb->slots[i],
			    tb->cols[j]);
			v = v != NULL && *v != '\0' ? v : "-";
			if ((int)strlen(v) > w[j + 1])
				w[j + 1] = (int)strlen(v);
			if (!stats_is_number(v) && strcmp(v, "-") != 0)
				right[j + 1] = 0;
		}
	}
	stats_cell_out(tb->group, w[0], 0, tb->ncols == 0);
	for (j = 0; j < tb->ncols; j++)
		stats_cell_out(tb->cols[j], w[j + 1], right[j + 1],
		    j + 1 == tb->ncols);
	for (i = 0; i < tb->nslots; i++) {
		snprintf(slot, sizeof(slot), "%ld", tb->slots[i]);
		stats_cell_out(slot, w[0], 0, tb->ncols == 0);
		for (j = 0; j < tb->ncols; j++) {
			v = stats_cell(ss, tb->group, tb->slots[i],
			    tb->cols[j]);
			v = v != NULL && *v != '\0' ? v : "-";
			stats_cell_out(v, w[j + 1], right[j + 1],
			    j + 1 == tb->ncols);
		}
	}
}

/* One table as "NAMEs": [ {"slot": N, "KEY": value, ...}, ... ]. */
static void
stats_json_table(const struct stat_set *ss, const struct stat_table *tb)
{
	const char *v;
	size_t i, j;

	printf("  \"%ss\": [", tb->group);
	for (i = 0; i < tb->nslots; i++) {
		printf("%s\n    {\"slot\": %ld", i ? "," : "", tb->slots[i]);
		for (j = 0; j < tb->ncols; j++) {
			if ((v = stats_cell(ss, tb->group, tb->slots[i],
			    tb->cols[j])) == NULL)
				continue;
			fputs(", ", stdout);
			stats_json_string(tb->cols[j]);
			fputs(": ", stdout);
			stats_json_value(v);
		}
		putchar('}');
	}
	printf("%s]", tb->nslots ? "\n  " : "");
}

/* Release what stats_table gathered. */
static void
stats_table_free(struct stat_table *tb)
{
	free(tb->slots);
	free(tb->cols);
	free(tb->width);
	free(tb->right);
}

/* The global keys as JSON members; whether there was any. */
static int
stats_json_globals(const struct stat_set *ss)
{
	int any = 0;
	size_t i;

	for (i = 0; i < ss->n; i++) {
		if (ss->lines[i].group != NULL)
			continue;
		printf("%s\n  \"", any ? "," : "");
		any = 1;
		stats_json_chars(ss->lines[i].key);
		/* "workers 2" must not clash with the "workers" array */
		printf("%s\": ", stats_collides(ss, ss->lines[i].key) ?
		    "_value" : "");
		stats_json_value(ss->lines[i].val);
	}
	return any;
}

/* Everything, as tables or as one JSON object; 0 or -1. */
static int
stats_print(const struct stat_set *ss, int json)
{
	struct stat_table tb;
	int any = 0;
	size_t i;

	if (json) {
		putchar('{');
		any = stats_json_globals(ss);
	} else
		stats_print_globals(ss);
	for (i = 0; i < ss->ngroups; i++) {
		if (stats_table(ss, ss->groups[i], &tb) == -1) {
			stats_table_free(&tb);
			return -1;
		}
		if (json) {
			printf("%s\n", any ? "," : "");
			any = 1;
			stats_json_table(ss, &tb);
		} else {
			putchar('\n');
			stats_print_table(ss, &tb);
		}
		stats_table_free(&tb);
	}
	if (json)
		printf("%s}\n", any ? "\n" : "");
	return 0;
}

/* stats and info take --json only; -1 on a usage error, 1 for help. */
static int
stats_options(int argc, char **argv, int *json)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = ekko_getopt(argc, argv, "+h", lo)) != -1) {
		if (ch == 'j')
			*json = 1;
		else if (ch == 'h') {
			ekko_usage(argv[0], stdout);
			return 1;
		} else
			return -1;
	}
	if (optind != argc) {
		ekko_warn(NULL, "%s: unexpected argument \"%s\"", argv[0],
		    argv[optind]);
		return -1;
	}
	return 0;
}

/* Ask for STATS or INFO and print the answer. */
static int
stats_run(struct target *t, int argc, char **argv, int op)
{
	struct session s;
	struct stat_set ss;
	struct reply r;
	int json = 0, rc;

	if ((rc = stats_options(argc, argv, &json)) != 0)
		return rc == 1 ? EKKO_OK : ekko_usage(argv[0], stderr);
	if ((rc = session_open(&s, t)) != EKKO_OK)
		return rc;
	if ((rc = session_call(&s, op, NULL, 0, &r)) == EKKO_OK) {
		if (stats_parse(&ss, r.data, r.len, !json) == -1 ||
		    stats_print(&ss, json) == -1) {
			ekko_warn(NULL, "%s", strerror(errno));
			rc = EKKO_REPLY;
		}
		stats_free(&ss);
	}
	session_close(&s);
	if (fflush(stdout) == EOF && rc == EKKO_OK) {
		ekko_warn(NULL, "stdout: %s", strerror(errno));
		rc = EKKO_REPLY;
	}
	return rc;
}

/* ekko stats [--json] */
int
stats_main(struct target *t, int argc, char **argv)
{
	return stats_run(t, argc, argv, PROTO_STATS);
}

/* ekko info [--json] */
int
stats_info_main(struct target *t, int argc, char **argv)
{
	return stats_run(t, argc, argv, PROTO_INFO);
}
