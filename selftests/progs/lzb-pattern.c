// SPDX-License-Identifier: GPL-2.0
/*
 * A process for checkpoint tests: fills 256 MiB (by default) of memory of
 * several kinds with a pattern it can check later, then waits for SIGUSR1
 * and checks every page.  Restored from a dump, it proves the restore
 * brought back every page exactly.
 *
 *   lzb-pattern DIR [MIB]
 *
 * Memory: anonymous private regions in separate VMAs (some filled by four
 * threads), an anonymous shared region, a private file mapping with half
 * its pages modified (copy-on-write), zero pages and repeated pages.  A
 * forked child shares the first region copy-on-write and changes part of
 * it.  Writes DIR/ready when filled; on SIGUSR1 each process writes
 * DIR/result-<role> ("OK" or "BAD <region> <page>") and exits.
 *
 * SIGUSR2, sent to the parent right after a lazy restore resumed it, does
 * what a restored process may do while its pages are still streaming, each
 * verified page by page and reported in its own file (first line "OK" or
 * "BAD ..."): result-mremap (one VMA moved before its pages were read),
 * result-dontneed (MADV_DONTNEED on half a VMA: zeros from then on, the
 * other half intact), result-fork (a child forked now checks all memory),
 * result-threads (the four threads check disjoint quarters of every region
 * at the same moment).  The following SIGUSR1 then checks everything again
 * with the moved and dropped ranges taken into account.
 *
 * With LZB_PATTERN_ALIGNED_SP=1 in the environment the parent also parks a
 * thread whose stack pointer is exactly on a page boundary (x86-64), the
 * case in which CRIU 3.17's dump marks no page of the process PE_LAZY.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096ul

struct region {
	const char *name;
	unsigned char *p;
	size_t pages;
	unsigned int id;
};

enum { R_HEAP, R_VMA0, R_VMA1, R_VMA2, R_VMA3, R_THREADS, R_SHARED,
       R_FILE, NR_REGIONS };

/* the live operations act on regions far from where streaming starts */
#define R_MOVED R_VMA0
#define R_DROPPED R_VMA1

static struct region reg[NR_REGIONS];
static const char *dir;
static unsigned int role_salt;	/* 0 parent, 1 child (its heap part) */
static int dropped;		/* second half of R_DROPPED was DONTNEED'd */
static unsigned char *move_to;	/* reserved destination of R_MOVED */
static pthread_barrier_t start_bar, done_bar;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* What page I of region R holds; salt changes the child's heap part. */
static void expected(unsigned int r, size_t i, unsigned int salt,
		     unsigned char *out)
{
	uint64_t *w = (uint64_t *)out;

	if (i % 7 == 3) {		/* zero page */
		memset(out, 0, PAGE);
		return;
	}
	if (i % 5 == 1) {		/* repeated page */
		memset(out, 0xa0 + r, PAGE);
		return;
	}
	for (size_t k = 0; k < PAGE / 8; k++) {
		if (i % 2)		/* compressible */
			w[k] = ((uint64_t)r << 56) | ((uint64_t)salt << 48) |
			       (i << 8) | (k & 7);
		else			/* random-looking */
			w[k] = mix(((uint64_t)r << 56) ^ ((uint64_t)salt << 48) ^
				   (i << 12) ^ k);
	}
}

static void fill(unsigned int r, size_t from, size_t to, unsigned int salt)
{
	for (size_t i = from; i < to; i++)
		if (i % 7 != 3 || r == R_FILE)
			expected(r, i, salt, reg[r].p + i * PAGE);
}

static unsigned int salt_of(unsigned int r, size_t i)
{
	/* the child rewrote the first quarter of the heap */
	return r == R_HEAP && role_salt && i < reg[R_HEAP].pages / 4 ? 1 : 0;
}

/* What page I of region R must hold now, in this process. */
static void want_page(unsigned int r, size_t i, unsigned char *want)
{
	if (r == R_FILE && i % 2) {
		/* unmodified file page: the file's contents */
		memset(want, 0x5a, PAGE);
		memcpy(want, &i, sizeof(i));
	} else if (r == R_DROPPED && dropped && i >= reg[r].pages / 2) {
		memset(want, 0, PAGE);	/* MADV_DONTNEED: zeros, never image */
	} else {
		expected(r, i, salt_of(r, i), want);
	}
}

/* Check pages [from, to) of region r; on a mismatch say which. */
static int check_range(unsigned int r, size_t from, size_t to, char *bad,
		       size_t len)
{
	unsigned char want[PAGE];

	for (size_t i = from; i < to; i++) {
		want_page(r, i, want);
		if (memcmp(want, reg[r].p + i * PAGE, PAGE)) {
			snprintf(bad, len, "BAD %s %zu\n", reg[r].name, i);
			return -1;
		}
	}
	return 0;
}

static int check_all(char *bad, size_t len)
{
	for (unsigned int r = 0; r < NR_REGIONS; r++)
		if (check_range(r, 0, reg[r].pages, bad, len))
			return -1;
	return 0;
}

static void write_file(const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		exit(3);
	fputs(text, f);
	fclose(f);
}

struct job {
	size_t from, to;
	unsigned int quarter;
	char bad[128];
};

/* Fill my part, then on each start: check my quarter of every region. */
static void *filler(void *arg)
{
	struct job *j = arg;

	fill(R_THREADS, j->from, j->to, 0);
	pthread_barrier_wait(&done_bar);
	for (;;) {
		pthread_barrier_wait(&start_bar);
		snprintf(j->bad, sizeof(j->bad), "OK\n");
		for (unsigned int r = 0; r < NR_REGIONS; r++) {
			size_t q = reg[r].pages / 4, from = j->quarter * q;
			size_t to = j->quarter == 3 ? reg[r].pages : from + q;

			if (check_range(r, from, to, j->bad, sizeof(j->bad)))
				break;
		}
		pthread_barrier_wait(&done_bar);
	}
	return NULL;
}

static void *map(size_t pages, int flags, int fd)
{
	void *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

/* How many of the pages at p are resident (mincore), as "N of M". */
static void residency(const unsigned char *p, size_t pages, char *out,
		      size_t len)
{
	unsigned char *vec = calloc(pages, 1);
	size_t in = 0;

	if (!vec || mincore((void *)p, pages * PAGE, vec)) {
		snprintf(out, len, "unknown of %zu", pages);
		free(vec);
		return;
	}
	for (size_t i = 0; i < pages; i++)
		in += vec[i] & 1;
	snprintf(out, len, "%zu of %zu", in, pages);
	free(vec);
}

static void report(const char *name, const char *verdict, const char *extra)
{
	char text[512];

	snprintf(text, sizeof(text), "%s%s", verdict, extra);
	write_file(name, text);
}

/*
 * Right after a lazy restore: move one VMA and drop half of another before
 * anything reads them, fork, and let every thread fault at once.
 */
static void live_operations(struct job *jobs)
{
	struct region *mv = &reg[R_MOVED], *dr = &reg[R_DROPPED];
	size_t half = dr->pages / 2;
	char res_mv[64], res_dr[64], bad[256], extra[256];
	void *p;
	pid_t kid;

	residency(mv->p, mv->pages, res_mv, sizeof(res_mv));
	p = mremap(mv->p, mv->pages * PAGE, mv->pages * PAGE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, move_to);
	residency(dr->p + half * PAGE, dr->pages - half, res_dr, sizeof(res_dr));
	if (madvise(dr->p + half * PAGE, (dr->pages - half) * PAGE,
		    MADV_DONTNEED)) {
		snprintf(extra, sizeof(extra), "madvise: %s\n", strerror(errno));
		report("result-dontneed", "BAD madvise failed\n", extra);
	} else {
		dropped = 1;
	}
	if (p == MAP_FAILED) {
		snprintf(extra, sizeof(extra), "mremap: %s\n", strerror(errno));
		report("result-mremap", "BAD mremap failed\n", extra);
	} else {
		mv->p = p;
	}

	kid = fork();
	if (kid == 0) {
		snprintf(bad, sizeof(bad), "OK\n");
		check_all(bad, sizeof(bad));
		report("result-fork", bad, "");
		_exit(0);
	}

	pthread_barrier_wait(&start_bar);	/* the threads check now */
	if (p != MAP_FAILED) {
		snprintf(bad, sizeof(bad), "OK\n");
		check_range(R_MOVED, 0, mv->pages, bad, sizeof(bad));
		snprintf(extra, sizeof(extra), "resident before the move: %s\n",
			 res_mv);
		report("result-mremap", bad, extra);
	}
	if (dropped) {
		snprintf(bad, sizeof(bad), "OK\n");
		check_range(R_DROPPED, 0, dr->pages, bad, sizeof(bad));
		snprintf(extra, sizeof(extra), "resident before the drop: %s\n",
			 res_dr);
		report("result-dontneed", bad, extra);
	}
	pthread_barrier_wait(&done_bar);
	snprintf(bad, sizeof(bad), "OK\n");
	for (int t = 0; t < 4; t++)
		if (strcmp(jobs[t].bad, "OK\n")) {
			snprintf(bad, sizeof(bad), "BAD thread %d: %s", t,
				 jobs[t].bad + 4);
			break;
		}
	report("result-threads", bad, "");
	if (kid < 0)
		report("result-fork", "BAD fork failed\n", "");
	else
		waitpid(kid, NULL, 0);
}

static void wait_and_check(const char *result_name, struct job *jobs)
{
	sigset_t set;
	char bad[256] = "OK\n";
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (jobs)
		sigaddset(&set, SIGUSR2);
	for (;;) {
		sigwait(&set, &sig);
		if (sig == SIGUSR1)
			break;
		live_operations(jobs);
	}
	check_all(bad, sizeof(bad));
	write_file(result_name, bad);
}

/*
 * A thread that sleeps in pause() forever with SP on a page boundary: it
 * switches to the top of a page of its own mapping and never touches the
 * stack again (every signal is blocked, so none is delivered on it).
 */
static void *parked_aligned_sp(void *arg)
{
#ifdef __x86_64__
	__asm__ volatile("mov %0, %%rsp\n"
			 "1: mov $34, %%eax\n"	/* SYS_pause */
			 "syscall\n"
			 "jmp 1b\n"
			 : : "r"(arg) : "rax", "rcx", "r11", "memory");
#endif
	return arg;
}

static int park_aligned_sp_thread(void)
{
	unsigned char *stack = map(2, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	pthread_t th;
	sigset_t all;
	int err;

#ifndef __x86_64__
	fprintf(stderr, "lzb-pattern: LZB_PATTERN_ALIGNED_SP is x86-64 only\n");
	return -1;
#endif
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);	/* the new thread's mask */
	err = pthread_create(&th, NULL, parked_aligned_sp, stack + PAGE);
	sigemptyset(&all);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	return err ? -1 : 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 256;
	size_t unit = mib * 256 / 16;	/* pages per sixteenth */
	pthread_t th[4];
	struct job jobs[4];
	sigset_t set;
	char path[4096];
	pid_t child;
	int fd;

	if (argc < 2 || mib < 16) {
		fprintf(stderr, "usage: lzb-pattern DIR [MIB >= 16]\n");
		return 2;
	}
	dir = argv[1];
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* threads inherit it */
	pthread_barrier_init(&start_bar, NULL, 5);
	pthread_barrier_init(&done_bar, NULL, 5);

	reg[R_HEAP] = (struct region){ "heap", NULL, 5 * unit, R_HEAP };
	for (int v = 0; v < 4; v++)
		reg[R_VMA0 + v] = (struct region){ "vma", NULL, unit,
						   R_VMA0 + (unsigned)v };
	reg[R_THREADS] = (struct region){ "threads", NULL, 4 * unit, R_THREADS };
	reg[R_SHARED] = (struct region){ "shared", NULL, unit, R_SHARED };
	reg[R_FILE] = (struct region){ "file", NULL, 2 * unit, R_FILE };

	for (unsigned int r = 0; r < NR_REGIONS; r++) {
		if (r == R_SHARED || r == R_FILE)
			continue;
		reg[r].p = map(reg[r].pages, MAP_PRIVATE | MAP_ANONYMOUS, -1);
		/* a PROT_NONE guard keeps neighbouring VMAs from merging */
		mmap(reg[r].p + reg[r].pages * PAGE, PAGE, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	}
	reg[R_SHARED].p = map(reg[R_SHARED].pages, MAP_SHARED | MAP_ANONYMOUS, -1);
	/* where SIGUSR2 moves R_MOVED to: reserved, so nothing else lands there */
	move_to = map(reg[R_MOVED].pages + 1, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	mprotect(move_to, (reg[R_MOVED].pages + 1) * PAGE, PROT_NONE);

	snprintf(path, sizeof(path), "%s/backing", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 2;
	for (size_t i = 0; i < reg[R_FILE].pages; i++) {
		unsigned char page[PAGE];

		memset(page, 0x5a, PAGE);
		memcpy(page, &i, sizeof(i));
		if (write(fd, page, PAGE) != (ssize_t)PAGE)
			return 2;
	}
	reg[R_FILE].p = map(reg[R_FILE].pages, MAP_PRIVATE, fd);
	close(fd);

	for (unsigned int r = 0; r < NR_REGIONS; r++) {
		if (r == R_THREADS)
			continue;
		if (r == R_FILE) {	/* modify (COW) the even pages */
			for (size_t i = 0; i < reg[r].pages; i += 2)
				expected(r, i, 0, reg[r].p + i * PAGE);
			continue;
		}
		fill(r, 0, reg[r].pages, 0);
	}
	for (int t = 0; t < 4; t++) {
		jobs[t].from = (size_t)t * unit;
		jobs[t].to = (size_t)(t + 1) * unit;
		jobs[t].quarter = (unsigned int)t;
		pthread_create(&th[t], NULL, filler, &jobs[t]);
	}
	pthread_barrier_wait(&done_bar);	/* the threads have filled */
	sleep(1);

	child = fork();
	if (child == 0) {
		role_salt = 1;
		fill(R_HEAP, 0, reg[R_HEAP].pages / 4, 1);
		write_file("child-ready", "1\n");
		wait_and_check("result-child", NULL);
		return 0;
	}
	if (getenv("LZB_PATTERN_ALIGNED_SP") && park_aligned_sp_thread())
		return 2;
	snprintf(path, sizeof(path), "%s/child-ready", dir);
	while (access(path, F_OK))
		usleep(10000);
	snprintf(path, sizeof(path), "%d\n", (int)child);
	write_file("ready", path);
	wait_and_check("result-parent", jobs);
	kill(child, SIGUSR1);
	waitpid(child, NULL, 0);
	return 0;
}
