/*
 * sig.c -- one table maps signal, name and action, for the master's loop
 * and for "ekkod -s" alike (nginx's signals[]).  Handlers never run:
 * the master blocks these signals and reads them from a signalfd, so
 * every action happens in the loop, in order, with no reentrancy.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "ekkod.h"
#include "util.h"

/*
 * Lame duck on and off take two realtime signals: every classic one is
 * taken or means something else to someone (WINCH comes from a terminal
 * resize of "ekkod -f").  SIGRTMIN is not a constant, so the table holds
 * the offset, resolved by sig_no().
 */
#define SIG_RT(n)	(-(n))

static const struct {
	int		 signo;		/* or SIG_RT(offset from SIGRTMIN) */
	const char	*name;		/* for ekkod -s */
	enum sig_action	 action;
} sigtab[] = {
	{ SIGHUP, "reload", SIG_ACT_RELOAD },
	{ SIGTERM, "stop", SIG_ACT_STOP },
	{ SIGINT, NULL, SIG_ACT_STOP },
	{ SIGQUIT, "quit", SIG_ACT_QUIT },
	{ SIGUSR1, "stats", SIG_ACT_STATS },
	{ SIGTTIN, NULL, SIG_ACT_MORE },
	{ SIGTTOU, NULL, SIG_ACT_FEWER },
	{ SIGCHLD, NULL, SIG_ACT_CHILD },
	{ SIGUSR2, "upgrade", SIG_ACT_UPGRADE },
	{ SIG_RT(1), "drain", SIG_ACT_DRAIN },
	{ SIG_RT(2), "undrain", SIG_ACT_UNDRAIN },
};

/* The signal number of row i of the table. */
static int
sig_no(size_t i)
{
	return sigtab[i].signo < 0 ? SIGRTMIN - sigtab[i].signo :
	    sigtab[i].signo;
}

/* The signal "ekkod -s NAME" sends; -1 for an unknown name. */
int
sig_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(sigtab); i++)
		if (sigtab[i].name != NULL && strcmp(sigtab[i].name, name) == 0)
			return sig_no(i);
	return -1;
}

/* What the master does on signo. */
enum sig_action
sig_action_of(int signo)
{
	size_t i;

	for (i = 0; i < nitems(sigtab); i++)
		if (sig_no(i) == signo)
			return sigtab[i].action;
	return SIG_ACT_NONE;
}

/* "SIGHUP" and the like, for logs. */
const char *
sig_name(int signo)
{
	const char *abbrev = sigabbrev_np(signo);
	static char buf[32];

	if (signo > SIGRTMIN && signo <= SIGRTMAX)
		snprintf(buf, sizeof(buf), "SIGRTMIN+%d", signo - SIGRTMIN);
	else
		snprintf(buf, sizeof(buf), "SIG%s", abbrev ? abbrev : "?");
	return buf;
}

/* The set of signals the master takes through its signalfd. */
static void
sig_master_set(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < nitems(sigtab); i++)
		sigaddset(set, sig_no(i));
}

/* Block the master's signals: done before fork, so no child races. */
void
sig_block_all(void)
{
	sigset_t set;

	sig_master_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Undo sig_block_all, for a program the master executes. */
void
sig_unblock_all(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	signal(SIGPIPE, SIG_DFL);
}

/* A signalfd for the master's signals (already blocked). */
int
sig_master_fd(void)
{
	sigset_t set;

	sig_master_set(&set);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/*
 * Workers ignore the operator's signals (the master drives them over
 * their channel) but die on TERM and ABRT as usual, so that a stray
 * "kill" and the hung-worker watchdog still work.
 */
void
sig_worker_setup(void)
{
	sigset_t set;
	size_t i;

	for (i = 0; i < nitems(sigtab); i++)
		if (sig_no(i) != SIGTERM && sig_no(i) != SIGCHLD)
			signal(sig_no(i), SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}
