/*
 * proc.c -- becoming a daemon: detach, pidfile, privileges.
 */
#include <sys/file.h>
#include <sys/stat.h>
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
 * Open and lock the pidfile.  The lock, not the file's existence, says a
 * master runs: a stale file from a crash is simply taken over.
 */
int
proc_pidfile_open(const char *path, char *err, size_t errlen)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "pidfile %s is locked by pid %s: is "
		    "another ekkod running?", path, buf[0] ? buf : "?");
		close(fd);
		return -1;
	}
	return fd;
}

/* Write our pid into the locked pidfile. */
int
proc_pidfile_write(int fd)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/*
 * The pid of the running master, for "ekkod -s": the pidfile must exist
 * and be locked, else nothing runs.
 */
pid_t
proc_pidfile_read(const char *path, char *err, size_t errlen)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "no running ekkod: pidfile %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		snprintf(err, errlen, "no running ekkod: pidfile %s is not "
		    "locked (stale)", path);
		close(fd);
		return -1;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (util_parse_long(buf, 1, 1L << 22, &pid) == -1) {
		snprintf(err, errlen, "pidfile %s: no pid in it", path);
		return -1;
	}
	return (pid_t)pid;
}

/* Remove the pidfile on the way out, while we still hold its lock. */
void
proc_pidfile_remove(const char *path, int fd)
{
	if (fd == -1)
		return;
	/* If we may not unlink it, at least leave no pid in it. */
	if (unlink(path) == -1 && errno != ENOENT && ftruncate(fd, 0) == -1)
		log_debug("pidfile %s: %s", path, strerror(errno));
	close(fd);
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
