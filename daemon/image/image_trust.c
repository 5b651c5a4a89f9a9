// SPDX-License-Identifier: LGPL-2.1-or-later
/* Image id, expiry and rollback checks on a verified manifest. */
#include "image/image_trust.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/file_util.h"

#define STATE_MAGIC "lazyboot-accepted v1"
#define STATE_MAX 256

void lzb_image_id_hex(const uint8_t id[16], char out[LZB_IMAGE_ID_HEX])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

int lzb_image_id_check(const char *hex, struct lzb_err *err)
{
	size_t n = strlen(hex);

	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)hex[i]))
			n = 0;
	if (n != 32)
		return lzb_errf(err, "image id '%.64s' is not 32 hex digits "
				"(lazyboot inspect shows an image's id)", hex);
	return 0;
}

const char *lzb_trust_state_dir(const struct lzb_trust_policy *p)
{
	const char *env = getenv(LZB_STATE_DIR_ENV);

	if (p->state_dir && *p->state_dir)
		return p->state_dir;
	return env && *env ? env : LZB_STATE_DIR;
}

static void state_name(char out[64], const uint8_t id[16])
{
	char hex[LZB_IMAGE_ID_HEX];

	lzb_image_id_hex(id, hex);
	snprintf(out, 64, "accepted-%s", hex);
}

/* The state directory, made (0700) if missing; an fd on it, or -1. */
static int open_state_dir(const char *dir, bool create, struct lzb_err *err)
{
	int fd;

	if (create && mkdir(dir, 0700) && errno != EEXIST)
		return lzb_errf(err, "state directory %s: %s", dir,
				strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && !(errno == ENOENT && !create))
		return lzb_errf(err, "state directory %s: %s", dir,
				strerror(errno));
	return fd < 0 ? -2 : fd;
}

static int read_state(int dfd, const char *dir, const char *name,
		      uint64_t *version, struct lzb_err *err)
{
	char buf[STATE_MAX + 1], tail;
	struct stat st;
	ssize_t n;
	int fd;

	*version = 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return lzb_errf(err, "%s/%s: %s", dir, name, strerror(errno));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return lzb_errf(err, "%s/%s: not a regular file", dir, name);
	}
	n = read(fd, buf, STATE_MAX);
	close(fd);
	if (n < 0)
		return lzb_errf(err, "%s/%s: %s", dir, name, strerror(errno));
	buf[n] = '\0';
	if (strncmp(buf, STATE_MAGIC "\nversion ", strlen(STATE_MAGIC) + 9) ||
	    sscanf(buf + strlen(STATE_MAGIC) + 9, "%" SCNu64 "%c", version,
		   &tail) != 2 || tail != '\n' || !*version)
		return lzb_errf(err, "%s/%s: not a lazyboot accepted-version "
				"file; remove it only if this node may take "
				"any version of the image again", dir, name);
	return 0;
}

int lzb_trust_recorded(const char *dir, const uint8_t id[16],
		       uint64_t *version, struct lzb_err *err)
{
	char name[64];
	int dfd, r;

	*version = 0;
	dfd = open_state_dir(dir, false, err);
	if (dfd == -2)
		return 0;
	if (dfd < 0)
		return -1;
	state_name(name, id);
	r = read_state(dfd, dir, name, version, err);
	close(dfd);
	return r;
}

static int check_id(const char *name, const struct lzb_manifest *m,
		    const char *want, struct lzb_err *err)
{
	char have[LZB_IMAGE_ID_HEX];

	if (!want)
		return 0;
	if (lzb_image_id_check(want, err))
		return -1;
	lzb_image_id_hex(m->image_id, have);
	if (strcasecmp(have, want))
		return lzb_errf(err, "%s: image id %s is not the expected %s "
				"(version %" PRIu64 " of another image)", name,
				have, want, m->version);
	return 0;
}

static int check_expiry(const char *name, const struct lzb_manifest *m,
			uint64_t now, struct lzb_err *err)
{
	char id[LZB_IMAGE_ID_HEX], when[32];
	time_t t = (time_t)m->valid_until;
	struct tm tm;

	if (!m->valid_until || now < m->valid_until)
		return 0;
	lzb_image_id_hex(m->image_id, id);
	if (!gmtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "%" PRIu64, m->valid_until);
	return lzb_errf(err, "%s: image version %" PRIu64 " of image id %s "
			"expired at %s (valid-until); pack and sign it again",
			name, m->version, id, when);
}

/* Check M under P; with RECORD, raise (or lower) the version on record. */
static int trust(const char *name, const struct lzb_manifest *m,
		 const struct lzb_trust_policy *p, bool record,
		 struct lzb_err *err)
{
	const char *dir = lzb_trust_state_dir(p);
	char id[LZB_IMAGE_ID_HEX], file[64], text[96];
	uint64_t have;
	int dfd, r = -1;

	if (check_id(name, m, p->image_id, err) ||
	    check_expiry(name, m, p->now, err))
		return -1;
	if (!p->keep_state)
		return 0;
	lzb_image_id_hex(m->image_id, id);
	state_name(file, m->image_id);
	dfd = open_state_dir(dir, record, err);
	if (dfd == -2)
		return 0;	/* only when checking: no state, no version yet */
	if (dfd < 0)
		return -1;
	if (read_state(dfd, dir, file, &have, err))
		goto out;
	if (m->version < have && !p->allow_downgrade) {
		lzb_errf(err, "%s: image version %" PRIu64 " is older than "
			 "version %" PRIu64 " already accepted for image id %s "
			 "(use --allow-downgrade)", name, m->version, have, id);
		goto out;
	}
	r = 0;
	if (record && m->version != have) {
		snprintf(text, sizeof(text), STATE_MAGIC "\nversion %" PRIu64
			 "\n", m->version);
		char path[4200];

		snprintf(path, sizeof(path), "%s/%s", dir, file);
		r = lzb_write_file(path, text, strlen(text), 0600, err);
	}
out:
	close(dfd);
	return r;
}

int lzb_trust_accept(const char *name, const struct lzb_manifest *m,
		     const struct lzb_trust_policy *p, struct lzb_err *err)
{
	return trust(name, m, p, true, err);
}

int lzb_trust_check(const char *name, const struct lzb_manifest *m,
		    const struct lzb_trust_policy *p, struct lzb_err *err)
{
	return trust(name, m, p, false, err);
}
