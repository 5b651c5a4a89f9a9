// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/restore_record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_util.h"
#include "engine/uffd_engine.h"

#define RECORD_MAGIC "lazyboot-pager-record 1"

static int put_line(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * One write(2) per line: a reader sees whole lines only.  0, or -errno
 * (-ENOSPC for a short write: the file system is full).
 */
static int put_line(int fd, const char *fmt, ...)
{
	char line[4400];
	va_list ap;
	ssize_t w;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		return -ENAMETOOLONG;
	line[n++] = '\n';
	do
		w = write(fd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return w == n ? 0 : -ENOSPC;
}

static int open_in(const char *workdir, const char *name, int flags,
		   struct lzb_err *err)
{
	char path[4200];
	int fd;

	if (lzb_path(path, sizeof(path), workdir, name))
		return lzb_errf(err, "%s/%s: path too long", workdir, name);
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	return fd;
}

/* WORKDIR/NAME, new (mode 0600) through lzb_out: the caller commits. */
static int create_in(const char *workdir, const char *name,
		     struct lzb_out_file *out, struct lzb_err *err)
{
	char path[4200];

	if (lzb_path(path, sizeof(path), workdir, name))
		return lzb_errf(err, "%s/%s: path too long", workdir, name);
	return lzb_out_open(out, path, 0600, err);
}

/*
 * WORKDIR's journal, empty.  Made in place, not renamed over: an empty file
 * has no contents to make atomic, and whatever the path is (a bind mount on
 * a full file system, in the VM test) is where the lines then go.  It must
 * be a regular file of ours with no other name, so a planted link or FIFO
 * is refused instead of truncated or blocked on.  The record's commit,
 * which follows, syncs the directory.
 */
static int new_journal(const char *workdir, struct lzb_err *err)
{
	struct stat st;
	const char *why = NULL;
	int fd, e;

	fd = open_in(workdir, LZB_JOURNAL_NAME, O_WRONLY | O_CREAT |
		     O_NONBLOCK, err);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st))
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_nlink != 1)
		why = "has another name (a hard link)";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	else if (fchmod(fd, 0600) || ftruncate(fd, 0))
		why = strerror(errno);
	e = close(fd) && !why ? errno : 0;
	if (e)
		why = strerror(e);
	if (why)
		return lzb_errf(err, "%s/%s: %s", workdir, LZB_JOURNAL_NAME,
				why);
	return 0;
}

int lzb_record_create(const char *workdir, const struct lzb_record_settings *s,
		      struct lzb_err *err)
{
	struct lzb_out_file rec;
	char path[4200];
	int fd, ret;

	/* A new restore: any mark of an old one's failed journal goes. */
	if (!lzb_path(path, sizeof(path), workdir, LZB_RECORD_UNRESUMABLE_NAME))
		unlink(path);
	if (new_journal(workdir, err) ||
	    create_in(workdir, LZB_RECORD_NAME, &rec, err))
		return -1;
	fd = rec.fd;
	ret = put_line(fd, RECORD_MAGIC);
	for (size_t i = 0; !ret && i < s->nr_mirrors &&
	     i < LZB_RECORD_MAX_MIRRORS; i++)
		ret = put_line(fd, "mirror %s", s->mirrors[i]);
	if (!ret && s->pubkey) {
		char *abs = realpath(s->pubkey, NULL);

		ret = put_line(fd, "pubkey %s", abs ? abs : s->pubkey);
		free(abs);
	}
	if (!ret && s->encrypt_key) {
		char *abs = realpath(s->encrypt_key, NULL);

		ret = put_line(fd, "encrypt-key %s", abs ? abs : s->encrypt_key);
		free(abs);
	}
	if (!ret && s->allow_unsigned)
		ret = put_line(fd, "allow-unsigned");
	if (!ret)
		ret = put_line(fd, "max-background %u", s->max_background);
	if (!ret)
		ret = put_line(fd, "tftp-blksize %u", s->tftp_blksize);
	if (!ret)
		ret = put_line(fd, "deadline-ms %u", s->deadline_ms);
	if (!ret)
		ret = put_line(fd, "keeper %s", s->keeper);
	if (!ret && s->id && s->id[0])
		ret = put_line(fd, "id %s", s->id);
	if (ret) {
		lzb_out_abort(&rec);
		return lzb_errf(err, "%s/%s: cannot write: %s", workdir,
				LZB_RECORD_NAME, strerror(-ret));
	}
	return lzb_out_commit(&rec, true, err);
}

int lzb_record_new_id(char id[LZB_RECORD_ID_LEN + 1])
{
	unsigned char raw[LZB_RECORD_ID_LEN / 2];
	ssize_t n;

	do
		n = getrandom(raw, sizeof(raw), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(raw))
		return n < 0 ? -errno : -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

int lzb_record_open(const char *workdir, int *record_fd, int *journal_fd,
		    struct lzb_err *err)
{
	*record_fd = open_in(workdir, LZB_RECORD_NAME, O_WRONLY | O_APPEND, err);
	if (*record_fd < 0)
		return -1;
	*journal_fd = open_in(workdir, LZB_JOURNAL_NAME, O_WRONLY | O_APPEND,
			      err);
	if (*journal_fd < 0) {
		close(*record_fd);
		*record_fd = -1;
		return -1;
	}
	return 0;
}

int lzb_record_set_manifest(int fd, const char *hash_hex)
{
	return put_line(fd, "manifest %s", hash_hex);
}

int lzb_record_add_task(int fd, int img_pid, int pid, uint32_t session,
			uint64_t start)
{
	return put_line(fd, "task %d %d %u %" PRIu64, img_pid, pid, session,
			start);
}

int lzb_journal_add(int fd, int img_pid, const struct uffd_msg *msg)
{
	switch (msg->event) {
	case UFFD_EVENT_REMAP:
		return put_line(fd, "remap %d 0x%llx 0x%llx 0x%llx", img_pid,
				(unsigned long long)msg->arg.remap.from,
				(unsigned long long)msg->arg.remap.to,
				(unsigned long long)msg->arg.remap.len);
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		return put_line(fd, "%s %d 0x%llx 0x%llx",
				msg->event == UFFD_EVENT_REMOVE ? "remove" :
				"unmap", img_pid,
				(unsigned long long)msg->arg.remove.start,
				(unsigned long long)msg->arg.remove.end);
	}
	return 0;
}

int lzb_record_unresumable(const char *workdir)
{
	char from[4200], to[4200];

	if (lzb_path(from, sizeof(from), workdir, LZB_RECORD_NAME) ||
	    lzb_path(to, sizeof(to), workdir, LZB_RECORD_UNRESUMABLE_NAME))
		return -ENAMETOOLONG;
	/* A rename needs no block of a full file system; else unlink. */
	if (!rename(from, to) || errno == ENOENT)
		return 0;
	return unlink(from) && errno != ENOENT ? -errno : 0;
}

static char *value_of(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || line[n] != ' ' || !line[n + 1])
		return NULL;
	return strdup(line + n + 1);
}

static int parse_line(struct lzb_record *rec, const char *line)
{
	struct lzb_record_task *t;
	char *v;

	if (rec->nr_mirrors < LZB_RECORD_MAX_MIRRORS &&
	    (v = value_of(line, "mirror"))) {
		rec->mirrors[rec->nr_mirrors++] = v;
	} else if (!rec->pubkey && (v = value_of(line, "pubkey"))) {
		rec->pubkey = v;
	} else if (!rec->encrypt_key && (v = value_of(line, "encrypt-key"))) {
		rec->encrypt_key = v;
	} else if (!strcmp(line, "allow-unsigned")) {
		rec->allow_unsigned = true;
	} else if (sscanf(line, "max-background %u", &rec->max_background) == 1 ||
		   sscanf(line, "tftp-blksize %u", &rec->tftp_blksize) == 1 ||
		   sscanf(line, "deadline-ms %" SCNu32, &rec->deadline_ms) == 1 ||
		   sscanf(line, "keeper %15s", rec->keeper) == 1 ||
		   (!rec->id[0] &&
		    sscanf(line, "id %16[0-9a-f]", rec->id) == 1) ||
		   (!rec->manifest[0] &&
		    sscanf(line, "manifest %64[0-9a-f]", rec->manifest) == 1)) {
		return 0;
	} else if (!strncmp(line, "task ", 5)) {
		if (rec->nr_tasks == LZB_TASK_LIMIT)
			return -1;	/* never on a record this pager wrote */
		t = &rec->tasks[rec->nr_tasks];
		t->start = 0;	/* not on records of older pagers */
		if (sscanf(line, "task %d %d %" SCNu32 " %" SCNu64,
			   &t->img_pid, &t->pid, &t->session, &t->start) < 3)
			return -1;
		rec->nr_tasks++;
	} else {
		return -1;
	}
	return 0;
}

/* Call fn on each line of WORKDIR/NAME (a trailing partial line is not). */
static int each_line(const char *workdir, const char *name,
		     int (*fn)(void *, const char *, unsigned int), void *arg,
		     struct lzb_err *err)
{
	char path[4200];
	uint8_t *data;
	size_t len;
	unsigned int no = 0;
	char *line, *nl;
	int ret = 0;

	if (lzb_path(path, sizeof(path), workdir, name))
		return lzb_errf(err, "%s/%s: path too long", workdir, name);
	if (lzb_read_file(path, 64 << 20, &data, &len, err))
		return -1;
	for (line = (char *)data; !ret && (size_t)(line - (char *)data) < len;
	     line = nl + 1) {
		nl = memchr(line, '\n', len - (size_t)(line - (char *)data));
		if (!nl)
			break;
		*nl = '\0';
		ret = fn(arg, line, ++no);
		if (ret < 0)
			lzb_errf(err, "%s:%u: cannot use \"%.80s\"", path, no,
				 line);
	}
	free(data);
	return ret < 0 ? -1 : 0;
}

static int record_line(void *arg, const char *line, unsigned int no)
{
	struct lzb_record *rec = arg;

	if (no == 1)
		return strcmp(line, RECORD_MAGIC) ? -1 : 0;
	return parse_line(rec, line);
}

int lzb_record_load(const char *workdir, struct lzb_record *rec,
		    struct lzb_err *err)
{
	char path[4200];

	memset(rec, 0, sizeof(*rec));
	if (!lzb_path(path, sizeof(path), workdir,
		      LZB_RECORD_UNRESUMABLE_NAME) && !access(path, F_OK))
		return lzb_errf(err, "%s: this restore cannot be resumed: its "
				"pager could not write its journal or record "
				"(%s), so a successor would install stale image "
				"bytes; the keeper kills its tasks at the "
				"deadline", workdir, LZB_RECORD_UNRESUMABLE_NAME);
	if (each_line(workdir, LZB_RECORD_NAME, record_line, rec, err)) {
		lzb_record_free(rec);
		return -1;
	}
	if (!rec->nr_mirrors || !rec->keeper[0]) {
		lzb_record_free(rec);
		return lzb_errf(err, "%s/%s: no image or keeper on record (not "
				"a restore's workdir?)", workdir,
				LZB_RECORD_NAME);
	}
	return 0;
}

void lzb_record_free(struct lzb_record *rec)
{
	for (unsigned int i = 0; i < rec->nr_mirrors; i++)
		free(rec->mirrors[i]);
	free(rec->pubkey);
	free(rec->encrypt_key);
	memset(rec, 0, sizeof(*rec));
}

struct replay {
	struct lzb_engine *engine;
	int count;
};

static int journal_line(void *arg, const char *line, unsigned int no)
{
	struct replay *r = arg;
	struct uffd_msg msg = { 0 };
	unsigned long long a, b, c;
	char kind[8];
	int img_pid, n, err;

	(void)no;
	n = sscanf(line, "%7s %d %llx %llx %llx", kind, &img_pid, &a, &b, &c);
	/* What the kernel reports never wraps or ends before it starts:
	 * such a line is damage, and replaying it would corrupt the
	 * task's lazy memory. */
	if (n == 5 && !strcmp(kind, "remap") && a + c >= a && b + c >= b) {
		msg.event = UFFD_EVENT_REMAP;
		msg.arg.remap.from = a;
		msg.arg.remap.to = b;
		msg.arg.remap.len = c;
	} else if (n == 4 && a <= b && (!strcmp(kind, "remove") ||
					 !strcmp(kind, "unmap"))) {
		msg.event = kind[0] == 'r' ? UFFD_EVENT_REMOVE : UFFD_EVENT_UNMAP;
		msg.arg.remove.start = a;
		msg.arg.remove.end = b;
	} else {
		return -1;
	}
	err = lzb_engine_replay(r->engine, img_pid, &msg);
	/* A task that is gone has nothing left to replay onto. */
	if (err && err != -ESRCH)
		return -1;
	r->count++;
	return 0;
}

int lzb_journal_replay(const char *workdir, struct lzb_engine *engine,
		       struct lzb_err *err)
{
	struct replay r = { .engine = engine };

	if (each_line(workdir, LZB_JOURNAL_NAME, journal_line, &r, err))
		return -1;
	return r.count;
}
