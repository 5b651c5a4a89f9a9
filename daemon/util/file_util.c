// SPDX-License-Identifier: LGPL-2.1-or-later
/* Whole-file reads with a size bound, and atomic whole-file writes. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_util.h"

int lzb_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
		  struct lzb_err *err)
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
	return 0;
}

static int write_file(const char *path, const void *data, size_t len,
		      unsigned int mode, bool durable, struct lzb_err *err)
{
	char tmp[4096];
	const uint8_t *p = data;
	size_t done = 0;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return lzb_errf(err, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return lzb_errf(err, "%s: %s", tmp, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			unlink(tmp);
			return lzb_errf(err, "%s: %s", tmp, strerror(e));
		}
		done += (size_t)n;
	}
	if ((durable && fsync(fd)) || close(fd)) {
		int e = errno;

		unlink(tmp);
		return lzb_errf(err, "%s: %s", tmp, strerror(e));
	}
	if (rename(tmp, path)) {
		int e = errno;

		unlink(tmp);
		return lzb_errf(err, "%s: %s", path, strerror(e));
	}
	return 0;
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

int lzb_syncfs(const char *dir, struct lzb_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return lzb_errf(err, "%s: %s", dir, strerror(errno));
	r = syncfs(fd);
	close(fd);
	return r ? lzb_errf(err, "%s: syncfs: %s", dir, strerror(errno)) : 0;
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
