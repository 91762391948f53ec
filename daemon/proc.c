/*
 * proc.c -- becoming a daemon: detach, privileges; how a process ended.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

#define PROC_READY_WAIT_MS	60000

/*
 * Detach from the terminal: fork, setsid, chdir /, stdio to /dev/null.
 * The parent stays until the child says it serves (a byte on the pipe
 * returned to the child, see proc_ready), so "ekkod && ekkod -s stop"
 * never races the pidfile and a start-up failure is the caller's exit
 * status: 0 once serving, 1 if the child died first.
 */
int
proc_daemonize(void)
{
	struct pollfd pfd;
	int fd, p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid != 0) {
		close(p[1]);
		pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
		if (poll(&pfd, 1, PROC_READY_WAIT_MS) == 1 &&
		    read(p[0], &c, 1) == 1)
			_exit(0);
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1 || chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return p[1];
}

/* Tell the waiting parent that we serve; the pipe is closed after. */
void
proc_ready(int *fd)
{
	if (*fd == -1)
		return;
	if (write(*fd, "R", 1) != 1)
		log_debug("telling the parent we are ready: %s",
		    strerror(errno));
	close(*fd);
	*fd = -1;
}

/*
 * Become user:group.  Supplementary groups are reduced to the one group,
 * and the change is checked: a setuid that silently failed would leave
 * the daemon running as root.
 */
int
proc_drop_privileges(const char *user, const char *group, char *err,
    size_t errlen)
{
	struct passwd *pw = NULL;
	struct group *gr;
	uid_t uid;
	gid_t gid;

	if (user[0] != '\0' && (pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\": no such user", user);
		return -1;
	}
	uid = pw ? pw->pw_uid : getuid();
	gid = pw ? pw->pw_gid : getgid();
	if (group[0] != '\0') {
		if ((gr = getgrnam(group)) == NULL) {
			snprintf(err, errlen, "group \"%s\": no such group",
			    group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "dropping privileges to %s:%s: %s",
		    user, group, strerror(errno));
		return -1;
	}
	if (uid != 0 && setuid(0) != -1) {
		snprintf(err, errlen, "dropping privileges: still root");
		return -1;
	}
	return 0;
}

/* CPUs this process may run on, for workers = "auto". */
int
proc_cpu_count(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    (n = CPU_COUNT(&set)) > 0)
		return n;
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

/*
 * A wait status in words, one decoding for both places that show one:
 * the log's ("exited with status 1", "killed by SIGKILL (core dumped)")
 * and STATS's last_exit ("exit 1", "signal 9").  -1 is "none".
 */
const char *
proc_status_text(int status, enum status_words words, char *buf,
    size_t len)
{
	int log = words == STATUS_WORDS_LOG;

	if (status == -1)
		snprintf(buf, len, "none");
	else if (WIFEXITED(status))
		snprintf(buf, len, log ? "exited with status %d" : "exit %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && log)
		snprintf(buf, len, "killed by %s%s", sig_name(WTERMSIG(status)),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, log ? "stopped (status %d)" : "status %d",
		    status);
	return buf;
}
