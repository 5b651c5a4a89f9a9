/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the image source (image_source.c: chunks fetched one by one) and
 * its stream (image_stream.c: the cold chunks in one long transfer)
 * share.  Nothing outside these two files includes it.
 */
#ifndef LAZYBOOT_IMAGE_SOURCE_INTERNAL_H
#define LAZYBOOT_IMAGE_SOURCE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pager/image_source.h"
#include "pager/stream_gate.h"

/* A fetch of one chunk may take this long, every try and mirror included. */
#define CHUNK_DEADLINE_MS 120000

enum chunk_state { CHUNK_IDLE, CHUNK_FETCHING };

struct chunk {
	enum chunk_state state;
	bool urgent;
	bool holding;		/* counted in urgent_running */
	bool fallback;		/* a background fetch of the source's own */
	struct lzb_fetch *fetch;
	uint8_t *buf;		/* the stored bytes, as a mirror sent them */
	uint8_t *raw;		/* decoded by chunk_check, to install */
	uint32_t first;		/* runs[first .. first + count) */
	uint32_t count;
};

struct chunk_fetch {
	struct lzb_image_source *src;
	uint32_t c;
};

struct lzb_stream;

struct lzb_image_source {
	struct lzb_image *img;
	struct lzb_fetcher *fetcher;
	struct lzb_mirrors *mirrors;
	struct lzb_engine *engine;
	struct chunk *chunks;
	struct lzb_chunk_run *runs;
	char error[sizeof(((struct lzb_err *)0)->msg)];
	struct lzb_image_source_stats stats;
	/* Streaming by the source itself (lzb_image_source_pump) */
	struct lzb_fetcher *stream_fetcher; /* the stream's; NULL: none */
	int ready_fd;			/* the stream's worker: one is ready */
	int pump_fd;			/* epoll: ready_fd, stream_fetcher's */
	bool stream_fd_watched;		/* stream_fetcher's fd in pump_fd */
	bool pump_started;
	struct lzb_stream_gate gate;	/* the stream waits for the faults */
	struct lzb_stream *stream;	/* NULL once it ended or failed */
	unsigned int urgent_running;	/* chunk fetches for a fault */
	bool hold_for_faults;		/* the stream held while any runs */
	unsigned int max_background;	/* own background fetches */
	unsigned int bg_running;
	uint32_t next_fallback;		/* chunks below it were looked at */
};

int lzb_source_fetch_chunk(struct lzb_image_source *src, uint32_t c,
			   bool urgent);
/*
 * Chunk C's pages, checked and decoded (RAW), installed wherever they
 * belong.  0, or a negative errno when installing failed (the engine
 * stopped).
 */
int lzb_source_install_chunk(struct lzb_image_source *src, uint32_t c,
			     const uint8_t *raw);
/* Some page of chunk C is still lazy in a live task. */
bool lzb_source_chunk_wanted(const struct lzb_image_source *src, uint32_t c);

/*
 * The stream of SRC's image, started, its worker telling READY_FD (an
 * eventfd) of each chunk it finished; NULL when there is none to try.
 */
struct lzb_stream *lzb_stream_start(struct lzb_image_source *src,
				    int ready_fd);
void lzb_stream_free(struct lzb_stream *st);
/*
 * Install at most one chunk the stream brought.  Returns LZB_PUMP_MORE
 * when another is ready, or a negative errno; *full when enough waits
 * that its fetcher should not be read now; *ended when the stream is
 * over (done, or failed: what it did not bring is the fallback's).
 */
int lzb_stream_pump(struct lzb_stream *st, bool *full, bool *ended);

#endif
