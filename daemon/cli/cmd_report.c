// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot report`: one restore's timeline as an SVG or PNG picture. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/report_svg.h"
#include "pager/restore_status.h"
#include "pager/restore_timeline.h"
#include "util/file_util.h"

#define CONVERTER "rsvg-convert"

static const char usage[] =
	"usage: lazyboot report WORKDIR|TIMELINE --out FILE.svg|FILE.png\n"
	"\n"
	"Draw one restore's timeline as the pager recorded it in\n"
	"WORKDIR/timeline: image bytes received per second (for faults and\n"
	"in the background), faults per second, the time faulting threads\n"
	"waited (the pager's measure, and lazyboot.ko's when it kept the\n"
	"sessions), residency, the milestones (manifest, bundle, criu-start,\n"
	"tasks-resumed, first-fault, ready, resident, done), one lane per\n"
	"task.  WORKDIR is a restore's work directory (its status adds the\n"
	"image and URL to the title); a file is read as a timeline, or, when\n"
	"it is another file of a workdir (pager.record, status), that\n"
	"workdir's timeline.  A .png is converted with " CONVERTER "\n"
	"(Debian: librsvg2-bin), which must be installed.\n"
	"\n"
	"options:\n"
	"  -o, --out FILE   the picture to write (.svg or .png)\n"
	"  -h, --help       this text\n"
	"\n"
	"exit status: 0 on success, 1 on an error, 2 on bad usage.\n";

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n > m && !strcasecmp(s + n - m, tail);
}

/* Is PATH a file that starts as a timeline does? */
static bool is_timeline(const char *path)
{
	char head[18] = { 0 };
	FILE *f = fopen(path, "r");
	bool yes;

	if (!f)
		return false;
	yes = fread(head, 1, sizeof(head), f) == sizeof(head) &&
	      !memcmp(head, "lazyboot-timeline ", sizeof(head));
	fclose(f);
	return yes;
}

/* WORKDIR (or the file's) timeline and status paths. */
static int locate(const char *arg, char *timeline, char *status, size_t len,
		  struct lzb_err *err)
{
	char dir[4096];
	struct stat st;
	char *slash;

	if (stat(arg, &st))
		return lzb_errf(err, "%s: %s", arg, strerror(errno));
	if (S_ISREG(st.st_mode) && is_timeline(arg)) {
		snprintf(timeline, len, "%s", arg);
		status[0] = '\0';
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", arg);
	if (!S_ISDIR(st.st_mode)) {
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
	}
	if (lzb_path(timeline, len, dir, LZB_TIMELINE_FILE) ||
	    lzb_path(status, len, dir, LZB_STATUS_FILE))
		return lzb_errf(err, "%s: path too long", arg);
	if (access(timeline, F_OK))
		return lzb_errf(err, "%s: no timeline there (%s: %s); it is "
				"written by lazyboot restore since this "
				"version", arg, timeline, strerror(errno));
	return 0;
}

static void describe(const struct lzb_timeline *tl, const char *status,
		     char *title, size_t tlen, char *sub, size_t len)
{
	struct lzb_restore_status st = { .state = "" };
	struct lzb_err err;
	uint8_t *text = NULL;
	size_t n = 0, used;
	time_t start = (time_t)(tl->start_unix_ms / 1000);
	struct tm tm;
	char when[32] = "";

	if (status[0] && !lzb_read_file(status, 65536, &text, &n, &err) &&
	    lzb_status_parse(status, (const char *)text, n, &st, &err))
		memset(&st, 0, sizeof(st));
	free(text);
	if (st.image_id[0])
		snprintf(title, tlen, "lazyboot restore of image %.16s "
			 "version %llu", st.image_id,
			 (unsigned long long)st.image_version);
	else
		snprintf(title, tlen, "lazyboot restore");
	if (gmtime_r(&start, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	used = (size_t)snprintf(sub, len, "started %s; %zu tasks", when,
				tl->nr_tasks);
	if (used < len && tl->pagers > 1)
		used += (size_t)snprintf(sub + used, len - used,
					 "; resumed %u times", tl->pagers - 1);
	if (used < len && st.state[0])
		used += (size_t)snprintf(sub + used, len - used, "; %s",
					 st.state);
	if (used < len && st.url[0])
		snprintf(sub + used, len - used, "; from %.300s", st.url);
}

/* Is CONVERTER an executable file in $PATH? */
static bool have_converter(void)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];

	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		if (n && !lzb_path(file, sizeof(file), dir, CONVERTER) &&
		    !access(file, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* SVG text -> PNG at OUT, through CONVERTER's stdin and stdout. */
static int write_png(const char *out, const char *svg, size_t len,
		     struct lzb_err *err)
{
	struct lzb_out_file f;
	int pfd[2], status;
	pid_t pid;

	if (!have_converter())
		return lzb_errf(err, "cannot write %s: %s is not installed "
				"(Debian: apt-get install librsvg2-bin); "
				"write an .svg instead", out, CONVERTER);
	if (lzb_out_open(&f, out, 0644, err))
		return -1;
	if (pipe(pfd)) {
		lzb_out_abort(&f);
		return lzb_errf(err, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		lzb_out_abort(&f);
		return lzb_errf(err, "fork: %s", strerror(errno));
	}
	if (!pid) {
		dup2(pfd[0], 0);
		dup2(f.fd, 1);
		close(pfd[0]);
		close(pfd[1]);
		execlp(CONVERTER, CONVERTER, "-f", "png", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	signal(SIGPIPE, SIG_IGN);
	for (size_t done = 0; done < len;) {
		ssize_t n = write(pfd[1], svg + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		lzb_out_abort(&f);
		return lzb_errf(err, "cannot write %s: %s failed (%s %d)", out,
				CONVERTER, WIFEXITED(status) ? "exit" :
				"signal", WIFEXITED(status) ?
				WEXITSTATUS(status) : WTERMSIG(status));
	}
	return lzb_out_commit(&f, false, err);
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char timeline[4200], status[4200], title[256], sub[1400];
	const char *out = NULL;
	struct lzb_timeline tl;
	struct lzb_err err = { { 0 } };
	char *svg = NULL;
	size_t len = 0;
	FILE *f;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!out || optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (!ends_with(out, ".svg") && !ends_with(out, ".png")) {
		fprintf(stderr, "lazyboot report: --out %s: the name must end "
			"in .svg or .png (it says which to write)\n", out);
		return 2;
	}
	if (locate(argv[optind], timeline, status, sizeof(timeline), &err) ||
	    lzb_timeline_load(timeline, &tl, &err)) {
		fprintf(stderr, "lazyboot report: %s\n", err.msg);
		return 1;
	}
	describe(&tl, status, title, sizeof(title), sub, sizeof(sub));
	f = open_memstream(&svg, &len);
	if (!f) {
		lzb_timeline_free(&tl);
		fprintf(stderr, "lazyboot report: out of memory\n");
		return 1;
	}
	lzb_report_svg(f, &tl, title, sub);
	lzb_timeline_free(&tl);
	if (fclose(f)) {
		free(svg);
		fprintf(stderr, "lazyboot report: out of memory\n");
		return 1;
	}
	if (ends_with(out, ".png"))
		ret = write_png(out, svg, len, &err);
	else
		ret = lzb_write_file_nosync(out, svg, len, 0644, &err);
	free(svg);
	if (ret) {
		fprintf(stderr, "lazyboot report: %s\n", err.msg);
		return 1;
	}
	return 0;
}
