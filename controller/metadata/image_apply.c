/* Applying a committed MetadataBatch to the image, all or nothing: each
 * record is checked against the image as the batch's earlier records left
 * it, applied, and journaled so a later invalid record can roll the whole
 * batch back. The journal costs O(records), never a copy of the image. */
#include "md_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "log.h"

#define WHY_MAX 256

typedef enum {
    UNDO_BROKER_PUT,       /* broker inserted or replaced */
    UNDO_BROKER_FLAGS,     /* fenced / in_controlled_shutdown changed */
    UNDO_TOPIC_ADD,
    UNDO_TOPIC_REMOVE,
    UNDO_PARTITION_ADD,    /* last partition of a topic appended */
    UNDO_PARTITION_CHANGE,
    UNDO_CONFIGS,          /* a topic's config array replaced */
} undo_kind_t;

typedef struct undo {
    undo_kind_t kind;
    md_topic_obj_t *topic;
    union {
        struct { uint32_t id; md_broker_t *old; } put;
        struct { uint32_t id; bool fenced, shutdown; } flags;
        struct { uint32_t partition; md_partition_t old; } change;
        struct { md_config_entry_t *old; size_t n_old; } configs;
    } u;
} undo_t;

typedef struct journal {
    undo_t *entries;
    size_t n;
    size_t cap;
} journal_t;

static undo_t *journal_push(journal_t *j, undo_kind_t kind, md_topic_obj_t *topic)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 8;
        j->entries = md_xrealloc(j->entries, j->cap, sizeof *j->entries);
    }
    undo_t *u = &j->entries[j->n++];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    u->topic = topic;
    return u;
}

static void undo_one(md_state_t *st, undo_t *u)
{
    md_topic_t *t = u->topic ? &u->topic->t : NULL;
    switch (u->kind) {
    case UNDO_BROKER_PUT:
        if (u->u.put.old != NULL)
            md_broker_free(md_state_broker_put(st, u->u.put.old));
        else
            md_broker_free(md_state_broker_take(st, u->u.put.id));
        break;
    case UNDO_BROKER_FLAGS: {
        md_broker_t *b = md_state_broker(st, u->u.flags.id);
        CAIRN_ASSERT(b != NULL);
        b->fenced = u->u.flags.fenced;
        b->in_controlled_shutdown = u->u.flags.shutdown;
        break;
    }
    case UNDO_TOPIC_ADD:
        md_state_topic_remove(st, u->topic);
        md_topic_obj_free(u->topic);
        break;
    case UNDO_TOPIC_REMOVE:
        md_state_topic_insert(st, u->topic);
        break;
    case UNDO_PARTITION_ADD:
        CAIRN_ASSERT(t->n_partitions > 0 && st->n_partitions > 0);
        md_partition_clear(&t->partitions[--t->n_partitions]);
        st->n_partitions--;
        break;
    case UNDO_PARTITION_CHANGE:
        md_partition_clear(&t->partitions[u->u.change.partition]);
        t->partitions[u->u.change.partition] = u->u.change.old;
        break;
    case UNDO_CONFIGS:
        md_configs_free(t->configs, t->n_configs);
        t->configs = u->u.configs.old;
        t->n_configs = u->u.configs.n_old;
        break;
    }
}

/* Newest first, so each entry sees the state it was recorded against. */
static void journal_rollback(md_state_t *st, journal_t *j)
{
    for (size_t i = j->n; i-- > 0;)
        undo_one(st, &j->entries[i]);
    free(j->entries);
}

/* Frees what the batch displaced. A topic added and removed by the same
 * batch is freed once, by its UNDO_TOPIC_REMOVE entry. */
static void journal_commit(journal_t *j)
{
    for (size_t i = 0; i < j->n; i++) {
        undo_t *u = &j->entries[i];
        if (u->kind == UNDO_BROKER_PUT)
            md_broker_free(u->u.put.old);
        else if (u->kind == UNDO_TOPIC_REMOVE)
            md_topic_obj_free(u->topic);
        else if (u->kind == UNDO_PARTITION_CHANGE)
            md_partition_clear(&u->u.change.old);
        else if (u->kind == UNDO_CONFIGS)
            md_configs_free(u->u.configs.old, u->u.configs.n_old);
    }
    free(j->entries);
}

/* ---- broker records ----------------------------------------------------- */

/* KIP-631: the broker epoch is the offset of the RegisterBrokerRecord. */
static int apply_register_broker(md_state_t *st, journal_t *j, uint64_t index,
                                 const Cairn__RegisterBrokerRecord *r, char *why)
{
    if (md_broker_fields_check(r->broker_id, &r->incarnation, r->endpoints,
                               r->n_endpoints, r->rack, why, WHY_MAX) != 0)
        return -1;
    bool known = md_state_broker(st, r->broker_id) != NULL;
    if (!known && st->n_brokers >= MD_BROKERS_MAX)
        return md_fail(why, WHY_MAX, "more than %d brokers", MD_BROKERS_MAX);
    md_broker_t *b = md_broker_new(r->broker_id, &r->incarnation, r->endpoints,
                                   r->n_endpoints, r->rack, index);
    undo_t *u = journal_push(j, UNDO_BROKER_PUT, NULL);
    u->u.put.id = r->broker_id;
    u->u.put.old = md_state_broker_put(st, b);
    return 0;
}

typedef enum { BROKER_FENCE, BROKER_UNFENCE, BROKER_SHUTDOWN } broker_change_t;

/* A record carrying a stale broker epoch belongs to an earlier incarnation
 * and must not touch the current one (KIP-631). */
static int apply_broker_state(md_state_t *st, journal_t *j, uint32_t id, uint64_t epoch,
                              broker_change_t change, char *why)
{
    md_broker_t *b = md_state_broker(st, id);
    if (b == NULL)
        return md_fail(why, WHY_MAX, "broker %u is not registered", id);
    if (b->epoch != epoch)
        return md_fail(why, WHY_MAX, "broker %u epoch %" PRIu64 " is not current %" PRIu64,
                       id, epoch, b->epoch);
    undo_t *u = journal_push(j, UNDO_BROKER_FLAGS, NULL);
    u->u.flags.id = id;
    u->u.flags.fenced = b->fenced;
    u->u.flags.shutdown = b->in_controlled_shutdown;
    switch (change) {
    case BROKER_FENCE:
        b->fenced = true;
        break;
    case BROKER_UNFENCE:
        b->fenced = false;
        b->in_controlled_shutdown = false;
        break;
    case BROKER_SHUTDOWN:
        b->in_controlled_shutdown = true;
        break;
    }
    return 0;
}

/* ---- topic records ------------------------------------------------------ */

static int apply_topic(md_state_t *st, journal_t *j, const Cairn__TopicRecord *r, char *why)
{
    if (md_topic_name_check(r->name, why, WHY_MAX) != 0 ||
        md_topic_id_check(&r->topic_id, why, WHY_MAX) != 0 ||
        md_config_entries_check(r->configs, r->n_configs, why, WHY_MAX) != 0)
        return -1;
    if (md_state_topic(st, r->name) != NULL)
        return md_fail(why, WHY_MAX, "topic %s already exists", r->name);
    if (md_state_topic_by_id(st, r->topic_id.data) != NULL)
        return md_fail(why, WHY_MAX, "topic id of %s already in use", r->name);
    if (st->n_topics >= MD_TOPICS_MAX)
        return md_fail(why, WHY_MAX, "more than %d topics", MD_TOPICS_MAX);
    md_topic_obj_t *o = md_topic_obj_new(r->name, r->topic_id.data, r->configs,
                                         r->n_configs);
    md_state_topic_insert(st, o);
    journal_push(j, UNDO_TOPIC_ADD, o);
    return 0;
}

static md_topic_obj_t *topic_of(const md_state_t *st, const ProtobufCBinaryData *id,
                                char *why)
{
    char s[37];
    if (id->len != MD_UUID_LEN) {
        md_fail(why, WHY_MAX, "topic id has %zu bytes", id->len);
        return NULL;
    }
    md_topic_obj_t *o = md_state_topic_by_id(st, id->data);
    if (o == NULL) {
        md_uuid_format(id->data, s);
        md_fail(why, WHY_MAX, "unknown topic id %s", s);
    }
    return o;
}

static int apply_partition(md_state_t *st, journal_t *j, const Cairn__PartitionRecord *r,
                           char *why)
{
    md_topic_obj_t *o = topic_of(st, &r->topic_id, why);
    if (o == NULL)
        return -1;
    /* Partitions are dense from 0: index == partition number. */
    if (r->partition != o->t.n_partitions)
        return md_fail(why, WHY_MAX, "%s partition %u out of order (next is %zu)",
                       o->t.name, r->partition, o->t.n_partitions);
    if (r->partition >= MD_PARTITIONS_MAX)
        return md_fail(why, WHY_MAX, "%s has %d partitions already", o->t.name,
                       MD_PARTITIONS_MAX);
    if (md_partition_check(st, r->replicas, r->n_replicas, r->isr, r->n_isr, r->leader,
                           why, WHY_MAX) != 0)
        return -1;
    md_partition_t *p = md_topic_append_partition(o, r->replicas, r->n_replicas,
                                                  r->isr, r->n_isr);
    p->leader = r->leader;
    p->leader_epoch = r->leader_epoch;
    p->partition_epoch = r->partition_epoch;
    st->n_partitions++;
    journal_push(j, UNDO_PARTITION_ADD, o);
    return 0;
}

/* Rules a change must pass beyond the partition invariants: the planner's
 * partition-epoch guard, and KIP-841's "a fenced or shutting-down broker
 * never joins the ISR", checked again here because the broker may have been
 * fenced by a batch committed after this change was planned. */
static int change_rules_check(const md_state_t *st, const md_partition_t *p,
                              const Cairn__PartitionChangeRecord *r, char *why)
{
    if (r->check_partition_epoch && r->expected_partition_epoch != p->partition_epoch)
        return md_fail(why, WHY_MAX, "partition %u planned at partition epoch %u, now %u",
                       r->partition, r->expected_partition_epoch, p->partition_epoch);
    if (!r->isr_changed)
        return 0;
    for (size_t i = 0; i < r->n_isr; i++) {
        if (md_ids_contain(p->isr, p->n_isr, r->isr[i]))
            continue;
        const md_broker_t *b = r->isr[i] < 0 ? NULL : md_state_broker(st, (uint32_t)r->isr[i]);
        if (!md_broker_active(b))
            return md_fail(why, WHY_MAX, "partition %u: broker %d cannot join the isr: "
                           "not active (KIP-841)", r->partition, r->isr[i]);
    }
    return 0;
}

/* Kafka's PartitionChangeRecord rules: every change bumps partition_epoch
 * (the AlterPartition fence); a change of leader also bumps leader_epoch,
 * which followers and clients use to detect a new leader (KIP-320). */
static int apply_partition_change(md_state_t *st, journal_t *j,
                                  const Cairn__PartitionChangeRecord *r, char *why)
{
    md_topic_obj_t *o = topic_of(st, &r->topic_id, why);
    if (o == NULL)
        return -1;
    if (r->partition >= o->t.n_partitions)
        return md_fail(why, WHY_MAX, "%s has no partition %u", o->t.name, r->partition);
    md_partition_t *p = &o->t.partitions[r->partition];
    const int32_t *replicas = r->replicas_changed ? r->replicas : p->replicas;
    size_t n_replicas = r->replicas_changed ? r->n_replicas : p->n_replicas;
    const int32_t *isr = r->isr_changed ? r->isr : p->isr;
    size_t n_isr = r->isr_changed ? r->n_isr : p->n_isr;
    int32_t leader = r->leader_changed ? r->leader : p->leader;
    bool new_leader = leader != p->leader;
    if (md_partition_check(st, replicas, n_replicas, isr, n_isr, leader, why, WHY_MAX) != 0 ||
        change_rules_check(st, p, r, why) != 0)
        return -1;
    if (p->partition_epoch == UINT32_MAX || (new_leader && p->leader_epoch == UINT32_MAX))
        return md_fail(why, WHY_MAX, "%s-%u epoch exhausted", o->t.name, r->partition);

    undo_t *u = journal_push(j, UNDO_PARTITION_CHANGE, o);
    u->u.change.partition = r->partition;
    u->u.change.old = *p;
    p->replicas = md_xdup_ids(replicas, n_replicas);
    p->n_replicas = n_replicas;
    p->isr = md_xdup_ids(isr, n_isr);
    p->n_isr = n_isr;
    p->leader = leader;
    p->partition_epoch++;
    if (new_leader)
        p->leader_epoch++;
    CAIRN_ASSERT(p->partition_epoch > u->u.change.old.partition_epoch);
    CAIRN_ASSERT(p->leader_epoch >= u->u.change.old.leader_epoch);
    return 0;
}

static int apply_remove_topic(md_state_t *st, journal_t *j,
                              const Cairn__RemoveTopicRecord *r, char *why)
{
    md_topic_obj_t *o = topic_of(st, &r->topic_id, why);
    if (o == NULL)
        return -1;
    md_state_topic_remove(st, o);
    journal_push(j, UNDO_TOPIC_REMOVE, o);
    return 0;
}

#define CONFIG_ABSENT SIZE_MAX

static size_t config_find(const md_topic_t *t, const char *name)
{
    for (size_t i = 0; i < t->n_configs; i++)
        if (strcmp(t->configs[i].name, name) == 0)
            return i;
    return CONFIG_ABSENT;
}

/* The topic's configs with entry at replaced by (or, when remove, without)
 * name=value; at == CONFIG_ABSENT appends. Returns an owned array. */
static md_config_entry_t *configs_edit(const md_topic_t *t, size_t at, const char *name,
                                       const char *value, bool remove, size_t *n_out)
{
    size_t n = t->n_configs + (at == CONFIG_ABSENT ? 1 : 0) - (remove ? 1 : 0);
    md_config_entry_t *c = n ? md_xcalloc(n, sizeof *c) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < t->n_configs; i++) {
        if (i == at && remove)
            continue;
        c[k].name = md_xstrdup(t->configs[i].name);
        c[k++].value = md_xstrdup(i == at ? value : t->configs[i].value);
    }
    if (at == CONFIG_ABSENT) {
        c[k].name = md_xstrdup(name);
        c[k++].value = md_xstrdup(value);
    }
    CAIRN_ASSERT(k == n);
    *n_out = n;
    return c;
}

/* Sets or removes one topic config. Removing an absent config is a no-op,
 * as in Kafka, where a ConfigRecord with a null value deletes. */
static int apply_config(md_state_t *st, journal_t *j, const Cairn__ConfigRecord *r,
                        char *why)
{
    md_topic_obj_t *o = topic_of(st, &r->topic_id, why);
    if (o == NULL)
        return -1;
    Cairn__ConfigEntry e = CAIRN__CONFIG_ENTRY__INIT;
    e.name = r->name;
    e.value = r->remove ? e.value : r->value;
    Cairn__ConfigEntry *ep = &e;
    if (md_config_entries_check(&ep, 1, why, WHY_MAX) != 0)
        return -1;
    md_topic_t *t = &o->t;
    size_t at = config_find(t, r->name);
    if (r->remove && at == CONFIG_ABSENT)
        return 0;
    if (at == CONFIG_ABSENT && t->n_configs >= MD_CONFIGS_MAX)
        return md_fail(why, WHY_MAX, "%s has %d configs already", t->name, MD_CONFIGS_MAX);
    undo_t *u = journal_push(j, UNDO_CONFIGS, o);
    u->u.configs.old = t->configs;
    u->u.configs.n_old = t->n_configs;
    size_t n;
    md_config_entry_t *c = configs_edit(t, at, r->name, r->value, r->remove, &n);
    t->configs = c;
    t->n_configs = n;
    return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static const char *record_kind(const Cairn__MetadataRecord *r)
{
    switch (r->record_case) {
    case CAIRN__METADATA_RECORD__RECORD_REGISTER_BROKER: return "RegisterBrokerRecord";
    case CAIRN__METADATA_RECORD__RECORD_FENCE_BROKER: return "FenceBrokerRecord";
    case CAIRN__METADATA_RECORD__RECORD_UNFENCE_BROKER: return "UnfenceBrokerRecord";
    case CAIRN__METADATA_RECORD__RECORD_BROKER_SHUTDOWN: return "BrokerShutdownRecord";
    case CAIRN__METADATA_RECORD__RECORD_TOPIC: return "TopicRecord";
    case CAIRN__METADATA_RECORD__RECORD_PARTITION: return "PartitionRecord";
    case CAIRN__METADATA_RECORD__RECORD_PARTITION_CHANGE: return "PartitionChangeRecord";
    case CAIRN__METADATA_RECORD__RECORD_REMOVE_TOPIC: return "RemoveTopicRecord";
    case CAIRN__METADATA_RECORD__RECORD_CONFIG: return "ConfigRecord";
    default: return "empty record";
    }
}

static int apply_record(md_state_t *st, journal_t *j, uint64_t index,
                        const Cairn__MetadataRecord *r, char *why)
{
    switch (r->record_case) {
    case CAIRN__METADATA_RECORD__RECORD_REGISTER_BROKER:
        return apply_register_broker(st, j, index, r->register_broker, why);
    case CAIRN__METADATA_RECORD__RECORD_FENCE_BROKER:
        return apply_broker_state(st, j, r->fence_broker->broker_id,
                                  r->fence_broker->broker_epoch, BROKER_FENCE, why);
    case CAIRN__METADATA_RECORD__RECORD_UNFENCE_BROKER:
        return apply_broker_state(st, j, r->unfence_broker->broker_id,
                                  r->unfence_broker->broker_epoch, BROKER_UNFENCE, why);
    case CAIRN__METADATA_RECORD__RECORD_BROKER_SHUTDOWN:
        return apply_broker_state(st, j, r->broker_shutdown->broker_id,
                                  r->broker_shutdown->broker_epoch, BROKER_SHUTDOWN, why);
    case CAIRN__METADATA_RECORD__RECORD_TOPIC:
        return apply_topic(st, j, r->topic, why);
    case CAIRN__METADATA_RECORD__RECORD_PARTITION:
        return apply_partition(st, j, r->partition, why);
    case CAIRN__METADATA_RECORD__RECORD_PARTITION_CHANGE:
        return apply_partition_change(st, j, r->partition_change, why);
    case CAIRN__METADATA_RECORD__RECORD_REMOVE_TOPIC:
        return apply_remove_topic(st, j, r->remove_topic, why);
    case CAIRN__METADATA_RECORD__RECORD_CONFIG:
        return apply_config(st, j, r->config, why);
    default:
        return md_fail(why, WHY_MAX, "record without a type");
    }
}

/* Raft index and term only move forward along the log. */
static void advance(md_image_t *img, uint64_t index, uint64_t term)
{
    CAIRN_ASSERT(index > img->last_index);
    CAIRN_ASSERT(term >= img->last_term);
    img->last_index = index;
    img->last_term = term;
}

int md_image_apply(md_image_t *img, uint64_t index, uint64_t term,
                   const uint8_t *data, size_t len)
{
    advance(img, index, term);
    Cairn__MetadataBatch *batch = cairn__metadata_batch__unpack(NULL, len, data);
    if (batch == NULL) {
        LOG_WARN("metadata", "batch at index %" PRIu64 " rejected: undecodable (%zu bytes)",
                 index, len);
        return -1;
    }
    if (batch->n_records > MD_BATCH_RECORDS_MAX) {
        LOG_WARN("metadata", "batch at index %" PRIu64 " rejected: %zu records, at most %u",
                 index, batch->n_records, MD_BATCH_RECORDS_MAX);
        cairn__metadata_batch__free_unpacked(batch, NULL);
        return -1;
    }
    journal_t j = { 0 };
    char why[WHY_MAX] = "";
    for (size_t i = 0; i < batch->n_records; i++) {
        const Cairn__MetadataRecord *r = batch->records[i];
        if (apply_record(&img->st, &j, index, r, why) != 0) {
            journal_rollback(&img->st, &j);
            LOG_WARN("metadata", "batch at index %" PRIu64 " rejected: record %zu of %zu (%s): %s",
                     index, i + 1, batch->n_records, record_kind(r), why);
            cairn__metadata_batch__free_unpacked(batch, NULL);
            return -1;
        }
    }
    journal_commit(&j);
    LOG_DEBUG("metadata", "applied batch at index %" PRIu64 " term %" PRIu64 ": %zu records",
              index, term, batch->n_records);
    cairn__metadata_batch__free_unpacked(batch, NULL);
    return 0;
}

void md_image_skip(md_image_t *img, uint64_t index, uint64_t term)
{
    advance(img, index, term);
}
