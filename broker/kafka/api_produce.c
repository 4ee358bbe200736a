/* Produce (key 0): validate every batch of a partition (batch.h), append
 * the client's bytes as they came with only baseOffset and
 * partitionLeaderEpoch rewritten, and answer acks=1/-1 once the appended
 * batches are durable: acks=1 on the leader (group commit,
 * plog_when_durable), acks=-1 on every member of the ISR (the high
 * watermark, replica/leader.h). acks=0 gets no response. A partition whose
 * batches fail validation stores nothing. */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "coordinator.h"
#include "kafka_error.h"
#include "kafka_messages.h"
#include "leader.h"
#include "cairn_assert.h"
#include "log.h"

typedef struct produce produce_t;

/* One partition's wait for durability. Owned by the produce (not the
 * call's arena): a waiter may fire after a timed-out call is gone. */
typedef struct produce_wait {
    produce_t *pr;
    kafka_ProduceResponse_PartitionProduceResponse_t *part;   /* NULL once answered */
    bool waiting;
} produce_wait_t;

struct produce {
    kafka_call_t *call;                /* NULL once answered */
    kafka_ProduceResponse_t resp;
    produce_wait_t *waits;             /* one per partition of the request */
    size_t n_waits;
    size_t pending;                    /* waits still waiting */
    bool building;                     /* appends still being made */
    struct event *timeout_ev;
};

/* ---- validation and append ---------------------------------------------- */

/* Checks every batch in records; returns a Kafka error code. */
static int16_t validate_records(const kafka_bytes_t *records, int64_t max_bytes,
                                const char *topic, int32_t partition)
{
    if (records->len <= 0)
        return KAFKA_ERR_CORRUPT_MESSAGE;
    const uint8_t *p = records->data;
    size_t left = (size_t)records->len;
    while (left > 0) {
        size_t total = batch_total_bytes(p, left);
        if (total > (size_t)max_bytes && total <= left)
            return KAFKA_ERR_MESSAGE_TOO_LARGE;
        batch_err_t e = batch_validate(p, left, (size_t)max_bytes, NULL, &total);
        if (e != BATCH_OK) {
            LOG_DEBUG("produce", "%s-%d: rejected batch at byte %zu: %s", topic, partition,
                      (size_t)(p - records->data), batch_err_name(e));
            return KAFKA_ERR_CORRUPT_MESSAGE;
        }
        p += total;
        left -= total;
    }
    return KAFKA_ERR_NONE;
}

/* The leader replica, or the error; an unknown topic is auto-created when
 * auto.create.topics.enable allows it (retriable: the client retries). */
static replica_t *leader_replica(broker_t *b, const char *topic, int32_t partition,
                                 int16_t *err)
{
    replica_t *r = NULL;
    *err = kafka_find_leader(b, topic, partition, -1, &r);
    bool unknown = *err == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION && topic &&
                   !md_image_topic(b->image, topic);
    if (unknown && b->cfg->auto_create_topics_enable && md_topic_name_check(topic, NULL, 0) == 0) {
        kafka_auto_create_topic(b, topic);
        *err = KAFKA_ERR_LEADER_NOT_AVAILABLE;
    }
    return r;
}

static void produce_free_if_done(produce_t *pr)
{
    if (pr->call || pr->pending > 0)
        return;
    if (pr->timeout_ev)
        event_free(pr->timeout_ev);
    free(pr->waits);
    free(pr);
}

static void produce_answer(produce_t *pr)
{
    kafka_call_t *call = pr->call;
    CAIRN_ASSERT(call != NULL);
    pr->call = NULL;
    if (pr->timeout_ev)
        evtimer_del(pr->timeout_ev);
    /* The response lives in the call's arena, which goes with the reply. */
    for (size_t i = 0; i < pr->n_waits; i++)
        pr->waits[i].part = NULL;
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_ProduceResponse_encode(w, call->hdr.api_version, &pr->resp);
    kafka_call_reply(call);
}

static void wait_done(produce_wait_t *pw, int16_t kafka_error)
{
    produce_t *pr = pw->pr;
    CAIRN_ASSERT(pw->waiting && pr->pending > 0);
    pw->waiting = false;
    pr->pending--;
    if (pw->part && kafka_error != KAFKA_ERR_NONE)
        pw->part->ErrorCode = kafka_error;
    if (pr->call && !pr->building && pr->pending == 0)
        produce_answer(pr);
    produce_free_if_done(pr);
}

/* acks=1: the leader's own fsync. */
static void on_durable(void *arg, int err)
{
    wait_done(arg, err == 0 ? KAFKA_ERR_NONE : KAFKA_ERR_KAFKA_STORAGE_ERROR);
}

/* acks=all: the high watermark passed the batches, i.e. every member of the
 * ISR has them (fsync'd, in durable mode). */
static void on_committed(void *arg, int16_t kafka_error)
{
    wait_done(arg, kafka_error);
}

/* The request's timeout passed before every batch was durable. */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    produce_t *pr = arg;
    if (!pr->call)
        return;
    for (size_t i = 0; i < pr->n_waits; i++)
        if (pr->waits[i].waiting && pr->waits[i].part)
            pr->waits[i].part->ErrorCode = KAFKA_ERR_REQUEST_TIMED_OUT;
    produce_answer(pr);
    produce_free_if_done(pr);
}

/* Appends one partition's records and, unless acks=0, waits in pw for them
 * to be durable. */
static void produce_partition(produce_t *pr, const char *topic,
                              kafka_ProduceRequest_PartitionProduceData_t *pd,
                              kafka_ProduceResponse_PartitionProduceResponse_t *out,
                              produce_wait_t *pw, int16_t acks)
{
    kafka_call_t *call = pr->call;
    out->Index = pd->Index;
    out->BaseOffset = -1;
    out->LogAppendTimeMs = -1;
    out->LogStartOffset = -1;
    int16_t err;
    replica_t *r = leader_replica(call->b, topic, pd->Index, &err);
    if (r && strcmp(topic, GROUP_OFFSETS_TOPIC) == 0)
        err = KAFKA_ERR_INVALID_TOPIC_EXCEPTION;  /* only the coordinator writes there */
    else if (r && acks == -1 && (int64_t)r->isr_size < r->min_insync_replicas)
        err = KAFKA_ERR_NOT_ENOUGH_REPLICAS;      /* checked before anything is written */
    else if (r)
        err = validate_records(&pd->Records, r->max_message_bytes, topic, pd->Index);
    if (err != KAFKA_ERR_NONE) {
        out->ErrorCode = err;
        return;
    }
    plog_append_info_t info;
    if (plog_append(r->log, pd->Records.data, (size_t)pd->Records.len, r->leader_epoch,
                    &info) != 0) {
        out->ErrorCode = KAFKA_ERR_KAFKA_STORAGE_ERROR;
        return;
    }
    replica_leader_appended(r);
    out->BaseOffset = info.base_offset;
    out->LogAppendTimeMs = info.log_append_time_ms;
    out->LogStartOffset = plog_start_offset(r->log);
    if (acks == 0)
        return;
    pw->pr = pr;
    pw->part = out;
    pw->waiting = true;
    pr->pending++;
    int rc = acks == -1
        ? replica_leader_when_committed(r, info.last_offset + 1, on_committed, pw)
        : plog_when_durable(r->log, info.last_offset + 1, on_durable, pw);
    if (rc != 0) {
        pw->waiting = false;
        pr->pending--;
        if (rc < 0)
            out->ErrorCode = KAFKA_ERR_REQUEST_TIMED_OUT;
        else
            out->ErrorCode = replica_leader_commit_error(r);
    }
}

/* ---- the handler ------------------------------------------------------------ */

static int build_response(produce_t *pr, kafka_ProduceRequest_t *req)
{
    kafka_call_t *call = pr->call;
    kafka_ProduceResponse_t *resp = &pr->resp;
    int32_t nt = req->TopicData_count > 0 ? req->TopicData_count : 0;
    resp->Responses = kafka_call_alloc(call, nt ? (size_t)nt : 1, sizeof *resp->Responses);
    if (!resp->Responses)
        return -1;
    resp->Responses_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        kafka_ProduceRequest_TopicProduceData_t *td = &req->TopicData[i];
        int32_t np = td->PartitionData_count > 0 ? td->PartitionData_count : 0;
        kafka_ProduceResponse_TopicProduceResponse_t *rt = &resp->Responses[i];
        rt->Name = td->Name;
        rt->PartitionResponses = kafka_call_alloc(call, np ? (size_t)np : 1,
                                                  sizeof *rt->PartitionResponses);
        if (!rt->PartitionResponses)
            return -1;
        rt->PartitionResponses_count = np;
        pr->n_waits += (size_t)np;
    }
    pr->waits = calloc(pr->n_waits ? pr->n_waits : 1, sizeof *pr->waits);
    return pr->waits ? 0 : -1;
}

static bool any_error(const kafka_ProduceResponse_t *resp)
{
    for (int32_t i = 0; i < resp->Responses_count; i++)
        for (int32_t j = 0; j < resp->Responses[i].PartitionResponses_count; j++)
            if (resp->Responses[i].PartitionResponses[j].ErrorCode != KAFKA_ERR_NONE)
                return true;
    return false;
}

static void produce_all(produce_t *pr, kafka_ProduceRequest_t *req)
{
    size_t k = 0;
    for (int32_t i = 0; i < pr->resp.Responses_count; i++) {
        kafka_ProduceRequest_TopicProduceData_t *td = &req->TopicData[i];
        for (int32_t j = 0; j < pr->resp.Responses[i].PartitionResponses_count; j++) {
            kafka_ProduceResponse_PartitionProduceResponse_t *out =
                &pr->resp.Responses[i].PartitionResponses[j];
            if (req->Acks != 0 && req->Acks != 1 && req->Acks != -1) {
                out->Index = td->PartitionData[j].Index;
                out->ErrorCode = KAFKA_ERR_INVALID_REQUIRED_ACKS;
                k++;
                continue;
            }
            produce_partition(pr, td->Name, &td->PartitionData[j], out, &pr->waits[k++],
                              req->Acks);
        }
    }
}

void kafka_handle_Produce(kafka_call_t *call)
{
    kafka_ProduceRequest_t req;
    if (kafka_ProduceRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                    &req) != 0) {
        kafka_call_malformed(call, "malformed Produce");
        return;
    }
    produce_t *pr = calloc(1, sizeof *pr);
    if (!pr) {
        kafka_call_malformed(call, "out of memory");
        return;
    }
    pr->call = call;
    kafka_ProduceResponse_init(&pr->resp);
    pr->building = true;
    if (build_response(pr, &req) != 0) {
        free(pr->waits);
        free(pr);
        kafka_call_malformed(call, "Produce request too large");
        return;
    }
    produce_all(pr, &req);
    pr->building = false;
    if (req.Acks == 0) {
        /* No response to carry an error: closing tells the client to
         * refresh its metadata, as Kafka does. */
        pr->call = NULL;
        if (any_error(&pr->resp))
            kafka_call_malformed(call, "acks=0 produce failed");
        else
            kafka_call_no_reply(call);
        produce_free_if_done(pr);
        return;
    }
    if (pr->pending == 0) {
        produce_answer(pr);
        produce_free_if_done(pr);
        return;
    }
    pr->timeout_ev = evtimer_new(call->b->base, on_timeout, pr);
    int32_t ms = req.TimeoutMs > 0 ? req.TimeoutMs : 1;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (!pr->timeout_ev || evtimer_add(pr->timeout_ev, &tv) != 0)
        LOG_WARN("produce", "no timer for a produce request: it waits for its fsync");
}
