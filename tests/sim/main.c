/* cairn-sim: runs the deterministic Raft simulation over many seeds.
 *   cairn-sim --seeds N [--start S]     run seeds S..S+N-1 (S defaults to 1)
 *   cairn-sim --seed S [--trace]        one seed; --trace prints every line
 *   cairn-sim --replay-check --seeds N  each seed twice: traces must match
 *   cairn-sim --seeds N --keep-going    count violating seeds instead of stopping
 * On a violation it prints the seed, the invariant and the last trace lines
 * (by replaying the seed with tracing on) and exits 1. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sim.h"

void sim_trace_line(sim_trace_t *t, const char *line)
{
    t->hash = sim_hash_bytes(sim_hash_u64(t->hash, t->count), line, strlen(line));
    t->count++;
    snprintf(t->lines[t->next], SIM_TRACE_LINE_MAX, "%s", line);
    t->next = (t->next + 1) % SIM_TRACE_KEEP;
    if (t->print)
        printf("%s\n", line);
}

void sim_trace_dump(const sim_trace_t *t, FILE *file)
{
    size_t n = t->count < SIM_TRACE_KEEP ? (size_t)t->count : SIM_TRACE_KEEP;
    size_t start = (t->next + SIM_TRACE_KEEP - n) % SIM_TRACE_KEEP;
    for (size_t i = 0; i < n; i++)
        fprintf(file, "%s\n", t->lines[(start + i) % SIM_TRACE_KEEP]);
}

/* The seed being run, for the abort handler only: an assertion inside the
 * core must still say which seed to replay. */
static volatile sig_atomic_t abort_seed_set;
static char abort_note[160];

static void on_abort(int sig)
{
    (void)sig;
    if (abort_seed_set) {
        ssize_t w = write(STDERR_FILENO, abort_note, strlen(abort_note));
        (void)w;
    }
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
}

static void set_abort_note(uint64_t seed)
{
    snprintf(abort_note, sizeof abort_note,
             "sim: seed %" PRIu64 " aborted (assertion); replay: cairn-sim --seed %" PRIu64
             " --trace\n", seed, seed);
    abort_seed_set = 1;
}

typedef struct opts {
    uint64_t start;
    uint64_t seeds;
    bool single, trace, replay_check, keep_going;
} opts_t;

static int usage(void)
{
    fprintf(stderr, "usage: cairn-sim --seeds N [--start S]\n"
                    "       cairn-sim --seed S [--trace]\n"
                    "       cairn-sim --replay-check --seeds N [--start S]\n"
                    "       cairn-sim --seeds N [--start S] --keep-going\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s)
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool parse(int argc, char **argv, opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->start = 1;
    o->seeds = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--trace")) {
            o->trace = true;
        } else if (!strcmp(a, "--keep-going")) {
            o->keep_going = true;
        } else if (!strcmp(a, "--replay-check")) {
            o->replay_check = true;
        } else if (!strcmp(a, "--seeds") && parse_u64(v, &o->seeds) && o->seeds > 0) {
            i++;
        } else if (!strcmp(a, "--start") && parse_u64(v, &o->start)) {
            i++;
        } else if (!strcmp(a, "--seed") && parse_u64(v, &o->start)) {
            o->single = true;
            o->seeds = 1;
            i++;
        } else {
            return false;
        }
    }
    return !(o->trace && !o->single);
}

/* Replays a failed seed with tracing on and prints the report. */
static void report(uint64_t seed, const char *violation)
{
    sim_trace_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    uint64_t fp;
    sim_stats_t st;
    char again[SIM_VIOLATION_MAX];
    bool ok = sim_run(seed, t, &fp, &st, again, sizeof again);
    fprintf(stderr, "sim: seed %" PRIu64 " violated an invariant: %s\n", seed, violation);
    if (ok || strcmp(again, violation) != 0)
        fprintf(stderr, "sim: WARNING: the traced replay did not reproduce it (%s)\n",
                ok ? "passed" : again);
    fprintf(stderr, "sim: last %d trace lines:\n", SIM_TRACE_KEEP);
    sim_trace_dump(t, stderr);
    fprintf(stderr, "sim: replay with: cairn-sim --seed %" PRIu64 " --trace\n", seed);
    free(t);
}

static void add_stats(sim_stats_t *sum, const sim_stats_t *s)
{
    sum->events += s->events;
    sum->crashes += s->crashes;
    sum->torn += s->torn;
    sum->partitions += s->partitions;
    sum->proposals += s->proposals;
    sum->commits += s->commits;
    sum->elections += s->elections;
    sum->snapshots_taken += s->snapshots_taken;
    sum->installs += s->installs;
    sum->strikes += s->strikes;
    if (s->max_term > sum->max_term)
        sum->max_term = s->max_term;
}

static void print_summary(const opts_t *o, const sim_stats_t *sum)
{
    printf("sim: %" PRIu64 " seeds passed (from %" PRIu64 "; %" PRIu64 " events, %" PRIu64
           " leaders, %" PRIu64 " crashes (%" PRIu64 " inside an update), %" PRIu64
           " partitions, %" PRIu64 " new leaders struck, %" PRIu64 " proposals, %" PRIu64
           " entries committed, %" PRIu64 " snapshots, %" PRIu64 " installs, max term %"
           PRIu64 ")\n", o->seeds, o->start, sum->events, sum->elections, sum->crashes,
           sum->torn, sum->partitions, sum->strikes, sum->proposals, sum->commits,
           sum->snapshots_taken, sum->installs, sum->max_term);
}

static int run_seeds(const opts_t *o)
{
    sim_stats_t sum;
    memset(&sum, 0, sizeof sum);
    sim_trace_t *t = NULL;
    if (o->trace) {
        t = calloc(1, sizeof *t);
        if (!t)
            abort();
        t->print = true;
    }
    uint64_t failed = 0, first_failed = 0;
    for (uint64_t seed = o->start; seed < o->start + o->seeds; seed++) {
        set_abort_note(seed);
        uint64_t fp;
        sim_stats_t st;
        char violation[SIM_VIOLATION_MAX];
        bool ok = sim_run(seed, t, &fp, &st, violation, sizeof violation);
        add_stats(&sum, &st);
        if (ok)
            continue;
        if (failed++ == 0)
            first_failed = seed;
        if (o->keep_going) {
            printf("sim: seed %" PRIu64 ": %s\n", seed, violation);
            continue;
        }
        if (t)
            fprintf(stderr, "sim: seed %" PRIu64 " violated an invariant: %s\n", seed,
                    violation);
        else
            report(seed, violation);
        free(t);
        return 1;
    }
    free(t);
    if (failed) {
        printf("sim: %" PRIu64 " of %" PRIu64 " seeds violated an invariant (first: seed %"
               PRIu64 ")\n", failed, o->seeds, first_failed);
        return 1;
    }
    print_summary(o, &sum);
    return 0;
}

/* Determinism: the same seed gives the same trace, byte for byte, and
 * tracing itself changes nothing. */
static int replay_check(const opts_t *o)
{
    sim_trace_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    if (!a || !b)
        abort();
    int rc = 0;
    for (uint64_t seed = o->start; seed < o->start + o->seeds && rc == 0; seed++) {
        set_abort_note(seed);
        memset(a, 0, sizeof *a);
        memset(b, 0, sizeof *b);
        uint64_t fa, fb, fc;
        sim_stats_t st;
        char v[SIM_VIOLATION_MAX];
        bool oka = sim_run(seed, a, &fa, &st, v, sizeof v);
        bool okb = sim_run(seed, b, &fb, &st, v, sizeof v);
        bool okc = sim_run(seed, NULL, &fc, &st, v, sizeof v);
        if (a->count != b->count || a->hash != b->hash || fa != fb || fa != fc ||
            oka != okb || oka != okc) {
            fprintf(stderr, "sim: seed %" PRIu64 " is not deterministic: %" PRIu64
                    " vs %" PRIu64 " trace lines, fingerprints %016" PRIx64 " %016" PRIx64
                    " %016" PRIx64 "\n", seed, a->count, b->count, fa, fb, fc);
            rc = 1;
        }
    }
    if (rc == 0)
        printf("sim: %" PRIu64 " seeds replayed identically\n", o->seeds);
    free(a);
    free(b);
    return rc;
}

int main(int argc, char **argv)
{
    opts_t o;
    if (!parse(argc, argv, &o))
        return usage();
    /* The core logs leadership changes at info; thousands per run are noise. */
    cairn_log_init("sim", 0, CAIRN_LOG_ERROR);
    signal(SIGABRT, on_abort);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    return o.replay_check ? replay_check(&o) : run_seeds(&o);
}
