// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/restore_status.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file_util.h"

enum field_kind { F_STR, F_INT, F_U64, F_DBL };

struct field {
	const char *key;
	enum field_kind kind;
	size_t offset, size;
};

#define STR(k, m) { k, F_STR, offsetof(struct lzb_restore_status, m), \
		    sizeof(((struct lzb_restore_status *)0)->m) }
#define NUM(k, kind, m) { k, kind, offsetof(struct lzb_restore_status, m), 0 }

/* In the order they are written; version and state come first. */
static const struct field fields[] = {
	STR("state", state),
	STR("url", url),
	NUM("pager_pid", F_INT, pager_pid),
	NUM("pager_start", F_U64, pager_start),
	NUM("root_pid", F_INT, root_pid),
	STR("root_exit", root_exit),
	NUM("pages_resident", F_U64, pages_resident),
	NUM("pages_total", F_U64, pages_total),
	NUM("bytes_fetched", F_U64, bytes_fetched),
	NUM("mb_per_s", F_DBL, mb_per_s),
	NUM("faults", F_U64, faults),
	NUM("latency_p50_us", F_U64, latency_p50_us),
	NUM("latency_p99_us", F_U64, latency_p99_us),
	NUM("latency_max_us", F_U64, latency_max_us),
	NUM("bg_faults", F_U64, bg_faults),
	NUM("bg_latency_p99_us", F_U64, bg_latency_p99_us),
	NUM("bg_latency_max_us", F_U64, bg_latency_max_us),
	NUM("tftp_retransmits", F_U64, tftp_retransmits),
	NUM("tftp_gaps", F_U64, tftp_gaps),
	NUM("tftp_windows_cut", F_U64, tftp_windows_cut),
	NUM("started_unix", F_U64, started_unix),
	NUM("updated_unix", F_U64, updated_unix),
	NUM("ms_elapsed", F_U64, ms_elapsed),
	NUM("ms_bundle", F_U64, ms_bundle),
	NUM("ms_restored", F_U64, ms_restored),
	NUM("ms_ready", F_U64, ms_ready),
	NUM("ms_resident", F_U64, ms_resident),
	STR("failure", failure),
	STR("guarantee", guarantee),
	STR("image_id", image_id),
	NUM("image_version", F_U64, image_version),
	NUM("image_bytes", F_U64, image_bytes),
	NUM("page_size", F_U64, page_size),
};

#define NR_FIELDS (sizeof(fields) / sizeof(fields[0]))

uint64_t lzb_proc_start_time(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	size_t n;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: count from the last ')'.
	 * starttime is field 22; the field after ')' is field 3. */
	p = strrchr(buf, ')');
	for (i = 3; p && i <= 22; i++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%llu", &start) != 1)
		start = 0;
	return start;
}

static void put_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s=", key);
	for (; *v; v++)
		fputc(*v == '\n' || *v == '\r' ? ' ' : *v, f);
	fputc('\n', f);
}

int lzb_status_read(const char *workdir, struct lzb_restore_status *st,
		    struct lzb_err *err)
{
	char path[4200];
	uint8_t *text;
	size_t len;
	int ret;

	if (lzb_path(path, sizeof(path), workdir, LZB_STATUS_FILE) ||
	    lzb_read_file(path, 65536, &text, &len, err))
		return -ENOENT;
	ret = lzb_status_parse(path, (const char *)text, len, st, err);
	free(text);
	return ret ? -EINVAL : 0;
}

int lzb_status_write(const char *workdir, const struct lzb_restore_status *st,
		     struct lzb_err *err)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (lzb_path(path, sizeof(path), workdir, LZB_STATUS_FILE))
		return lzb_errf(err, "%s: path too long", workdir);
	f = open_memstream(&text, &len);
	if (!f)
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	fprintf(f, "version=%d\n", LZB_STATUS_VERSION);
	for (size_t i = 0; i < NR_FIELDS; i++) {
		const struct field *fd = &fields[i];
		const char *m = (const char *)st + fd->offset;

		switch (fd->kind) {
		case F_STR:
			put_str(f, fd->key, m);
			break;
		case F_INT:
			fprintf(f, "%s=%d\n", fd->key, *(const int *)m);
			break;
		case F_U64:
			fprintf(f, "%s=%llu\n", fd->key,
				(unsigned long long)*(const uint64_t *)m);
			break;
		case F_DBL:
			fprintf(f, "%s=%.3f\n", fd->key, *(const double *)m);
			break;
		}
	}
	if (fclose(f)) {
		free(text);
		return lzb_errf(err, "%s: out of memory", path);
	}
	ret = lzb_write_file_nosync(path, text, len, 0644, err);
	free(text);
	return ret;
}

static int parse_value(const struct field *fd, const char *v,
		       struct lzb_restore_status *st)
{
	char *m = (char *)st + fd->offset, *end;
	unsigned long long u;
	long l;
	double d;

	errno = 0;
	switch (fd->kind) {
	case F_STR:
		if (strlen(v) >= fd->size)
			return -1;
		strcpy(m, v);
		return 0;
	case F_INT:
		l = strtol(v, &end, 10);
		if (!*v || *end || errno || l < 0 || l > INT_MAX)
			return -1;
		*(int *)m = (int)l;
		return 0;
	case F_U64:
		if (*v == '-')
			return -1;
		u = strtoull(v, &end, 10);
		if (!*v || *end || errno)
			return -1;
		*(uint64_t *)m = u;
		return 0;
	case F_DBL:
		d = strtod(v, &end);
		if (!*v || *end || errno || !(d >= 0))
			return -1;
		*(double *)m = d;
		return 0;
	}
	return -1;
}

int lzb_status_parse(const char *where, const char *text, size_t size,
		     struct lzb_restore_status *st, struct lzb_err *err)
{
	const char *line = text, *stop = text + size;
	int version = 0, lineno = 0;

	memset(st, 0, sizeof(*st));
	while (line < stop) {
		const char *nl = memchr(line, '\n', (size_t)(stop - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(stop - line);
		char buf[1200], *eq;

		lineno++;
		if (len >= sizeof(buf))
			return lzb_errf(err, "%s:%d: line too long", where,
					lineno);
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (strlen(buf) != len)
			return lzb_errf(err, "%s:%d: NUL byte in line", where,
					lineno);
		line += len + (nl ? 1 : 0);
		if (!buf[0] || buf[0] == '#')
			continue;
		eq = strchr(buf, '=');
		if (!eq || eq == buf)
			return lzb_errf(err, "%s:%d: not key=value: '%.60s'",
					where, lineno, buf);
		*eq = '\0';
		if (!strcmp(buf, "version")) {
			version = atoi(eq + 1);
			if (version < 1 || version > LZB_STATUS_VERSION)
				return lzb_errf(err, "%s:%d: status format "
						"version '%.20s' not known (this "
						"lazyboot reads up to %d)", where,
						lineno, eq + 1,
						LZB_STATUS_VERSION);
			continue;
		}
		for (size_t i = 0; i < NR_FIELDS; i++) {
			if (strcmp(buf, fields[i].key))
				continue;
			if (parse_value(&fields[i], eq + 1, st))
				return lzb_errf(err, "%s:%d: bad value for %s: "
						"'%.60s'", where, lineno, buf,
						eq + 1);
			break;
		}
	}
	if (!version)
		return lzb_errf(err, "%s: no version line: not a lazyboot "
				"status file", where);
	if (!st->state[0])
		return lzb_errf(err, "%s: no state", where);
	if (!st->pager_pid)
		return lzb_errf(err, "%s: no pager_pid", where);
	return 0;
}

bool lzb_status_pager_alive(const struct lzb_restore_status *st)
{
	if (st->pager_pid <= 0 ||
	    (kill(st->pager_pid, 0) && errno != EPERM))
		return false;
	/* Same pid, another process: the pager is gone. */
	return !st->pager_start ||
	       lzb_proc_start_time(st->pager_pid) == st->pager_start;
}

/*
 * The unit's ExecStopPost= shell (daemon/systemd/lazybootd@.service.in)
 * spells the same four states, for when lazybootd is gone: change both.
 */
bool lzb_status_final(const char *state)
{
	return !strcmp(state, "resident") || !strcmp(state, "failed") ||
	       !strcmp(state, "done") || !strcmp(state, "coldstart");
}

bool lzb_status_due(struct lzb_status_throttle *th, const char *state,
		    uint64_t now_ms)
{
	if (th->written && !strcmp(th->state, state) &&
	    now_ms - th->last_ms < LZB_STATUS_INTERVAL_MS)
		return false;
	snprintf(th->state, sizeof(th->state), "%s", state);
	th->last_ms = now_ms;
	th->written = true;
	return true;
}
