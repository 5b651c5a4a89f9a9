// SPDX-License-Identifier: GPL-2.0
/*
 * Compare a restored tree's memory with the CRIU dump it came from, page
 * by page: the general detector of a lazy restore that put wrong bytes
 * (or zeros) anywhere, even where the app would only crash later.
 *
 *   lzb-memcmp DUMP_DIR ROOT_PID
 *
 * ROOT_PID is the restored root, in this PID namespace.  The tree must be
 * stopped and must not have run since the restore (`criu restore
 * --leave-stopped`, with every lazy page installed): then every page the
 * dump holds must read back exactly from /proc/PID/mem.  The only bytes
 * that legitimately differ are each thread's struct rseq, which the
 * kernel rewrites when the restorer returns to user space; they are
 * masked, by the address and size PTRACE_GET_RSEQ_CONFIGURATION gives.
 *
 * Prints one line per process and exits 0 when every page matches, 1 on
 * a difference (the first few named by address), 2 on a usage or read
 * error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/capture.h"
#include "criu/criu_image.h"

#define PAGE 4096u
#define MAX_RSEQ 4096
#define SHOW_DIFFS 5

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

struct rseq_config {		/* struct ptrace_rseq_configuration */
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

struct span {
	uint64_t start, end;
};

struct tree {
	int img[MAX_RSEQ], real[MAX_RSEQ];	/* image pid -> real pid */
	size_t n;
	struct span rseq[MAX_RSEQ];		/* every thread's rseq */
	size_t nr_rseq;
};

/* The rseq area of thread TID, read while it is in a ptrace stop. */
static void add_rseq(struct tree *t, int tid)
{
	struct rseq_config rc = { 0 };
	int status;

	if (t->nr_rseq == MAX_RSEQ ||
	    ptrace(PTRACE_SEIZE, tid, 0, 0) ||
	    ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		return;
	if (waitpid(tid, &status, __WALL) == tid &&
	    ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rc), &rc) > 0 &&
	    rc.rseq_abi_pointer)
		t->rseq[t->nr_rseq++] = (struct span){
			rc.rseq_abi_pointer,
			rc.rseq_abi_pointer + rc.rseq_abi_size };
	ptrace(PTRACE_DETACH, tid, 0, 0);
}

/* ROOT and its descendants (by their image pids), and every thread's rseq. */
static int walk(struct tree *t, int root)
{
	static pid_t pids[MAX_RSEQ];
	int n = lzb_tree_pids(root, pids, MAX_RSEQ);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		char path[64];
		struct dirent *d;
		DIR *dir;

		t->img[t->n] = lzb_ns_pid(pids[i]);
		t->real[t->n++] = pids[i];
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pids[i]);
		dir = opendir(path);
		while (dir && (d = readdir(dir)))
			if (atoi(d->d_name) > 0)
				add_rseq(t, atoi(d->d_name));
		if (dir)
			closedir(dir);
	}
	return 0;
}

static bool stopped(int pid)
{
	char path[64], line[256];
	bool t = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "State:", 6))
			t = strchr(line, 'T') != NULL;
	fclose(f);
	return t;
}

/* Blank what lies in a thread's rseq area in both copies of page VADDR. */
static void mask_rseq(const struct tree *t, uint64_t vaddr, uint8_t *a,
		      uint8_t *b)
{
	for (size_t i = 0; i < t->nr_rseq; i++) {
		uint64_t s = t->rseq[i].start, e = t->rseq[i].end;

		if (e <= vaddr || s >= vaddr + PAGE)
			continue;
		s = s < vaddr ? vaddr : s;
		e = e > vaddr + PAGE ? vaddr + PAGE : e;
		memset(a + (s - vaddr), 0, e - s);
		memset(b + (s - vaddr), 0, e - s);
	}
}

static bool skipped_vma(const struct lzb_criu_task *ct, uint64_t vaddr)
{
	const struct lzb_criu_vma *v = lzb_criu_mm_find(&ct->mm, vaddr);

	return v && (v->status & (CRIU_VMA_AREA_VDSO | CRIU_VMA_AREA_VVAR |
				  CRIU_VMA_AREA_VSYSCALL));
}

/* Compare one process; returns the pages that differ, or -1. */
static long compare_task(const char *dir, const struct lzb_criu_task *ct,
			 int real, const struct tree *t)
{
	char path[4200];
	uint8_t want[PAGE], got[PAGE];
	uint64_t pages = 0, off = 0;
	long bad = 0;
	int pages_fd, mem_fd;

	snprintf(path, sizeof(path), "%s/%s", dir, ct->pages_name);
	pages_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/mem", real);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pages_fd < 0 || mem_fd < 0) {
		fprintf(stderr, "lzb-memcmp: image pid %u: %s\n", ct->ps->pid,
			strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < ct->pm.nr; i++) {
		const struct lzb_criu_pagemap_entry *e = &ct->pm.e[i];

		if (!(e->flags & CRIU_PE_PRESENT))
			continue;
		for (uint64_t p = 0; p < e->nr_pages; p++, off += PAGE) {
			uint64_t va = e->vaddr + p * PAGE;

			if (skipped_vma(ct, va))
				continue;
			if (pread(pages_fd, want, PAGE, (off_t)off) != PAGE ||
			    pread(mem_fd, got, PAGE, (off_t)va) != PAGE) {
				fprintf(stderr, "lzb-memcmp: image pid %u: "
					"cannot read page 0x%" PRIx64 ": %s\n",
					ct->ps->pid, va, strerror(errno));
				bad = -1;
				goto out;
			}
			pages++;
			mask_rseq(t, va, want, got);
			if (!memcmp(want, got, PAGE))
				continue;
			if (bad++ < SHOW_DIFFS) {
				size_t b = 0;

				while (want[b] == got[b])
					b++;
				printf("# image pid %u: page 0x%" PRIx64
				       " differs from byte %zu on (dump %02x, "
				       "memory %02x)\n", ct->ps->pid, va, b,
				       want[b], got[b]);
			}
		}
	}
	printf("# image pid %u (pid %d): %" PRIu64 " dumped pages compared, "
	       "%ld differ\n", ct->ps->pid, real, pages, bad);
out:
	close(pages_fd);
	close(mem_fd);
	return bad;
}

int main(int argc, char **argv)
{
	static struct tree t;
	struct lzb_criu_dump d;
	struct lzb_err err = { { 0 } };
	long bad = 0;

	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: lzb-memcmp DUMP_DIR ROOT_PID\n");
		return 2;
	}
	if (lzb_criu_dump_open(argv[1], &d, &err)) {
		fprintf(stderr, "lzb-memcmp: %s\n", err.msg);
		return 2;
	}
	if (!stopped(atoi(argv[2]))) {
		fprintf(stderr, "lzb-memcmp: pid %s is not stopped: its memory "
			"may have changed since the restore\n", argv[2]);
		return 2;
	}
	if (walk(&t, atoi(argv[2]))) {
		fprintf(stderr, "lzb-memcmp: cannot walk the tree of %s\n",
			argv[2]);
		return 2;
	}
	/*
	 * A task detached from its ptrace stop goes back to its group stop
	 * through the kernel (never to user space): wait until it is there.
	 */
	for (size_t i = 0; i < t.n; i++) {
		for (int tries = 0; !stopped(t.real[i]) && tries < 100; tries++)
			usleep(100 * 1000);
		if (!stopped(t.real[i])) {
			fprintf(stderr, "lzb-memcmp: pid %d is not stopped: "
				"its memory may have changed since the "
				"restore\n", t.real[i]);
			return 2;
		}
	}
	for (size_t i = 0; i < d.nr_tasks && bad >= 0; i++) {
		const struct lzb_criu_task *ct = &d.tasks[i];
		int real = 0;
		long n;

		if (!ct->has_memory)
			continue;
		for (size_t k = 0; k < t.n; k++)
			if (t.img[k] == (int)ct->ps->pid)
				real = t.real[k];
		if (!real) {
			fprintf(stderr, "lzb-memcmp: image pid %u is not in "
				"the tree of %s\n", ct->ps->pid, argv[2]);
			bad = -1;
			break;
		}
		n = compare_task(d.dir, ct, real, &t);
		bad = n < 0 ? -1 : bad + n;
	}
	lzb_criu_dump_close(&d);
	if (bad < 0)
		return 2;
	printf("# %s: %ld pages differ from the dump\n", bad ? "FAIL" : "ok",
	       bad);
	return bad ? 1 : 0;
}
