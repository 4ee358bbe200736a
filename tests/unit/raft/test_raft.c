/* Scenario tests for the Raft core (controller/raft): elections and
 * PreVote, vote durability, replication and truncation, the current-term
 * commit rule, the lost-connection hint, check-quorum, snapshots,
 * leadership transfer, bad input. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "log.h"
#include "raft.h"

#define R(id) (f.nodes[(id)].r)

/* ---- elections ---------------------------------------------------------- */

START_TEST(test_election_with_prevote)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    ck_assert_uint_eq(fx_leader(&f), 1);
    ck_assert_uint_eq(raft_term(R(1)), 1);
    ck_assert(fx_traced(&f, "n1 became precandidate term 0 prevote term 1"));
    ck_assert(fx_traced(&f, "n2 recv PREVOTE from n1 term 1>0 log 0/0 grant"));
    ck_assert(fx_traced(&f, "n1 became candidate term 1"));
    ck_assert(fx_traced(&f, "n2 recv VOTE from n1 term 1 log 0/0 grant (vote n1)"));
    ck_assert(fx_traced(&f, "n1 became leader term 1"));
    /* The leader-change entry commits everywhere. */
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert_uint_eq(raft_commit_index(R(id)), 1);
        ck_assert_uint_eq(raft_leader(R(id)), 1);
        ck_assert_uint_eq(raft_entry_at(R(id), 1)->type, RAFT_ENTRY_LEADER_CHANGE);
    }
    fx_free(&f);
}
END_TEST

/* The whole story of a first election, line by line. */
START_TEST(test_election_trace)
{
    static const char *const expected[] = {
        "t=1200 n1 election timeout term 0 follower",
        "t=1200 n1 became candidate term 1",
        "t=1200 n2 became follower term 1, no leader",
        "t=1200 n2 recv VOTE from n1 term 1 log 0/0 grant (vote n1)",
        "t=1200 n3 became follower term 1, no leader",
        "t=1200 n3 recv VOTE from n1 term 1 log 0/0 grant (vote n1)",
        "t=1200 n1 recv VOTE_RESP from n2 term 1 grant (2 granted, 0 rejected)",
        "t=1200 n1 became leader term 1 last 0/0",
        "t=1200 n1 ignore VOTE_RESP from n3: leader",
        "t=1200 n2 became follower term 1 leader n1",
        "t=1200 n2 recv APPEND from n1 term 1 prev 0/0 n=1 accept match 1",
        "t=1200 n3 became follower term 1 leader n1",
        "t=1200 n3 recv APPEND from n1 term 1 prev 0/0 n=1 accept match 1",
        "t=1200 n1 progress n2 match 1 (was 0)",
        "t=1200 n1 commit 1 term 1",
        "t=1200 n1 progress n3 match 1 (was 0)",
        "t=1200 n2 commit 1 from leader n1",
        "t=1200 n3 commit 1 from leader n1",
    };
    size_t n = sizeof expected / sizeof expected[0];
    fx_t f;
    fx_init(&f, 3, false, false);
    fx_trace_clear(&f);
    fx_elect(&f, 1);
    if (f.n_trace != n)
        fx_trace_dump(&f);
    ck_assert_uint_eq(f.n_trace, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(f.trace[i], expected[i]);
    fx_free(&f);
}
END_TEST

START_TEST(test_election_without_prevote)
{
    fx_t f;
    fx_init(&f, 5, false, false);
    fx_elect(&f, 4);
    ck_assert_uint_eq(fx_leader(&f), 4);
    ck_assert(!fx_traced(&f, "PREVOTE"));
    ck_assert(fx_traced(&f, "n1 recv VOTE from n4 term 1 log 0/0 grant (vote n4)"));
    fx_free(&f);
}
END_TEST

/* A partitioned node campaigns alone, but PreVote keeps its term, so on
 * return it cannot depose the healthy leader (thesis §9.6). */
START_TEST(test_prevote_partitioned_node_keeps_term)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_isolate(&f, 3, true);
    fx_run(&f, 1000);
    ck_assert(fx_traced(&f, "n3 became precandidate term 1 prevote term 2"));
    ck_assert_uint_eq(raft_term(R(3)), 1);
    /* n3 reaches n2 but still not the leader: n2 refuses to help. */
    fx_cut(&f, 2, 3, false);
    fx_run(&f, 500);
    ck_assert(fx_traced(&f, "n2 recv PREVOTE from n3 term 2>1 log 1/1 reject live leader"));
    ck_assert_uint_eq(raft_term(R(3)), 1);
    ck_assert_uint_eq(fx_leader(&f), 1);
    ck_assert_uint_eq(raft_term(R(1)), 1);
    fx_isolate(&f, 3, false);
    fx_run(&f, 100);
    ck_assert_uint_eq(raft_role(R(3)), RAFT_FOLLOWER);
    ck_assert_uint_eq(raft_leader(R(3)), 1);
    ck_assert_uint_eq(raft_term(R(1)), 1);
    fx_free(&f);
}
END_TEST

START_TEST(test_prevote_rejects_stale_log)
{
    fx_t f;
    fx_init(&f, 3, true, false);
    fx_elect(&f, 1);
    fx_isolate(&f, 3, true);
    fx_propose(&f, 1, "a");
    fx_deliver_all(&f);
    fx_crash(&f, 1);            /* no live leader any more */
    fx_isolate(&f, 3, false);
    fx_tick(&f, 3, 2 * FX_ELECTION_MS);
    fx_deliver_all(&f);
    ck_assert(fx_traced(&f, "n2 recv PREVOTE from n3 term 2>1 log 1/1 reject stale log"));
    ck_assert_uint_eq(raft_term(R(2)), 1);   /* a prevote changes nothing */
    ck_assert_uint_eq(raft_term(R(3)), 1);
    fx_free(&f);
}
END_TEST

/* The grant and the vote it depends on travel in the same update: the
 * message is only sent after hard_state_changed was persisted. */
START_TEST(test_vote_persisted_before_reply)
{
    fx_t f;
    fx_init(&f, 3, false, false);
    fx_tick(&f, 1, 2 * FX_ELECTION_MS);
    ck_assert_uint_eq(raft_role(R(1)), RAFT_CANDIDATE);
    ck_assert_uint_eq(f.nodes[1].disk.term, 1);
    ck_assert_uint_eq(f.nodes[1].disk.voted_for, 1);

    const raft_msg_t *vote = NULL;
    for (size_t i = 0; i < f.n_queue; i++)
        if (f.queue[i].m.to == 2)
            vote = &f.queue[i].m;
    ck_assert_ptr_nonnull(vote);
    ck_assert_int_eq(raft_step(R(2), vote, f.now_ms), RAFT_OK);
    raft_update_t u;
    raft_get_update(R(2), &u);
    ck_assert(u.hard_state_changed);
    ck_assert_uint_eq(u.term, 1);
    ck_assert_uint_eq(u.voted_for, 1);
    ck_assert_uint_eq(u.n_msgs, 1);
    ck_assert_uint_eq(u.msgs[0].type, RAFT_MSG_VOTE_RESP);
    ck_assert(!u.msgs[0].reject);
    /* Crash before persisting: nothing was sent, nothing is remembered. */
    fx_crash(&f, 2);
    fx_start(&f, 2);
    ck_assert_uint_eq(raft_term(R(2)), 0);
    fx_free(&f);
}
END_TEST

/* Once persisted, the vote survives a restart: no second vote in term 1. */
START_TEST(test_vote_survives_restart)
{
    fx_t f;
    fx_init(&f, 3, false, false);
    fx_cut(&f, 1, 3, true);
    fx_tick(&f, 1, 2 * FX_ELECTION_MS);
    ck_assert(fx_deliver_one(&f, 1, 2, RAFT_MSG_VOTE));
    fx_drop_all(&f);
    fx_crash(&f, 2);
    fx_start(&f, 2);
    ck_assert_uint_eq(raft_term(R(2)), 1);
    /* n3 campaigns in the same term 1. */
    fx_cut(&f, 1, 3, false);
    fx_isolate(&f, 1, true);
    fx_tick(&f, 3, 2 * FX_ELECTION_MS);
    ck_assert_uint_eq(raft_term(R(3)), 1);
    ck_assert(fx_deliver_one(&f, 3, 2, RAFT_MSG_VOTE));
    ck_assert(fx_traced(&f, "n2 recv VOTE from n3 term 1 log 0/0 reject already voted (vote n1)"));
    ck_assert_uint_eq(fx_count(&f, 2, 3, RAFT_MSG_VOTE_RESP), 1);
    ck_assert(f.queue[f.n_queue - 1].m.reject);
    fx_free(&f);
}
END_TEST

/* Leader stickiness: a follower that hears from its leader ignores a
 * higher-term vote request instead of bumping its term. */
START_TEST(test_vote_ignored_while_leader_alive)
{
    fx_t f;
    fx_init(&f, 3, false, true);
    fx_elect(&f, 1);
    fx_isolate(&f, 3, true);
    fx_run(&f, 500);
    ck_assert_uint_eq(raft_role(R(3)), RAFT_CANDIDATE);
    ck_assert_uint_ge(raft_term(R(3)), 2);
    fx_cut(&f, 2, 3, false);
    fx_run(&f, 300);
    ck_assert(fx_traced(&f, "n2 ignore VOTE from n3 term "));
    ck_assert(fx_traced(&f, ">1: leader n1 alive"));
    ck_assert_uint_eq(raft_term(R(2)), 1);
    ck_assert_uint_eq(raft_leader(R(2)), 1);
    ck_assert_uint_eq(fx_leader(&f), 1);
    fx_free(&f);
}
END_TEST

/* ---- replication --------------------------------------------------------- */

START_TEST(test_replication_and_apply)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    ck_assert_uint_eq(fx_propose(&f, 1, "a"), 2);
    ck_assert_uint_eq(fx_propose(&f, 1, "b"), 3);
    fx_deliver_all(&f);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert_uint_eq(raft_commit_index(R(id)), 3);
        ck_assert_uint_eq(raft_applied_index(R(id)), 3);
        ck_assert_uint_eq(f.nodes[id].n_applied, 2);
        ck_assert_str_eq(f.nodes[id].applied[0], "a");
        ck_assert_str_eq(f.nodes[id].applied[1], "b");
        ck_assert_uint_eq(f.nodes[id].disk.n_ents, 3);
    }
    ck_assert_uint_eq(raft_match_index(R(1), 2), 3);
    ck_assert_uint_eq(raft_match_index(R(1), 1), 3);
    ck_assert(raft_voter_active(R(1), 3, f.now_ms));
    ck_assert_int_eq(raft_propose(R(2), (const uint8_t *)"x", 1, f.now_ms, NULL),
                     RAFT_ERR_NOT_LEADER);
    fx_free(&f);
}
END_TEST

/* The follower's acknowledgement rides in the same update as the entries
 * it acknowledges, so it is only sent once they are durable. */
START_TEST(test_follower_acks_with_entries)
{
    fx_t f;
    fx_init(&f, 3, false, false);
    fx_elect(&f, 1);
    fx_propose(&f, 1, "abc");
    const raft_msg_t *app = NULL;
    for (size_t i = 0; i < f.n_queue; i++)
        if (f.queue[i].m.to == 2 && f.queue[i].m.type == RAFT_MSG_APPEND)
            app = &f.queue[i].m;
    ck_assert_ptr_nonnull(app);
    ck_assert_uint_eq(app->n_entries, 1);
    raft_step(R(2), app, f.now_ms);
    raft_update_t u, again;
    raft_get_update(R(2), &u);
    raft_get_update(R(2), &again);
    ck_assert_ptr_eq(u.entries, again.entries);
    ck_assert_ptr_eq(u.msgs, again.msgs);
    ck_assert_uint_eq(u.n_entries, 1);
    ck_assert_uint_eq(u.entries[0].index, 2);
    ck_assert_int_eq(memcmp(u.entries[0].data, "abc", 3), 0);
    ck_assert_uint_eq(u.n_msgs, 1);
    ck_assert_uint_eq(u.msgs[0].type, RAFT_MSG_APPEND_RESP);
    ck_assert_uint_eq(u.msgs[0].hint, 2);
    raft_advance(R(2), &u);
    ck_assert(!raft_has_update(R(2)));
    fx_drop_all(&f);
    fx_free(&f);
}
END_TEST

/* The host may keep stepping while it fsyncs an update: the update it holds
 * stays intact and the core counts only what the host reports durable. */
START_TEST(test_step_while_update_held)
{
    fx_t f;
    fx_init(&f, 3, false, false);
    fx_elect(&f, 1);
    raft_t *r = R(1);
    ck_assert_int_eq(raft_propose(r, (const uint8_t *)"x", 1, f.now_ms, NULL), RAFT_OK);
    raft_update_t held;
    raft_get_update(r, &held);
    ck_assert_uint_eq(held.n_entries, 1);
    /* More proposals and a follower ack arrive before the fsync is done. */
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(raft_propose(r, (const uint8_t *)"yy", 2, f.now_ms, NULL), RAFT_OK);
    const raft_msg_t *app = NULL;
    for (size_t i = 0; i < held.n_msgs; i++)
        if (held.msgs[i].to == 2)
            app = &held.msgs[i];
    ck_assert_ptr_nonnull(app);
    raft_step(R(2), app, f.now_ms);             /* n2 acks index 2 */
    fx_drain(&f, 2);
    ck_assert_uint_eq(fx_count(&f, 2, 1, RAFT_MSG_APPEND_RESP), 1);
    raft_step(r, &f.queue[f.n_queue - 1].m, f.now_ms);
    ck_assert_uint_eq(raft_match_index(r, 2), 2);
    ck_assert_uint_eq(raft_commit_index(r), 1);   /* our own copy is not durable yet */
    ck_assert_uint_eq(held.entries[0].index, 2);
    ck_assert_int_eq(memcmp(held.entries[0].data, "x", 1), 0);
    raft_update_t again;
    raft_get_update(r, &again);
    ck_assert_ptr_eq(again.entries, held.entries);
    raft_advance(r, &held);
    ck_assert_uint_eq(raft_commit_index(r), 2);
    raft_get_update(r, &held);
    ck_assert_uint_eq(held.n_entries, 300);
    ck_assert_uint_eq(held.entries[0].index, 3);
    ck_assert_uint_eq(held.n_committed, 1);
    raft_advance(r, &held);
    fx_drop_all(&f);
    fx_free(&f);
}
END_TEST

/* Raft §7: a snapshot ending at an entry the follower already holds only
 * advances its commit; the entries after it (maybe acknowledged) stay. */
START_TEST(test_snapshot_of_held_entry_keeps_log)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_propose(&f, 1, "a");
    fx_propose(&f, 1, "b");
    fx_deliver_all(&f);
    raft_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_MSG_SNAPSHOT;
    m.from = 1;
    m.to = 2;
    m.term = 1;
    m.log_index = 2;
    m.log_term = 1;
    m.snapshot = (const uint8_t *)"img";
    m.snapshot_len = 3;
    /* Pretend n2 had not learnt the commit yet: restart it. */
    fx_crash(&f, 2);
    fx_start(&f, 2);
    ck_assert_uint_eq(raft_commit_index(R(2)), 0);
    m.term = 1;
    ck_assert_int_eq(raft_step(R(2), &m, f.now_ms), RAFT_OK);
    ck_assert(fx_traced(&f, "n2 recv SNAPSHOT from n1 index 2/1: entry held, commit"));
    ck_assert_uint_eq(raft_commit_index(R(2)), 2);
    ck_assert_uint_eq(raft_last_index(R(2)), 3);
    raft_update_t u;
    raft_get_update(R(2), &u);
    ck_assert(!u.snapshot_install);
    ck_assert_uint_eq(u.n_committed, 2);
    raft_advance(R(2), &u);
    fx_free(&f);
}
END_TEST

/* An old leader's unreplicated suffix is truncated and replaced by the new
 * leader's entries; it is never applied. */
START_TEST(test_conflicting_suffix_truncated)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_propose(&f, 1, "a");
    fx_deliver_all(&f);
    fx_isolate(&f, 1, true);
    fx_propose(&f, 1, "x");
    fx_propose(&f, 1, "y");
    fx_run(&f, 600);                      /* n1 steps down, n2 or n3 leads */
    uint32_t l = fx_leader(&f);
    ck_assert(l == 2 || l == 3);
    ck_assert_uint_ne(raft_role(R(1)), RAFT_LEADER);
    fx_propose(&f, l, "b");
    fx_isolate(&f, 1, false);
    fx_run(&f, 300);
    ck_assert(fx_traced(&f, "n1 truncate from 3"));
    ck_assert_uint_eq(raft_last_index(R(1)), raft_last_index(R(l)));
    for (uint64_t i = 1; i <= raft_last_index(R(l)); i++)
        ck_assert_uint_eq(raft_entry_at(R(1), i)->term, raft_entry_at(R(l), i)->term);
    ck_assert_uint_eq(f.nodes[1].n_applied, 2);
    ck_assert_str_eq(f.nodes[1].applied[0], "a");
    ck_assert_str_eq(f.nodes[1].applied[1], "b");
    fx_free(&f);
}
END_TEST

/* Raft §5.4.2 (figure 8): a leader of term 3 that replicates a term-1 entry
 * to a majority must not commit it until an entry of term 3 is there too. */
START_TEST(test_commit_only_current_term)
{
    fx_t f;
    fx_init(&f, 3, false, false);
    f.cfg.max_append_entries = 1;
    fx_restart_all(&f);
    fx_elect(&f, 1);                       /* term 1, index 1 committed */
    fx_isolate(&f, 1, true);
    ck_assert_uint_eq(fx_propose(&f, 1, "old"), 2);   /* only on n1 */
    fx_drop_all(&f);
    fx_crash(&f, 1);                       /* restarts as a follower, "old" kept */
    fx_start(&f, 1);
    /* n2 wins term 2 with n3's vote; its entries reach no one. */
    fx_tick(&f, 2, 2 * FX_ELECTION_MS);
    ck_assert(fx_deliver_one(&f, 2, 3, RAFT_MSG_VOTE));
    ck_assert(fx_deliver_one(&f, 3, 2, RAFT_MSG_VOTE_RESP));
    ck_assert_uint_eq(fx_leader(&f), 2);
    fx_drop_all(&f);
    fx_isolate(&f, 2, true);
    fx_isolate(&f, 1, false);
    fx_cut(&f, 1, 2, true);
    fx_cut(&f, 2, 3, true);
    /* n1 needs two tries: n3 already voted in term 2. */
    fx_tick(&f, 1, 2 * FX_ELECTION_MS);
    fx_deliver_one(&f, 1, 3, RAFT_MSG_VOTE);
    fx_deliver_one(&f, 3, 1, RAFT_MSG_VOTE_RESP);
    fx_tick(&f, 1, 2 * FX_ELECTION_MS);
    fx_deliver_one(&f, 1, 3, RAFT_MSG_VOTE);
    fx_deliver_one(&f, 3, 1, RAFT_MSG_VOTE_RESP);
    ck_assert_uint_eq(raft_role(R(1)), RAFT_LEADER);
    ck_assert_uint_eq(raft_term(R(1)), 3);
    /* Probe fails, then the term-1 entry alone reaches n3. */
    ck_assert(fx_deliver_one(&f, 1, 3, RAFT_MSG_APPEND));
    ck_assert(fx_deliver_one(&f, 3, 1, RAFT_MSG_APPEND_RESP));
    ck_assert(fx_deliver_one(&f, 1, 3, RAFT_MSG_APPEND));
    ck_assert(fx_deliver_one(&f, 3, 1, RAFT_MSG_APPEND_RESP));
    ck_assert_uint_eq(raft_match_index(R(1), 3), 2);
    /* Term-1 entries on a majority are not enough (n1 restarted knowing
     * no commit at all). */
    ck_assert_uint_eq(raft_commit_index(R(1)), 0);
    ck_assert(!fx_traced(&f, "n1 commit 2"));
    /* Its own leader-change entry follows, and commits both. */
    ck_assert(fx_deliver_one(&f, 1, 3, RAFT_MSG_APPEND));
    ck_assert(fx_deliver_one(&f, 3, 1, RAFT_MSG_APPEND_RESP));
    ck_assert_uint_eq(raft_commit_index(R(1)), 3);
    ck_assert(fx_traced(&f, "n1 commit 3 term 3"));
    fx_free(&f);
}
END_TEST

/* The leader counts its own log only once the host reported it durable. */
START_TEST(test_leader_counts_only_persisted)
{
    fx_t f;
    fx_init(&f, 1, true, true);
    fx_tick(&f, 1, 2 * FX_ELECTION_MS);
    ck_assert_uint_eq(raft_role(R(1)), RAFT_LEADER);
    ck_assert_uint_eq(raft_commit_index(R(1)), 1);
    uint64_t idx = 0;
    ck_assert_int_eq(raft_propose(R(1), (const uint8_t *)"solo", 4, f.now_ms, &idx), RAFT_OK);
    ck_assert_uint_eq(idx, 2);
    ck_assert_uint_eq(raft_commit_index(R(1)), 1);
    raft_update_t u;
    raft_get_update(R(1), &u);
    ck_assert_uint_eq(u.n_entries, 1);
    ck_assert_uint_eq(u.n_committed, 0);
    ck_assert_uint_eq(raft_commit_index(R(1)), 1);
    raft_advance(R(1), &u);
    ck_assert_uint_eq(raft_commit_index(R(1)), 2);
    raft_get_update(R(1), &u);
    ck_assert_uint_eq(u.n_committed, 1);
    ck_assert_uint_eq(u.committed[0].index, 2);
    raft_advance(R(1), &u);
    ck_assert_uint_eq(raft_applied_index(R(1)), 2);
    fx_free(&f);
}
END_TEST

START_TEST(test_uncommitted_bound)
{
    fx_t f;
    fx_init(&f, 3, false, false);
    f.cfg.max_uncommitted_bytes = 10;
    fx_restart_all(&f);
    fx_elect(&f, 1);
    fx_isolate(&f, 1, true);
    uint8_t buf[16] = { 0 };
    ck_assert_int_eq(raft_propose(R(1), buf, 11, f.now_ms, NULL), RAFT_ERR_TOO_BIG);
    ck_assert_int_eq(raft_propose(R(1), buf, 6, f.now_ms, NULL), RAFT_OK);
    ck_assert_int_eq(raft_propose(R(1), buf, 6, f.now_ms, NULL), RAFT_ERR_TOO_BIG);
    ck_assert_int_eq(raft_propose(R(1), buf, 4, f.now_ms, NULL), RAFT_OK);
    fx_isolate(&f, 1, false);
    fx_run(&f, 50);
    ck_assert_uint_eq(raft_commit_index(R(1)), 3);
    ck_assert_int_eq(raft_propose(R(1), buf, 10, f.now_ms, NULL), RAFT_OK);
    fx_free(&f);
}
END_TEST

/* ---- lost-connection hint ----------------------------------------------- */

/* Followers told that the leader's connection died campaign within a
 * quarter of the election timeout instead of a whole one. */
START_TEST(test_peer_down_fast_election)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_crash(&f, 1);
    fx_trace_clear(&f);
    raft_peer_down(R(2), 1, f.now_ms);
    raft_peer_down(R(3), 1, f.now_ms);
    ck_assert(fx_traced(&f, "n2 lost leader n1 term 1"));
    fx_run(&f, FX_ELECTION_MS / 2);
    uint32_t l = fx_leader(&f);
    if (l != 2 && l != 3)
        fx_trace_dump(&f);
    ck_assert(l == 2 || l == 3);
    ck_assert_uint_eq(raft_term(R(l)), 2);
    fx_free(&f);
}
END_TEST

/* A reset connection to a leader that is still alive costs nothing: the
 * other follower still hears it and refuses PreVote, and the hint about a
 * peer that is not the leader is ignored. */
START_TEST(test_peer_down_spurious_is_safe)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_trace_clear(&f);
    raft_peer_down(R(2), 3, f.now_ms);
    ck_assert(!fx_traced(&f, "lost leader"));
    raft_peer_down(R(2), 1, f.now_ms);
    fx_cut(&f, 1, 2, true);
    fx_run(&f, FX_ELECTION_MS / 2);
    ck_assert(fx_traced(&f, "n2 became precandidate term 1 prevote term 2"));
    ck_assert(fx_traced(&f, "reject live leader"));
    fx_cut(&f, 1, 2, false);
    fx_run(&f, 3 * FX_ELECTION_MS);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert_uint_eq(raft_term(R(id)), 1);
        ck_assert_uint_eq(raft_leader(R(id)), 1);
    }
    fx_free(&f);
}
END_TEST

/* ---- check-quorum ------------------------------------------------------- */

START_TEST(test_check_quorum_step_down)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_isolate(&f, 1, true);
    fx_run(&f, 2 * FX_ELECTION_MS + 20);
    ck_assert(fx_traced(&f, "n1 check quorum failed: 1 of 3 active, step down"));
    ck_assert_uint_eq(raft_role(R(1)), RAFT_FOLLOWER);
    fx_run(&f, 300);
    uint32_t l = fx_leader(&f);
    ck_assert(l == 2 || l == 3);
    ck_assert_uint_eq(raft_term(R(l)), 2);
    fx_free(&f);
}
END_TEST

START_TEST(test_no_check_quorum_keeps_leading)
{
    fx_t f;
    fx_init(&f, 3, true, false);
    fx_elect(&f, 1);
    fx_isolate(&f, 1, true);
    fx_run(&f, 1000);
    ck_assert_uint_eq(raft_role(R(1)), RAFT_LEADER);
    ck_assert(!raft_voter_active(R(1), 2, f.now_ms + 10 * FX_ELECTION_MS));
    fx_free(&f);
}
END_TEST

/* ---- snapshots ---------------------------------------------------------- */

START_TEST(test_snapshot_send_and_install)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_isolate(&f, 3, true);
    char data[8];
    for (int i = 0; i < 5; i++) {
        snprintf(data, sizeof data, "e%d", i);
        fx_propose(&f, 1, data);
    }
    fx_deliver_all(&f);
    ck_assert_uint_eq(raft_applied_index(R(1)), 6);
    ck_assert_int_eq(fx_compact(&f, 1, 7, "s"), RAFT_ERR_INVALID);  /* beyond applied */
    ck_assert_int_eq(fx_compact(&f, 1, 5, "state@5"), RAFT_OK);
    ck_assert_uint_eq(raft_first_index(R(1)), 6);
    ck_assert_ptr_null(raft_entry_at(R(1), 5));
    ck_assert_int_eq(fx_compact(&f, 1, 4, "s"), RAFT_ERR_INVALID);  /* already compacted */
    fx_propose(&f, 1, "after");
    fx_isolate(&f, 3, false);
    fx_run(&f, 100);
    ck_assert(fx_traced(&f, "n1 send SNAPSHOT to n3 index 5/1 len 7"));
    ck_assert(fx_traced(&f, "n3 recv SNAPSHOT from n1 index 5/1 len 7: install"));
    ck_assert_uint_eq(raft_snapshot_index(R(3)), 5);
    ck_assert_uint_eq(f.nodes[3].disk.snap_index, 5);
    ck_assert_int_eq(memcmp(f.nodes[3].disk.snap, "state@5", 7), 0);
    ck_assert_uint_eq(raft_commit_index(R(3)), 7);
    ck_assert_uint_eq(raft_applied_index(R(3)), 7);
    ck_assert_uint_eq(f.nodes[3].n_applied, 2);   /* e4 and "after" */
    ck_assert_str_eq(f.nodes[3].applied[1], "after");
    ck_assert_uint_eq(raft_match_index(R(1), 3), 7);
    /* n3 restarts from the installed snapshot and its entries. */
    fx_crash(&f, 3);
    fx_start(&f, 3);
    ck_assert_uint_eq(raft_snapshot_index(R(3)), 5);
    ck_assert_uint_eq(raft_last_index(R(3)), 7);
    fx_free(&f);
}
END_TEST

/* ---- leadership transfer ------------------------------------------------ */

START_TEST(test_transfer_leadership)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_propose(&f, 1, "a");
    fx_deliver_all(&f);
    fx_cut(&f, 1, 3, true);      /* n3 lags: n2 is the most caught up */
    fx_propose(&f, 1, "b");
    fx_deliver_all(&f);
    fx_cut(&f, 1, 3, false);
    ck_assert_int_eq(raft_transfer_leadership(R(2), f.now_ms), RAFT_ERR_NOT_LEADER);
    ck_assert_int_eq(raft_transfer_leadership(R(1), f.now_ms), RAFT_OK);
    ck_assert_int_eq(raft_propose(R(1), (const uint8_t *)"c", 1, f.now_ms, NULL),
                     RAFT_ERR_NOT_LEADER);
    fx_deliver_all(&f);
    ck_assert(fx_traced(&f, "n1 transfer leadership to n2 match 3/3"));
    ck_assert(fx_traced(&f, "n1 send TIMEOUT_NOW to n2"));
    ck_assert(fx_traced(&f, "n2 became candidate term 2 (transfer)"));
    ck_assert_uint_eq(fx_leader(&f), 2);
    ck_assert_uint_eq(raft_role(R(1)), RAFT_FOLLOWER);
    ck_assert_uint_eq(raft_leader(R(1)), 2);
    fx_propose(&f, 2, "c");
    fx_deliver_all(&f);
    ck_assert_uint_eq(f.nodes[3].n_applied, 3);
    fx_free(&f);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

static raft_msg_t base_msg(uint32_t from, uint32_t to, raft_msg_type_t type, uint64_t term)
{
    raft_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

START_TEST(test_invalid_messages)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    raft_t *r = R(2);
    raft_entry_t ents[2] = {
        { .term = 1, .index = 3, .type = RAFT_ENTRY_NORMAL },
        { .term = 1, .index = 5, .type = RAFT_ENTRY_NORMAL },
    };
    raft_msg_t m;
    ck_assert_int_eq(raft_step(r, NULL, f.now_ms), RAFT_ERR_INVALID);
    m = base_msg(2, 2, RAFT_MSG_APPEND, 1);
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* from self */
    m = base_msg(7, 2, RAFT_MSG_VOTE, 9);
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* unknown voter */
    m = base_msg(1, 3, RAFT_MSG_APPEND, 1);
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* not for us */
    m = base_msg(1, 2, RAFT_MSG_APPEND, 0);
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* term 0 */
    m = base_msg(1, 2, (raft_msg_type_t)42, 1);
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* unknown type */
    m = base_msg(1, 2, RAFT_MSG_APPEND, 1);
    m.log_index = 1;
    m.log_term = 1;
    m.entries = ents;
    m.n_entries = 2;
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* gap */
    ents[0].index = 2;
    ents[1].index = 3;
    ents[1].term = 5;
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* term > msg term */
    m.n_entries = 100000;
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* too many */
    m = base_msg(3, 2, RAFT_MSG_VOTE, 9);
    m.entries = ents;
    m.n_entries = 1;
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* entries on a vote */
    m = base_msg(1, 2, RAFT_MSG_SNAPSHOT, 1);
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* snapshot index 0 */
    m = base_msg(1, 2, RAFT_MSG_SNAPSHOT, 1);
    m.log_index = 4;
    m.log_term = 1;
    m.snapshot_len = 10;
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_ERR_INVALID);    /* data missing */
    /* Nothing above changed the node. */
    ck_assert_uint_eq(raft_term(r), 1);
    ck_assert_uint_eq(raft_role(r), RAFT_FOLLOWER);
    ck_assert_uint_eq(raft_last_index(r), 1);
    ck_assert(fx_traced(&f, "n2 drop invalid APPEND from n2: from self"));
    ck_assert(fx_traced(&f, "n2 drop invalid APPEND from n1: entry index not consecutive"));
    /* A second leader for the same term is refused, not obeyed. */
    m = base_msg(3, 2, RAFT_MSG_APPEND, 1);
    m.log_index = 1;
    m.log_term = 1;
    ck_assert_int_eq(raft_step(r, &m, f.now_ms), RAFT_OK);
    ck_assert(fx_traced(&f, "n2 drop APPEND from n3: n1 leads term 1"));
    ck_assert_uint_eq(raft_leader(r), 1);
    fx_drop_all(&f);
    fx_free(&f);
}
END_TEST

START_TEST(test_invalid_config_and_restore)
{
    raft_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = 1;
    cfg.voters[0] = 1;
    cfg.voters[1] = 2;
    cfg.n_voters = 2;
    cfg.election_timeout_ms = 100;
    cfg.heartbeat_interval_ms = 10;
    raft_t *r = raft_create(&cfg, NULL, 0);
    ck_assert_ptr_nonnull(r);
    raft_destroy(r);
    cfg.id = 3;                                   /* not a voter */
    ck_assert_ptr_null(raft_create(&cfg, NULL, 0));
    cfg.id = 1;
    cfg.heartbeat_interval_ms = 100;              /* not below the election timeout */
    ck_assert_ptr_null(raft_create(&cfg, NULL, 0));
    cfg.heartbeat_interval_ms = 10;
    cfg.voters[1] = 1;                            /* duplicate voter */
    ck_assert_ptr_null(raft_create(&cfg, NULL, 0));
    cfg.voters[1] = 2;
    raft_entry_t e[2] = { { .term = 1, .index = 1 }, { .term = 1, .index = 3 } };
    raft_restore_t rs = { .term = 1, .entries = e, .n_entries = 2 };
    ck_assert_ptr_null(raft_create(&cfg, &rs, 0));   /* gap */
    e[1].index = 2;
    e[1].term = 2;
    ck_assert_ptr_null(raft_create(&cfg, &rs, 0));   /* entry term above the term */
    rs.term = 2;
    rs.voted_for = 9;
    ck_assert_ptr_null(raft_create(&cfg, &rs, 0));   /* vote for a stranger */
    rs.voted_for = 2;
    r = raft_create(&cfg, &rs, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(raft_last_index(r), 2);
    ck_assert_uint_eq(raft_last_term(r), 2);
    ck_assert_uint_eq(raft_commit_index(r), 0);
    raft_destroy(r);
}
END_TEST

/* Proves the invariant checks are live: advancing an update never taken. */
START_TEST(test_advance_without_update_asserts)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    raft_update_t u;
    memset(&u, 0, sizeof u);
    raft_advance(R(1), &u);
}
END_TEST

/* ---- restart ------------------------------------------------------------ */

START_TEST(test_restart_recovers_log)
{
    fx_t f;
    fx_init(&f, 3, true, true);
    fx_elect(&f, 1);
    fx_propose(&f, 1, "a");
    fx_propose(&f, 1, "b");
    fx_deliver_all(&f);
    for (uint32_t id = 1; id <= 3; id++) {
        fx_crash(&f, id);
        fx_start(&f, id);
        ck_assert_uint_eq(raft_last_index(R(id)), 3);
        ck_assert_uint_eq(raft_term(R(id)), 1);
        ck_assert_uint_eq(raft_commit_index(R(id)), 0);
    }
    fx_run(&f, 500);
    uint32_t l = fx_leader(&f);
    ck_assert(l != 0);
    fx_propose(&f, l, "c");
    fx_run(&f, 100);
    for (uint32_t id = 1; id <= 3; id++)
        ck_assert_uint_eq(raft_commit_index(R(id)), raft_last_index(R(l)));
    fx_free(&f);
}
END_TEST

static Suite *raft_suite(void)
{
    Suite *s = suite_create("raft");
    TCase *tc = tcase_create("election");
    tcase_add_test(tc, test_election_trace);
    tcase_add_test(tc, test_election_with_prevote);
    tcase_add_test(tc, test_election_without_prevote);
    tcase_add_test(tc, test_prevote_partitioned_node_keeps_term);
    tcase_add_test(tc, test_prevote_rejects_stale_log);
    tcase_add_test(tc, test_vote_persisted_before_reply);
    tcase_add_test(tc, test_vote_survives_restart);
    tcase_add_test(tc, test_vote_ignored_while_leader_alive);
    suite_add_tcase(s, tc);
    tc = tcase_create("replication");
    tcase_add_test(tc, test_replication_and_apply);
    tcase_add_test(tc, test_follower_acks_with_entries);
    tcase_add_test(tc, test_step_while_update_held);
    tcase_add_test(tc, test_conflicting_suffix_truncated);
    tcase_add_test(tc, test_commit_only_current_term);
    tcase_add_test(tc, test_leader_counts_only_persisted);
    tcase_add_test(tc, test_uncommitted_bound);
    tcase_add_test(tc, test_restart_recovers_log);
    suite_add_tcase(s, tc);
    tc = tcase_create("peer_down");
    tcase_add_test(tc, test_peer_down_fast_election);
    tcase_add_test(tc, test_peer_down_spurious_is_safe);
    suite_add_tcase(s, tc);
    tc = tcase_create("check_quorum");
    tcase_add_test(tc, test_check_quorum_step_down);
    tcase_add_test(tc, test_no_check_quorum_keeps_leading);
    suite_add_tcase(s, tc);
    tc = tcase_create("snapshot");
    tcase_add_test(tc, test_snapshot_send_and_install);
    tcase_add_test(tc, test_snapshot_of_held_entry_keeps_log);
    suite_add_tcase(s, tc);
    tc = tcase_create("transfer");
    tcase_add_test(tc, test_transfer_leadership);
    suite_add_tcase(s, tc);
    tc = tcase_create("invalid");
    tcase_add_test(tc, test_invalid_messages);
    tcase_add_test(tc, test_invalid_config_and_restore);
    tcase_add_test_raise_signal(tc, test_advance_without_update_asserts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cairn_log_init("test-raft", 0, CAIRN_LOG_ERROR);
    SRunner *sr = srunner_create(raft_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
