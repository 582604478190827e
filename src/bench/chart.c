/*
 * chart.c - the model comparison as an SVG drawn by hand: two panels side by
 * side (requests/s on a linear axis, p99 latency on a log axis), both
 * against connections on a log axis, one coloured line per model, a legend
 * below. No library: coordinates are computed here and printed as SVG.
 */
#include "sockit/bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define W 1120
#define PANEL_W 450
#define PANEL_H 330
#define LEFT1 90
#define LEFT2 (LEFT1 + PANEL_W + 100)
#define TOP 92

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                      "#7f7f7f", "#bcbd22", "#393b79", "#637939"};
static const char *const dashes[] = {"", "6,3", "2,3"};

struct axis {
    double lo, hi; /* in data units (already log10 when logscale) */
    int logscale;
};

static double ax_pos(const struct axis *a, double v, double from, double to)
{
    double x = a->logscale ? log10(v) : v;
    double t = a->hi > a->lo ? (x - a->lo) / (a->hi - a->lo) : 0.5;
    return from + t * (to - from);
}

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

static void fmt_count(double v, char *buf, size_t len)
{
    if (v >= 1e6)
        snprintf(buf, len, "%gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, len, "%gk", v / 1e3);
    else
        snprintf(buf, len, "%g", v);
}

/* A latency tick in microseconds: "20us", "1ms", "500ms", "2s". */
static void fmt_us(double us, char *buf, size_t len)
{
    if (us < 1000)
        snprintf(buf, len, "%gus", us);
    else if (us < 1e6)
        snprintf(buf, len, "%gms", us / 1e3);
    else
        snprintf(buf, len, "%gs", us / 1e6);
}

/* A linear axis from 0 with a round step; returns the step. */
static double nice_linear(double max, struct axis *a)
{
    if (!(max > 0))
        max = 1;
    double raw = max / 5, mag = pow(10, floor(log10(raw))), step;
    double r = raw / mag;
    step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
    a->lo = 0;
    a->hi = ceil(max * 1.05 / step) * step;
    a->logscale = 0;
    return step;
}

static void frame(FILE *f, int left, const char *title, const char *ylabel)
{
    fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='#fff' stroke='#333'/>\n", left,
            TOP, PANEL_W, PANEL_H);
    fprintf(f, "<text x='%d' y='%d' text-anchor='middle' font-size='15' font-weight='bold'>",
            left + PANEL_W / 2, TOP - 12);
    esc(f, title);
    fputs("</text>\n", f);
    fprintf(f,
            "<text x='%d' y='%d' text-anchor='middle' font-size='13'>connections (log "
            "scale)</text>\n",
            left + PANEL_W / 2, TOP + PANEL_H + 42);
    fprintf(f,
            "<text transform='translate(%d,%d) rotate(-90)' text-anchor='middle' "
            "font-size='13'>",
            left - 62, TOP + PANEL_H / 2);
    esc(f, ylabel);
    fputs("</text>\n", f);
}

static void x_ticks(FILE *f, int left, const struct axis *x, const unsigned *conns, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double px = ax_pos(x, conns[i], left + 20, left + PANEL_W - 20);
        fprintf(f, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#ddd'/>\n", px, TOP, px,
                TOP + PANEL_H);
        fprintf(f, "<text x='%.1f' y='%d' text-anchor='middle' font-size='12'>%u</text>\n", px,
                TOP + PANEL_H + 18, conns[i]);
    }
}

int sk_bench_chart_svg(FILE *f, const char *title, const struct sk_bench_models_cfg *cfg,
                       const struct sk_bench_point *points, size_t nmodels)
{
    size_t nc = cfg->nconns;
    if (nc == 0 || nmodels == 0)
        return -EINVAL;
    /* Axes from the data. */
    unsigned cmin = cfg->conns[0], cmax = cfg->conns[0];
    double rmax = 0, lmin = 0, lmax = 0;
    for (size_t i = 0; i < nc; i++) {
        if (cfg->conns[i] < cmin)
            cmin = cfg->conns[i];
        if (cfg->conns[i] > cmax)
            cmax = cfg->conns[i];
    }
    for (size_t i = 0; i < nmodels * nc; i++) {
        const struct sk_bench_point *p = &points[i];
        if (!p->ok || p->requests == 0)
            continue;
        if (p->rps > rmax)
            rmax = p->rps;
        double us = (double)p->p99_ns / 1e3;
        if (us < 1)
            us = 1;
        if (lmin == 0 || us < lmin)
            lmin = us;
        if (us > lmax)
            lmax = us;
    }
    struct axis x = {log10((double)cmin), log10((double)cmax), 1};
    if (cmin == cmax) {
        x.lo -= 1;
        x.hi += 1;
    }
    struct axis yr;
    double rstep = nice_linear(rmax, &yr);
    struct axis yl = {0, 1, 1};
    if (lmin > 0) {
        yl.lo = floor(log10(lmin));
        yl.hi = ceil(log10(lmax));
        if (yl.hi <= yl.lo)
            yl.hi = yl.lo + 1;
    }

    int legend_rows = (int)((nmodels + 5) / 6);
    int height = TOP + PANEL_H + 70 + legend_rows * 22 + 34;
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n");
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' "
            "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'>\n",
            W, height, W, height);
    fprintf(f, "<rect width='100%%' height='100%%' fill='#fafafa'/>\n");
    fprintf(f, "<text x='%d' y='26' text-anchor='middle' font-size='18' font-weight='bold'>",
            W / 2);
    esc(f, title);
    fputs("</text>\n", f);
    {
        const struct sk_bench_cfg *l = &cfg->load;
        fprintf(f, "<text x='%d' y='50' text-anchor='middle' font-size='12' fill='#555'>", W / 2);
        if (l->kind != SK_BENCH_HTTP)
            fprintf(f, "%zu-byte messages, ", l->msg_size);
        fprintf(f,
                "%u load thread%s, pipeline %u, %.1f s per point; higher is better on the "
                "left, lower on the right</text>\n",
                l->threads, l->threads == 1 ? "" : "s", l->pipeline, (double)l->duration_ms / 1000);
    }

    /* Panel 1: requests/s, linear. */
    frame(f, LEFT1, "throughput", "requests per second");
    for (double v = 0; v <= yr.hi + rstep / 2; v += rstep) {
        double py = ax_pos(&yr, v, TOP + PANEL_H, TOP);
        char lab[32];
        fmt_count(v, lab, sizeof(lab));
        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>\n", LEFT1, py,
                LEFT1 + PANEL_W, py);
        fprintf(f, "<text x='%d' y='%.1f' text-anchor='end' font-size='12'>%s</text>\n", LEFT1 - 6,
                py + 4, lab);
    }
    x_ticks(f, LEFT1, &x, cfg->conns, nc);

    /* Panel 2: p99, log. */
    frame(f, LEFT2, "p99 latency", "p99 latency (log scale)");
    /* Decades, and 2x and 5x between them when the axis spans few decades. */
    static const double steps[] = {1, 2, 5};
    int few = yl.hi - yl.lo <= 2.01;
    for (double d = yl.lo; d <= yl.hi + 0.01; d += 1) {
        for (size_t k = 0; k < (few ? 3u : 1u); k++) {
            double v = pow(10, d) * steps[k];
            if (log10(v) > yl.hi + 0.001)
                break;
            double py = ax_pos(&yl, v, TOP + PANEL_H, TOP);
            char lab[32];
            fmt_us(v, lab, sizeof(lab));
            fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='%s'/>\n", LEFT2, py,
                    LEFT2 + PANEL_W, py, k ? "#eee" : "#ddd");
            fprintf(f, "<text x='%d' y='%.1f' text-anchor='end' font-size='12'>%s</text>\n",
                    LEFT2 - 6, py + 4, lab);
        }
    }
    x_ticks(f, LEFT2, &x, cfg->conns, nc);

    /* One line per model in each panel. */
    for (size_t mi = 0; mi < nmodels; mi++) {
        const char *col = colours[mi % (sizeof(colours) / sizeof(colours[0]))];
        const char *dash = dashes[(mi / (sizeof(colours) / sizeof(colours[0]))) % 3];
        for (int panel = 0; panel < 2; panel++) {
            int left = panel ? LEFT2 : LEFT1;
            fprintf(f, "<g class='model' data-model='");
            esc(f, points[mi * nc].model);
            fprintf(f, "' data-panel='%s'>\n", panel ? "p99" : "rps");
            fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2.2'%s%s%s points='", col,
                    dash[0] ? " stroke-dasharray='" : "", dash, dash[0] ? "'" : "");
            for (size_t ci = 0; ci < nc; ci++) {
                const struct sk_bench_point *p = &points[mi * nc + ci];
                if (!p->ok || p->requests == 0)
                    continue;
                double px = ax_pos(&x, p->conns, left + 20, left + PANEL_W - 20);
                double us = (double)p->p99_ns / 1e3;
                double py = panel ? ax_pos(&yl, us < 1 ? 1 : us, TOP + PANEL_H, TOP)
                                  : ax_pos(&yr, p->rps, TOP + PANEL_H, TOP);
                fprintf(f, "%.1f,%.1f ", px, py);
            }
            fputs("'/>\n", f);
            for (size_t ci = 0; ci < nc; ci++) {
                const struct sk_bench_point *p = &points[mi * nc + ci];
                if (!p->ok || p->requests == 0)
                    continue;
                double px = ax_pos(&x, p->conns, left + 20, left + PANEL_W - 20);
                double us = (double)p->p99_ns / 1e3;
                double py = panel ? ax_pos(&yl, us < 1 ? 1 : us, TOP + PANEL_H, TOP)
                                  : ax_pos(&yr, p->rps, TOP + PANEL_H, TOP);
                /* Hollow: some connections were never served, so the figures
                 * describe only the ones that were. */
                if (p->starved)
                    fprintf(f,
                            "<circle cx='%.1f' cy='%.1f' r='4' fill='#fff' stroke='%s' "
                            "stroke-width='2'><title>",
                            px, py, col);
                else
                    fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3.5' fill='%s'><title>", px, py,
                            col);
                esc(f, p->model);
                char lat[32];
                fprintf(f, " at %u connection%s: %.0f req/s, p99 %s", p->conns,
                        p->conns == 1 ? "" : "s", p->rps,
                        sk_bench_fmt_ns(p->p99_ns, lat, sizeof(lat)));
                if (p->starved)
                    fprintf(f, "; %llu connection%s never served", (unsigned long long)p->starved,
                            p->starved == 1 ? "" : "s");
                fputs("</title></circle>\n", f);
            }
            fputs("</g>\n", f);
        }
    }

    /* Legend, six to a row. */
    int ly = TOP + PANEL_H + 72;
    for (size_t mi = 0; mi < nmodels; mi++) {
        int lx = LEFT1 + (int)(mi % 6) * 160, row = (int)(mi / 6);
        const char *col = colours[mi % (sizeof(colours) / sizeof(colours[0]))];
        const char *dash = dashes[(mi / (sizeof(colours) / sizeof(colours[0]))) % 3];
        fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='%s' stroke-width='3'%s%s%s/>\n",
                lx, ly + row * 22, lx + 28, ly + row * 22, col,
                dash[0] ? " stroke-dasharray='" : "", dash, dash[0] ? "'" : "");
        fprintf(f, "<text x='%d' y='%d' font-size='13'>", lx + 34, ly + row * 22 + 4);
        esc(f, points[mi * nc].model);
        fputs("</text>\n", f);
    }
    int any_starved = 0;
    for (size_t i = 0; i < nmodels * nc; i++)
        any_starved |= points[i].ok && points[i].starved;
    if (any_starved)
        fprintf(f,
                "<text x='%d' y='%d' font-size='12' fill='#555'>Hollow points: some "
                "connections were never served (a model that serves one connection per "
                "process or thread at a time); the figures are for those that were.</text>\n",
                LEFT1, ly + legend_rows * 22 + 4);
    fputs("</svg>\n", f);
    return ferror(f) ? -EIO : 0;
}
