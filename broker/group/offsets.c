/* Committed offsets: OffsetCommit's rules (who may commit in which group
 * state), OffsetFetch, DeleteGroups, OffsetDelete and expiry. An offset
 * counts as committed — and OffsetFetch shows it — once its record is
 * below the __consumer_offsets partition's high watermark. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "broker.h"
#include "group.h"
#include "kafka_error.h"
#include "log.h"
#include "timeutil.h"

/* ---- the sorted offset table ----------------------------------------------------- */

static int cmp_key(const char *topic, int32_t partition, const group_offset_t *o)
{
    int c = strcmp(topic, o->topic);
    if (c != 0)
        return c;
    return partition < o->partition ? -1 : partition > o->partition ? 1 : 0;
}

/* Index of (topic, partition), or of where it would go, with *found. */
static size_t offset_pos(const group_t *g, const char *topic, int32_t partition, bool *found)
{
    size_t lo = 0, hi = g->n_offsets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(topic, partition, &g->offsets[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

group_offset_t *group_offset_find(const group_t *g, const char *topic, int32_t partition)
{
    bool found;
    size_t i = offset_pos(g, topic, partition, &found);
    return found ? &g->offsets[i] : NULL;
}

static void offset_clear(group_offset_t *o)
{
    free(o->topic);
    free(o->metadata);
}

int group_offset_set(group_t *g, const char *topic, int32_t partition, int64_t offset,
                     int32_t leader_epoch, const char *metadata, int64_t commit_ts_ms)
{
    bool found;
    size_t i = offset_pos(g, topic, partition, &found);
    if (offset < 0) {
        if (found) {
            offset_clear(&g->offsets[i]);
            memmove(&g->offsets[i], &g->offsets[i + 1],
                    (g->n_offsets - i - 1) * sizeof *g->offsets);
            g->n_offsets--;
        }
        return 0;
    }
    char *md = strdup(metadata ? metadata : "");
    if (!md)
        return -1;
    if (!found) {
        char *t = strdup(topic);
        if (!t || (g->n_offsets == g->cap_offsets && g->cap_offsets > SIZE_MAX / 2)) {
            free(t);
            free(md);
            return -1;
        }
        if (g->n_offsets == g->cap_offsets) {
            size_t cap = g->cap_offsets ? g->cap_offsets * 2 : 8;
            group_offset_t *os = realloc(g->offsets, cap * sizeof *os);
            if (!os) {
                free(t);
                free(md);
                return -1;
            }
            g->offsets = os;
            g->cap_offsets = cap;
        }
        memmove(&g->offsets[i + 1], &g->offsets[i], (g->n_offsets - i) * sizeof *g->offsets);
        g->n_offsets++;
        g->offsets[i] = (group_offset_t){ .topic = t, .partition = partition };
    } else {
        free(g->offsets[i].metadata);
    }
    group_offset_t *o = &g->offsets[i];
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    o->metadata = md;
    o->commit_timestamp_ms = commit_ts_ms;
    return 0;
}

void group_offsets_free(group_t *g)
{
    for (size_t i = 0; i < g->n_offsets; i++)
        offset_clear(&g->offsets[i]);
    free(g->offsets);
    g->offsets = NULL;
    g->n_offsets = g->cap_offsets = 0;
}

/* ---- OffsetCommit ---------------------------------------------------------------- */

typedef struct commit_op {
    struct commit_op *next;            /* in g->commits while its write is in flight */
    group_t *g;
    group_commit_part_t *parts;
    store_offset_t *offs;              /* the parts being written, in order */
    size_t *part_of;                   /* offs[i] is parts[part_of[i]] */
    size_t n_offs;
    void (*fn)(void *arg);
    void *arg;
} commit_op_t;

static void all_parts(const group_commit_req_t *req, int16_t err)
{
    for (size_t i = 0; i < req->n_parts; i++)
        req->parts[i].error = err;
}

/* Kafka's doCommitOffsets checks, for a group that exists: a member's, as
 * for a heartbeat, plus the generation and no assignment under way. */
static int16_t commit_allowed(group_t *g, const group_commit_req_t *req)
{
    if (g->state == GROUP_DEAD)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (req->generation < 0 && g->state == GROUP_EMPTY)
        return KAFKA_ERR_NONE;         /* not using group management */
    group_member_t *m;
    int16_t err = group_member_check(g, req->member_id, req->instance_id, &m);
    if (err != KAFKA_ERR_NONE)
        return err;
    if (req->generation != g->generation)
        return KAFKA_ERR_ILLEGAL_GENERATION;
    if (g->state == GROUP_COMPLETING_REBALANCE)
        return KAFKA_ERR_REBALANCE_IN_PROGRESS;
    group_member_start_session(m);      /* a commit counts as a heartbeat */
    return KAFKA_ERR_NONE;
}

static int16_t check_part(const group_coord_t *gc, const group_commit_part_t *p)
{
    const md_topic_t *t = md_image_topic(gc->b->image, p->topic);
    if (!t || p->partition < 0 || (size_t)p->partition >= t->n_partitions)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (p->metadata && strlen(p->metadata) > (size_t)gc->b->cfg->offset_metadata_max_bytes)
        return KAFKA_ERR_OFFSET_METADATA_TOO_LARGE;
    return KAFKA_ERR_NONE;
}

static void commit_op_free(commit_op_t *op)
{
    free(op->offs);
    free(op->part_of);
    free(op);
}

static void on_offsets_stored(void *arg, int16_t kafka_error)
{
    commit_op_t *op = arg;
    group_t *g = op->g;
    commit_op_t **pp = &g->commits;
    while (*pp != op)
        pp = &(*pp)->next;
    *pp = op->next;
    for (size_t i = 0; i < op->n_offs; i++) {
        const store_offset_t *o = &op->offs[i];
        int16_t err = kafka_error;
        if (err == KAFKA_ERR_NONE && g->removed)
            err = KAFKA_ERR_NOT_COORDINATOR;
        if (err == KAFKA_ERR_NONE &&
            group_offset_set(g, o->topic, o->partition, o->offset, o->leader_epoch, o->metadata,
                             o->commit_timestamp_ms) != 0)
            err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        op->parts[op->part_of[i]].error = err;
    }
    coord_group_unref(g);
    op->fn(op->arg);
    commit_op_free(op);
}

void group_coord_commit(group_coord_t *gc, const group_commit_req_t *req,
                        void (*fn)(void *arg), void *arg)
{
    int32_t part;
    int16_t err = coord_route(gc, req->group_id, &part);
    if (err == KAFKA_ERR_NONE && !req->group_id[0])
        err = KAFKA_ERR_INVALID_GROUP_ID;
    group_t *g = err == KAFKA_ERR_NONE ? coord_group_find(gc, req->group_id) : NULL;
    if (err == KAFKA_ERR_NONE && !g) {
        if (req->generation >= 0)
            err = KAFKA_ERR_ILLEGAL_GENERATION;
        else if (!(g = coord_group_add(gc, req->group_id, part)))
            err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (err == KAFKA_ERR_NONE)
        err = commit_allowed(g, req);
    commit_op_t *op = err == KAFKA_ERR_NONE ? calloc(1, sizeof *op) : NULL;
    if (err == KAFKA_ERR_NONE && op) {
        op->offs = calloc(req->n_parts ? req->n_parts : 1, sizeof *op->offs);
        op->part_of = calloc(req->n_parts ? req->n_parts : 1, sizeof *op->part_of);
    }
    if (err == KAFKA_ERR_NONE && (!op || !op->offs || !op->part_of))
        err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KAFKA_ERR_NONE) {
        if (op)
            commit_op_free(op);
        all_parts(req, err);
        fn(arg);
        return;
    }
    int64_t now = (int64_t)cairn_wall_ms();
    for (size_t i = 0; i < req->n_parts; i++) {
        group_commit_part_t *p = &req->parts[i];
        p->error = check_part(gc, p);
        if (p->error != KAFKA_ERR_NONE)
            continue;
        op->offs[op->n_offs] = (store_offset_t){ p->topic, p->partition, p->offset,
                                                 p->leader_epoch, p->metadata ? p->metadata : "",
                                                 now };
        op->part_of[op->n_offs++] = i;
    }
    if (op->n_offs == 0) {
        commit_op_free(op);
        fn(arg);
        return;
    }
    op->g = g;
    op->parts = req->parts;
    op->fn = fn;
    op->arg = arg;
    g->refs++;
    op->next = g->commits;
    g->commits = op;                   /* before: the write may be done at once */
    if (store_offsets(g, op->offs, op->n_offs, on_offsets_stored, op) != 0) {
        g->commits = op->next;
        for (size_t i = 0; i < op->n_offs; i++)
            req->parts[op->part_of[i]].error = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        coord_group_unref(g);
        commit_op_free(op);
        fn(arg);
    }
}

/* ---- OffsetFetch ----------------------------------------------------------------- */

int16_t group_coord_fetch_offset(group_coord_t *gc, const char *group_id, const char *topic,
                                 int32_t partition, group_offset_view_t *out)
{
    int32_t part;
    int16_t err = coord_route(gc, group_id, &part);
    if (err != KAFKA_ERR_NONE)
        return err;
    group_t *g = coord_group_find(gc, group_id);
    const group_offset_t *o = g ? group_offset_find(g, topic, partition) : NULL;
    *out = o ? (group_offset_view_t){ o->topic, o->partition, o->offset, o->leader_epoch,
                                      o->metadata, o->commit_timestamp_ms }
             : (group_offset_view_t){ topic, partition, -1, -1, "", -1 };
    return KAFKA_ERR_NONE;
}

/* ---- DeleteGroups ---------------------------------------------------------------- */

typedef struct delete_op {
    group_t *g;
    void (*fn)(void *arg, int16_t error);
    void *arg;
} delete_op_t;

static void on_group_deleted(void *arg, int16_t kafka_error)
{
    delete_op_t *op = arg;
    group_t *g = op->g;
    if (!g->removed) {
        LOG_INFO("group", "group %s: deleted%s", g->id,
                 kafka_error == KAFKA_ERR_NONE ? "" : " (its tombstones were not written)");
        coord_group_remove(g->gc, g, KAFKA_ERR_NONE);
    }
    coord_group_unref(g);
    op->fn(op->arg, kafka_error);
    free(op);
}

void group_coord_delete(group_coord_t *gc, const char *group_id,
                        void (*fn)(void *arg, int16_t error), void *arg)
{
    int32_t part;
    int16_t err = coord_route(gc, group_id, &part);
    group_t *g = err == KAFKA_ERR_NONE ? coord_group_find(gc, group_id) : NULL;
    if (err == KAFKA_ERR_NONE && (!g || g->state == GROUP_DEAD))
        err = KAFKA_ERR_GROUP_ID_NOT_FOUND;
    if (err == KAFKA_ERR_NONE && g->state != GROUP_EMPTY)
        err = KAFKA_ERR_NON_EMPTY_GROUP;
    delete_op_t *op = err == KAFKA_ERR_NONE ? malloc(sizeof *op) : NULL;
    if (err == KAFKA_ERR_NONE && !op)
        err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KAFKA_ERR_NONE) {
        fn(arg, err);
        return;
    }
    *op = (delete_op_t){ g, fn, arg };
    g->state = GROUP_DEAD;              /* joins and commits now wait for it to go */
    g->refs++;
    if (store_group(g, true, on_group_deleted, op) != 0) {
        g->state = GROUP_EMPTY;
        coord_group_unref(g);
        free(op);
        fn(arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    }
}

/* ---- OffsetDelete ---------------------------------------------------------------- */

typedef struct offset_delete_op {
    group_t *g;
    store_offset_t *offs;
    size_t n_offs;
    void (*fn)(void *arg, int16_t error);
    void *arg;
} offset_delete_op_t;

static bool subscribed(const group_t *g, const char *topic)
{
    for (size_t i = 0; i < g->n_members; i++) {
        const group_protocol_t *p = group_member_protocol(g, g->members[i]);
        if (p && group_subscription_has_topic(p->metadata, p->metadata_len, topic))
            return true;
    }
    return false;
}

static void on_offsets_deleted(void *arg, int16_t kafka_error)
{
    offset_delete_op_t *op = arg;
    if (kafka_error == KAFKA_ERR_NONE && !op->g->removed)
        for (size_t i = 0; i < op->n_offs; i++)
            (void)group_offset_set(op->g, op->offs[i].topic, op->offs[i].partition, -1, -1,
                                   NULL, 0);
    coord_group_unref(op->g);
    op->fn(op->arg, kafka_error);
    free(op->offs);
    free(op);
}

void group_coord_offset_delete(group_coord_t *gc, const char *group_id,
                               group_offset_delete_part_t *parts, size_t n_parts,
                               void (*fn)(void *arg, int16_t error), void *arg)
{
    int32_t part;
    int16_t err = coord_route(gc, group_id, &part);
    group_t *g = err == KAFKA_ERR_NONE ? coord_group_find(gc, group_id) : NULL;
    if (err == KAFKA_ERR_NONE && (!g || g->state == GROUP_DEAD))
        err = KAFKA_ERR_GROUP_ID_NOT_FOUND;
    if (err == KAFKA_ERR_NONE && g->n_members > 0 &&
        (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0))
        err = KAFKA_ERR_NON_EMPTY_GROUP;
    offset_delete_op_t *op = err == KAFKA_ERR_NONE ? calloc(1, sizeof *op) : NULL;
    if (op)
        op->offs = calloc(n_parts ? n_parts : 1, sizeof *op->offs);
    if (err == KAFKA_ERR_NONE && (!op || !op->offs))
        err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KAFKA_ERR_NONE) {
        if (op)
            free(op->offs);
        free(op);
        fn(arg, err);
        return;
    }
    for (size_t i = 0; i < n_parts; i++) {
        group_offset_delete_part_t *p = &parts[i];
        p->error = KAFKA_ERR_NONE;
        if (g->n_members > 0 && subscribed(g, p->topic)) {
            p->error = KAFKA_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
            continue;
        }
        if (group_offset_find(g, p->topic, p->partition))
            op->offs[op->n_offs++] = (store_offset_t){ p->topic, p->partition, -1, -1, "", 0 };
    }
    if (op->n_offs == 0) {
        free(op->offs);
        free(op);
        fn(arg, KAFKA_ERR_NONE);
        return;
    }
    *op = (offset_delete_op_t){ g, op->offs, op->n_offs, fn, arg };
    g->refs++;
    if (store_offsets(g, op->offs, op->n_offs, on_offsets_deleted, op) != 0) {
        coord_group_unref(g);
        free(op->offs);
        free(op);
        fn(arg, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    }
}

/* ---- expiry ---------------------------------------------------------------------- */

static void on_expired(void *arg, int16_t kafka_error)
{
    group_t *g = arg;
    if (kafka_error != KAFKA_ERR_NONE && !g->removed)
        LOG_WARN("group", "group %s: writing expired offsets failed: %s", g->id,
                 kafka_error_name(kafka_error));
    coord_group_unref(g);
}

/* Whether an OffsetCommit of (topic, partition) is being written: it
 * would be applied after the tombstone of the older offset, in memory only
 * (a reload would replay the tombstone last), so that offset waits. */
static bool commit_pending(const group_t *g, const char *topic, int32_t partition)
{
    for (const commit_op_t *op = g->commits; op; op = op->next)
        for (size_t i = 0; i < op->n_offs; i++)
            if (op->offs[i].partition == partition && strcmp(op->offs[i].topic, topic) == 0)
                return true;
    return false;
}

/* Kafka 2.1+ (KIP-211): a group's offsets expire only while it has no
 * members, counted from when it emptied — or from the commit, for groups
 * that never used group management. */
static size_t expire_group(group_t *g, int64_t now, int64_t retention_ms)
{
    store_offset_t *dead = NULL;
    size_t n = 0;
    for (size_t i = 0; i < g->n_offsets; i++) {
        const group_offset_t *o = &g->offsets[i];
        int64_t base = o->commit_timestamp_ms;
        if (g->protocol_type && g->state_since_ms > base)
            base = g->state_since_ms;
        if (base + retention_ms >= now || commit_pending(g, o->topic, o->partition))
            continue;
        if (!dead && !(dead = calloc(g->n_offsets, sizeof *dead)))
            return 0;
        dead[n++] = (store_offset_t){ o->topic, o->partition, -1, -1, "", 0 };
    }
    if (n > 0) {
        g->refs++;
        if (store_offsets(g, dead, n, on_expired, g) != 0) {
            coord_group_unref(g);
            n = 0;
        }
    }
    /* store_offsets copied the keys into its records: now drop them (each
     * dead[i].topic is its own entry's string, freed only with it). */
    for (size_t i = 0; i < n; i++)
        (void)group_offset_set(g, dead[i].topic, dead[i].partition, -1, -1, NULL, 0);
    free(dead);
    return n;
}

void group_offsets_expire(group_coord_t *gc)
{
    int64_t now = (int64_t)cairn_wall_ms();
    int64_t retention_ms = gc->b->cfg->offsets_retention_minutes * 60000;
    size_t expired = 0, removed = 0;
    for (uint32_t i = 0; i < GROUP_BUCKETS; i++) {
        group_t *g = gc->buckets[i];
        while (g) {
            group_t *next = g->next;
            bool loaded = g->part < gc->n_parts && gc->parts[g->part].state == PART_LOADED;
            if (loaded && g->state == GROUP_EMPTY && !g->storing) {
                expired += expire_group(g, now, retention_ms);
                if (g->n_offsets == 0 && g->refs == 0 &&
                    g->state_since_ms + retention_ms < now) {
                    g->refs++;
                    if (store_group(g, true, on_expired, g) != 0)
                        coord_group_unref(g);
                    coord_group_remove(gc, g, KAFKA_ERR_NONE);
                    removed++;
                }
            }
            g = next;
        }
    }
    if (expired || removed)
        LOG_INFO("group", "expired %zu committed offsets, removed %zu empty groups", expired,
                 removed);
}
