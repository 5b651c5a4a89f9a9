/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Keys, hashes and sealing for lazyboot images (libsodium): BLAKE2b-256
 * object names, ed25519 manifest signatures, XChaCha20-Poly1305 object
 * encryption with deterministic (content-derived) nonces.
 */
#ifndef LAZYBOOT_IMAGE_CRYPTO_H
#define LAZYBOOT_IMAGE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"

#define LZB_HASH_BYTES		32
#define LZB_SIGN_PUB_BYTES	32
#define LZB_SIGN_SEC_BYTES	64
#define LZB_SIG_BYTES		64
#define LZB_ENC_KEY_BYTES	32
#define LZB_NONCE_BYTES		24
#define LZB_TAG_BYTES		16

int lzb_crypto_init(struct lzb_err *err);

void lzb_hash(uint8_t out[LZB_HASH_BYTES], const void *data, size_t len);
/* 64 lowercase hex digits + NUL. */
void lzb_hash_hex(char out[2 * LZB_HASH_BYTES + 1],
		  const uint8_t hash[LZB_HASH_BYTES]);

/* Key files: one line "lazyboot-<kind>-v1 <hex>\n". */
int lzb_keygen_sign(const char *secret_path, const char *public_path,
		    struct lzb_err *err);
int lzb_keygen_encrypt(const char *path, struct lzb_err *err);
int lzb_load_sign_secret(const char *path, uint8_t sk[LZB_SIGN_SEC_BYTES],
			 struct lzb_err *err);
int lzb_load_sign_public(const char *path, uint8_t pk[LZB_SIGN_PUB_BYTES],
			 struct lzb_err *err);
int lzb_load_encrypt_key(const char *path, uint8_t key[LZB_ENC_KEY_BYTES],
			 struct lzb_err *err);

/*
 * Seal PLAIN (PLEN bytes) with KEY: writes nonce || ciphertext || tag to
 * OUT (PLEN + LZB_NONCE_BYTES + LZB_TAG_BYTES bytes).  The nonce is a keyed
 * BLAKE2b of AAD and PLAIN, so equal inputs give equal outputs (content
 * addressing keeps working) and different inputs never share a nonce.
 */
void lzb_seal(uint8_t *out, const uint8_t *plain, size_t plen,
	      const uint8_t *aad, size_t alen,
	      const uint8_t key[LZB_ENC_KEY_BYTES]);
/* Inverse of lzb_seal; OUT gets CLEN - 40 bytes.  0, or -1 if forged. */
int lzb_open(uint8_t *out, const uint8_t *sealed, size_t clen,
	     const uint8_t *aad, size_t alen,
	     const uint8_t key[LZB_ENC_KEY_BYTES]);

#endif
