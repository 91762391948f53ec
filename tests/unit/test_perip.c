/*
 * test_perip.c -- the per-IP table when a worker dies or stops inside
 * its critical section: a delete killed half-way leaves every other
 * count exact, the master's forget never waits for the lock, a reaped
 * slot's counts stop counting, and a rebuild gives the spare array's
 * memory back.
 *
 * A forked child plays a worker (slot 1, then 2) and perip_fault_hook
 * stops or kills it right after the first entry its delete shifts back;
 * the parent plays the other workers (slot 0) and the master.  The
 * child's addresses go in first, so slot 0's, inserted after, probe
 * past them and a delete of the child's has slot 0's to shift.
 */
#include <sys/wait.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ekkod.h"
#include "tap.h"

#define NADDR		700	/* slot 0's addresses, 2 connections each */
#define NCAND		20	/* a child's addresses, taken before those */

/* Address number i, in the 16-byte form. */
static void
addr_of(uint32_t i, uint8_t *a)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	memcpy(a + 12, &i, 4);
}

static void
die_now(void)
{
	raise(SIGKILL);
}

static void
stop_now(void)
{
	raise(SIGSTOP);
}

/* Take one connection on each of slot's NCAND addresses from base. */
static void
take_candidates(int slot, uint32_t base)
{
	uint8_t a[16];
	uint32_t k;

	for (k = 0; k < NCAND; k++) {
		addr_of(base + k, a);
		perip_acquire(a, slot, 10);
	}
}

/*
 * The child: give back its connections one after another until a
 * delete shifts an entry and the hook fires.  Exits 3 if none does.
 */
static void
child_delete_until_shift(void (*hook)(void), int slot, uint32_t base)
{
	uint8_t a[16];
	uint32_t k;

	perip_fault_hook = hook;
	for (k = 0; k < NCAND; k++) {
		addr_of(base + k, a);
		perip_release(a, slot);
	}
	_exit(3);
}

/* Does every slot-0 address count exactly 2? */
static int
counts_exact(void)
{
	uint8_t a[16];
	uint32_t i;
	int bad = 0;

	for (i = 0; i < NADDR; i++) {
		addr_of(i, a);
		if (perip_acquire(a, 0, 2) != -1)	/* fewer than 2 */
			bad++, perip_release(a, 0);
		if (perip_acquire(a, 0, 3) != 0)	/* more than 2 */
			bad++;
		else
			perip_release(a, 0);
	}
	return bad == 0;
}

/* The child was stopped (or killed) by the hook, not done. */
static pid_t
fork_child(void (*hook)(void), int slot, uint32_t base, int *status)
{
	pid_t pid = fork();

	if (pid == 0)
		child_delete_until_shift(hook, slot, base);
	waitpid(pid, status, WUNTRACED);
	return pid;
}

static void
on_alarm(int sig)
{
	static const char m[] = "not ok - perip_forget_slot blocked\n";

	(void)sig;
	(void)!write(1, m, sizeof(m) - 1);
	_exit(1);
}

/* A delete killed half-way: the next lock holder repairs the table. */
static void
test_half_done_delete(void)
{
	int st;

	fork_child(die_now, 1, 100000, &st);
	TAP_OK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "the child died inside a delete (status %#x)", st);
	TAP_OK(counts_exact(), "every other address still counts 2");
	perip_forget_slot(1);
	TAP_OK(counts_exact(), "and still after the master forgets the slot");
}

/* A holder stopped in its critical section: the master goes on. */
static void
test_stopped_holder(void)
{
	uint8_t a[16];
	pid_t pid;
	int st;

	pid = fork_child(stop_now, 2, 200000, &st);
	TAP_OK(WIFSTOPPED(st), "the child stopped inside a delete");
	signal(SIGALRM, on_alarm);
	alarm(5);
	perip_forget_slot(2);
	alarm(0);
	TAP_OK(1, "perip_forget_slot returned with the lock held");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	TAP_OK(counts_exact(), "the holder killed: every address counts 2");
	addr_of(200000 + NCAND - 1, a);
	TAP_OK(perip_acquire(a, 0, 1) == 0,
	    "its addresses are free after the forget");
	perip_release(a, 0);
}

/* A worker that dies holding connections: the forget frees them. */
static void
test_forget_frees(void)
{
	uint8_t a[16];
	pid_t pid;
	int st;

	addr_of(300000, a);
	if ((pid = fork()) == 0)
		_exit(perip_acquire(a, 1, 1) == 0 ? 0 : 1);
	waitpid(pid, &st, 0);
	TAP_OK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "slot 1 took one");
	TAP_OK(perip_acquire(a, 0, 1) == -1, "the address is at its limit");
	perip_forget_slot(1);
	TAP_OK(perip_acquire(a, 0, 1) == 0, "free once slot 1 is forgotten");
	perip_release(a, 0);
}

/* This process's resident shared memory in kB (RssShmem), or -1. */
static long
rss_shmem_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssShmem: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Sized for a million connections, each of the two arrays is 64 MB: a
 * rebuild (here after a reaped slot, twice so that both arrays are
 * rebuilt into) leaves resident only the pages its entries use.
 */
static void
test_rebuild_resident(const uint64_t *key)
{
	uint8_t a[16];
	long before, after;
	uint32_t i;
	int round, ok = 1;

	if (perip_create(1000000, key) == -1)
		return;
	for (i = 0; i < 100; i++) {
		addr_of(i, a);
		perip_acquire(a, 1, 10);
	}
	before = rss_shmem_kb();
	for (round = 0; round < 2; round++) {
		perip_forget_slot(1);
		addr_of(round, a);
		ok &= perip_acquire(a, 0, 1) == 0;	/* rebuilds first */
		perip_acquire(a, 1, 10);
	}
	after = rss_shmem_kb();
	TAP_OK(ok, "a reaped slot's addresses are free after each rebuild");
	TAP_OK(before >= 0 && after - before < 4096,
	    "two rebuilds of a 64 MB table: %ld kB more resident",
	    after - before);
	perip_destroy();
}

int
main(void)
{
	uint64_t key[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
	uint8_t a[16];
	uint32_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* on_alarm exits at once */
	if (perip_create(100, key) == -1)
		return 1;
	take_candidates(1, 100000);
	take_candidates(2, 200000);
	for (i = 0; i < NADDR; i++) {
		addr_of(i, a);
		perip_acquire(a, 0, 10);
		perip_acquire(a, 0, 10);
	}
	TAP_OK(counts_exact(), "%d addresses count 2 each", NADDR);
	test_half_done_delete();
	test_stopped_holder();
	test_forget_frees();
	perip_destroy();
	test_rebuild_resident(key);
	return TAP_DONE();
}
