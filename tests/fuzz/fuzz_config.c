/*
 * fuzz_config.c -- the daemon's config loader on arbitrary text: it
 * never crashes or leaks, a refusal always says why (in one line without
 * a control byte, whatever the text quoted), and an accepted
 * config never hands the framers parameters they cannot make progress
 * with.  Also the lenient pidfile scan of "ekkod -s" on the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ekkod.h"
#include "fuzz.h"

/* Framers that frame_next can always make progress with. */
static void
check_config(const struct config *cf)
{
	size_t i;

	CHECK(cf->workers >= 1 || cf->workers_auto);
	CHECK(cf->limits.max_frame >= 1);
	for (i = 0; i < cf->nlisteners; i++) {
		const struct framer *f = &cf->listeners[i].framer;

		CHECK(f->max_frame == (size_t)cf->limits.max_frame);
		if (f->kind == FRAMING_LINE)
			CHECK(f->delim_len >= 1 &&
			    f->delim_len <= FRAME_DELIM_MAX);
		if (f->kind == FRAMING_FIXED)
			CHECK(f->frame_size >= 1 &&
			    f->frame_size <= f->max_frame);
		CHECK(cf->listeners[i].port >= 1 &&
		    cf->listeners[i].port <= 65535);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs;
	struct config *cf;
	char *text;
	int i;

	/* @include would read files named by the input: not ours to test */
	if (size > 0 && memmem(data, size, "@include", 8) != NULL)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&errs, 0, sizeof(errs));
	cf = config_load_string(text, "fuzz.conf", &errs);
	if (cf == NULL)
		CHECK(errs.n >= 1);
	for (i = 0; i < errs.n; i++) {
		const unsigned char *m = (const unsigned char *)errs.msgs[i];

		CHECK(m != NULL && m[0] != '\0');
		for (; *m != '\0'; m++)	/* one line, no escapes */
			CHECK(*m >= ' ' && *m != 0x7f);
	}
	if (cf != NULL)
		check_config(cf);
	config_free(cf);
	config_errors_free(&errs);
	/* what "ekkod -s" reads of a broken file: a string that fits, or -1 */
	{
		char pf[64];
		int r = config_pidfile_scan(text, pf, sizeof(pf));

		CHECK(r == -1 || (r == 0 && strlen(pf) < sizeof(pf)));
	}
	free(text);
	return 0;
}
