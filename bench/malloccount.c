/*
 * malloccount.c -- an LD_PRELOAD library that counts heap calls, for
 * make bench-extra: zero allocations per request on the hot path.
 *
 * Every process (and every child it forks) keeps its counts in a shared
 * mapping of the file $MALLOCCOUNT_DIR/PID, four native u64 counters:
 * malloc, calloc, realloc, free.  Another process reads the file at any
 * moment (od -An -t u8), before and after a run, without signalling the
 * counted one.  Without MALLOCCOUNT_DIR nothing is written.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { C_MALLOC, C_CALLOC, C_REALLOC, C_FREE, C_N };

extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);
extern void	 __libc_free(void *);

void	*malloc(size_t);
void	*calloc(size_t, size_t);
void	*realloc(void *, size_t);
void	 free(void *);

static uint64_t		 early[C_N];	/* before the mapping exists */
static uint64_t		*counts = early;

/* Map this process's counter file; on failure keep counting privately. */
static void
mc_map(void)
{
	const char *dir;
	char path[512];
	void *p;
	int fd;

	if ((dir = getenv("MALLOCCOUNT_DIR")) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%ld", dir, (long)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return;
	if (ftruncate(fd, sizeof(early)) == 0) {
		p = mmap(NULL, sizeof(early), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
		if (p != MAP_FAILED)
			counts = p;
	}
	close(fd);
}

/* In a forked child: count into a file of its own, from zero. */
static void
mc_child(void)
{
	counts = early;
	counts[C_MALLOC] = counts[C_CALLOC] = 0;
	counts[C_REALLOC] = counts[C_FREE] = 0;
	mc_map();
}

/* Set up at load time. */
static void __attribute__((constructor))
mc_init(void)
{
	mc_map();
	pthread_atfork(NULL, NULL, mc_child);
}

/* Count one call of a kind. */
static inline void
mc_count(int kind)
{
	__atomic_fetch_add(&counts[kind], 1, __ATOMIC_RELAXED);
}

/* malloc, counted. */
void *
malloc(size_t n)
{
	mc_count(C_MALLOC);
	return __libc_malloc(n);
}

/* calloc, counted. */
void *
calloc(size_t n, size_t m)
{
	mc_count(C_CALLOC);
	return __libc_calloc(n, m);
}

/* realloc, counted. */
void *
realloc(void *p, size_t n)
{
	mc_count(C_REALLOC);
	return __libc_realloc(p, n);
}

/* free, counted when it frees something. */
void
free(void *p)
{
	if (p != NULL)
		mc_count(C_FREE);
	__libc_free(p);
}
