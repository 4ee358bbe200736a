/* The simulation's safety checker, fed after every step: election safety,
 * log matching, leader completeness, commit stability and state machine
 * safety (Raft figure 3), plus "each proposal is applied once". */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

uint64_t sim_hash_bytes(uint64_t h, const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t sim_hash_u64(uint64_t h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return sim_hash_bytes(h, b, sizeof b);
}

uint64_t sim_entry_hash(const raft_entry_t *e)
{
    return sim_hash_bytes(sim_hash_u64(SIM_HASH_INIT, e->type), e->data, e->len);
}

void sim_checker_init(sim_checker_t *c)
{
    memset(c, 0, sizeof *c);
}

void sim_checker_free(sim_checker_t *c)
{
    free(c->leader_of_term);
    free(c->committed);
    free(c->applied);
    free(c->match);
    free(c->proposal_index);
    memset(c, 0, sizeof *c);
}

void sim_fail(sim_checker_t *c, const char *fmt, ...)
{
    if (c->failed)
        return;   /* the first violation is the interesting one */
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->violation, sizeof c->violation, fmt, ap);
    va_end(ap);
}

static void *grow(void *p, size_t *n, size_t need, size_t elem)
{
    if (need <= *n)
        return p;
    size_t cap = *n ? *n : 64;
    while (cap < need)
        cap *= 2;
    uint8_t *q = realloc(p, cap * elem);
    if (!q)
        abort();
    memset(q + *n * elem, 0, (cap - *n) * elem);
    *n = cap;
    return q;
}

static void ensure_slots(sim_checker_t *c, uint64_t index)
{
    size_t n = c->n_slots;
    c->committed = grow(c->committed, &n, (size_t)index + 1, sizeof *c->committed);
    n = c->n_slots;
    c->applied = grow(c->applied, &n, (size_t)index + 1, sizeof *c->applied);
    c->n_slots = n;
}

/* ---- log matching: (index, term) identifies one entry and its prefix ---- */

static size_t match_slot(const sim_checker_t *c, uint64_t index, uint64_t term)
{
    uint64_t h = sim_hash_u64(sim_hash_u64(SIM_HASH_INIT, index), term);
    size_t i = (size_t)(h & (c->match_cap - 1));
    while (c->match[i].used && (c->match[i].index != index || c->match[i].term != term))
        i = (i + 1) & (c->match_cap - 1);
    return i;
}

static void match_grow(sim_checker_t *c)
{
    sim_match_key_t *old = c->match;
    size_t old_cap = c->match_cap;
    c->match_cap = old_cap ? old_cap * 2 : 1024;
    c->match = calloc(c->match_cap, sizeof *c->match);
    if (!c->match)
        abort();
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            c->match[match_slot(c, old[i].index, old[i].term)] = old[i];
    free(old);
}

void sim_check_persisted(sim_checker_t *c, uint32_t node, const raft_entry_t *e,
                         uint64_t prev_term)
{
    if (c->match_n * 10 >= c->match_cap * 7)
        match_grow(c);
    sim_match_key_t *k = &c->match[match_slot(c, e->index, e->term)];
    uint64_t h = sim_entry_hash(e);
    if (!k->used) {
        *k = (sim_match_key_t){ e->index, e->term, h, prev_term, true };
        c->match_n++;
        return;
    }
    if (k->hash != h)
        sim_fail(c, "log matching: n%u index %" PRIu64 " term %" PRIu64
                 " holds different data than another log", node, e->index, e->term);
    else if (prev_term != UINT64_MAX && k->prev_term != UINT64_MAX && k->prev_term != prev_term)
        sim_fail(c, "log matching: n%u index %" PRIu64 " term %" PRIu64
                 " follows term %" PRIu64 ", another log has term %" PRIu64, node, e->index,
                 e->term, prev_term, k->prev_term);
    else if (k->prev_term == UINT64_MAX)
        k->prev_term = prev_term;
}

/* ---- state machine safety ---------------------------------------------- */

static void check_proposal_once(sim_checker_t *c, uint32_t node, const raft_entry_t *e)
{
    if (e->type != RAFT_ENTRY_NORMAL || e->len < 8)
        return;
    uint64_t id;
    memcpy(&id, e->data, 8);
    size_t n = c->n_proposals;
    c->proposal_index = grow(c->proposal_index, &n, (size_t)id + 1, sizeof *c->proposal_index);
    c->n_proposals = n;
    if (c->proposal_index[id] == 0)
        c->proposal_index[id] = e->index;
    else if (c->proposal_index[id] != e->index)
        sim_fail(c, "proposal %" PRIu64 " applied at %" PRIu64 " by n%u and at %" PRIu64,
                 id, e->index, node, c->proposal_index[id]);
}

void sim_check_applied(sim_checker_t *c, uint32_t node, const raft_entry_t *e,
                       uint64_t digest)
{
    ensure_slots(c, e->index);
    sim_slot_t *a = &c->applied[e->index];
    uint64_t h = sim_entry_hash(e);
    const sim_slot_t *k = &c->committed[e->index];
    if (k->set && (k->term != e->term || k->hash != h)) {
        sim_fail(c, "state machine safety: n%u applies index %" PRIu64 " term %" PRIu64
                 ", but term %" PRIu64 " was committed there", node, e->index, e->term,
                 k->term);
        return;
    }
    if (!a->set) {
        *a = (sim_slot_t){ e->term, h, digest, true };
    } else if (a->term != e->term || a->hash != h) {
        sim_fail(c, "state machine safety: n%u applies index %" PRIu64 " term %" PRIu64
                 ", another node applied term %" PRIu64, node, e->index, e->term, a->term);
        return;
    } else if (a->aux != digest) {
        sim_fail(c, "state machine safety: n%u state after index %" PRIu64
                 " differs from another node's", node, e->index);
        return;
    }
    check_proposal_once(c, node, e);
}

void sim_check_snapshot(sim_checker_t *c, uint32_t node, uint64_t index, uint64_t digest)
{
    ensure_slots(c, index);
    const sim_slot_t *a = &c->applied[index];
    if (!a->set || a->aux != digest)
        sim_fail(c, "state machine safety: n%u installed a snapshot at %" PRIu64
                 " unlike any applied state", node, index);
}

/* ---- per node: election safety, commits, leader completeness ------------ */

static void check_election(sim_checker_t *c, uint32_t node, uint64_t term)
{
    size_t n = c->n_terms;
    c->leader_of_term = grow(c->leader_of_term, &n, (size_t)term + 1, sizeof *c->leader_of_term);
    c->n_terms = n;
    if (c->leader_of_term[term] == 0)
        c->leader_of_term[term] = node;
    else if (c->leader_of_term[term] != node)
        sim_fail(c, "election safety: term %" PRIu64 " has leaders n%u and n%u", term,
                 c->leader_of_term[term], node);
}

/* Raft §5.4: entries committed in earlier terms are in every new leader's log. */
static void check_completeness(sim_checker_t *c, const sim_node_t *nd, uint64_t term)
{
    uint64_t first = raft_snapshot_index(nd->r) + 1;
    for (uint64_t i = first; i <= c->max_committed && !c->failed; i++) {
        const sim_slot_t *k = &c->committed[i];
        if (!k->set || k->aux >= term)
            continue;
        const raft_entry_t *e = raft_entry_at(nd->r, i);
        if (!e)
            sim_fail(c, "leader completeness: n%u leads term %" PRIu64 " without committed"
                     " index %" PRIu64 " (its last is %" PRIu64 ")", nd->id, term, i,
                     raft_last_index(nd->r));
        else if (e->term != k->term || sim_entry_hash(e) != k->hash)
            sim_fail(c, "leader completeness: n%u leads term %" PRIu64 " with term %" PRIu64
                     " at index %" PRIu64 ", where term %" PRIu64 " was committed in term %"
                     PRIu64, nd->id, term, e->term, i, k->term, k->aux);
    }
}

static void record_commit(sim_checker_t *c, uint32_t node, const raft_entry_t *e,
                          uint64_t term)
{
    ensure_slots(c, e->index);
    sim_slot_t *k = &c->committed[e->index];
    uint64_t h = sim_entry_hash(e);
    if (!k->set) {
        *k = (sim_slot_t){ e->term, h, term, true };
        if (e->index > c->max_committed)
            c->max_committed = e->index;
    } else if (k->term != e->term || k->hash != h) {
        sim_fail(c, "commit safety: n%u committed term %" PRIu64 " at index %" PRIu64
                 ", but term %" PRIu64 " was committed there before", node, e->term,
                 e->index, k->term);
    }
}

void sim_check_node(sim_checker_t *c, sim_node_t *nd)
{
    uint64_t term = raft_term(nd->r);
    if (raft_role(nd->r) == RAFT_LEADER) {
        check_election(c, nd->id, term);
        if (!nd->was_leader || nd->leader_term != term)
            check_completeness(c, nd, term);
        nd->was_leader = true;
        nd->leader_term = term;
    } else {
        nd->was_leader = false;
    }
    uint64_t commit = raft_commit_index(nd->r);
    for (uint64_t i = nd->seen_commit + 1; i <= commit && !c->failed; i++) {
        const raft_entry_t *e = raft_entry_at(nd->r, i);
        if (e)
            record_commit(c, nd->id, e, term);
    }
    if (commit > nd->seen_commit)
        nd->seen_commit = commit;
}

/* Two logs that agree on (index, term) agree on everything before it. */
static void check_pair(sim_checker_t *c, const sim_node_t *a, const sim_node_t *b)
{
    uint64_t lo = raft_first_index(a->r) > raft_first_index(b->r) ? raft_first_index(a->r)
                                                                   : raft_first_index(b->r);
    uint64_t hi = raft_last_index(a->r) < raft_last_index(b->r) ? raft_last_index(a->r)
                                                                : raft_last_index(b->r);
    uint64_t agree = 0;
    for (uint64_t i = hi; i >= lo && i > 0; i--)
        if (raft_entry_at(a->r, i)->term == raft_entry_at(b->r, i)->term) {
            agree = i;
            break;
        }
    for (uint64_t i = lo; i <= agree && !c->failed; i++) {
        const raft_entry_t *x = raft_entry_at(a->r, i), *y = raft_entry_at(b->r, i);
        if (x->term != y->term || sim_entry_hash(x) != sim_entry_hash(y))
            sim_fail(c, "log matching: n%u and n%u agree at %" PRIu64 " but differ at %" PRIu64,
                     a->id, b->id, agree, i);
    }
}

void sim_check_logs(sim_checker_t *c, sim_node_t *nodes, size_t n)
{
    for (size_t i = 1; i <= n; i++)
        for (size_t j = i + 1; j <= n; j++)
            if (nodes[i].r && nodes[j].r && !c->failed)
                check_pair(c, &nodes[i], &nodes[j]);
}
