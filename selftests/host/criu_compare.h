/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cross-checking the CRIU image reader against `crit decode`: both views
 * of an image file printed as the same normalised lines.
 */
#ifndef LAZYBOOT_CRIU_COMPARE_H
#define LAZYBOOT_CRIU_COMPARE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/criu_image.h"
#include "image_test_util.h"

/* crit decode, normalised to the lines describe() prints. */
static const char normalise_py[] =
	"import json,sys\n"
	"d=json.load(sys.stdin);m=d['magic'];e=d['entries']\n"
	"if m=='PAGEMAP':\n"
	" print('head %d'%e[0]['pages_id'])\n"
	" for x in e[1:]:\n"
	"  f=x.get('flags',1 if x.get('in_parent') else 4)\n"
	"  print('%x %d %d'%(x['vaddr'],x['nr_pages'],f))\n"
	"elif m=='MM':\n"
	" for v in e[0]['vmas']:\n"
	"  print('vma %x %x %x %x %d %d %d %d'%(v['start'],v['end'],v['pgoff'],"
	"v['shmid'],v['prot'],v['flags'],v['status'],v['fd']))\n"
	"elif m=='PSTREE':\n"
	" for t in e:\n"
	"  print('task %d %d %d %d %s'%(t['pid'],t['ppid'],t['pgid'],t['sid'],"
	"','.join(str(x) for x in t.get('threads',[]))))\n"
	"elif m=='CORE':\n"
	" sp=e[0]['thread_info']['gpregs']['sp']\n"
	" print('sp %x'%(int(sp,16) if isinstance(sp,str) else sp))\n"
	"elif m=='INVENTORY':\n"
	" print('inv %d'%e[0]['img_version'])\n";

static inline char *crit_lines(const char *path)
{
	char cmd[8192], *out = NULL, py_path[64];
	size_t len = 0;
	FILE *py, *p;

	snprintf(py_path, sizeof(py_path), "/tmp/lzb-normalise-%d.py",
		 (int)getpid());

	py = fopen(py_path, "w");
	if (!py)
		return NULL;
	fputs(normalise_py, py);
	fclose(py);
	snprintf(cmd, sizeof(cmd),
		 "crit decode -i '%s' | python3 %s", path, py_path);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	{
		FILE *m = open_memstream(&out, &len);
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), p)))
			fwrite(buf, 1, n, m);
		fclose(m);
	}
	if (pclose(p) | unlink(py_path)) {
		free(out);
		return NULL;
	}
	return out;
}

/* Our parser's view, in the same format. */
static inline char *our_lines(const char *path, uint32_t magic)
{
	struct lzb_err err;
	uint8_t *buf;
	size_t len, olen = 0;
	char *out = NULL;
	FILE *m;
	int r = -1;

	if (read_all(path, &buf, &len))
		return NULL;
	m = open_memstream(&out, &olen);
	if (magic == CRIU_MAGIC_PAGEMAP) {
		struct lzb_criu_pagemap pm;

		r = lzb_criu_parse_pagemap(path, buf, len, &pm, &err);
		if (!r) {
			fprintf(m, "head %u\n", pm.pages_id);
			for (size_t i = 0; i < pm.nr; i++)
				fprintf(m, "%llx %llu %u\n",
					(unsigned long long)pm.e[i].vaddr,
					(unsigned long long)pm.e[i].nr_pages,
					pm.e[i].flags);
			lzb_criu_pagemap_free(&pm);
		}
	} else if (magic == CRIU_MAGIC_MM) {
		struct lzb_criu_mm mm;

		r = lzb_criu_parse_mm(path, buf, len, &mm, &err);
		for (size_t i = 0; !r && i < mm.nr_vmas; i++) {
			const struct lzb_criu_vma *v = &mm.vmas[i];

			fprintf(m, "vma %llx %llx %llx %llx %u %u %u %d\n",
				(unsigned long long)v->start,
				(unsigned long long)v->end,
				(unsigned long long)v->pgoff,
				(unsigned long long)v->shmid, v->prot, v->flags,
				v->status, v->fd);
		}
		if (!r)
			lzb_criu_mm_free(&mm);
	} else if (magic == CRIU_MAGIC_PSTREE) {
		struct lzb_criu_pstree ps;

		r = lzb_criu_parse_pstree(path, buf, len, &ps, &err);
		for (size_t i = 0; !r && i < ps.nr; i++) {
			fprintf(m, "task %u %u %u %u ", ps.e[i].pid, ps.e[i].ppid,
				ps.e[i].pgid, ps.e[i].sid);
			for (uint32_t t = 0; t < ps.e[i].nr_threads; t++)
				fprintf(m, "%s%u", t ? "," : "", ps.e[i].threads[t]);
			fprintf(m, "\n");
		}
		if (!r)
			lzb_criu_pstree_free(&ps);
	} else if (magic == CRIU_MAGIC_CORE) {
		uint64_t sp;

		r = lzb_criu_parse_core_sp(path, buf, len, &sp, &err);
		if (!r)
			fprintf(m, "sp %llx\n", (unsigned long long)sp);
	} else {
		struct lzb_criu_inventory inv;

		r = lzb_criu_parse_inventory(path, buf, len, &inv, &err);
		if (!r)
			fprintf(m, "inv %u\n", inv.img_version);
	}
	fclose(m);
	free(buf);
	if (r) {
		fprintf(stderr, "# parse failed: %s\n", err.msg);
		free(out);
		return NULL;
	}
	return out;
}

/* The magic a CRIU image file name implies, or 0 for others. */
static inline uint32_t magic_for(const char *name)
{
	if (!strncmp(name, "pagemap-", 8) && strncmp(name, "pagemap-shmem", 13))
		return CRIU_MAGIC_PAGEMAP;
	if (!strncmp(name, "mm-", 3))
		return CRIU_MAGIC_MM;
	if (!strcmp(name, "pstree.img"))
		return CRIU_MAGIC_PSTREE;
	if (!strcmp(name, "inventory.img"))
		return CRIU_MAGIC_INVENTORY;
	return 0;
}

#endif
