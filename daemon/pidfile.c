/*
 * pidfile.c -- the pidfile and the reload status file beside it.
 *
 * Both are created by root before the privilege drop, in a directory the
 * service user may own (/run/ekko).  So a hostile service user can plant
 * anything there: a symbolic link to /etc/shadow, a hard link, a fifo, a
 * directory.  Root therefore never follows a link, never opens anything
 * but a regular file with one link, never truncates before it has checked
 * what it opened, and never hands either file to the service user: the
 * master keeps writing through the descriptors it opened as root, and may
 * still unlink the names at exit (unlinking needs only the directory).
 *
 * The lock is a POSIX write lock held by the master alone.  "ekkod -s"
 * trusts the pidfile only if the lock's holder (F_GETLK names it) is the
 * pid written in the file and that process runs an ekkod binary: the
 * service user can write any pid into a file it controls, and can take a
 * read lock on a file it can read, but cannot hold a write lock in
 * another process's name.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "util.h"

#define PIDFILE_MODE	0644
#define PIDFILE_LOCK_BYTES	2	/* one a master, two in an upgrade */
#define EKKOD_NAME	"ekkod"

/* Say what is wrong with what open() or fstat() found at path. */
static int
pidfile_refuse(const char *what, const char *path, const char *why,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "%s %s %s: refusing to use it", what, path, why);
	return -1;
}

/*
 * Check that fd is a regular file with a single link: a hard link to a
 * victim file, a fifo or a device planted under our name is refused.
 */
static int
pidfile_check_fd(int fd, const char *what, const char *path, char *err,
    size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		return pidfile_refuse(what, path, "is not a regular file",
		    err, errlen);
	if (st.st_nlink != 1)
		return pidfile_refuse(what, path, "has more than one hard "
		    "link", err, errlen);
	return 0;
}

/*
 * Open path read-write, creating it, without following a link and
 * without blocking on a fifo; then check what was opened.  A file of
 * another owner (the service user's, or one left by an older ekkod that
 * chowned it) is replaced by one of ours, created exclusively: O_EXCL
 * fails on anything planted in between, even a dangling link.
 */
static int
pidfile_open_private(const char *what, const char *path, char *err,
    size_t errlen)
{
	const int flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC;
	struct stat st;
	int fd;

	fd = open(path, flags | O_CREAT, PIDFILE_MODE);
	if (fd != -1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid != geteuid()) {
		close(fd);
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "%s %s: owned by uid %u, and "
			    "removing it: %s", what, path, (unsigned)st.st_uid,
			    strerror(errno));
			return -1;
		}
		fd = open(path, flags | O_CREAT | O_EXCL, PIDFILE_MODE);
	}
	if (fd == -1) {
		if (errno == ELOOP)
			return pidfile_refuse(what, path, "is a symbolic link",
			    err, errlen);
		snprintf(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (pidfile_check_fd(fd, what, path, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The pid in a pidfile, or -1. */
static long
pidfile_pid_in(int fd)
{
	char buf[32];
	ssize_t n;
	long pid;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (util_parse_long(buf, 1, 1L << 22, &pid) == -1)
		return -1;
	return pid;
}

/*
 * Who holds a lock that conflicts with a write lock on len bytes of fd
 * from start (len 0: to the end): its pid, 0 if nobody.
 */
static pid_t
pidfile_lock_holder(int fd, off_t start, off_t len, short *type)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_start = start, .l_len = len };

	if (fcntl(fd, F_GETLK, &fl) == -1 || fl.l_type == F_UNLCK)
		return 0;
	*type = fl.l_type;
	return fl.l_pid;
}

/*
 * Open the pidfile, safely, and check that no master holds it.  The
 * lock itself is taken by pidfile_lock once we are the process that
 * will stay (after daemonizing): a POSIX lock belongs to one process.
 */
int
pidfile_open(const char *path, char *err, size_t errlen)
{
	short type;
	pid_t holder;
	int fd;

	if ((fd = pidfile_open_private("pidfile", path, err, errlen)) == -1)
		return -1;
	if ((holder = pidfile_lock_holder(fd, 0, 0, &type)) != 0) {
		snprintf(err, errlen, "pidfile %s is locked by pid %d: is "
		    "another ekkod running?", path, (int)holder);
		close(fd);
		return -1;
	}
	return fd;
}

/* Write pid into the pidfile; a reader sees the old pid or the new. */
int
pidfile_write(int fd, pid_t pid)
{
	char buf[32];
	int n;

	/* write first, then cut: never an empty file in between */
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) == -1)
		return -1;
	return 0;
}

/*
 * Take one of the pidfile's two lock bytes (the caller writes the pid).
 * A master locks byte 0 or byte 1, whichever is free: during a binary
 * upgrade the new master holds the other byte before the old one goes,
 * so the file is never without a locked master.
 */
int
pidfile_lock(int fd, const char *path, char *err, size_t errlen)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_len = PIDFILE_LOCK_BYTES / 2 };

	if (fcntl(fd, F_SETLK, &fl) == -1) {
		fl.l_start = PIDFILE_LOCK_BYTES / 2;
		if (fcntl(fd, F_SETLK, &fl) == -1) {
			snprintf(err, errlen, "pidfile %s: locking: %s: is "
			    "another ekkod running?", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Is pid running an ekkod binary?  /proc/PID/exe names it ("ekkod", or
 * "ekkod (deleted)" once a package upgrade replaced the file; a copy
 * beside it such as "ekkod.old" counts too: its name starts so).  A caller
 * that may not read exe (another user's non-dumpable process) falls back
 * on the command name, which is enough since the lock check came first.
 * A caller to whom the process is invisible in /proc (systemd's
 * ExecReload: ProtectProc=invisible, and PrivateUsers= gives each
 * command its own user namespace) trusts the lock, if it is not root
 * and may signal the process anyway: it gains nothing by the check.
 */
static int
pidfile_is_ekkod(pid_t pid)
{
	char path[64], exe[4096], *base;
	ssize_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) == -1) {
		if (errno == ENOENT)
			return geteuid() != 0 && kill(pid, 0) == 0;
		if (errno != EACCES && errno != EPERM)
			return 0;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		if ((fp = fopen(path, "r")) == NULL)
			return 0;
		n = (ssize_t)fread(exe, 1, sizeof(exe) - 1, fp);
		fclose(fp);
		exe[n > 0 ? n : 0] = '\0';
		exe[strcspn(exe, "\n")] = '\0';
		return strncmp(exe, EKKOD_NAME, strlen(EKKOD_NAME)) == 0;
	}
	exe[n] = '\0';
	base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	return strncmp(base, EKKOD_NAME, strlen(EKKOD_NAME)) == 0;
}

/*
 * The pid of the running master, for "ekkod -s": the pidfile must be a
 * regular file, write-locked by the very process it names, and that
 * process an ekkod.  Anything else is refused with the reason.
 */
pid_t
pidfile_find_master(const char *path, char *err, size_t errlen)
{
	short type = F_UNLCK, type1 = F_UNLCK;
	pid_t holder, holder1;
	long pid;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "no running ekkod: pidfile %s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (pidfile_check_fd(fd, "pidfile", path, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	/* either lock byte: the second is held only during an upgrade */
	holder = pidfile_lock_holder(fd, 0, 1, &type);
	holder1 = pidfile_lock_holder(fd, 1, 1, &type1);
	pid = pidfile_pid_in(fd);
	close(fd);
	if (holder == 0 && holder1 == 0) {
		snprintf(err, errlen, "no running ekkod: pidfile %s is not "
		    "locked (stale)", path);
		return -1;
	}
	if (pid == -1 || !((type == F_WRLCK && holder == (pid_t)pid) ||
	    (type1 == F_WRLCK && holder1 == (pid_t)pid))) {
		snprintf(err, errlen, "pidfile %s names pid %ld but is locked "
		    "by pid %d: not trusting it", path, pid,
		    (int)(holder ? holder : holder1));
		return -1;
	}
	if (!pidfile_is_ekkod((pid_t)pid)) {
		snprintf(err, errlen, "pidfile %s names pid %ld, which is not "
		    "an ekkod: not signalling it", path, pid);
		return -1;
	}
	return (pid_t)pid;
}

/* Remove the pidfile on the way out, while we still hold its lock. */
void
pidfile_remove(const char *path, int fd)
{
	if (fd == -1)
		return;
	/* If we may not unlink it, at least leave no pid in it. */
	if (unlink(path) == -1 && errno != ENOENT && ftruncate(fd, 0) == -1)
		log_debug("pidfile %s: %s", path, strerror(errno));
	close(fd);
}

/* ---- the reload status file: PIDFILE.status ---- */

/* Where the reload status of the master owning pidfile is written. */
void
pidfile_status_path(const char *pidfile, char *buf, size_t len)
{
	snprintf(buf, len, "%s.status", pidfile);
}

/* Open (safely) and empty the status file beside pidfile. */
int
pidfile_status_open(const char *pidfile, char *err, size_t errlen)
{
	char path[CONF_STR + 16];
	int fd;

	pidfile_status_path(pidfile, path, sizeof(path));
	if ((fd = pidfile_open_private("status file", path, err, errlen)) ==
	    -1)
		return -1;
	if (ftruncate(fd, 0) == -1) {
		snprintf(err, errlen, "status file %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A reload or upgrade outcome as a record: "seq N", "result ok|failed",
 * extra lines if any (an upgrade's "pid" and "version"), one "error ..."
 * line per error, "end".  Returns its length (<= len).
 */
size_t
pidfile_status_format(char *buf, size_t len, unsigned long long seq,
    const char *result, const struct config_errors *errs, const char *extra)
{
	size_t off;
	int i, n;

	n = snprintf(buf, len, "seq %llu\nresult %s\n%s", seq, result,
	    extra != NULL ? extra : "");
	off = n < 0 ? 0 : (size_t)n;
	for (i = 0; errs != NULL && i < errs->n && off < len; i++) {
		n = snprintf(buf + off, len - off, "error %s\n",
		    errs->msgs[i]);
		off = n < 0 ? off : off + (size_t)n;
	}
	if (off > len - 5)
		off = len - 5;
	memcpy(buf + off, "end\n", 4);
	return off + 4;
}

/*
 * Replace the record: empty the file first, so that a reader never
 * sees the new record followed by the tail of an older, longer one
 * (it ignores a record without its "end" and reads again).
 */
int
pidfile_status_write(int fd, const char *rec, size_t len)
{
	if (ftruncate(fd, 0) == -1 || pwrite(fd, rec, len, 0) != (ssize_t)len)
		return -1;
	return 0;
}

/*
 * Parse a record read from the status file: its seq, 0 if it is not
 * complete.  text is cut after the first "end" line, so anything after
 * it (a torn read) is never taken for this record's errors.
 */
unsigned long long
pidfile_status_parse(char *text)
{
	unsigned long long seq;
	char *end;

	if ((end = strstr(text, "\nend\n")) == NULL ||
	    sscanf(text, "seq %llu\n", &seq) != 1)
		return 0;
	end[5] = '\0';
	return seq;
}
