// SPDX-License-Identifier: LGPL-2.1-or-later
/* Whole-file reads with a size bound, and safe, atomic file writes. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_util.h"

int lzb_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
		  struct lzb_err *err)
{
	struct stat st;

	return lzb_read_file_stat(path, max, data, len, &st, err);
}

int lzb_read_file_stat(const char *path, size_t max, uint8_t **data,
		       size_t *len, struct stat *out_st, struct lzb_err *err)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return lzb_errf(err, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return lzb_errf(err, "%s: %lld bytes, more than the %zu allowed",
				path, (long long)st.st_size, max);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return lzb_errf(err, "%s: out of memory", path);
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : 0;

			free(buf);
			close(fd);
			return lzb_errf(err, "%s: %s", path,
					e ? strerror(e) : "file shrank while reading");
		}
		done += (size_t)n;
	}
	close(fd);
	*data = buf;
	*len = done;
	*out_st = st;
	return 0;
}

/* PATH's directory into DIR ("." for a bare name); -1 if too long. */
static int dir_of(char *dir, size_t len, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return snprintf(dir, len, ".") < (int)len ? 0 : -1;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

int lzb_out_open(struct lzb_out_file *f, const char *path, unsigned int mode,
		 struct lzb_err *err)
{
	char dir[sizeof(f->path)];
	int e = EEXIST;

	f->fd = -1;
	f->tmp[0] = '\0';
	if (snprintf(f->path, sizeof(f->path), "%s", path) >=
	    (int)sizeof(f->path) || dir_of(dir, sizeof(dir), path))
		return lzb_errf(err, "%s: path too long", path);
	/* A name nobody can guess, and never one that already exists. */
	for (int tries = 0; tries < 16 && e == EEXIST; tries++) {
		uint64_t r;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return lzb_errf(err, "%s: getrandom: %s", path,
					strerror(errno));
		snprintf(f->tmp, sizeof(f->tmp), "%s/.lzb-%016llx.tmp", dir,
			 (unsigned long long)r);
		f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			     O_CLOEXEC, 0600);
		e = f->fd < 0 ? errno : 0;
	}
	if (f->fd < 0) {
		f->tmp[0] = '\0';
		return lzb_errf(err, "%s: cannot create a file beside it: %s",
				path, strerror(e));
	}
	if (fchmod(f->fd, mode & 07777)) {
		e = errno;
		lzb_out_abort(f);
		return lzb_errf(err, "%s: fchmod %04o: %s", path, mode & 07777,
				strerror(e));
	}
	return 0;
}

int lzb_out_write(struct lzb_out_file *f, const void *data, size_t len,
		  struct lzb_err *err)
{
	const uint8_t *p = data;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(f->fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			lzb_out_abort(f);
			return lzb_errf(err, "%s: %s", f->path, strerror(e));
		}
		done += (size_t)n;
	}
	return 0;
}

void lzb_out_abort(struct lzb_out_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0])
		unlink(f->tmp);
	f->tmp[0] = '\0';
}

static int sync_dir(const char *path, struct lzb_err *err)
{
	char dir[4096];
	int fd, r;

	if (dir_of(dir, sizeof(dir), path))
		return lzb_errf(err, "%s: path too long", path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lzb_errf(err, "%s: %s", dir, strerror(errno));
	r = fsync(fd);
	close(fd);
	return r ? lzb_errf(err, "%s: fsync: %s", dir, strerror(errno)) : 0;
}

int lzb_out_commit(struct lzb_out_file *f, bool durable, struct lzb_err *err)
{
	int e;

	if (f->fd < 0)
		return lzb_errf(err, "%s: not open for writing", f->path);
	if ((durable && fsync(f->fd)) || close(f->fd)) {
		e = errno;
		f->fd = -1;
		lzb_out_abort(f);
		return lzb_errf(err, "%s: %s", f->path, strerror(e));
	}
	f->fd = -1;
	if (rename(f->tmp, f->path)) {
		e = errno;
		lzb_out_abort(f);
		return lzb_errf(err, "%s: %s", f->path, strerror(e));
	}
	f->tmp[0] = '\0';
	return durable ? sync_dir(f->path, err) : 0;
}

static int write_file(const char *path, const void *data, size_t len,
		      unsigned int mode, bool durable, struct lzb_err *err)
{
	struct lzb_out_file f;

	if (lzb_out_open(&f, path, mode, err) ||
	    lzb_out_write(&f, data, len, err))
		return -1;
	return lzb_out_commit(&f, durable, err);
}

int lzb_write_file(const char *path, const void *data, size_t len,
		   unsigned int mode, struct lzb_err *err)
{
	return write_file(path, data, len, mode, true, err);
}

int lzb_write_file_nosync(const char *path, const void *data, size_t len,
			  unsigned int mode, struct lzb_err *err)
{
	return write_file(path, data, len, mode, false, err);
}

int lzb_open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0600);
}

int lzb_syncfs(const char *dir, struct lzb_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return lzb_errf(err, "%s: %s", dir, strerror(errno));
	r = syncfs(fd);
	close(fd);
	return r ? lzb_errf(err, "%s: syncfs: %s", dir, strerror(errno)) : 0;
}

int lzb_fresh_dir(const char *path, struct lzb_err *err)
{
	struct dirent *de;
	struct stat st;
	int fd, r = 0;
	DIR *d;

	if (!mkdir(path, 0700))
		return 0;
	if (errno != EEXIST)
		return lzb_errf(err, "%s: cannot create directory: %s", path,
				strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return lzb_errf(err, "%s: not a directory (or a symlink): %s",
				path, strerror(e));
	}
	if (st.st_uid != geteuid() || fchmod(fd, 0700)) {
		close(fd);
		return lzb_errf(err, "%s: a directory of uid %u, not ours", path,
				(unsigned int)st.st_uid);
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	}
	while (!r && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    unlinkat(fd, de->d_name, 0))
			r = lzb_errf(err, "%s/%s: cannot remove: %s", path,
				     de->d_name, strerror(errno));
	closedir(d);
	return r;
}

int lzb_mkdir(const char *path, struct lzb_err *err)
{
	struct stat st;

	if (!mkdir(path, 0755))
		return 0;
	if (errno == EEXIST && !stat(path, &st) && S_ISDIR(st.st_mode))
		return 0;
	return lzb_errf(err, "%s: cannot create directory: %s", path,
			strerror(errno == EEXIST ? ENOTDIR : errno));
}

int lzb_path(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
