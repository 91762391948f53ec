/*
 * perip.c -- connections per peer address, across all workers, exact.
 *
 * One table in shared memory, mapped by the master before the first
 * fork, under a process-shared robust mutex: it is touched only at
 * accept and close, and only when per_ip_connections is set, so the lock
 * is never on the request path.  Entries are (address, worker slot,
 * count), found by linear probing from a keyed hash of the address, so
 * all of one address's entries lie on one probe run: the total for an
 * address is a walk of that run.  Deletion shifts entries back (Knuth's
 * algorithm R), so the table never fills with tombstones.  A worker that
 * dies takes its entries with it (perip_forget_slot), so a crash never
 * leaves an address counted forever.
 */
#include <sys/mman.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "ekkod.h"

struct perip_entry {
	uint8_t		 addr[16];
	uint16_t	 slot;
	uint16_t	 used;
	uint32_t	 count;
};

struct perip_table {
	pthread_mutex_t		 lock;
	uint64_t		 key[2];
	uint32_t		 mask;
	uint32_t		 n;
	uint32_t		 per_slot[SB_SLOTS];
	struct perip_entry	 e[];
};

static struct perip_table	*pt;
static size_t			 pt_size;

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

/*
 * Map the table for at least max connections (twice that many entries
 * keeps probe runs short); the key comes from the caller's randomness.
 */
int
perip_create(long max, const uint64_t *key)
{
	pthread_mutexattr_t ma;
	uint32_t cap = 1024;

	while (cap < (uint64_t)max * 2 && cap < (1u << 22))
		cap <<= 1;
	pt_size = sizeof(*pt) + (size_t)cap * sizeof(struct perip_entry);
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

/* Take the lock; a holder that died leaves it to us, consistent. */
static void
perip_lock(void)
{
	if (pthread_mutex_lock(&pt->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&pt->lock);
}

static void
perip_unlock(void)
{
	pthread_mutex_unlock(&pt->lock);
}

/* Remove entry i, shifting back what probed past it. */
static void
perip_delete(uint32_t i)
{
	uint32_t j = i, k, m = pt->mask;

	pt->per_slot[pt->e[i].slot]--;
	pt->n--;
	for (;;) {
		j = (j + 1) & m;
		if (!pt->e[j].used)
			break;
		k = perip_home(pt->e[j].addr);
		/* j stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		pt->e[i] = pt->e[j];
		i = j;
	}
	pt->e[i].used = 0;
}

/*
 * Count one more connection from addr on worker slot, unless the
 * address already has limit.  0 done, -1 at the limit, -2 table full.
 */
int
perip_acquire(const uint8_t *addr, int slot, long limit)
{
	uint32_t i, mine = UINT32_MAX;
	uint64_t total = 0;
	int r = 0;

	perip_lock();
	for (i = perip_home(addr); pt->e[i].used; i = (i + 1) & pt->mask) {
		if (memcmp(pt->e[i].addr, addr, 16) != 0)
			continue;
		total += pt->e[i].count;
		if (pt->e[i].slot == slot)
			mine = i;
	}
	if (total >= (uint64_t)limit)
		r = -1;
	else if (mine != UINT32_MAX)
		pt->e[mine].count++;
	else if (pt->n >= pt->mask - pt->mask / 8)
		r = -2;
	else {
		memcpy(pt->e[i].addr, addr, 16);
		pt->e[i].slot = (uint16_t)slot;
		pt->e[i].count = 1;
		pt->e[i].used = 1;
		pt->n++;
		pt->per_slot[slot]++;
	}
	perip_unlock();
	return r;
}

/* One connection from addr on worker slot has closed. */
void
perip_release(const uint8_t *addr, int slot)
{
	uint32_t i;

	perip_lock();
	for (i = perip_home(addr); pt->e[i].used; i = (i + 1) & pt->mask)
		if (pt->e[i].slot == slot &&
		    memcmp(pt->e[i].addr, addr, 16) == 0) {
			if (--pt->e[i].count == 0)
				perip_delete(i);
			break;
		}
	perip_unlock();
}

/* A worker is gone: drop every count it held (the master, on reap). */
void
perip_forget_slot(int slot)
{
	uint32_t i;

	if (pt == NULL || pt->per_slot[slot] == 0)
		return;
	perip_lock();
	for (i = 0; i <= pt->mask && pt->per_slot[slot] > 0; i++)
		/* a deletion shifts another entry into i: look again */
		while (pt->e[i].used && pt->e[i].slot == slot)
			perip_delete(i);
	perip_unlock();
}
