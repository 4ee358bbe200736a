/* Hand-off to the host (etcd's Ready/Advance): queued messages, entries to
 * persist and entries to apply are frozen into one update whose memory the
 * core owns until raft_advance; only then does the core count what the host
 * made durable. */
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

#define ARENA_CHUNK_BYTES (16u * 1024u)
#define ARENA_ALIGN 16u

struct raft_arena_chunk {
    raft_arena_chunk_t *next;
    size_t used;
    size_t cap;
    size_t pad;                /* keeps data 16-byte aligned */
};

_Static_assert(sizeof(raft_arena_chunk_t) % ARENA_ALIGN == 0, "chunk header alignment");

static void *arena_alloc(raft_arena_t *a, size_t len)
{
    len = (len + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    raft_arena_chunk_t *c = a->head;
    if (!c || c->cap - c->used < len) {
        size_t cap = len > ARENA_CHUNK_BYTES ? len : ARENA_CHUNK_BYTES;
        c = raft_xmalloc(sizeof *c + cap);
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (unsigned char *)(c + 1) + c->used;
    c->used += len;
    return p;
}

/* Keeps one standard chunk for reuse, so a steady state allocates nothing. */
static void arena_reset(raft_arena_t *a)
{
    raft_arena_chunk_t *keep = NULL;
    raft_arena_chunk_t *c = a->head;
    while (c) {
        raft_arena_chunk_t *next = c->next;
        if (!keep && c->cap == ARENA_CHUNK_BYTES) {
            keep = c;
            keep->used = 0;
            keep->next = NULL;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = keep;
}

static void arena_free(raft_arena_t *a)
{
    arena_reset(a);
    free(a->head);
    a->head = NULL;
}

void raft_outbox_init(raft_outbox_t *b)
{
    memset(b, 0, sizeof *b);
}

void raft_outbox_free(raft_outbox_t *b)
{
    free(b->msgs);
    arena_free(&b->arena);
    memset(b, 0, sizeof *b);
}

static void outbox_clear(raft_outbox_t *b)
{
    b->n = 0;
    arena_reset(&b->arena);
}

/* Returns a zeroed message from this node at its current term, valid until
 * the next raft_msg_new; NULL when the outbox is full (the message is lost,
 * as the network could lose it). */
raft_msg_t *raft_msg_new(raft_t *r, raft_msg_type_t type, uint32_t to)
{
    raft_outbox_t *b = &r->out;
    if (b->n >= RAFT_OUTBOX_MAX) {
        raft_trace(r, "outbox full: drop %s to n%u", raft_msg_type_name(type), to);
        return NULL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        b->msgs = raft_xrealloc(b->msgs, cap * sizeof *b->msgs);
        b->cap = cap;
    }
    raft_msg_t *m = &b->msgs[b->n++];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = r->cfg.id;
    m->to = to;
    m->term = r->term;
    return m;
}

static raft_entry_t *copy_entries(raft_arena_t *a, const raft_log_t *l, uint64_t first,
                                  size_t n)
{
    raft_entry_t *ents = arena_alloc(a, n * sizeof *ents);
    for (size_t i = 0; i < n; i++) {
        const raft_entry_t *e = raft_log_get(l, first + i);
        CAIRN_ASSERT(e != NULL);
        ents[i] = *e;
        if (e->len) {
            ents[i].data = arena_alloc(a, e->len);
            memcpy(ents[i].data, e->data, e->len);
        }
    }
    return ents;
}

/* Deep copies, because the log may be truncated or compacted before the
 * host sends the message. */
void raft_msg_copy_entries(raft_t *r, raft_msg_t *m, uint64_t first, size_t n)
{
    if (n == 0)
        return;
    m->entries = copy_entries(&r->out.arena, &r->log, first, n);
    m->n_entries = n;
}

void raft_msg_copy_snapshot(raft_t *r, raft_msg_t *m)
{
    if (r->snap_len == 0)
        return;
    uint8_t *p = arena_alloc(&r->out.arena, r->snap_len);
    memcpy(p, r->snap_data, r->snap_len);
    m->snapshot = p;
    m->snapshot_len = r->snap_len;
}

bool raft_has_update(const raft_t *r)
{
    if (r->frozen_valid)
        return true;
    return r->hard_state_dirty || r->install_pending || r->out.n > 0 ||
           r->unstable_from <= raft_log_last_index(&r->log) ||
           r->handed_index < r->commit_index;
}

static void freeze_snapshot(raft_t *r, raft_update_t *u)
{
    u->snapshot_install = true;
    u->snapshot_index = r->log.snap_index;
    u->snapshot_term = r->log.snap_term;
    if (r->snap_len) {
        uint8_t *p = arena_alloc(&r->frozen_box.arena, r->snap_len);
        memcpy(p, r->snap_data, r->snap_len);
        u->snapshot = p;
        u->snapshot_len = r->snap_len;
    }
    r->install_pending = false;
}

/* Swaps the filling outbox out and copies what the host must persist and
 * apply, so later steps cannot disturb memory the host is using. */
static void freeze(raft_t *r)
{
    CAIRN_ASSERT(r->frozen_box.n == 0);
    raft_outbox_t tmp = r->frozen_box;
    r->frozen_box = r->out;
    r->out = tmp;

    raft_update_t *u = &r->frozen;
    memset(u, 0, sizeof *u);
    u->hard_state_changed = r->hard_state_dirty;
    u->term = r->term;
    u->voted_for = r->voted_for;
    r->hard_state_dirty = false;
    if (r->install_pending)
        freeze_snapshot(r, u);

    uint64_t last = raft_log_last_index(&r->log);
    if (r->unstable_from <= last) {
        u->n_entries = (size_t)(last - r->unstable_from + 1);
        u->entries = copy_entries(&r->frozen_box.arena, &r->log, r->unstable_from,
                                  u->n_entries);
        r->unstable_from = last + 1;
    }
    u->msgs = r->frozen_box.msgs;
    u->n_msgs = r->frozen_box.n;
    if (r->handed_index < r->commit_index) {
        u->n_committed = (size_t)(r->commit_index - r->handed_index);
        u->committed = copy_entries(&r->frozen_box.arena, &r->log, r->handed_index + 1,
                                    u->n_committed);
        r->handed_index = r->commit_index;
    }
    r->truncated_floor = UINT64_MAX;
    r->frozen_valid = true;
}

/* Calling it again before raft_advance returns the same update. */
void raft_get_update(raft_t *r, raft_update_t *out)
{
    if (!r->frozen_valid)
        freeze(r);
    *out = r->frozen;
}

static uint64_t u64_min(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* What the host just made durable, less anything truncated since the freeze
 * (those entries are handed over again in the next update). */
static void advance_stable(raft_t *r, const raft_update_t *u)
{
    uint64_t durable = r->stable_index;
    if (u->snapshot_install)
        durable = u->snapshot_index;
    if (u->n_entries)
        durable = u->entries[u->n_entries - 1].index;
    durable = u64_min(durable, r->truncated_floor);
    durable = u64_min(durable, raft_log_last_index(&r->log));
    if (durable > r->stable_index)
        r->stable_index = durable;
}

void raft_advance(raft_t *r, const raft_update_t *u)
{
    CAIRN_ASSERT(r->frozen_valid);
    CAIRN_ASSERT(u->msgs == r->frozen.msgs && u->n_msgs == r->frozen.n_msgs);
    CAIRN_ASSERT(u->entries == r->frozen.entries && u->n_entries == r->frozen.n_entries);
    CAIRN_ASSERT(u->committed == r->frozen.committed);
    u = &r->frozen;
    advance_stable(r, u);
    if (u->snapshot_install && u->snapshot_index > r->applied_index)
        r->applied_index = u->snapshot_index;
    if (u->n_committed) {
        uint64_t last = u->committed[u->n_committed - 1].index;
        CAIRN_ASSERT(u->committed[0].index == r->applied_index + 1 ||
                     r->applied_index >= last);
        if (last > r->applied_index)
            r->applied_index = last;
    }
    r->frozen_valid = false;
    memset(&r->frozen, 0, sizeof r->frozen);
    outbox_clear(&r->frozen_box);
    /* The leader's own log counts toward the commit only once durable. */
    if (r->role == RAFT_LEADER)
        raft_repl_maybe_commit(r);
    raft_check_invariants(r);
}
