// SPDX-License-Identifier: LGPL-2.1-or-later
/* Profile files: first-touch page order (see profile.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/file_util.h"
#include "capture/profile.h"
#include "util/page.h"
#include "util/vec.h"

/* Parse an unsigned number (decimal or 0x hex) spanning [s, e). */
static int parse_num(const char *s, const char *e, uint64_t max, uint64_t *v)
{
	int base = 10;
	uint64_t x = 0;

	if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (s == e)
		return -1;
	for (; s < e; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (x > (max - (uint64_t)d) / (uint64_t)base)
			return -1;
		x = x * (uint64_t)base + (uint64_t)d;
	}
	*v = x;
	return 0;
}

int lzb_profile_parse(const char *name, const uint8_t *buf, size_t len,
		      struct lzb_profile *p, struct lzb_err *err)
{
	const char *s = (const char *)buf, *end = s + len;
	size_t lineno = 0, cap = 0;
	bool hot = true, have_magic = false;

	memset(p, 0, sizeof(*p));
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *tok[4], *tend[4];
		int nt = 0;
		uint64_t pid, va, np = 1;

		lineno++;
		if (le - s > (ptrdiff_t)LZB_PROFILE_MAX_LINE) {
			lzb_profile_free(p);
			return lzb_errf(err, "%s:%zu: line longer than %u bytes",
					name, lineno, LZB_PROFILE_MAX_LINE);
		}
		if (!have_magic) {
			size_t ml = strlen(LZB_PROFILE_MAGIC);

			if ((size_t)(le - s) != ml || memcmp(s, LZB_PROFILE_MAGIC, ml))
				return lzb_errf(err, "%s:1: not a lazyboot profile "
						"(want first line \"%s\")", name,
						LZB_PROFILE_MAGIC);
			have_magic = true;
			s = le + 1;
			continue;
		}
		for (const char *c = s; c < le && nt < 4;) {
			while (c < le && (*c == ' ' || *c == '\t' || *c == '\r'))
				c++;
			if (c == le || *c == '#')
				break;
			tok[nt] = c;
			while (c < le && *c != ' ' && *c != '\t' && *c != '\r')
				c++;
			tend[nt++] = c;
		}
		s = le + 1;
		if (!nt)
			continue;
		if (nt == 1 && tend[0] - tok[0] == 5 && !memcmp(tok[0], "ready", 5)) {
			if (!hot) {
				lzb_profile_free(p);
				return lzb_errf(err, "%s:%zu: second \"ready\"", name,
						lineno);
			}
			hot = false;
			continue;
		}
		if (nt < 2 || nt > 3 ||
		    parse_num(tok[0], tend[0], UINT32_MAX, &pid) || !pid ||
		    parse_num(tok[1], tend[1], (1ull << 57) - 1, &va) ||
		    (nt == 3 && parse_num(tok[2], tend[2], LZB_PROFILE_MAX_RUN, &np)) ||
		    !np) {
			lzb_profile_free(p);
			return lzb_errf(err, "%s:%zu: want \"PID 0xVADDR [NPAGES]\" "
					"or \"ready\"", name, lineno);
		}
		if (va % LZB_PAGE_SIZE || np > ((1ull << 57) - va) / LZB_PAGE_SIZE) {
			lzb_profile_free(p);
			return lzb_errf(err, "%s:%zu: address 0x%" PRIx64 " is not "
					"page aligned or the range is too long",
					name, lineno, va);
		}
		if (p->nr >= LZB_PROFILE_MAX_ENTRIES) {
			lzb_profile_free(p);
			return lzb_errf(err, "%s: more than %u entries", name,
					LZB_PROFILE_MAX_ENTRIES);
		}
		if (LZB_VEC_RESERVE(p->e, p->nr, cap, 1)) {
			lzb_profile_free(p);
			return lzb_errf(err, "%s: out of memory", name);
		}
		p->e[p->nr++] = (struct lzb_profile_entry){
			.pid = (uint32_t)pid, .vaddr = va,
			.nr_pages = (uint32_t)np, .hot = hot };
	}
	if (!have_magic)
		return lzb_errf(err, "%s: empty file, not a lazyboot profile",
				name);
	return 0;
}

int lzb_profile_load(const char *path, struct lzb_profile *p,
		     struct lzb_err *err)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (lzb_read_file(path, LZB_PROFILE_MAX_BYTES, &buf, &len, err))
		return -1;
	r = lzb_profile_parse(path, buf, len, p, err);
	free(buf);
	return r;
}

void lzb_profile_free(struct lzb_profile *p)
{
	free(p->e);
	memset(p, 0, sizeof(*p));
}
