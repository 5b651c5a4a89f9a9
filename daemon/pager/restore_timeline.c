// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/restore_timeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/file_util.h"

/* ---- writing ----------------------------------------------------------- */

/* One line, one write(2): a reader never sees half a line but the last. */
static void put_line(struct lzb_timeline_writer *w, const char *line, int n)
{
	if (w->fd < 0 || n <= 0)
		return;
	if (write(w->fd, line, (size_t)n) != n) {
		close(w->fd);
		w->fd = -1;
	}
}

int lzb_timeline_open(struct lzb_timeline_writer *w, const char *workdir,
		      bool fresh, uint64_t t0_ms, struct lzb_err *err)
{
	char path[4200], line[96];
	struct timeval tv;
	int n;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->t0_ms = t0_ms;
	if (lzb_path(path, sizeof(path), workdir, LZB_TIMELINE_FILE))
		return lzb_errf(err, "%s: path too long", workdir);
	if (fresh && unlink(path) && errno != ENOENT)
		return lzb_errf(err, "cannot replace %s: %s", path,
				strerror(errno));
	w->fd = lzb_open_append(path);
	if (w->fd < 0)
		return lzb_errf(err, "cannot open %s: %s", path,
				strerror(errno));
	/* Not for criu, the probe or the holder. */
	fcntl(w->fd, F_SETFD, FD_CLOEXEC);
	gettimeofday(&tv, NULL);
	n = snprintf(line, sizeof(line), "%sstart %llu\n",
		     fresh ? "lazyboot-timeline 1\n" : "",
		     (unsigned long long)tv.tv_sec * 1000ULL +
		     (unsigned long long)tv.tv_usec / 1000);
	put_line(w, line, n);
	if (w->fd < 0)
		return lzb_errf(err, "cannot write %s", path);
	return 0;
}

void lzb_timeline_close(struct lzb_timeline_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

static unsigned long long since(const struct lzb_timeline_writer *w,
				uint64_t now_ms)
{
	return now_ms > w->t0_ms ? (unsigned long long)(now_ms - w->t0_ms) : 0;
}

void lzb_timeline_mark(struct lzb_timeline_writer *w, uint64_t now_ms,
		       const char *name)
{
	char line[64];

	put_line(w, line, snprintf(line, sizeof(line), "m %llu %.23s\n",
				   since(w, now_ms), name));
}

void lzb_timeline_task(struct lzb_timeline_writer *w, uint64_t now_ms,
		       int img_pid, int pid)
{
	char line[64];

	put_line(w, line, snprintf(line, sizeof(line), "t %llu %d %d\n",
				   since(w, now_ms), img_pid, pid));
}

bool lzb_timeline_sample_due(const struct lzb_timeline_writer *w,
			     uint64_t now_ms)
{
	return w->fd >= 0 && w->samples < LZB_TIMELINE_MAX_SAMPLES &&
	       now_ms >= w->next_sample_ms;
}

void lzb_timeline_sample(struct lzb_timeline_writer *w, uint64_t now_ms,
			 const struct lzb_tl_sample *s)
{
	char line[256], k[48] = "- -";

	if (s->has_kstall)
		snprintf(k, sizeof(k), "%llu %llu",
			 (unsigned long long)s->kstalls,
			 (unsigned long long)s->kstall_us);
	put_line(w, line, snprintf(line, sizeof(line),
				   "s %llu %llu %llu %llu %llu %llu %llu %s\n",
				   since(w, now_ms),
				   (unsigned long long)s->fault_bytes,
				   (unsigned long long)s->bg_bytes,
				   (unsigned long long)s->faults,
				   (unsigned long long)s->stall_us,
				   (unsigned long long)s->resident,
				   (unsigned long long)s->total, k));
	w->samples++;
	w->next_sample_ms = now_ms + LZB_TIMELINE_INTERVAL_MS;
}

/* ---- reading ----------------------------------------------------------- */

static int grow(void **arr, size_t nr, size_t size)
{
	void *p;

	if (nr & (nr - 1))	/* room left until the next power of 2 */
		return 0;
	p = realloc(*arr, (nr ? nr * 2 : 1) * size);
	if (!p)
		return -1;
	*arr = p;
	return 0;
}

/* Split LINE at blanks into at most MAX words; how many there were. */
static size_t split(char *line, char **words, size_t max)
{
	size_t n = 0;

	for (char *save = NULL, *w = strtok_r(line, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		words[n++] = w;
	}
	return n;
}

static int number(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end || errno ? -1 : 0;
}

static bool word_ok(const char *s)
{
	if (!*s || strlen(s) >= sizeof(((struct lzb_tl_mark *)0)->name))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-'))
			return false;
	return true;
}

static int parse_sample(char **w, size_t n, uint64_t base,
			struct lzb_tl_sample *s)
{
	uint64_t v[9];

	if (n != 10)
		return -1;
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < 7; i++)
		if (number(w[i + 1], &v[i]))
			return -1;
	if (!strcmp(w[8], "-") && !strcmp(w[9], "-")) {
		s->has_kstall = false;
	} else if (!number(w[8], &v[7]) && !number(w[9], &v[8])) {
		s->has_kstall = true;
		s->kstalls = v[7];
		s->kstall_us = v[8];
	} else {
		return -1;
	}
	s->ms = base + v[0];
	s->fault_bytes = v[1];
	s->bg_bytes = v[2];
	s->faults = v[3];
	s->stall_us = v[4];
	s->resident = v[5];
	s->total = v[6];
	return 0;
}

static int parse_line(struct lzb_timeline *tl, char *line, uint64_t *base)
{
	char *w[11];
	size_t n = split(line, w, 10);
	uint64_t a, b, c;

	if (!n || w[0][0] == '#')
		return 0;
	if (!strcmp(w[0], "start")) {
		if (n != 2 || number(w[1], &a))
			return -1;
		if (!tl->pagers++)
			tl->start_unix_ms = a;
		*base = a > tl->start_unix_ms ? a - tl->start_unix_ms : 0;
		return 0;
	}
	if (!tl->pagers)
		return -1;	/* times count from a start line */
	if (!strcmp(w[0], "s")) {
		if (grow((void **)&tl->samples, tl->nr_samples,
			 sizeof(*tl->samples)))
			return -2;
		if (parse_sample(w, n, *base, &tl->samples[tl->nr_samples]))
			return -1;
		tl->nr_samples++;
		return 0;
	}
	if (!strcmp(w[0], "m")) {
		struct lzb_tl_mark *m;

		if (n != 3 || number(w[1], &a) || !word_ok(w[2]))
			return -1;
		if (grow((void **)&tl->marks, tl->nr_marks, sizeof(*tl->marks)))
			return -2;
		m = &tl->marks[tl->nr_marks++];
		m->ms = *base + a;
		snprintf(m->name, sizeof(m->name), "%s", w[2]);
		return 0;
	}
	if (!strcmp(w[0], "t")) {
		struct lzb_tl_task *t;

		if (n != 4 || number(w[1], &a) || number(w[2], &b) ||
		    number(w[3], &c) || b > 0x7fffffff || c > 0x7fffffff)
			return -1;
		if (grow((void **)&tl->tasks, tl->nr_tasks, sizeof(*tl->tasks)))
			return -2;
		t = &tl->tasks[tl->nr_tasks++];
		t->ms = *base + a;
		t->img_pid = (int)b;
		t->pid = (int)c;
		return 0;
	}
	return -1;
}

int lzb_timeline_parse(const char *where, const char *text, size_t len,
		       struct lzb_timeline *tl, struct lzb_err *err)
{
	const char *line = text, *stop = text + len;
	uint64_t base = 0;
	int lineno = 0;

	memset(tl, 0, sizeof(*tl));
	while (line < stop) {
		const char *nl = memchr(line, '\n', (size_t)(stop - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(stop - line);
		char buf[512], orig[512];
		int ret;

		lineno++;
		if (!nl)	/* a pager killed mid-write: its last line */
			break;
		if (n >= sizeof(buf) || memchr(line, '\0', n)) {
			lzb_timeline_free(tl);
			return lzb_errf(err, "%s:%d: not a timeline line",
					where, lineno);
		}
		memcpy(buf, line, n);
		buf[n] = '\0';
		line += n + 1;
		if (lineno == 1) {
			if (strncmp(buf, "lazyboot-timeline ", 18)) {
				lzb_timeline_free(tl);
				return lzb_errf(err, "%s: not a lazyboot "
						"timeline (no 'lazyboot-"
						"timeline' first line)", where);
			}
			if (atoi(buf + 18) != LZB_TIMELINE_VERSION) {
				lzb_timeline_free(tl);
				return lzb_errf(err, "%s: timeline format "
						"version '%.20s' not known "
						"(this lazyboot reads %d)",
						where, buf + 18,
						LZB_TIMELINE_VERSION);
			}
			continue;
		}
		memcpy(orig, buf, n + 1);
		ret = parse_line(tl, buf, &base);
		if (ret) {
			lzb_timeline_free(tl);
			if (ret == -2)
				return lzb_errf(err, "%s: out of memory", where);
			return lzb_errf(err, "%s:%d: bad line: '%.60s'", where,
					lineno, orig);
		}
	}
	if (lineno == 0 || !tl->pagers) {
		lzb_timeline_free(tl);
		return lzb_errf(err, "%s: empty timeline (no start line)",
				where);
	}
	return 0;
}

int lzb_timeline_load(const char *path, struct lzb_timeline *tl,
		      struct lzb_err *err)
{
	uint8_t *data;
	size_t len;
	int ret;

	if (lzb_read_file(path, LZB_TIMELINE_MAX_BYTES, &data, &len, err))
		return -1;
	ret = lzb_timeline_parse(path, (const char *)data, len, tl, err);
	free(data);
	return ret;
}

void lzb_timeline_free(struct lzb_timeline *tl)
{
	free(tl->samples);
	free(tl->marks);
	free(tl->tasks);
	memset(tl, 0, sizeof(*tl));
}
