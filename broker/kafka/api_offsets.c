/* ListOffsets (key 2): -2 earliest (log start), -1 latest (the readable
 * offset: high watermark, which is also the last stable offset with no
 * transactions), otherwise the first offset whose batch has a timestamp at
 * or after the one asked for (time index, then batches). */
#include "handlers.h"

#include "kafka_error.h"
#include "kafka_messages.h"

#define LIST_OFFSETS_LATEST (-1)
#define LIST_OFFSETS_EARLIEST (-2)

static void list_partition(kafka_call_t *call, const char *topic,
                           const kafka_ListOffsetsRequest_ListOffsetsPartition_t *rp,
                           kafka_ListOffsetsResponse_ListOffsetsPartitionResponse_t *out)
{
    out->PartitionIndex = rp->PartitionIndex;
    out->Timestamp = -1;
    out->Offset = -1;
    out->LeaderEpoch = -1;
    replica_t *r;
    out->ErrorCode = kafka_find_leader(call->b, topic, rp->PartitionIndex,
                                       rp->CurrentLeaderEpoch, &r);
    if (out->ErrorCode != KAFKA_ERR_NONE)
        return;
    int64_t readable = plog_readable_offset(r->log);
    if (rp->Timestamp == LIST_OFFSETS_LATEST) {
        out->Offset = readable;
    } else if (rp->Timestamp == LIST_OFFSETS_EARLIEST) {
        out->Offset = plog_start_offset(r->log);
    } else {
        int64_t ts = -1;
        int64_t off = plog_offset_for_timestamp(r->log, rp->Timestamp, readable, &ts);
        out->Offset = off;
        out->Timestamp = off >= 0 ? ts : -1;
    }
    out->LeaderEpoch = r->leader_epoch;
    if (call->hdr.api_version == 0) {
        /* v0 answers a list of offsets; clients ask for one. */
        out->OldStyleOffsets = kafka_call_alloc(call, 1, sizeof *out->OldStyleOffsets);
        out->OldStyleOffsets_count = out->OldStyleOffsets && out->Offset >= 0 &&
                                     rp->MaxNumOffsets > 0 ? 1 : 0;
        if (out->OldStyleOffsets)
            out->OldStyleOffsets[0] = out->Offset;
    }
}

void kafka_handle_ListOffsets(kafka_call_t *call)
{
    kafka_ListOffsetsRequest_t req;
    if (kafka_ListOffsetsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                        &req) != 0) {
        kafka_call_malformed(call, "malformed ListOffsets");
        return;
    }
    kafka_ListOffsetsResponse_t resp;
    kafka_ListOffsetsResponse_init(&resp);
    int32_t nt = req.Topics_count > 0 ? req.Topics_count : 0;
    resp.Topics = kafka_call_alloc(call, nt ? (size_t)nt : 1, sizeof *resp.Topics);
    resp.Topics_count = nt;
    for (int32_t i = 0; resp.Topics && i < nt; i++) {
        kafka_ListOffsetsRequest_ListOffsetsTopic_t *t = &req.Topics[i];
        kafka_ListOffsetsResponse_ListOffsetsTopicResponse_t *rt = &resp.Topics[i];
        int32_t np = t->Partitions_count > 0 ? t->Partitions_count : 0;
        rt->Name = t->Name;
        rt->Partitions = kafka_call_alloc(call, np ? (size_t)np : 1, sizeof *rt->Partitions);
        if (!rt->Partitions) {
            resp.Topics = NULL;
            break;
        }
        rt->Partitions_count = np;
        for (int32_t j = 0; j < np; j++)
            list_partition(call, t->Name, &t->Partitions[j], &rt->Partitions[j]);
    }
    if (!resp.Topics) {
        kafka_call_malformed(call, "ListOffsets request too large");
        return;
    }
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_ListOffsetsResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}
