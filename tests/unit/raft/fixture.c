/* The hand-driven Raft cluster used by the scenario tests (see fixture.h). */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t len)
{
    void *p = malloc(len ? len : 1);
    if (!p)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t len)
{
    void *q = realloc(p, len ? len : 1);
    if (!q)
        abort();
    return q;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    if (!len)
        return NULL;
    uint8_t *q = xmalloc(len);
    memcpy(q, p, len);
    return q;
}

static void on_trace(void *ctx, const char *line)
{
    fx_t *f = ctx;
    if (f->n_trace == f->cap_trace) {
        f->cap_trace = f->cap_trace ? f->cap_trace * 2 : 256;
        f->trace = xrealloc(f->trace, f->cap_trace * sizeof *f->trace);
    }
    f->trace[f->n_trace++] = strdup(line);
    if (getenv("FX_TRACE"))
        fprintf(stderr, "%s\n", line);
}

void fx_init(fx_t *f, size_t n, bool prevote, bool check_quorum)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    f->now_ms = 1000;
    f->cfg.n_voters = n;
    for (size_t i = 0; i < n; i++)
        f->cfg.voters[i] = (uint32_t)(i + 1);
    f->cfg.election_timeout_ms = FX_ELECTION_MS;
    f->cfg.heartbeat_interval_ms = FX_HEARTBEAT_MS;
    f->cfg.prevote = prevote;
    f->cfg.check_quorum = check_quorum;
    f->cfg.trace = on_trace;
    f->cfg.trace_ctx = f;
    for (uint32_t id = 1; id <= n; id++)
        fx_start(f, id);
}

void fx_start(fx_t *f, uint32_t id)
{
    fx_node_t *nd = &f->nodes[id];
    raft_config_t cfg = f->cfg;
    cfg.id = id;
    cfg.seed = 0x5eed0000u + id * 7919u + nd->updates;
    raft_restore_t rs = {
        .term = nd->disk.term, .voted_for = nd->disk.voted_for,
        .snapshot_index = nd->disk.snap_index, .snapshot_term = nd->disk.snap_term,
        .snapshot = nd->disk.snap, .snapshot_len = nd->disk.snap_len,
        .entries = nd->disk.ents, .n_entries = nd->disk.n_ents,
    };
    nd->r = raft_create(&cfg, &rs, f->now_ms);
    if (!nd->r)
        abort();
    nd->sm_index = nd->disk.snap_index;
}

void fx_crash(fx_t *f, uint32_t id)
{
    raft_destroy(f->nodes[id].r);
    f->nodes[id].r = NULL;
}

static void disk_truncate(fx_disk_t *d, uint64_t from_index)
{
    while (d->n_ents && d->ents[d->n_ents - 1].index >= from_index) {
        free(d->ents[d->n_ents - 1].data);
        d->n_ents--;
    }
}

static void disk_persist(fx_disk_t *d, const raft_update_t *u)
{
    if (u->hard_state_changed) {
        d->term = u->term;
        d->voted_for = u->voted_for;
    }
    if (u->snapshot_install) {
        disk_truncate(d, 0);
        free(d->snap);
        d->snap = dup_bytes(u->snapshot, u->snapshot_len);
        d->snap_len = u->snapshot_len;
        d->snap_index = u->snapshot_index;
        d->snap_term = u->snapshot_term;
    }
    if (u->n_entries)
        disk_truncate(d, u->entries[0].index);
    d->ents = xrealloc(d->ents, (d->n_ents + u->n_entries) * sizeof *d->ents);
    for (size_t i = 0; i < u->n_entries; i++) {
        raft_entry_t e = u->entries[i];
        e.data = dup_bytes(e.data, e.len);
        d->ents[d->n_ents++] = e;
    }
}

static void queue_msg(fx_t *f, const raft_msg_t *m)
{
    if (f->n_queue == f->cap_queue) {
        f->cap_queue = f->cap_queue ? f->cap_queue * 2 : 64;
        f->queue = xrealloc(f->queue, f->cap_queue * sizeof *f->queue);
    }
    fx_msg_t *q = &f->queue[f->n_queue++];
    q->m = *m;
    q->m.snapshot = dup_bytes(m->snapshot, m->snapshot_len);
    q->m.entries = NULL;
    if (m->n_entries) {
        q->m.entries = xmalloc(m->n_entries * sizeof *m->entries);
        for (size_t i = 0; i < m->n_entries; i++) {
            q->m.entries[i] = m->entries[i];
            q->m.entries[i].data = dup_bytes(m->entries[i].data, m->entries[i].len);
        }
    }
}

static void msg_free(fx_msg_t *q)
{
    for (size_t i = 0; i < q->m.n_entries; i++)
        free(q->m.entries[i].data);
    free(q->m.entries);
    free((void *)q->m.snapshot);
}

static void apply(fx_node_t *nd, const raft_update_t *u)
{
    if (u->snapshot_install)
        nd->sm_index = u->snapshot_index;
    for (size_t i = 0; i < u->n_committed; i++) {
        const raft_entry_t *e = &u->committed[i];
        if (e->index != nd->sm_index + 1)
            abort();   /* applied out of order */
        nd->sm_index = e->index;
        if (e->type != RAFT_ENTRY_NORMAL || nd->n_applied == 512)
            continue;
        char *s = xmalloc(e->len + 1);
        memcpy(s, e->data, e->len);
        s[e->len] = 0;
        nd->applied_index[nd->n_applied] = e->index;
        nd->applied[nd->n_applied++] = s;
    }
}

void fx_drain(fx_t *f, uint32_t id)
{
    fx_node_t *nd = &f->nodes[id];
    if (!nd->r)
        return;
    while (raft_has_update(nd->r)) {
        raft_update_t u;
        raft_get_update(nd->r, &u);
        disk_persist(&nd->disk, &u);
        for (size_t i = 0; i < u.n_msgs; i++)
            queue_msg(f, &u.msgs[i]);
        apply(nd, &u);
        raft_advance(nd->r, &u);
        nd->updates++;
    }
}

void fx_drain_all(fx_t *f)
{
    for (uint32_t id = 1; id <= f->n; id++)
        fx_drain(f, id);
}

void fx_tick(fx_t *f, uint32_t id, uint64_t ms)
{
    f->now_ms += ms;
    if (f->nodes[id].r)
        raft_tick(f->nodes[id].r, f->now_ms);
    fx_drain(f, id);
}

static void deliver_at(fx_t *f, size_t i)
{
    fx_msg_t q = f->queue[i];
    memmove(&f->queue[i], &f->queue[i + 1], (f->n_queue - i - 1) * sizeof *f->queue);
    f->n_queue--;
    fx_node_t *nd = &f->nodes[q.m.to];
    if (nd->r && !f->cut[q.m.from][q.m.to]) {
        raft_step(nd->r, &q.m, f->now_ms);
        fx_drain(f, q.m.to);
    }
    msg_free(&q);
}

void fx_deliver_all(fx_t *f)
{
    fx_drain_all(f);
    for (int guard = 0; f->n_queue && guard < 100000; guard++)
        deliver_at(f, 0);
}

bool fx_deliver_one(fx_t *f, uint32_t from, uint32_t to, raft_msg_type_t type)
{
    for (size_t i = 0; i < f->n_queue; i++) {
        const raft_msg_t *m = &f->queue[i].m;
        if (m->from == from && m->to == to && m->type == type) {
            deliver_at(f, i);
            return true;
        }
    }
    return false;
}

void fx_drop_all(fx_t *f)
{
    for (size_t i = 0; i < f->n_queue; i++)
        msg_free(&f->queue[i]);
    f->n_queue = 0;
}

size_t fx_count(const fx_t *f, uint32_t from, uint32_t to, raft_msg_type_t type)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_queue; i++) {
        const raft_msg_t *m = &f->queue[i].m;
        n += m->from == from && m->to == to && m->type == type;
    }
    return n;
}

void fx_run(fx_t *f, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 10) {
        f->now_ms += 10;
        for (uint32_t id = 1; id <= f->n; id++) {
            if (f->nodes[id].r)
                raft_tick(f->nodes[id].r, f->now_ms);
            fx_drain(f, id);
        }
        fx_deliver_all(f);
    }
}

void fx_cut(fx_t *f, uint32_t a, uint32_t b, bool cut)
{
    f->cut[a][b] = f->cut[b][a] = cut;
}

void fx_isolate(fx_t *f, uint32_t id, bool cut)
{
    for (uint32_t j = 1; j <= f->n; j++)
        if (j != id)
            fx_cut(f, id, j, cut);
}

void fx_elect(fx_t *f, uint32_t id)
{
    fx_deliver_all(f);
    fx_tick(f, id, 2 * FX_ELECTION_MS);
    fx_deliver_all(f);
}

uint64_t fx_propose(fx_t *f, uint32_t id, const char *data)
{
    uint64_t index = 0;
    if (raft_propose(f->nodes[id].r, (const uint8_t *)data, strlen(data), f->now_ms,
                     &index) != RAFT_OK)
        return 0;
    fx_drain(f, id);
    return index;
}

uint32_t fx_leader(const fx_t *f)
{
    uint32_t leader = 0;
    for (uint32_t id = 1; id <= f->n; id++)
        if (f->nodes[id].r && raft_role(f->nodes[id].r) == RAFT_LEADER)
            leader = id;
    return leader;
}

bool fx_traced(const fx_t *f, const char *needle)
{
    for (size_t i = 0; i < f->n_trace; i++)
        if (strstr(f->trace[i], needle))
            return true;
    return false;
}

void fx_trace_clear(fx_t *f)
{
    for (size_t i = 0; i < f->n_trace; i++)
        free(f->trace[i]);
    f->n_trace = 0;
}

void fx_trace_dump(const fx_t *f)
{
    for (size_t i = 0; i < f->n_trace; i++)
        fprintf(stderr, "%s\n", f->trace[i]);
}

void fx_free(fx_t *f)
{
    for (uint32_t id = 1; id <= f->n; id++) {
        fx_node_t *nd = &f->nodes[id];
        raft_destroy(nd->r);
        disk_truncate(&nd->disk, 0);
        free(nd->disk.ents);
        free(nd->disk.snap);
        for (size_t i = 0; i < nd->n_applied; i++)
            free(nd->applied[i]);
    }
    fx_drop_all(f);
    free(f->queue);
    fx_trace_clear(f);
    free(f->trace);
}

int fx_compact(fx_t *f, uint32_t id, uint64_t index, const char *data)
{
    fx_node_t *nd = &f->nodes[id];
    const raft_entry_t *e = raft_entry_at(nd->r, index);
    uint64_t term = e ? e->term : 0;
    size_t len = strlen(data);
    int rc = raft_compact(nd->r, index, (const uint8_t *)data, len);
    if (rc != RAFT_OK)
        return rc;
    fx_disk_t *d = &nd->disk;
    size_t drop = 0;
    while (drop < d->n_ents && d->ents[drop].index <= index)
        free(d->ents[drop++].data);
    memmove(d->ents, d->ents + drop, (d->n_ents - drop) * sizeof *d->ents);
    d->n_ents -= drop;
    free(d->snap);
    d->snap = dup_bytes((const uint8_t *)data, len);
    d->snap_len = len;
    d->snap_index = index;
    d->snap_term = term;
    return RAFT_OK;
}

void fx_restart_all(fx_t *f)
{
    for (uint32_t id = 1; id <= f->n; id++) {
        fx_crash(f, id);
        fx_start(f, id);
    }
}
