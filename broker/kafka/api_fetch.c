/* Fetch (key 1): whole stored batches below the readable offset, sent with
 * sendfile from the segment files; a long poll parks the request until
 * MinBytes are readable or MaxWaitMs passes (the fetch purgatory: one watch
 * per requested partition on its replica). Fetch sessions (KIP-227) are
 * declined: SessionId 0, so clients send full fetches. */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "kafka_error.h"
#include "kafka_messages.h"
#include "log.h"

#define FETCH_MAX_WAIT_BOUND_MS 30000
#define FETCH_PARKED_MAX 10000
#define FETCH_SLICES_MAX 4             /* segments one partition's answer may span */

typedef struct fetch fetch_t;

typedef struct fetch_part {
    fetch_t *f;
    replica_watch_t watch;
    kafka_records_slice_t slices[FETCH_SLICES_MAX];
} fetch_part_t;

struct fetch {
    kafka_call_t *call;
    kafka_FetchRequest_t req;
    kafka_FetchResponse_t resp;
    fetch_part_t *parts;               /* one per requested partition, in order */
    size_t n_parts;
    struct event *timer;
    bool parked, expired;
    fetch_t *prev, *next;              /* in broker.fetches_parked */
};

/* ---- reading one partition ---------------------------------------------- */

/* Reads up to max_bytes of whole batches into the part's slices; returns
 * the bytes read or -1 with *err set. */
static int64_t read_partition(replica_t *r, int64_t offset, int64_t max_bytes, bool min_one,
                              fetch_part_t *fp, kafka_FetchResponse_PartitionData_t *pd,
                              int16_t *err)
{
    int64_t hw = plog_readable_offset(r->log);
    pd->HighWatermark = hw;
    pd->LastStableOffset = hw;
    pd->LogStartOffset = plog_start_offset(r->log);
    int64_t got = 0;
    int32_t n = 0;
    while (n < FETCH_SLICES_MAX && offset < hw && (got < max_bytes || (min_one && got == 0))) {
        plog_slice_t s;
        uint32_t want = (uint32_t)(max_bytes - got > INT32_MAX ? INT32_MAX : max_bytes - got);
        int rc = plog_read(r->log, offset, hw, want, min_one && got == 0, &s);
        if (rc != 0 && n == 0) {
            *err = rc == -1 ? KAFKA_ERR_OFFSET_OUT_OF_RANGE : KAFKA_ERR_KAFKA_STORAGE_ERROR;
            return -1;
        }
        if (rc != 0 || s.length == 0)
            break;
        fp->slices[n] = (kafka_records_slice_t){ .mem = NULL, .fd = s.fd,
                                                 .pos = s.file_pos, .len = s.length };
        n++;
        got += s.length;
        offset = s.next_offset;
    }
    if (n == 0 && offset > plog_end_offset(r->log)) {
        *err = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
        return -1;
    }
    pd->Records.slices = fp->slices;
    pd->Records.n_slices = n;
    pd->Records.len = (int32_t)got;
    return got;
}

/* ---- one pass over the request --------------------------------------------- */

typedef struct pass {
    int64_t bytes;                     /* records gathered */
    bool error;                        /* some partition failed: answer at once */
} pass_t;

static void fill_partition(fetch_t *f, const char *topic,
                           const kafka_FetchRequest_FetchPartition_t *fp, fetch_part_t *part,
                           kafka_FetchResponse_PartitionData_t *pd, pass_t *ps)
{
    broker_t *b = f->call->b;
    memset(pd, 0, sizeof *pd);
    pd->PartitionIndex = fp->Partition;
    pd->HighWatermark = -1;
    pd->LastStableOffset = -1;
    pd->LogStartOffset = -1;
    pd->PreferredReadReplica = -1;
    pd->AbortedTransactions_count = -1;
    for (int32_t j = 0; j < FETCH_SLICES_MAX; j++)
        part->slices[j] = (kafka_records_slice_t){ .mem = NULL, .fd = -1, .pos = 0, .len = 0 };
    replica_t *r;
    int16_t err = kafka_find_leader(b, topic, fp->Partition, fp->CurrentLeaderEpoch, &r);
    int64_t total_left = f->req.MaxBytes - ps->bytes;
    int64_t limit = fp->PartitionMaxBytes < total_left ? fp->PartitionMaxBytes : total_left;
    if (err == KAFKA_ERR_NONE) {
        /* Only the first partition with data may exceed the limits (KIP-74). */
        int64_t got = read_partition(r, fp->FetchOffset, limit > 0 ? limit : 0,
                                     ps->bytes == 0, part, pd, &err);
        if (got > 0)
            ps->bytes += got;
    }
    if (err != KAFKA_ERR_NONE) {
        pd->ErrorCode = err;
        ps->error = true;
    }
}

static pass_t fetch_pass(fetch_t *f)
{
    pass_t ps = { 0, false };
    size_t k = 0;
    for (int32_t i = 0; i < f->req.Topics_count; i++) {
        kafka_FetchRequest_FetchTopic_t *ft = &f->req.Topics[i];
        kafka_FetchResponse_FetchableTopicResponse_t *rt = &f->resp.Responses[i];
        for (int32_t j = 0; j < ft->Partitions_count; j++, k++)
            fill_partition(f, ft->Topic, &ft->Partitions[j], &f->parts[k],
                           &rt->Partitions[j], &ps);
    }
    return ps;
}

/* ---- answering and parking ----------------------------------------------------- */

static void unpark(fetch_t *f)
{
    broker_t *b = f->call->b;
    /* The MaxWaitMs timer keeps running: a wake-up that finds too little
     * parks again, and the timer still bounds the whole wait. Only the
     * answer removes it. */
    for (size_t i = 0; i < f->n_parts; i++)
        replica_unwatch(&f->parts[i].watch);
    if (!f->parked)
        return;
    if (f->prev)
        f->prev->next = f->next;
    else
        b->fetches_parked = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
    f->parked = false;
    b->n_fetches_parked--;
}

/* The encoder takes the file descriptors: give it duplicates. A partition
 * whose descriptor cannot be duplicated answers without its records. */
static void dup_slices(fetch_t *f)
{
    size_t k = 0;
    for (int32_t i = 0; i < f->resp.Responses_count; i++)
        for (int32_t j = 0; j < f->resp.Responses[i].Partitions_count; j++, k++) {
            kafka_FetchResponse_PartitionData_t *pd = &f->resp.Responses[i].Partitions[j];
            bool ok = true;
            for (int32_t n = 0; n < pd->Records.n_slices; n++) {
                kafka_records_slice_t *sl = &f->parts[k].slices[n];
                sl->fd = ok ? dup(sl->fd) : -1;
                ok = ok && sl->fd >= 0;
            }
            if (ok)
                continue;
            for (int32_t n = 0; n < pd->Records.n_slices; n++)
                if (f->parts[k].slices[n].fd >= 0)
                    close(f->parts[k].slices[n].fd);
            LOG_WARN("fetch", "%s-%d: cannot duplicate a segment descriptor",
                     f->resp.Responses[i].Topic, pd->PartitionIndex);
            pd->ErrorCode = KAFKA_ERR_KAFKA_STORAGE_ERROR;
            pd->Records.n_slices = 0;
            pd->Records.len = 0;
        }
}

static void fetch_answer(fetch_t *f)
{
    unpark(f);
    kafka_call_t *call = f->call;
    dup_slices(f);
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_FetchResponse_encode(w, call->hdr.api_version, &f->resp);
    if (f->timer)
        event_free(f->timer);
    free(f->parts);
    free(f);
    kafka_call_reply(call);
}

static void fetch_try(fetch_t *f);

static void on_wake(void *arg)
{
    fetch_part_t *part = arg;
    fetch_t *f = part->f;
    unpark(f);
    fetch_try(f);
}

static void on_expired(evutil_socket_t fd, short what, void *arg)
{
    fetch_t *f = arg;
    f->expired = true;
    unpark(f);
    fetch_try(f);
}

static void park(fetch_t *f)
{
    broker_t *b = f->call->b;
    uint64_t mark = ++b->fetch_park_seq;   /* marks replicas this park already watches */
    size_t k = 0;
    for (int32_t i = 0; i < f->req.Topics_count; i++) {
        kafka_FetchRequest_FetchTopic_t *ft = &f->req.Topics[i];
        for (int32_t j = 0; j < ft->Partitions_count; j++, k++) {
            replica_t *r = replicas_get(b->replicas, ft->Topic, ft->Partitions[j].Partition);
            if (r && r->watch_mark != mark) {
                r->watch_mark = mark;
                replica_watch(r, &f->parts[k].watch);
            }
        }
    }
    f->parked = true;
    f->next = b->fetches_parked;
    if (f->next)
        f->next->prev = f;
    b->fetches_parked = f;
    b->n_fetches_parked++;
}

static void fetch_try(fetch_t *f)
{
    broker_t *b = f->call->b;
    pass_t ps = fetch_pass(f);
    bool enough = ps.bytes >= f->req.MinBytes || ps.error || f->expired ||
                  f->req.MaxWaitMs <= 0 || b->shutting_down ||
                  b->n_fetches_parked >= FETCH_PARKED_MAX;
    if (enough) {
        fetch_answer(f);
        return;
    }
    park(f);
}

/* ---- the handler --------------------------------------------------------------- */

static int fetch_setup(fetch_t *f)
{
    kafka_call_t *call = f->call;
    int32_t nt = f->req.Topics_count > 0 ? f->req.Topics_count : 0;
    f->resp.Responses = kafka_call_alloc(call, nt ? (size_t)nt : 1, sizeof *f->resp.Responses);
    if (!f->resp.Responses)
        return -1;
    f->resp.Responses_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        kafka_FetchRequest_FetchTopic_t *ft = &f->req.Topics[i];
        int32_t np = ft->Partitions_count > 0 ? ft->Partitions_count : 0;
        f->resp.Responses[i].Topic = ft->Topic;
        f->resp.Responses[i].Partitions =
            kafka_call_alloc(call, np ? (size_t)np : 1, sizeof *f->resp.Responses[i].Partitions);
        if (!f->resp.Responses[i].Partitions)
            return -1;
        f->resp.Responses[i].Partitions_count = np;
        f->n_parts += (size_t)np;
    }
    f->parts = calloc(f->n_parts ? f->n_parts : 1, sizeof *f->parts);
    if (!f->parts)
        return -1;
    for (size_t k = 0; k < f->n_parts; k++) {
        f->parts[k].f = f;
        f->parts[k].watch.fn = on_wake;
        f->parts[k].watch.arg = &f->parts[k];
        for (int32_t j = 0; j < FETCH_SLICES_MAX; j++)
            f->parts[k].slices[j].fd = -1;
    }
    return 0;
}

static int fetch_start_timer(fetch_t *f)
{
    int32_t ms = f->req.MaxWaitMs;
    if (ms <= 0)
        return 0;
    if (ms > FETCH_MAX_WAIT_BOUND_MS)
        ms = FETCH_MAX_WAIT_BOUND_MS;
    f->timer = evtimer_new(f->call->b->base, on_expired, f);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return f->timer && evtimer_add(f->timer, &tv) == 0 ? 0 : -1;
}

void kafka_handle_Fetch(kafka_call_t *call)
{
    fetch_t *f = calloc(1, sizeof *f);
    if (!f) {
        kafka_call_malformed(call, "out of memory");
        return;
    }
    f->call = call;
    if (kafka_FetchRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                  &f->req) != 0) {
        free(f);
        kafka_call_malformed(call, "malformed Fetch");
        return;
    }
    kafka_FetchResponse_init(&f->resp);
    f->resp.SessionId = 0;
    if (fetch_setup(f) != 0 || fetch_start_timer(f) != 0) {
        if (f->timer)
            event_free(f->timer);
        free(f->parts);
        free(f);
        kafka_call_malformed(call, "Fetch request too large");
        return;
    }
    fetch_try(f);
}

void kafka_fetch_release_all(broker_t *b)
{
    while (b->fetches_parked) {
        fetch_t *f = b->fetches_parked;
        f->expired = true;
        unpark(f);
        fetch_try(f);
    }
}
