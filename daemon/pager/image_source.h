/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pager's page source over a lazyboot image served by mirrors: the
 * engine asks for pages of a dump-time task and address, this finds the
 * cold chunk that holds them in the index, fetches it (at fault priority
 * when a thread waits, else as background), checks it against the signed
 * manifest, decrypts and decompresses it, and installs every page of it
 * into every task whose memory it holds (chunks are deduplicated).
 */
#ifndef LAZYBOOT_IMAGE_SOURCE_H
#define LAZYBOOT_IMAGE_SOURCE_H

#include <stdint.h>

#include "fetch/fetch.h"
#include "image/image_reader.h"
#include "engine/uffd_engine.h"

struct lzb_image_source;

struct lzb_image_source_stats {
	uint64_t chunks_fetched;	/* verified and installed */
	uint64_t chunks_urgent;		/* fetched for a fault */
	uint64_t bytes_fetched;		/* stored (compressed) bytes */
	uint64_t bytes_urgent;		/* of them, chunks fetched for a fault */
	uint64_t pages_delivered;
	uint64_t chunks_refused;	/* a mirror's bytes failed the check */
	uint64_t chunks_streamed;	/* of chunks_fetched, from the stream */
	uint64_t bytes_streamed;	/* of bytes_fetched, the stream's */
	bool stream_used;		/* the image's stream was read */
	bool stream_failed;		/* ... and ended early (fallback) */
};

/* IMG must have its index loaded; F and M outlive the source. */
int lzb_image_source_new(struct lzb_image *img, struct lzb_fetcher *f,
			 struct lzb_mirrors *m, struct lzb_image_source **src,
			 struct lzb_err *err);
void lzb_image_source_free(struct lzb_image_source *src);

/* The engine's page source (ctx = the image source). */
int lzb_image_source_request(void *ctx, struct lzb_engine *engine,
			     int img_pid, uint64_t img_addr, uint64_t len,
			     bool urgent);

/*
 * Stream the background from the source itself (the engine's page source
 * .pump is lzb_image_source_pump): with STREAM_FETCHER, a fetcher of its
 * own, the image's stream (image_stream.c: the cold chunks in one long
 * transfer, each chunk checked as it completes), and what it does not
 * bring chunk by chunk on the source's fetcher, MAX_BACKGROUND at a time
 * (0: 4).  Without a call the engine streams, asking for chunks one by
 * one.  STREAM_FETCHER must outlive the source.
 */
void lzb_image_source_set_streaming(struct lzb_image_source *src,
				    struct lzb_fetcher *stream_fetcher,
				    unsigned int max_background,
				    bool hold_for_faults);

/* The nice value of the stream's worker thread and sandboxed fetcher:
 * the background yields the CPU to the restored app. */
#define LZB_STREAM_NICE 10
/* The page source's pump and the fd it wants polled (ctx = the source). */
int lzb_image_source_pump(void *ctx, struct lzb_engine *engine);
int lzb_image_source_pump_fd(void *ctx);

/* Declare every task of the image to the engine with its cold memory. */
int lzb_image_source_add_tasks(struct lzb_image_source *src,
			       struct lzb_engine *engine);

/* Where one run of a chunk's pages belongs. */
struct lzb_chunk_run {
	uint32_t pid;		/* the task's, in the image */
	uint64_t vaddr;
	uint32_t nr_pages;
	uint32_t offset;	/* page in the chunk */
};

/*
 * Where chunk C's pages are installed, from the index: *N runs (none for
 * a chunk no extent names, or C out of range).
 */
const struct lzb_chunk_run *
lzb_image_source_runs(const struct lzb_image_source *src, uint32_t c,
		      uint32_t *n);

/* The first error a chunk met (a one-line message), or NULL. */
const char *lzb_image_source_error(const struct lzb_image_source *src);

void lzb_image_source_get_stats(const struct lzb_image_source *src,
				struct lzb_image_source_stats *stats);

#endif
