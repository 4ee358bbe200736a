/* CreateTopics (19), DeleteTopics (20), CreatePartitions (37): forwarded to
 * the controller quorum one topic at a time (admin RPC), then answered once
 * this broker's image shows the change, so a client that asks for metadata
 * next sees it. ValidateOnly requests are checked against the local image
 * with the controller's own planning functions. */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "errors.h"
#include "kafka_error.h"
#include "kafka_messages.h"
#include "log.h"
#include "plan.h"

#define ADMIN_CONFIGS_MAX 64

typedef enum { OP_CREATE, OP_DELETE, OP_PARTITIONS } admin_kind_t;

typedef struct admin_op admin_op_t;

/* One topic of the request. The op owns items (malloc): a controller
 * answer may come after the call was answered on timeout. */
typedef struct admin_item {
    admin_op_t *op;
    char *name;                        /* owned copy */
    int32_t count;                     /* create partitions: the new total */
    int16_t *error_code;               /* in the response; NULL once answered */
    char **error_message;              /* in the response (NULL for versions without) */
    bool in_flight;                    /* a controller call is outstanding */
    bool await_image;                  /* committed: wait until the image shows it */
} admin_item_t;

struct admin_op {
    kafka_call_t *call;                /* NULL once answered */
    admin_kind_t kind;
    admin_item_t *items;
    size_t n_items;
    size_t in_flight;
    broker_md_waiter_t waiter;
    struct event *timer;
    void (*encode)(admin_op_t *op, kafka_wr_t *w);
    void *resp;                        /* the response struct, in the call's arena */
};

/* ---- errors ------------------------------------------------------------- */

static int16_t kafka_error_of(int code)
{
    switch (code) {
    case CAIRN_ERR_OK: return KAFKA_ERR_NONE;
    case CAIRN_ERR_TOPIC_EXISTS: return KAFKA_ERR_TOPIC_ALREADY_EXISTS;
    case CAIRN_ERR_UNKNOWN_TOPIC: return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    case CAIRN_ERR_INVALID_TOPIC: return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    case CAIRN_ERR_INVALID_PARTITIONS: return KAFKA_ERR_INVALID_PARTITIONS;
    case CAIRN_ERR_INVALID_REPLICATION: return KAFKA_ERR_INVALID_REPLICATION_FACTOR;
    case CAIRN_ERR_NOT_ENOUGH_BROKERS: return KAFKA_ERR_INVALID_REPLICATION_FACTOR;
    case CAIRN_ERR_INVALID_CONFIG: return KAFKA_ERR_INVALID_CONFIG;
    case CAIRN_ERR_INVALID_REQUEST: return KAFKA_ERR_INVALID_REQUEST;
    case CAIRN_ERR_NO_QUORUM: case CAIRN_ERR_TIMEOUT: return KAFKA_ERR_REQUEST_TIMED_OUT;
    default: return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    }
}

static void item_fail(admin_item_t *it, int16_t code, const char *message)
{
    if (!it->error_code)
        return;
    *it->error_code = code;
    if (it->error_message && message && it->op->call) {
        size_t n = strlen(message);
        *it->error_message = kafka_arena_strndup(&it->op->call->arena, message, n);
    }
}

/* ---- answering ---------------------------------------------------------- */

static void op_free_if_done(admin_op_t *op)
{
    if (op->call || op->in_flight > 0)
        return;
    for (size_t i = 0; i < op->n_items; i++)
        free(op->items[i].name);
    free(op->items);
    if (op->timer)
        event_free(op->timer);
    free(op);
}

static void op_answer(admin_op_t *op)
{
    kafka_call_t *call = op->call;
    if (!call)
        return;
    broker_md_unwait(call->b, &op->waiter);
    if (op->timer)
        evtimer_del(op->timer);
    kafka_wr_t *w = kafka_call_begin_reply(call);
    op->encode(op, w);
    op->call = NULL;
    for (size_t i = 0; i < op->n_items; i++) {
        op->items[i].error_code = NULL;
        op->items[i].error_message = NULL;
    }
    kafka_call_reply(call);
}

static bool item_visible(const admin_op_t *op, const admin_item_t *it, const md_image_t *img)
{
    const md_topic_t *t = md_image_topic(img, it->name);
    switch (op->kind) {
    case OP_CREATE: return t != NULL;
    case OP_DELETE: return t == NULL;
    case OP_PARTITIONS: return t != NULL && t->n_partitions >= (size_t)it->count;
    }
    return true;
}

/* Answers once no item waits for the controller or for the image. */
static void op_check(admin_op_t *op)
{
    if (!op->call || op->in_flight > 0)
        return;
    for (size_t i = 0; i < op->n_items; i++) {
        admin_item_t *it = &op->items[i];
        if (it->await_image && !item_visible(op, it, op->call->b->image))
            return;
        it->await_image = false;
    }
    op_answer(op);
}

static void on_metadata(void *arg)
{
    op_check(arg);
    op_free_if_done(arg);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    admin_op_t *op = arg;
    for (size_t i = 0; i < op->n_items; i++)
        if (op->items[i].in_flight)
            item_fail(&op->items[i], KAFKA_ERR_REQUEST_TIMED_OUT,
                      "the controller did not answer in time");
    op_answer(op);
    op_free_if_done(op);
}

/* ---- the controller calls -------------------------------------------------- */

static void on_controller(int err, const char *why, const uint8_t *body, size_t len,
                          void *arg)
{
    admin_item_t *it = arg;
    admin_op_t *op = it->op;
    it->in_flight = false;
    op->in_flight--;
    Cairn__Status *st = NULL;
    int code = err;
    if (err == CAIRN_ERR_OK && ctrl_client_parse_status(body, len, &st) != 0)
        code = CAIRN_ERR_CORRUPT;
    else if (err == CAIRN_ERR_OK && st)
        code = st->code;
    if (code == CAIRN_ERR_OK)
        it->await_image = true;
    else
        item_fail(it, kafka_error_of(code),
                  st && st->message && st->message[0] ? st->message
                  : why && why[0] ? why : cairn_strerror(code));
    if (code != CAIRN_ERR_OK)
        LOG_DEBUG("admin", "topic '%s': %s", it->name, cairn_errname(code));
    if (st)
        cairn__status__free_unpacked(st, NULL);
    op_check(op);
    op_free_if_done(op);
}

static void item_send(admin_item_t *it, uint32_t type, const ProtobufCMessage *req,
                      uint32_t timeout_ms)
{
    broker_t *b = it->op->call->b;
    int rc = ctrl_client_call(controller_link_client(b->link), type, req, timeout_ms,
                              on_controller, it);
    if (rc != 0) {
        item_fail(it, KAFKA_ERR_REQUEST_TIMED_OUT, cairn_strerror(rc));
        return;
    }
    it->in_flight = true;
    it->op->in_flight++;
}

/* ---- common set-up -------------------------------------------------------- */

static admin_op_t *op_new(kafka_call_t *call, admin_kind_t kind, size_t n_items)
{
    admin_op_t *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->items = calloc(n_items ? n_items : 1, sizeof *op->items);
    if (!op->items) {
        free(op);
        return NULL;
    }
    op->call = call;
    op->kind = kind;
    op->n_items = n_items;
    op->waiter.fn = on_metadata;
    op->waiter.arg = op;
    for (size_t i = 0; i < n_items; i++)
        op->items[i].op = op;
    return op;
}

static uint32_t clamp_timeout(int32_t timeout_ms)
{
    return timeout_ms <= 0 ? 1000u : timeout_ms > 600000 ? 600000u : (uint32_t)timeout_ms;
}

/* Starts waiting (controller answers, then the image) with a deadline. */
static void op_start(admin_op_t *op, int32_t timeout_ms)
{
    broker_t *b = op->call->b;
    uint32_t ms = clamp_timeout(timeout_ms);
    op->timer = evtimer_new(b->base, on_timeout, op);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (op->timer)
        evtimer_add(op->timer, &tv);
    broker_md_wait(b, &op->waiter);
    op_check(op);
    op_free_if_done(op);
}

static bool item_name_ok(admin_item_t *it, const char *name)
{
    it->name = strdup(name ? name : "");
    if (!it->name) {
        item_fail(it, KAFKA_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return false;
    }
    return true;
}

/* ---- CreateTopics ------------------------------------------------------------ */

static void encode_create(admin_op_t *op, kafka_wr_t *w)
{
    kafka_CreateTopicsResponse_encode(w, op->call->hdr.api_version, op->resp);
}

static int create_validate(broker_t *b, const kafka_CreateTopicsRequest_CreatableTopic_t *t,
                           const md_config_entry_t *configs, size_t n_configs,
                           char *why, size_t why_len)
{
    uint8_t id[MD_UUID_LEN] = { 0x40, 1, 2, 3, 4, 5, 0x40, 7, 0x80, 9, 10, 11, 12, 13, 14, 15 };
    md_create_topic_t ct = {
        .name = t->Name,
        .partitions = t->NumPartitions > 0 ? t->NumPartitions : (int32_t)b->cfg->num_partitions,
        .replication_factor = t->ReplicationFactor > 0 ? t->ReplicationFactor
                              : (int32_t)b->cfg->default_replication_factor,
        .configs = configs, .n_configs = n_configs, .topic_id = id,
    };
    md_batch_t batch = { 0 };
    int rc = md_plan_create_topic(b->image, &ct, &batch, why, why_len);
    md_batch_free(&batch);
    return rc;
}

static void create_one(admin_item_t *it, const kafka_CreateTopicsRequest_CreatableTopic_t *t,
                       bool validate_only, int32_t timeout_ms)
{
    if (!item_name_ok(it, t->Name))
        return;
    if (t->Assignments_count > 0) {
        item_fail(it, KAFKA_ERR_INVALID_REQUEST, "manual replica assignment is not supported");
        return;
    }
    if (t->Configs_count > ADMIN_CONFIGS_MAX) {
        item_fail(it, KAFKA_ERR_INVALID_CONFIG, "too many configs");
        return;
    }
    md_config_entry_t entries[ADMIN_CONFIGS_MAX];
    Cairn__ConfigEntry pc[ADMIN_CONFIGS_MAX], *pp[ADMIN_CONFIGS_MAX];
    size_t n = 0;
    for (int32_t i = 0; i < t->Configs_count; i++) {
        if (!t->Configs[i].Value)
            continue;           /* null: the default */
        entries[n] = (md_config_entry_t){ t->Configs[i].Name, t->Configs[i].Value };
        cairn__config_entry__init(&pc[n]);
        pc[n].name = t->Configs[i].Name;
        pc[n].value = t->Configs[i].Value;
        pp[n] = &pc[n];
        n++;
    }
    char why[256] = "";
    if (validate_only) {
        int rc = create_validate(it->op->call->b, t, entries, n, why, sizeof why);
        if (rc != CAIRN_ERR_OK)
            item_fail(it, kafka_error_of(rc), why);
        return;
    }
    Cairn__CreateTopicRequest req = CAIRN__CREATE_TOPIC_REQUEST__INIT;
    req.name = it->name;
    req.partitions = t->NumPartitions > 0 ? t->NumPartitions : 0;
    req.replication_factor = t->ReplicationFactor > 0 ? t->ReplicationFactor : 0;
    req.n_configs = n;
    req.configs = pp;
    item_send(it, CAIRN__RPC_TYPE__RPC_CREATE_TOPIC, &req.base, clamp_timeout(timeout_ms));
}

void kafka_handle_CreateTopics(kafka_call_t *call)
{
    kafka_CreateTopicsRequest_t req;
    if (kafka_CreateTopicsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                         &req) != 0) {
        kafka_call_malformed(call, "malformed CreateTopics");
        return;
    }
    size_t n = req.Topics_count > 0 ? (size_t)req.Topics_count : 0;
    kafka_CreateTopicsResponse_t *resp = kafka_call_alloc(call, 1, sizeof *resp);
    if (resp)
        kafka_CreateTopicsResponse_init(resp);
    admin_op_t *op = resp ? op_new(call, OP_CREATE, n) : NULL;
    if (resp)
        resp->Topics = kafka_call_alloc(call, n ? n : 1, sizeof *resp->Topics);
    if (!op || !resp->Topics) {
        if (op)
            free(op->items);
        free(op);
        kafka_call_malformed(call, "CreateTopics request too large");
        return;
    }
    resp->Topics_count = (int32_t)n;
    op->resp = resp;
    op->encode = encode_create;
    for (size_t i = 0; i < n; i++) {
        resp->Topics[i].Name = req.Topics[i].Name;
        op->items[i].error_code = &resp->Topics[i].ErrorCode;
        op->items[i].error_message = &resp->Topics[i].ErrorMessage;
        create_one(&op->items[i], &req.Topics[i], req.validateOnly, req.timeoutMs);
    }
    op_start(op, req.timeoutMs);
}

/* ---- DeleteTopics -------------------------------------------------------------- */

static void encode_delete(admin_op_t *op, kafka_wr_t *w)
{
    kafka_DeleteTopicsResponse_encode(w, op->call->hdr.api_version, op->resp);
}

void kafka_handle_DeleteTopics(kafka_call_t *call)
{
    kafka_DeleteTopicsRequest_t req;
    if (kafka_DeleteTopicsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                         &req) != 0) {
        kafka_call_malformed(call, "malformed DeleteTopics");
        return;
    }
    size_t n = req.TopicNames_count > 0 ? (size_t)req.TopicNames_count : 0;
    kafka_DeleteTopicsResponse_t *resp = kafka_call_alloc(call, 1, sizeof *resp);
    if (resp)
        kafka_DeleteTopicsResponse_init(resp);
    admin_op_t *op = resp ? op_new(call, OP_DELETE, n) : NULL;
    if (resp)
        resp->Responses = kafka_call_alloc(call, n ? n : 1, sizeof *resp->Responses);
    if (!op || !resp->Responses) {
        if (op)
            free(op->items);
        free(op);
        kafka_call_malformed(call, "DeleteTopics request too large");
        return;
    }
    resp->Responses_count = (int32_t)n;
    op->resp = resp;
    op->encode = encode_delete;
    for (size_t i = 0; i < n; i++) {
        admin_item_t *it = &op->items[i];
        resp->Responses[i].Name = req.TopicNames[i];
        it->error_code = &resp->Responses[i].ErrorCode;
        if (!item_name_ok(it, req.TopicNames[i]))
            continue;
        Cairn__DeleteTopicRequest dr = CAIRN__DELETE_TOPIC_REQUEST__INIT;
        dr.name = it->name;
        item_send(it, CAIRN__RPC_TYPE__RPC_DELETE_TOPIC, &dr.base, clamp_timeout(req.TimeoutMs));
    }
    op_start(op, req.TimeoutMs);
}

/* ---- CreatePartitions ----------------------------------------------------------- */

static void encode_partitions(admin_op_t *op, kafka_wr_t *w)
{
    kafka_CreatePartitionsResponse_encode(w, op->call->hdr.api_version, op->resp);
}

static void partitions_one(admin_item_t *it,
                           const kafka_CreatePartitionsRequest_CreatePartitionsTopic_t *t,
                           bool validate_only, int32_t timeout_ms)
{
    if (!item_name_ok(it, t->Name))
        return;
    it->count = t->Count;
    if (t->Assignments_count > 0) {
        item_fail(it, KAFKA_ERR_INVALID_REQUEST, "manual replica assignment is not supported");
        return;
    }
    if (validate_only) {
        char why[256] = "";
        md_batch_t batch = { 0 };
        int rc = md_plan_create_partitions(it->op->call->b->image, t->Name, t->Count, &batch,
                                           why, sizeof why);
        md_batch_free(&batch);
        if (rc != CAIRN_ERR_OK)
            item_fail(it, kafka_error_of(rc), why);
        return;
    }
    Cairn__CreatePartitionsRequest req = CAIRN__CREATE_PARTITIONS_REQUEST__INIT;
    req.name = it->name;
    req.total_count = t->Count;
    item_send(it, CAIRN__RPC_TYPE__RPC_CREATE_PARTITIONS, &req.base, clamp_timeout(timeout_ms));
}

void kafka_handle_CreatePartitions(kafka_call_t *call)
{
    kafka_CreatePartitionsRequest_t req;
    if (kafka_CreatePartitionsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                             &req) != 0) {
        kafka_call_malformed(call, "malformed CreatePartitions");
        return;
    }
    size_t n = req.Topics_count > 0 ? (size_t)req.Topics_count : 0;
    kafka_CreatePartitionsResponse_t *resp = kafka_call_alloc(call, 1, sizeof *resp);
    if (resp)
        kafka_CreatePartitionsResponse_init(resp);
    admin_op_t *op = resp ? op_new(call, OP_PARTITIONS, n) : NULL;
    if (resp)
        resp->Results = kafka_call_alloc(call, n ? n : 1, sizeof *resp->Results);
    if (!op || !resp->Results) {
        if (op)
            free(op->items);
        free(op);
        kafka_call_malformed(call, "CreatePartitions request too large");
        return;
    }
    resp->Results_count = (int32_t)n;
    op->resp = resp;
    op->encode = encode_partitions;
    for (size_t i = 0; i < n; i++) {
        resp->Results[i].Name = req.Topics[i].Name;
        op->items[i].error_code = &resp->Results[i].ErrorCode;
        op->items[i].error_message = &resp->Results[i].ErrorMessage;
        partitions_one(&op->items[i], &req.Topics[i], req.ValidateOnly, req.TimeoutMs);
    }
    op_start(op, req.TimeoutMs);
}
