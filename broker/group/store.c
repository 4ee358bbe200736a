/* The coordinator's records in __consumer_offsets, in Kafka's formats (the
 * key's int16 version tells them apart): OffsetCommitKey v1 /
 * OffsetCommitValue v3 for a committed offset, GroupMetadataKey v2 /
 * GroupMetadataValue v3 for a group's generation, members and assignment;
 * a null value deletes. Writes go through the partition's leader log like
 * an acks=all produce and count once the high watermark passes them; a
 * new coordinator replays the log to rebuild its groups. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cairn_assert.h"
#include "batch.h"
#include "batch_build.h"
#include "broker.h"
#include "group.h"
#include "kafka_error.h"
#include "kafka_messages.h"
#include "leader.h"
#include "log.h"
#include "timeutil.h"
#include "replicas.h"

#define KEY_OFFSET_V0 0
#define KEY_OFFSET_V1 1
#define KEY_GROUP_V2 2
#define VALUE_OFFSET_VERSION 3
#define VALUE_GROUP_VERSION 3
#define DECODE_ARENA_BYTES (64u << 10)

/* ---- writing --------------------------------------------------------------------- */

typedef struct store_write {
    store_done_fn fn;
    void *arg;
    bool for_group;                    /* group metadata: Kafka maps errors differently */
    bool answered;
    struct event *timer;
} store_write_t;

/* Kafka's GroupMetadataManager error mapping. */
static int16_t map_error(int16_t err, bool for_group)
{
    switch (err) {
    case KAFKA_ERR_NONE:
        return KAFKA_ERR_NONE;
    case KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KAFKA_ERR_NOT_ENOUGH_REPLICAS:
    case KAFKA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    case KAFKA_ERR_NOT_LEADER_OR_FOLLOWER:
    case KAFKA_ERR_KAFKA_STORAGE_ERROR:
    case KAFKA_ERR_FENCED_LEADER_EPOCH:
        return KAFKA_ERR_NOT_COORDINATOR;
    case KAFKA_ERR_MESSAGE_TOO_LARGE:
        return for_group ? KAFKA_ERR_UNKNOWN_SERVER_ERROR : KAFKA_ERR_INVALID_COMMIT_OFFSET_SIZE;
    case KAFKA_ERR_REQUEST_TIMED_OUT:
        return for_group ? KAFKA_ERR_REBALANCE_IN_PROGRESS : KAFKA_ERR_REQUEST_TIMED_OUT;
    default:
        return err;
    }
}

static void answer(store_write_t *w, int16_t err)
{
    if (w->answered)
        return;
    w->answered = true;
    if (w->timer)
        evtimer_del(w->timer);
    w->fn(w->arg, map_error(err, w->for_group));
}

static void write_free(store_write_t *w)
{
    if (w->timer)
        event_free(w->timer);
    free(w);
}

static void on_write_committed(void *arg, int16_t kafka_error)
{
    answer(arg, kafka_error);
    write_free(arg);
}

static void on_write_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    answer(arg, KAFKA_ERR_REQUEST_TIMED_OUT);   /* freed when the waiter fires */
}

/* Appends one batch of recs to part's log and waits for the high
 * watermark. fn may run before this returns. */
static int append(group_coord_t *gc, int32_t part, const batch_build_record_t *recs, size_t n,
                  bool for_group, store_done_fn fn, void *arg)
{
    replica_t *r = coord_leader_replica(gc, part);
    int16_t err = !r ? KAFKA_ERR_NOT_LEADER_OR_FOLLOWER
        : (int64_t)r->isr_size < r->min_insync_replicas ? KAFKA_ERR_NOT_ENOUGH_REPLICAS
        : KAFKA_ERR_NONE;
    if (err != KAFKA_ERR_NONE) {
        fn(arg, map_error(err, for_group));
        return 0;
    }
    size_t len = 0;
    uint8_t *batch = batch_build(recs, n, (int64_t)cairn_wall_ms(), (size_t)r->max_message_bytes, &len);
    if (!batch) {
        if (batch_build_bytes(recs, n) <= (size_t)r->max_message_bytes)
            return -1;                 /* out of memory */
        fn(arg, map_error(KAFKA_ERR_MESSAGE_TOO_LARGE, for_group));
        return 0;
    }
    plog_append_info_t info;
    int rc = plog_append(r->log, batch, len, r->leader_epoch, &info);
    free(batch);
    if (rc != 0) {
        fn(arg, map_error(KAFKA_ERR_KAFKA_STORAGE_ERROR, for_group));
        return 0;
    }
    replica_leader_appended(r);
    store_write_t *w = calloc(1, sizeof *w);
    if (!w) {
        fn(arg, map_error(KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, for_group));
        return 0;
    }
    *w = (store_write_t){ .fn = fn, .arg = arg, .for_group = for_group };
    int64_t timeout = gc->b->cfg->offsets_commit_timeout_ms;
    w->timer = evtimer_new(gc->b->base, on_write_timeout, w);
    rc = replica_leader_when_committed(r, info.last_offset + 1, on_write_committed, w);
    if (rc != 0) {
        answer(w, rc > 0 ? replica_leader_commit_error(r) : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
        write_free(w);
        return 0;
    }
    if (w->timer) {
        struct timeval tv = { (time_t)(timeout / 1000), (suseconds_t)(timeout % 1000) * 1000 };
        evtimer_add(w->timer, &tv);
    }
    return 0;
}

/* Keys and values are encoded one after another into one buffer; spans
 * are (offset, length) into it until it is made contiguous. */
typedef struct span {
    size_t off;
    int32_t len;                       /* -1: null */
} span_t;

static span_t span_begin(kafka_wr_t *wr)
{
    return (span_t){ kafka_wr_length(wr), 0 };
}

static void span_end(kafka_wr_t *wr, span_t *s)
{
    s->len = (int32_t)(kafka_wr_length(wr) - s->off);
}

static void put_offset_key(kafka_wr_t *wr, const char *group, const char *topic,
                           int32_t partition)
{
    kafka_OffsetCommitKey_t k;
    kafka_OffsetCommitKey_init(&k);
    k.group = (char *)group;
    k.topic = (char *)topic;
    k.partition = partition;
    kafka_wr_int16(wr, KEY_OFFSET_V1);
    kafka_OffsetCommitKey_encode(wr, KEY_OFFSET_V1, &k);
}

static void put_offset_value(kafka_wr_t *wr, const store_offset_t *o)
{
    kafka_OffsetCommitValue_t v;
    kafka_OffsetCommitValue_init(&v);
    v.offset = o->offset;
    v.leaderEpoch = o->leader_epoch;
    v.metadata = (char *)(o->metadata ? o->metadata : "");
    v.commitTimestamp = o->commit_timestamp_ms;
    kafka_wr_int16(wr, VALUE_OFFSET_VERSION);
    kafka_OffsetCommitValue_encode(wr, VALUE_OFFSET_VERSION, &v);
}

static void put_group_key(kafka_wr_t *wr, const char *group)
{
    kafka_GroupMetadataKey_t k;
    kafka_GroupMetadataKey_init(&k);
    k.group = (char *)group;
    kafka_wr_int16(wr, KEY_GROUP_V2);
    kafka_GroupMetadataKey_encode(wr, KEY_GROUP_V2, &k);
}

static int put_group_value(kafka_wr_t *wr, const group_t *g)
{
    kafka_GroupMetadataValue_t v;
    kafka_GroupMetadataValue_init(&v);
    v.protocolType = g->protocol_type ? g->protocol_type : "";
    v.generation = g->generation;
    v.protocol = g->protocol;
    v.leader = g->leader_id;
    v.currentStateTimestamp = g->state_since_ms;
    kafka_GroupMetadataValue_MemberMetadata_t *ms =
        calloc(g->n_members ? g->n_members : 1, sizeof *ms);
    if (!ms)
        return -1;
    for (size_t i = 0; i < g->n_members; i++) {
        const group_member_t *m = g->members[i];
        const group_protocol_t *p = group_member_protocol(g, m);
        kafka_GroupMetadataValue_MemberMetadata_init(&ms[i]);
        ms[i].memberId = m->member_id;
        ms[i].groupInstanceId = m->instance_id;
        ms[i].clientId = m->client_id;
        ms[i].clientHost = m->client_host;
        ms[i].rebalanceTimeout = m->rebalance_timeout_ms;
        ms[i].sessionTimeout = m->session_timeout_ms;
        ms[i].subscription.data = p ? p->metadata : (uint8_t *)"";
        ms[i].subscription.len = p ? (int32_t)p->metadata_len : 0;
        ms[i].assignment.data = m->assignment;
        ms[i].assignment.len = (int32_t)m->assignment_len;
    }
    v.members = ms;
    v.members_count = (int32_t)g->n_members;
    kafka_wr_int16(wr, VALUE_GROUP_VERSION);
    kafka_GroupMetadataValue_encode(wr, VALUE_GROUP_VERSION, &v);
    free(ms);
    return 0;
}

/* Records being encoded: keys and values one after another in buf, each
 * a span of it. */
typedef struct records_enc {
    struct evbuffer *buf;
    kafka_wr_t wr;
    span_t *keys, *values;
    size_t n, cap;
} records_enc_t;

static int enc_init(records_enc_t *e, size_t cap)
{
    *e = (records_enc_t){ .cap = cap };
    e->buf = evbuffer_new();
    e->keys = calloc(cap, sizeof *e->keys);
    e->values = calloc(cap, sizeof *e->values);
    if (!e->buf || !e->keys || !e->values)
        return -1;
    kafka_wr_init(&e->wr, e->buf);
    return 0;
}

static void enc_free(records_enc_t *e)
{
    free(e->keys);
    free(e->values);
    if (e->buf)
        evbuffer_free(e->buf);
}

/* Starts record e->n: its key is written next. */
static void enc_key_begin(records_enc_t *e)
{
    CAIRN_ASSERT(e->n < e->cap);
    e->keys[e->n] = span_begin(&e->wr);
}

/* Ends the key; the value (if not a tombstone) is written next. */
static void enc_key_end(records_enc_t *e, bool tombstone)
{
    span_end(&e->wr, &e->keys[e->n]);
    e->values[e->n] = tombstone ? (span_t){ 0, -1 } : span_begin(&e->wr);
}

static void enc_record_end(records_enc_t *e)
{
    if (e->values[e->n].len >= 0)
        span_end(&e->wr, &e->values[e->n]);
    e->n++;
}

/* Makes the spans into records over the encoded bytes and appends them. */
static int enc_append(records_enc_t *e, group_t *g, bool for_group, store_done_fn fn, void *arg)
{
    if (kafka_wr_finish(&e->wr) != 0)
        return -1;
    size_t total = evbuffer_get_length(e->buf);
    const uint8_t *base = total ? evbuffer_pullup(e->buf, (ev_ssize_t)total) : NULL;
    if (total && !base)
        return -1;
    batch_build_record_t *recs = calloc(e->n, sizeof *recs);
    if (!recs)
        return -1;
    for (size_t i = 0; i < e->n; i++) {
        recs[i].key = base + e->keys[i].off;
        recs[i].key_len = e->keys[i].len;
        recs[i].value = e->values[i].len >= 0 ? base + e->values[i].off : NULL;
        recs[i].value_len = e->values[i].len;
    }
    int rc = append(g->gc, g->part, recs, e->n, for_group, fn, arg);
    free(recs);
    return rc;
}

int store_group(group_t *g, bool tombstone, store_done_fn fn, void *arg)
{
    records_enc_t e;
    int rc = -1;
    if (enc_init(&e, 1 + (tombstone ? g->n_offsets : 0)) != 0)
        goto out;
    enc_key_begin(&e);
    put_group_key(&e.wr, g->id);
    enc_key_end(&e, tombstone);
    if (!tombstone && put_group_value(&e.wr, g) != 0) {
        (void)kafka_wr_finish(&e.wr);
        goto out;
    }
    enc_record_end(&e);
    for (size_t i = 0; tombstone && i < g->n_offsets; i++) {
        const group_offset_t *o = &g->offsets[i];
        enc_key_begin(&e);
        put_offset_key(&e.wr, g->id, o->topic, o->partition);
        enc_key_end(&e, true);
        enc_record_end(&e);
    }
    rc = enc_append(&e, g, true, fn, arg);
out:
    enc_free(&e);
    return rc;
}

int store_offsets(group_t *g, const store_offset_t *offs, size_t n, store_done_fn fn, void *arg)
{
    CAIRN_ASSERT(n > 0);
    records_enc_t e;
    int rc = -1;
    if (enc_init(&e, n) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        bool tombstone = offs[i].offset < 0;
        enc_key_begin(&e);
        put_offset_key(&e.wr, g->id, offs[i].topic, offs[i].partition);
        enc_key_end(&e, tombstone);
        if (!tombstone)
            put_offset_value(&e.wr, &offs[i]);
        enc_record_end(&e);
    }
    rc = enc_append(&e, g, false, fn, arg);
out:
    enc_free(&e);
    return rc;
}

/* ---- replay ---------------------------------------------------------------------- */

static group_t *group_for(group_coord_t *gc, int32_t part, const char *id)
{
    group_t *g = coord_group_find(gc, id);
    return g ? g : coord_group_add(gc, id, part);
}

static void replay_offset(group_coord_t *gc, int32_t part, kafka_rd_t *key, int16_t kv,
                          const uint8_t *value, int32_t value_len, kafka_arena_t *a)
{
    kafka_OffsetCommitKey_t k;
    if (kafka_OffsetCommitKey_decode(key, kv, a, &k) != 0)
        return;
    if (!value) {
        group_t *g = coord_group_find(gc, k.group);
        if (g)
            (void)group_offset_set(g, k.topic, k.partition, -1, -1, NULL, 0);
        return;
    }
    kafka_rd_t rd;
    kafka_rd_init(&rd, value, (size_t)value_len);
    kafka_OffsetCommitValue_t v;   /* decode rejects unknown versions and short reads */
    if (kafka_OffsetCommitValue_decode(&rd, kafka_rd_int16(&rd), a, &v) != 0 || v.offset < 0)
        return;
    group_t *g = group_for(gc, part, k.group);
    if (g)
        (void)group_offset_set(g, k.topic, k.partition, v.offset, v.leaderEpoch, v.metadata,
                               v.commitTimestamp);
}

static void apply_group_value(group_t *g, const kafka_GroupMetadataValue_t *v)
{
    group_members_clear(g);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader_id);
    g->protocol_type = v->protocolType && v->protocolType[0] ? strdup(v->protocolType) : NULL;
    g->protocol = v->protocol ? strdup(v->protocol) : NULL;
    g->leader_id = v->leader ? strdup(v->leader) : NULL;
    g->generation = v->generation;
    for (int32_t i = 0; i < v->members_count; i++) {
        const kafka_GroupMetadataValue_MemberMetadata_t *m = &v->members[i];
        group_member_restore(g, m->memberId, m->groupInstanceId, m->clientId, m->clientHost,
                             m->sessionTimeout, m->rebalanceTimeout, m->subscription.data,
                             m->subscription.len > 0 ? (size_t)m->subscription.len : 0,
                             m->assignment.data,
                             m->assignment.len > 0 ? (size_t)m->assignment.len : 0);
    }
    g->state = g->n_members > 0 ? GROUP_STABLE : GROUP_EMPTY;
    g->state_since_ms = v->currentStateTimestamp > 0 ? v->currentStateTimestamp : (int64_t)cairn_wall_ms();
}

static void replay_group(group_coord_t *gc, int32_t part, kafka_rd_t *key, const uint8_t *value,
                         int32_t value_len, kafka_arena_t *a)
{
    kafka_GroupMetadataKey_t k;
    if (kafka_GroupMetadataKey_decode(key, KEY_GROUP_V2, a, &k) != 0)
        return;
    if (!value) {
        group_t *g = coord_group_find(gc, k.group);
        if (g)
            coord_group_remove(gc, g, KAFKA_ERR_NONE);
        return;
    }
    kafka_rd_t rd;
    kafka_rd_init(&rd, value, (size_t)value_len);
    kafka_GroupMetadataValue_t v;
    if (kafka_GroupMetadataValue_decode(&rd, kafka_rd_int16(&rd), a, &v) != 0)
        return;
    group_t *g = group_for(gc, part, k.group);
    if (g)
        apply_group_value(g, &v);
}

static void replay_record(group_coord_t *gc, int32_t part, const batch_record_t *rec)
{
    if (!rec->key || rec->key_len < 2)
        return;
    kafka_rd_t key;
    kafka_rd_init(&key, rec->key, (size_t)rec->key_len);
    int16_t kv = kafka_rd_int16(&key);
    kafka_arena_t a;
    kafka_arena_init(&a, DECODE_ARENA_BYTES + 4 * (size_t)(rec->key_len +
                                                           (rec->value_len > 0 ? rec->value_len : 0)));
    const uint8_t *value = rec->value_len >= 0 ? rec->value : NULL;
    if (kv == KEY_OFFSET_V0 || kv == KEY_OFFSET_V1)
        replay_offset(gc, part, &key, kv, value, rec->value_len, &a);
    else if (kv == KEY_GROUP_V2)
        replay_group(gc, part, &key, value, rec->value_len, &a);
    kafka_arena_free(&a);
}

void store_replay(group_coord_t *gc, int32_t part, const uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        size_t total = batch_total_bytes(buf + off, len - off);
        if (total == 0 || total > len - off)
            break;
        batch_header_t h;
        batch_header_decode(buf + off, total, &h);
        bool plain = (h.attributes & BATCH_ATTR_CODEC_MASK) == BATCH_CODEC_NONE &&
                     !(h.attributes & BATCH_ATTR_CONTROL);
        if (plain) {
            batch_iter_t it;
            batch_record_t rec;
            batch_iter_init(&it, buf + off, total);
            while (batch_iter_next(&it, &rec) == 1)
                replay_record(gc, part, &rec);
        } else {
            LOG_WARN("group", "%s-%d: skipped a batch at offset %" PRId64 " (attributes 0x%x)",
                     GROUP_OFFSETS_TOPIC, part, h.base_offset, h.attributes);
        }
        off += total;
    }
}
