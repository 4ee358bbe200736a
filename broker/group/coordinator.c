/* The coordinator's frame: which __consumer_offsets partitions this broker
 * leads (from the replicas, which follow the metadata image), loading their
 * groups from the log when leadership arrives and dropping them when it
 * goes, the table of groups, and the read-only views. */
#include "coordinator.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "broker.h"
#include "group.h"
#include "group_partition.h"
#include "kafka_error.h"
#include "log.h"
#include "replicas.h"
#include "timeutil.h"

#define EXPIRE_MIN_INTERVAL_MS 100
#define LOAD_RETRY_MS 1000

int32_t group_partition_for(const char *group, int32_t n)
{
    return cairn_group_partition_for(group, n);
}

const char *group_state_name(group_state_t s)
{
    switch (s) {
    case GROUP_EMPTY: return "Empty";
    case GROUP_PREPARING_REBALANCE: return "PreparingRebalance";
    case GROUP_COMPLETING_REBALANCE: return "CompletingRebalance";
    case GROUP_STABLE: return "Stable";
    case GROUP_DEAD: return "Dead";
    }
    return "Dead";
}

/* ---- the group table ----------------------------------------------------------- */

static uint32_t bucket_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % GROUP_BUCKETS;
}

group_t *coord_group_find(group_coord_t *gc, const char *id)
{
    for (group_t *g = gc->buckets[bucket_of(id)]; g; g = g->next)
        if (strcmp(g->id, id) == 0)
            return g;
    return NULL;
}

group_t *coord_group_add(group_coord_t *gc, const char *id, int32_t part)
{
    CAIRN_ASSERT(coord_group_find(gc, id) == NULL);
    group_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->id = strdup(id);
    g->rebalance_timer = evtimer_new(gc->b->base, group_on_rebalance_timer, g);
    if (!g->id || !g->rebalance_timer) {
        if (g->rebalance_timer)
            event_free(g->rebalance_timer);
        free(g->id);
        free(g);
        return NULL;
    }
    g->gc = gc;
    g->part = part;
    g->state = GROUP_EMPTY;
    g->state_since_ms = (int64_t)cairn_wall_ms();
    uint32_t bkt = bucket_of(id);
    g->next = gc->buckets[bkt];
    gc->buckets[bkt] = g;
    return g;
}

static void group_free(group_t *g)
{
    CAIRN_ASSERT(g->refs == 0 && g->n_members == 0);
    if (g->rebalance_timer)
        event_free(g->rebalance_timer);
    group_offsets_free(g);
    free(g->members);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader_id);
    free(g);
}

void coord_group_remove(group_coord_t *gc, group_t *g, int16_t kafka_error)
{
    group_t **pp = &gc->buckets[bucket_of(g->id)];
    while (*pp && *pp != g)
        pp = &(*pp)->next;
    CAIRN_ASSERT(*pp == g);
    *pp = g->next;
    group_fail_parked(g, kafka_error);
    group_members_clear(g);
    g->state = GROUP_DEAD;
    g->removed = true;
    if (g->refs == 0)
        group_free(g);
}

void coord_group_unref(group_t *g)
{
    CAIRN_ASSERT(g->refs > 0);
    if (--g->refs == 0 && g->removed)
        group_free(g);
}

/* ---- routing ------------------------------------------------------------------- */

replica_t *coord_leader_replica(group_coord_t *gc, int32_t part)
{
    replica_t *r = replicas_get(gc->b->replicas, GROUP_OFFSETS_TOPIC, part);
    return r && r->leader ? r : NULL;
}

int16_t coord_route(group_coord_t *gc, const char *group, int32_t *part)
{
    if (gc->n_parts == 0)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    int32_t p = group_partition_for(group, gc->n_parts);
    switch (gc->parts[p].state) {
    case PART_NOT_LEADER:
        return KAFKA_ERR_NOT_COORDINATOR;
    case PART_LOADING:
        return KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    case PART_LOADED:
        break;
    }
    *part = p;
    return KAFKA_ERR_NONE;
}

int16_t group_coord_check(group_coord_t *gc, const char *group_id)
{
    int32_t part;
    return coord_route(gc, group_id, &part);
}

/* ---- leadership: load and unload ------------------------------------------------ */

static void unload_part(group_coord_t *gc, int32_t part)
{
    size_t dropped = 0;
    for (uint32_t i = 0; i < GROUP_BUCKETS; i++) {
        group_t *g = gc->buckets[i];
        while (g) {
            group_t *next = g->next;
            if (g->part == part) {
                coord_group_remove(gc, g, KAFKA_ERR_NOT_COORDINATOR);
                dropped++;
            }
            g = next;
        }
    }
    if (gc->parts[part].state != PART_NOT_LEADER)
        LOG_INFO("group", "%s-%d: no longer leader, dropped %zu groups", GROUP_OFFSETS_TOPIC,
                 part, dropped);
    gc->parts[part].state = PART_NOT_LEADER;
    gc->parts[part].epoch = -1;
}

static void start_sessions(group_coord_t *gc, int32_t part)
{
    for (uint32_t i = 0; i < GROUP_BUCKETS; i++)
        for (group_t *g = gc->buckets[i]; g; g = g->next)
            if (g->part == part)
                for (size_t j = 0; j < g->n_members; j++)
                    group_member_start_session(g->members[j]);
}

static size_t groups_in(group_coord_t *gc, int32_t part)
{
    size_t n = 0;
    for (uint32_t i = 0; i < GROUP_BUCKETS; i++)
        for (group_t *g = gc->buckets[i]; g; g = g->next)
            n += g->part == part;
    return n;
}

/* A load step failed: the partition stays loading and on_load tries again
 * after LOAD_RETRY_MS, so a bad read neither spins nor sticks. */
static bool load_retry_later(group_coord_t *gc, int32_t part, const char *what)
{
    coord_part_t *cp = &gc->parts[part];
    LOG_WARN("group", "%s-%d: %s loading offset %" PRId64 "; retrying in %d ms",
             GROUP_OFFSETS_TOPIC, part, what, cp->load_next, LOAD_RETRY_MS);
    cp->load_retry_ms = cairn_mono_ms() + LOAD_RETRY_MS;
    return false;
}

/* Reads one chunk of part's log into its groups. Returns true when the
 * partition still has more to load now. */
static bool load_step(group_coord_t *gc, int32_t part)
{
    coord_part_t *cp = &gc->parts[part];
    replica_t *r = coord_leader_replica(gc, part);
    if (!r) {
        unload_part(gc, part);
        return false;
    }
    if (cp->load_next < plog_start_offset(r->log))
        cp->load_next = plog_start_offset(r->log);
    plog_slice_t sl = {0};
    int rc = cp->load_next < cp->load_end
        ? plog_read(r->log, cp->load_next, cp->load_end, (uint32_t)gc->load_buf_len, true, &sl)
        : 0;
    if (rc == -2)
        return load_retry_later(gc, part, "reading the log failed");
    if (rc == -1) {
        cp->load_next = plog_start_offset(r->log);
        return true;
    }
    if (sl.length > 0) {
        if (sl.length > gc->load_buf_len) {
            uint8_t *nb = realloc(gc->load_buf, sl.length);
            if (!nb)
                return load_retry_later(gc, part, "out of memory for the read buffer");
            gc->load_buf = nb;
            gc->load_buf_len = sl.length;
        }
        ssize_t got = pread(sl.fd, gc->load_buf, sl.length, (off_t)sl.file_pos);
        if (got != (ssize_t)sl.length)
            return load_retry_later(gc, part, "a short read");
        store_replay(gc, part, gc->load_buf, sl.length);
        cp->load_next = sl.next_offset;
        if (cp->load_next < cp->load_end)
            return true;
    }
    cp->state = PART_LOADED;
    start_sessions(gc, part);
    LOG_INFO("group", "%s-%d: coordinator for %zu groups (loaded offsets up to %" PRId64
             ", leader epoch %d)", GROUP_OFFSETS_TOPIC, part, groups_in(gc, part),
             cp->load_end, cp->epoch);
    return false;
}

static void on_load(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_coord_t *gc = arg;
    uint64_t now = cairn_mono_ms();
    bool more = false, waiting = false;
    for (int32_t p = 0; p < gc->n_parts; p++) {
        coord_part_t *cp = &gc->parts[p];
        if (cp->state == PART_LOADING && now >= cp->load_retry_ms && load_step(gc, p))
            more = true;
        waiting |= cp->state == PART_LOADING;
    }
    if (more) {
        event_active(gc->load_ev, EV_TIMEOUT, 0);
    } else if (waiting) {
        /* Only failed loads are left: wake up when they may retry. */
        struct timeval tv = { LOAD_RETRY_MS / 1000, (LOAD_RETRY_MS % 1000) * 1000 };
        event_add(gc->load_ev, &tv);
    }
}

static void start_load(group_coord_t *gc, int32_t part, replica_t *r)
{
    coord_part_t *cp = &gc->parts[part];
    cp->state = PART_LOADING;
    cp->epoch = r->leader_epoch;
    cp->load_next = plog_start_offset(r->log);
    cp->load_end = plog_end_offset(r->log);
    cp->load_retry_ms = 0;
    LOG_INFO("group", "%s-%d: leader at epoch %d, loading groups from offsets %" PRId64
             "..%" PRId64, GROUP_OFFSETS_TOPIC, part, cp->epoch, cp->load_next, cp->load_end);
    event_active(gc->load_ev, EV_TIMEOUT, 0);
}

static void resize_parts(group_coord_t *gc, int32_t n)
{
    for (int32_t p = 0; p < gc->n_parts; p++)
        unload_part(gc, p);
    free(gc->parts);
    gc->parts = NULL;
    gc->n_parts = 0;
    if (n <= 0)
        return;
    gc->parts = calloc((size_t)n, sizeof *gc->parts);
    if (!gc->parts)
        return;
    gc->n_parts = n;
    for (int32_t p = 0; p < n; p++) {
        gc->parts[p].state = PART_NOT_LEADER;
        gc->parts[p].epoch = -1;
    }
}

void group_coord_sync(group_coord_t *gc)
{
    const md_topic_t *t = md_image_topic(gc->b->image, GROUP_OFFSETS_TOPIC);
    int32_t n = t ? (int32_t)t->n_partitions : 0;
    if (n != gc->n_parts) {
        if (gc->n_parts > 0)
            LOG_WARN("group", "%s now has %d partitions (was %d): groups move",
                     GROUP_OFFSETS_TOPIC, n, gc->n_parts);
        resize_parts(gc, n);
    }
    for (int32_t p = 0; p < gc->n_parts; p++) {
        replica_t *r = coord_leader_replica(gc, p);
        coord_part_t *cp = &gc->parts[p];
        if (!r) {
            if (cp->state != PART_NOT_LEADER)
                unload_part(gc, p);
            continue;
        }
        if (cp->state != PART_NOT_LEADER && cp->epoch == r->leader_epoch)
            continue;
        /* New leadership, or a new epoch: another leader may have written
         * in between, so the state is read again from the log. */
        unload_part(gc, p);
        start_load(gc, p, r);
    }
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_offsets_expire(arg);
}

group_coord_t *group_coord_new(broker_t *b)
{
    group_coord_t *gc = calloc(1, sizeof *gc);
    if (!gc)
        return NULL;
    gc->b = b;
    gc->load_buf_len = (size_t)b->cfg->offsets_load_buffer_size;
    gc->load_buf = malloc(gc->load_buf_len);
    gc->load_ev = event_new(b->base, -1, 0, on_load, gc);
    gc->expire_timer = event_new(b->base, -1, EV_PERSIST, on_expire, gc);
    if (!gc->load_buf || !gc->load_ev || !gc->expire_timer) {
        group_coord_free(gc);
        return NULL;
    }
    int64_t every = b->cfg->offsets_retention_check_interval_ms;
    if (every < EXPIRE_MIN_INTERVAL_MS)
        every = EXPIRE_MIN_INTERVAL_MS;
    struct timeval tv = { (time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000 };
    evtimer_add(gc->expire_timer, &tv);
    return gc;
}

void group_coord_free(group_coord_t *gc)
{
    if (!gc)
        return;
    /* Every group belongs to a partition below n_parts, so unloading them
     * all empties the table. */
    resize_parts(gc, 0);
    for (uint32_t i = 0; i < GROUP_BUCKETS; i++)
        CAIRN_ASSERT(gc->buckets[i] == NULL);
    if (gc->load_ev)
        event_free(gc->load_ev);
    if (gc->expire_timer)
        event_free(gc->expire_timer);
    free(gc->load_buf);
    free(gc);
}

/* ---- views ---------------------------------------------------------------------- */

int16_t group_coord_describe(group_coord_t *gc, const char *group, group_view_t *out)
{
    int32_t part;
    int16_t err = coord_route(gc, group, &part);
    if (err != KAFKA_ERR_NONE)
        return err;
    group_t *g = coord_group_find(gc, group);
    group_view_t v = {0};
    v.group_id = group;
    v.state = g ? group_state_name(g->state) : "Dead";
    v.protocol_type = g && g->protocol_type ? g->protocol_type : "";
    v.protocol = g && g->protocol ? g->protocol : "";
    v.generation = g ? g->generation : 0;
    v.leader = g && g->leader_id ? g->leader_id : "";
    group_view_owned_t *own = group_view_owned_new();
    if (!own)
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    v.owned = own;
    if (g && g->n_members > 0) {
        v.members = calloc(g->n_members, sizeof *v.members);
        if (!v.members) {
            group_view_release(&v);
            return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        }
        v.n_members = g->n_members;
        for (size_t i = 0; i < g->n_members; i++)
            group_member_view_fill(g, g->members[i], own, &v.members[i]);
    }
    if (g && g->n_offsets > 0) {
        v.offsets = calloc(g->n_offsets, sizeof *v.offsets);
        if (!v.offsets) {
            group_view_release(&v);
            return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        }
        v.n_offsets = g->n_offsets;
        for (size_t i = 0; i < g->n_offsets; i++) {
            const group_offset_t *o = &g->offsets[i];
            v.offsets[i] = (group_offset_view_t){ o->topic, o->partition, o->offset,
                                                  o->leader_epoch, o->metadata,
                                                  o->commit_timestamp_ms };
        }
    }
    *out = v;
    return KAFKA_ERR_NONE;
}

void group_view_release(group_view_t *v)
{
    group_view_owned_free(v->owned);
    free(v->members);
    free(v->offsets);
    *v = (group_view_t){0};
}

size_t group_coord_list(group_coord_t *gc, group_listing_t *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < GROUP_BUCKETS; i++)
        for (group_t *g = gc->buckets[i]; g; g = g->next) {
            CAIRN_ASSERT(g->part < gc->n_parts);
            if (gc->parts[g->part].state != PART_LOADED)
                continue;
            if (n < max)
                out[n] = (group_listing_t){ g->id, g->protocol_type ? g->protocol_type : "",
                                            group_state_name(g->state) };
            n++;
        }
    return n;
}
