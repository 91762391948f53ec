/*
 * test_pidfile.c -- the reload status record (format, parse, a torn
 * read), and reading the pidfile setting out of a broken config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "tap.h"
#include "util.h"

/* A record round-trips: seq, result, every error, "end". */
static void
test_status_format(void)
{
	char *msgs[] = { "a.conf:1: one", "a.conf:2: two" };
	struct config_errors errs = { 2, msgs };
	char buf[256];
	size_t n;

	n = pidfile_status_format(buf, sizeof(buf), 7, "failed", &errs, NULL);
	buf[n] = '\0';
	TAP_OK(strcmp(buf, "seq 7\nresult failed\nerror a.conf:1: one\n"
	    "error a.conf:2: two\nend\n") == 0, "status: the record's lines");
	TAP_OK(pidfile_status_parse(buf) == 7, "status: its seq parses");
	n = pidfile_status_format(buf, 40, 8, "failed", &errs, NULL);
	TAP_OK(n <= 40 && memcmp(buf + n - 4, "end\n", 4) == 0,
	    "status: a record cut to its buffer still ends in \"end\"");
}

/*
 * A reader that catches the file between a new, shorter record and the
 * tail of an older, longer one must see only the new record.
 */
static void
test_status_torn_read(void)
{
	char *msgs[] = { "a.conf:1: old error", "a.conf:2: old error" };
	struct config_errors errs = { 2, msgs };
	char older[256], newer[64], file[256];
	size_t nold, nnew;

	nold = pidfile_status_format(older, sizeof(older), 1, "failed", &errs, NULL);
	nnew = pidfile_status_format(newer, sizeof(newer), 2, "ok", NULL, NULL);
	memcpy(file, older, nold);
	memcpy(file, newer, nnew);
	file[nold] = '\0';
	TAP_OK(pidfile_status_parse(file) == 2 && strstr(file, "error") ==
	    NULL, "status: a stale tail after \"end\" is not read");
	strcpy(file, "seq 3\nresult ok\n");
	TAP_OK(pidfile_status_parse(file) == 0,
	    "status: a record without its \"end\" does not count");
	strcpy(file, "garbage\nend\n");
	TAP_OK(pidfile_status_parse(file) == 0, "status: no seq, no record");
}

/* Write text to a temporary file; its path in path. */
static void
write_tmp(char *path, const char *text)
{
	FILE *fp;
	int fd;

	strcpy(path, "/tmp/ekko-test-pidfile.XXXXXX");
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
}

/* What -s finds in a config, however broken the rest of it is. */
static void
test_pidfile_of(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "pidfile = \"/run/a.pid\";\n", "/run/a.pid" },
		{ "pidfile = \"/run/b.pid\";\nbogus = 1;\n", "/run/b.pid" },
		{ "workers = 2;\npidfile = \"/run/c.pid\";\nworkers = ;\n",
		    "/run/c.pid" },
		{ "pidfile = \"/run/d.pid\";\nlimits = {\n max_frame = 1;\n"
		    " x = = ;\n};\n", "/run/d.pid" },
		{ "pidfile = \"/run/e.pid\";\n{{{{\n((((\n;;;;\n", "/run/e.pid" },
		{ "workers = ;\npidfile = \"/run/f.pid\";\n", NULL },
		{ "pidfile = 3;\n", NULL },
		{ "workers = 2;\n", NULL },
		{ "", NULL },
	};
	char path[64], buf[CONF_STR];
	size_t i;
	int r;

	for (i = 0; i < nitems(cases); i++) {
		write_tmp(path, cases[i].text);
		buf[0] = '\0';
		r = config_pidfile_of(path, buf, sizeof(buf));
		unlink(path);
		if (cases[i].want != NULL)
			TAP_OK(r == 0 && strcmp(buf, cases[i].want) == 0,
			    "pidfile_of: case %zu finds %s", i, cases[i].want);
		else
			TAP_OK(r == -1, "pidfile_of: case %zu finds none", i);
	}
	TAP_OK(config_pidfile_of("/nonexistent/ekkod.conf", buf,
	    sizeof(buf)) == -1, "pidfile_of: a missing file finds none");
}

int
main(void)
{
	test_status_format();
	test_status_torn_read();
	test_pidfile_of();
	return TAP_DONE();
}
