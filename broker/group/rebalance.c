/* Group membership and rebalancing: Kafka's classic protocol as
 * GroupCoordinator runs it. A group moves Empty → PreparingRebalance (members
 * (re)join; JoinGroup calls park until every known member has rejoined or
 * the rebalance timeout passes) → CompletingRebalance (a new generation;
 * the leader member computes the assignment client-side and sends it in its
 * SyncGroup; the others' SyncGroup calls park) → Stable (the assignment is
 * committed to __consumer_offsets and handed out). Sessions expire members
 * that stop heartbeating; any membership change rebalances again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "cairn_assert.h"
#include "broker.h"
#include "group.h"
#include "kafka_error.h"
#include "log.h"
#include "timeutil.h"

#define MEMBER_PROTOCOLS_MAX 64              /* per JoinGroup */
#define MEMBER_METADATA_MAX (1u << 20)       /* bytes of protocol metadata per member */
#define MEMBER_ID_CLIENT_MAX 128             /* client id characters kept in a member id */

static void prepare_rebalance(group_t *g, const char *reason);

/* ---- members ------------------------------------------------------------------ */

group_member_t *group_member_find(const group_t *g, const char *member_id)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (strcmp(g->members[i]->member_id, member_id) == 0)
            return g->members[i];
    return NULL;
}

static group_member_t *member_by_instance(const group_t *g, const char *instance_id)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i]->instance_id && strcmp(g->members[i]->instance_id, instance_id) == 0)
            return g->members[i];
    return NULL;
}

static void free_protocols(group_protocol_t *ps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ps[i].name);
        free(ps[i].metadata);
    }
    free(ps);
}

void group_member_free(group_member_t *m)
{
    if (m->session_timer)
        event_free(m->session_timer);
    free_protocols(m->protocols, m->n_protocols);
    free(m->member_id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

static void touch(group_member_t *m)
{
    int32_t ms = m->session_timeout_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(m->session_timer, &tv);
}

static void on_session_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_member_t *m = arg;
    if (m->join_fn || m->sync_fn) {
        touch(m);                       /* waiting on the coordinator, not silent */
        return;
    }
    group_t *g = m->g;
    LOG_INFO("group", "group %s: member %s left: session timeout of %d ms passed", g->id,
             m->member_id, m->session_timeout_ms);
    group_member_remove(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

void group_member_start_session(group_member_t *m)
{
    touch(m);
}

static char *new_member_id(const char *client_id)
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return NULL;
    r[6] = (uint8_t)((r[6] & 0x0F) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3F) | 0x80);
    size_t n = strnlen(client_id, MEMBER_ID_CLIENT_MAX);
    char *id = malloc(n + 38);
    if (!id)
        return NULL;
    snprintf(id, n + 38, "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             (int)n, client_id, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
             r[10], r[11], r[12], r[13], r[14], r[15]);
    return id;
}

static int copy_protocols(const group_join_req_t *req, group_protocol_t **out)
{
    group_protocol_t *ps = calloc(req->n_protocols, sizeof *ps);
    if (!ps)
        return -1;
    for (size_t i = 0; i < req->n_protocols; i++) {
        const group_protocol_in_t *in = &req->protocols[i];
        ps[i].name = strdup(in->name);
        ps[i].metadata = malloc(in->metadata_len ? in->metadata_len : 1);
        if (!ps[i].name || !ps[i].metadata) {
            free_protocols(ps, i + 1);
            return -1;
        }
        memcpy(ps[i].metadata, in->metadata, in->metadata_len);
        ps[i].metadata_len = in->metadata_len;
    }
    *out = ps;
    return 0;
}

static int update_member(group_member_t *m, const group_join_req_t *req)
{
    group_protocol_t *ps;
    if (copy_protocols(req, &ps) != 0)
        return -1;
    char *cid = strdup(req->client_id), *host = strdup(req->client_host);
    if (!cid || !host) {
        free(cid);
        free(host);
        free_protocols(ps, req->n_protocols);
        return -1;
    }
    free_protocols(m->protocols, m->n_protocols);
    m->protocols = ps;
    m->n_protocols = req->n_protocols;
    free(m->client_id);
    free(m->client_host);
    m->client_id = cid;
    m->client_host = host;
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    return 0;
}

/* Room for one more member in g->members. 0 or -1. */
static int members_reserve(group_t *g)
{
    if (g->n_members < g->cap_members)
        return 0;
    size_t cap = g->cap_members ? g->cap_members * 2 : 4;
    group_member_t **ms = realloc(g->members, cap * sizeof *ms);
    if (!ms)
        return -1;
    g->members = ms;
    g->cap_members = cap;
    return 0;
}

static group_member_t *add_member(group_t *g, const group_join_req_t *req)
{
    if (members_reserve(g) != 0)
        return NULL;
    group_member_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->g = g;
    m->member_id = new_member_id(req->client_id);
    m->instance_id = req->instance_id ? strdup(req->instance_id) : NULL;
    m->session_timer = evtimer_new(g->gc->b->base, on_session_expired, m);
    if (!m->member_id || (req->instance_id && !m->instance_id) || !m->session_timer ||
        update_member(m, req) != 0) {
        group_member_free(m);
        return NULL;
    }
    g->members[g->n_members++] = m;
    return m;
}

void group_members_clear(group_t *g)
{
    while (g->n_members > 0)
        group_member_free(g->members[--g->n_members]);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void group_member_restore(group_t *g, const char *member_id, const char *instance_id,
                          const char *client_id, const char *client_host,
                          int32_t session_timeout_ms, int32_t rebalance_timeout_ms,
                          const uint8_t *subscription, size_t subscription_len,
                          const uint8_t *assignment, size_t assignment_len)
{
    if (!g->protocol || group_member_find(g, member_id) || members_reserve(g) != 0)
        return;
    group_member_t *m = calloc(1, sizeof *m);
    group_protocol_t *p = calloc(1, sizeof *p);
    if (!m || !p) {
        free(m);
        free(p);
        return;
    }
    m->g = g;
    m->protocols = p;
    m->n_protocols = 1;
    p->name = strdup(g->protocol);
    p->metadata = malloc(subscription_len ? subscription_len : 1);
    m->assignment = malloc(assignment_len ? assignment_len : 1);
    m->member_id = strdup(member_id);
    m->instance_id = dup_or_null(instance_id);
    m->client_id = strdup(client_id ? client_id : "");
    m->client_host = strdup(client_host ? client_host : "");
    m->session_timer = evtimer_new(g->gc->b->base, on_session_expired, m);
    if (!p->name || !p->metadata || !m->assignment || !m->member_id ||
        (instance_id && !m->instance_id) || !m->client_id || !m->client_host ||
        !m->session_timer) {
        group_member_free(m);
        return;
    }
    memcpy(p->metadata, subscription, subscription_len);
    p->metadata_len = subscription_len;
    memcpy(m->assignment, assignment, assignment_len);
    m->assignment_len = assignment_len;
    int32_t min = (int32_t)g->gc->b->cfg->group_min_session_timeout_ms;
    m->session_timeout_ms = session_timeout_ms >= min ? session_timeout_ms : min;
    m->rebalance_timeout_ms = rebalance_timeout_ms > 0 ? rebalance_timeout_ms
                                                       : m->session_timeout_ms;
    g->members[g->n_members++] = m;
}

/* ---- the protocol --------------------------------------------------------------- */

static bool member_supports(const group_member_t *m, const char *protocol)
{
    for (size_t i = 0; i < m->n_protocols; i++)
        if (strcmp(m->protocols[i].name, protocol) == 0)
            return true;
    return false;
}

static bool all_support(const group_t *g, const group_member_t *skip, const char *protocol)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i] != skip && !member_supports(g->members[i], protocol))
            return false;
    return true;
}

/* Kafka's supportsProtocols: the same protocol type, and at least one of
 * the joining member's protocols that every other member also has. */
static bool supports(const group_t *g, const group_member_t *self, const group_join_req_t *req)
{
    bool others = false;
    for (size_t i = 0; i < g->n_members; i++)
        others |= g->members[i] != self;
    if (!others)
        return true;
    if (!g->protocol_type || strcmp(g->protocol_type, req->protocol_type) != 0)
        return false;
    for (size_t i = 0; i < req->n_protocols; i++)
        if (all_support(g, self, req->protocols[i].name))
            return true;
    return false;
}

/* Every member votes for its most preferred protocol that all support; the
 * most votes wins, ties going to the first member's preference. The
 * candidates are the first member's protocols (all of them are among
 * those), each checked once, so this is O(members * protocols^2). */
static const char *select_protocol(const group_t *g)
{
    if (g->n_members == 0)
        return NULL;
    const group_member_t *first = g->members[0];
    size_t n = first->n_protocols;
    CAIRN_ASSERT(n <= MEMBER_PROTOCOLS_MAX);    /* check_join; restored members have 1 */
    bool cand[MEMBER_PROTOCOLS_MAX];
    size_t votes[MEMBER_PROTOCOLS_MAX] = {0};
    for (size_t k = 0; k < n; k++) {
        const char *name = first->protocols[k].name;
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strcmp(first->protocols[j].name, name) == 0;
        cand[k] = !dup && all_support(g, first, name);
    }
    for (size_t i = 0; i < g->n_members; i++) {
        const group_member_t *v = g->members[i];
        bool voted = false;
        for (size_t p = 0; p < v->n_protocols && !voted; p++)
            for (size_t k = 0; k < n && !voted; k++)
                if (cand[k] && strcmp(first->protocols[k].name, v->protocols[p].name) == 0) {
                    votes[k]++;
                    voted = true;
                }
    }
    size_t best = n;
    for (size_t k = 0; k < n; k++)
        if (votes[k] > 0 && (best == n || votes[k] > votes[best]))
            best = k;
    return best < n ? first->protocols[best].name : NULL;
}

static bool same_protocols(const group_member_t *m, const group_join_req_t *req)
{
    if (m->n_protocols != req->n_protocols)
        return false;
    for (size_t i = 0; i < req->n_protocols; i++) {
        const group_protocol_t *p = &m->protocols[i];
        const group_protocol_in_t *q = &req->protocols[i];
        if (strcmp(p->name, q->name) != 0 || p->metadata_len != q->metadata_len ||
            memcmp(p->metadata, q->metadata, q->metadata_len) != 0)
            return false;
    }
    return true;
}

static void set_state(group_t *g, group_state_t s)
{
    if (g->state != s)
        LOG_DEBUG("group", "group %s: %s -> %s (generation %d, %zu members)", g->id,
                  group_state_name(g->state), group_state_name(s), g->generation, g->n_members);
    g->state = s;
    g->state_since_ms = (int64_t)cairn_wall_ms();
}

static bool is_leader(const group_t *g, const group_member_t *m)
{
    return g->leader_id && strcmp(g->leader_id, m->member_id) == 0;
}

/* Answers m's parked JoinGroup: the current generation, and to the leader
 * every member with its metadata for the chosen protocol. */
static void answer_join(group_t *g, group_member_t *m, group_join_fn fn, void *arg)
{
    group_member_view_t *views = NULL;
    size_t n = 0;
    if (is_leader(g, m) && g->n_members > 0) {
        views = calloc(g->n_members, sizeof *views);
        if (views) {
            n = g->n_members;
            for (size_t i = 0; i < n; i++)
                group_member_view_fill(g, g->members[i], NULL, &views[i]);
        }
    }
    group_join_result_t res = {
        .error = views || !is_leader(g, m) ? KAFKA_ERR_NONE : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE,
        .generation = g->generation,
        .protocol = g->protocol ? g->protocol : "",
        .leader = g->leader_id ? g->leader_id : "",
        .member_id = m->member_id,
        .members = views,
        .n_members = n,
    };
    fn(arg, &res);
    free(views);
}

static void fail_join(group_join_fn fn, void *arg, int16_t err, const char *member_id)
{
    group_join_result_t res = { .error = err, .generation = -1, .protocol = "", .leader = "",
                                .member_id = member_id ? member_id : "" };
    fn(arg, &res);
}

static void answer_parked_join(group_t *g, group_member_t *m, int16_t err)
{
    group_join_fn fn = m->join_fn;
    void *arg = m->join_arg;
    if (!fn)
        return;
    m->join_fn = NULL;
    m->join_arg = NULL;
    if (err == KAFKA_ERR_NONE)
        answer_join(g, m, fn, arg);
    else
        fail_join(fn, arg, err, m->member_id);
}

static void answer_parked_sync(group_member_t *m, int16_t err)
{
    group_sync_fn fn = m->sync_fn;
    void *arg = m->sync_arg;
    if (!fn)
        return;
    m->sync_fn = NULL;
    m->sync_arg = NULL;
    if (err == KAFKA_ERR_NONE)
        fn(arg, err, m->assignment, m->assignment_len);
    else
        fn(arg, err, NULL, 0);
}

void group_fail_parked(group_t *g, int16_t kafka_error)
{
    if (g->rebalance_timer)
        evtimer_del(g->rebalance_timer);
    for (size_t i = 0; i < g->n_members; i++) {
        group_member_t *m = g->members[i];
        evtimer_del(m->session_timer);
        if (kafka_error != KAFKA_ERR_NONE) {
            answer_parked_join(g, m, kafka_error);
            answer_parked_sync(m, kafka_error);
        } else {
            /* NONE comes from loads, expiry and deletion, where nothing can
             * be parked (a group with members is never Empty or Dead). */
            CAIRN_ASSERT(!m->join_fn && !m->sync_fn);
        }
    }
}

static void reset_assignments(group_t *g)
{
    for (size_t i = 0; i < g->n_members; i++) {
        free(g->members[i]->assignment);
        g->members[i]->assignment = NULL;
        g->members[i]->assignment_len = 0;
    }
}

static void unlink_member(group_t *g, group_member_t *m)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i] == m) {
            memmove(&g->members[i], &g->members[i + 1],
                    (g->n_members - i - 1) * sizeof *g->members);
            g->n_members--;
            break;
        }
    if (is_leader(g, m)) {
        free(g->leader_id);
        g->leader_id = NULL;
    }
}

static void on_empty_stored(void *arg, int16_t kafka_error)
{
    group_t *g = arg;
    if (kafka_error != KAFKA_ERR_NONE && !g->removed)
        LOG_WARN("group", "group %s: writing its empty state failed: %s", g->id,
                 kafka_error_name(kafka_error));
    coord_group_unref(g);
}

static void complete_join(group_t *g)
{
    CAIRN_ASSERT(g->state == GROUP_PREPARING_REBALANCE);
    evtimer_del(g->rebalance_timer);
    g->initial_delay = false;
    for (size_t i = g->n_members; i-- > 0;) {
        group_member_t *m = g->members[i];
        if (m->join_fn)
            continue;
        LOG_INFO("group", "group %s: member %s left: it did not rejoin within the rebalance "
                 "timeout", g->id, m->member_id);
        unlink_member(g, m);
        answer_parked_sync(m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
        group_member_free(m);
    }
    g->generation++;
    free(g->protocol);
    g->protocol = NULL;
    if (g->n_members == 0) {
        free(g->leader_id);
        g->leader_id = NULL;
        set_state(g, GROUP_EMPTY);
        LOG_INFO("group", "group %s: empty at generation %d", g->id, g->generation);
        g->refs++;
        if (store_group(g, false, on_empty_stored, g) != 0)
            coord_group_unref(g);
        return;
    }
    const char *chosen = select_protocol(g);
    CAIRN_ASSERT(chosen != NULL);      /* every member joined through supports() */
    g->protocol = strdup(chosen);
    if (!g->leader_id)
        g->leader_id = strdup(g->members[0]->member_id);
    if (!g->protocol || !g->leader_id) {
        /* Out of memory: still preparing; the members retry their join,
         * and those that do not are expired by their sessions. */
        for (size_t i = 0; i < g->n_members; i++)
            answer_parked_join(g, g->members[i], KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    set_state(g, GROUP_COMPLETING_REBALANCE);
    LOG_INFO("group", "group %s: generation %d with %zu members, protocol %s, leader %s", g->id,
             g->generation, g->n_members, g->protocol, g->leader_id);
    for (size_t i = 0; i < g->n_members; i++) {
        group_member_t *m = g->members[i];
        touch(m);
        answer_parked_join(g, m, KAFKA_ERR_NONE);
    }
}

static bool all_joined(const group_t *g)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (!g->members[i]->join_fn)
            return false;
    return true;
}

static void maybe_complete_join(group_t *g)
{
    if (g->state == GROUP_PREPARING_REBALANCE && !g->initial_delay && all_joined(g))
        complete_join(g);
}

static void arm_rebalance_timer(group_t *g, uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    evtimer_add(g->rebalance_timer, &tv);
}

static int32_t max_rebalance_timeout(const group_t *g)
{
    int32_t t = 0;
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i]->rebalance_timeout_ms > t)
            t = g->members[i]->rebalance_timeout_ms;
    return t;
}

void group_on_rebalance_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_t *g = arg;
    if (g->state != GROUP_PREPARING_REBALANCE)
        return;
    if (g->initial_delay) {
        uint64_t now = cairn_mono_ms();
        uint64_t delay = (uint64_t)g->gc->b->cfg->group_initial_rebalance_delay_ms;
        if (g->new_member_added && now < g->rebalance_deadline_ms) {
            /* Kafka's InitialDelayedJoin: each newcomer buys another delay,
             * never past the rebalance timeout. */
            g->new_member_added = false;
            uint64_t left = g->rebalance_deadline_ms - now;
            arm_rebalance_timer(g, delay < left ? delay : left);
            return;
        }
        g->initial_delay = false;
    }
    complete_join(g);
}

static void prepare_rebalance(group_t *g, const char *reason)
{
    if (g->state == GROUP_COMPLETING_REBALANCE) {
        reset_assignments(g);
        for (size_t i = 0; i < g->n_members; i++)
            answer_parked_sync(g->members[i], KAFKA_ERR_REBALANCE_IN_PROGRESS);
    }
    bool initial = g->state == GROUP_EMPTY;
    set_state(g, GROUP_PREPARING_REBALANCE);
    LOG_INFO("group", "group %s: rebalancing (generation %d, %zu members): %s", g->id,
             g->generation, g->n_members, reason);
    uint64_t timeout = (uint64_t)max_rebalance_timeout(g);
    uint64_t delay = (uint64_t)g->gc->b->cfg->group_initial_rebalance_delay_ms;
    g->initial_delay = initial && delay > 0;
    g->new_member_added = false;
    if (g->initial_delay) {
        g->rebalance_deadline_ms = cairn_mono_ms() + timeout;
        arm_rebalance_timer(g, delay < timeout ? delay : timeout);
    } else {
        arm_rebalance_timer(g, timeout);
    }
    maybe_complete_join(g);
}

void group_member_remove(group_t *g, group_member_t *m, int16_t kafka_error)
{
    unlink_member(g, m);
    answer_parked_join(g, m, kafka_error);
    answer_parked_sync(m, kafka_error);
    group_member_free(m);
    switch (g->state) {
    case GROUP_STABLE:
    case GROUP_COMPLETING_REBALANCE:
        prepare_rebalance(g, "a member left");
        break;
    case GROUP_PREPARING_REBALANCE:
        maybe_complete_join(g);
        break;
    case GROUP_EMPTY:
    case GROUP_DEAD:
        break;
    }
}

int16_t group_member_check(const group_t *g, const char *member_id, const char *instance_id,
                           group_member_t **out)
{
    group_member_t *m = group_member_find(g, member_id);
    if (instance_id) {
        group_member_t *si = member_by_instance(g, instance_id);
        if (si && si != m)
            return KAFKA_ERR_FENCED_INSTANCE_ID;
    }
    if (!m)
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    *out = m;
    return KAFKA_ERR_NONE;
}

/* ---- JoinGroup ----------------------------------------------------------------- */

static int16_t check_join(const group_coord_t *gc, const group_join_req_t *req)
{
    const cairn_config_t *cfg = gc->b->cfg;
    if (!req->group_id[0])
        return KAFKA_ERR_INVALID_GROUP_ID;
    if (req->session_timeout_ms < cfg->group_min_session_timeout_ms ||
        req->session_timeout_ms > cfg->group_max_session_timeout_ms)
        return KAFKA_ERR_INVALID_SESSION_TIMEOUT;
    if (!req->protocol_type[0] || req->n_protocols == 0)
        return KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (req->n_protocols > MEMBER_PROTOCOLS_MAX)
        return KAFKA_ERR_INVALID_REQUEST;
    size_t bytes = 0;
    for (size_t i = 0; i < req->n_protocols; i++)
        bytes += req->protocols[i].metadata_len + strlen(req->protocols[i].name);
    return bytes > MEMBER_METADATA_MAX ? KAFKA_ERR_INVALID_REQUEST : KAFKA_ERR_NONE;
}

static void park_join(group_member_t *m, group_join_fn fn, void *arg)
{
    if (m->join_fn)                     /* a second join from the same member */
        fail_join(m->join_fn, m->join_arg, KAFKA_ERR_REBALANCE_IN_PROGRESS, m->member_id);
    m->join_fn = fn;
    m->join_arg = arg;
}

/* A member not yet known (empty member id). */
static void join_new(group_t *g, const group_join_req_t *req, group_join_fn fn, void *arg)
{
    group_member_t *m = req->instance_id ? member_by_instance(g, req->instance_id) : NULL;
    if (m) {
        /* A static member back with a new process: it takes over the old
         * member's place under a new id; the old one is fenced. */
        char *id = new_member_id(req->client_id);
        if (!id) {
            fail_join(fn, arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
            return;
        }
        bool unchanged = same_protocols(m, req);
        bool was_leader = is_leader(g, m);
        answer_parked_join(g, m, KAFKA_ERR_FENCED_INSTANCE_ID);
        answer_parked_sync(m, KAFKA_ERR_FENCED_INSTANCE_ID);
        LOG_INFO("group", "group %s: static member %s rejoined as %s", g->id, m->member_id, id);
        free(m->member_id);
        m->member_id = id;
        if (was_leader) {
            free(g->leader_id);
            g->leader_id = strdup(id);
        }
        if (update_member(m, req) != 0) {
            fail_join(fn, arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
            return;
        }
        touch(m);
        if (g->state == GROUP_STABLE && unchanged && !was_leader) {
            answer_join(g, m, fn, arg);
            return;
        }
        park_join(m, fn, arg);
        if (g->state == GROUP_PREPARING_REBALANCE)
            maybe_complete_join(g);
        else
            prepare_rebalance(g, "a static member rejoined");
        return;
    }
    if (g->n_members >= (size_t)g->gc->b->cfg->group_max_size) {
        fail_join(fn, arg, KAFKA_ERR_GROUP_MAX_SIZE_REACHED, NULL);
        return;
    }
    m = add_member(g, req);
    if (!m) {
        fail_join(fn, arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
        return;
    }
    if (!g->protocol_type || strcmp(g->protocol_type, req->protocol_type) != 0) {
        char *pt = strdup(req->protocol_type);
        if (pt) {
            free(g->protocol_type);
            g->protocol_type = pt;
        }
    }
    LOG_DEBUG("group", "group %s: member %s (client %s, %s) joins", g->id, m->member_id,
              m->client_id, m->client_host);
    park_join(m, fn, arg);
    touch(m);
    if (g->state == GROUP_PREPARING_REBALANCE) {
        if (g->initial_delay)
            g->new_member_added = true;
        maybe_complete_join(g);
    } else {
        prepare_rebalance(g, "a new member joined");
    }
}

static void join_known(group_t *g, group_member_t *m, const group_join_req_t *req,
                       group_join_fn fn, void *arg)
{
    bool unchanged = same_protocols(m, req);
    touch(m);
    switch (g->state) {
    case GROUP_PREPARING_REBALANCE:
        if (!unchanged && update_member(m, req) != 0) {
            fail_join(fn, arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, m->member_id);
            return;
        }
        park_join(m, fn, arg);
        maybe_complete_join(g);
        return;
    case GROUP_COMPLETING_REBALANCE:
        if (unchanged) {               /* its join response was lost: send it again */
            answer_join(g, m, fn, arg);
            return;
        }
        break;
    case GROUP_STABLE:
        if (unchanged && !is_leader(g, m)) {
            answer_join(g, m, fn, arg);
            return;
        }
        break;
    case GROUP_EMPTY:
    case GROUP_DEAD:
        fail_join(fn, arg, KAFKA_ERR_UNKNOWN_MEMBER_ID, req->member_id);
        return;
    }
    if (!unchanged && update_member(m, req) != 0) {
        fail_join(fn, arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, m->member_id);
        return;
    }
    park_join(m, fn, arg);
    prepare_rebalance(g, unchanged ? "the leader rejoined" : "a member changed its protocols");
}

void group_coord_join(group_coord_t *gc, const group_join_req_t *req, group_join_fn fn,
                      void *arg)
{
    int32_t part;
    int16_t err = coord_route(gc, req->group_id, &part);
    if (err == KAFKA_ERR_NONE)
        err = check_join(gc, req);
    if (err != KAFKA_ERR_NONE) {
        fail_join(fn, arg, err, req->member_id);
        return;
    }
    group_join_req_t r = *req;
    if (r.rebalance_timeout_ms < 0)
        r.rebalance_timeout_ms = r.session_timeout_ms;
    group_t *g = coord_group_find(gc, r.group_id);
    if (g && g->state == GROUP_DEAD) {
        /* Being deleted: no generation may form behind its tombstone. As in
         * Kafka, the member finds the coordinator again and retries. */
        fail_join(fn, arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, r.member_id);
        return;
    }
    if (!g && r.member_id[0]) {
        fail_join(fn, arg, KAFKA_ERR_UNKNOWN_MEMBER_ID, r.member_id);
        return;
    }
    if (!g)
        g = coord_group_add(gc, r.group_id, part);
    if (!g) {
        fail_join(fn, arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
        return;
    }
    group_member_t *m = NULL;
    if (r.member_id[0]) {
        err = group_member_check(g, r.member_id, r.instance_id, &m);
        if (err != KAFKA_ERR_NONE) {
            fail_join(fn, arg, err, r.member_id);
            return;
        }
    }
    if (!supports(g, m, &r)) {
        fail_join(fn, arg, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL, r.member_id);
        return;
    }
    if (m)
        join_known(g, m, &r, fn, arg);
    else
        join_new(g, &r, fn, arg);
}

/* ---- SyncGroup ----------------------------------------------------------------- */

typedef struct stored_sync {
    group_t *g;
    int32_t generation;
} stored_sync_t;

/* The generation's assignment cannot be handed out: every parked SyncGroup
 * gets err and the group rebalances (which drops the assignments). */
static void abort_sync(group_t *g, int16_t err, const char *why)
{
    CAIRN_ASSERT(g->state == GROUP_COMPLETING_REBALANCE);
    for (size_t i = 0; i < g->n_members; i++)
        answer_parked_sync(g->members[i], err);
    prepare_rebalance(g, why);
}

static void on_assignment_stored(void *arg, int16_t kafka_error)
{
    stored_sync_t *ss = arg;
    group_t *g = ss->g;
    int32_t generation = ss->generation;
    free(ss);
    g->storing = false;
    if (g->removed || g->generation != generation ||
        g->state != GROUP_COMPLETING_REBALANCE) {
        coord_group_unref(g);
        return;                         /* a rebalance or an unload answered the syncs */
    }
    if (kafka_error != KAFKA_ERR_NONE) {
        LOG_WARN("group", "group %s: writing generation %d failed: %s", g->id, generation,
                 kafka_error_name(kafka_error));
        abort_sync(g, kafka_error, "its assignment could not be written");
        coord_group_unref(g);
        return;
    }
    set_state(g, GROUP_STABLE);
    for (size_t i = 0; i < g->n_members; i++)
        answer_parked_sync(g->members[i], KAFKA_ERR_NONE);
    coord_group_unref(g);
}

static int take_assignments(group_t *g, const group_sync_req_t *req)
{
    reset_assignments(g);
    for (size_t i = 0; i < req->n_assignments; i++) {
        const group_assignment_in_t *a = &req->assignments[i];
        group_member_t *m = group_member_find(g, a->member_id);
        if (!m)
            continue;                   /* Kafka ignores assignments for strangers */
        free(m->assignment);
        m->assignment = malloc(a->assignment_len ? a->assignment_len : 1);
        if (!m->assignment)
            return -1;
        memcpy(m->assignment, a->assignment, a->assignment_len);
        m->assignment_len = a->assignment_len;
    }
    return 0;
}

static void store_assignment(group_t *g)
{
    stored_sync_t *ss = malloc(sizeof *ss);
    if (!ss) {
        abort_sync(g, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, "out of memory storing its assignment");
        return;
    }
    *ss = (stored_sync_t){ g, g->generation };
    g->storing = true;
    g->refs++;
    if (store_group(g, false, on_assignment_stored, ss) != 0) {
        free(ss);
        g->storing = false;
        abort_sync(g, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, "out of memory storing its assignment");
        coord_group_unref(g);
    }
}

void group_coord_sync_group(group_coord_t *gc, const group_sync_req_t *req, group_sync_fn fn,
                            void *arg)
{
    int32_t part;
    int16_t err = coord_route(gc, req->group_id, &part);
    group_t *g = err == KAFKA_ERR_NONE ? coord_group_find(gc, req->group_id) : NULL;
    group_member_t *m = NULL;
    if (err == KAFKA_ERR_NONE && g && g->state == GROUP_DEAD)
        err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;     /* being deleted, as in join */
    else if (err == KAFKA_ERR_NONE)
        err = g ? group_member_check(g, req->member_id, req->instance_id, &m)
                : KAFKA_ERR_UNKNOWN_MEMBER_ID;
    if (err == KAFKA_ERR_NONE && req->generation != g->generation)
        err = KAFKA_ERR_ILLEGAL_GENERATION;
    if (err == KAFKA_ERR_NONE) {
        switch (g->state) {
        case GROUP_EMPTY:
        case GROUP_DEAD:
            err = KAFKA_ERR_UNKNOWN_MEMBER_ID;
            break;
        case GROUP_PREPARING_REBALANCE:
            err = KAFKA_ERR_REBALANCE_IN_PROGRESS;
            break;
        case GROUP_STABLE:
            touch(m);
            fn(arg, KAFKA_ERR_NONE, m->assignment, m->assignment_len);
            return;
        case GROUP_COMPLETING_REBALANCE:
            break;
        }
    }
    if (err != KAFKA_ERR_NONE) {
        fn(arg, err, NULL, 0);
        return;
    }
    touch(m);
    if (m->sync_fn)
        answer_parked_sync(m, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    m->sync_fn = fn;
    m->sync_arg = arg;
    if (!is_leader(g, m) || g->storing)
        return;
    if (take_assignments(g, req) != 0) {
        abort_sync(g, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, "out of memory taking its assignment");
        return;
    }
    store_assignment(g);
}

/* ---- Heartbeat, LeaveGroup ------------------------------------------------------ */

int16_t group_coord_heartbeat(group_coord_t *gc, const char *group_id, const char *member_id,
                              const char *instance_id, int32_t generation)
{
    int32_t part;
    int16_t err = coord_route(gc, group_id, &part);
    if (err != KAFKA_ERR_NONE)
        return err;
    group_t *g = coord_group_find(gc, group_id);
    if (g && g->state == GROUP_DEAD)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;    /* being deleted, as in join */
    if (!g || g->state == GROUP_EMPTY)
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    group_member_t *m;
    err = group_member_check(g, member_id, instance_id, &m);
    if (err != KAFKA_ERR_NONE)
        return err;
    if (generation != g->generation)
        return KAFKA_ERR_ILLEGAL_GENERATION;
    touch(m);
    return g->state == GROUP_PREPARING_REBALANCE ? KAFKA_ERR_REBALANCE_IN_PROGRESS
                                                 : KAFKA_ERR_NONE;
}

int16_t group_coord_leave(group_coord_t *gc, const char *group_id, const char *member_id)
{
    int32_t part;
    int16_t err = coord_route(gc, group_id, &part);
    if (err != KAFKA_ERR_NONE)
        return err;
    group_t *g = coord_group_find(gc, group_id);
    if (g && g->state == GROUP_DEAD)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;    /* being deleted, as in join */
    group_member_t *m = g ? group_member_find(g, member_id) : NULL;
    if (!m)
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    LOG_INFO("group", "group %s: member %s left", g->id, m->member_id);
    group_member_remove(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    return KAFKA_ERR_NONE;
}
