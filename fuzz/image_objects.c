// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the lazyboot image readers: manifest (and signature
 * check), index (full parse and the pread lookup a pager uses), chunk and
 * boot bundle envelopes (plain, and sealed under a fixed test key: 32
 * bytes of 0x42).  The first byte picks the reader.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/image_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t test_key[LZB_ENC_KEY_BYTES];

static void fuzz_index(const uint8_t *d, size_t n)
{
	struct lzb_index ix;
	struct lzb_err err;
	struct lzb_extent e;
	int fd;

	if (!lzb_index_parse("f", d, n, &ix, &err)) {
		for (uint32_t t = 0; t < ix.nr_tasks; t++) {
			struct lzb_index_task tk;

			lzb_index_task(&ix, t, &tk);
			for (uint64_t k = tk.first; k < tk.first + tk.count; k++)
				lzb_index_extent(&ix, k, &e);
		}
	}
	/* the pager's lookup must be safe even on an index that failed */
	fd = memfd_create("index", 0);
	if (fd < 0)
		return;
	if (write(fd, d, n) == (ssize_t)n) {
		uint64_t va = 0;

		if (n >= 8)
			memcpy(&va, d, 8);

		lzb_index_lookup_fd(fd, 1, va & ~4095ull, &e, &err);
		lzb_index_lookup_fd(fd, 7, 0x80000000, &e, &err);
		lzb_index_lookup_fd(fd, 1, 0x20000000, &e, &err);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzb_err err;
	const uint8_t *d = data + 1;
	size_t n = size - 1;

	if (!size)
		return 0;
	memset(test_key, 0x42, sizeof(test_key));
	switch (data[0] % 4) {
	case 0: {
		struct lzb_manifest m;
		uint8_t pk[LZB_SIGN_PUB_BYTES] = { 0 };

		if (!lzb_manifest_parse("f", d, n, &m, &err)) {
			lzb_manifest_check_sig("f", d, &m, pk, &err);
			lzb_manifest_free(&m);
		}
		break;
	}
	case 1:
		fuzz_index(d, n);
		break;
	case 2: {
		uint8_t *raw;
		size_t rl;

		if (!lzb_chunk_decode("f", d, n, NULL, &raw, &rl, &err))
			free(raw);
		if (!lzb_chunk_decode("f", d, n, test_key, &raw, &rl, &err))
			free(raw);
		break;
	}
	default: {
		struct lzb_bundle b;

		if (!lzb_bundle_decode("f", d, n, test_key, &b, &err)) {
			lzb_bundle_find(&b, "pstree.img");
			lzb_bundle_free(&b);
		}
	}
	}
	return 0;
}
