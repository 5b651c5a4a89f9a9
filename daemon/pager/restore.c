// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu/criu_restore_proc.h"
#include "engine/uffd_engine.h"
#include "fetch/fetch.h"
#include "fetch/tftp_socket.h"
#include "image/image_load.h"
#include "image/image_trust.h"
#include "pager/image_source.h"
#include "pager/pager.h"
#include "pager/restore_args.h"
#include "pager/restore_record.h"
#include "pager/restore_status.h"
#include "pager/restore_timeline.h"
#include "pager/uffd_keeper.h"
#include "util/clock.h"
#include "util/file_util.h"
#include "util/log.h"
#include "util/progress_log.h"
#include "util/unix_listen.h"

#include <linux/lazyboot.h>

#define PROBE_INTERVAL_MS 100

struct restore {
	const struct lzb_restore_opts *o;
	struct lzb_restore_report *rep;
	struct lzb_fetcher *fetcher;
	struct lzb_fetcher *stream_fetcher;	/* the stream's own (niced) */
	struct lzb_mirrors *mirrors;
	struct lzb_image img;
	struct lzb_image_source *source;
	struct lzb_pager *pager;
	const struct lzb_pager_state *ps;	/* the pager's, once there */
	char workdir[4096];
	uint64_t t0;
	pid_t probe;
	bool criu_started, ready, resident;
	bool have_manifest;		/* r->img.m verified */
	struct lzb_status_throttle throttle;
	uint64_t started_unix;
	uint64_t next_probe;
	struct lzb_keeper *keeper;	/* who keeps the uffds alive */
	char record_id[LZB_RECORD_ID_LEN + 1];
	char guarantee[256];		/* what it guarantees, in words */
	int record_fd, journal_fd;	/* for a successor (restore_record.h) */
	uint64_t lazy_total;
	uint64_t meta_bytes;		/* manifest, index, bundle fetched */
	unsigned int resident_pct;	/* last 10 % step reported */
	bool first_fault;
	bool taken_over;		/* --resume: every uffd is ours */
	unsigned int resumed_uffds;	/* --resume: uffds taken back */
	bool unresumable;		/* a journal/record write failed */
	unsigned int kill_at_pct;	/* LAZYBOOT_FAULT_KILL_AT_PCT */
	unsigned int stop_at_pct;	/* LAZYBOOT_FAULT_STOP_AT_PCT */
	struct lzb_timeline_writer timeline;	/* for lazyboot report */
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

#define say(r, ...) lzb_progress((r)->o->quiet, (r)->t0 * 1000, __VA_ARGS__)

/* ---- WORKDIR/status --------------------------------------------------- */

/* Image bytes fetched so far: the metadata, then the chunks. */
static uint64_t bytes_fetched(const struct restore *r)
{
	struct lzb_image_source_stats ss = { 0 };

	if (r->source)
		lzb_image_source_get_stats(r->source, &ss);
	return r->meta_bytes + ss.bytes_fetched;
}

/* TFTP's recoveries so far, over both fetchers, into ST. */
static void tftp_counts(const struct restore *r, struct lzb_restore_status *st)
{
	struct lzb_fetcher *const fetchers[] = { r->fetcher, r->stream_fetcher };

	for (size_t i = 0; i < sizeof(fetchers) / sizeof(fetchers[0]); i++) {
		struct lzb_fetch_stats fs;

		if (!fetchers[i])
			continue;
		lzb_fetcher_stats(fetchers[i], &fs);
		st->tftp_retransmits += fs.tftp_retransmits;
		st->tftp_gaps += fs.tftp_gaps;
		st->tftp_windows_cut += fs.tftp_windows_cut;
	}
}

static const char *state_of(const struct restore *r, const char *failure)
{
	if (failure)
		return "failed";
	if (r->resident && (!r->o->ready_cmd || r->ready))
		return "resident";
	if (r->ready)
		return "ready";
	if (r->ps && r->ps->restored)
		return "streaming";
	return r->criu_started ? "restoring" : "fetching-image";
}

/* Write the status if due (a state change, or LZB_STATUS_INTERVAL_MS). */
static void publish(struct restore *r, const char *failure)
{
	struct lzb_restore_status st = { .pager_pid = getpid() };
	const struct lzb_restore_report *rep = r->rep;
	uint64_t now = lzb_now_ms(), busy;
	struct lzb_err err;

	snprintf(st.state, sizeof(st.state), "%s", state_of(r, failure));
	if (!lzb_status_due(&r->throttle, st.state, now))
		return;
	snprintf(st.url, sizeof(st.url), "%s",
		 r->o->nr_mirrors ? r->o->mirrors[0] : "");
	snprintf(st.failure, sizeof(st.failure), "%s", failure ? failure : "");
	snprintf(st.guarantee, sizeof(st.guarantee), "%s", r->guarantee);
	st.pager_start = lzb_proc_start_time(st.pager_pid);
	st.root_pid = rep->root_pid;
	if (r->pager) {
		struct lzb_engine_stats es;

		lzb_engine_get_stats(lzb_pager_engine(r->pager), &es);
		st.pages_resident = es.pages_resident;
		st.pages_total = es.pages_lazy_total;
		st.faults = es.faults;
		st.latency_p50_us = lzb_latency_percentile_us(&es.latency, 50);
		st.latency_p99_us = lzb_latency_percentile_us(&es.latency, 99);
		st.latency_max_us = es.latency.max_us;
		st.bg_faults = es.latency_background.count;
		st.bg_latency_p99_us =
			lzb_latency_percentile_us(&es.latency_background, 99);
		st.bg_latency_max_us = es.latency_background.max_us;
	}
	st.bytes_fetched = bytes_fetched(r);
	tftp_counts(r, &st);
	busy = (rep->ms_resident ? rep->ms_resident : now - r->t0);
	st.mb_per_s = busy ? st.bytes_fetched / 1e3 / (double)busy : 0;
	st.started_unix = r->started_unix;
	st.updated_unix = (uint64_t)time(NULL);
	st.ms_elapsed = now - r->t0;
	st.ms_bundle = rep->ms_bundle;
	st.ms_restored = rep->ms_restored;
	st.ms_ready = rep->ms_ready;
	st.ms_resident = rep->ms_resident;
	if (r->have_manifest) {
		lzb_image_id_hex(r->img.m.image_id, st.image_id);
		st.image_version = r->img.m.version;
		st.page_size = r->img.m.page_size;
		st.image_bytes = r->img.mf_len;
		for (uint32_t i = 0; i < r->img.m.nr_objects; i++)
			st.image_bytes += r->img.m.objects[i].size;
	}
	if (lzb_status_write(r->workdir, &st, &err) && !r->o->quiet)
		lzb_log(LZB_LOG_WARNING, "lazyboot: %s", err.msg);
	if (r->o->on_status)
		r->o->on_status(r->o->status_arg, &st);
}

/* ---- WORKDIR/timeline ------------------------------------------------- */

static void mark(struct restore *r, const char *name)
{
	lzb_timeline_mark(&r->timeline, lzb_now_ms(), name);
}

/* A sample when due (or FORCE): a few counters, a write. */
static void sample(struct restore *r, bool force)
{
	struct lzb_tl_sample s = { 0 };
	struct lzb_image_source_stats ss = { 0 };
	uint64_t now = lzb_now_ms();

	if (!lzb_timeline_sample_due(&r->timeline, now) &&
	    !(force && r->timeline.fd >= 0))
		return;
	if (r->source)
		lzb_image_source_get_stats(r->source, &ss);
	s.fault_bytes = ss.bytes_urgent;
	s.bg_bytes = r->meta_bytes + ss.bytes_fetched - ss.bytes_urgent;
	if (r->pager) {
		struct lzb_engine_stats es;

		lzb_engine_get_stats(lzb_pager_engine(r->pager), &es);
		s.faults = es.faults;
		s.stall_us = es.latency.sum_us;
		s.resident = es.pages_resident;
		s.total = es.pages_lazy_total;
	}
	if (!lzb_keeper_stalls(r->keeper, &s.kstalls, &s.kstall_us)) {
		s.has_kstall = true;
		s.kstall_us /= 1000;
	}
	lzb_timeline_sample(&r->timeline, now, &s);
}

/* ---- the image's manifest, index and boot bundle -------------------- */

/*
 * Where the boot bundle is unpacked for CRIU: a directory of its own, so
 * no file of an image (a name the image chooses) can replace a control
 * file of the workdir (pager.record, status, the sockets).
 */
static int images_dir(const struct restore *r, char *buf, size_t len,
		      struct lzb_err *err)
{
	if (lzb_path(buf, len, r->workdir, LZB_RESTORE_IMAGES_DIR))
		return lzb_errf(err, "%s: path too long", r->workdir);
	return 0;
}

/*
 * The image's files, whole, from the mirrors: any transport fetch/ has;
 * a mirror whose bytes fail the image's check is passed over (and
 * demoted for the rest of the restore) like one that did not answer.
 */
static int get_file(void *ctx, const struct lzb_image_want *w,
		    uint8_t **buf, size_t *len, struct lzb_err *err)
{
	struct restore *r = ctx;
	const struct lzb_fetch_whole_spec ws = {
		.path = w->name, .size = w->size, .max = w->max,
		.content_addressed = w->content_addressed,
		.check = w->check, .check_arg = w->check_arg,
	};

	if (lzb_fetch_whole(r->fetcher, r->mirrors, &ws, buf, len, err))
		return -1;
	r->meta_bytes += *len;
	return 0;
}


/*
 * A resume goes on with the manifest the restore accepted, no other: a
 * version published since would put its chunks into processes restored
 * from the old bundle.
 */
static int check_resumed_manifest(const struct restore *r,
				  const struct lzb_image *img, const char *hex,
				  struct lzb_err *err)
{
	const char *want = r->o->resume_manifest;

	if (!want || !*want)
		return lzb_errf(err, "manifest: no manifest on record in "
				"%s/%s (the pager died before accepting one); "
				"cannot resume", r->workdir, LZB_RECORD_NAME);
	if (strcmp(want, hex))
		return lzb_errf(err, "manifest: image version %llu (BLAKE2b "
				"%.16s...) is not the manifest this restore "
				"accepted (BLAKE2b %.16s..., on record in "
				"%s/%s); refusing to resume onto another",
				(unsigned long long)img->m.version, hex, want,
				r->workdir, LZB_RECORD_NAME);
	return 0;
}

static struct lzb_trust_policy trust_policy(const struct restore *r)
{
	return (struct lzb_trust_policy){
		.image_id = r->o->image_id, .state_dir = r->o->state_dir,
		.keep_state = r->o->pubkey != NULL,
		.allow_downgrade = r->o->allow_downgrade,
		.now = (uint64_t)time(NULL),
	};
}

/*
 * A mirror's manifest, its signature verified (or --allow-unsigned):
 * would the node take it?  Checked on each mirror's bytes, so a mirror
 * serving an old version, another image or another manifest than the one
 * a resume is bound to is passed over for the next; nothing is recorded.
 */
static int check_manifest(void *arg, const struct lzb_image *img,
			  struct lzb_err *err)
{
	const struct restore *r = arg;
	const struct lzb_trust_policy tp = trust_policy(r);
	uint8_t h[LZB_HASH_BYTES];
	char hex[2 * LZB_HASH_BYTES + 1];

	lzb_hash(h, img->mf_buf, img->mf_len);
	lzb_hash_hex(hex, h);
	if (r->o->resume)
		return check_resumed_manifest(r, img, hex, err);
	return lzb_trust_check("manifest", &img->m, &tp, err);
}

/*
 * The manifest taken (it passed check_manifest): is it the image this
 * node runs, still valid, and no older than a version already accepted?
 * Only a verified manifest raises the version on record.
 */
static int accept_manifest(struct restore *r, struct lzb_err *err)
{
	const struct lzb_trust_policy tp = trust_policy(r);
	uint8_t h[LZB_HASH_BYTES];
	char hex[2 * LZB_HASH_BYTES + 1];
	int ret;

	lzb_hash(h, r->img.mf_buf, r->img.mf_len);
	lzb_hash_hex(hex, h);
	if (r->o->resume)
		return check_resumed_manifest(r, &r->img, hex, err);
	if (lzb_trust_accept("manifest", &r->img.m, &tp, err))
		return -1;
	ret = lzb_record_set_manifest(r->record_fd, hex);
	if (ret)
		return lzb_errf(err, "cannot write %s/%s: %s", r->workdir,
				LZB_RECORD_NAME, strerror(-ret));
	return 0;
}

static int load_image(struct restore *r, struct lzb_err *err)
{
	const struct lzb_image_getter g = { .get = get_file, .ctx = r };
	const struct lzb_image_keys keys = {
		.pubkey = r->o->pubkey, .allow_unsigned = r->o->allow_unsigned,
		.encrypt_key = r->o->encrypt_key,
		.accept = check_manifest, .accept_arg = r,
	};
	char images[4200];
	char id[LZB_IMAGE_ID_HEX];

	if (lzb_image_get_manifest(&r->img, &g, &keys, err) ||
	    accept_manifest(r, err))
		return -1;
	r->have_manifest = true;
	mark(r, "manifest");
	sample(r, true);
	lzb_image_id_hex(r->img.m.image_id, id);
	say(r, "manifest: image id %s version %llu, %u objects, %s", id,
	    (unsigned long long)r->img.m.version, r->img.m.nr_objects,
	    keys.pubkey ? "signature verified" : "NOT VERIFIED (no --pubkey)");
	if (lzb_image_get_index(&r->img, &g, err))
		return -1;
	if (r->o->resume)	/* CRIU restored from the bundle already */
		return 0;
	if (images_dir(r, images, sizeof(images), err) ||
	    lzb_fresh_dir(images, err) ||
	    lzb_image_get_bundle(&r->img, &g, images, err))
		return -1;
	r->rep->ms_bundle = lzb_now_ms() - r->t0;
	mark(r, "bundle");
	sample(r, true);
	say(r, "index and boot bundle verified: %u tasks, %u chunks, "
	    "%llu hot pages, %llu cold", r->img.ix.nr_tasks, r->img.ix.nr_chunks,
	    (unsigned long long)r->img.ix.st.pages_hot,
	    (unsigned long long)r->img.ix.st.pages_cold);
	return 0;
}

/* ---- CRIU and the probe --------------------------------------------- */

static int start_criu(struct restore *r, struct lzb_err *err)
{
	char images[4200];
	const struct lzb_criu_restore cr = {
		.criu = r->o->criu, .images_dir = images,
		.plugin_dir = r->o->plugin_dir,
		.extra = r->o->criu_args, .nr_extra = r->o->nr_criu_args,
	};

	if (images_dir(r, images, sizeof(images), err) ||
	    lzb_pager_start_criu(r->pager, &cr, err))
		return -1;
	r->criu_started = true;
	mark(r, "criu-start");
	say(r, "criu restore --lazy-pages started (log: %s/restore.log)",
	    r->workdir);
	lzb_keeper_milestone(r->keeper, LAZYBOOT_MILESTONE_RESTORE_STARTED);
	return 0;
}

static void poll_probe(struct restore *r)
{
	int status;

	if (r->probe > 0 && waitpid(r->probe, &status, WNOHANG) == r->probe) {
		r->probe = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			r->ready = true;
			r->rep->ms_ready = lzb_now_ms() - r->t0;
			r->rep->bytes_before_ready = bytes_fetched(r);
			say(r, "ready: probe passed");
			mark(r, "ready");
			lzb_keeper_milestone(r->keeper,
					     LAZYBOOT_MILESTONE_READY);
		}
	}
	if (r->o->ready_cmd && !r->ready && r->ps->criu_done && !r->probe &&
	    lzb_now_ms() >= r->next_probe) {
		char *argv[] = { "sh", "-c", (char *)r->o->ready_cmd, NULL };
		char log[4200];

		snprintf(log, sizeof(log), "%s/probe.out", r->workdir);
		r->probe = lzb_spawn(argv, log);
		r->next_probe = lzb_now_ms() + PROBE_INTERVAL_MS;
	}
}

/* ---- the pager's hooks ---------------------------------------------- */

/*
 * A journal or record line could not be written (a full file system): a
 * successor would replay a journal with events missing and install image
 * bytes over memory the app dropped.  So no successor may take over: the
 * record is moved aside, the holder sealed, and this is said on stderr
 * and in the status; if this pager dies, the keeper kills the tasks at
 * the deadline.
 */
static void lose_resume(struct restore *r, const char *what, int err)
{
	if (r->unresumable)
		return;
	r->unresumable = true;
	lzb_record_unresumable(r->workdir);
	lzb_keeper_seal(r->keeper);
	fprintf(stderr, "lazyboot: cannot write %s/%s: %s: this restore can "
		"no longer be resumed; if this pager dies, its tasks are "
		"killed at the deadline\n", r->workdir, what, strerror(-err));
	snprintf(r->guarantee, sizeof(r->guarantee),
		 "NOT RESUMABLE (%s: %s); %s", what, strerror(-err),
		 lzb_keeper_guarantee(r->keeper));
}

static int on_task(void *ctx, int img_pid, int pid, int pidfd, int uffd)
{
	struct restore *r = ctx;
	uint32_t session;
	int err;

	/* Kept before it is used: from now on the pager may die. */
	err = lzb_keeper_keep(r->keeper, img_pid, pid, pidfd, uffd, &session);
	if (err) {
		lzb_log(LZB_LOG_ERR, "lazyboot: the %s cannot keep the uffd of task "
			"%d: %s", lzb_keeper_kind(r->keeper),
			pid, strerror(-err));
		return err;
	}
	lzb_timeline_task(&r->timeline, lzb_now_ms(), img_pid, pid);
	err = lzb_record_add_task(r->record_fd, img_pid, pid, session,
				  lzb_proc_start_time(pid));
	if (err)
		lose_resume(r, LZB_RECORD_NAME, err);
	return 0;
}

/* A successor takes over a task's uffd (-1: it is gone). */
static int on_resumed_task(void *ctx, int img_pid, int pid, int pidfd,
			   int uffd)
{
	struct restore *r = ctx;
	char path[64];
	int pagemap, err;

	err = lzb_pager_adopt(r->pager, img_pid, pid, pidfd);
	if (!err && uffd >= 0)
		lzb_timeline_task(&r->timeline, lzb_now_ms(), img_pid, pid);
	if (err) {
		if (uffd >= 0)
			close(uffd);
		return err;
	}
	/* What the dead pager installed need not be fetched again. */
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap = uffd >= 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	err = lzb_engine_reattach(lzb_pager_engine(r->pager), img_pid, uffd,
				  pagemap);
	if (pagemap >= 0)
		close(pagemap);
	if (!err && uffd >= 0)
		r->resumed_uffds++;
	return err;
}

static void journal_event(void *ctx, int img_pid, const struct uffd_msg *msg)
{
	struct restore *r = ctx;
	int err = lzb_journal_add(r->journal_fd, img_pid, msg);

	if (err)
		lose_resume(r, LZB_JOURNAL_NAME, err);
}

static void on_restored(void *ctx)
{
	struct restore *r = ctx;

	r->rep->ms_restored = lzb_now_ms() - r->t0;
	say(r, "restore finished (RSTF): %d tasks handed over", r->ps->tasks);
	mark(r, "tasks-resumed");
	lzb_keeper_milestone(r->keeper, LAZYBOOT_MILESTONE_TASKS_RESUMED);
}

/* Say each 10 % step of residency; milestones at 50, 90 and 100 %. */
static void report_progress(struct restore *r)
{
	static const struct { unsigned int pct, milestone; } marks[] = {
		{ 50, LAZYBOOT_MILESTONE_RESIDENT_50 },
		{ 90, LAZYBOOT_MILESTONE_RESIDENT_90 },
		{ 100, LAZYBOOT_MILESTONE_RESIDENT_100 },
	};
	const struct lzb_engine *engine = lzb_pager_engine(r->pager);
	struct lzb_engine_stats st;
	unsigned int pct;

	lzb_engine_get_stats(engine, &st);
	if (st.faults && !r->first_fault) {
		r->first_fault = true;
		mark(r, "first-fault");
		lzb_keeper_milestone(r->keeper, LAZYBOOT_MILESTONE_FIRST_FAULT);
	}
	if (!r->ps->restored)
		return;
	pct = r->lazy_total && st.bytes_lazy < r->lazy_total ?
	      (unsigned int)((r->lazy_total - st.bytes_lazy) * 100 /
			     r->lazy_total) : 0;
	if (lzb_engine_done(engine))
		pct = 100;
	while (r->resident_pct + 10 <= pct) {
		r->resident_pct += 10;
		say(r, "resident %u%%", r->resident_pct);
		/* Fault injection for the restart tests: the pager dies
		 * here, exactly as from an outside SIGKILL. */
		if (r->kill_at_pct == r->resident_pct)
			kill(getpid(), SIGKILL);
		/* Or stops, for a test to kill it from outside at a known
		 * point (a new restore only: not its successor). */
		if (r->stop_at_pct == r->resident_pct)
			raise(SIGSTOP);
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			if (marks[i].pct == r->resident_pct)
				lzb_keeper_milestone(r->keeper,
						     marks[i].milestone);
	}
}

static void tick(void *ctx, struct lzb_err *err)
{
	struct restore *r = ctx;

	if (r->o->on_loop)
		r->o->on_loop();
	r->rep->root_pid = r->ps->root_pid;
	report_progress(r);
	if (!r->resident && r->ps->restored &&
	    lzb_engine_done(lzb_pager_engine(r->pager))) {
		r->resident = true;
		/* The engine closed its uffds: the keeper must let go
		 * of them too, or a later fault on a hole of a
		 * registered range would wait for nobody. */
		lzb_keeper_release(r->keeper);
		r->rep->ms_resident = lzb_now_ms() - r->t0;
		say(r, "every page resident");
		sample(r, true);
		mark(r, "resident");
	}
	poll_probe(r);
	if (!r->resident)
		sample(r, false);
	publish(r, NULL);
	if (stop_signal && !err->msg[0])
		lzb_errf(err, "stopped by signal %d", stop_signal);
}

static bool finished(void *ctx)
{
	const struct restore *r = ctx;

	return r->ps->criu_done && r->ps->restored &&
	       lzb_engine_done(lzb_pager_engine(r->pager)) &&
	       (!r->o->ready_cmd || r->ready);
}

static const char *source_error(void *ctx)
{
	return lzb_image_source_error(ctx);
}

/* ---- setting up ----------------------------------------------------- */

/* What a successor needs to fetch the image again and go on as this did. */
static int start_record(const struct restore *r, struct lzb_err *err)
{
	const struct lzb_record_settings rs = {
		.mirrors = r->o->mirrors, .nr_mirrors = r->o->nr_mirrors,
		.pubkey = r->o->pubkey, .encrypt_key = r->o->encrypt_key,
		.allow_unsigned = r->o->allow_unsigned,
		.max_background = r->o->max_background,
		.tftp_blksize = r->o->tftp_blksize,
		.deadline_ms = r->o->deadline_ms,
		.keeper = lzb_keeper_kind(r->keeper),
		.id = r->record_id,
	};

	return lzb_record_create(r->workdir, &rs, err);
}

static int new_record_id(struct restore *r, struct lzb_err *err)
{
	int ret = lzb_record_new_id(r->record_id);

	return ret ? lzb_errf(err, "cannot make the restore's id: %s",
			      strerror(-ret)) : 0;
}

/* The pager over the image source, its tasks declared. */
static int start_pager(struct restore *r, struct lzb_err *err)
{
	const struct lzb_pager_config pc = {
		.workdir = r->workdir,
		.source = { .request = lzb_image_source_request,
			    .pump = lzb_image_source_pump,
			    .pump_fd = lzb_image_source_pump_fd,
			    .ctx = r->source },
		.source_error = source_error,
		.journal = { .event = journal_event, .ctx = r },
		.max_background = r->o->max_background ?
				  r->o->max_background : 4,
		.stream_bytes = r->img.m.chunk_size ? r->img.m.chunk_size :
						      65536,
		.fetcher = r->fetcher,
		.no_lazy_socket = r->o->resume,
		.hooks = { .ctx = r, .on_task = on_task,
			   .on_restored = on_restored, .tick = tick,
			   .done = finished },
		.t0_us = r->t0 * 1000, .quiet = r->o->quiet,
	};
	struct lzb_engine_stats es;
	int ret;

	lzb_image_source_set_streaming(r->source, r->stream_fetcher,
				       r->o->max_background,
				       r->o->stream_yield == LZB_YIELD_HOLD);
	if (lzb_pager_new(&pc, &r->pager, err))
		return -1;
	r->ps = lzb_pager_state(r->pager);
	ret = lzb_image_source_add_tasks(r->source, lzb_pager_engine(r->pager));
	if (ret)
		return lzb_errf(err, "cannot set up the pager: %s",
				strerror(-ret));
	lzb_engine_get_stats(lzb_pager_engine(r->pager), &es);
	r->lazy_total = es.bytes_lazy;
	return 0;
}

/*
 * Take over the restore of a pager that died: its tasks' uffds from the
 * module or the holder, its journal replayed first, every thread woken.
 */
static int resume(struct restore *r, struct lzb_err *err)
{
	struct lzb_record rec;
	int events, ret;

	if (lzb_record_load(r->workdir, &rec, err))
		return -1;
	events = lzb_journal_replay(r->workdir, lzb_pager_engine(r->pager),
				    err);
	if (events < 0) {
		lzb_record_free(&rec);
		return -1;
	}
	lzb_pager_resumed(r->pager);
	ret = lzb_keeper_resume(r->workdir, &rec, &r->keeper, on_resumed_task,
				r, err);
	lzb_record_free(&rec);
	if (ret)
		return -1;
	/* Nothing would ever fault or be installed: say so, do not wait. */
	if (!r->resumed_uffds)
		return lzb_errf(err, "nothing to resume: none of the %d tasks "
				"on record has a uffd left (they exited, or "
				"the pager died before CRIU handed them over)",
				r->ps->tasks);
	r->taken_over = true;
	mark(r, "resumed");
	r->rep->root_pid = r->ps->root_pid;
	say(r, "resumed: %d tasks taken over from the %s, %d journaled "
	    "events replayed, root pid %d", r->ps->tasks,
	    lzb_keeper_kind(r->keeper), events, r->rep->root_pid);
	return 0;
}

/*
 * mkdir -p: the default lives under /run, which may lack lazyboot/.  The
 * workdir itself must be private (lzb_private_dir()): the sockets, the
 * record a resume trusts and the bundle CRIU reads are in it.
 */
static int make_workdir(struct restore *r, struct lzb_err *err)
{
	for (char *slash = strchr(r->workdir + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(r->workdir, 0700);
		*slash = '/';
	}
	return lzb_private_dir(r->workdir, err);
}

/*
 * The restored tree must not run on with pages missing: end it (by real
 * pids only), unless a resume could not take over: then the tasks may be
 * another pager's, and are kept till the deadline anyway.
 */
static bool kill_on_failure(struct restore *r, const char *why)
{
	int killed;

	if (!r->pager || lzb_engine_done(lzb_pager_engine(r->pager)) ||
	    (r->o->resume && !r->taken_over))
		return false;
	killed = lzb_pager_kill_tree(r->pager);
	r->rep->root_pid = r->ps->root_pid;
	if (killed && r->rep->root_pid > 0)
		lzb_log(LZB_LOG_ERR, "lazyboot: killed the restored tree (root pid "
			"%d, %d processes): %s", r->rep->root_pid, killed,
			why);
	else if (killed)
		lzb_log(LZB_LOG_ERR, "lazyboot: killed the restored tree (%d "
			"processes; criu had not named its root yet): %s",
			killed, why);
	return true;
}

/*
 * Stopped by a signal mid-restore, and the caller wants the tasks left to
 * their keeper (a successor will resume them): only a taken-over or
 * started restore whose keeper outlives this pager.
 */
static bool leave_on_stop(struct restore *r)
{
	if (!stop_signal || !r->o->leave_on_stop || !r->keeper || !r->pager ||
	    !r->ps->tasks || !r->ps->restored || !r->ps->criu_done ||
	    r->unresumable ||
	    lzb_engine_done(lzb_pager_engine(r->pager)) ||
	    (r->o->resume && !r->taken_over))
		return false;
	return r->o->leave_on_stop(lzb_keeper_kind(r->keeper));
}

static void report(struct restore *r)
{
	struct lzb_restore_report *rep = r->rep;

	if (r->pager) {
		struct lzb_engine_stats es;

		lzb_engine_get_stats(lzb_pager_engine(r->pager), &es);
		rep->faults = es.faults;
		rep->zero_pages = es.zero_pages;
		rep->pages_installed = es.pages_installed;
	}
	if (r->source) {
		struct lzb_image_source_stats ss;

		lzb_image_source_get_stats(r->source, &ss);
		rep->chunks_fetched = ss.chunks_fetched;
		rep->chunks_urgent = ss.chunks_urgent;
		rep->chunks_streamed = ss.chunks_streamed;
		rep->stream_failed = ss.stream_used && ss.stream_failed;
		rep->chunks_refused = ss.chunks_refused;
		rep->chunk_bytes = ss.bytes_fetched;
	}
	rep->meta_bytes = r->meta_bytes;
	rep->bytes_fetched = bytes_fetched(r);
}

/* The steps before the serve loop are alive too (lazybootd's watchdog). */
static void between_steps(const struct restore *r)
{
	if (r->o->on_loop)
		r->o->on_loop();
}

/*
 * With a tftp:// mirror, each fetcher's sandboxed child makes spare
 * sockets before it drops its capabilities, with receive buffers that
 * hold a whole window, for the transfers too long for an ordinary one:
 * the manifest (its size not known before), the index, the bundle, the
 * stream; the fourth for a retry (fetch/tftp_socket.h).
 */
static unsigned int tftp_spares(const struct lzb_restore_opts *o)
{
	for (size_t i = 0; i < o->nr_mirrors; i++)
		if (!strncasecmp(o->mirrors[i], "tftp://", 7))
			return LZB_TFTP_SPARES_MAX;
	return 0;
}

int lzb_restore_run(const struct lzb_restore_opts *o,
		    struct lzb_restore_report *rep)
{
	struct lzb_fetcher_opts fopts = { .max_background = o->max_background,
					  .tftp_blksize = o->tftp_blksize,
					  .tftp_spare_sockets = tftp_spares(o),
					  .sandbox = !o->no_fetch_sandbox,
					  .sandbox_user = o->fetch_user };
	struct restore r = { .o = o, .rep = rep, .record_fd = -1,
			     .journal_fd = -1, .timeline = { .fd = -1 } };
	struct sigaction sa = { .sa_handler = on_stop };
	struct lzb_err err = { { 0 } };
	bool killed = false;
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	r.t0 = lzb_now_ms();
	r.started_unix = (uint64_t)time(NULL);
	snprintf(r.guarantee, sizeof(r.guarantee), "%s", LZB_GUARANTEE_PAGER_ONLY);
	/*
	 * A hang-up (the terminal or ssh session gone) ends the restore as
	 * SIGTERM does: tree killed, status failed, keeper released.  A
	 * reader of our output that went away (`| head -1`) changes
	 * nothing: writes to it fail with EPIPE, and the restore goes on.
	 */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	snprintf(r.workdir, sizeof(r.workdir), "%s",
		 o->workdir ? o->workdir : LZB_RESTORE_WORKDIR);
	if (make_workdir(&r, &err))
		goto out;
	if (lzb_timeline_open(&r.timeline, r.workdir, !o->resume, r.t0, &err)) {
		if (!o->quiet)
			lzb_log(LZB_LOG_WARNING, "lazyboot: %s (no timeline "
				"for lazyboot report)", err.msg);
		err.msg[0] = '\0';
	}
	sample(&r, true);
	publish(&r, NULL);
	/* Before anything else: the holder, if any, inherits only stdio. */
	if (!o->resume &&
	    (new_record_id(&r, &err) ||
	     lzb_keeper_start(r.workdir, o->deadline_ms, r.record_id,
			      &r.keeper) ||
	     start_record(&r, &err)))
		goto out;
	if (lzb_record_open(r.workdir, &r.record_fd, &r.journal_fd, &err))
		goto out;
	/*
	 * Before the image's key is read (load_image) and before a resume
	 * takes back the uffds: the sandboxed child is forked here, and
	 * its copy of this process holds neither (it closes every fd).
	 */
	r.fetcher = lzb_fetcher_new(&fopts);
	r.mirrors = lzb_mirrors_new(o->mirrors, o->nr_mirrors);
	if (!r.fetcher || !r.mirrors) {
		lzb_errf(&err, "cannot set up the fetcher: %s", strerror(errno));
		goto out;
	}
	/*
	 * The stream gets a fetcher (and sandboxed child) of its own, so
	 * that its bytes never queue ahead of a fault's on the way in and
	 * the loop can stop reading it when enough is waiting; niced, so
	 * the restored app's CPU comes first.  Its TCP window is bounded to
	 * what the link needs (and with --stream-yield hold closed while a
	 * fault's chunk is on its way), so its bytes do not take the path
	 * from a fault's answer either (fetch/http_window.h).
	 */
	if (!o->no_stream) {
		struct lzb_fetcher_opts sopts = fopts;

		sopts.http_bound_window = o->stream_yield != LZB_YIELD_OFF;
		r.stream_fetcher = lzb_fetcher_new(&sopts);
		if (!r.stream_fetcher) {
			lzb_errf(&err, "cannot set up the stream's fetcher: %s",
				 strerror(errno));
			goto out;
		}
		if (lzb_fetcher_sandbox_pid(r.stream_fetcher) > 0)
			setpriority(PRIO_PROCESS, (id_t)lzb_fetcher_sandbox_pid(
					    r.stream_fetcher), LZB_STREAM_NICE);
	}
	between_steps(&r);
	if (load_image(&r, &err))
		goto out;
	between_steps(&r);
	if (lzb_image_source_new(&r.img, r.fetcher, r.mirrors, &r.source, &err) ||
	    start_pager(&r, &err))
		goto out;
	if (getenv("LAZYBOOT_FAULT_KILL_AT_PCT"))
		r.kill_at_pct = (unsigned int)atoi(
			getenv("LAZYBOOT_FAULT_KILL_AT_PCT"));
	if (!o->resume && getenv("LAZYBOOT_FAULT_STOP_AT_PCT"))
		r.stop_at_pct = (unsigned int)atoi(
			getenv("LAZYBOOT_FAULT_STOP_AT_PCT"));
	between_steps(&r);
	if (o->resume ? resume(&r, &err) : start_criu(&r, &err))
		goto out;
	if (!r.unresumable)
		snprintf(r.guarantee, sizeof(r.guarantee), "%s",
			 lzb_keeper_guarantee(r.keeper));
	say(&r, "guarantee: %s", r.guarantee);
	ret = lzb_pager_serve(r.pager, &err);
	if (!ret)
		lzb_keeper_milestone(r.keeper, LAZYBOOT_MILESTONE_DONE);
out:
	if (err.msg[0] && leave_on_stop(&r)) {
		/* As if this pager had died: the status stays unfinished. */
		lzb_log(LZB_LOG_WARNING, "lazyboot restore: %s: the tasks are "
			"left to the %s for the next pager to resume", err.msg,
			lzb_keeper_kind(r.keeper));
		rep->left_to_keeper = true;
		rep->stop_signal = stop_signal;
		ret = -1;
		lzb_keeper_free(r.keeper);
		r.keeper = NULL;
		goto free;
	}
	if (err.msg[0]) {
		lzb_log(LZB_LOG_ERR, "lazyboot restore: %s", err.msg);
		killed = kill_on_failure(&r, err.msg);
		ret = -1;
	}
	publish(&r, err.msg[0] ? err.msg : NULL);
	sample(&r, true);
	mark(&r, err.msg[0] ? "failed" : "done");
	lzb_timeline_close(&r.timeline);
	/* Resident, or killed, or none handed over: nothing to keep. */
	if (!ret || killed || !r.ps || !r.ps->tasks)
		lzb_keeper_release(r.keeper);
	lzb_keeper_free(r.keeper);
	report(&r);
	/* A resume that did not take over leaves the dead pager's tasks
	 * to their keeper, which kills them at its deadline. */
	rep->tasks_left = ret && !killed &&
			  ((r.ps && r.ps->tasks) ||
			   (o->resume && !r.taken_over));
	rep->stop_signal = stop_signal;
free:
	lzb_timeline_close(&r.timeline);
	if (r.record_fd >= 0)
		close(r.record_fd);
	if (r.journal_fd >= 0)
		close(r.journal_fd);
	r.record_fd = r.journal_fd = -1;
	if (r.probe > 0) {
		kill(r.probe, SIGKILL);
		waitpid(r.probe, NULL, 0);
	}
	/* The source cancels its fetches, telling the engine: pager last. */
	lzb_image_source_free(r.source);
	lzb_pager_free(r.pager);
	lzb_image_close(&r.img);
	if (r.fetcher)
		lzb_fetcher_free(r.fetcher);
	if (r.stream_fetcher)
		lzb_fetcher_free(r.stream_fetcher);
	if (r.mirrors)
		lzb_mirrors_free(r.mirrors);
	return ret;
}
