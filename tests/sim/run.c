/* One simulated run: picks a fault model from the seed, then drives the
 * cluster event by event in virtual time (deliveries, ticks, crashes,
 * restarts, partitions, proposals) with a chaos phase followed by a healed
 * liveness phase. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define LIVENESS_MS 60000u     /* healed cluster must commit within this */
#define RETRY_PROPOSAL_MS 1000u

void sim_tracef(sim_t *s, const char *fmt, ...)
{
    if (!s->trace)
        return;
    char line[SIM_TRACE_LINE_MAX];
    int n = snprintf(line, sizeof line, "t=%" PRIu64 " ", s->now_ms);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    sim_trace_line(s->trace, line);
}

/* The fault model is itself random per seed, so the seeds together cover
 * calm and hostile clusters. The ranges were tuned until the deliberately
 * broken core (CAIRN_RAFT_BUG_COMMIT_OLD_TERM) fails in a few percent of
 * seeds: figure-8 histories need stale leaders that keep taking proposals,
 * followers far behind a new leader (caught up in small batches) and that
 * leader dying mid-way, so proposals are frequent and batches small. */
static void pick_params(sim_t *s)
{
    sim_rng_t *g = &s->rng;
    sim_params_t *p = &s->p;
    p->n_nodes = sim_chance(g, 700) ? 3 : 5;
    p->prevote = sim_chance(g, 850);
    p->check_quorum = sim_chance(g, 850);
    p->election_ms = 100;
    p->heartbeat_ms = sim_range(g, 15, 35);
    p->tick_ms = 10;
    p->max_append_entries = (size_t)sim_range(g, 1, 3);
    p->max_uncommitted_bytes = (size_t)sim_range(g, 512, 4096);
    p->fsync_max_ms = sim_chance(g, 500) ? 0 : sim_range(g, 1, 8);
    p->chaos_ms = sim_range(g, 10000, 20000);
    p->crash_every_ms = sim_range(g, 50, 600);
    p->down_max_ms = sim_range(g, 20, 500);
    p->mid_update_per_mille = 500;
    p->partition_every_ms = sim_range(g, 50, 1000);
    p->partition_max_ms = sim_range(g, 50, 1000);
    p->propose_every_ms = sim_range(g, 1, 4);
    p->compact_every = sim_range(g, 3, 60);
    p->strike_per_mille = (uint32_t)sim_range(g, 300, 900);
    p->strike_max_ms = sim_range(g, 1, 50);
    s->net.drop_per_mille = (uint32_t)sim_range(g, 0, 150);
    s->net.dup_per_mille = (uint32_t)sim_range(g, 0, 50);
    s->net.latency_min_ms = 1;
    s->net.latency_max_ms = sim_range(g, 2, 60);
}

static void setup(sim_t *s, uint64_t seed, sim_trace_t *trace)
{
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->rng.s = seed;
    s->trace = trace;
    sim_net_init(&s->net);
    sim_checker_init(&s->chk);
    pick_params(s);
    s->next_crash_ms = sim_range(&s->rng, 0, 2 * s->p.crash_every_ms);
    s->next_partition_ms = sim_range(&s->rng, 0, 2 * s->p.partition_every_ms);
    s->heal_ms = UINT64_MAX;
    s->strike_ms = UINT64_MAX;
    s->chaos = true;
    s->next_propose_ms = 0;
    s->next_proposal_id = 1;
    sim_tracef(s, "sim seed %" PRIu64 ": %zu voters prevote %d check_quorum %d heartbeat %"
               PRIu64 " batch %zu fsync <= %" PRIu64 " drop %u/1000 dup %u/1000 latency <= %"
               PRIu64 " chaos %" PRIu64 " ms", seed, s->p.n_nodes, s->p.prevote,
               s->p.check_quorum, s->p.heartbeat_ms, s->p.max_append_entries,
               s->p.fsync_max_ms, s->net.drop_per_mille, s->net.dup_per_mille,
               s->net.latency_max_ms, s->p.chaos_ms);
    for (uint32_t id = 1; id <= s->p.n_nodes; id++) {
        s->nodes[id].id = id;
        sim_node_start(s, &s->nodes[id]);
        s->nodes[id].next_tick_ms = sim_range(&s->rng, 1, s->p.tick_ms);
    }
}

static void teardown(sim_t *s)
{
    for (uint32_t id = 1; id <= s->p.n_nodes; id++)
        sim_node_free(&s->nodes[id]);
    sim_net_free(&s->net);
    sim_checker_free(&s->chk);
}

/* ---- events ---------------------------------------------------------------- */

static void deliver(sim_t *s)
{
    sim_packet_t *p = sim_net_pop(&s->net);
    sim_node_t *nd = &s->nodes[p->msg.to];
    if (nd->r && !s->net.cut[p->msg.from][p->msg.to]) {
        raft_step(nd->r, &p->msg, s->now_ms);
        sim_node_drain(s, nd);
    }
    free(p);
}

static void tick_node(sim_t *s, sim_node_t *nd)
{
    if (nd->r && nd->holding && nd->fsync_done_ms <= nd->next_tick_ms) {
        sim_node_fsync_done(s, nd);
        return;
    }
    if (!nd->r) {
        sim_tracef(s, "sim n%u restart", nd->id);
        sim_node_start(s, nd);
        s->stats.restarts++;
    } else {
        nd->next_tick_ms += s->p.tick_ms;
        raft_tick(nd->r, s->now_ms);
    }
    sim_node_drain(s, nd);
}

static void crash_event(sim_t *s)
{
    s->next_crash_ms = s->now_ms + sim_range(&s->rng, s->p.crash_every_ms / 2,
                                             s->p.crash_every_ms * 3 / 2);
    sim_node_t *nd = &s->nodes[sim_range(&s->rng, 1, s->p.n_nodes)];
    if (!nd->r || nd->crash_armed)
        return;
    if (sim_chance(&s->rng, s->p.mid_update_per_mille)) {
        nd->crash_armed = true;   /* strikes inside its next persist */
        return;
    }
    sim_node_crash(s, nd, "between updates");
}

/* Isolates one node, splits the cluster in two, or cuts random links (some
 * one way only). */
static void partition_event(sim_t *s)
{
    sim_net_t *net = &s->net;
    size_t n = s->p.n_nodes;
    if (s->heal_ms != UINT64_MAX) {
        sim_net_heal(net);
        s->heal_ms = UINT64_MAX;
        s->next_partition_ms = s->now_ms + sim_range(&s->rng, 0, s->p.partition_every_ms);
        sim_tracef(s, "sim heal");
        return;
    }
    uint64_t kind = sim_range(&s->rng, 0, 2);
    uint32_t side[SIM_MAX_NODES + 1] = { 0 };
    uint32_t lonely = (uint32_t)sim_range(&s->rng, 1, n);
    for (uint32_t i = 1; i <= n; i++)
        side[i] = kind == 0 ? (i == lonely) : (uint32_t)sim_range(&s->rng, 0, 1);
    char desc[64] = { 0 };
    size_t len = 0;
    for (uint32_t a = 1; a <= n; a++) {
        len += (size_t)snprintf(desc + len, sizeof desc - len, "%u", side[a]);
        for (uint32_t b = 1; b <= n; b++)
            net->cut[a][b] = a != b && (kind < 2 ? side[a] != side[b]
                                                 : sim_chance(&s->rng, 300));
    }
    /* Some cut links also reset their connection although both ends live:
     * the hint must never cost safety. */
    for (uint32_t a = 1; a <= n; a++)
        for (uint32_t b = 1; b <= n; b++)
            if (net->cut[a][b] && s->nodes[b].r && sim_chance(&s->rng, 200))
                raft_peer_down(s->nodes[b].r, a, s->now_ms);
    s->heal_ms = s->now_ms + sim_range(&s->rng, 50, s->p.partition_max_ms);
    s->stats.partitions++;
    sim_tracef(s, "sim partition kind %" PRIu64 " sides %s", kind, desc);
}

/* The leader chosen by maybe_schedule_strike crashes (cleanly or inside an
 * update) or is cut off from everyone, if it still leads that term. */
static void strike_event(sim_t *s)
{
    sim_node_t *nd = &s->nodes[s->strike_node];
    s->strike_ms = UINT64_MAX;
    if (!nd->r || raft_role(nd->r) != RAFT_LEADER || raft_term(nd->r) != s->strike_term)
        return;
    s->stats.strikes++;
    uint64_t how = sim_range(&s->rng, 0, 2);
    if (how == 0) {
        sim_node_crash(s, nd, "struck as new leader");
    } else if (how == 1) {
        nd->crash_armed = true;
        sim_tracef(s, "sim n%u struck as new leader: crash inside next update", nd->id);
    } else {
        for (uint32_t j = 1; j <= s->p.n_nodes; j++)
            s->net.cut[nd->id][j] = s->net.cut[j][nd->id] = j != nd->id;
        if (s->heal_ms == UINT64_MAX)
            s->heal_ms = s->now_ms + sim_range(&s->rng, 50, s->p.partition_max_ms);
        sim_tracef(s, "sim n%u struck as new leader: isolated", nd->id);
    }
}

static sim_node_t *find_leader(sim_t *s)
{
    sim_node_t *best = NULL;
    for (uint32_t id = 1; id <= s->p.n_nodes; id++) {
        sim_node_t *nd = &s->nodes[id];
        if (nd->r && raft_role(nd->r) == RAFT_LEADER &&
            (!best || raft_term(nd->r) > raft_term(best->r)))
            best = nd;
    }
    return best;
}

/* Data is the proposal id followed by a few random bytes: unique, and
 * checkable for "applied exactly once". */
static uint64_t propose(sim_t *s, sim_node_t *nd)
{
    uint8_t data[32];
    uint64_t id = s->next_proposal_id;
    memcpy(data, &id, 8);
    size_t len = 8 + (size_t)sim_range(&s->rng, 0, 24);
    for (size_t i = 8; i < len; i++)
        data[i] = (uint8_t)sim_rand(&s->rng);
    uint64_t index = 0;
    if (raft_propose(nd->r, data, len, s->now_ms, &index) != RAFT_OK)
        return 0;
    s->next_proposal_id++;
    s->stats.proposals++;
    sim_node_drain(s, nd);
    return id;
}

/* Clients reach any node that believes it leads, stale leaders included:
 * their doomed entries are the divergent suffixes a later leader must
 * overwrite. */
static void propose_event(sim_t *s)
{
    s->next_propose_ms = s->now_ms + sim_range(&s->rng, 1, 2 * s->p.propose_every_ms);
    sim_node_t *nd = &s->nodes[sim_range(&s->rng, 1, s->p.n_nodes)];
    if (!nd->r || raft_role(nd->r) != RAFT_LEADER)
        nd = find_leader(s);
    if (nd)
        propose(s, nd);
}

/* ---- the loop -------------------------------------------------------------- */

static uint64_t node_due(const sim_t *s, const sim_node_t *nd)
{
    if (!nd->r)
        return nd->restart_ms;
    if (nd->holding && nd->fsync_done_ms < nd->next_tick_ms)
        return nd->fsync_done_ms;
    return nd->next_tick_ms;
}

/* Runs exactly one event (the earliest; ties in a fixed order). */
static void step(sim_t *s, bool chaos)
{
    uint64_t t_net = sim_net_next_ms(&s->net);
    sim_node_t *due = NULL;
    for (uint32_t id = 1; id <= s->p.n_nodes; id++)
        if (!due || node_due(s, &s->nodes[id]) < node_due(s, due))
            due = &s->nodes[id];
    uint64_t t_node = node_due(s, due);
    uint64_t t_crash = chaos ? s->next_crash_ms : UINT64_MAX;
    uint64_t t_part = !chaos ? UINT64_MAX : s->heal_ms != UINT64_MAX ? s->heal_ms
                                                                     : s->next_partition_ms;
    uint64_t t_prop = chaos ? s->next_propose_ms : UINT64_MAX;
    uint64_t t_strike = chaos ? s->strike_ms : UINT64_MAX;
    uint64_t t = t_net;
    t = t_strike < t ? t_strike : t;
    t = t_node < t ? t_node : t;
    t = t_crash < t ? t_crash : t;
    t = t_part < t ? t_part : t;
    t = t_prop < t ? t_prop : t;
    if (t > s->now_ms)
        s->now_ms = t;
    s->stats.events++;
    if (t == t_net)
        deliver(s);
    else if (t == t_node)
        tick_node(s, due);
    else if (t == t_crash)
        crash_event(s);
    else if (t == t_part)
        partition_event(s);
    else if (t == t_strike)
        strike_event(s);
    else
        propose_event(s);
}

static void run_until(sim_t *s, uint64_t end_ms, bool chaos)
{
    while (!s->chk.failed && s->now_ms < end_ms)
        step(s, chaos);
}

static bool applied_everywhere(sim_t *s, uint64_t id)
{
    if (id == 0 || id >= s->chk.n_proposals || s->chk.proposal_index[id] == 0)
        return false;
    for (uint32_t n = 1; n <= s->p.n_nodes; n++)
        if (!s->nodes[n].r || s->nodes[n].sm_index < s->chk.proposal_index[id])
            return false;
    return true;
}

/* Heal everything, restart everyone: a leader must emerge and a new
 * proposal must reach every state machine. */
static void liveness(sim_t *s)
{
    s->chaos = false;
    sim_net_heal(&s->net);
    s->net.drop_per_mille = 0;
    s->net.dup_per_mille = 0;
    sim_tracef(s, "sim liveness phase: healed, restarting everyone");
    for (uint32_t id = 1; id <= s->p.n_nodes; id++) {
        sim_node_t *nd = &s->nodes[id];
        nd->crash_armed = false;
        if (!nd->r)
            nd->restart_ms = s->now_ms;
    }
    uint64_t deadline = s->now_ms + LIVENESS_MS, retry_ms = 0;
    uint64_t ids[LIVENESS_MS / RETRY_PROPOSAL_MS + 1];
    size_t n_ids = 0;
    while (!s->chk.failed && s->now_ms < deadline) {
        for (size_t i = 0; i < n_ids; i++)
            if (applied_everywhere(s, ids[i]))
                return;
        sim_node_t *leader = find_leader(s);
        if (leader && s->now_ms >= retry_ms && n_ids < sizeof ids / sizeof ids[0]) {
            uint64_t id = propose(s, leader);
            if (id) {
                ids[n_ids++] = id;
                retry_ms = s->now_ms + RETRY_PROPOSAL_MS;
            }
        }
        run_until(s, s->now_ms + 10, false);
    }
    sim_node_t *leader = find_leader(s);
    sim_fail(&s->chk, "liveness: healed cluster %s within %u ms",
             leader ? "did not commit a proposal on every node" : "elected no leader",
             LIVENESS_MS);
}

static uint64_t fingerprint(const sim_t *s)
{
    uint64_t h = sim_hash_u64(SIM_HASH_INIT, s->stats.events);
    for (uint32_t id = 1; id <= s->p.n_nodes; id++) {
        const sim_node_t *nd = &s->nodes[id];
        h = sim_hash_u64(h, nd->r ? raft_term(nd->r) : 0);
        h = sim_hash_u64(h, nd->r ? raft_commit_index(nd->r) : 0);
        h = sim_hash_u64(h, nd->sm_index);
        h = sim_hash_u64(h, nd->sm_digest);
    }
    return h;
}

static void collect_stats(sim_t *s, sim_stats_t *stats)
{
    for (uint32_t id = 1; id <= s->p.n_nodes; id++)
        if (s->nodes[id].r && raft_term(s->nodes[id].r) > s->stats.max_term)
            s->stats.max_term = raft_term(s->nodes[id].r);
    for (size_t t = 0; t < s->chk.n_terms; t++)
        s->stats.elections += s->chk.leader_of_term[t] != 0;
    s->stats.commits = s->chk.max_committed;
    *stats = s->stats;
}

bool sim_run(uint64_t seed, sim_trace_t *trace, uint64_t *fp, sim_stats_t *stats,
             char *violation, size_t violation_len)
{
    sim_t *s = malloc(sizeof *s);
    if (!s)
        abort();
    setup(s, seed, trace);
    run_until(s, s->p.chaos_ms, true);
    if (!s->chk.failed)
        liveness(s);
    if (!s->chk.failed)
        sim_check_logs(&s->chk, s->nodes, s->p.n_nodes);
    bool ok = !s->chk.failed;
    if (!ok) {
        sim_tracef(s, "sim VIOLATION %s", s->chk.violation);
        snprintf(violation, violation_len, "%s", s->chk.violation);
    }
    *fp = fingerprint(s);
    collect_stats(s, stats);
    teardown(s);
    free(s);
    return ok;
}
