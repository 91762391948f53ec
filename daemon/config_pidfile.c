/*
 * config_pidfile.c -- what "ekkod -s" reads of a configuration: only the
 * pidfile setting, and leniently, because -s must reach the master even
 * when the file on disk no longer parses (a careless edit is exactly
 * when an operator needs "ekkod -s stop").  libconfig still does all the
 * parsing: a text that does not parse is cut before its syntax error and
 * parsed again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

/* Where the last line of a non-empty text starts. */
static char *
config_last_line(char *text)
{
	size_t n = strlen(text);

	if (n > 0 && text[n - 1] == '\n')
		n--;
	while (n > 0 && text[n - 1] != '\n')
		n--;
	return text + n;
}

/* The top-level pidfile string of a config text, or -1 (0 if found). */
static int
config_pidfile_in(char *text, char *buf, size_t len, int *errline)
{
	const char *pf;
	config_t lc;
	int r = -1;

	config_init(&lc);
	*errline = 0;
	if (config_read_string(&lc, text) == CONFIG_FALSE)
		*errline = config_error_line(&lc);
	else if (config_lookup_string(&lc, "pidfile", &pf) == CONFIG_TRUE &&
	    strlen(pf) < len) {
		util_strlcpy(buf, pf, len);
		r = 0;
	}
	config_destroy(&lc);
	return r;
}

/*
 * The pidfile a config names, for "ekkod -s", which needs nothing else:
 * it must work when the rest of the text is broken.  A text that does
 * not parse is cut before the line of its syntax error and parsed again
 * (libconfig still does all the parsing), a bounded number of times.
 * text is modified.  Returns 0 and fills buf, or -1 if no pidfile
 * setting could be read.
 */
int
config_pidfile_scan(char *text, char *buf, size_t len)
{
	char *cut;
	int tries, line, r = -1;

	for (tries = 0; tries < 16; tries++) {
		if ((r = config_pidfile_in(text, buf, len, &line)) == 0 ||
		    line < 2)
			break;
		/* keep lines 1 .. line-1 and try again */
		for (cut = text; line > 1 && cut != NULL; line--)
			if ((cut = strchr(cut, '\n')) != NULL)
				cut++;
		/* an error at the end (an open group): drop the last line */
		if (cut == NULL || *cut == '\0')
			cut = config_last_line(text);
		if (cut == text)
			break;
		*cut = '\0';
	}
	return r;
}

/* config_pidfile_scan on the file at path (its first 1 MiB). */
int
config_pidfile_of(const char *path, char *buf, size_t len)
{
	char *text;
	size_t n;
	FILE *fp;
	int r;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if ((text = malloc(CONFIG_PIDFILE_SCAN)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(text, 1, CONFIG_PIDFILE_SCAN - 1, fp);
	fclose(fp);
	text[n] = '\0';
	r = config_pidfile_scan(text, buf, len);
	free(text);
	return r;
}
