/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The options of a restore, as `lazyboot restore` and `lazybootd restore`
 * both take them: URL [MIRROR...] [options] [-- CRIU-RESTORE-OPTION...].
 */
#ifndef LAZYBOOT_RESTORE_ARGS_H
#define LAZYBOOT_RESTORE_ARGS_H

#include "pager/restore.h"

/*
 * Fill o from argv (prog names the command in messages).  What o holds
 * already (lazybootd's config file) stays unless argv gives it again;
 * URLs in argv replace o's mirrors, and without o's mirrors a URL is
 * required.  An empty --pubkey or --ready counts as not given.  Returns 0; or 1 for --help, after
 * printing usage to stdout; or 2 on bad usage, said on stderr.
 */
int lzb_restore_parse_args(int argc, char **argv, const char *prog,
			   const char *usage,
			   struct lzb_restore_opts *o);

/* 32 hex digits to LZB_IMAGE_ID_BYTES bytes; -1 if it is not that. */
int lzb_image_id_parse(const char *hex, uint8_t *id);

/* The id in hex, as `lazyboot inspect` prints it. */
void lzb_image_id_hex(const uint8_t *id, char hex[2 * LZB_IMAGE_ID_BYTES + 1]);

#endif
