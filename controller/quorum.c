/* The Raft host: real time, disk and sockets around the pure core. Order of
 * each update is persist + fsync, then send, then apply (DESIGN §4: nothing
 * counts before it is durable). */
#include "quorum.h"

#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "errors.h"
#include "log.h"
#include "raft.h"
#include "raft.pb-c.h"
#include "raft_store.h"
#include "rpc.h"
#include "rpc.pb-c.h"
#include "timeutil.h"

#define QUORUM_TICK_MS 10
#define QUORUM_WAITERS_MAX 65536
#define QUORUM_ENTRIES_PER_MSG_MAX 4096

typedef struct peer_ctx {
    quorum_t *q;
    uint32_t id;
} peer_ctx_t;

typedef struct waiter {
    uint64_t index;
    uint64_t term;
    uint64_t deadline_ms;
    quorum_commit_cb cb;
    void *arg;
    struct waiter *next;
} waiter_t;

struct quorum {
    struct event_base *base;
    const cairn_config_t *cfg;
    cairn_voter_t voters[CAIRN_MAX_VOTERS];
    char addresses[CAIRN_MAX_VOTERS][CAIRN_HOST_MAX + 8];
    rpc_client_t *peers[CAIRN_MAX_VOTERS];     /* NULL for self */
    peer_ctx_t peer_ctx[CAIRN_MAX_VOTERS];
    size_t n_voters;
    uint32_t self;
    raft_t *raft;
    raft_store_t *store;
    md_image_t *image;
    quorum_listener_t listener;
    struct event *tick_ev;
    waiter_t *waiters;                         /* sorted by index */
    waiter_t *waiters_tail;
    size_t n_waiters;
    uint64_t snapshot_bytes_max;
    uint64_t bytes_since_snapshot;
    bool was_leader;
    uint64_t term_start_index;                 /* our leader-change entry */
    uint64_t last_notified_applied;
};

static void fatal_io(const char *what)
{
    LOG_ERROR("quorum", "fatal: %s failed; stopping so no unsynced state is acted on", what);
    exit(1);
}

static int voter_slot(const quorum_t *q, uint32_t id)
{
    for (size_t i = 0; i < q->n_voters; i++)
        if (q->voters[i].id == id)
            return (int)i;
    return -1;
}

/* ---- wire conversion --------------------------------------------------- */

static void send_msg(quorum_t *q, const raft_msg_t *m)
{
    int slot = voter_slot(q, m->to);
    if (slot < 0 || !q->peers[slot])
        return;
    size_t n = m->n_entries;
    Cairn__RaftEntry *ents = n ? calloc(n, sizeof *ents) : NULL;
    Cairn__RaftEntry **ptrs = n ? calloc(n, sizeof *ptrs) : NULL;
    if (n && (!ents || !ptrs)) {
        free(ents);
        free(ptrs);
        return;                 /* dropped: Raft retransmits */
    }
    for (size_t i = 0; i < n; i++) {
        cairn__raft_entry__init(&ents[i]);
        ents[i].term = m->entries[i].term;
        ents[i].index = m->entries[i].index;
        ents[i].type = m->entries[i].type;
        ents[i].data.len = m->entries[i].len;
        ents[i].data.data = m->entries[i].data;
        ptrs[i] = &ents[i];
    }
    Cairn__RaftMessage pb = CAIRN__RAFT_MESSAGE__INIT;
    pb.type = m->type;
    pb.from = m->from;
    pb.to = m->to;
    pb.term = m->term;
    pb.log_index = m->log_index;
    pb.log_term = m->log_term;
    pb.commit = m->commit;
    pb.reject = m->reject;
    pb.hint = m->hint;
    pb.n_entries = n;
    pb.entries = ptrs;
    pb.snapshot.len = m->snapshot_len;
    pb.snapshot.data = (uint8_t *)m->snapshot;
    if (rpc_client_send(q->peers[slot], CAIRN__RPC_TYPE__RPC_RAFT, &pb.base, NULL, 0) != 0)
        LOG_DEBUG("quorum", "dropped raft message type %d to n%u (peer down or slow)",
                  (int)m->type, m->to);
    free(ents);
    free(ptrs);
}

void quorum_receive(quorum_t *q, const uint8_t *body, size_t len)
{
    Cairn__RaftMessage *pb = cairn__raft_message__unpack(NULL, len, body);
    if (!pb) {
        LOG_WARN("quorum", "undecodable raft message (%zu bytes) ignored", len);
        return;
    }
    if (pb->n_entries > QUORUM_ENTRIES_PER_MSG_MAX) {
        LOG_WARN("quorum", "raft message from n%u with %zu entries ignored", pb->from, pb->n_entries);
        cairn__raft_message__free_unpacked(pb, NULL);
        return;
    }
    raft_entry_t *entries = NULL;
    if (pb->n_entries && !(entries = calloc(pb->n_entries, sizeof *entries))) {
        cairn__raft_message__free_unpacked(pb, NULL);
        return;
    }
    for (size_t i = 0; i < pb->n_entries; i++) {
        entries[i].term = pb->entries[i]->term;
        entries[i].index = pb->entries[i]->index;
        entries[i].type = pb->entries[i]->type;
        entries[i].len = (uint32_t)pb->entries[i]->data.len;
        entries[i].data = pb->entries[i]->data.data;
    }
    raft_msg_t m = {
        .type = (raft_msg_type_t)pb->type, .from = pb->from, .to = pb->to,
        .term = pb->term, .log_index = pb->log_index, .log_term = pb->log_term,
        .commit = pb->commit, .reject = pb->reject, .hint = pb->hint,
        .n_entries = pb->n_entries, .entries = entries,
        .snapshot = pb->snapshot.data, .snapshot_len = pb->snapshot.len,
    };
    if (m.to != q->self || voter_slot(q, m.from) < 0)
        LOG_WARN("quorum", "raft message for n%u from n%u is not for this quorum member", m.to, m.from);
    else
        (void)raft_step(q->raft, &m, cairn_mono_ms());
    free(entries);
    cairn__raft_message__free_unpacked(pb, NULL);
}

/* ---- commit waiters ---------------------------------------------------- */

static void waiter_add(quorum_t *q, waiter_t *w)
{
    w->next = NULL;
    if (!q->waiters || q->waiters_tail->index <= w->index) {
        if (q->waiters_tail)
            q->waiters_tail->next = w;
        else
            q->waiters = w;
        q->waiters_tail = w;
    } else {
        /* A new term can reuse indexes below older waiters: keep order. */
        waiter_t **pp = &q->waiters;
        while (*pp && (*pp)->index <= w->index)
            pp = &(*pp)->next;
        w->next = *pp;
        *pp = w;
    }
    q->n_waiters++;
}

static void waiter_fix_tail(quorum_t *q)
{
    q->waiters_tail = NULL;
    for (waiter_t *w = q->waiters; w; w = w->next)
        q->waiters_tail = w;
}

/* Completes waiters at or below an applied entry. */
static void waiters_applied(quorum_t *q, const raft_entry_t *e, int apply_rc)
{
    while (q->waiters && q->waiters->index <= e->index) {
        waiter_t *w = q->waiters;
        q->waiters = w->next;
        q->n_waiters--;
        if (!q->waiters)
            q->waiters_tail = NULL;
        if (w->index == e->index && w->term == e->term)
            w->cb(CAIRN_ERR_OK, w->index, apply_rc, w->arg);
        else
            w->cb(CAIRN_ERR_NOT_LEADER, w->index, 0, w->arg);
        free(w);
    }
}

static void waiters_expire(quorum_t *q, uint64_t now_ms, bool all)
{
    waiter_t **pp = &q->waiters;
    while (*pp) {
        waiter_t *w = *pp;
        if (all || w->deadline_ms <= now_ms) {
            *pp = w->next;
            q->n_waiters--;
            w->cb(all ? CAIRN_ERR_CANCELLED : CAIRN_ERR_NO_QUORUM, w->index, 0, w->arg);
            free(w);
        } else {
            pp = &w->next;
        }
    }
    waiter_fix_tail(q);
}

int quorum_propose(quorum_t *q, const uint8_t *data, size_t len, uint32_t timeout_ms,
                   quorum_commit_cb cb, void *arg)
{
    if (raft_role(q->raft) != RAFT_LEADER)
        return CAIRN_ERR_NOT_LEADER;
    if (q->n_waiters >= QUORUM_WAITERS_MAX)
        return CAIRN_ERR_QUEUE_FULL;
    waiter_t *w = calloc(1, sizeof *w);
    if (!w)
        return CAIRN_ERR_NOMEM;
    uint64_t now = cairn_mono_ms();
    uint64_t index = 0;
    int rc = raft_propose(q->raft, data, len, now, &index);
    if (rc != RAFT_OK) {
        free(w);
        return rc == RAFT_ERR_NOT_LEADER ? CAIRN_ERR_NOT_LEADER : CAIRN_ERR_TOO_LARGE;
    }
    w->index = index;
    w->term = raft_term(q->raft);
    w->deadline_ms = now + timeout_ms;
    w->cb = cb;
    w->arg = arg;
    waiter_add(q, w);
    return CAIRN_ERR_OK;
}

/* ---- the flush phases -------------------------------------------------- */

static void persist(quorum_t *q, const raft_update_t *u)
{
    if (u->hard_state_changed &&
        raft_store_save_hard_state(q->store, u->term, u->voted_for) != 0)
        fatal_io("saving quorum-state");
    if (u->snapshot_install) {
        if (raft_store_install_snapshot(q->store, u->snapshot_index, u->snapshot_term,
                                        u->snapshot, u->snapshot_len) != 0)
            fatal_io("installing a snapshot");
        if (md_image_load(q->image, u->snapshot, u->snapshot_len) != 0)
            fatal_io("loading an installed snapshot");
        q->bytes_since_snapshot = 0;
        LOG_INFO("quorum", "installed snapshot index=%llu term=%llu (%zu bytes)",
                 (unsigned long long)u->snapshot_index, (unsigned long long)u->snapshot_term,
                 u->snapshot_len);
    }
    if (u->n_entries > 0) {
        if (raft_store_append(q->store, u->entries, u->n_entries) != 0)
            fatal_io("appending to the raft log");
        if (raft_store_sync(q->store) != 0)
            fatal_io("fsync of the raft log");
    }
}

static void apply(quorum_t *q, const raft_update_t *u)
{
    for (size_t i = 0; i < u->n_committed; i++) {
        const raft_entry_t *e = &u->committed[i];
        int rc = 0;
        if (e->index <= md_image_last_index(q->image))
            continue;           /* covered by an installed snapshot */
        if (e->type == RAFT_ENTRY_NORMAL)
            rc = md_image_apply(q->image, e->index, e->term, e->data, e->len);
        else
            md_image_skip(q->image, e->index, e->term);
        q->bytes_since_snapshot += e->len;
        waiters_applied(q, e, rc);
    }
}

static void maybe_snapshot(quorum_t *q)
{
    if (q->bytes_since_snapshot < q->snapshot_bytes_max)
        return;
    uint64_t index = md_image_last_index(q->image);
    if (index <= raft_snapshot_index(q->raft))
        return;
    uint8_t *data = NULL;
    size_t len = 0;
    if (md_image_snapshot(q->image, &data, &len) != 0) {
        LOG_WARN("quorum", "snapshot of the metadata image failed; will retry");
        return;
    }
    if (raft_store_save_snapshot(q->store, index, md_image_last_term(q->image), data, len) != 0)
        fatal_io("saving a snapshot");
    if (raft_compact(q->raft, index, data, len) != RAFT_OK)
        LOG_WARN("quorum", "raft core refused compaction at %llu", (unsigned long long)index);
    LOG_INFO("quorum", "snapshot at index=%llu (%zu bytes); log truncated behind it",
             (unsigned long long)index, len);
    free(data);
    q->bytes_since_snapshot = 0;
}

static void notify(quorum_t *q)
{
    bool leader = raft_role(q->raft) == RAFT_LEADER;
    if (leader != q->was_leader) {
        q->was_leader = leader;
        if (leader)
            q->term_start_index = raft_last_index(q->raft);
        LOG_INFO("quorum", "%s term=%llu", leader ? "became leader" : "no longer leader",
                 (unsigned long long)raft_term(q->raft));
        if (q->listener.leadership)
            q->listener.leadership(q->listener.ctx, leader);
    }
    uint64_t applied = md_image_last_index(q->image);
    if (applied != q->last_notified_applied) {
        q->last_notified_applied = applied;
        if (q->listener.applied)
            q->listener.applied(q->listener.ctx, applied);
    }
}

void quorum_flush(quorum_t *q)
{
    /* Leadership can change inside step; note it before entries of the new
     * term are applied so term_start_index is right. */
    if ((raft_role(q->raft) == RAFT_LEADER) != q->was_leader)
        notify(q);
    while (raft_has_update(q->raft)) {
        raft_update_t u;
        raft_get_update(q->raft, &u);
        persist(q, &u);
        for (size_t i = 0; i < u.n_msgs; i++)
            send_msg(q, &u.msgs[i]);
        apply(q, &u);
        raft_advance(q->raft, &u);
    }
    maybe_snapshot(q);
    notify(q);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    quorum_t *q = arg;
    uint64_t now = cairn_mono_ms();
    raft_tick(q->raft, now);
    waiters_expire(q, now, false);
}

/* ---- lifecycle --------------------------------------------------------- */

/* A peer's connection died: if it was our leader, its process is most
 * likely gone, so do not wait out a whole election timeout. */
static void on_peer_disconnect(void *arg)
{
    peer_ctx_t *pc = arg;
    LOG_DEBUG("quorum", "connection to controller %u lost", pc->id);
    if (pc->q->raft)
        raft_peer_down(pc->q->raft, pc->id, cairn_mono_ms());
}

static void trace_line(void *ctx, const char *line)
{
    LOG_DEBUG("raft", "%s", line);
}

static raft_t *start_core(quorum_t *q, const cairn_config_t *cfg)
{
    raft_config_t rc;
    memset(&rc, 0, sizeof rc);
    rc.id = q->self;
    for (size_t i = 0; i < q->n_voters; i++)
        rc.voters[i] = q->voters[i].id;
    rc.n_voters = q->n_voters;
    rc.election_timeout_ms = (uint64_t)cfg->controller_quorum_election_timeout_ms;
    rc.heartbeat_interval_ms = (uint64_t)cfg->controller_quorum_heartbeat_interval_ms;
    rc.prevote = true;
    rc.check_quorum = true;
    rc.seed = cairn_mono_us() ^ ((uint64_t)q->self << 32);
    rc.trace = trace_line;
    raft_restore_t restore;
    raft_store_restore(q->store, &restore);
    if (restore.snapshot_len > 0 &&
        md_image_load(q->image, restore.snapshot, restore.snapshot_len) != 0)
        return NULL;
    LOG_INFO("quorum", "restored term=%llu vote=%u snapshot=%llu entries=%zu",
             (unsigned long long)restore.term, restore.voted_for,
             (unsigned long long)restore.snapshot_index, restore.n_entries);
    return raft_create(&rc, &restore, cairn_mono_ms());
}

quorum_t *quorum_open(struct event_base *base, const cairn_config_t *cfg,
                      const cairn_voter_t *voters, size_t n_voters,
                      md_image_t *image, const quorum_listener_t *listener,
                      char *err, size_t err_len)
{
    quorum_t *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    CAIRN_ASSERT(n_voters > 0 && n_voters <= CAIRN_MAX_VOTERS);
    q->base = base;
    q->cfg = cfg;
    q->self = (uint32_t)cfg->node_id;
    q->image = image;
    q->snapshot_bytes_max = (uint64_t)cfg->metadata_snapshot_max_new_record_bytes;
    if (listener)
        q->listener = *listener;
    q->n_voters = n_voters;
    memcpy(q->voters, voters, n_voters * sizeof *voters);
    rpc_client_opts_t copts = { .frame_max = (size_t)cfg->metadata_max_frame_bytes,
                                .backoff_min_ms = 10, .backoff_max_ms = 200,
                                .connect_timeout_ms = 500 };
    for (size_t i = 0; i < n_voters; i++) {
        snprintf(q->addresses[i], sizeof q->addresses[i], "%s:%u", voters[i].host, voters[i].port);
        if (voters[i].id == q->self)
            continue;
        q->peer_ctx[i] = (peer_ctx_t){ q, voters[i].id };
        copts.on_disconnect = on_peer_disconnect;
        copts.on_disconnect_arg = &q->peer_ctx[i];
        q->peers[i] = rpc_client_new(base, voters[i].host, voters[i].port, &copts);
    }
    if (voter_slot(q, q->self) < 0) {
        snprintf(err, err_len, "config: bad value for 'node.id': %u is not in controller.quorum.voters", q->self);
        quorum_close(q);
        return NULL;
    }
    raft_store_opts_t sopts = { 0 };
    if (raft_store_open(cfg->metadata_log_dir, &sopts, &q->store, err, err_len) != 0) {
        quorum_close(q);
        return NULL;
    }
    q->raft = start_core(q, cfg);
    if (!q->raft) {
        snprintf(err, err_len, "cannot start the raft core from %s", cfg->metadata_log_dir);
        quorum_close(q);
        return NULL;
    }
    q->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, q);
    struct timeval tv = { 0, QUORUM_TICK_MS * 1000 };
    event_add(q->tick_ev, &tv);
    return q;
}

void quorum_close(quorum_t *q)
{
    if (!q)
        return;
    waiters_expire(q, 0, true);
    if (q->tick_ev)
        event_free(q->tick_ev);
    for (size_t i = 0; i < q->n_voters; i++)
        if (q->peers[i])
            rpc_client_free(q->peers[i]);
    if (q->raft)
        raft_destroy(q->raft);
    if (q->store)
        raft_store_close(q->store);
    free(q);
}

void quorum_resign(quorum_t *q)
{
    if (raft_role(q->raft) == RAFT_LEADER)
        (void)raft_transfer_leadership(q->raft, cairn_mono_ms());
}

/* ---- queries ----------------------------------------------------------- */

bool quorum_is_leader(const quorum_t *q)
{
    return raft_role(q->raft) == RAFT_LEADER;
}

bool quorum_leader_ready(const quorum_t *q)
{
    return q->was_leader && raft_role(q->raft) == RAFT_LEADER &&
           md_image_last_index(q->image) >= q->term_start_index;
}

uint32_t quorum_leader_id(const quorum_t *q)
{
    return raft_leader(q->raft);
}

const char *quorum_voter_address(const quorum_t *q, uint32_t id)
{
    int slot = voter_slot(q, id);
    return slot < 0 ? "" : q->addresses[slot];
}

uint64_t quorum_term(const quorum_t *q) { return raft_term(q->raft); }
uint64_t quorum_commit_index(const quorum_t *q) { return raft_commit_index(q->raft); }
uint64_t quorum_applied_index(const quorum_t *q) { return md_image_last_index(q->image); }
uint64_t quorum_first_index(const quorum_t *q) { return raft_first_index(q->raft); }
size_t quorum_voter_count(const quorum_t *q) { return q->n_voters; }

void quorum_voter_view(const quorum_t *q, size_t i, quorum_voter_view_t *out)
{
    CAIRN_ASSERT(i < q->n_voters);
    uint32_t id = q->voters[i].id;
    out->id = id;
    out->address = q->addresses[i];
    if (id == q->self) {
        out->role = raft_role_name(raft_role(q->raft));
        out->log_end_offset = raft_last_index(q->raft);
        return;
    }
    if (raft_role(q->raft) == RAFT_LEADER) {
        bool active = raft_voter_active(q->raft, id, cairn_mono_ms());
        out->role = active ? "follower" : "unreachable";
        out->log_end_offset = raft_match_index(q->raft, id);
        return;
    }
    bool up = q->peers[i] && rpc_client_connected(q->peers[i]);
    out->role = !up ? "unreachable" : id == raft_leader(q->raft) ? "leader" : "follower";
    out->log_end_offset = 0;
}

const raft_entry_t *quorum_committed_entry(const quorum_t *q, uint64_t index)
{
    if (index > md_image_last_index(q->image))
        return NULL;
    return raft_entry_at(q->raft, index);
}
