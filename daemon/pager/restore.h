/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One lazy restore from a served lazyboot image, start to finish: fetch
 * and verify the manifest, index and boot bundle; run
 * `criu restore --lazy-pages` on the bundle while serving CRIU's
 * lazy-pages socket; serve faults first and stream the rest; run the
 * readiness probe; finish when every page is resident.
 *
 * If anything stops the pager before every page is in, the restored tasks
 * are killed: they never run on on zero-filled memory.
 */
#ifndef LAZYBOOT_RESTORE_H
#define LAZYBOOT_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lzb_restore_status;

/* Where a restore works when not told: its bundle, logs and status. */
#define LZB_RESTORE_WORKDIR "/run/lazyboot/restore"
/* WORKDIR/images: the boot bundle, unpacked for criu restore. */
#define LZB_RESTORE_IMAGES_DIR "images"

/*
 * What lazybootd does when the restore cannot start or finish (only
 * lazybootd acts on it; lzb_restore_run ignores it).
 */
enum lzb_fallback_policy {
	LZB_FALLBACK_DEFAULT,		/* coldstart if coldstart_cmd, else fail */
	LZB_FALLBACK_COLDSTART,		/* run coldstart_cmd instead */
	LZB_FALLBACK_FAIL,		/* exit non-zero: the unit fails */
};

/* --stream-yield */
enum lzb_stream_yield {
	LZB_YIELD_BOUND,	/* its TCP window bounded to what the link needs */
	LZB_YIELD_HOLD,		/* ... and closed while a fault's chunk is fetched */
	LZB_YIELD_OFF,		/* neither: the window as the kernel grows it */
};

struct lzb_restore_opts {
	const char *const *mirrors;	/* base URLs of the image directory */
	size_t nr_mirrors;
	const char *pubkey;		/* ed25519 public key file */
	bool allow_unsigned;		/* only with no pubkey: say so loudly */
	const char *encrypt_key;	/* key file for encrypted images */
	const char *workdir;		/* bundle + CRIU logs; made if missing */
	const char *ready_cmd;		/* readiness probe (sh -c), optional */
	const char *criu;		/* criu binary; "criu" */
	const char *plugin_dir;		/* criu --libdir (lazyboot_plugin.so) */
	char *const *criu_args;		/* extra `criu restore` arguments */
	size_t nr_criu_args;
	unsigned int max_background;	/* chunks streamed at once; 4 */
	/* --no-stream: the background chunk by chunk, not from the image's
	 * stream (image_stream.c) */
	bool no_stream;
	/* --stream-yield: how the http(s) stream makes way for faults on
	 * the path (fetch/http_window.h, docs/pager.md step 5) */
	enum lzb_stream_yield stream_yield;
	unsigned int tftp_blksize;	/* tftp:// blksize asked for; 0: 1468 */
	/* The network's bytes are read by a sandboxed child (fetch.h,
	 * opts.sandbox; docs/security.md) unless no_fetch_sandbox
	 * (--no-fetch-sandbox: debugging, a kernel without seccomp). */
	bool no_fetch_sandbox;
	const char *fetch_user;		/* --fetch-user: the child's user;
					 * NULL: lazyboot-fetch, else nobody */
	uint32_t deadline_ms;		/* a dead pager's successor must take
					 * over within this, else the tasks
					 * are killed; 0: 30 s */
	bool resume;			/* take over the restore in workdir
					 * whose pager died (restore_record.h) */
	/* Which image, how fresh (image/image_trust.h): */
	const char *image_id;		/* --image-id: the 32 hex digits the
					 * manifest's image id must be; NULL:
					 * any (a unit's config: image_id) */
	const char *state_dir;		/* --state-dir: the highest accepted
					 * version per image id; NULL:
					 * $LAZYBOOT_STATE_DIR or
					 * /var/lib/lazyboot */
	bool allow_downgrade;		/* --allow-downgrade: take a version
					 * older than one accepted before */
	const char *resume_manifest;	/* --resume: the BLAKE2b-256 (hex) of
					 * the manifest on record; any other
					 * is refused */
	bool quiet;
	/* lazybootd's fallback (--fallback, --coldstart): not the restore's */
	enum lzb_fallback_policy fallback_policy;
	const char *coldstart_cmd;	/* the app's cold start (sh -c) */
	/* Told every status written to WORKDIR/status (optional). */
	void (*on_status)(void *arg, const struct lzb_restore_status *st);
	void *status_arg;
	/*
	 * Called at every turn of the pager's serve loop (at least every
	 * 20 ms while it runs) and between the steps before it (manifest,
	 * index, bundle, CRIU's start): lazybootd's watchdog (optional).
	 */
	void (*on_loop)(void);
	/*
	 * A stop signal came before every page was in: true to leave the
	 * tasks to their keeper (KEEPER: lzb_keeper_kind()) as a dead
	 * pager would, for a successor to resume (lazybootd when its unit
	 * is restarted); false (or NULL) kills them.
	 */
	bool (*leave_on_stop)(const char *keeper);
};

struct lzb_restore_report {
	uint64_t ms_bundle;		/* manifest, index, bundle fetched */
	uint64_t ms_restored;		/* CRIU sent restore-finished */
	uint64_t ms_ready;		/* probe passed (0: no probe) */
	uint64_t ms_resident;		/* every lazy page installed */
	uint64_t faults, zero_pages, pages_installed;
	uint64_t chunks_fetched, chunks_urgent;
	uint64_t chunks_streamed;	/* of chunks_fetched, from the stream */
	bool stream_failed;		/* none, or it ended early: chunk by chunk */
	uint64_t chunks_refused;	/* a mirror's copy failed its check */
	uint64_t meta_bytes;		/* manifest, index, boot bundle */
	uint64_t chunk_bytes;		/* chunks, as stored */
	uint64_t bytes_fetched;		/* both: every image byte fetched */
	uint64_t bytes_before_ready;	/* bytes_fetched when the probe
					 * passed (0: no probe) */
	int root_pid;			/* real pid of the restored root */
	bool tasks_left;		/* failed, yet restored tasks were
					 * left running (a resume that could
					 * not take over: its keeper kills
					 * them at the deadline; or every page
					 * was in): not killed */
	int stop_signal;		/* SIGTERM/SIGINT that arrived during
					 * the restore (0: none) */
	bool left_to_keeper;		/* stopped, and leave_on_stop said
					 * to leave the tasks */
};

/* Returns 0 on success, else prints why to stderr and returns nonzero. */
int lzb_restore_run(const struct lzb_restore_opts *opts,
		    struct lzb_restore_report *report);

#endif
