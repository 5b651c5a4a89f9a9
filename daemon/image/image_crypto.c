// SPDX-License-Identifier: LGPL-2.1-or-later
/* Keys, hashes and sealing for lazyboot images (see image_crypto.h). */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/file_util.h"
#include "image/image_crypto.h"

#define SIGN_SECRET_TAG	"lazyboot-sign-secret-v1"
#define SIGN_PUBLIC_TAG	"lazyboot-sign-public-v1"
#define ENCRYPT_TAG	"lazyboot-encrypt-key-v1"

int lzb_crypto_init(struct lzb_err *err)
{
	if (sodium_init() < 0)
		return lzb_errf(err, "libsodium: initialisation failed");
	return 0;
}

void lzb_hash(uint8_t out[LZB_HASH_BYTES], const void *data, size_t len)
{
	crypto_generichash(out, LZB_HASH_BYTES, data, len, NULL, 0);
}

void lzb_hash_hex(char out[2 * LZB_HASH_BYTES + 1],
		  const uint8_t hash[LZB_HASH_BYTES])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < LZB_HASH_BYTES; i++) {
		out[2 * i] = hex[hash[i] >> 4];
		out[2 * i + 1] = hex[hash[i] & 15];
	}
	out[2 * LZB_HASH_BYTES] = 0;
}

static int write_key(const char *path, const char *tag, const uint8_t *key,
		     size_t len, unsigned int mode, struct lzb_err *err)
{
	char line[256];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s ", tag);

	for (size_t i = 0; i < len; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x", key[i]);
	line[n++] = '\n';
	return lzb_write_file(path, line, n, mode, err);
}

/*
 * Who may have written or may read a key file lazyboot is about to trust.
 * Every key: a regular file owned by root or by whoever runs this (root,
 * when root runs it: a file another user owns, that user can rewrite), and
 * writable by nobody else.  Secret keys (signing, encryption): readable by
 * nobody else either.  ST is the fstat of the file that was read.
 */
static int check_key_file(const char *path, const struct stat *st,
			  bool secret, struct lzb_err *err)
{
	unsigned int mode = (unsigned int)st->st_mode & 07777;
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me)
		return lzb_errf(err, "%s: owned by uid %u: a key file must be "
				"owned by %s", path, (unsigned int)st->st_uid,
				me ? "root or the user running lazyboot" :
				     "root");
	if (secret && (mode & 077))
		return lzb_errf(err, "%s: mode %04o: a secret key must be "
				"readable by its owner only (chmod 600 %s)",
				path, mode, path);
	if (mode & 022)
		return lzb_errf(err, "%s: mode %04o: a key must be writable "
				"by its owner only (chmod go-w %s)", path,
				mode, path);
	return 0;
}

static int read_key(const char *path, const char *tag, bool secret,
		    uint8_t *key, size_t len, struct lzb_err *err)
{
	struct stat st;
	uint8_t *buf;
	size_t blen, tlen = strlen(tag), hlen;
	const char *hex;

	if (lzb_read_file_stat(path, 1024, &buf, &blen, &st, err))
		return -1;
	if (check_key_file(path, &st, secret, err)) {
		sodium_memzero(buf, blen);
		free(buf);
		return -1;
	}
	hex = (const char *)buf + tlen + 1;
	if (blen < tlen + 1 || memcmp(buf, tag, tlen) || buf[tlen] != ' ') {
		free(buf);
		return lzb_errf(err, "%s: not a %s file", path, tag);
	}
	hlen = blen - tlen - 1;
	while (hlen && isspace((unsigned char)hex[hlen - 1]))
		hlen--;
	if (hlen != 2 * len || sodium_hex2bin(key, len, hex, hlen, NULL, NULL,
					      NULL)) {
		free(buf);
		sodium_memzero(key, len);
		return lzb_errf(err, "%s: key is not %zu hex digits", path,
				2 * len);
	}
	sodium_memzero(buf, blen);
	free(buf);
	return 0;
}

int lzb_keygen_sign(const char *secret_path, const char *public_path,
		    struct lzb_err *err)
{
	uint8_t pk[LZB_SIGN_PUB_BYTES], sk[LZB_SIGN_SEC_BYTES];
	int r;

	crypto_sign_keypair(pk, sk);
	r = write_key(secret_path, SIGN_SECRET_TAG, sk, sizeof(sk), 0600, err);
	if (!r)
		r = write_key(public_path, SIGN_PUBLIC_TAG, pk, sizeof(pk), 0644,
			      err);
	sodium_memzero(sk, sizeof(sk));
	return r;
}

int lzb_keygen_encrypt(const char *path, struct lzb_err *err)
{
	uint8_t key[LZB_ENC_KEY_BYTES];
	int r;

	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	r = write_key(path, ENCRYPT_TAG, key, sizeof(key), 0600, err);
	sodium_memzero(key, sizeof(key));
	return r;
}

int lzb_load_sign_secret(const char *path, uint8_t sk[LZB_SIGN_SEC_BYTES],
			 struct lzb_err *err)
{
	return read_key(path, SIGN_SECRET_TAG, true, sk, LZB_SIGN_SEC_BYTES, err);
}

int lzb_load_sign_public(const char *path, uint8_t pk[LZB_SIGN_PUB_BYTES],
			 struct lzb_err *err)
{
	return read_key(path, SIGN_PUBLIC_TAG, false, pk, LZB_SIGN_PUB_BYTES, err);
}

int lzb_load_encrypt_key(const char *path, uint8_t key[LZB_ENC_KEY_BYTES],
			 struct lzb_err *err)
{
	return read_key(path, ENCRYPT_TAG, true, key, LZB_ENC_KEY_BYTES, err);
}

static void make_nonce(uint8_t nonce[LZB_NONCE_BYTES], const uint8_t *plain,
		       size_t plen, const uint8_t *aad, size_t alen,
		       const uint8_t key[LZB_ENC_KEY_BYTES])
{
	static const char label[] = "lazyboot-nonce-key-v1";
	uint8_t nkey[32];
	crypto_generichash_state st;

	/* A subkey for nonces, so the AEAD key itself is used only by AEAD. */
	crypto_generichash(nkey, sizeof(nkey), (const uint8_t *)label,
			   sizeof(label) - 1, key, LZB_ENC_KEY_BYTES);
	crypto_generichash_init(&st, nkey, sizeof(nkey), LZB_NONCE_BYTES);
	crypto_generichash_update(&st, aad, alen);
	crypto_generichash_update(&st, plain, plen);
	crypto_generichash_final(&st, nonce, LZB_NONCE_BYTES);
	sodium_memzero(nkey, sizeof(nkey));
}

void lzb_seal(uint8_t *out, const uint8_t *plain, size_t plen,
	      const uint8_t *aad, size_t alen,
	      const uint8_t key[LZB_ENC_KEY_BYTES])
{
	make_nonce(out, plain, plen, aad, alen, key);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + LZB_NONCE_BYTES, NULL,
						   plain, plen, aad, alen, NULL,
						   out, key);
}

int lzb_open(uint8_t *out, const uint8_t *sealed, size_t clen,
	     const uint8_t *aad, size_t alen,
	     const uint8_t key[LZB_ENC_KEY_BYTES])
{
	if (clen < LZB_NONCE_BYTES + LZB_TAG_BYTES)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(
		out, NULL, NULL, sealed + LZB_NONCE_BYTES,
		clen - LZB_NONCE_BYTES, aad, alen, sealed, key) ? -1 : 0;
}
