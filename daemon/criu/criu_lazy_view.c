// SPDX-License-Identifier: LGPL-2.1-or-later
/* A CRIU dump with recomputed PE_LAZY flags (criu_lazy_view.h). */
#include "criu/criu_lazy_view.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file_util.h"

/* Whether NAME is the pagemap of one of DUMP's tasks (rewritten, not linked). */
static bool task_pagemap(const struct lzb_criu_dump *dump, const char *name)
{
	for (size_t i = 0; i < dump->nr_tasks; i++)
		if (dump->tasks[i].has_memory &&
		    !strcmp(dump->tasks[i].pagemap_name, name))
			return true;
	return false;
}

/* Symlink every regular file of the dump but the tasks' pagemaps. */
static int link_files(const struct lzb_criu_dump *dump, const char *view_dir,
		      struct lzb_err *err)
{
	const char *dump_dir = dump->dir;
	char from[4200], to[4200];
	struct dirent *de;
	DIR *d = opendir(dump_dir);

	if (!d)
		return lzb_errf(err, "%s: %s", dump_dir, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || task_pagemap(dump, de->d_name) ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		if (lzb_path(from, sizeof(from), dump_dir, de->d_name) ||
		    lzb_path(to, sizeof(to), view_dir, de->d_name)) {
			closedir(d);
			return lzb_errf(err, "%s: path too long", view_dir);
		}
		if ((unlink(to) && errno != ENOENT) || symlink(from, to)) {
			lzb_errf(err, "%s: %s", to, strerror(errno));
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static int write_pagemap(struct lzb_criu_task *t, const char *view_dir,
			 struct lzb_err *err)
{
	struct lzb_criu_pagemap pm;
	char path[4200];
	uint8_t *buf;
	size_t len;
	int r;

	if (lzb_path(path, sizeof(path), view_dir, t->pagemap_name))
		return lzb_errf(err, "%s: path too long", view_dir);
	if (lzb_criu_task_lazy_pagemap(t, &pm))
		return lzb_errf(err, "%s: out of memory", t->pagemap_name);
	if (lzb_criu_encode_pagemap(&pm, &buf, &len)) {
		lzb_criu_pagemap_free(&pm);
		return lzb_errf(err, "%s: cannot encode", t->pagemap_name);
	}
	r = lzb_write_file_nosync(path, buf, len, 0644, err);
	free(buf);
	if (r) {
		lzb_criu_pagemap_free(&pm);
		return -1;
	}
	lzb_criu_pagemap_free(&t->pm);
	t->pm = pm;
	return 0;
}

int lzb_criu_lazy_view(struct lzb_criu_dump *dump, const char *view_dir,
		       struct lzb_err *err)
{
	if (lzb_mkdir(view_dir, err) || link_files(dump, view_dir, err))
		return -1;
	for (size_t i = 0; i < dump->nr_tasks; i++)
		if (dump->tasks[i].has_memory &&
		    write_pagemap(&dump->tasks[i], view_dir, err))
			return -1;
	return 0;
}
