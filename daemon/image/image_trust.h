/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whether a node takes a manifest whose signature verified: is it the
 * image the node was told to run (its image id), still valid (its
 * valid-until), and not older than a version of that image the node has
 * already accepted (rollback)?  The highest version accepted per image id
 * is kept in the state directory, one file per id:
 *
 *   STATE_DIR/accepted-<image id hex>   "lazyboot-accepted v1\nversion N\n"
 *
 * STATE_DIR is LAZYBOOT_STATE_DIR from the environment when set, else
 * /var/lib/lazyboot (docs/security.md, "Images and the network").
 */
#ifndef LAZYBOOT_IMAGE_TRUST_H
#define LAZYBOOT_IMAGE_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image_format.h"
#include "util/lzb_error.h"

#define LZB_STATE_DIR		"/var/lib/lazyboot"
#define LZB_STATE_DIR_ENV	"LAZYBOOT_STATE_DIR"
#define LZB_IMAGE_ID_HEX	33	/* 32 hex digits and a NUL */

struct lzb_trust_policy {
	const char *image_id;	/* 32 hex digits the manifest must carry;
				 * NULL: any id */
	const char *state_dir;	/* NULL: $LAZYBOOT_STATE_DIR or
				 * LZB_STATE_DIR */
	bool keep_state;	/* check and raise the accepted version */
	bool allow_downgrade;	/* take a lower version, and record it */
	uint64_t now;		/* Unix seconds, for valid-until */
};

/* ID as 32 lowercase hex digits. */
void lzb_image_id_hex(const uint8_t id[16], char out[LZB_IMAGE_ID_HEX]);
/* 0 if HEX is 32 hex digits (any case), else -1 with ERR. */
int lzb_image_id_check(const char *hex, struct lzb_err *err);
/* The state directory a policy uses. */
const char *lzb_trust_state_dir(const struct lzb_trust_policy *p);

/*
 * Take the (signature-checked) manifest M under policy P: its id, its
 * expiry, and with keep_state its version against the one on record,
 * which is then raised to M's (or lowered, with allow_downgrade).
 * NAME is for messages.  0, or -1 with a one-line ERR naming the id and
 * the versions seen.
 */
int lzb_trust_accept(const char *name, const struct lzb_manifest *m,
		     const struct lzb_trust_policy *p, struct lzb_err *err);

/*
 * The same checks, recording nothing: would lzb_trust_accept take M now?
 * (A mirror's manifest is checked so before it is taken; see
 * image_load.h.)
 */
int lzb_trust_check(const char *name, const struct lzb_manifest *m,
		    const struct lzb_trust_policy *p, struct lzb_err *err);

/* The version on record for image ID in DIR: 0 and *version (0: none). */
int lzb_trust_recorded(const char *dir, const uint8_t id[16],
		       uint64_t *version, struct lzb_err *err);

#endif
