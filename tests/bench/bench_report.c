/* Human and JSON output of a phase's figures (see bench_report.h). */
#include "bench_report.h"

#include <stdio.h>

/* MB = 10^6 bytes of record payload (value + key). */
static double mb_per_s(const bench_result_t *r)
{
    return r->seconds > 0 ? (double)r->bytes / 1e6 / r->seconds : 0;
}

static double msgs_per_s(const bench_result_t *r)
{
    return r->seconds > 0 ? (double)r->messages / r->seconds : 0;
}

static void human(FILE *f, const bench_result_t *r)
{
    fprintf(f, "%s: %llu msgs in %.3f s: %.0f msgs/s, %.2f MB/s",
            r->phase, (unsigned long long)r->messages, r->seconds, msgs_per_s(r), mb_per_s(r));
    if (r->has_latency)
        fprintf(f, "; delivery latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms "
                "(%zu samples)", r->lat.p50_ms, r->lat.p99_ms, r->lat.p999_ms, r->lat.max_ms,
                r->lat.samples);
    if (r->first_ms > 0)
        fprintf(f, "; first message after %.1f ms", r->first_ms);
    fprintf(f, "; %s %llu", r->phase[0] == 'c' ? "errors" : "failures",
            (unsigned long long)r->failures);
    if (r->note[0])
        fprintf(f, "; %s", r->note);
    fprintf(f, "%s\n", r->ok ? "" : " [FAILED]");
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_field(FILE *f, const char *key, const char *value)
{
    fprintf(f, "\"%s\":", key);
    json_string(f, value);
    fputc(',', f);
}

static void json(FILE *f, const bench_opts_t *o, const char *target, const bench_result_t *r)
{
    fputc('{', f);
    json_field(f, "phase", r->phase);
    json_field(f, "target", target);
    json_field(f, "label", o->label ? o->label : "");
    json_field(f, "topic", o->topic);
    json_field(f, "acks", o->acks);
    json_field(f, "compression", o->compression);
    json_field(f, "note", r->note);
    fprintf(f, "\"ok\":%s,\"partitions\":%d,\"size\":%d,\"linger_ms\":%d,\"keys\":%s,",
            r->ok ? "true" : "false", o->partitions, o->size, o->linger_ms,
            o->keys ? "true" : "false");
    fprintf(f, "\"messages\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"msgs_per_s\":%.1f,"
            "\"mb_per_s\":%.3f,\"failures\":%llu",
            (unsigned long long)r->messages, (unsigned long long)r->bytes, r->seconds,
            msgs_per_s(r), mb_per_s(r), (unsigned long long)r->failures);
    if (r->has_latency)
        fprintf(f, ",\"lat_samples\":%zu,\"lat_p50_ms\":%.3f,\"lat_p99_ms\":%.3f,"
                "\"lat_p999_ms\":%.3f,\"lat_max_ms\":%.3f", r->lat.samples, r->lat.p50_ms,
                r->lat.p99_ms, r->lat.p999_ms, r->lat.max_ms);
    if (r->rate > 0)
        fprintf(f, ",\"rate\":%.1f", r->rate);
    if (r->first_ms > 0)
        fprintf(f, ",\"first_ms\":%.3f", r->first_ms);
    fputs("}\n", f);
    fflush(f);
}

void bench_report(const bench_opts_t *o, const char *target, const bench_result_t *r)
{
    human(o->json ? stderr : stdout, r);
    if (o->json)
        json(stdout, o, target, r);
    fflush(stdout);
}
