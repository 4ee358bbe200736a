/* The simulated host of one Raft node: a disk that keeps what was fsync'd
 * (and tears an update when the node crashes inside it), a state machine
 * that is a hash chain of applied entries, and the raft.h update loop. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SNAPSHOT_LEN 16   /* state machine image: applied index, digest */

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    if (!len)
        return NULL;
    uint8_t *q = malloc(len);
    if (!q)
        abort();
    memcpy(q, p, len);
    return q;
}

static void disk_truncate_from(sim_disk_t *d, uint64_t index)
{
    while (d->n_ents && d->ents[d->n_ents - 1].index >= index)
        free(d->ents[--d->n_ents].data);
}

static void disk_append(sim_disk_t *d, const raft_entry_t *e)
{
    if (d->n_ents == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->ents = realloc(d->ents, d->cap * sizeof *d->ents);
        if (!d->ents)
            abort();
    }
    raft_entry_t *copy = &d->ents[d->n_ents++];
    *copy = *e;
    copy->data = dup_bytes(e->data, e->len);
}

static void disk_set_snapshot(sim_disk_t *d, uint64_t index, uint64_t term,
                              const uint8_t *data, size_t len)
{
    free(d->snap);
    d->snap = dup_bytes(data, len);
    d->snap_len = len;
    d->snap_index = index;
    d->snap_term = term;
}

/* Drops entries up to index, which the snapshot now covers. */
static void disk_compact(sim_disk_t *d, uint64_t index)
{
    size_t drop = 0;
    while (drop < d->n_ents && d->ents[drop].index <= index)
        free(d->ents[drop++].data);
    memmove(d->ents, d->ents + drop, (d->n_ents - drop) * sizeof *d->ents);
    d->n_ents -= drop;
}

void sim_node_free(sim_node_t *nd)
{
    raft_destroy(nd->r);
    nd->r = NULL;
    disk_truncate_from(&nd->disk, 0);
    free(nd->disk.ents);
    free(nd->disk.snap);
    memset(&nd->disk, 0, sizeof nd->disk);
}

/* Persists the update in host order: quorum state (its own fsync'd rename),
 * then the snapshot (atomic), then the entries, fsync'd at the end. steps
 * bounds how far a crash let it get: a torn update keeps only a prefix. */
static void persist(sim_disk_t *d, const raft_update_t *u, size_t steps)
{
    if (steps == 0)
        return;
    if (u->hard_state_changed) {
        d->term = u->term;
        d->voted_for = u->voted_for;
    }
    if (steps == 1)
        return;
    if (u->snapshot_install) {
        disk_truncate_from(d, 0);
        disk_set_snapshot(d, u->snapshot_index, u->snapshot_term, u->snapshot,
                          u->snapshot_len);
    }
    size_t n = u->n_entries < steps - 2 ? u->n_entries : steps - 2;
    if (n)
        disk_truncate_from(d, u->entries[0].index);
    for (size_t i = 0; i < n; i++)
        disk_append(d, &u->entries[i]);
}

static uint64_t prev_term_of(const sim_node_t *nd, const raft_update_t *u, size_t i)
{
    if (i > 0)
        return u->entries[i - 1].term;
    uint64_t prev = u->entries[0].index - 1;
    if (u->snapshot_install && prev == u->snapshot_index)
        return u->snapshot_term;
    const raft_entry_t *e = raft_entry_at(nd->r, prev);
    if (e)
        return e->term;
    if (prev == nd->disk.snap_index)
        return nd->disk.snap_term;
    return UINT64_MAX;   /* unknown */
}

static void check_entries(sim_t *s, sim_node_t *nd, const raft_update_t *u)
{
    for (size_t i = 0; i < u->n_entries && !s->chk.failed; i++)
        sim_check_persisted(&s->chk, nd->id, &u->entries[i], prev_term_of(nd, u, i));
}

static uint64_t chain(uint64_t digest, const raft_entry_t *e)
{
    uint64_t h = sim_hash_u64(digest, e->index);
    h = sim_hash_u64(h, e->term);
    h = sim_hash_u64(h, e->type);
    return sim_hash_bytes(h, e->data, e->len);
}

static void apply(sim_t *s, sim_node_t *nd, const raft_update_t *u)
{
    if (u->snapshot_install) {
        uint64_t idx = 0, digest = 0;
        if (u->snapshot_len == SNAPSHOT_LEN) {
            memcpy(&idx, u->snapshot, 8);
            memcpy(&digest, u->snapshot + 8, 8);
        }
        if (idx != u->snapshot_index)
            sim_fail(&s->chk, "n%u installed a snapshot whose image is for index %" PRIu64
                     ", not %" PRIu64, nd->id, idx, u->snapshot_index);
        nd->sm_index = u->snapshot_index;
        nd->sm_digest = digest;
        sim_check_snapshot(&s->chk, nd->id, nd->sm_index, digest);
        s->stats.installs++;
    }
    for (size_t i = 0; i < u->n_committed && !s->chk.failed; i++) {
        const raft_entry_t *e = &u->committed[i];
        if (e->index != nd->sm_index + 1) {
            sim_fail(&s->chk, "n%u applies index %" PRIu64 " after %" PRIu64, nd->id,
                     e->index, nd->sm_index);
            return;
        }
        nd->sm_digest = chain(nd->sm_digest, e);
        nd->sm_index = e->index;
        sim_check_applied(&s->chk, nd->id, e, nd->sm_digest);
    }
}

/* The host snapshots its state machine now and then (KIP-630 style). */
static void maybe_compact(sim_t *s, sim_node_t *nd)
{
    uint64_t applied = raft_applied_index(nd->r);
    if (applied < raft_snapshot_index(nd->r) + s->p.compact_every ||
        !sim_chance(&s->rng, 300))
        return;
    const raft_entry_t *e = raft_entry_at(nd->r, applied);
    if (!e || applied != nd->sm_index)
        return;
    uint64_t term = e->term;
    uint8_t image[SNAPSHOT_LEN];
    memcpy(image, &applied, 8);
    memcpy(image + 8, &nd->sm_digest, 8);
    if (raft_compact(nd->r, applied, image, sizeof image) != RAFT_OK) {
        sim_fail(&s->chk, "n%u: raft_compact(%" PRIu64 ") refused", nd->id, applied);
        return;
    }
    disk_set_snapshot(&nd->disk, applied, term, image, sizeof image);
    disk_compact(&nd->disk, applied);
    s->stats.snapshots_taken++;
    sim_tracef(s, "sim n%u snapshot at %" PRIu64 "/%" PRIu64, nd->id, applied, term);
}

static bool has_disk_work(const raft_update_t *u)
{
    return u->hard_state_changed || u->snapshot_install || u->n_entries;
}

/* Nemesis: sometimes strike a leader right after its election, when its
 * catch-up of the followers is half done (how figure 8 histories start). */
static void maybe_schedule_strike(sim_t *s, sim_node_t *nd)
{
    uint64_t term = raft_term(nd->r);
    if (raft_role(nd->r) != RAFT_LEADER || nd->strike_checked_term == term)
        return;
    nd->strike_checked_term = term;
    if (!s->chaos || s->strike_ms != UINT64_MAX || !sim_chance(&s->rng, s->p.strike_per_mille))
        return;
    s->strike_ms = s->now_ms + sim_range(&s->rng, 0, s->p.strike_max_ms);
    s->strike_node = nd->id;
    s->strike_term = term;
}

/* A crash inside an update: the fsync never happened, so only a random
 * prefix of the writes survives. */
static void crash_torn(sim_t *s, sim_node_t *nd, const raft_update_t *u)
{
    persist(&nd->disk, u, (size_t)sim_range(&s->rng, 0, 2 + u->n_entries));
    s->stats.torn++;
    nd->holding = false;
    sim_node_crash(s, nd, "inside an update");
}

/* Fsync done: now the messages may go and the entries may be applied. */
static void complete(sim_t *s, sim_node_t *nd, const raft_update_t *u)
{
    if (nd->crash_armed && has_disk_work(u)) {
        crash_torn(s, nd, u);
        return;
    }
    persist(&nd->disk, u, SIZE_MAX);
    for (size_t i = 0; i < u->n_msgs; i++)
        sim_net_send(&s->net, &s->rng, &u->msgs[i], s->now_ms);
    apply(s, nd, u);
    nd->holding = false;
    raft_advance(nd->r, u);
    maybe_compact(s, nd);
}

void sim_node_drain(sim_t *s, sim_node_t *nd)
{
    while (nd->r && !nd->holding && !s->chk.failed && raft_has_update(nd->r)) {
        raft_get_update(nd->r, &nd->held);
        check_entries(s, nd, &nd->held);
        if (s->p.fsync_max_ms && has_disk_work(&nd->held)) {
            nd->holding = true;
            nd->fsync_done_ms = s->now_ms + sim_range(&s->rng, 0, s->p.fsync_max_ms);
            break;
        }
        complete(s, nd, &nd->held);
    }
    if (nd->r && !s->chk.failed) {
        sim_check_node(&s->chk, nd);
        maybe_schedule_strike(s, nd);
    }
}

void sim_node_fsync_done(sim_t *s, sim_node_t *nd)
{
    /* raft_get_update again must return the very update being held. */
    raft_update_t again;
    raft_get_update(nd->r, &again);
    if (again.msgs != nd->held.msgs || again.entries != nd->held.entries ||
        again.n_committed != nd->held.n_committed) {
        sim_fail(&s->chk, "n%u: raft_get_update changed while an update was held", nd->id);
        return;
    }
    complete(s, nd, &nd->held);
    sim_node_drain(s, nd);
}

static void core_trace(void *ctx, const char *line)
{
    sim_t *s = ctx;
    sim_trace_line(s->trace, line);
}

void sim_node_start(sim_t *s, sim_node_t *nd)
{
    raft_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = nd->id;
    cfg.n_voters = s->p.n_nodes;
    for (size_t i = 0; i < s->p.n_nodes; i++)
        cfg.voters[i] = (uint32_t)(i + 1);
    cfg.election_timeout_ms = s->p.election_ms;
    cfg.heartbeat_interval_ms = s->p.heartbeat_ms;
    cfg.prevote = s->p.prevote;
    cfg.check_quorum = s->p.check_quorum;
    cfg.max_append_entries = s->p.max_append_entries;
    cfg.max_uncommitted_bytes = s->p.max_uncommitted_bytes;
    cfg.seed = sim_hash_u64(sim_hash_u64(s->seed, nd->id), nd->incarnation);
    cfg.trace = s->trace ? core_trace : NULL;
    cfg.trace_ctx = s;
    const sim_disk_t *d = &nd->disk;
    raft_restore_t rs = {
        .term = d->term, .voted_for = d->voted_for,
        .snapshot_index = d->snap_index, .snapshot_term = d->snap_term,
        .snapshot = d->snap, .snapshot_len = d->snap_len,
        .entries = d->ents, .n_entries = d->n_ents,
    };
    nd->r = raft_create(&cfg, &rs, s->now_ms);
    if (!nd->r) {
        sim_fail(&s->chk, "n%u: raft_create refused its own disk", nd->id);
        return;
    }
    nd->incarnation++;
    nd->crash_armed = false;
    nd->holding = false;
    nd->was_leader = false;
    nd->next_tick_ms = s->now_ms + s->p.tick_ms;
    nd->sm_index = d->snap_index;
    nd->sm_digest = 0;
    if (d->snap_len == SNAPSHOT_LEN)
        memcpy(&nd->sm_digest, d->snap + 8, 8);
    nd->seen_commit = d->snap_index;
}

void sim_node_crash(sim_t *s, sim_node_t *nd, const char *how)
{
    if (nd->holding) {
        crash_torn(s, nd, &nd->held);   /* recurses here with holding cleared */
        return;
    }
    sim_tracef(s, "sim n%u crash %s (term %" PRIu64 " %s)", nd->id, how, raft_term(nd->r),
               raft_role_name(raft_role(nd->r)));
    raft_destroy(nd->r);
    nd->r = NULL;
    nd->crash_armed = false;
    nd->was_leader = false;
    nd->restart_ms = s->now_ms + sim_range(&s->rng, 10, s->p.down_max_ms);
    s->stats.crashes++;
    /* Most peers hold a connection that the dead process's kernel resets. */
    for (uint32_t j = 1; j <= s->p.n_nodes; j++)
        if (j != nd->id && s->nodes[j].r && sim_chance(&s->rng, 700))
            raft_peer_down(s->nodes[j].r, nd->id, s->now_ms);
}
