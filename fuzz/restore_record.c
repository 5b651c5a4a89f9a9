// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the restore record and journal parsers a successor
 * pager reads from a workdir (daemon/pager/restore_record.c,
 * lzb_record_load and lzb_journal_replay).  A workdir other users cannot
 * write is assumed, but its files may be truncated or left half-written
 * by a crash, so both parsers must take any bytes.  The first byte picks
 * the file; the rest is its content, written into a private temp dir.
 * The journal is replayed onto an engine with two tasks (img pids 1 and
 * 2) whose lazy memory is a few ranges; whatever the journal says, it
 * can only move or drop lazy memory, never add to it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lazy_ranges.h"
#include "engine/uffd_engine.h"
#include "pager/restore_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static int no_source(void *ctx, struct lzb_engine *engine, int img_pid,
		     uint64_t img_addr, uint64_t len, bool urgent)
{
	(void)ctx, (void)engine, (void)img_pid, (void)img_addr, (void)len;
	(void)urgent;
	return 0;
}

static void put_file(const char *name, const uint8_t *d, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (n && write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void fuzz_record(const uint8_t *d, size_t n)
{
	struct lzb_record rec;
	struct lzb_err err;

	put_file(LZB_RECORD_NAME, d, n);
	if (lzb_record_load(dir, &rec, &err))
		return;
	if (!rec.nr_mirrors || rec.nr_mirrors > LZB_RECORD_MAX_MIRRORS ||
	    rec.nr_tasks > LZB_TASK_LIMIT || !rec.keeper[0] ||
	    strlen(rec.keeper) >= sizeof(rec.keeper) ||
	    strlen(rec.manifest) >= sizeof(rec.manifest))
		abort();
	for (unsigned int i = 0; i < rec.nr_mirrors; i++)
		if (!rec.mirrors[i] || !rec.mirrors[i][0])
			abort();
	lzb_record_free(&rec);
}

static void fuzz_journal(const uint8_t *d, size_t n)
{
	struct lzb_engine_config config = {
		.source = { .request = no_source },
		.max_background = 1,
		.stream_bytes = 65536,
	};
	struct lzb_engine_stats before, after;
	struct lzb_engine *e;
	struct lzb_ranges lazy;
	struct lzb_err err;

	put_file(LZB_JOURNAL_NAME, d, n);
	if (lzb_engine_new(&config, &e))
		abort();
	for (int pid = 1; pid <= 2; pid++) {
		lzb_ranges_init(&lazy);
		if (lzb_ranges_add(&lazy, 0x10000, 0x20000, 0x10000) ||
		    lzb_ranges_add(&lazy, 0x7f0000000000ull,
				   0x7f0000100000ull, 0x7f0000000000ull) ||
		    lzb_engine_add_task(e, pid, &lazy))
			abort();
		lzb_ranges_free(&lazy);
	}
	lzb_engine_get_stats(e, &before);
	lzb_journal_replay(dir, e, &err);
	lzb_engine_get_stats(e, &after);
	if (after.bytes_lazy > before.bytes_lazy)
		abort();
	lzb_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/lzb-fuzz-record-XXXXXX",
			 tmp && strlen(tmp) < 32 ? tmp : "/tmp");
		if (!mkdtemp(dir))
			abort();
	}
	if (!size)
		return 0;
	if (data[0] & 1)
		fuzz_journal(data + 1, size - 1);
	else
		fuzz_record(data + 1, size - 1);
	return 0;
}
