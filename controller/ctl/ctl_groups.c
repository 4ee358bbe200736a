/* Consumer groups from cairnctl: a session (ctl_session.h) for the
 * controller calls, a fan-out of rpc_clients for the broker calls, and the
 * describe's retry while the coordinator moves or loads. The rows and their
 * rendering are pure (ctl_group_view.h, ctl_print.h). */
#include "ctl_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <event2/event.h>

#include "admin.pb-c.h"
#include "config.h"
#include "ctl_broker_client.h"
#include "ctl_describe.h"
#include "ctl_group_view.h"
#include "ctl_print.h"
#include "ctl_session.h"
#include "errors.h"
#include "group.pb-c.h"
#include "group_partition.h"
#include "kafka_error.h"
#include "rpc.h"
#include "timeutil.h"

#define CTL_REASON_MAX 1024        /* a describe attempt's, which quotes it */

typedef struct session {
    const ctl_args_t *a;
    ctl_session_t ctl;             /* its deadline is the whole command's (--timeout) */
} session_t;

static bool coordinator_moving(int32_t code)
{
    return code == KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
           code == KAFKA_ERR_COORDINATOR_NOT_AVAILABLE || code == KAFKA_ERR_NOT_COORDINATOR;
}

/* ---- the controller --------------------------------------------------------- */

/* Asks the controller leader within what is left of --timeout. Returns the
 * answer (owned; its Status is the caller's to check), or NULL after one
 * error line naming what. */
static ProtobufCMessage *ask_controller(session_t *s, const char *what, uint32_t type,
                                        const ProtobufCMessage *req,
                                        const ProtobufCMessageDescriptor *desc)
{
    ctl_result_t res = { 0 };
    ProtobufCMessage *m = ctl_ask(&s->ctl, type, req, desc, ctl_time_left(s->ctl.deadline_ms),
                                  &res);
    if (!m)
        ctl_print_call_error(what, &res);
    return m;
}

/* The brokers, or NULL after one error line. */
static Cairn__ListBrokersResponse *list_brokers(session_t *s, const char *what)
{
    ctl_result_t res = { 0 };
    Cairn__ListBrokersResponse *r = ctl_list_brokers(&s->ctl, ctl_time_left(s->ctl.deadline_ms),
                                                     &res);
    if (!r && res.refused)
        fprintf(stderr, "cairnctl: %s: list brokers: %s\n", what, res.why);
    else if (!r)
        ctl_print_call_error(what, &res);
    return r;
}

/* The topic as the controller has it. Returns it (owned), or NULL with
 * *code the refusal's Status code (0 after a failed call); an error line
 * is printed unless the topic is unknown. */
static Cairn__DescribeTopicResponse *describe_topic(session_t *s, const char *what,
                                                    const char *topic, int *code)
{
    Cairn__DescribeTopicRequest req = CAIRN__DESCRIBE_TOPIC_REQUEST__INIT;
    req.name = (char *)topic;
    *code = 0;
    Cairn__DescribeTopicResponse *r = (Cairn__DescribeTopicResponse *)ask_controller(
        s, what, CAIRN__RPC_TYPE__RPC_DESCRIBE_TOPIC, &req.base,
        &cairn__describe_topic_response__descriptor);
    if (r && r->status && r->status->code != 0) {
        *code = r->status->code;
        if (*code != CAIRN_ERR_UNKNOWN_TOPIC)
            fprintf(stderr, "cairnctl: %s: describe topic '%s': %s\n", what, topic,
                    ctl_status_text(r->status));
        cairn__describe_topic_response__free_unpacked(r, NULL);
        return NULL;
    }
    if (r && !r->topic) {
        fprintf(stderr, "cairnctl: %s: malformed response from the controller\n", what);
        cairn__describe_topic_response__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

/* The index of partition p in t, or -1. The controller lists partitions in
 * order, so the index is p itself unless the answer is unusual. */
static ssize_t partition_index(const Cairn__TopicDescription *t, int32_t p)
{
    if (p < 0)
        return -1;
    if ((size_t)p < t->n_partitions && t->partitions[p]->partition == (uint32_t)p)
        return p;
    for (size_t k = 0; k < t->n_partitions; k++)
        if (t->partitions[k]->partition == (uint32_t)p)
            return (ssize_t)k;
    return -1;
}

/* ---- the brokers ------------------------------------------------------------ */

/* Sends req to every broker of calls[0..n) at once, each call bounded by
 * CTL_GROUP_BROKER_QUERY_MS_MAX within --timeout, and runs the loop until
 * all have ended. */
static void run_broker_calls(session_t *s, ctl_broker_call_t *calls, size_t n, uint32_t type,
                             const ProtobufCMessage *req)
{
    uint32_t timeout_ms = ctl_time_left(s->ctl.deadline_ms);
    if (timeout_ms > CTL_GROUP_BROKER_QUERY_MS_MAX)
        timeout_ms = CTL_GROUP_BROKER_QUERY_MS_MAX;
    ctl_broker_calls_run(s->ctl.base, calls, n, type, req, timeout_ms);
}

/* ---- group list ------------------------------------------------------------- */

/* Adds bc's answer to l, or warns why its groups are missing. Returns 1 when
 * the broker answered, 0 when not, -1 when out of memory. */
static int take_listing(ctl_broker_call_t *bc, ctl_group_list_t *l)
{
    int32_t id = (int32_t)bc->broker->id;
    const char *addr = ctl_broker_address(bc->broker);
    if (!ctl_broker_call_decode(bc, &cairn__list_groups_response__descriptor)) {
        fprintf(stderr, "cairnctl: warning: broker %d (%s) did not answer: %s; its groups are "
                "not listed\n", id, addr, bc->why);
        return 0;
    }
    const Cairn__ListGroupsResponse *r = (const Cairn__ListGroupsResponse *)bc->answer;
    if (r->status && r->status->code != 0) {
        fprintf(stderr, "cairnctl: warning: broker %d (%s): %s; its groups are not listed\n", id,
                addr, ctl_status_text(r->status));
        return 0;
    }
    if (r->error_code != 0) {
        fprintf(stderr, "cairnctl: warning: broker %d (%s) answered %s; its groups are not "
                "listed\n", id, addr, kafka_error_name((int16_t)r->error_code));
        return 0;
    }
    if (r->truncated)
        fprintf(stderr, "cairnctl: warning: broker %d (%s) listed only %zu of its groups\n", id,
                addr, r->n_groups);
    return ctl_group_list_add(l, id, r) == 0 ? 1 : -1;
}

static int group_list(session_t *s)
{
    const char *what = "list groups";
    Cairn__ListBrokersResponse *brokers = list_brokers(s, what);
    if (!brokers)
        return 1;
    ctl_broker_call_t *calls = calloc(brokers->n_brokers ? brokers->n_brokers : 1, sizeof *calls);
    Cairn__ListGroupsRequest req = CAIRN__LIST_GROUPS_REQUEST__INIT;
    ctl_group_list_t l = { 0 };
    int rc = 1;
    size_t n = 0, answered = 0;
    for (size_t i = 0; calls && i < brokers->n_brokers; i++) {
        const Cairn__BrokerStatus *b = brokers->brokers[i];
        if (b->state && strcmp(b->state, "active") == 0)
            calls[n++] = (ctl_broker_call_t){ .id = (int32_t)b->id, .broker = b };
        else
            fprintf(stderr, "cairnctl: warning: broker %u is %s: not asked for its groups\n",
                    b->id, b->state && b->state[0] ? b->state : "not active");
    }
    if (!calls) {
        fprintf(stderr, "cairnctl: %s: %s\n", what, cairn_strerror(CAIRN_ERR_NOMEM));
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "cairnctl: %s: no active broker to ask\n", what);
        goto out;
    }
    run_broker_calls(s, calls, n, CAIRN__RPC_TYPE__RPC_LIST_GROUPS, &req.base);
    for (size_t i = 0; i < n; i++) {
        int got = take_listing(&calls[i], &l);
        if (got < 0) {
            fprintf(stderr, "cairnctl: %s: %s\n", what, cairn_strerror(CAIRN_ERR_NOMEM));
            goto out;
        }
        answered += (size_t)got;
    }
    if (answered == 0) {
        fprintf(stderr, "cairnctl: %s: no broker answered\n", what);
        goto out;
    }
    ctl_group_list_finish(&l);
    rc = ctl_print_group_list(stdout, &l, s->a->json) == 0 ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "cairnctl: %s: %s\n", what, cairn_strerror(CAIRN_ERR_NOMEM));
out:
    ctl_group_list_free(&l);
    ctl_broker_calls_free(calls, n);
    cairn__list_brokers_response__free_unpacked(brokers, NULL);
    return rc;
}

/* ---- group describe: the coordinator ------------------------------------------------ */

typedef enum { ATTEMPT_DONE, ATTEMPT_RETRY, ATTEMPT_FAILED } attempt_t;

/* What one describe needs to keep: the brokers (for the partition leaders
 * afterwards) and the coordinator's answer. */
typedef struct describe {
    session_t *s;
    const char *group;
    char what[96];
    Cairn__ListBrokersResponse *brokers;        /* owned */
    Cairn__DescribeGroupResponse *answer;       /* owned */
    int32_t coordinator;                        /* broker id */
    char why[CTL_REASON_MAX];                   /* why the last attempt is retried */
} describe_t;

/* The leader of the group's partition of __consumer_offsets: ATTEMPT_DONE
 * with *leader set, ATTEMPT_RETRY with d->why, or ATTEMPT_FAILED (printed). */
static attempt_t find_coordinator(describe_t *d, int32_t *leader)
{
    int code;
    Cairn__DescribeTopicResponse *t = describe_topic(d->s, d->what, CTL_GROUP_OFFSETS_TOPIC, &code);
    if (!t) {
        if (code == CAIRN_ERR_UNKNOWN_TOPIC)
            fprintf(stderr, "cairnctl: group '%s' does not exist (no consumer groups yet: topic "
                    CTL_GROUP_OFFSETS_TOPIC " does not exist)\n", d->group);
        return ATTEMPT_FAILED;
    }
    attempt_t rc = ATTEMPT_RETRY;
    size_t n = t->topic->n_partitions;
    if (n == 0 || n > INT32_MAX) {
        fprintf(stderr, "cairnctl: %s: malformed response from the controller\n", d->what);
        rc = ATTEMPT_FAILED;
    } else {
        int32_t p = cairn_group_partition_for(d->group, (int32_t)n);
        ssize_t k = partition_index(t->topic, p);
        const Cairn__PartitionDescription *part = k >= 0 ? t->topic->partitions[k] : NULL;
        if (!part)
            snprintf(d->why, sizeof d->why, "partition %d of " CTL_GROUP_OFFSETS_TOPIC
                     " is missing from the controller's answer", p);
        else if (part->leader < 0)
            snprintf(d->why, sizeof d->why, "partition %d of " CTL_GROUP_OFFSETS_TOPIC
                     " (the group's coordinator) has no leader", p);
        else
            rc = ATTEMPT_DONE;
        if (part)
            *leader = part->leader;
    }
    cairn__describe_topic_response__free_unpacked(t, NULL);
    return rc;
}

/* Judges the coordinator's answer in bc. */
static attempt_t take_description(describe_t *d, ctl_broker_call_t *bc)
{
    if (!ctl_broker_call_decode(bc, &cairn__describe_group_response__descriptor)) {
        snprintf(d->why, sizeof d->why, "coordinator broker %d (%s) did not answer: %s",
                 d->coordinator, ctl_broker_address(bc->broker), bc->why);
        return bc->err == CAIRN_ERR_CORRUPT ? ATTEMPT_FAILED : ATTEMPT_RETRY;
    }
    Cairn__DescribeGroupResponse *r = (Cairn__DescribeGroupResponse *)bc->answer;
    if (r->status && r->status->code != 0) {
        snprintf(d->why, sizeof d->why, "coordinator broker %d: %s", d->coordinator,
                 ctl_status_text(r->status));
        return ATTEMPT_FAILED;
    }
    if (r->error_code != 0) {
        snprintf(d->why, sizeof d->why, "coordinator broker %d answered %s", d->coordinator,
                 kafka_error_name((int16_t)r->error_code));
        return coordinator_moving(r->error_code) ? ATTEMPT_RETRY : ATTEMPT_FAILED;
    }
    d->answer = r;
    bc->answer = NULL;   /* now d's */
    return ATTEMPT_DONE;
}

/* One attempt: the coordinator from the controllers, then its answer. */
static attempt_t describe_attempt(describe_t *d)
{
    int32_t leader = -1;
    attempt_t rc = find_coordinator(d, &leader);
    if (rc != ATTEMPT_DONE)
        return rc;
    if (d->brokers)
        cairn__list_brokers_response__free_unpacked(d->brokers, NULL);
    if (!(d->brokers = list_brokers(d->s, d->what)))
        return ATTEMPT_FAILED;
    d->coordinator = leader;
    ctl_broker_call_t *bc = calloc(1, sizeof *bc);
    if (!bc) {
        fprintf(stderr, "cairnctl: %s: %s\n", d->what, cairn_strerror(CAIRN_ERR_NOMEM));
        return ATTEMPT_FAILED;
    }
    bc->id = leader;
    if (!(bc->broker = ctl_find_broker(d->brokers, leader))) {
        snprintf(d->why, sizeof d->why, "coordinator broker %d is not registered", leader);
        rc = ATTEMPT_RETRY;
    } else {
        Cairn__DescribeGroupRequest req = CAIRN__DESCRIBE_GROUP_REQUEST__INIT;
        req.group_id = (char *)d->group;
        run_broker_calls(d->s, bc, 1, CAIRN__RPC_TYPE__RPC_DESCRIBE_GROUP, &req.base);
        rc = take_description(d, bc);
        if (rc == ATTEMPT_FAILED)
            fprintf(stderr, "cairnctl: %s: %s\n", d->what, d->why);
    }
    ctl_broker_calls_free(bc, 1);
    return rc;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void pause_ms(session_t *s, uint32_t ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (event_base_once(s->ctl.base, -1, EV_TIMEOUT, on_wake, s->ctl.base, &tv) == 0)
        (void)event_base_dispatch(s->ctl.base);
}

/* Asks until the coordinator answers, for at most CTL_GROUP_RETRY_MS (and
 * --timeout) while it moves or loads. Returns 0 with d->answer set, or -1
 * (printed). */
static int ask_coordinator(describe_t *d)
{
    uint64_t start_ms = cairn_mono_ms();
    uint64_t give_up_ms = start_ms + CTL_GROUP_RETRY_MS;
    if (give_up_ms > d->s->ctl.deadline_ms)
        give_up_ms = d->s->ctl.deadline_ms;
    for (;;) {
        attempt_t rc = describe_attempt(d);
        if (rc == ATTEMPT_DONE)
            return 0;
        if (rc == ATTEMPT_FAILED)
            return -1;
        uint64_t now_ms = cairn_mono_ms();
        if (now_ms + CTL_GROUP_BACKOFF_MS >= give_up_ms) {
            fprintf(stderr, "cairnctl: %s: %s (still so after %llu ms)\n", d->what, d->why,
                    (unsigned long long)(now_ms - start_ms));
            return -1;
        }
        pause_ms(d->s, CTL_GROUP_BACKOFF_MS);
    }
}

/* ---- group describe: log end offsets ----------------------------------------------- */

/* Fills the log end offset of rows[0..n) (all of topic t) from its
 * partition leaders' high watermarks. */
static void fill_log_ends(describe_t *d, const Cairn__TopicDescription *t, ctl_group_row_t *rows,
                          size_t n)
{
    ctl_leader_states_t ls;
    if (ctl_leader_states_fetch(t, d->brokers, ctl_time_left(d->s->ctl.deadline_ms), &ls) == 0) {
        for (size_t i = 0; i < n; i++) {
            ssize_t k = partition_index(t, rows[i].partition);
            const Cairn__PartitionReplicaState *st = k >= 0 ? ls.states[k] : NULL;
            if (st && st->high_watermark >= 0) {
                rows[i].has_log_end = true;
                rows[i].log_end_offset = st->high_watermark;
            }
        }
    }
    ctl_leader_states_free(&ls);
}

/* For each topic of the rows (sorted by topic), the controller's partitions
 * and then their leaders' high watermarks. A topic the controller does not
 * know (deleted since the commit), a leader that does not answer, or the
 * end of --timeout only leaves those rows without a log end offset. */
static void fill_all_log_ends(describe_t *d, ctl_group_rows_t *rows)
{
    size_t skipped = 0;
    for (size_t i = 0; i < rows->n_rows && rows->rows[i].topic;) {
        size_t end = i + 1;
        while (end < rows->n_rows && rows->rows[end].topic &&
               strcmp(rows->rows[end].topic, rows->rows[i].topic) == 0)
            end++;
        if (cairn_mono_ms() >= d->s->ctl.deadline_ms) {
            skipped++;
        } else {
            int code;
            Cairn__DescribeTopicResponse *t = describe_topic(d->s, d->what, rows->rows[i].topic,
                                                             &code);
            if (t)
                fill_log_ends(d, t->topic, &rows->rows[i], end - i);
            else if (code == CAIRN_ERR_UNKNOWN_TOPIC)
                fprintf(stderr, "cairnctl: warning: topic '%s' does not exist; no log end offset "
                        "or lag shown for it\n", rows->rows[i].topic);
            if (t)
                cairn__describe_topic_response__free_unpacked(t, NULL);
        }
        i = end;
    }
    if (skipped)
        fprintf(stderr, "cairnctl: warning: --timeout reached: no log end offset or lag shown for "
                "%zu more topic%s\n", skipped, skipped > 1 ? "s" : "");
}

static bool group_is_dead(const Cairn__DescribeGroupResponse *g)
{
    return strcmp(g->state, "Dead") == 0 && g->n_members == 0 && g->n_offsets == 0;
}

static int group_describe(session_t *s)
{
    describe_t d = { .s = s, .group = s->a->group };
    snprintf(d.what, sizeof d.what, "describe group '%.60s%s'", d.group,
             strlen(d.group) > 60 ? "..." : "");
    int rc = 1;
    if (ask_coordinator(&d) != 0)
        goto out;
    const Cairn__DescribeGroupResponse *g = d.answer;
    if (group_is_dead(g)) {
        fprintf(stderr, "cairnctl: group '%s' does not exist\n", d.group);
        goto out;
    }
    if (g->truncated)
        fprintf(stderr, "cairnctl: warning: the coordinator's answer was too large: some members "
                "or offsets are left out\n");
    ctl_group_rows_t rows;
    if (ctl_group_rows_init(&rows, g) != 0) {
        fprintf(stderr, "cairnctl: %s: %s\n", d.what, cairn_strerror(CAIRN_ERR_NOMEM));
        goto out;
    }
    fill_all_log_ends(&d, &rows);
    rc = ctl_print_group(stdout, g, d.coordinator, &rows, s->a->json) == 0 ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "cairnctl: %s: %s\n", d.what, cairn_strerror(CAIRN_ERR_NOMEM));
    ctl_group_rows_free(&rows);
out:
    if (d.answer)
        cairn__describe_group_response__free_unpacked(d.answer, NULL);
    if (d.brokers)
        cairn__list_brokers_response__free_unpacked(d.brokers, NULL);
    return rc;
}

int ctl_groups_run(const ctl_args_t *a)
{
    session_t s = { .a = a };
    char why[CTL_WHY_MAX];
    int rc = 1;
    if (ctl_session_open(&s.ctl, a, a->timeout_ms, why, sizeof why) != 0)
        fprintf(stderr, "cairnctl: %s\n", why);
    else
        rc = a->cmd == CTL_CMD_GROUP_LIST ? group_list(&s) : group_describe(&s);
    ctl_session_close(&s.ctl);
    if (rc == 0 && fflush(stdout) != 0) {
        fprintf(stderr, "cairnctl: writing the output failed\n");
        rc = 1;
    }
    return rc;
}
