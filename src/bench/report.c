/*
 * report.c - how a bench run is shown: the summary table for people and the
 * JSON object for programs, and the model comparison table.
 */
#include "sockit/bench.h"
#include "sockit/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *sk_bench_fmt_ns(int64_t ns, char *buf, size_t len)
{
    double v = (double)ns;
    if (ns < 10000)
        snprintf(buf, len, "%.1fus", v / 1e3);
    else if (ns < 1000000)
        snprintf(buf, len, "%.0fus", v / 1e3);
    else if (ns < 10000000)
        snprintf(buf, len, "%.2fms", v / 1e6);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.1fms", v / 1e6);
    else
        snprintf(buf, len, "%.2fs", v / 1e9);
    return buf;
}

static const char *kind_name(enum sk_bench_kind k)
{
    return k == SK_BENCH_HTTP ? "http" : k == SK_BENCH_UDP_ECHO ? "udp-echo" : "echo";
}

static double per_s(double v, double s)
{
    return s > 0 ? v / s : 0;
}

void sk_bench_report_text(FILE *f, const struct sk_bench_cfg *cfg,
                          const struct sk_bench_result *res)
{
    char a[32], b[32], c[32], d[32], e[32], g[32];
    const struct sk_hist *h = &res->hist;
    const char *unit = cfg->kind == SK_BENCH_HTTP ? "requests" : "messages";

    fprintf(f, "sockit bench %s %s\n", kind_name(cfg->kind), cfg->label ? cfg->label : "");
    fprintf(f, "  %u connection%s, %u thread%s", cfg->conns, cfg->conns == 1 ? "" : "s",
            cfg->threads, cfg->threads == 1 ? "" : "s");
    if (cfg->kind != SK_BENCH_HTTP)
        fprintf(f, ", %zu-byte messages", cfg->msg_size);
    if (cfg->pipeline > 1)
        fprintf(f, ", pipeline %u", cfg->pipeline);
    if (cfg->rate > 0)
        fprintf(f, ", open loop at %.0f/s", cfg->rate);
    fprintf(f, ", %.2f s\n", res->elapsed_s);
    /* The achieved rate beside the target: an open loop the server (or this
     * machine) could not keep up with says so here. */
    if (cfg->rate > 0)
        fprintf(f, "  rate: target %.0f/s, achieved %.1f/s\n", cfg->rate,
                per_s((double)res->requests, res->elapsed_s));
    fputc('\n', f);
    fprintf(f, "  %-10s %14s %14s\n", "", "total", "per second");
    fprintf(f, "  %-10s %14" PRIu64 " %14.1f\n", unit, res->requests,
            per_s((double)res->requests, res->elapsed_s));
    fprintf(f, "  %-10s %14.2f %14.2f\n", "MB in", (double)res->bytes_in / 1e6,
            per_s((double)res->bytes_in / 1e6, res->elapsed_s));
    fprintf(f, "  %-10s %14.2f %14.2f\n", "MB out", (double)res->bytes_out / 1e6,
            per_s((double)res->bytes_out / 1e6, res->elapsed_s));
    fprintf(f, "\n  latency%s   %9s %9s %9s %9s %9s %9s\n", cfg->rate > 0 ? "*" : " ", "mean",
            "p50", "p90", "p99", "p99.9", "max");
    /* Open loop: the corrected latencies (from the intended send time) and,
     * below them, the uncorrected ones (from the actual send time). */
    for (int row = 0; row < (cfg->rate > 0 ? 2 : 1); row++) {
        const struct sk_hist *x = row ? &res->hist_sent : h;
        if (!x->count) {
            fprintf(f, "             (no replies)\n");
            break;
        }
        fprintf(f, "  %-11s%9s %9s %9s %9s %9s %9s\n",
                cfg->rate > 0 ? (row ? "uncorrected" : "corrected") : "",
                sk_bench_fmt_ns((int64_t)sk_hist_mean(x), a, sizeof(a)),
                sk_bench_fmt_ns(sk_hist_percentile(x, 50), b, sizeof(b)),
                sk_bench_fmt_ns(sk_hist_percentile(x, 90), c, sizeof(c)),
                sk_bench_fmt_ns(sk_hist_percentile(x, 99), d, sizeof(d)),
                sk_bench_fmt_ns(sk_hist_percentile(x, 99.9), e, sizeof(e)),
                sk_bench_fmt_ns(x->max, g, sizeof(g)));
    }
    if (cfg->rate > 0)
        fprintf(f, "  * corrected: from each request's intended send time; uncorrected: from when "
                   "it was written\n");
    if (res->starved)
        fprintf(f,
                "\n  %llu of %u connection%s never got a reply (the server did not serve "
                "%s)\n",
                (unsigned long long)res->starved, cfg->conns, cfg->conns == 1 ? "" : "s",
                res->starved == 1 ? "it" : "them");
    fprintf(f, "\n  errors    ");
    for (int k = 0; k < SK_BERR_N; k++)
        fprintf(f, " %s %" PRIu64 "%s", sk_bench_err_names[k], res->errors[k],
                k + 1 < SK_BERR_N ? "," : "\n");
    if (cfg->tls)
        fprintf(f, "  tls        %" PRIu64 " full handshake%s%s%s\n", res->handshakes,
                res->handshakes == 1 ? "" : "s", res->tls_why[0] ? "; first failure: " : "",
                res->tls_why);
}

static void json_lat(FILE *f, const char *key, const struct sk_hist *h)
{
    fprintf(f,
            "\"%s\": {\"count\": %" PRIu64 ", \"min\": %.3f, \"mean\": %.3f, "
            "\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p99_9\": %.3f, \"max\": %.3f}, ",
            key, h->count, h->count ? (double)h->min / 1e3 : 0.0, sk_hist_mean(h) / 1e3,
            (double)sk_hist_percentile(h, 50) / 1e3, (double)sk_hist_percentile(h, 90) / 1e3,
            (double)sk_hist_percentile(h, 99) / 1e3, (double)sk_hist_percentile(h, 99.9) / 1e3,
            (double)h->max / 1e3);
}

void sk_bench_report_json(FILE *f, const struct sk_bench_cfg *cfg,
                          const struct sk_bench_result *res)
{
    const struct sk_hist *h = &res->hist;
    fprintf(f, "{\"kind\": \"%s\", \"target\": ", kind_name(cfg->kind));
    sk_json_str(f, cfg->label ? cfg->label : "");
    fprintf(f, ", \"connections\": %u, \"threads\": %u, ", cfg->conns, cfg->threads);
    if (cfg->kind != SK_BENCH_HTTP)
        fprintf(f, "\"message_size\": %zu, ", cfg->msg_size);
    fprintf(f, "\"pipeline\": %u, ", cfg->pipeline);
    if (cfg->rate > 0)
        fprintf(f, "\"rate\": %.3f, ", cfg->rate);
    else
        fprintf(f, "\"rate\": null, "); /* closed loop: no rate was set */
    fprintf(f, "\"elapsed_s\": %.6f, ", res->elapsed_s);
    fprintf(f, "\"requests\": %" PRIu64 ", \"requests_per_s\": %.3f, ", res->requests,
            per_s((double)res->requests, res->elapsed_s));
    fprintf(f, "\"bytes_in\": %" PRIu64 ", \"bytes_out\": %" PRIu64 ", \"mb_in_per_s\": %.3f, ",
            res->bytes_in, res->bytes_out, per_s((double)res->bytes_in / 1e6, res->elapsed_s));
    fprintf(f, "\"connects\": %" PRIu64 ", \"starved_connections\": %" PRIu64 ", ", res->connects,
            res->starved);
    json_lat(f, "latency_us", h);
    if (cfg->rate > 0)
        json_lat(f, "latency_uncorrected_us", &res->hist_sent);
    fprintf(f, "\"errors\": {");
    for (int k = 0; k < SK_BERR_N; k++)
        fprintf(f, "\"%s\": %" PRIu64 "%s", sk_bench_err_names[k], res->errors[k],
                k + 1 < SK_BERR_N ? ", " : "");
    fprintf(f, "}, \"errors_total\": %" PRIu64, sk_bench_errors_total(res));
    if (cfg->tls) {
        fprintf(f, ", \"tls\": {\"handshakes\": %" PRIu64 ", \"first_failure\": ", res->handshakes);
        if (res->tls_why[0])
            sk_json_str(f, res->tls_why);
        else
            fprintf(f, "null");
        fprintf(f, "}");
    }
    fprintf(f, "}\n");
}

/* ---- the model comparison ---- */

static const char *fmt_kb(long kb, char *buf, size_t len)
{
    if (kb <= 0)
        snprintf(buf, len, "-");
    else if (kb < 10240)
        snprintf(buf, len, "%.1fM", (double)kb / 1024);
    else
        snprintf(buf, len, "%.0fM", (double)kb / 1024);
    return buf;
}

/* The fastest model (its best point by requests/s) and the best point of
 * the runner-up model; -1 when there is none. */
static void fastest(const struct sk_bench_models_cfg *cfg, const struct sk_bench_point *points,
                    size_t nmodels, long *best, long *second)
{
    *best = *second = -1;
    long per_model[64];
    size_t nm = nmodels < 64 ? nmodels : 64;
    for (size_t mi = 0; mi < nm; mi++) {
        per_model[mi] = -1;
        for (size_t ci = 0; ci < cfg->nconns; ci++) {
            long i = (long)(mi * cfg->nconns + ci);
            if (points[i].ok && points[i].requests > 0 &&
                (per_model[mi] < 0 || points[i].rps > points[per_model[mi]].rps))
                per_model[mi] = i;
        }
    }
    for (size_t mi = 0; mi < nm; mi++) {
        long i = per_model[mi];
        if (i < 0)
            continue;
        if (*best < 0 || points[i].rps > points[*best].rps) {
            *second = *best;
            *best = i;
        } else if (*second < 0 || points[i].rps > points[*second].rps) {
            *second = i;
        }
    }
}

void sk_bench_models_table(FILE *f, const struct sk_bench_models_cfg *cfg,
                           const struct sk_bench_point *points, size_t nmodels)
{
    const struct sk_bench_cfg *l = &cfg->load;
    char a[32], b[32], c[32];

    fprintf(f, "sockit bench models %s%s%s: ", l->kind == SK_BENCH_UDP_ECHO ? "-u " : "",
            cfg->service, cfg->tls ? " --tls (full handshake per connection)" : "");
    if (l->kind != SK_BENCH_HTTP)
        fprintf(f, "%zu-byte messages, ", l->msg_size);
    fprintf(f, "%u load thread%s, pipeline %u, %.1f s per point", l->threads,
            l->threads == 1 ? "" : "s", l->pipeline, (double)l->duration_ms / 1000);
    /* --rates: the second column is the offered rate, at one connection count. */
    if (cfg->rates && cfg->nconns)
        fprintf(f, ", %u connections, open loop", cfg->conns[0]);
    fputc('\n', f);
    fprintf(f, "%-10s %9s %12s %9s %9s %10s %8s %8s %8s  %s\n", "model",
            cfg->rates ? "offered/s" : "conns", "req/s", "p50", "p99", "cpu/req", "peakRSS",
            "KB/conn", "errors", "");
    for (size_t ci = 0; ci < cfg->nconns; ci++) {
        for (size_t mi = 0; mi < nmodels; mi++) {
            const struct sk_bench_point *p = &points[mi * cfg->nconns + ci];
            if (!p->ok) {
                fprintf(f, "%-10s %9.0f %12s %9s %9s %10s %8s %8s %8s  %s\n", p->model,
                        cfg->rates ? p->rate : (double)p->conns, "-", "-", "-", "-", "-", "-", "-",
                        p->note);
                continue;
            }
            char cpu[32];
            snprintf(cpu, sizeof(cpu), "%.2fus", p->cpu_us_per_req);
            char per[32];
            snprintf(per, sizeof(per), "%.2f", p->kb_per_conn);
            fprintf(f, "%-10s %9.0f %12.0f %9s %9s %10s %8s %8s %8llu  %s\n", p->model,
                    cfg->rates ? p->rate : (double)p->conns, p->rps,
                    sk_bench_fmt_ns(p->p50_ns, a, sizeof(a)),
                    sk_bench_fmt_ns(p->p99_ns, b, sizeof(b)), p->requests ? cpu : "-",
                    fmt_kb(p->peak_rss_kb, c, sizeof(c)), p->kb_per_conn > 0 ? per : "-",
                    (unsigned long long)p->errors, p->note);
        }
        if (ci + 1 < cfg->nconns && nmodels > 1)
            fputc('\n', f);
    }
    fprintf(f, "cpu/req: the server's user+system CPU time per reply (wait4 rusage); "
               "peakRSS: its largest resident set; KB/conn: (peakRSS - RSS before the load) / "
               "conns.\n");
    long w, s2;
    fastest(cfg, points, nmodels, &w, &s2);
    if (w >= 0 && s2 >= 0 && points[s2].rps > 0)
        fprintf(f, "fastest: %s, %.0f req/s at %u conn%s, %.2fx the next (%s, %.0f req/s at %u)\n",
                points[w].model, points[w].rps, points[w].conns, points[w].conns == 1 ? "" : "s",
                points[w].rps / points[s2].rps, points[s2].model, points[s2].rps, points[s2].conns);
    else if (w >= 0)
        fprintf(f, "fastest: %s, %.0f req/s at %u conn%s (no other model measured)\n",
                points[w].model, points[w].rps, points[w].conns, points[w].conns == 1 ? "" : "s");
}

void sk_bench_models_json(FILE *f, const struct sk_bench_models_cfg *cfg,
                          const struct sk_bench_point *points, size_t nmodels)
{
    const struct sk_bench_cfg *l = &cfg->load;
    fprintf(f, "{\"service\": ");
    sk_json_str(f, cfg->service);
    fprintf(f,
            ", \"udp\": %s, \"tls\": %s, \"message_size\": %zu, \"threads\": %u, "
            "\"pipeline\": %u, \"duration_s\": %.3f, \"points\": [",
            l->kind == SK_BENCH_UDP_ECHO ? "true" : "false", cfg->tls ? "true" : "false",
            l->msg_size, l->threads, l->pipeline, (double)l->duration_ms / 1000);
    int first = 1;
    for (size_t mi = 0; mi < nmodels; mi++)
        for (size_t ci = 0; ci < cfg->nconns; ci++) {
            const struct sk_bench_point *p = &points[mi * cfg->nconns + ci];
            fprintf(f, "%s\n  {\"model\": ", first ? "" : ",");
            first = 0;
            sk_json_str(f, p->model);
            fprintf(f, ", \"conns\": %u, \"rate\": %.1f, \"ok\": %s", p->conns, p->rate,
                    p->ok ? "true" : "false");
            if (p->ok)
                fprintf(f,
                        ", \"requests\": %llu, \"requests_per_s\": %.3f, \"p50_us\": %.3f, "
                        "\"p99_us\": %.3f, \"cpu_us_per_request\": %.4f, "
                        "\"peak_rss_kb\": %ld, \"base_rss_kb\": %ld, \"kb_per_conn\": %.3f, "
                        "\"errors\": %llu, \"starved\": %llu",
                        (unsigned long long)p->requests, p->rps, (double)p->p50_ns / 1e3,
                        (double)p->p99_ns / 1e3, p->cpu_us_per_req, p->peak_rss_kb, p->base_rss_kb,
                        p->kb_per_conn, (unsigned long long)p->errors,
                        (unsigned long long)p->starved);
            fprintf(f, ", \"note\": ");
            sk_json_str(f, p->note);
            fputc('}', f);
        }
    long b, s2;
    fastest(cfg, points, nmodels, &b, &s2);
    fprintf(f, "\n], \"fastest\": ");
    if (b < 0) {
        fprintf(f, "null}\n");
        return;
    }
    fprintf(f, "{\"model\": ");
    sk_json_str(f, points[b].model);
    fprintf(f, ", \"requests_per_s\": %.3f, \"conns\": %u", points[b].rps, points[b].conns);
    if (s2 >= 0 && points[s2].rps > 0) {
        fprintf(f, ", \"next\": ");
        sk_json_str(f, points[s2].model);
        fprintf(f, ", \"next_requests_per_s\": %.3f, \"ratio\": %.4f", points[s2].rps,
                points[b].rps / points[s2].rps);
    }
    fprintf(f, "}}\n");
}
