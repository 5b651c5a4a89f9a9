// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot inspect`: what is in an image, as a readable report. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "criu/criu_image.h"
#include "image/image_reader.h"

static const char usage[] =
	"usage: lazyboot inspect IMG [--encrypt-key FILE] [--vmas]\n"
	"\n"
	"Describe the lazyboot image in the directory IMG: its id, version,\n"
	"signer and encryption; each process (pid, parent, threads, VMAs and\n"
	"its pages: hot, cold, zero); page totals with how many cold pages were\n"
	"deduplicated; the number of chunks; and raw versus stored bytes with\n"
	"the compression ratio.  Objects read are checked against the\n"
	"manifest's hashes (use `lazyboot verify` for a full check).\n"
	"Process details come from the boot bundle; for an encrypted image they\n"
	"need --encrypt-key.\n"
	"\n"
	"options:\n"
	"  -E, --encrypt-key FILE  key for an encrypted image\n"
	"  -v, --vmas              also list every VMA of every process\n"
	"  -h, --help              this text\n"
	"\n"
	"exit status: 0 on success, 1 on an error, 2 on bad usage.\n";

static const char *mib(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1ull << 20)
		snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
	else if (bytes >= 10ull << 10)
		snprintf(buf, len, "%.1f KiB", bytes / 1024.0);
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

static void print_vmas(const struct lzb_criu_mm *mm)
{
	for (size_t v = 0; v < mm->nr_vmas; v++) {
		const struct lzb_criu_vma *a = &mm->vmas[v];

		printf("      %012" PRIx64 "-%012" PRIx64 " %c%c%c %8" PRIu64
		       " KiB  %-13s %s\n", a->start, a->end,
		       a->prot & 1 ? 'r' : '-', a->prot & 2 ? 'w' : '-',
		       a->prot & 4 ? 'x' : '-', (a->end - a->start) >> 10,
		       a->flags & 0x20 ? (a->flags & 0x1 ? "anon shared" :
				"anon private") : (a->flags & 0x1 ?
				"file shared" : "file private"),
		       lzb_criu_vma_can_be_lazy(a) ? "lazy" : "eager");
	}
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "encrypt-key", required_argument, NULL, 'E' },
		{ "vmas", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *enc = NULL;
	bool vmas = false, have_bundle;
	struct lzb_image img;
	struct lzb_err err, berr;
	struct lzb_criu_pstree ps = { 0 };
	const struct lzb_index_stats *st;
	uint64_t stored, cold_raw;
	char idhex[33], signer[17], b1[32], b2[32], when[64];
	time_t created;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "E:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'E': enc = optarg; break;
		case 'v': vmas = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (lzb_image_open(&img, argv[optind], NULL, &err) ||
	    (enc && lzb_image_set_key(&img, enc, &err)) ||
	    lzb_image_load_index(&img, &err)) {
		fprintf(stderr, "lazyboot inspect: %s\n", err.msg);
		lzb_image_close(&img);
		return 1;
	}
	have_bundle = !lzb_image_load_bundle(&img, &berr);
	if (have_bundle) {
		const struct lzb_bundle_file *f =
			lzb_bundle_find(&img.bundle, "pstree.img");

		if (!f || lzb_criu_parse_pstree("pstree.img (bundle)", f->data,
						(size_t)f->size, &ps, &berr)) {
			if (!f)
				snprintf(berr.msg, sizeof(berr.msg),
					 "boot bundle has no pstree.img");
			have_bundle = false;
		}
	}

	for (int i = 0; i < 16; i++)
		snprintf(idhex + 2 * i, 3, "%02x", img.m.image_id[i]);
	for (int i = 0; i < 8; i++)
		snprintf(signer + 2 * i, 3, "%02x", img.m.signer[i]);
	created = (time_t)img.m.created;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&created));
	st = &img.ix.st;
	printf("image %s\n", img.dir);
	printf("  id %s, version %" PRIu64 ", packed %s\n", idhex, img.m.version,
	       when);
	if (img.m.valid_until) {
		time_t vu = (time_t)img.m.valid_until;
		char until[64];

		strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC",
			 gmtime(&vu));
		printf("  valid until %s%s\n", until,
		       (time_t)img.m.valid_until <= time(NULL) ?
		       " (expired)" : "");
	}
	printf("  signed: %s", img.m.flags & LZB_MF_SIGNED ? "yes, key id " : "no");
	printf("%s\n", img.m.flags & LZB_MF_SIGNED ? signer : "");
	printf("  encrypted: %s\n", img.m.flags & LZB_MF_ENCRYPTED ?
	       "yes (XChaCha20-Poly1305)" : "no");
	printf("  chunk size %u KiB, zstd level %u\n", img.m.chunk_size >> 10,
	       img.m.zstd_level);

	printf("\nprocesses: %u with memory\n", img.ix.nr_tasks);
	if (!have_bundle)
		printf("  (process details unavailable: %s)\n", berr.msg);
	printf("  %7s %7s %7s %5s %10s %10s %10s\n", "pid", "ppid", "threads",
	       "vmas", "hot", "cold", "zero");
	for (uint32_t i = 0; i < img.ix.nr_tasks; i++) {
		struct lzb_index_task t;
		uint64_t n[3] = { 0 };
		const struct lzb_criu_pstree_entry *pe = NULL;
		struct lzb_criu_mm mm = { 0 };
		bool have_mm = false;

		lzb_index_task(&img.ix, i, &t);
		for (uint64_t k = t.first; k < t.first + t.count; k++) {
			struct lzb_extent x;

			lzb_index_extent(&img.ix, k, &x);
			n[x.kind] += x.nr_pages;
		}
		for (size_t p = 0; have_bundle && p < ps.nr; p++)
			if (ps.e[p].pid == t.pid)
				pe = &ps.e[p];
		if (have_bundle) {
			char name[64];
			const struct lzb_bundle_file *f;

			snprintf(name, sizeof(name), "mm-%u.img", t.pid);
			f = lzb_bundle_find(&img.bundle, name);
			have_mm = f && !lzb_criu_parse_mm(name, f->data,
							  (size_t)f->size, &mm, &err);
		}
		printf("  %7u ", t.pid);
		if (pe)
			printf("%7u %7u ", pe->ppid, pe->nr_threads);
		else
			printf("%7s %7s ", "?", "?");
		if (have_mm)
			printf("%5zu ", mm.nr_vmas);
		else
			printf("%5s ", "?");
		printf("%10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
		       n[LZB_EXT_HOT], n[LZB_EXT_COLD], n[LZB_EXT_ZERO]);
		if (vmas && have_mm)
			print_vmas(&mm);
		lzb_criu_mm_free(&mm);
	}

	printf("\npages: %" PRIu64 " (%s)\n", st->pages_total,
	       mib(st->raw_bytes, b1, sizeof(b1)));
	printf("  hot   %10" PRIu64 "  eager, in the boot bundle\n",
	       st->pages_hot);
	printf("  cold  %10" PRIu64 "  lazy: %" PRIu64 " stored in chunks, %"
	       PRIu64 " deduplicated\n", st->pages_cold, st->pages_stored,
	       st->pages_dedup);
	printf("  zero  %10" PRIu64 "  lazy, never stored\n", st->pages_zero);

	stored = img.m.objects[LZB_SLOT_BUNDLE].size +
		 img.m.objects[LZB_SLOT_INDEX].size +
		 st->chunk_bytes + img.mf_len;
	cold_raw = st->pages_stored * LZB_PAGE_SIZE;
	printf("\nobjects: %u chunks (%s), boot bundle %s, index %" PRIu64
	       " bytes, manifest %zu bytes\n", img.ix.nr_chunks,
	       mib(st->chunk_bytes, b1, sizeof(b1)),
	       mib(img.m.objects[LZB_SLOT_BUNDLE].size, b2, sizeof(b2)),
	       img.m.objects[LZB_SLOT_INDEX].size, img.mf_len);
	if (img.ix.nr_chunks)
		printf("  chunks: %.1f KiB stored on average\n",
		       st->chunk_bytes / 1024.0 / img.ix.nr_chunks);
	printf("  cold pages: %s raw in chunks -> %s stored (ratio %.2f)\n",
	       mib(cold_raw, b1, sizeof(b1)), mib(st->chunk_bytes, b2, sizeof(b2)),
	       st->chunk_bytes ? (double)cold_raw / st->chunk_bytes : 0.0);
	printf("  whole image: %s of pages -> %s stored (ratio %.2f)\n",
	       mib(st->raw_bytes, b1, sizeof(b1)), mib(stored, b2, sizeof(b2)),
	       stored ? (double)st->raw_bytes / stored : 0.0);
	lzb_criu_pstree_free(&ps);
	lzb_image_close(&img);
	return 0;
}
