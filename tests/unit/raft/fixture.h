/* A tiny hand-driven Raft cluster for scenario tests: the test decides which
 * node ticks and which message is delivered; the fixture persists, queues
 * and applies exactly as a host would (raft.h's update loop). */
#ifndef CAIRN_RAFT_FIXTURE_H
#define CAIRN_RAFT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define FX_MAX_NODES 5
#define FX_ELECTION_MS 100u
#define FX_HEARTBEAT_MS 20u

typedef struct fx_disk {
    uint64_t term;
    uint32_t voted_for;
    uint64_t snap_index, snap_term;
    uint8_t *snap;
    size_t snap_len;
    raft_entry_t *ents;            /* from snap_index + 1, data owned */
    size_t n_ents;
} fx_disk_t;

typedef struct fx_node {
    raft_t *r;
    fx_disk_t disk;
    char *applied[512];            /* applied NORMAL entry data, as strings */
    uint64_t applied_index[512];
    size_t n_applied;
    uint64_t sm_index;             /* last index applied or installed */
    size_t updates;                /* updates drained */
} fx_node_t;

typedef struct fx_msg {
    raft_msg_t m;                  /* entries/snapshot point into owned copies */
} fx_msg_t;

typedef struct fx {
    size_t n;
    fx_node_t nodes[FX_MAX_NODES + 1];   /* 1-based */
    raft_config_t cfg;                   /* template; id/seed set per node */
    uint64_t now_ms;
    fx_msg_t *queue;
    size_t n_queue, cap_queue;
    bool cut[FX_MAX_NODES + 1][FX_MAX_NODES + 1];
    char **trace;
    size_t n_trace, cap_trace;
} fx_t;

/* n voters 1..n, prevote and check-quorum as given; everything owned by f. */
void fx_init(fx_t *f, size_t n, bool prevote, bool check_quorum);
/* Re-creates node id from its disk (after fx_crash or to apply cfg changes). */
void fx_start(fx_t *f, uint32_t id);
void fx_crash(fx_t *f, uint32_t id);
void fx_free(fx_t *f);

/* Runs node id's update loop until it has nothing more: persist, queue
 * messages, apply. */
void fx_drain(fx_t *f, uint32_t id);
void fx_drain_all(fx_t *f);
/* Advances the clock by ms and ticks only the listed node. */
void fx_tick(fx_t *f, uint32_t id, uint64_t ms);
/* Advances the clock by ms, ticking every live node in 10 ms steps and
 * delivering messages in between. */
void fx_run(fx_t *f, uint64_t ms);
/* Delivers queued messages (respecting cuts) until the queue is empty. */
void fx_deliver_all(fx_t *f);
/* Delivers the first queued message of the given type from -> to; false if none. */
bool fx_deliver_one(fx_t *f, uint32_t from, uint32_t to, raft_msg_type_t type);
/* Drops every queued message. */
void fx_drop_all(fx_t *f);
size_t fx_count(const fx_t *f, uint32_t from, uint32_t to, raft_msg_type_t type);
/* Cuts (or heals) both directions between a and b. */
void fx_cut(fx_t *f, uint32_t a, uint32_t b, bool cut);
/* Isolates id from everyone (or heals it). */
void fx_isolate(fx_t *f, uint32_t id, bool cut);
/* Makes id time out and run a full election with everything delivered. */
void fx_elect(fx_t *f, uint32_t id);
/* Proposes at id (must be leader), returns the index. */
uint64_t fx_propose(fx_t *f, uint32_t id, const char *data);
uint32_t fx_leader(const fx_t *f);
/* Host-side snapshot at index (<= applied) with data, persisted on its disk. */
int fx_compact(fx_t *f, uint32_t id, uint64_t index, const char *data);
/* Restarts every node with f->cfg (fresh nodes only: disks are kept). */
void fx_restart_all(fx_t *f);

/* True if some trace line contains needle. */
bool fx_traced(const fx_t *f, const char *needle);
void fx_trace_clear(fx_t *f);
/* Dumps the trace to stderr (for a failing test). */
void fx_trace_dump(const fx_t *f);

#endif
