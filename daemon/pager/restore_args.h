/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The options of a restore, as `lazyboot restore` and `lazybootd restore`
 * both take them: URL [MIRROR...] [options] [-- CRIU-RESTORE-OPTION...].
 */
#ifndef LAZYBOOT_RESTORE_ARGS_H
#define LAZYBOOT_RESTORE_ARGS_H

#include "pager/restore.h"

/*
 * Options and the lzb_restore_opts fields they fill (restore.h): --pubkey
 * pubkey, --allow-unsigned allow_unsigned, --encrypt-key encrypt_key,
 * --workdir workdir, --ready ready_cmd, --criu criu, --plugin-dir
 * plugin_dir, --max-background max_background, --tftp-blksize
 * tftp_blksize, --deadline-ms deadline_ms, --resume resume + workdir,
 * --image-id image_id, --state-dir state_dir, --allow-downgrade
 * allow_downgrade, --quiet quiet.
 *
 * Fill o from argv (prog names the command in messages).  What o holds
 * already (lazybootd's config file) stays unless argv gives it again;
 * URLs in argv replace o's mirrors, and without o's mirrors a URL is
 * required.  An empty --pubkey, --ready or --image-id counts as not given.
 * Returns 0; or 1 for --help, after
 * printing usage to stdout; or 2 on bad usage, said on stderr.
 */
int lzb_restore_parse_args(int argc, char **argv, const char *prog,
			   const char *usage,
			   struct lzb_restore_opts *o);

/* The words of --stream-yield and stream-yield =, by enum value. */
extern const char *const lzb_stream_yield_names[3];
/* *Y for NAME ("bound", "hold", "off"); -1 for anything else. */
int lzb_stream_yield_parse(const char *name, enum lzb_stream_yield *y);

/* *P for NAME ("coldstart", "fail": --fallback and fallback =); -1 for
 * anything else. */
int lzb_fallback_parse(const char *name, enum lzb_fallback_policy *p);

#endif
