// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot status`: how far the restores on this machine got. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/file_util.h"
#include "pager/restore_record.h"
#include "pager/restore_status.h"

#define RUN_DIR "/run/lazyboot"
#define BAR_WIDTH 30

static const char usage[] =
	"usage: lazyboot status [--json] [--watch [SECONDS]] [WORKDIR...]\n"
	"\n"
	"Show the restores of this machine: each WORKDIR's status file (default:\n"
	"every " RUN_DIR "/*/status).  Per restore: state, pages resident of\n"
	"the image's lazy pages, bytes fetched and the rate, faults served and\n"
	"their latency (p50/p99), the guarantee that protects the restored\n"
	"tasks, and whether the restored root and the pager still run.  A\n"
	"status whose pager died before the restore finished is marked stale.\n"
	"\n"
	"  --json             one JSON object per restore, one per line, for\n"
	"                     programs (schema: docs/pager.md); with --watch,\n"
	"                     every restore again each round\n"
	"  --watch [SECONDS]  redraw every SECONDS (default 1) until every\n"
	"                     restore shown is finished, failed or stale\n"
	"\n"
	"Exit status 0 if every status file was read, 1 if one could not be\n"
	"read or is malformed, 2 on bad usage.\n";

static volatile sig_atomic_t interrupted;

static void on_int(int sig)
{
	(void)sig;
	interrupted = 1;
}

static bool pid_alive(int pid)
{
	return pid > 0 && (!kill(pid, 0) || errno == EPERM);
}

static void print_ms(const char *what, uint64_t ms)
{
	if (ms)
		printf(" %s %.2f s", what, ms / 1000.0);
	else
		printf(" %s -", what);
}

static void print_us(uint64_t us)
{
	if (us >= 10000)
		printf("%.1f ms", us / 1000.0);
	else
		printf("%llu us", (unsigned long long)us);
}

/* Prints one restore; returns true once it will not change any more. */
static bool print_status(const char *dir, const struct lzb_restore_status *st)
{
	bool pager = lzb_status_pager_alive(st);
	bool final = lzb_status_final(st->state);
	bool cold = !strcmp(st->state, "coldstart");
	double pct = st->pages_total ?
		     100.0 * (double)st->pages_resident / st->pages_total : 0;
	int fill = (int)(pct * BAR_WIDTH / 100 + 0.5);

	if (!st->pages_total && !strcmp(st->state, "resident"))
		pct = 100, fill = BAR_WIDTH;
	printf("%s: %s%s\n", dir, st->state,
	       !final && !pager ? " (STALE: the pager died before the restore "
	       "finished)" : "");
	printf("  image    %s\n", st->url);
	printf("  pages    [%.*s%.*s] %5.1f%%  %llu/%llu resident\n", fill,
	       "##############################", BAR_WIDTH - fill,
	       "..............................", pct,
	       (unsigned long long)st->pages_resident,
	       (unsigned long long)st->pages_total);
	printf("  fetched  %.1f MB at %.1f MB/s\n", st->bytes_fetched / 1e6,
	       st->mb_per_s);
	printf("  faults   %llu, latency p50 ", (unsigned long long)st->faults);
	print_us(st->latency_p50_us);
	printf(", p99 ");
	print_us(st->latency_p99_us);
	if (st->bg_faults) {
		printf("; %llu during the background, p99 ",
		       (unsigned long long)st->bg_faults);
		print_us(st->bg_latency_p99_us);
	}
	if (st->tftp_retransmits || st->tftp_gaps || st->tftp_windows_cut)
		printf("\n  tftp     %llu retransmits, %llu gaps, %llu windows "
		       "cut to the receive buffer",
		       (unsigned long long)st->tftp_retransmits,
		       (unsigned long long)st->tftp_gaps,
		       (unsigned long long)st->tftp_windows_cut);
	printf("\n  times   ");
	print_ms("bundle", st->ms_bundle);
	print_ms("restored", st->ms_restored);
	print_ms("ready", st->ms_ready);
	print_ms("resident", st->ms_resident);
	printf("\n  %s", cold ? "app      " : "root     ");
	if (st->root_pid)
		printf("pid %d (%s)", st->root_pid,
		       st->root_exit[0] ? st->root_exit :
		       pid_alive(st->root_pid) ? "running" : "gone");
	else
		printf("not restored yet");
	printf("; pager pid %d (%s)\n", st->pager_pid,
	       pager ? "running" : "exited");
	printf("  guarantee %s\n", st->guarantee[0] ? st->guarantee : "unknown");
	if (cold)
		printf("  fallback cold start because %s\n", st->failure);
	else if (st->failure[0])
		printf("  failure  %s\n", st->failure);
	return final || !pager;
}

/* ---- --json ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s, 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong, surrogate or past U+10FFFF */
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * A JSON string (RFC 8259): quote, backslash and control characters
 * escaped, valid UTF-8 as is, any other byte as U+FFFD.
 */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s) {
		size_t n = utf8_len(s);

		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", *s);
		else if (!n)
			fputs("\\ufffd", stdout);
		else
			fwrite(s, 1, n, stdout);
		s += n ? n : 1;
	}
	putchar('"');
}

/* "key": "value" or "key": null for an empty value. */
static void json_key_str(const char *key, const char *v, bool last)
{
	printf("\"%s\": ", key);
	if (v && *v)
		json_str(v);
	else
		fputs("null", stdout);
	fputs(last ? "" : ", ", stdout);
}

/* "key": n, or null when n is 0 and 0 means "not yet". */
static void json_key_u64(const char *key, uint64_t v, bool zero_is_null,
			 bool last)
{
	if (zero_is_null && !v)
		printf("\"%s\": null", key);
	else
		printf("\"%s\": %llu", key, (unsigned long long)v);
	fputs(last ? "" : ", ", stdout);
}

static const char *phase_of(const struct lzb_restore_status *st, bool pager)
{
	if (lzb_status_final(st->state))
		return "finished";
	return pager ? "running" : "stale";
}

/* One restore as one line of JSON; the schema is in docs/pager.md. */
static bool print_json(const char *dir, const struct lzb_restore_status *st)
{
	bool pager = lzb_status_pager_alive(st);
	bool ready = !strcmp(st->state, "ready") ||
		     !strcmp(st->state, "resident") || !strcmp(st->state, "done");
	char path[4200];

	printf("{\"schema\": 1, ");
	json_key_str("workdir", dir, false);
	snprintf(path, sizeof(path), "%s/%s", dir, LZB_STATUS_FILE);
	json_key_str("status_file", path, false);
	snprintf(path, sizeof(path), "%s/%s", dir, LZB_RECORD_NAME);
	json_key_str("record", access(path, F_OK) ? NULL : path, false);
	json_key_str("state", st->state, false);
	json_key_str("phase", phase_of(st, pager), false);
	printf("\"ready\": %s, ", ready ? "true" : "false");
	json_key_str("url", st->url, false);
	printf("\"image\": {");
	json_key_str("id", st->image_id, false);
	json_key_u64("version", st->image_version, true, false);
	json_key_u64("bytes", st->image_bytes, true, true);
	printf("}, \"pages\": {");
	json_key_u64("resident", st->pages_resident, false, false);
	json_key_u64("total", st->pages_total, false, false);
	json_key_u64("page_size", st->page_size, true, true);
	printf("}, \"bytes\": {");
	json_key_u64("resident", st->pages_resident * st->page_size,
		     !st->page_size, false);
	json_key_u64("total", st->pages_total * st->page_size, !st->page_size,
		     false);
	json_key_u64("fetched", st->bytes_fetched, false, false);
	if (isfinite(st->mb_per_s))
		printf("\"mb_per_s\": %.3f}, ", st->mb_per_s);
	else
		printf("\"mb_per_s\": null}, ");
	printf("\"faults\": {");
	json_key_u64("count", st->faults, false, false);
	json_key_u64("latency_p50_us", st->latency_p50_us, false, false);
	json_key_u64("latency_p99_us", st->latency_p99_us, false, false);
	json_key_u64("latency_max_us", st->latency_max_us, false, false);
	json_key_u64("background_count", st->bg_faults, false, false);
	json_key_u64("background_latency_p99_us", st->bg_latency_p99_us,
		     false, false);
	json_key_u64("background_latency_max_us", st->bg_latency_max_us,
		     false, true);
	printf("}, \"tftp\": {");
	json_key_u64("retransmits", st->tftp_retransmits, false, false);
	json_key_u64("gaps", st->tftp_gaps, false, false);
	json_key_u64("windows_cut", st->tftp_windows_cut, false, true);
	printf("}, \"times\": {");
	json_key_u64("started_unix", st->started_unix, true, false);
	json_key_u64("updated_unix", st->updated_unix, true, false);
	json_key_u64("elapsed_ms", st->ms_elapsed, false, false);
	json_key_u64("bundle_ms", st->ms_bundle, true, false);
	json_key_u64("restored_ms", st->ms_restored, true, false);
	json_key_u64("ready_ms", st->ms_ready, true, false);
	json_key_u64("resident_ms", st->ms_resident, true, true);
	printf("}, \"root\": {");
	json_key_u64("pid", (uint64_t)st->root_pid, true, false);
	printf("\"running\": %s, ", !st->root_exit[0] &&
	       pid_alive(st->root_pid) ? "true" : "false");
	json_key_str("exit", st->root_exit, true);
	printf("}, \"pager\": {");
	json_key_u64("pid", (uint64_t)st->pager_pid, false, false);
	printf("\"running\": %s}, ", pager ? "true" : "false");
	json_key_str("guarantee", st->guarantee, false);
	json_key_str("error", st->failure, true);
	printf("}\n");
	return lzb_status_final(st->state) || !pager;
}

/* Show WORKDIR's restore; *done tells whether it is over. */
static int show(const char *dir, bool json, bool *done)
{
	struct lzb_restore_status st;
	struct lzb_err err = { { 0 } };
	char path[4200];
	uint8_t *text;
	size_t len;
	int ret;

	*done = true;
	if (lzb_path(path, sizeof(path), dir, LZB_STATUS_FILE)) {
		fprintf(stderr, "lazyboot status: %s: path too long\n", dir);
		return 1;
	}
	if (lzb_read_file(path, 65536, &text, &len, &err)) {
		fprintf(stderr, "lazyboot status: %s\n", err.msg);
		return 1;
	}
	ret = lzb_status_parse(path, (const char *)text, len, &st, &err);
	free(text);
	if (ret) {
		fprintf(stderr, "lazyboot status: %s\n", err.msg);
		return 1;
	}
	*done = json ? print_json(dir, &st) : print_status(dir, &st);
	return 0;
}

static int show_all(char **dirs, int n, bool json, bool *all_done)
{
	glob_t g = { 0 };
	int ret = 0;

	*all_done = true;
	if (!n) {
		if (glob(RUN_DIR "/*/" LZB_STATUS_FILE, 0, NULL, &g) || !g.gl_pathc) {
			if (!json)
				printf("no restores: nothing under %s/*/%s\n",
				       RUN_DIR, LZB_STATUS_FILE);
			globfree(&g);
			return 0;
		}
		for (size_t i = 0; i < g.gl_pathc; i++)
			*strrchr(g.gl_pathv[i], '/') = '\0';
		dirs = g.gl_pathv;
		n = (int)g.gl_pathc;
	}
	for (int i = 0; i < n; i++) {
		bool done;

		if (i && !json)
			putchar('\n');
		ret |= show(dirs[i], json, &done);
		*all_done &= done;
	}
	globfree(&g);
	return ret;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "watch", optional_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned int watch = 0;
	bool done, json = false;
	int opt, ret;
	char *end;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			watch = 1;
			if (!optarg && optind < argc && argv[optind][0] >= '0' &&
			    argv[optind][0] <= '9')
				optarg = argv[optind++];
			if (optarg) {
				watch = (unsigned int)strtoul(optarg, &end, 10);
				if (*end || !watch || watch > 3600) {
					fprintf(stderr, "lazyboot status: --watch "
						"takes 1..3600 seconds, not '%s'\n",
						optarg);
					return 2;
				}
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!watch)
		return show_all(&argv[optind], argc - optind, json, &done);
	signal(SIGINT, on_int);
	for (;;) {
		if (isatty(STDOUT_FILENO) && !json)
			fputs("\033[H\033[2J", stdout);
		ret = show_all(&argv[optind], argc - optind, json, &done);
		fflush(stdout);
		if (done || interrupted)
			return ret;
		sleep(watch);
		if (!isatty(STDOUT_FILENO) && !json)
			puts("--");
	}
}
