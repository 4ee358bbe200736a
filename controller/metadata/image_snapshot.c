/* The image as a MetadataImage message: written for Raft snapshots (KIP-630)
 * and read back on restart or when a lagging voter or broker installs one.
 * Loading decodes and checks everything before the image is touched. */
#include "md_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "log.h"

#define WHY_MAX 256

/* Every allocation of one snapshot's message tree, freed together. The tree
 * borrows the image's strings and id arrays; only the wrappers are owned. */
typedef struct scratch {
    void **ptrs;
    size_t n;
    size_t cap;
} scratch_t;

static void *scratch_alloc(scratch_t *s, size_t n, size_t size)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->ptrs = md_xrealloc(s->ptrs, s->cap, sizeof *s->ptrs);
    }
    void *p = md_xcalloc(n, size);
    s->ptrs[s->n++] = p;
    return p;
}

static void scratch_free(scratch_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ptrs[i]);
    free(s->ptrs);
}

static ProtobufCBinaryData bytes_of(const uint8_t *id)
{
    ProtobufCBinaryData b = { MD_UUID_LEN, (uint8_t *)id };
    return b;
}

static Cairn__BrokerImage *broker_msg(scratch_t *s, const md_broker_t *b)
{
    Cairn__BrokerImage *m = scratch_alloc(s, 1, sizeof *m);
    cairn__broker_image__init(m);
    m->broker_id = b->id;
    m->incarnation = bytes_of(b->incarnation);
    m->n_endpoints = b->n_endpoints;
    m->endpoints = scratch_alloc(s, b->n_endpoints, sizeof *m->endpoints);
    Cairn__Endpoint *eps = scratch_alloc(s, b->n_endpoints, sizeof *eps);
    for (size_t i = 0; i < b->n_endpoints; i++) {
        cairn__endpoint__init(&eps[i]);
        eps[i].listener = b->endpoints[i].listener;
        eps[i].host = b->endpoints[i].host;
        eps[i].port = b->endpoints[i].port;
        m->endpoints[i] = &eps[i];
    }
    m->rack = b->rack;
    m->broker_epoch = b->epoch;
    m->fenced = b->fenced;
    m->in_controlled_shutdown = b->in_controlled_shutdown;
    return m;
}

static Cairn__TopicImage *topic_msg(scratch_t *s, const md_topic_t *t)
{
    Cairn__TopicImage *m = scratch_alloc(s, 1, sizeof *m);
    cairn__topic_image__init(m);
    m->name = t->name;
    m->topic_id = bytes_of(t->id);
    m->n_configs = t->n_configs;
    m->configs = scratch_alloc(s, t->n_configs, sizeof *m->configs);
    Cairn__ConfigEntry *c = scratch_alloc(s, t->n_configs, sizeof *c);
    for (size_t i = 0; i < t->n_configs; i++) {
        cairn__config_entry__init(&c[i]);
        c[i].name = t->configs[i].name;
        c[i].value = t->configs[i].value;
        m->configs[i] = &c[i];
    }
    m->n_partitions = t->n_partitions;
    m->partitions = scratch_alloc(s, t->n_partitions, sizeof *m->partitions);
    Cairn__PartitionImage *p = scratch_alloc(s, t->n_partitions, sizeof *p);
    for (size_t i = 0; i < t->n_partitions; i++) {
        const md_partition_t *src = &t->partitions[i];
        cairn__partition_image__init(&p[i]);
        p[i].partition = src->partition;
        p[i].n_replicas = src->n_replicas;
        p[i].replicas = src->replicas;
        p[i].n_isr = src->n_isr;
        p[i].isr = src->isr;
        p[i].leader = src->leader;
        p[i].leader_epoch = src->leader_epoch;
        p[i].partition_epoch = src->partition_epoch;
        m->partitions[i] = &p[i];
    }
    return m;
}

int md_image_snapshot(const md_image_t *img, uint8_t **out, size_t *len)
{
    scratch_t s = { 0 };
    const md_state_t *st = &img->st;
    Cairn__MetadataImage m = CAIRN__METADATA_IMAGE__INIT;
    m.last_index = img->last_index;
    m.last_term = img->last_term;
    m.n_brokers = st->n_brokers;
    m.brokers = scratch_alloc(&s, st->n_brokers, sizeof *m.brokers);
    for (size_t i = 0; i < st->n_brokers; i++)
        m.brokers[i] = broker_msg(&s, st->brokers[i]);
    m.n_topics = st->n_topics;
    m.topics = scratch_alloc(&s, st->n_topics, sizeof *m.topics);
    for (size_t i = 0; i < st->n_topics; i++)
        m.topics[i] = topic_msg(&s, &st->by_name[i]->t);

    size_t n = cairn__metadata_image__get_packed_size(&m);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        scratch_free(&s);
        return -1;
    }
    size_t packed = cairn__metadata_image__pack(&m, buf);
    CAIRN_ASSERT(packed == n);
    scratch_free(&s);
    *out = buf;
    *len = n;
    return 0;
}

/* ---- load --------------------------------------------------------------- */

static int cmp_broker(const void *a, const void *b)
{
    uint32_t x = (*(md_broker_t *const *)a)->id, y = (*(md_broker_t *const *)b)->id;
    return x < y ? -1 : x > y;
}

static int cmp_topic_name(const void *a, const void *b)
{
    return strcmp((*(md_topic_obj_t *const *)a)->t.name, (*(md_topic_obj_t *const *)b)->t.name);
}

static int cmp_topic_id(const void *a, const void *b)
{
    return memcmp((*(md_topic_obj_t *const *)a)->t.id, (*(md_topic_obj_t *const *)b)->t.id,
                  MD_UUID_LEN);
}

static int load_brokers(md_state_t *st, const Cairn__MetadataImage *m, char *why)
{
    if (m->n_brokers > MD_BROKERS_MAX)
        return md_fail(why, WHY_MAX, "%zu brokers, at most %d", m->n_brokers, MD_BROKERS_MAX);
    st->brokers_cap = m->n_brokers;
    st->brokers = md_xcalloc(m->n_brokers, sizeof *st->brokers);
    for (size_t i = 0; i < m->n_brokers; i++) {
        const Cairn__BrokerImage *b = m->brokers[i];
        if (md_broker_fields_check(b->broker_id, &b->incarnation, b->endpoints,
                                   b->n_endpoints, b->rack, why, WHY_MAX) != 0)
            return -1;
        md_broker_t *nb = md_broker_new(b->broker_id, &b->incarnation, b->endpoints,
                                        b->n_endpoints, b->rack, b->broker_epoch);
        nb->fenced = b->fenced;
        nb->in_controlled_shutdown = b->in_controlled_shutdown;
        st->brokers[st->n_brokers++] = nb;
    }
    /* Sort once rather than insert one by one: loading stays O(n log n). */
    qsort(st->brokers, st->n_brokers, sizeof *st->brokers, cmp_broker);
    for (size_t i = 1; i < st->n_brokers; i++)
        if (st->brokers[i]->id == st->brokers[i - 1]->id)
            return md_fail(why, WHY_MAX, "broker %u listed twice", st->brokers[i]->id);
    return 0;
}

static int load_partitions(const md_state_t *st, md_topic_obj_t *o,
                           const Cairn__TopicImage *m, char *why)
{
    if (m->n_partitions > MD_PARTITIONS_MAX)
        return md_fail(why, WHY_MAX, "%s: %zu partitions", m->name, m->n_partitions);
    for (size_t i = 0; i < m->n_partitions; i++) {
        const Cairn__PartitionImage *p = m->partitions[i];
        if (p->partition != i)
            return md_fail(why, WHY_MAX, "%s: partition %u at position %zu", m->name,
                           p->partition, i);
        if (md_partition_check(st, p->replicas, p->n_replicas, p->isr, p->n_isr,
                               p->leader, why, WHY_MAX) != 0)
            return -1;
        md_partition_t *np = md_topic_append_partition(o, p->replicas, p->n_replicas,
                                                       p->isr, p->n_isr);
        np->leader = p->leader;
        np->leader_epoch = p->leader_epoch;
        np->partition_epoch = p->partition_epoch;
    }
    return 0;
}

static int load_topic(md_state_t *st, const Cairn__TopicImage *m, char *why)
{
    if (md_topic_name_check(m->name, why, WHY_MAX) != 0 ||
        md_topic_id_check(&m->topic_id, why, WHY_MAX) != 0 ||
        md_config_entries_check(m->configs, m->n_configs, why, WHY_MAX) != 0)
        return -1;
    md_topic_obj_t *o = md_topic_obj_new(m->name, m->topic_id.data, m->configs, m->n_configs);
    /* Owned by st from here, so a failure below frees it with the rest. */
    st->by_name[st->n_topics] = o;
    st->by_id[st->n_topics] = o;
    st->n_topics++;
    int rc = load_partitions(st, o, m, why);
    st->n_partitions += o->t.n_partitions;
    return rc;
}

static int load_topics(md_state_t *st, const Cairn__MetadataImage *m, char *why)
{
    if (m->n_topics > MD_TOPICS_MAX)
        return md_fail(why, WHY_MAX, "%zu topics, at most %d", m->n_topics, MD_TOPICS_MAX);
    st->topics_cap = m->n_topics;
    st->by_name = md_xcalloc(m->n_topics, sizeof *st->by_name);
    st->by_id = md_xcalloc(m->n_topics, sizeof *st->by_id);
    for (size_t i = 0; i < m->n_topics; i++)
        if (load_topic(st, m->topics[i], why) != 0)
            return -1;
    qsort(st->by_name, st->n_topics, sizeof *st->by_name, cmp_topic_name);
    qsort(st->by_id, st->n_topics, sizeof *st->by_id, cmp_topic_id);
    for (size_t i = 1; i < st->n_topics; i++) {
        if (cmp_topic_name(&st->by_name[i], &st->by_name[i - 1]) == 0)
            return md_fail(why, WHY_MAX, "topic %s listed twice", st->by_name[i]->t.name);
        if (cmp_topic_id(&st->by_id[i], &st->by_id[i - 1]) == 0)
            return md_fail(why, WHY_MAX, "topics %s and %s share an id",
                           st->by_id[i]->t.name, st->by_id[i - 1]->t.name);
    }
    return 0;
}

int md_image_load(md_image_t *img, const uint8_t *data, size_t len)
{
    Cairn__MetadataImage *m = cairn__metadata_image__unpack(NULL, len, data);
    if (m == NULL) {
        LOG_WARN("metadata", "snapshot rejected: undecodable (%zu bytes)", len);
        return -1;
    }
    md_state_t st = { 0 };
    char why[WHY_MAX] = "";
    if (load_brokers(&st, m, why) != 0 || load_topics(&st, m, why) != 0) {
        LOG_WARN("metadata", "snapshot at index %" PRIu64 " rejected: %s", m->last_index, why);
        md_state_free(&st);
        cairn__metadata_image__free_unpacked(m, NULL);
        return -1;
    }
    md_state_free(&img->st);
    img->st = st;
    img->last_index = m->last_index;
    img->last_term = m->last_term;
    LOG_DEBUG("metadata", "loaded snapshot at index %" PRIu64 ": %zu brokers, %zu topics",
              m->last_index, st.n_brokers, st.n_topics);
    cairn__metadata_image__free_unpacked(m, NULL);
    return 0;
}
