// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * file:// transport: local images (tests, nodes with a local cache).  Reads
 * in slices of up to 1 MiB per event-loop turn so a big local file never
 * holds up a fault request on another transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch/fetch_internal.h"

#define FILE_SLICE (1024 * 1024)

struct file_try {
	int fd;
	uint64_t start, end, pos;	/* file offsets */
	char *buf;
};

static void file_close(struct lzb_fetch *r)
{
	struct file_try *t = r->tp_state;

	if (!t)
		return;
	close(t->fd);
	free(t->buf);
	free(t);
	r->tp_state = NULL;
}

/* "file:///p" and "file://localhost/p" name /p; no %-escapes are decoded. */
static const char *file_path(const char *url)
{
	const char *p = url + 7;

	if (!strncmp(p, "localhost/", 10))
		p += 9;
	return *p == '/' ? p : NULL;
}

static int file_start(struct lzb_fetch *r)
{
	const char *path = file_path(r->url);
	struct file_try *t;
	struct stat st;
	int err;

	if (!path) {
		lzb_fetch_msg(r, "not a local absolute path (want file:///PATH)");
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		err = -errno;
		lzb_fetch_msg(r, "%s", strerror(errno));
		free(t);
		return err;
	}
	if (fstat(t->fd, &st) || !S_ISREG(st.st_mode)) {
		lzb_fetch_msg(r, "not a regular file");
		close(t->fd);
		free(t);
		return -EINVAL;
	}
	if (r->s.length) {
		if (r->s.offset > (uint64_t)st.st_size ||
		    r->s.length > (uint64_t)st.st_size - r->s.offset) {
			lzb_fetch_msg(r, "range %llu+%llu is past the end of "
				      "the %lld-byte file",
				      (unsigned long long)r->s.offset,
				      (unsigned long long)r->s.length,
				      (long long)st.st_size);
			close(t->fd);
			free(t);
			return -ERANGE;
		}
		t->start = r->s.offset;
		t->end = r->s.offset + r->s.length;
	} else {
		t->end = st.st_size;
		lzb_fetch_set_total(r, st.st_size);
	}
	t->pos = t->start;
	r->tp_state = t;
	r->tp_timer_ns = lzb_now_ns();	/* read from the loop, not here */
	return 0;
}

static void file_timer(struct lzb_fetch *r)
{
	struct file_try *t = r->tp_state;
	size_t want = t->end - t->pos > FILE_SLICE ? FILE_SLICE :
						      t->end - t->pos;
	ssize_t n;
	int err;

	if (!want) {
		file_close(r);
		lzb_fetch_try_done(r, 0);
		return;
	}
	if (!t->buf) {
		t->buf = malloc(FILE_SLICE);
		if (!t->buf) {
			file_close(r);
			lzb_fetch_msg(r, "out of memory");
			lzb_fetch_try_done(r, -ENOMEM);
			return;
		}
	}
	n = pread(t->fd, t->buf, want, t->pos);
	if (n <= 0) {
		err = n < 0 ? -errno : -EPROTO;
		lzb_fetch_msg(r, "read failed: %s",
			      n < 0 ? strerror(errno) : "file shrank");
		file_close(r);
		lzb_fetch_try_done(r, err);
		return;
	}
	err = lzb_fetch_deliver(r, t->pos - t->start, t->buf, n);
	if (err) {
		file_close(r);
		lzb_fetch_try_done(r, err);
		return;
	}
	t->pos += n;
	r->tp_timer_ns = lzb_now_ns();
}

static const char *const file_schemes[] = { "file", NULL };

const struct lzb_transport lzb_transport_file = {
	.schemes = file_schemes,
	.start = file_start,
	.stop = file_close,
	.timer = file_timer,
};
