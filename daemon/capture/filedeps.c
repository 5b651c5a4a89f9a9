// SPDX-License-Identifier: LGPL-2.1-or-later
/* File dependencies of a dump: write, parse, check (see filedeps.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "capture/filedeps.h"

int lzb_file_hash(const char *path, unsigned char hash[LZB_HASH_BYTES])
{
	crypto_generichash_state st;
	static unsigned char buf[1 << 16];
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (sodium_init() < 0) {
		close(fd);
		return -ENOSYS;
	}
	crypto_generichash_init(&st, NULL, 0, LZB_HASH_BYTES);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		crypto_generichash_update(&st, buf, n);
	}
	close(fd);
	crypto_generichash_final(&st, hash, LZB_HASH_BYTES);
	return ret;
}

int lzb_filedep_make(const char *path, const char *kind,
		     struct lzb_filedep *d)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	if (strlen(path) >= sizeof(d->path))
		return -ENAMETOOLONG;
	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	snprintf(d->kind, sizeof(d->kind), "%s", kind);
	strcpy(d->path, path);
	d->size = st.st_size;
	d->mtime_sec = st.st_mtim.tv_sec;
	d->mtime_nsec = st.st_mtim.tv_nsec;
	return lzb_file_hash(path, d->hash);
}

int lzb_filedep_write(FILE *f, const struct lzb_filedep *d)
{
	const unsigned char *p;
	int i;

	fprintf(f, "%s %" PRIu64 " %" PRId64 ".%09ld ", d->kind, d->size,
		d->mtime_sec, d->mtime_nsec);
	for (i = 0; i < LZB_HASH_BYTES; i++)
		fprintf(f, "%02x", d->hash[i]);
	fputc(' ', f);
	for (p = (const unsigned char *)d->path; *p; p++) {
		if (*p <= ' ' || *p == '%' || *p >= 0x7f)
			fprintf(f, "%%%02X", *p);
		else
			fputc(*p, f);
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lzb_filedep_parse(const char *line, struct lzb_filedep *d)
{
	char hex[2 * LZB_HASH_BYTES + 2], path[3 * 4096];
	unsigned long long size;
	long long sec;
	long nsec;
	size_t i, o = 0;
	int n = 0;

	memset(d, 0, sizeof(*d));
	line += strspn(line, " \t");
	if (!*line || *line == '#' || *line == '\n')
		return 1;
	if (sscanf(line, "%11s %llu %lld.%9ld %65s %12287s%n", d->kind, &size,
		   &sec, &nsec, hex, path, &n) != 6 || !n)
		return -EINVAL;
	if (strlen(hex) != 2 * LZB_HASH_BYTES)
		return -EINVAL;
	for (i = 0; i < LZB_HASH_BYTES; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		d->hash[i] = (unsigned char)(hi << 4 | lo);
	}
	for (i = 0; path[i]; i++) {
		int c = (unsigned char)path[i];

		if (c == '%') {
			int hi = hexval(path[i + 1]);
			int lo = hi < 0 ? -1 : hexval(path[i + 2]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		}
		if (o + 1 >= sizeof(d->path) || !c)
			return -EINVAL;
		d->path[o++] = (char)c;
	}
	d->path[o] = '\0';
	if (d->path[0] != '/')
		return -EINVAL;
	d->size = size;
	d->mtime_sec = sec;
	d->mtime_nsec = nsec;
	return 0;
}

int lzb_filedep_check(const struct lzb_filedep *d, char *msg, size_t len)
{
	unsigned char hash[LZB_HASH_BYTES];
	struct stat st;
	int ret;

	if (stat(d->path, &st)) {
		snprintf(msg, len, "%s (%s at capture): %s", d->path, d->kind,
			 strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, len, "%s (%s at capture) is no longer a regular "
			 "file", d->path, d->kind);
		return 1;
	}
	if ((uint64_t)st.st_size != d->size) {
		snprintf(msg, len, "%s (%s at capture) changed size: %" PRIu64
			 " bytes at capture, %lld now", d->path, d->kind,
			 d->size, (long long)st.st_size);
		return 1;
	}
	if (st.st_mtim.tv_sec == d->mtime_sec &&
	    st.st_mtim.tv_nsec == d->mtime_nsec)
		return 0;
	ret = lzb_file_hash(d->path, hash);
	if (ret) {
		snprintf(msg, len, "%s (%s at capture): %s", d->path, d->kind,
			 strerror(-ret));
		return 1;
	}
	if (memcmp(hash, d->hash, sizeof(hash))) {
		snprintf(msg, len, "%s (%s at capture) has different content "
			 "(BLAKE2b-256 differs; mtime %lld, %lld at capture)",
			 d->path, d->kind, (long long)st.st_mtim.tv_sec,
			 (long long)d->mtime_sec);
		return 1;
	}
	return 0;
}
