/* Deterministic Raft simulation (TigerBeetle VOPR style): one thread,
 * virtual time, one seeded PRNG driving a lossy network, crashing disks and
 * random proposals, with the Raft safety properties checked after every
 * step. Shared declarations of the simulator's modules. */
#ifndef CAIRN_SIM_H
#define CAIRN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "raft.h"

#define SIM_MAX_NODES 5
#define SIM_TRACE_KEEP 200            /* lines kept for a failure report */
#define SIM_TRACE_LINE_MAX 384
#define SIM_NET_MAX_PACKETS 20000     /* in flight; past it the network drops */
#define SIM_VIOLATION_MAX 512

/* ---- PRNG: splitmix64, the whole run derives from one seed ---------------- */

typedef struct sim_rng {
    uint64_t s;
} sim_rng_t;

static inline uint64_t sim_rand(sim_rng_t *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline uint64_t sim_range(sim_rng_t *g, uint64_t lo, uint64_t hi)
{
    return lo + sim_rand(g) % (hi - lo + 1);
}

static inline bool sim_chance(sim_rng_t *g, uint32_t per_mille)
{
    return sim_rand(g) % 1000 < per_mille;
}

uint64_t sim_hash_bytes(uint64_t h, const void *p, size_t len);
uint64_t sim_hash_u64(uint64_t h, uint64_t v);
#define SIM_HASH_INIT 0xcbf29ce484222325ull

/* ---- trace: ring of recent lines, optional printing and hashing --------- */

typedef struct sim_trace {
    char lines[SIM_TRACE_KEEP][SIM_TRACE_LINE_MAX];
    size_t next;
    uint64_t count;
    uint64_t hash;               /* over every line, for replay checks */
    bool print;                  /* --trace: every line to stdout */
} sim_trace_t;

void sim_trace_line(sim_trace_t *t, const char *line);
void sim_trace_dump(const sim_trace_t *t, FILE *file);

/* ---- network -------------------------------------------------------------- */

typedef struct sim_packet {
    uint64_t deliver_ms;
    uint64_t seq;                /* ties broken by send order: deterministic */
    raft_msg_t msg;              /* entries/snapshot live in the same block */
} sim_packet_t;

typedef struct sim_net {
    sim_packet_t **heap;
    size_t n, cap;
    uint64_t seq;
    bool cut[SIM_MAX_NODES + 1][SIM_MAX_NODES + 1];   /* [from][to] */
    uint32_t drop_per_mille;
    uint32_t dup_per_mille;
    uint64_t latency_min_ms, latency_max_ms;
    uint64_t sent, dropped, duplicated;
} sim_net_t;

void sim_net_init(sim_net_t *net);
void sim_net_free(sim_net_t *net);
/* Deep-copies m (the update that holds it dies at raft_advance). */
void sim_net_send(sim_net_t *net, sim_rng_t *g, const raft_msg_t *m, uint64_t now_ms);
uint64_t sim_net_next_ms(const sim_net_t *net);
/* Pops the earliest packet; the caller frees it with free(). */
sim_packet_t *sim_net_pop(sim_net_t *net);
void sim_net_heal(sim_net_t *net);

/* ---- nodes: host loop, disk, state machine -------------------------------- */

typedef struct sim_disk {
    uint64_t term;
    uint32_t voted_for;
    uint64_t snap_index, snap_term;
    uint8_t *snap;
    size_t snap_len;
    raft_entry_t *ents;          /* from snap_index + 1; data owned */
    size_t n_ents, cap;
} sim_disk_t;

typedef struct sim_node {
    uint32_t id;
    raft_t *r;                   /* NULL while crashed */
    uint32_t incarnation;
    uint64_t restart_ms;
    uint64_t next_tick_ms;
    bool crash_armed;            /* crash inside the next update's persist */
    bool holding;                /* an update is being fsync'd (async host) */
    uint64_t fsync_done_ms;
    raft_update_t held;
    sim_disk_t disk;
    uint64_t sm_index;           /* state machine: last applied index */
    uint64_t sm_digest;          /* hash chain of everything applied */
    uint64_t seen_commit;        /* checker: commit index already recorded */
    bool was_leader;
    uint64_t leader_term;
    uint64_t strike_checked_term;  /* leadership already considered for a strike */
} sim_node_t;

/* ---- checker -------------------------------------------------------------- */

typedef struct sim_slot {
    uint64_t term;
    uint64_t hash;
    uint64_t aux;                /* commit: term that committed it; apply: digest */
    bool set;
} sim_slot_t;

typedef struct sim_match_key {
    uint64_t index, term, hash, prev_term;
    bool used;
} sim_match_key_t;

typedef struct sim_checker {
    uint32_t *leader_of_term;
    size_t n_terms;
    sim_slot_t *committed;       /* by index */
    sim_slot_t *applied;         /* by index */
    size_t n_slots;
    uint64_t max_committed;
    sim_match_key_t *match;      /* (index, term) -> data hash, prev term */
    size_t match_cap, match_n;
    uint64_t *proposal_index;    /* proposal id -> index it was applied at */
    size_t n_proposals;
    bool failed;
    char violation[SIM_VIOLATION_MAX];
} sim_checker_t;

void sim_checker_init(sim_checker_t *c);
void sim_checker_free(sim_checker_t *c);
void sim_fail(sim_checker_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t sim_entry_hash(const raft_entry_t *e);
/* Log matching: every entry a node persists, with the term before it. */
void sim_check_persisted(sim_checker_t *c, uint32_t node, const raft_entry_t *e,
                         uint64_t prev_term);
/* State machine safety: every entry a node applies, with its digest after. */
void sim_check_applied(sim_checker_t *c, uint32_t node, const raft_entry_t *e,
                       uint64_t digest);
void sim_check_snapshot(sim_checker_t *c, uint32_t node, uint64_t index, uint64_t digest);
/* Election safety, leader completeness and commit stability for one node. */
void sim_check_node(sim_checker_t *c, sim_node_t *nd);
/* Log matching across every pair of live nodes, entry by entry. */
void sim_check_logs(sim_checker_t *c, sim_node_t *nodes, size_t n);

/* ---- one simulated run ---------------------------------------------------- */

typedef struct sim_params {
    size_t n_nodes;
    bool prevote, check_quorum;
    uint64_t election_ms, heartbeat_ms, tick_ms;
    size_t max_append_entries;
    size_t max_uncommitted_bytes;    /* client backpressure */
    uint64_t fsync_max_ms;           /* 0: synchronous host; else fsync takes up to this,
                                        and messages keep arriving meanwhile */
    uint64_t chaos_ms;               /* faults stop after this */
    uint64_t crash_every_ms;         /* mean gap between crashes */
    uint64_t down_max_ms;
    uint32_t mid_update_per_mille;   /* crashes that tear an update */
    uint64_t partition_every_ms;
    uint64_t partition_max_ms;
    uint64_t propose_every_ms;
    uint64_t compact_every;          /* applied entries between snapshots */
    uint32_t strike_per_mille;       /* new leaders crashed or cut off at once */
    uint64_t strike_max_ms;
} sim_params_t;

typedef struct sim_stats {
    uint64_t events, crashes, torn, restarts, partitions, proposals, commits;
    uint64_t elections, snapshots_taken, installs, max_term, strikes;
} sim_stats_t;

typedef struct sim {
    uint64_t seed;
    sim_rng_t rng;
    sim_params_t p;
    uint64_t now_ms;
    sim_node_t nodes[SIM_MAX_NODES + 1];   /* 1-based */
    sim_net_t net;
    sim_checker_t chk;
    sim_trace_t *trace;                    /* NULL: no tracing (fast) */
    uint64_t next_crash_ms, next_partition_ms, heal_ms, next_propose_ms;
    bool chaos;                            /* faults on (else the healed phase) */
    uint64_t strike_ms;                    /* pending strike at a new leader */
    uint32_t strike_node;
    uint64_t strike_term;
    uint64_t next_proposal_id;
    sim_stats_t stats;
} sim_t;

void sim_tracef(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* node.c */
void sim_node_start(sim_t *s, sim_node_t *nd);
void sim_node_crash(sim_t *s, sim_node_t *nd, const char *how);
void sim_node_free(sim_node_t *nd);
/* Runs the host loop: persist, send, apply, advance, while there is work;
 * an asynchronous host stops at an update whose fsync is still running. */
void sim_node_drain(sim_t *s, sim_node_t *nd);
/* The held update's fsync finished: send, apply, advance, drain. */
void sim_node_fsync_done(sim_t *s, sim_node_t *nd);

/* run.c: returns true if every invariant held; the checker holds the
 * violation otherwise. fingerprint summarises the final state. */
bool sim_run(uint64_t seed, sim_trace_t *trace, uint64_t *fingerprint, sim_stats_t *stats,
             char *violation, size_t violation_len);

#endif
