/* The controller's topic and registration decisions as metadata records:
 * validate against the image, then serialize the batch to propose. Broker
 * fencing lives in plan_broker.c, replica assignment in assign.c. */
#include "md_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "errors.h"

int md_plan_fail(int code, char *why, size_t why_len, const char *fmt, ...)
{
    if (why != NULL && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

void md_batch_free(md_batch_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

int md_rec_list_init(md_rec_list_t *l, size_t cap)
{
    memset(l, 0, sizeof *l);
    if (cap > MD_BATCH_RECORDS_MAX)
        return CAIRN_ERR_TOO_LARGE;
    l->recs = calloc(cap ? cap : 1, sizeof *l->recs);
    l->ptrs = calloc(cap ? cap : 1, sizeof *l->ptrs);
    if (l->recs == NULL || l->ptrs == NULL) {
        md_rec_list_free(l);
        return CAIRN_ERR_NOMEM;
    }
    l->cap = cap;
    return CAIRN_ERR_OK;
}

Cairn__MetadataRecord *md_rec_list_add(md_rec_list_t *l)
{
    CAIRN_ASSERT(l->n < l->cap);
    Cairn__MetadataRecord *r = &l->recs[l->n];
    cairn__metadata_record__init(r);
    l->ptrs[l->n++] = r;
    return r;
}

int md_rec_list_pack(const md_rec_list_t *l, md_batch_t *out)
{
    Cairn__MetadataBatch b = CAIRN__METADATA_BATCH__INIT;
    b.n_records = l->n;
    b.records = l->ptrs;
    size_t len = cairn__metadata_batch__get_packed_size(&b);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return CAIRN_ERR_NOMEM;
    size_t packed = cairn__metadata_batch__pack(&b, buf);
    CAIRN_ASSERT(packed == len);
    out->data = buf;
    out->len = len;
    return CAIRN_ERR_OK;
}

void md_rec_list_free(md_rec_list_t *l)
{
    free(l->recs);
    free(l->ptrs);
    memset(l, 0, sizeof *l);
}

/* ---- create topic ------------------------------------------------------- */

/* Kafka refuses a name equal to an existing one once '.' and '_' are
 * identified: both map to the same metric names. */
static bool names_collide(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

static const char *colliding_topic(const md_image_t *img, const char *name)
{
    if (strpbrk(name, "._") == NULL)
        return NULL;
    for (size_t i = 0; i < md_image_topic_count(img); i++) {
        const char *other = md_image_topic_at(img, i)->name;
        if (names_collide(name, other))
            return other;
    }
    return NULL;
}

static int configs_check(const md_create_topic_t *req, char *why, size_t why_len)
{
    if (req->n_configs > MD_CONFIGS_MAX)
        return md_plan_fail(CAIRN_ERR_INVALID_CONFIG, why, why_len,
                            "%zu configs, at most %d", req->n_configs, MD_CONFIGS_MAX);
    if (req->n_configs > 0 && req->configs == NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len, "configs missing");
    for (size_t i = 0; i < req->n_configs; i++) {
        const md_config_entry_t *c = &req->configs[i];
        if (md_topic_config_check(c->name, c->value, why, why_len) != 0)
            return CAIRN_ERR_INVALID_CONFIG;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->name, req->configs[j].name) == 0)
                return md_plan_fail(CAIRN_ERR_INVALID_CONFIG, why, why_len,
                                    "config %s given twice", c->name);
    }
    return CAIRN_ERR_OK;
}

static int create_topic_check(const md_image_t *img, const md_create_topic_t *req,
                              char *why, size_t why_len)
{
    if (md_topic_name_check(req->name, why, why_len) != 0)
        return CAIRN_ERR_INVALID_TOPIC;
    if (md_image_topic(img, req->name) != NULL)
        return md_plan_fail(CAIRN_ERR_TOPIC_EXISTS, why, why_len,
                            "topic %s already exists", req->name);
    const char *other = colliding_topic(img, req->name);
    if (other != NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_TOPIC, why, why_len,
                            "topic %s collides with existing topic %s ('.' and '_')",
                            req->name, other);
    if (req->partitions < 1 || req->partitions > MD_PARTITIONS_MAX)
        return md_plan_fail(CAIRN_ERR_INVALID_PARTITIONS, why, why_len,
                            "%d partitions, want 1..%d", req->partitions, MD_PARTITIONS_MAX);
    if (req->replication_factor < 1 || req->replication_factor > MD_REPLICAS_MAX)
        return md_plan_fail(CAIRN_ERR_INVALID_REPLICATION, why, why_len,
                            "replication factor %d, want 1..%d", req->replication_factor,
                            MD_REPLICAS_MAX);
    int rc = configs_check(req, why, why_len);
    if (rc != CAIRN_ERR_OK)
        return rc;
    ProtobufCBinaryData id = { MD_UUID_LEN, (uint8_t *)req->topic_id };
    if (md_topic_id_check(&id, why, why_len) != 0)
        return CAIRN_ERR_INVALID_REQUEST;
    if (md_image_topic_by_id(img, req->topic_id) != NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len, "topic id in use");
    size_t active = md_active_broker_count(img);
    if (active == 0)
        return md_plan_fail(CAIRN_ERR_NOT_ENOUGH_BROKERS, why, why_len, "no active brokers");
    if ((size_t)req->replication_factor > active)
        return md_plan_fail(CAIRN_ERR_INVALID_REPLICATION, why, why_len,
                            "replication factor %d larger than %zu active brokers",
                            req->replication_factor, active);
    return CAIRN_ERR_OK;
}

/* Scratch for one create-topic batch: the messages the records point to. */
typedef struct create_scratch {
    Cairn__TopicRecord topic;
    Cairn__ConfigEntry *configs;
    Cairn__ConfigEntry **config_ptrs;
    Cairn__PartitionRecord *partitions;
} create_scratch_t;

static void create_scratch_free(create_scratch_t *s)
{
    free(s->configs);
    free(s->config_ptrs);
    free(s->partitions);
}

static int create_scratch_init(create_scratch_t *s, md_rec_list_t *l,
                               const md_create_topic_t *req)
{
    size_t np = (size_t)req->partitions;
    memset(s, 0, sizeof *s);
    cairn__topic_record__init(&s->topic);
    s->configs = calloc(req->n_configs + 1, sizeof *s->configs);
    s->config_ptrs = calloc(req->n_configs + 1, sizeof *s->config_ptrs);
    s->partitions = calloc(np, sizeof *s->partitions);
    int rc = md_rec_list_init(l, np + 1);
    if (rc == CAIRN_ERR_OK && (!s->configs || !s->config_ptrs || !s->partitions))
        rc = CAIRN_ERR_NOMEM;
    return rc;
}

/* TopicRecord, then PartitionRecords 0..n-1 in order (the image requires
 * partitions dense from 0). The records borrow req and replicas. */
static void create_topic_fill(create_scratch_t *s, md_rec_list_t *l,
                              const md_create_topic_t *req, int32_t *replicas)
{
    size_t np = (size_t)req->partitions, rf = (size_t)req->replication_factor;
    s->topic.name = (char *)req->name;
    s->topic.topic_id.len = MD_UUID_LEN;
    s->topic.topic_id.data = (uint8_t *)req->topic_id;
    for (size_t i = 0; i < req->n_configs; i++) {
        cairn__config_entry__init(&s->configs[i]);
        s->configs[i].name = req->configs[i].name;
        s->configs[i].value = req->configs[i].value;
        s->config_ptrs[i] = &s->configs[i];
    }
    s->topic.n_configs = req->n_configs;
    s->topic.configs = s->config_ptrs;
    Cairn__MetadataRecord *r = md_rec_list_add(l);
    r->record_case = CAIRN__METADATA_RECORD__RECORD_TOPIC;
    r->topic = &s->topic;
    for (size_t p = 0; p < np; p++) {
        Cairn__PartitionRecord *pr = &s->partitions[p];
        cairn__partition_record__init(pr);
        pr->topic_id = s->topic.topic_id;
        pr->partition = (uint32_t)p;
        pr->n_replicas = pr->n_isr = rf;
        pr->replicas = pr->isr = &replicas[p * rf];
        pr->leader = replicas[p * rf];
        r = md_rec_list_add(l);
        r->record_case = CAIRN__METADATA_RECORD__RECORD_PARTITION;
        r->partition = pr;
    }
}

static int create_topic_encode(const md_create_topic_t *req, int32_t *replicas,
                               md_batch_t *out)
{
    create_scratch_t s;
    md_rec_list_t l;
    int rc = create_scratch_init(&s, &l, req);
    if (rc == CAIRN_ERR_OK) {
        create_topic_fill(&s, &l, req, replicas);
        rc = md_rec_list_pack(&l, out);
    }
    md_rec_list_free(&l);
    create_scratch_free(&s);
    return rc;
}

int md_plan_create_topic(const md_image_t *img, const md_create_topic_t *req,
                         md_batch_t *out, char *why, size_t why_len)
{
    if (req == NULL || req->topic_id == NULL || out == NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "create topic without name, id or output");
    int rc = create_topic_check(img, req, why, why_len);
    if (rc != CAIRN_ERR_OK)
        return rc;
    size_t n = (size_t)req->partitions * (size_t)req->replication_factor;
    int32_t *replicas = calloc(n, sizeof *replicas);
    if (replicas == NULL)
        return md_plan_fail(CAIRN_ERR_NOMEM, why, why_len, "out of memory");
    md_assign_replicas(img, req->partitions, req->replication_factor, replicas);
    rc = create_topic_encode(req, replicas, out);
    free(replicas);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "%s", cairn_strerror(rc));
    return CAIRN_ERR_OK;
}

/* ---- delete topic, register broker ------------------------------------- */

int md_plan_delete_topic(const md_image_t *img, const char *name,
                         md_batch_t *out, char *why, size_t why_len)
{
    const md_topic_t *t = name ? md_image_topic(img, name) : NULL;
    if (t == NULL)
        return md_plan_fail(CAIRN_ERR_UNKNOWN_TOPIC, why, why_len, "unknown topic %s",
                            name ? name : "(null)");
    Cairn__RemoveTopicRecord rt = CAIRN__REMOVE_TOPIC_RECORD__INIT;
    rt.topic_id.len = MD_UUID_LEN;
    rt.topic_id.data = (uint8_t *)t->id;
    md_rec_list_t l;
    int rc = md_rec_list_init(&l, 1);
    if (rc == CAIRN_ERR_OK) {
        Cairn__MetadataRecord *r = md_rec_list_add(&l);
        r->record_case = CAIRN__METADATA_RECORD__RECORD_REMOVE_TOPIC;
        r->remove_topic = &rt;
        rc = md_rec_list_pack(&l, out);
    }
    md_rec_list_free(&l);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "%s", cairn_strerror(rc));
    return CAIRN_ERR_OK;
}

static int register_encode(Cairn__RegisterBrokerRecord *rb, md_batch_t *out)
{
    md_rec_list_t l;
    int rc = md_rec_list_init(&l, 1);
    if (rc == CAIRN_ERR_OK) {
        Cairn__MetadataRecord *r = md_rec_list_add(&l);
        r->record_case = CAIRN__METADATA_RECORD__RECORD_REGISTER_BROKER;
        r->register_broker = rb;
        rc = md_rec_list_pack(&l, out);
    }
    md_rec_list_free(&l);
    return rc;
}

int md_plan_register_broker(const md_image_t *img, uint32_t broker_id,
                            const uint8_t incarnation[MD_UUID_LEN],
                            const md_endpoint_t *endpoints, size_t n_endpoints,
                            const char *rack, md_batch_t *out, char *why, size_t why_len)
{
    if (incarnation == NULL || out == NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "broker %u: no incarnation", broker_id);
    if (n_endpoints == 0 || n_endpoints > MD_ENDPOINTS_MAX || endpoints == NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "broker %u: %zu endpoints, want 1..%d", broker_id,
                            n_endpoints, MD_ENDPOINTS_MAX);
    Cairn__Endpoint eps[MD_ENDPOINTS_MAX];
    Cairn__Endpoint *ptrs[MD_ENDPOINTS_MAX];
    for (size_t i = 0; i < n_endpoints; i++) {
        if (endpoints[i].listener == NULL || endpoints[i].host == NULL)
            return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                                "broker %u: endpoint %zu incomplete", broker_id, i);
        cairn__endpoint__init(&eps[i]);
        eps[i].listener = endpoints[i].listener;
        eps[i].host = endpoints[i].host;
        eps[i].port = endpoints[i].port;
        ptrs[i] = &eps[i];
    }
    Cairn__RegisterBrokerRecord rb = CAIRN__REGISTER_BROKER_RECORD__INIT;
    rb.broker_id = broker_id;
    rb.incarnation.len = MD_UUID_LEN;
    rb.incarnation.data = (uint8_t *)incarnation;
    rb.n_endpoints = n_endpoints;
    rb.endpoints = ptrs;
    rb.rack = (char *)(rack ? rack : "");
    if (md_broker_fields_check(broker_id, &rb.incarnation, rb.endpoints, n_endpoints,
                               rb.rack, why, why_len) != 0)
        return CAIRN_ERR_INVALID_REQUEST;
    int rc = register_encode(&rb, out);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "%s", cairn_strerror(rc));
    return CAIRN_ERR_OK;
}
