// SPDX-License-Identifier: LGPL-2.1-or-later
/* Is a restored task's lazy memory still missing and registered? */
#include "engine/lazy_check.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/page.h"
#include "util/vec.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define KPF_HUGE 17
#define KPF_THP 22
#define KPF_ZERO_PAGE 24
#define BATCH 512			/* pagemap entries read at once */

struct vma {
	uint64_t start, end;
	bool uffd_missing;		/* VmFlags "um" */
};

struct vmas {
	struct vma *v;
	size_t n, cap;
};

/* The task's VMAs and whether each is registered for missing pages. */
static int read_vmas(int pid, struct vmas *out, struct lzb_err *err)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		char dash;

		if (sscanf(line, "%llx%c%llx ", &start, &dash, &end) == 3 &&
		    dash == '-') {
			if (LZB_VEC_RESERVE(out->v, out->n, out->cap, 1)) {
				fclose(f);
				return lzb_errf(err, "%s: %s", path,
						strerror(ENOMEM));
			}
			out->v[out->n++] = (struct vma){ start, end, false };
		} else if (!strncmp(line, "VmFlags:", 8) && out->n) {
			/* two-letter flags, each followed by a space */
			for (const char *p = line + 8; *p; p++)
				if (p[0] == 'u' && p[1] == 'm' &&
				    p[-1] == ' ' && (p[2] == ' ' || p[2] == '\n'))
					out->v[out->n - 1].uffd_missing = true;
		}
	}
	fclose(f);
	return 0;
}

/* Every byte of [start, end) in a VMA registered for missing pages. */
static int check_registered(const struct vmas *vs, uint64_t start,
			    uint64_t end, int pid, struct lzb_err *err)
{
	uint64_t at = start;

	for (size_t i = 0; i < vs->n && at < end; i++) {
		const struct vma *v = &vs->v[i];

		if (v->end <= at)
			continue;
		if (v->start > at)
			break;
		if (!v->uffd_missing)
			return lzb_errf(err, "pid %d: lazy memory at 0x%" PRIx64
					" lies in VMA %" PRIx64 "-%" PRIx64
					" that is not registered with "
					"userfaultfd: it would read as zeros",
					pid, at, v->start, v->end);
		at = v->end;
	}
	if (at < end)
		return lzb_errf(err, "pid %d: lazy memory at 0x%" PRIx64
				" is not mapped: the restore lost the "
				"dumped VMA there", pid, at);
	return 0;
}

/* What kind of page PFN is, in words, as far as kpageflags tells. */
static const char *page_kind(int kpf_fd, uint64_t pfn)
{
	uint64_t flags;

	if (kpf_fd < 0 || !pfn ||
	    pread(kpf_fd, &flags, sizeof(flags), (off_t)(pfn * 8)) !=
	    sizeof(flags))
		return "a page written or read in before registration";
	if (flags & (1ULL << KPF_ZERO_PAGE))
		return "the shared zero page, mapped by a read before "
		       "registration";
	if (flags & (1ULL << KPF_THP))
		return "part of a transparent huge page that an eager write "
		       "nearby filled";
	if (flags & (1ULL << KPF_HUGE))
		return "part of a huge page";
	return "a page written or read in before registration";
}

/*
 * The task's THP_enabled (/proc/PID/status): 0 when PR_SET_THP_DISABLE was
 * in effect, as the restore asks; -1 if the kernel does not say.
 */
static int thp_enabled(int pid)
{
	char path[64], line[256];
	int val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "THP_enabled: %d", &val) == 1)
			break;
	fclose(f);
	return val;
}

/* No page of [start, end) present or swapped. */
static int check_missing(int pm_fd, int kpf_fd, uint64_t start, uint64_t end,
			 int pid, uint64_t *present, uint64_t *first,
			 const char **kind, struct lzb_err *err)
{
	uint64_t e[BATCH];

	for (uint64_t a = start; a < end;) {
		uint64_t left = (end - a) / LZB_PAGE_SIZE;
		size_t n = left < BATCH ? (size_t)left : BATCH;
		ssize_t got = pread(pm_fd, e, n * sizeof(e[0]),
				    (off_t)(a / LZB_PAGE_SIZE * sizeof(e[0])));

		if (got != (ssize_t)(n * sizeof(e[0])))
			return lzb_errf(err, "/proc/%d/pagemap: %s", pid,
					got < 0 ? strerror(errno) :
					"short read");
		for (size_t i = 0; i < n; i++) {
			if (!(e[i] & (PM_PRESENT | PM_SWAPPED)))
				continue;
			if (!(*present)++) {
				*first = a + i * LZB_PAGE_SIZE;
				*kind = e[i] & PM_PRESENT ?
					page_kind(kpf_fd, e[i] & PM_PFN_MASK) :
					"swapped out, so it was there before";
			}
		}
		a += n * LZB_PAGE_SIZE;
	}
	return 0;
}

int lzb_lazy_check(const struct lzb_ranges *lazy, int pid,
		   struct lzb_err *err)
{
	struct vmas vs = { 0 };
	uint64_t present = 0, first = 0, pages = 0;
	const char *kind = NULL;
	char path[64];
	int pm_fd, kpf_fd, ret;

	if (!lazy->n)
		return 0;
	ret = read_vmas(pid, &vs, err);
	for (size_t i = 0; !ret && i < lazy->n; i++)
		ret = check_registered(&vs, lazy->v[i].start, lazy->v[i].end,
				       pid, err);
	free(vs.v);
	if (ret)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0)
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	for (size_t i = 0; !ret && i < lazy->n; i++) {
		pages += (lazy->v[i].end - lazy->v[i].start) / LZB_PAGE_SIZE;
		ret = check_missing(pm_fd, kpf_fd, lazy->v[i].start,
				    lazy->v[i].end, pid, &present, &first,
				    &kind, err);
	}
	close(pm_fd);
	if (kpf_fd >= 0)
		close(kpf_fd);
	if (ret)
		return -1;
	if (present)
		return lzb_errf(err, "pid %d: %" PRIu64 " of %" PRIu64
				" lazy pages are present before the pager "
				"installed them, the first at 0x%" PRIx64
				" (%s; the task's THP_enabled: %d): the task "
				"would run on them instead of the image's "
				"bytes", pid, present, pages, first, kind,
				thp_enabled(pid));
	return 0;
}
