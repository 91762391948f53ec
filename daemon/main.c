/*
 * main.c -- ekkod's command line: validate (-t), signal a running master
 * (-s), or start: bind, drop privileges, daemonize, supervise.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

#define RELOAD_WAIT_GRACE_MS	5000

/* Set when an upgrade started us: what the old master handed over. */
static struct upgrade_child	 up_child = { .chan = -1, .pidfd = -1,
    .statusfd = -1 };

struct opts {
	const char	*conf;
	int		 conf_given;
	int		 foreground;
	int		 test;
	const char	*signame;
};

/* Print the usage line; exit 2 (usage error) or 0 (asked for it). */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: ekkod [-c FILE] [-f] [-t] "
	    "[-s reload|upgrade|stop|quit|stats|drain|undrain] [-V] [-h]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground, log to stderr too\n"
	    "  -t       check the configuration and exit\n"
	    "  -s SIG   signal the running master: reload, upgrade, stop, quit,"
	    " stats,\n"
	    "           drain, undrain (lame duck on, off)\n"
	    "  -V       print the version\n"
	    "  -h       this help\n", EKKOD_CONF);
	exit(status);
}

/* Parse the command line into o. */
static void
main_options(int argc, char **argv, struct opts *o)
{
	int ch;

	o->conf = EKKOD_CONF;
	while ((ch = getopt(argc, argv, "c:fhs:tV")) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
			o->conf_given = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 's':
			o->signame = optarg;
			if (sig_from_name(optarg) == -1) {
				fprintf(stderr, "ekkod: -s: unknown signal "
				    "\"%s\" (reload, upgrade, stop, quit, "
				    "stats, drain, undrain)\n",
				    optarg);
				usage(2);
			}
			break;
		case 't':
			o->test = 1;
			break;
		case 'V':
			printf("ekkod %s\n", EKKO_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ekkod: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(2);
	}
}

/*
 * Load the configuration: the -c file, else the default file if there
 * is one, else the built-in defaults.  Errors go to stderr, one per
 * line, as FILE:LINE: message.
 */
static struct config *
main_config(struct opts *o, int *defaults)
{
	struct config_errors errs = { 0, NULL };
	struct config *cf;
	int i;

	*defaults = 0;
	if (!o->conf_given && access(o->conf, F_OK) == -1 && errno == ENOENT) {
		*defaults = 1;
		return config_defaults();
	}
	if ((cf = config_load_file(o->conf, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++) {
			fprintf(stderr, "%s\n", errs.msgs[i]);
			if (!o->test)
				log_error("%s", errs.msgs[i]);
			upgrade_child_say(up_child.chan, UPGRADE_ERROR,
			    errs.msgs[i]);
		}
		config_errors_free(&errs);
	}
	return cf;
}

/* A start-up failure: the old master of an upgrade hears it too. */
static void __attribute__((noreturn))
main_fail(const char *msg)
{
	upgrade_child_say(up_child.chan, UPGRADE_ERROR, msg);
	fatalx("%s", msg);
}

/*
 * Read the status file's record into text: its seq, 0 if none, and
 * also 0 if the record answers another process's request.
 */
static unsigned long long
main_status_seq(const char *path, char *text, size_t len)
{
	unsigned long long seq;
	char mine[32];
	FILE *fp;
	size_t n;

	text[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(text, 1, len - 1, fp);
	fclose(fp);
	text[n] = '\0';
	seq = pidfile_status_parse(text);
	snprintf(mine, sizeof(mine), "\nfor %d\n", (int)getpid());
	if (strstr(text, "\nfor ") != NULL && strstr(text, mine) == NULL)
		return 0;
	return seq;
}

/* The value of a "key value" line of a status record, or "?". */
static const char *
main_status_value(const char *text, const char *key, char *buf, size_t len)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s ", key);
	if ((p = strstr(text, pat)) == NULL)
		return "?";
	p += strlen(pat);
	snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
	return buf;
}

/* Print a reload or upgrade outcome and turn it into an exit code. */
static int
main_outcome(const char *text, int signo, pid_t pid)
{
	char v1[32], v2[64];
	const char *p;
	int ok = strstr(text, "\nresult ok\n") != NULL;

	for (p = text; (p = strstr(p, "\nerror ")) != NULL; p++)
		fprintf(stderr, "%.*s\n", (int)strcspn(p + 7, "\n"), p + 7);
	if (ok && signo == SIGUSR2)
		printf("ekkod: upgraded: pid %s, version %s\n",
		    main_status_value(text, "pid", v1, sizeof(v1)),
		    main_status_value(text, "version", v2, sizeof(v2)));
	else if (ok)
		printf("ekkod: reload done: new generation serving\n");
	else if (signo == SIGUSR2)
		fprintf(stderr, "ekkod: upgrade refused or rolled back; pid %d "
		    "keeps serving\n", (int)pid);
	else
		fprintf(stderr, "ekkod: reload refused; the old "
		    "configuration keeps serving\n");
	return ok ? 0 : 1;
}

/*
 * -s reload and -s upgrade: send the signal, then wait (bounded) for
 * the master to record the outcome in the status file.
 */
static int
main_wait_outcome(const char *pidfile, int worker_timeout, pid_t pid,
    int signo)
{
	char path[CONF_STR + 16], text[8192];
	unsigned long long seq0;
	uint64_t deadline;

	pidfile_status_path(pidfile, path, sizeof(path));
	seq0 = main_status_seq(path, text, sizeof(text));
	if (kill(pid, signo) == -1) {
		fprintf(stderr, "ekkod: kill %d: %s\n", (int)pid,
		    strerror(errno));
		return 1;
	}
	deadline = util_now_ms() + (uint64_t)worker_timeout * 1000 +
	    RELOAD_WAIT_GRACE_MS;
	while (util_now_ms() < deadline) {
		if (main_status_seq(path, text, sizeof(text)) > seq0)
			return main_outcome(text, signo, pid);
		usleep(20000);
	}
	fprintf(stderr, "ekkod: no %s outcome from pid %d within %d s\n",
	    signo == SIGUSR2 ? "upgrade" : "reload", (int)pid,
	    worker_timeout + RELOAD_WAIT_GRACE_MS / 1000);
	return 1;
}

/*
 * The pidfile for -s.  Every signal must reach the master even when the
 * file on disk is broken, so its pidfile is then read leniently: stop,
 * quit and stats need nothing else, and a reload or upgrade is refused
 * by the master itself, which records why (so systemd's status and the
 * log say so, not only this command).
 */
static int
main_signal_pidfile(const struct opts *o, char *pidfile, size_t len,
    int *worker_timeout)
{
	struct config_errors errs = { 0, NULL };
	struct config *cf;
	int i, r = 0;

	pidfile[0] = '\0';
	*worker_timeout = 30;
	if (!o->conf_given && access(o->conf, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((cf = config_load_file(o->conf, &errs)) != NULL) {
		util_strlcpy(pidfile, cf->pidfile, len);
		*worker_timeout = cf->worker_timeout;
		config_free(cf);
		return 0;
	}
	if (config_pidfile_of(o->conf, pidfile, len) == -1) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		r = -1;
	}
	config_errors_free(&errs);
	return r;
}

/* -s SIGNAL: find the master through the pidfile and signal it. */
static int
main_signal(const struct opts *o)
{
	int signo = sig_from_name(o->signame), worker_timeout;
	char err[512], pidfile[CONF_STR];
	pid_t pid;

	if (main_signal_pidfile(o, pidfile, sizeof(pidfile),
	    &worker_timeout) == -1) {
		fprintf(stderr, "ekkod: %s: no pidfile setting could be read: "
		    "cannot find the running master\n", o->conf);
		return 1;
	}
	if (pidfile[0] == '\0') {
		fprintf(stderr, "ekkod: %s sets no pidfile: cannot find the "
		    "running master\n", o->conf);
		return 1;
	}
	if ((pid = pidfile_find_master(pidfile, err, sizeof(err))) == -1) {
		fprintf(stderr, "ekkod: %s\n", err);
		return 1;
	}
	if (signo == SIGHUP || signo == SIGUSR2)
		return main_wait_outcome(pidfile, worker_timeout, pid, signo);
	if (kill(pid, signo) == -1) {
		fprintf(stderr, "ekkod: kill %d: %s\n", (int)pid,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Open the pidfile and the reload status file beside it, as root and
 * safely (pidfile.c); the pidfile's lock is taken later, by main_run.
 */
static void
main_pidfile(const struct config *cf, int *pidfd, int *statusfd)
{
	char err[512];

	*pidfd = *statusfd = -1;
	if (cf->pidfile[0] == '\0')
		return;
	if ((*pidfd = pidfile_open(cf->pidfile, err, sizeof(err))) == -1 ||
	    (*statusfd = pidfile_status_open(cf->pidfile, err, sizeof(err))) ==
	    -1)
		fatalx("%s", err);
}

/* Bind every listener (adopting systemd's sockets); exit 1 on failure. */
static void
main_listen(struct config *cf, struct listen_set *ls)
{
	struct listen_set passed;
	char err[512];

	if (listen_adopt_systemd(&passed) > 0)
		log_info("adopting %d socket(s) from %s", passed.n,
		    up_child.chan != -1 ? "the old master" : "systemd");
	if (listen_open(cf, &passed, ls, err, sizeof(err)) == -1)
		main_fail(err);
	listen_close_unused(&passed, ls);
}

/*
 * Started as root: drop to user/group, or warn that we stay root.  The
 * pidfile and status file stay root's: the master writes them through
 * descriptors opened before the drop (see pidfile.c).
 */
static void
main_privileges(const struct config *cf)
{
	char err[512];

	if (geteuid() != 0)
		return;
	if (cf->user[0] == '\0' && cf->group[0] == '\0') {
		log_warnx("running as root: set user and group in the "
		    "configuration to drop privileges");
		return;
	}
	if (proc_drop_privileges(cf->user, cf->group, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("running as user \"%s\" group \"%s\"", cf->user,
	    cf->group);
}

/* Remove the status file and the pidfile on the way out. */
static void
main_cleanup(const char *pidfile, int pidfd, int statusfd)
{
	char path[CONF_STR + 16];

	if (statusfd != -1) {
		pidfile_status_path(pidfile, path, sizeof(path));
		unlink(path);
		close(statusfd);
	}
	pidfile_remove(pidfile, pidfd);
}

/*
 * The pidfile and status file: opened here, or handed over by the old
 * master of an upgrade (which keeps its own lock until the switch).
 */
static void
main_files(const struct config *cf, struct master_files *f)
{
	f->parent = up_child;
	if (up_child.chan == -1) {
		main_pidfile(cf, &f->pidfd, &f->statusfd);
		return;
	}
	f->pidfd = up_child.pidfd;
	f->statusfd = up_child.statusfd;
}

/* Lock the pidfile; our pid goes in now, or at an upgrade's switch. */
static void
main_lock(struct master_files *f, const char *pidfile)
{
	char err[512];

	if (f->pidfd == -1)
		return;
	if (pidfile_lock(f->pidfd, pidfile, err, sizeof(err)) == -1)
		main_fail(err);
	if (up_child.chan == -1 && pidfile_write(f->pidfd, getpid()) == -1)
		fatal("pidfile %s: writing", pidfile);
}

/*
 * Start the daemon proper.  cf belongs to the master from here on: a
 * reload replaces and frees it, so what is needed after is copied first.
 */
static int
main_run(struct config *cf, const struct opts *o, int defaults)
{
	struct master_files f = { .pidfd = -1, .statusfd = -1,
	    .ready_fd = -1 };
	struct listen_set ls;
	char pidfile[CONF_STR];
	int status;

	log_init(cf->log_ident, cf->log_facility, cf->log_level, 1);
	if (defaults)
		log_info("no configuration file %s: running on built-in "
		    "defaults", o->conf);
	sig_block_all();
	util_strlcpy(pidfile, cf->pidfile, sizeof(pidfile));
	main_files(cf, &f);
	main_listen(cf, &ls);
	main_privileges(cf);
	if (scoreboard_create(cf->limits.max_connections) == -1)
		fatal("mmap scoreboard");
	if (!o->foreground && up_child.chan == -1) {
		if ((f.ready_fd = proc_daemonize()) == -1)
			fatal("daemonize");
		log_set_foreground(0);
		sb->master_pid = getpid();
	} else if (!o->foreground) {
		/* already detached by the old master; it ran from start_cwd */
		log_set_foreground(0);
		(void)!chdir("/");
	}
	/* locked by the process that stays, after daemonizing */
	main_lock(&f, pidfile);
	sdnotify_init();
	status = master_main(cf, &ls, &f);
	if (f.owner)
		main_cleanup(pidfile, f.pidfd, f.statusfd);
	scoreboard_destroy();
	return status;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct config *cf;
	int defaults;

	upgrade_init(argc, argv);
	main_options(argc, argv, &o);
	if (o.signame != NULL)
		return main_signal(&o);
	upgrade_child_info(&up_child);
	if ((cf = main_config(&o, &defaults)) == NULL)
		return 1;
	if (cf->path == NULL || defaults) {
		free(cf->path);
		cf->path = strdup(o.conf);
	}
	if (o.test) {
		printf("ekkod: configuration %s is ok\n",
		    defaults ? "(built-in defaults)" : o.conf);
		config_free(cf);
		return 0;
	}
	return main_run(cf, &o, defaults);
}
