/* Helpers for the metadata unit tests (see md_test_util.h). */
#include "md_test_util.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

void tid(uint8_t k, uint8_t out[MD_UUID_LEN])
{
    for (size_t i = 0; i < MD_UUID_LEN; i++)
        out[i] = (uint8_t)(k + i);
    out[0] = k ? k : 0xff;
}

static void *tb_alloc(tbatch_t *b, size_t size)
{
    ck_assert_uint_lt(b->n_allocs, sizeof b->allocs / sizeof b->allocs[0]);
    void *p = calloc(1, size ? size : 1);
    ck_assert_ptr_nonnull(p);
    b->allocs[b->n_allocs++] = p;
    return p;
}

static Cairn__MetadataRecord *tb_rec(tbatch_t *b, Cairn__MetadataRecord__RecordCase kind)
{
    ck_assert_uint_lt(b->n, TB_RECORDS_MAX);
    Cairn__MetadataRecord *r = tb_alloc(b, sizeof *r);
    cairn__metadata_record__init(r);
    r->record_case = kind;
    b->recs[b->n++] = r;
    return r;
}

static ProtobufCBinaryData tb_id(tbatch_t *b, uint8_t k)
{
    uint8_t *id = tb_alloc(b, MD_UUID_LEN);
    tid(k, id);
    ProtobufCBinaryData d = { MD_UUID_LEN, id };
    return d;
}

static int32_t *tb_ids(tbatch_t *b, const int32_t *ids, size_t n)
{
    int32_t *d = tb_alloc(b, n * sizeof *d);
    if (n)
        memcpy(d, ids, n * sizeof *d);
    return d;
}

void tb_init(tbatch_t *b)
{
    memset(b, 0, sizeof *b);
}

void tb_free(tbatch_t *b)
{
    for (size_t i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    tb_init(b);
}

void tb_register(tbatch_t *b, uint32_t id, uint8_t inc, const char *rack)
{
    Cairn__RegisterBrokerRecord *r = tb_alloc(b, sizeof *r);
    cairn__register_broker_record__init(r);
    r->broker_id = id;
    uint8_t *incarnation = tb_alloc(b, MD_UUID_LEN);
    memset(incarnation, inc, MD_UUID_LEN);
    r->incarnation.len = MD_UUID_LEN;
    r->incarnation.data = incarnation;
    Cairn__Endpoint *ep = tb_alloc(b, sizeof *ep);
    cairn__endpoint__init(ep);
    ep->listener = "PLAINTEXT";
    ep->host = "127.0.0.1";
    ep->port = 9091 + id;
    Cairn__Endpoint **eps = tb_alloc(b, sizeof *eps);
    eps[0] = ep;
    r->n_endpoints = 1;
    r->endpoints = eps;
    r->rack = (char *)(rack ? rack : "");
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_REGISTER_BROKER)->register_broker = r;
}

void tb_fence(tbatch_t *b, uint32_t id, uint64_t epoch)
{
    Cairn__FenceBrokerRecord *r = tb_alloc(b, sizeof *r);
    cairn__fence_broker_record__init(r);
    r->broker_id = id;
    r->broker_epoch = epoch;
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_FENCE_BROKER)->fence_broker = r;
}

void tb_unfence(tbatch_t *b, uint32_t id, uint64_t epoch)
{
    Cairn__UnfenceBrokerRecord *r = tb_alloc(b, sizeof *r);
    cairn__unfence_broker_record__init(r);
    r->broker_id = id;
    r->broker_epoch = epoch;
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_UNFENCE_BROKER)->unfence_broker = r;
}

void tb_shutdown(tbatch_t *b, uint32_t id, uint64_t epoch)
{
    Cairn__BrokerShutdownRecord *r = tb_alloc(b, sizeof *r);
    cairn__broker_shutdown_record__init(r);
    r->broker_id = id;
    r->broker_epoch = epoch;
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_BROKER_SHUTDOWN)->broker_shutdown = r;
}

void tb_topic(tbatch_t *b, const char *name, uint8_t k)
{
    Cairn__TopicRecord *r = tb_alloc(b, sizeof *r);
    cairn__topic_record__init(r);
    r->name = (char *)name;
    r->topic_id = tb_id(b, k);
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_TOPIC)->topic = r;
}

void tb_partition(tbatch_t *b, uint8_t k, uint32_t partition,
                  const int32_t *replicas, size_t n_replicas,
                  const int32_t *isr, size_t n_isr, int32_t leader)
{
    Cairn__PartitionRecord *r = tb_alloc(b, sizeof *r);
    cairn__partition_record__init(r);
    r->topic_id = tb_id(b, k);
    r->partition = partition;
    r->replicas = tb_ids(b, replicas, n_replicas);
    r->n_replicas = n_replicas;
    r->isr = tb_ids(b, isr, n_isr);
    r->n_isr = n_isr;
    r->leader = leader;
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_PARTITION)->partition = r;
}

void tb_change(tbatch_t *b, uint8_t k, uint32_t partition, bool leader_changed,
               int32_t leader, const int32_t *isr, size_t n_isr,
               const int32_t *replicas, size_t n_replicas)
{
    Cairn__PartitionChangeRecord *r = tb_alloc(b, sizeof *r);
    cairn__partition_change_record__init(r);
    r->topic_id = tb_id(b, k);
    r->partition = partition;
    r->leader_changed = leader_changed;
    r->leader = leader;
    if (isr != NULL) {
        r->isr_changed = true;
        r->isr = tb_ids(b, isr, n_isr);
        r->n_isr = n_isr;
    }
    if (replicas != NULL) {
        r->replicas_changed = true;
        r->replicas = tb_ids(b, replicas, n_replicas);
        r->n_replicas = n_replicas;
    }
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_PARTITION_CHANGE)->partition_change = r;
}

void tb_remove_topic(tbatch_t *b, uint8_t k)
{
    Cairn__RemoveTopicRecord *r = tb_alloc(b, sizeof *r);
    cairn__remove_topic_record__init(r);
    r->topic_id = tb_id(b, k);
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_REMOVE_TOPIC)->remove_topic = r;
}

void tb_config(tbatch_t *b, uint8_t k, const char *name, const char *value, bool remove)
{
    Cairn__ConfigRecord *r = tb_alloc(b, sizeof *r);
    cairn__config_record__init(r);
    r->topic_id = tb_id(b, k);
    r->name = (char *)name;
    r->value = (char *)(value ? value : "");
    r->remove = remove;
    tb_rec(b, CAIRN__METADATA_RECORD__RECORD_CONFIG)->config = r;
}

int tb_apply(tbatch_t *b, md_image_t *img)
{
    Cairn__MetadataBatch mb = CAIRN__METADATA_BATCH__INIT;
    mb.n_records = b->n;
    mb.records = b->recs;
    size_t len = cairn__metadata_batch__get_packed_size(&mb);
    uint8_t *buf = malloc(len + 1);
    ck_assert_ptr_nonnull(buf);
    cairn__metadata_batch__pack(&mb, buf);
    int rc = md_image_apply(img, md_image_last_index(img) + 1, 1, buf, len);
    free(buf);
    tb_free(b);
    return rc;
}

int apply_batch(md_image_t *img, md_batch_t *batch)
{
    int rc = md_image_apply(img, md_image_last_index(img) + 1, 1, batch->data, batch->len);
    md_batch_free(batch);
    return rc;
}

void setup_brokers(md_image_t *img, uint32_t n)
{
    char why[128];
    for (uint32_t id = 1; id <= n; id++) {
        uint8_t inc[MD_UUID_LEN];
        memset(inc, (int)id, sizeof inc);
        md_endpoint_t ep = { "PLAINTEXT", "127.0.0.1", (uint16_t)(9091 + id) };
        md_batch_t batch = { 0 };
        ck_assert_int_eq(md_plan_register_broker(img, id, inc, &ep, 1, NULL, &batch,
                                                 why, sizeof why), CAIRN_ERR_OK);
        ck_assert_int_eq(apply_batch(img, &batch), 0);
        ck_assert_int_eq(md_plan_unfence_broker(img, id, false, &batch, why, sizeof why),
                         CAIRN_ERR_OK);
        ck_assert_int_eq(apply_batch(img, &batch), 0);
        ck_assert(md_broker_active(md_image_broker(img, id)));
    }
}

md_image_t *tu_cluster(uint32_t n)
{
    md_image_t *img = md_image_new();
    ck_assert_ptr_nonnull(img);
    setup_brokers(img, n);
    return img;
}

const md_topic_t *tu_topic(md_image_t *img, const char *name, int32_t partitions, int32_t rf,
                           const char *unclean)
{
    uint8_t id[MD_UUID_LEN];
    uint64_t seq = md_image_last_index(img) + 1;
    memset(id, 0, sizeof id);
    memcpy(id, &seq, sizeof seq);
    id[15] = 0xa5;
    md_config_entry_t cfg = { "unclean.leader.election.enable", (char *)unclean };
    md_create_topic_t req = { name, partitions, rf, &cfg, unclean ? 1 : 0, id };
    md_batch_t batch = { 0 };
    char why[256];
    ck_assert_int_eq(md_plan_create_topic(img, &req, &batch, why, sizeof why), CAIRN_ERR_OK);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    const md_topic_t *t = md_image_topic(img, name);
    ck_assert_ptr_nonnull(t);
    return t;
}

typedef int (*broker_plan_fn)(const md_image_t *, uint32_t, bool, md_batch_t *, char *,
                              size_t);

static void broker_plan(md_image_t *img, broker_plan_fn fn, uint32_t id, bool unclean)
{
    char why[256] = "";
    md_batch_t batch = { 0 };
    int rc = fn(img, id, unclean, &batch, why, sizeof why);
    ck_assert_msg(rc == CAIRN_ERR_OK, "broker %u: %s", id, why);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
}

void tu_fence(md_image_t *img, uint32_t id, bool unclean)
{
    broker_plan(img, md_plan_fence_broker, id, unclean);
    ck_assert(md_image_broker(img, id)->fenced);
}

void tu_unfence(md_image_t *img, uint32_t id, bool unclean)
{
    broker_plan(img, md_plan_unfence_broker, id, unclean);
    ck_assert(md_broker_active(md_image_broker(img, id)));
}

void tu_shutdown(md_image_t *img, uint32_t id, bool unclean)
{
    broker_plan(img, md_plan_shutdown_broker, id, unclean);
    ck_assert(md_image_broker(img, id)->in_controlled_shutdown);
}

const md_partition_t *tu_part(const md_image_t *img, const char *name, uint32_t p)
{
    const md_topic_t *t = md_image_topic(img, name);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_lt(p, t->n_partitions);
    return &t->partitions[p];
}

bool tu_in_isr(const md_partition_t *p, int32_t id)
{
    for (size_t i = 0; i < p->n_isr; i++)
        if (p->isr[i] == id)
            return true;
    return false;
}

void content_of(const md_image_t *img, uint8_t **out, size_t *len)
{
    uint8_t *snap;
    size_t snap_len;
    ck_assert_int_eq(md_image_snapshot(img, &snap, &snap_len), 0);
    Cairn__MetadataImage *m = cairn__metadata_image__unpack(NULL, snap_len, snap);
    ck_assert_ptr_nonnull(m);
    m->last_index = 0;
    m->last_term = 0;
    *len = cairn__metadata_image__get_packed_size(m);
    *out = malloc(*len + 1);
    ck_assert_ptr_nonnull(*out);
    cairn__metadata_image__pack(m, *out);
    cairn__metadata_image__free_unpacked(m, NULL);
    free(snap);
}

bool same_content(const md_image_t *img, const uint8_t *want, size_t want_len)
{
    uint8_t *got;
    size_t got_len;
    content_of(img, &got, &got_len);
    bool same = got_len == want_len && memcmp(got, want, got_len) == 0;
    free(got);
    return same;
}
