// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mirror choice: the order a mirror set's mirrors are tried in, demotion
 * of a mirror that failed, and the message when every mirror failed for
 * one object (fetch_internal.h).  fetch.c asks here for every try.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch_internal.h"

struct lzb_mirrors *lzb_mirrors_new(const char *const *base_urls, size_t n)
{
	struct lzb_mirrors *m;
	size_t i;

	if (!n) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!base_urls[i] || !lzb_fetch_scheme(base_urls[i])) {
			errno = EINVAL;
			return NULL;
		}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->n = n;
	m->base = calloc(n, sizeof(*m->base));
	m->order = calloc(n, sizeof(*m->order));
	if (!m->base || !m->order)
		goto oom;
	for (i = 0; i < n; i++) {
		m->order[i] = i;
		m->base[i] = strdup(base_urls[i]);
		if (!m->base[i])
			goto oom;
	}
	return m;
oom:
	lzb_mirrors_free(m);
	errno = ENOMEM;
	return NULL;
}

void lzb_mirrors_free(struct lzb_mirrors *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; m->base && i < m->n; i++)
		free(m->base[i]);
	free(m->base);
	free(m->order);
	free(m);
}

int lzb_mirror_tries_init(struct lzb_mirror_tries *t,
			  const struct lzb_mirrors *m)
{
	t->n = m ? m->n : 1;
	t->current = 0;
	t->tried = calloc(t->n, sizeof(*t->tried));
	t->why = calloc(t->n, sizeof(*t->why));
	if (!t->tried || !t->why) {
		lzb_mirror_tries_free(t);
		return -ENOMEM;
	}
	return 0;
}

void lzb_mirror_tries_free(struct lzb_mirror_tries *t)
{
	for (size_t i = 0; t->why && i < t->n; i++)
		free(t->why[i]);
	free(t->why);
	free(t->tried);
	t->why = NULL;
	t->tried = NULL;
}

bool lzb_mirror_pick(const struct lzb_mirrors *m, struct lzb_mirror_tries *t)
{
	for (size_t k = 0; k < t->n; k++) {
		size_t i = m ? m->order[k] : k;

		if (!t->tried[i]) {
			t->tried[i] = true;
			t->current = i;
			return true;
		}
	}
	return false;
}

bool lzb_mirror_untried(const struct lzb_mirror_tries *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (!t->tried[i])
			return true;
	return false;
}

void lzb_mirror_new_round(struct lzb_mirror_tries *t)
{
	memset(t->tried, 0, t->n * sizeof(*t->tried));
}

void lzb_mirror_failed(struct lzb_mirrors *m, struct lzb_mirror_tries *t,
		       const char *why)
{
	size_t i = t->current, k;
	char *copy = strdup(why);

	if (copy) {	/* out of memory: the previous message stays */
		free(t->why[i]);
		t->why[i] = copy;
	}
	if (!m)
		return;
	/* Demote: to the end of the order, the others move up. */
	for (k = 0; k < m->n && m->order[k] != i; k++)
		;
	for (; k + 1 < m->n; k++)
		m->order[k] = m->order[k + 1];
	m->order[m->n - 1] = i;
}

void lzb_mirror_summary(const struct lzb_mirrors *m,
			const struct lzb_mirror_tries *t, const char *path,
			char *out, size_t size)
{
	const char *sep = " ";
	size_t used, i;
	int n;

	n = snprintf(out, size, "%s%severy mirror failed:", path,
		     path[0] ? ": " : "");
	used = n < 0 ? 0 : (size_t)n;
	for (i = 0; i < t->n && used < size; i++) {
		if (!t->why[i])
			continue;
		n = snprintf(out + used, size - used, "%s%s: %s", sep,
			     m ? m->base[i] : "?", t->why[i]);
		used += n < 0 ? 0 : (size_t)n;
		sep = "; ";
	}
}
