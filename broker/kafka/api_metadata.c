/* Metadata (key 3) and DescribeCluster (key 60), answered from the
 * broker's metadata image. Unknown topics are auto-created when
 * auto.create.topics.enable allows it (answered LEADER_NOT_AVAILABLE until
 * they exist, as Kafka does). */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "errors.h"
#include "kafka_error.h"
#include "kafka_messages.h"
#include "log.h"

#define AUTO_CREATE_TIMEOUT_MS 10000u

/* ---- brokers ------------------------------------------------------------- */

/* The endpoint clients use: the first one that is not the replication
 * listener. */
const md_endpoint_t *kafka_client_endpoint(const md_broker_t *mb)
{
    for (size_t i = 0; i < mb->n_endpoints; i++)
        if (strcmp(mb->endpoints[i].listener, CAIRN_REPLICATION_LISTENER) != 0)
            return &mb->endpoints[i];
    return NULL;
}

const md_endpoint_t *kafka_live_endpoint(const md_broker_t *mb)
{
    return mb->fenced ? NULL : kafka_client_endpoint(mb);
}

static size_t live_brokers(const md_image_t *img)
{
    size_t n = 0;
    for (size_t i = 0; i < md_image_broker_count(img); i++) {
        const md_broker_t *mb = md_image_broker_at(img, i);
        if (kafka_live_endpoint(mb))
            n++;
    }
    return n;
}

typedef void (*broker_fill_fn)(void *out, size_t i, const md_broker_t *mb);

/* Calls fill for every unfenced broker, in id order. */
static void each_live_broker(const md_image_t *img, void *out, broker_fill_fn fill)
{
    size_t k = 0;
    for (size_t i = 0; i < md_image_broker_count(img); i++) {
        const md_broker_t *mb = md_image_broker_at(img, i);
        if (kafka_live_endpoint(mb))
            fill(out, k++, mb);
    }
}

static void fill_metadata_broker(void *out, size_t i, const md_broker_t *mb)
{
    kafka_MetadataResponse_MetadataResponseBroker_t *b = out;
    const md_endpoint_t *ep = kafka_client_endpoint(mb);
    b[i].NodeId = (int32_t)mb->id;
    b[i].Host = ep->host;
    b[i].Port = ep->port;
    b[i].Rack = mb->rack && mb->rack[0] ? mb->rack : NULL;
}

/* ---- auto-creation ------------------------------------------------------- */

typedef struct auto_create {
    broker_t *b;
    char *name;
} auto_create_t;

static bool auto_creating(const broker_t *b, const char *name)
{
    for (size_t i = 0; i < BROKER_AUTO_CREATE_MAX; i++)
        if (b->auto_creating[i] && strcmp(b->auto_creating[i], name) == 0)
            return true;
    return false;
}

static void on_auto_created(int err, const char *why, const uint8_t *body, size_t len,
                            void *arg)
{
    auto_create_t *ac = arg;
    Cairn__Status *st = NULL;
    int code = err;
    if (err == CAIRN_ERR_OK && ctrl_client_parse_status(body, len, &st) == 0 && st)
        code = st->code;
    if (code != CAIRN_ERR_OK && code != CAIRN_ERR_TOPIC_EXISTS)
        LOG_WARN("kafka", "auto-creating topic '%s' failed: %s", ac->name,
                 st && st->message && st->message[0] ? st->message
                 : why && why[0] ? why : cairn_strerror(code));
    else
        LOG_INFO("kafka", "auto-created topic '%s'", ac->name);
    if (st)
        cairn__status__free_unpacked(st, NULL);
    for (size_t i = 0; i < BROKER_AUTO_CREATE_MAX; i++)
        if (ac->b->auto_creating[i] == ac->name)
            ac->b->auto_creating[i] = NULL;
    free(ac->name);
    free(ac);
}

void kafka_create_topic_once(broker_t *b, const char *name, int32_t partitions, int32_t rf,
                             const char *const (*configs)[2], size_t n_configs)
{
    if (auto_creating(b, name))
        return;
    size_t slot = BROKER_AUTO_CREATE_MAX;
    for (size_t i = 0; i < BROKER_AUTO_CREATE_MAX && slot == BROKER_AUTO_CREATE_MAX; i++)
        if (!b->auto_creating[i])
            slot = i;
    auto_create_t *ac = slot < BROKER_AUTO_CREATE_MAX ? calloc(1, sizeof *ac) : NULL;
    char *copy = ac ? strdup(name) : NULL;
    Cairn__ConfigEntry *entries = n_configs ? calloc(n_configs, sizeof *entries) : NULL;
    Cairn__ConfigEntry **ptrs = n_configs ? calloc(n_configs, sizeof *ptrs) : NULL;
    if (!copy || (n_configs && (!entries || !ptrs))) {
        free(entries);
        free(ptrs);
        free(copy);
        free(ac);
        return;
    }
    ac->b = b;
    ac->name = copy;
    size_t active = live_brokers(b->image);
    if (active > 0 && (size_t)rf > active)
        rf = (int32_t)active;
    Cairn__CreateTopicRequest req = CAIRN__CREATE_TOPIC_REQUEST__INIT;
    req.name = copy;
    req.partitions = partitions;
    req.replication_factor = rf;
    for (size_t i = 0; i < n_configs; i++) {
        cairn__config_entry__init(&entries[i]);
        entries[i].name = (char *)configs[i][0];
        entries[i].value = (char *)configs[i][1];
        ptrs[i] = &entries[i];
    }
    req.n_configs = n_configs;
    req.configs = ptrs;
    int rc = ctrl_client_call(controller_link_client(b->link), CAIRN__RPC_TYPE__RPC_CREATE_TOPIC,
                              &req.base, AUTO_CREATE_TIMEOUT_MS, on_auto_created, ac);
    free(entries);
    free(ptrs);
    if (rc != 0) {
        free(copy);
        free(ac);
        return;
    }
    b->auto_creating[slot] = copy;
}

void kafka_auto_create_topic(broker_t *b, const char *name)
{
    kafka_create_topic_once(b, name, (int32_t)b->cfg->num_partitions,
                            (int32_t)b->cfg->default_replication_factor, NULL, 0);
}

/* ---- topics --------------------------------------------------------------- */

static int32_t *offline_replicas(kafka_call_t *call, const md_image_t *img,
                                 const md_partition_t *p, int32_t *n_out)
{
    int32_t *out = kafka_call_alloc(call, p->n_replicas ? p->n_replicas : 1, sizeof *out);
    int32_t n = 0;
    for (size_t i = 0; out && i < p->n_replicas; i++) {
        const md_broker_t *mb = md_image_broker(img, (uint32_t)p->replicas[i]);
        if (!mb || mb->fenced)
            out[n++] = p->replicas[i];
    }
    *n_out = n;
    return out;
}

static int fill_partitions(kafka_call_t *call, const md_topic_t *t,
                           kafka_MetadataResponse_MetadataResponseTopic_t *rt)
{
    const md_image_t *img = call->b->image;
    rt->Partitions = kafka_call_alloc(call, t->n_partitions ? t->n_partitions : 1,
                                      sizeof *rt->Partitions);
    if (!rt->Partitions)
        return -1;
    rt->Partitions_count = (int32_t)t->n_partitions;
    for (size_t i = 0; i < t->n_partitions; i++) {
        const md_partition_t *p = &t->partitions[i];
        kafka_MetadataResponse_MetadataResponsePartition_t *rp = &rt->Partitions[i];
        rp->ErrorCode = p->leader == MD_NO_LEADER ? KAFKA_ERR_LEADER_NOT_AVAILABLE : 0;
        rp->PartitionIndex = (int32_t)i;
        rp->LeaderId = p->leader;
        rp->LeaderEpoch = (int32_t)p->leader_epoch;
        rp->ReplicaNodes = p->replicas;
        rp->ReplicaNodes_count = (int32_t)p->n_replicas;
        rp->IsrNodes = p->isr;
        rp->IsrNodes_count = (int32_t)p->n_isr;
        rp->OfflineReplicas = offline_replicas(call, img, p, &rp->OfflineReplicas_count);
        if (!rp->OfflineReplicas)
            return -1;
    }
    return 0;
}

static int fill_topic(kafka_call_t *call, const md_topic_t *t, const char *name,
                      bool may_create, kafka_MetadataResponse_MetadataResponseTopic_t *rt)
{
    broker_t *b = call->b;
    rt->TopicAuthorizedOperations = INT32_MIN;
    if (t) {
        rt->Name = t->name;
        rt->IsInternal = t->name[0] == '_' && t->name[1] == '_';
        return fill_partitions(call, t, rt);
    }
    rt->Name = (char *)name;
    if (!name || md_topic_name_check(name, NULL, 0) != 0) {
        rt->ErrorCode = KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    } else if (may_create && b->cfg->auto_create_topics_enable) {
        kafka_auto_create_topic(b, name);
        rt->ErrorCode = KAFKA_ERR_LEADER_NOT_AVAILABLE;
    } else {
        rt->ErrorCode = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return 0;
}

static int fill_topics(kafka_call_t *call, const kafka_MetadataRequest_t *req,
                       kafka_MetadataResponse_t *resp)
{
    const md_image_t *img = call->b->image;
    int16_t v = call->hdr.api_version;
    /* v0: an empty list means every topic; v1+: null means every topic. */
    bool all = req->Topics_count < 0 || (v == 0 && req->Topics_count == 0);
    size_t n = all ? md_image_topic_count(img) : (size_t)req->Topics_count;
    resp->Topics = kafka_call_alloc(call, n ? n : 1, sizeof *resp->Topics);
    if (!resp->Topics)
        return -1;
    resp->Topics_count = (int32_t)n;
    bool may_create = v < 4 || req->AllowAutoTopicCreation;
    for (size_t i = 0; i < n; i++) {
        const md_topic_t *t = all ? md_image_topic_at(img, i)
                                  : md_image_topic(img, req->Topics[i].Name);
        const char *name = all ? t->name : req->Topics[i].Name;
        if (fill_topic(call, t, name, may_create, &resp->Topics[i]) != 0)
            return -1;
    }
    return 0;
}

void kafka_handle_Metadata(kafka_call_t *call)
{
    kafka_MetadataRequest_t req;
    if (kafka_MetadataRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                     &req) != 0) {
        kafka_call_malformed(call, "malformed Metadata");
        return;
    }
    broker_t *b = call->b;
    kafka_MetadataResponse_t resp;
    kafka_MetadataResponse_init(&resp);
    size_t nb = live_brokers(b->image);
    resp.Brokers = kafka_call_alloc(call, nb ? nb : 1, sizeof *resp.Brokers);
    resp.Brokers_count = (int32_t)nb;
    resp.ClusterId = b->cluster_id;
    /* Admin requests sent here are forwarded to the controller quorum. */
    resp.ControllerId = (int32_t)b->id;
    resp.ClusterAuthorizedOperations = INT32_MIN;
    if (!resp.Brokers || fill_topics(call, &req, &resp) != 0) {
        kafka_call_malformed(call, "Metadata response too large");
        return;
    }
    each_live_broker(b->image, resp.Brokers, fill_metadata_broker);
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_MetadataResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}

/* ---- DescribeCluster --------------------------------------------------- */

static void fill_cluster_broker(void *out, size_t i, const md_broker_t *mb)
{
    kafka_DescribeClusterResponse_DescribeClusterBroker_t *b = out;
    const md_endpoint_t *ep = kafka_client_endpoint(mb);
    b[i].BrokerId = (int32_t)mb->id;
    b[i].Host = ep->host;
    b[i].Port = ep->port;
    b[i].Rack = mb->rack && mb->rack[0] ? mb->rack : NULL;
}

void kafka_handle_DescribeCluster(kafka_call_t *call)
{
    kafka_DescribeClusterRequest_t req;
    if (kafka_DescribeClusterRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                            &req) != 0) {
        kafka_call_malformed(call, "malformed DescribeCluster");
        return;
    }
    broker_t *b = call->b;
    kafka_DescribeClusterResponse_t resp;
    kafka_DescribeClusterResponse_init(&resp);
    size_t nb = live_brokers(b->image);
    resp.Brokers = kafka_call_alloc(call, nb ? nb : 1, sizeof *resp.Brokers);
    if (!resp.Brokers) {
        kafka_call_malformed(call, "DescribeCluster response too large");
        return;
    }
    resp.Brokers_count = (int32_t)nb;
    each_live_broker(b->image, resp.Brokers, fill_cluster_broker);
    resp.ClusterId = b->cluster_id;
    resp.ControllerId = (int32_t)b->id;
    resp.ClusterAuthorizedOperations = INT32_MIN;
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_DescribeClusterResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}
