/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a successor pager needs to finish a restore whose pager died, kept
 * in the workdir as it happens (each line one write(2), so a SIGKILL loses
 * at most the line being written):
 *
 *   WORKDIR/pager.record   the image (mirrors, keys, and once accepted
 *                          the manifest's hash), the settings, which
 *                          keeper holds the uffds, and per task its image
 *                          pid, real pid and module session id;
 *   WORKDIR/pager.journal  every REMAP/REMOVE/UNMAP event the engine read,
 *                          in order, so a range the app zapped never gets
 *                          stale image data and moved ranges are found.
 *
 * Both are plain text; `lazyboot restore --resume WORKDIR` reads them.
 * A pager that cannot write one of them (a full file system) moves the
 * record aside (pager.record.unresumable): a resume would replay a
 * journal with events missing, and install image bytes over memory the
 * app had dropped.
 */
#ifndef LAZYBOOT_RESTORE_RECORD_H
#define LAZYBOOT_RESTORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"
#include "util/task_limit.h"

struct lzb_engine;
struct uffd_msg;

#define LZB_RECORD_NAME "pager.record"
#define LZB_JOURNAL_NAME "pager.journal"
/* The record moved aside: the restore may not be resumed. */
#define LZB_RECORD_UNRESUMABLE_NAME "pager.record.unresumable"
#define LZB_RECORD_MAX_MIRRORS 16
#define LZB_RECORD_ID_LEN 16

struct lzb_record_task {
	int img_pid;
	int pid;		/* real pid */
	uint32_t session;	/* lazyboot.ko session id, 0: none */
	uint64_t start;		/* its start time (lzb_proc_start_time),
				 * 0: not on record */
};

struct lzb_record {
	char *mirrors[LZB_RECORD_MAX_MIRRORS];
	unsigned int nr_mirrors;
	char *pubkey, *encrypt_key;	/* absolute paths, or NULL */
	bool allow_unsigned;
	unsigned int max_background;
	unsigned int tftp_blksize;
	uint32_t deadline_ms;
	char keeper[16];		/* "module", "holder" or "none" */
	char manifest[65];		/* BLAKE2b-256 of the manifest the
					 * restore accepted, hex; "" if none */
	char id[LZB_RECORD_ID_LEN + 1];	/* this restore's own, hex; names
					 * its uffds in systemd's fd store
					 * (uffd_fdstore.h); "" on records
					 * of older pagers */
	struct lzb_record_task tasks[LZB_TASK_LIMIT];
	unsigned int nr_tasks;
};

/* What a record starts with: the image and how this pager serves it. */
struct lzb_record_settings {
	const char *const *mirrors;	/* base URLs of the image */
	size_t nr_mirrors;
	const char *pubkey;		/* key files (made absolute), or NULL */
	const char *encrypt_key;
	bool allow_unsigned;
	unsigned int max_background;
	unsigned int tftp_blksize;
	uint32_t deadline_ms;
	const char *keeper;		/* lzb_keeper_kind() */
	const char *id;			/* lzb_record_new_id() */
};

/* A new restore's id: LZB_RECORD_ID_LEN random hex digits.  0 or -errno. */
int lzb_record_new_id(char id[LZB_RECORD_ID_LEN + 1]);

/*
 * Start WORKDIR's record (replacing an old one, and an old mark of an
 * unresumable one) and journal; -1 with ERR if a line cannot be written.
 */
int lzb_record_create(const char *workdir, const struct lzb_record_settings *s,
		      struct lzb_err *err);
/* Open both for appending (a successor pager goes on writing them). */
int lzb_record_open(const char *workdir, int *record_fd, int *journal_fd,
		    struct lzb_err *err);
/*
 * Append the manifest the restore accepted (HASH_HEX: its BLAKE2b-256), a
 * task (START: its start time, for a successor to tell it from a process
 * that reused its pid) or a journal event: 0 or -errno (-ENOSPC: the file
 * system is full).  A failure makes the restore unresumable: the caller
 * must say so and call lzb_record_unresumable().
 */
int lzb_record_set_manifest(int record_fd, const char *hash_hex);
int lzb_record_add_task(int record_fd, int img_pid, int pid,
			uint32_t session, uint64_t start);
int lzb_journal_add(int journal_fd, int img_pid, const struct uffd_msg *msg);
/*
 * Mark WORKDIR's restore as one that must not be resumed: the record is
 * renamed pager.record.unresumable (unlinked if that fails), so
 * lzb_record_load() refuses with a message saying why.  0 or -errno.
 */
int lzb_record_unresumable(const char *workdir);

int lzb_record_load(const char *workdir, struct lzb_record *rec,
		    struct lzb_err *err);
void lzb_record_free(struct lzb_record *rec);
/* Apply WORKDIR's journal to the engine's tasks; returns events replayed. */
int lzb_journal_replay(const char *workdir, struct lzb_engine *engine,
		       struct lzb_err *err);

#endif
