/*
 * perip.c -- connections per peer address, across all workers, exact.
 *
 * One table in shared memory, mapped by the master before the first
 * fork, under a process-shared robust mutex that only workers take: it
 * is touched only at accept and close, and only when per_ip_connections
 * is set, so the lock is never on the request path.  Entries are
 * (address, worker slot, slot generation, count), found by linear
 * probing from a keyed hash of the address, so all of one address's
 * entries lie on one probe run: the total for an address is a walk of
 * that run.  Deletion shifts entries back (Knuth's algorithm R), so the
 * table never fills with tombstones.
 *
 * Two rules keep a worker's death harmless:
 *
 * - The master never takes the lock (a worker stopped or hung holding
 *   it would stop the master, and with it the watchdog that kills that
 *   worker).  When a worker is reaped the master only moves its slot's
 *   generation on: entries of an older generation count as nothing, and
 *   the next worker to take the lock sweeps them out.
 * - An entry is made whole before it is marked used, and cleared before
 *   it is overwritten, so a holder killed anywhere leaves only whole
 *   entries, at worst one duplicated by a half-done shift.  Whoever
 *   takes the lock next (EOWNERDEAD) rebuilds the table from its valid
 *   entries into a spare array, dropping duplicates, and switches to it
 *   only when done, so a death during the rebuild costs nothing either.
 */
#include <sys/mman.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"

struct perip_entry {
	uint8_t		 addr[16];
	uint32_t	 gen;		/* its slot's generation */
	uint16_t	 slot;
	uint16_t	 pad;
	_Atomic uint32_t count;
	_Atomic uint32_t used;		/* set last: the entry is whole */
};

struct perip_table {
	pthread_mutex_t		 lock;
	uint64_t		 key[2];
	uint32_t		 mask;
	uint32_t		 n;		/* used entries, live array */
	_Atomic uint32_t	 live;		/* 0 or 1: which array */
	_Atomic int		 stale;		/* a generation moved: sweep */
	_Atomic uint32_t	 gen[SB_SLOTS];	/* the master's, per slot */
	struct perip_entry	 e[];		/* two arrays of mask + 1 */
};

#define RELAXED		memory_order_relaxed

static struct perip_table	*pt;
static size_t			 pt_size;

/* Fault injection for tests/unit/test_perip.c: called mid-delete. */
void	(*perip_fault_hook)(void);

/* Mix 64 bits (the splitmix64 finalizer). */
static uint64_t
perip_mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* Home position of an address, under the secret key. */
static uint32_t
perip_home(const uint8_t *addr)
{
	uint64_t a, b;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	return (uint32_t)perip_mix(perip_mix(a ^ pt->key[0]) ^ b ^
	    pt->key[1]) & pt->mask;
}

/* Array which (0 or 1) of the two. */
static struct perip_entry *
perip_array(uint32_t which)
{
	return pt->e + (size_t)which * (pt->mask + 1);
}

/* The array lookups use. */
static struct perip_entry *
perip_live(void)
{
	return perip_array(atomic_load_explicit(&pt->live, RELAXED));
}

/*
 * Map the table for at least max connections (twice that many entries
 * keeps probe runs short; twice again for the spare array that a
 * rebuild fills); the key comes from the caller's randomness.
 */
int
perip_create(long max, const uint64_t *key)
{
	pthread_mutexattr_t ma;
	uint32_t cap = 1024;

	while (cap < (uint64_t)max * 2 && cap < (1u << 22))
		cap <<= 1;
	pt_size = sizeof(*pt) + 2 * (size_t)cap * sizeof(struct perip_entry);
	pt = mmap(NULL, pt_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pt == MAP_FAILED) {
		pt = NULL;
		return -1;
	}
	pt->mask = cap - 1;
	memcpy(pt->key, key, sizeof(pt->key));
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&pt->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	return 0;
}

/* Unmap (the master, on exit). */
void
perip_destroy(void)
{
	if (pt != NULL)
		munmap(pt, pt_size);
	pt = NULL;
}

/* Does e count: used, of a live generation of its slot, not empty? */
static int
perip_valid(const struct perip_entry *e)
{
	return atomic_load_explicit(&e->used, RELAXED) && e->slot < SB_SLOTS &&
	    e->gen == atomic_load_explicit(&pt->gen[e->slot], RELAXED) &&
	    atomic_load_explicit(&e->count, RELAXED) > 0;
}

/*
 * Write entry *src into *dst so that a death at any point leaves dst
 * either unused or whole: clear, fill, then mark used.
 */
static void
perip_put(struct perip_entry *dst, const struct perip_entry *src)
{
	atomic_store_explicit(&dst->used, 0, RELAXED);
	atomic_thread_fence(memory_order_release);
	memcpy(dst->addr, src->addr, sizeof(dst->addr));
	dst->gen = src->gen;
	dst->slot = src->slot;
	atomic_store_explicit(&dst->count,
	    atomic_load_explicit(&src->count, RELAXED), RELAXED);
	atomic_store_explicit(&dst->used, 1, memory_order_release);
}

/*
 * Zero n entries from a and give their memory back.  A hole punched in
 * a shared mapping reads as zeros and holds no pages, so the spare array
 * costs nothing between rebuilds, where a memset would keep all of it
 * resident (64 MB at a million connections).  The partial pages at
 * either end, shared with what lies beside, are cleared by hand.
 */
static void
perip_zero(struct perip_entry *a, size_t n)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	char *p = (char *)a, *end = p + n * sizeof(*a);
	char *lo = (char *)(((uintptr_t)p + pg - 1) & ~(pg - 1));
	char *hi = (char *)((uintptr_t)end & ~(pg - 1));

	if (hi <= lo || madvise(lo, (size_t)(hi - lo), MADV_REMOVE) == -1) {
		memset(p, 0, (size_t)(end - p));
		return;
	}
	memset(p, 0, (size_t)(lo - p));
	memset(hi, 0, (size_t)(end - hi));
}

/*
 * Rebuild the valid entries of the live array into the spare one,
 * one entry per (address, slot, generation), switch to it, and give
 * the old array's memory back.
 */
static void
perip_rebuild(void)
{
	uint32_t cur = atomic_load_explicit(&pt->live, RELAXED), i, j, n = 0;
	struct perip_entry *src = perip_array(cur), *dst = perip_array(!cur);

	/* a generation moved during the rebuild asks for another */
	atomic_store(&pt->stale, 0);
	perip_zero(dst, (size_t)pt->mask + 1);
	for (i = 0; i <= pt->mask; i++) {
		if (!perip_valid(&src[i]))
			continue;
		for (j = perip_home(src[i].addr); dst[j].used;
		    j = (j + 1) & pt->mask)
			if (dst[j].slot == src[i].slot &&
			    dst[j].gen == src[i].gen &&
			    memcmp(dst[j].addr, src[i].addr, 16) == 0)
				break;
		if (dst[j].used)
			continue;	/* a copy left by a half-done shift */
		perip_put(&dst[j], &src[i]);
		n++;
	}
	pt->n = n;
	atomic_store(&pt->live, !cur);
	perip_zero(src, (size_t)pt->mask + 1);
}

/*
 * Take the lock.  A holder that died may have left a half-done change,
 * and a reaped worker leaves entries that count as nothing: both are
 * repaired here, before anyone reads the table.
 */
static void
perip_lock(void)
{
	int r = pthread_mutex_lock(&pt->lock);

	if (r == EOWNERDEAD || atomic_load(&pt->stale))
		perip_rebuild();
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&pt->lock);
}

static void
perip_unlock(void)
{
	pthread_mutex_unlock(&pt->lock);
}

/* Add d to an entry's count (under the lock: no read-modify-write). */
static uint32_t
perip_count_add(struct perip_entry *e, int d)
{
	uint32_t c = atomic_load_explicit(&e->count, RELAXED) + (uint32_t)d;

	atomic_store_explicit(&e->count, c, RELAXED);
	return c;
}

/* Remove entry i of the live array, shifting back what probed past it. */
static void
perip_delete(uint32_t i)
{
	struct perip_entry *e = perip_live();
	uint32_t j = i, k, m = pt->mask;

	pt->n--;
	for (;;) {
		j = (j + 1) & m;
		if (!atomic_load_explicit(&e[j].used, RELAXED))
			break;
		k = perip_home(e[j].addr);
		/* j stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		perip_put(&e[i], &e[j]);
		if (perip_fault_hook != NULL)
			perip_fault_hook();
		i = j;
	}
	atomic_store_explicit(&e[i].used, 0, memory_order_release);
}

/*
 * Count one more connection from addr on worker slot, unless the
 * address already has limit.  0 done, -1 at the limit, -2 table full.
 */
int
perip_acquire(const uint8_t *addr, int slot, long limit)
{
	struct perip_entry *e, ne = { .slot = (uint16_t)slot, .count = 1 };
	uint32_t i, mine = UINT32_MAX;
	uint64_t total = 0;
	int r = 0;

	perip_lock();
	e = perip_live();
	ne.gen = atomic_load_explicit(&pt->gen[slot], RELAXED);
	for (i = perip_home(addr); e[i].used; i = (i + 1) & pt->mask) {
		if (!perip_valid(&e[i]) || memcmp(e[i].addr, addr, 16) != 0)
			continue;
		total += atomic_load_explicit(&e[i].count, RELAXED);
		if (e[i].slot == slot)
			mine = i;
	}
	if (total >= (uint64_t)limit)
		r = -1;
	else if (mine != UINT32_MAX)
		perip_count_add(&e[mine], 1);
	else if (pt->n >= pt->mask - pt->mask / 8)
		r = -2;
	else {
		memcpy(ne.addr, addr, 16);
		perip_put(&e[i], &ne);
		pt->n++;
	}
	perip_unlock();
	return r;
}

/* One connection from addr on worker slot has closed. */
void
perip_release(const uint8_t *addr, int slot)
{
	struct perip_entry *e;
	uint32_t i;

	perip_lock();
	e = perip_live();
	for (i = perip_home(addr); e[i].used; i = (i + 1) & pt->mask)
		if (e[i].slot == slot && perip_valid(&e[i]) &&
		    memcmp(e[i].addr, addr, 16) == 0) {
			if (perip_count_add(&e[i], -1) == 0)
				perip_delete(i);
			break;
		}
	perip_unlock();
}

/*
 * A worker is gone (the master, on reap): its entries stop counting at
 * once.  No lock: the next worker to take it sweeps them out.
 */
void
perip_forget_slot(int slot)
{
	if (pt == NULL)
		return;
	atomic_fetch_add(&pt->gen[slot], 1);
	atomic_store(&pt->stale, 1);
}
