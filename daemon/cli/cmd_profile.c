// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `lazyboot profile DIR --out PROFILE`: restore a capture fully lazily,
 * record the first touch of every page until the app set is ready and
 * warmed up, over several runs, and write the profile `lazyboot pack`
 * reads (docs/appset.md, "lazyboot profile").
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/appset.h"
#include "cli/commands.h"
#include "criu/criu_restore_proc.h"
#include "util/file_util.h"
#include "pager/profile_run.h"
#include "capture/profile_touches.h"

#define MAX_RUNS 9

static const char usage[] =
	"usage: lazyboot profile DIR --out PROFILE [--runs N] [--warmup SECONDS]\n"
	"                        [--workdir DIR] [--appset-dir DIR] [--timeout S]\n"
	"                        [--criu PATH] [--plugin-dir DIR] [--quiet]\n"
	"                        [-- CRIU-RESTORE-OPTION...]\n"
	"\n"
	"DIR is what `lazyboot capture` wrote (CRIU images, appset.ini).  Each run\n"
	"restores it with `criu restore --lazy-pages`, every lazy page read from\n"
	"DIR's own images on its first fault (nothing is streamed ahead), and\n"
	"records which page of which task was touched when, from the start of the\n"
	"restore until every readiness probe of appset.ini passes (those pages are\n"
	"hot), then while the services' warm-up commands run and for --warmup\n"
	"seconds after them (cold, in touch order).  The restored tree is then\n"
	"killed: it ran on partial memory.\n"
	"\n"
	"With N runs (default 3) the pairwise Jaccard similarity of the touched\n"
	"page sets is printed, and the profile keeps the pages seen in a majority\n"
	"of the runs (2 of 3), ordered by their median first-touch time, hot if\n"
	"touched before ready in a majority.  PROFILE is the text format of\n"
	"docs/image-format.md with each line's time as a comment; give it to\n"
	"`lazyboot pack --profile`.\n"
	"\n"
	"  --out PROFILE      the profile to write (required)\n"
	"  --runs N           profiling runs, 1-9 (default 3)\n"
	"  --warmup SECONDS   recording after the warm-up commands (default 2)\n"
	"  --workdir DIR      lazy socket, CRIU logs and the images CRIU reads\n"
	"                     (pagemaps with recomputed PE_LAZY), run-K/ per run\n"
	"                     (default DIR/profile-work)\n"
	"  --appset-dir DIR   where probe and warm-up commands run (default: the\n"
	"                     app set's directory capture recorded, else DIR)\n"
	"  --timeout S        per run, restore to end of warm-up (default 600)\n"
	"  --criu PATH        the criu binary (default: criu from PATH)\n"
	"  --plugin-dir DIR   criu --libdir with lazyboot_plugin.so (default: this\n"
	"                     program's directory if the plugin is there)\n"
	"  options after --   passed to criu restore (e.g. --shell-job)\n"
	"\n"
	"Exit status 0 when PROFILE is written, 1 when a run failed, 2 on bad usage.\n";

/* capture.info's appset_dir, if it still is a directory. */
static const char *recorded_appset_dir(const char *dir, char *buf, size_t len)
{
	char path[4200], line[4200];
	struct stat st;
	FILE *f;
	const char *ret = NULL;

	snprintf(path, sizeof(path), "%s/capture.info", dir);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "appset_dir = ", 13)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 13);
			if (!stat(buf, &st) && S_ISDIR(st.st_mode))
				ret = buf;
		}
	fclose(f);
	return ret;
}

static int parse_uint(const char *opt, const char *s, unsigned int max,
		      unsigned int *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || *end || !*s || x > max) {
		fprintf(stderr, "lazyboot profile: %s takes 0..%u, not '%s'\n",
			opt, max, s);
		return -1;
	}
	*v = (unsigned int)x;
	return 0;
}

static size_t count_hot(const struct lzb_touches *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr; i++)
		n += t->v[i].hot;
	return n;
}

int cmd_profile(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "runs", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "workdir", required_argument, NULL, 'W' },
		{ "appset-dir", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "criu", required_argument, NULL, 'c' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct lzb_profile_run_opts o = { .timeout_s = 600 };
	struct lzb_touches runs[MAX_RUNS] = { 0 }, merged = { 0 };
	unsigned int nruns = 3, warmup_s = 2, min_runs;
	const char *out = NULL, *workdir = NULL;
	char appset_path[4200], plugin_buf[4096], appdir_buf[4200],
	     work_buf[4200], run_dir[4300];
	char *header = NULL;
	size_t header_len = 0;
	struct lzb_appset appset;
	struct lzb_err err = { { 0 } };
	int opt, first_criu = argc, ret = 1;
	FILE *hf;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			first_criu = i;
			break;
		}
	optind = 1;
	while ((opt = getopt_long(first_criu, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'W': workdir = optarg; break;
		case 'a': o.probe_dir = optarg; break;
		case 'c': o.criu = optarg; break;
		case 'P': o.plugin_dir = optarg; break;
		case 'q': o.quiet = true; break;
		case 'n':
			if (parse_uint("--runs", optarg, MAX_RUNS, &nruns))
				return 2;
			break;
		case 'w':
			if (parse_uint("--warmup", optarg, 3600, &warmup_s))
				return 2;
			break;
		case 't':
			if (parse_uint("--timeout", optarg, 86400, &o.timeout_s))
				return 2;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != first_criu || !out || !nruns || !o.timeout_s) {
		fprintf(stderr, "lazyboot profile: %s\n%s", optind >= first_criu ?
			"no capture directory given" : !out ? "--out PROFILE is "
			"required" : !nruns || !o.timeout_s ? "--runs and "
			"--timeout must be at least 1" : "one capture directory, "
			"please", usage);
		return 2;
	}
	o.dump_dir = argv[optind];
	if (first_criu < argc) {
		o.criu_args = &argv[first_criu + 1];
		o.nr_criu_args = (size_t)(argc - first_criu - 1);
	}
	snprintf(appset_path, sizeof(appset_path), "%s/appset.ini", o.dump_dir);
	if (lzb_appset_load(appset_path, &appset, &err)) {
		fprintf(stderr, "lazyboot profile: %s (is %s a lazyboot capture?)\n",
			err.msg, o.dump_dir);
		return 2;
	}
	o.appset = &appset;
	o.warmup_ms = warmup_s * 1000;
	if (!o.probe_dir)
		o.probe_dir = recorded_appset_dir(o.dump_dir, appdir_buf,
						  sizeof(appdir_buf));
	if (!o.probe_dir)
		o.probe_dir = o.dump_dir;
	if (!o.plugin_dir)
		o.plugin_dir = lzb_default_plugin_dir(plugin_buf,
						      sizeof(plugin_buf));
	if (!workdir) {
		snprintf(work_buf, sizeof(work_buf), "%s/profile-work",
			 o.dump_dir);
		workdir = work_buf;
	}
	if (lzb_mkdir(workdir, &err)) {
		fprintf(stderr, "lazyboot profile: %s\n", err.msg);
		goto out;
	}
	for (unsigned int k = 0; k < nruns; k++) {
		struct lzb_profile_run_result res;

		snprintf(run_dir, sizeof(run_dir), "%s/run-%u", workdir, k + 1);
		o.workdir = run_dir;
		if (!o.quiet)
			printf("run %u of %u (logs in %s)\n", k + 1, nruns,
			       run_dir);
		if (lzb_profile_run(&o, &runs[k], &res, &err)) {
			fprintf(stderr, "lazyboot profile: run %u: %s\n", k + 1,
				err.msg);
			goto out;
		}
		lzb_touches_dedupe(&runs[k]);
		printf("run %u: ready after %.3f s (restore finished %.3f s); "
		       "%zu of %llu lazy pages touched, %zu before ready; %llu "
		       "faults; plugin handed over %zu real pids\n", k + 1,
		       res.ready_us / 1e6, res.restored_us / 1e6, runs[k].nr,
		       (unsigned long long)res.lazy_pages, count_hot(&runs[k]),
		       (unsigned long long)res.faults, res.plugin_tasks);
	}
	hf = open_memstream(&header, &header_len);
	if (!hf)
		goto out;
	min_runs = nruns / 2 + 1;
	fprintf(hf, "lazyboot profile %s: %u run%s; pages seen in >= %u, by "
		"median first touch (ms since criu restore started)\n",
		o.dump_dir, nruns, nruns == 1 ? "" : "s", min_runs);
	for (unsigned int a = 0; a < nruns; a++)
		for (unsigned int b = a + 1; b < nruns; b++) {
			char line[160];

			snprintf(line, sizeof(line), "jaccard run%u-run%u: all "
				 "%.3f, before ready %.3f", a + 1, b + 1,
				 lzb_touches_jaccard(&runs[a], &runs[b], false),
				 lzb_touches_jaccard(&runs[a], &runs[b], true));
			printf("%s\n", line);
			fprintf(hf, "%s\n", line);
		}
	if (lzb_touches_merge(runs, nruns, min_runs, &merged)) {
		fclose(hf);
		fprintf(stderr, "lazyboot profile: out of memory\n");
		goto out;
	}
	fprintf(hf, "%zu pages, %zu hot", merged.nr, count_hot(&merged));
	if (fclose(hf))
		goto out;
	if (lzb_touches_write_profile(out, &merged, header, &err)) {
		fprintf(stderr, "lazyboot profile: %s\n", err.msg);
		goto out;
	}
	printf("profile: %zu pages (%zu hot, before ready) seen in >= %u of %u "
	       "runs, written to %s\n", merged.nr, count_hot(&merged), min_runs,
	       nruns, out);
	ret = 0;
out:
	free(header);
	lzb_touches_free(&merged);
	for (unsigned int k = 0; k < nruns; k++)
		lzb_touches_free(&runs[k]);
	lzb_appset_free(&appset);
	return ret;
}
