// SPDX-License-Identifier: LGPL-2.1-or-later
#include "cli/report_svg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 1100
#define LEFT 150		/* axis labels, task names */
#define RIGHT 30
#define PLOT_W (WIDTH - LEFT - RIGHT)
#define MARK_TOP 64		/* the milestone labels' band */
#define MARK_ROWS 4
#define MARK_ROW_H 15
#define PANEL_H 110
#define PANEL_GAP 34
#define LANE_H 18

struct geom {
	double t_end;		/* ms at the right edge */
	int first_panel;	/* y of the first panel's top */
};

static double x_of(const struct geom *g, double ms)
{
	return LEFT + ms / g->t_end * PLOT_W;
}

static void escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, out);
		}
	}
}

/* A round step (1, 2 or 5 times a power of ten) giving about 4 ticks. */
static double nice_step(double max)
{
	static const double mult[] = { 1, 2, 5 };
	double mag = 1e-6;

	if (!(max > 0))
		return 1;
	for (;; mag *= 10)
		for (int i = 0; i < 3; i++)
			if (mult[i] * mag * 5 >= max)
				return mult[i] * mag;
}

/* ---- one panel: a y axis, series of (ms, value) ------------------------ */

struct series {
	const char *name, *color;
	bool dashed;
	double *ms, *v;		/* the value from ms[i-1] to ms[i] */
	size_t n;
};

static void y_axis(FILE *out, int top, double ymax, double step,
		   const char *unit)
{
	fprintf(out, "<g class=\"axis\" font-size=\"11\" fill=\"#444\">\n");
	for (double v = 0; v <= ymax * 1.0001; v += step) {
		double y = top + PANEL_H - v / ymax * PANEL_H;

		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/>\n", LEFT, y, WIDTH - RIGHT, y);
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">"
			"%g</text>\n", LEFT - 6, y + 4, v);
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
		"font-style=\"italic\">%s</text>\n</g>\n", LEFT - 6, top - 6,
		unit);
}

static void panel(FILE *out, const struct geom *g, int top, const char *id,
		  const char *title, const char *unit, double ymax,
		  const struct series *s, size_t nr)
{
	double step;
	int lx = LEFT + 8;

	for (size_t k = 0; k < nr; k++)
		for (size_t i = 0; i < s[k].n; i++)
			if (s[k].v[i] > ymax)
				ymax = s[k].v[i];
	step = nice_step(ymax);
	ymax = step * (double)(int)(ymax / step + 0.999999);
	if (ymax < step)
		ymax = step;
	fprintf(out, "<g id=\"%s\">\n<text x=\"%d\" y=\"%d\" font-size=\"13\" "
		"font-weight=\"bold\">%s</text>\n", id, LEFT, top - 8, title);
	y_axis(out, top, ymax, step, unit);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"none\" stroke=\"#888\"/>\n", LEFT, top, PLOT_W, PANEL_H);
	for (size_t k = 0; k < nr; k++) {
		fprintf(out, "<polyline class=\"series\" data-name=\"%s\" "
			"fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s "
			"points=\"", s[k].name, s[k].color,
			s[k].dashed ? " stroke-dasharray=\"5,3\"" : "");
		for (size_t i = 0; i < s[k].n; i++) {
			double y = top + PANEL_H - s[k].v[i] / ymax * PANEL_H;

			/* a step: the value holds over its interval */
			if (i)
				fprintf(out, "%.1f,%.1f ",
					x_of(g, s[k].ms[i - 1]), y);
			fprintf(out, "%.1f,%.1f ", x_of(g, s[k].ms[i]), y);
		}
		fprintf(out, "\"/>\n");
	}
	/* the legend, top right inside the panel's title line */
	lx = WIDTH - RIGHT - 170 * (int)nr;
	for (size_t k = 0; k < nr; k++, lx += 170) {
		fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			"stroke=\"%s\" stroke-width=\"3\"%s/>\n", lx, top - 12,
			lx + 18, top - 12, s[k].color,
			s[k].dashed ? " stroke-dasharray=\"5,3\"" : "");
		fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s"
			"</text>\n", lx + 22, top - 8, s[k].name);
	}
	fprintf(out, "</g>\n");
}

/* ---- the numbers per sample interval ----------------------------------- */

/* A counter's growth; a resumed pager's counters start again at 0. */
static double delta(uint64_t prev, uint64_t cur)
{
	return (double)(cur >= prev ? cur - prev : cur);
}

struct rates {
	size_t n;
	double *ms, *fault_bps, *bg_bps, *faults_ps, *stall_ms_ps;
	double *kstall_ms_ps, *resident_pct;
	bool any_kstall;
};

static int rates_new(const struct lzb_timeline *tl, struct rates *r)
{
	size_t n = tl->nr_samples;
	double **arrs[] = { &r->ms, &r->fault_bps, &r->bg_bps, &r->faults_ps,
			    &r->stall_ms_ps, &r->kstall_ms_ps,
			    &r->resident_pct };

	memset(r, 0, sizeof(*r));
	for (size_t k = 0; k < sizeof(arrs) / sizeof(arrs[0]); k++) {
		*arrs[k] = calloc(n ? n : 1, sizeof(double));
		if (!*arrs[k])
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lzb_tl_sample *s = &tl->samples[i];
		const struct lzb_tl_sample *p = i ? &tl->samples[i - 1] : NULL;
		double dt = p && s->ms > p->ms ? (double)(s->ms - p->ms) / 1e3 :
			    0;

		r->ms[i] = (double)s->ms;
		r->resident_pct[i] = s->total ?
				     100.0 * (double)s->resident /
				     (double)s->total : 0;
		if (!dt)
			continue;
		r->fault_bps[i] = delta(p->fault_bytes, s->fault_bytes) / dt;
		r->bg_bps[i] = delta(p->bg_bytes, s->bg_bytes) / dt;
		r->faults_ps[i] = delta(p->faults, s->faults) / dt;
		r->stall_ms_ps[i] = delta(p->stall_us, s->stall_us) / 1e3 / dt;
		if (s->has_kstall && p->has_kstall) {
			r->kstall_ms_ps[i] = delta(p->kstall_us, s->kstall_us) /
					     1e3 / dt;
			r->any_kstall = true;
		}
	}
	r->n = n;
	return 0;
}

static void rates_free(struct rates *r)
{
	free(r->ms);
	free(r->fault_bps);
	free(r->bg_bps);
	free(r->faults_ps);
	free(r->stall_ms_ps);
	free(r->kstall_ms_ps);
	free(r->resident_pct);
}

/* ---- milestones, lanes, the time axis ---------------------------------- */

/* In time order; equal times keep the order they were written in. */
static void sort_marks(struct lzb_tl_mark *m, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct lzb_tl_mark x = m[i];
		size_t j = i;

		for (; j && m[j - 1].ms > x.ms; j--)
			m[j] = m[j - 1];
		m[j] = x;
	}
}

static void milestones(FILE *out, const struct geom *g,
		       const struct lzb_tl_mark *m, size_t n, int bottom)
{
	fprintf(out, "<g id=\"milestones\" font-size=\"11\">\n");
	for (size_t i = 0; i < n; i++) {
		double x = x_of(g, (double)m[i].ms);
		int row = (int)(i % MARK_ROWS);
		int ty = MARK_TOP + row * MARK_ROW_H;

		fprintf(out, "<g class=\"milestone\" data-name=\"%s\" "
			"data-ms=\"%llu\">\n", m[i].name,
			(unsigned long long)m[i].ms);
		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#7a4fb5\" stroke-dasharray=\"3,3\"/>\n", x,
			ty + 3, x, bottom);
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" fill=\"#7a4fb5\"%s>"
			"%s %.2f s</text>\n</g>\n", x + (x > WIDTH - 200 ? -3 : 3),
			ty, x > WIDTH - 200 ? " text-anchor=\"end\"" : "",
			m[i].name, (double)m[i].ms / 1e3);
	}
	fprintf(out, "</g>\n");
}

/* When task lanes end: every page resident, or the pager's end. */
static double lanes_end(const struct lzb_timeline *tl, double t_end)
{
	for (size_t i = 0; i < tl->nr_marks; i++)
		if (!strcmp(tl->marks[i].name, "resident"))
			return (double)tl->marks[i].ms;
	return t_end;
}

static void lanes(FILE *out, const struct geom *g,
		  const struct lzb_timeline *tl, int top)
{
	double end = lanes_end(tl, g->t_end);

	fprintf(out, "<g id=\"tasks\">\n<text x=\"%d\" y=\"%d\" "
		"font-size=\"13\" font-weight=\"bold\">tasks (from uffd "
		"hand-over to every page resident)</text>\n", LEFT, top - 8);
	for (size_t i = 0; i < tl->nr_tasks; i++) {
		const struct lzb_tl_task *t = &tl->tasks[i];
		int y = top + (int)i * LANE_H;
		double x0 = x_of(g, (double)t->ms), x1 = x_of(g, end);

		fprintf(out, "<g class=\"task\" data-img-pid=\"%d\" "
			"data-pid=\"%d\">\n", t->img_pid, t->pid);
		fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
			"text-anchor=\"end\">task %d (pid %d)</text>\n",
			LEFT - 6, y + 12, t->img_pid, t->pid);
		fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
			"height=\"%d\" fill=\"%s\" rx=\"2\"/>\n", x0, y + 2,
			x1 > x0 ? x1 - x0 : 1, LANE_H - 4,
			i % 2 ? "#5b9bd5" : "#2e75b6");
		fprintf(out, "</g>\n");
	}
	fprintf(out, "</g>\n");
}

static void time_axis(FILE *out, const struct geom *g, int y)
{
	double step = nice_step(g->t_end / 1e3 / 1.6);	/* 5 to 10 ticks */

	fprintf(out, "<g id=\"time-axis\" font-size=\"11\" fill=\"#444\">\n"
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#444\"/>\n", LEFT, y, WIDTH - RIGHT, y);
	for (double s = 0; s * 1e3 <= g->t_end * 1.0001; s += step) {
		double x = x_of(g, s * 1e3);

		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#444\"/>\n<text x=\"%.1f\" y=\"%d\" "
			"text-anchor=\"middle\">%g</text>\n", x, y, x, y + 5, x,
			y + 18, s);
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time "
		"since the restore started (s)</text>\n</g>\n",
		LEFT + PLOT_W / 2, y + 36);
}

static double t_end_of(const struct lzb_timeline *tl)
{
	uint64_t end = 1;

	for (size_t i = 0; i < tl->nr_samples; i++)
		if (tl->samples[i].ms > end)
			end = tl->samples[i].ms;
	for (size_t i = 0; i < tl->nr_marks; i++)
		if (tl->marks[i].ms > end)
			end = tl->marks[i].ms;
	for (size_t i = 0; i < tl->nr_tasks; i++)
		if (tl->tasks[i].ms > end)
			end = tl->tasks[i].ms;
	return (double)end;
}

void lzb_report_svg(FILE *out, const struct lzb_timeline *tl,
		    const char *title, const char *subtitle)
{
	struct geom g = { .t_end = t_end_of(tl),
			  .first_panel = MARK_TOP + MARK_ROWS * MARK_ROW_H +
					 PANEL_GAP };
	struct lzb_tl_mark *marks;
	struct rates r;
	bool mb;
	int y = g.first_panel, lanes_top, axis_y, height;
	double max_bps = 0;

	if (rates_new(tl, &r)) {
		rates_free(&r);
		fprintf(out, "<!-- out of memory -->\n");
		return;
	}
	for (size_t i = 0; i < r.n; i++) {
		if (r.fault_bps[i] > max_bps)
			max_bps = r.fault_bps[i];
		if (r.bg_bps[i] > max_bps)
			max_bps = r.bg_bps[i];
	}
	mb = max_bps >= 1e6;
	for (size_t i = 0; i < r.n; i++) {
		r.fault_bps[i] /= mb ? 1e6 : 1e3;
		r.bg_bps[i] /= mb ? 1e6 : 1e3;
	}
	lanes_top = y + 4 * (PANEL_H + PANEL_GAP);
	axis_y = lanes_top + (int)tl->nr_tasks * LANE_H + 8;
	height = axis_y + 50;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		WIDTH, height, WIDTH, height);
	fprintf(out, "<text x=\"%d\" y=\"26\" font-size=\"17\" "
		"font-weight=\"bold\">", LEFT);
	escaped(out, title);
	fprintf(out, "</text>\n<text x=\"%d\" y=\"46\" font-size=\"12\" "
		"fill=\"#444\">", LEFT);
	escaped(out, subtitle);
	fprintf(out, "</text>\n");

	{
		const struct series s[] = {
			{ "for faults", "#d62728", false, r.ms, r.fault_bps,
			  r.n },
			{ "background", "#1f77b4", false, r.ms, r.bg_bps, r.n },
		};
		panel(out, &g, y, "received", "image bytes received",
		      mb ? "MB/s" : "kB/s", 0, s, 2);
	}
	y += PANEL_H + PANEL_GAP;
	{
		const struct series s[] = {
			{ "faults served", "#9467bd", false, r.ms, r.faults_ps,
			  r.n },
		};
		panel(out, &g, y, "faults", "faults", "faults/s", 0, s, 1);
	}
	y += PANEL_H + PANEL_GAP;
	{
		const struct series s[] = {
			{ "pager (read to wake)", "#ff7f0e", false, r.ms,
			  r.stall_ms_ps, r.n },
			{ "lazyboot.ko stalls", "#2ca02c", true, r.ms,
			  r.kstall_ms_ps, r.n },
		};
		panel(out, &g, y, "stall", "time faulting threads waited",
		      "ms per s", 0, s, r.any_kstall ? 2 : 1);
	}
	y += PANEL_H + PANEL_GAP;
	{
		const struct series s[] = {
			{ "lazy pages resident", "#17becf", false, r.ms,
			  r.resident_pct, r.n },
		};
		panel(out, &g, y, "residency", "residency", "%", 100, s, 1);
	}
	lanes(out, &g, tl, lanes_top);
	time_axis(out, &g, axis_y);

	marks = malloc((tl->nr_marks ? tl->nr_marks : 1) * sizeof(*marks));
	if (marks) {
		if (tl->nr_marks)
			memcpy(marks, tl->marks,
			       tl->nr_marks * sizeof(*marks));
		sort_marks(marks, tl->nr_marks);
		milestones(out, &g, marks, tl->nr_marks, axis_y);
		free(marks);
	}
	fprintf(out, "</svg>\n");
	rates_free(&r);
}
