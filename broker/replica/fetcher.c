/* Follower fetchers: one rpc_client per leader broker, one ReplicaFetch in
 * flight on each; the partitions of a fetch are the replicas that follow
 * that leader when it is sent. */
#include "fetcher.h"

#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "errors.h"
#include "kafka_error.h"
#include "log.h"
#include "replication.pb-c.h"
#include "rpc.h"

#define FETCHERS_MAX 256
#define FETCH_TIMEOUT_SLACK_MS 5000u
#define FETCH_RETRY_MS 100u
#define FETCH_PARTITIONS_MAX 4096u

typedef struct fetcher fetcher_t;

/* What one fetch asked for, to match the answers to (replicas may come and
 * go while it is in flight, so they are looked up again by name). */
typedef struct asked {
    char *topic;
    uint32_t partition;
    int64_t fetch_offset;
} asked_t;

struct fetcher {
    fetchers_t *set;
    int32_t leader;
    char address[CAIRN_HOST_MAX + 8];
    rpc_client_t *client;
    struct event *retry_ev;
    asked_t *asked;
    size_t n_asked;
    bool in_flight;
    bool retry_pending;
    size_t durable_waits;              /* fsyncs whose progress it will report */
    bool dead;                         /* dropped: freed once no fsync waiter refers to it */
    bool closing;                      /* inside cancel_call: ignore the callback */
};

struct fetchers {
    struct event_base *base;
    const cairn_config_t *cfg;
    replicas_t *rs;
    const md_image_t *img;
    uint32_t self;
    fetcher_t *f[FETCHERS_MAX];
    size_t n;
};

static void fetch_send(fetcher_t *f);

/* ---- lifecycle ----------------------------------------------------------- */

static void asked_clear(fetcher_t *f)
{
    for (size_t i = 0; i < f->n_asked; i++)
        free(f->asked[i].topic);
    free(f->asked);
    f->asked = NULL;
    f->n_asked = 0;
}

/* Ends f's call in flight; its callback returns at once (closing). */
static void cancel_call(fetcher_t *f)
{
    if (!f->in_flight)
        return;
    f->closing = true;
    rpc_client_free(f->client);
    f->client = NULL;
    f->closing = false;
    f->in_flight = false;
}

/* f has no call in flight (cancel_call). */
static void fetcher_free(fetcher_t *f)
{
    rpc_client_free(f->client);
    asked_clear(f);
    if (f->retry_ev)
        event_free(f->retry_ev);
    free(f);
}

/* Drops f: its call in flight is cancelled now; it is freed once no fsync
 * waiter refers to it (on_durable runs them all, at the latest when the
 * logs close). */
static void fetcher_release(fetcher_t *f)
{
    f->dead = true;
    cancel_call(f);
    if (f->retry_pending) {
        evtimer_del(f->retry_ev);
        f->retry_pending = false;
    }
    if (f->durable_waits == 0)
        fetcher_free(f);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    fetcher_t *f = arg;
    f->retry_pending = false;
    fetch_send(f);
}

static void schedule_retry(fetcher_t *f, uint32_t ms)
{
    if (f->retry_pending)
        return;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    f->retry_pending = evtimer_add(f->retry_ev, &tv) == 0;
}

/* The REPLICATION endpoint the leader registered. */
static const md_endpoint_t *replication_endpoint(const md_image_t *img, int32_t id)
{
    const md_broker_t *b = md_image_broker(img, (uint32_t)id);
    for (size_t i = 0; b && i < b->n_endpoints; i++)
        if (strcmp(b->endpoints[i].listener, CAIRN_REPLICATION_LISTENER) == 0)
            return &b->endpoints[i];
    return NULL;
}

static fetcher_t *fetcher_new(fetchers_t *set, int32_t leader, const md_endpoint_t *ep)
{
    fetcher_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->set = set;
    f->leader = leader;
    snprintf(f->address, sizeof f->address, "%s:%u", ep->host, ep->port);
    rpc_client_opts_t opts = { .backoff_min_ms = 20, .backoff_max_ms = 500,
                               .frame_max = (size_t)set->cfg->metadata_max_frame_bytes };
    f->client = rpc_client_new(set->base, ep->host, ep->port, &opts);
    f->retry_ev = evtimer_new(set->base, on_retry, f);
    if (!f->client || !f->retry_ev) {
        fetcher_free(f);
        return NULL;
    }
    LOG_INFO("fetcher", "fetching from leader %d at %s", leader, f->address);
    return f;
}

/* ---- building a fetch ------------------------------------------------------- */

static bool follows(const replica_t *r, int32_t leader)
{
    return !r->leader && r->leader_id == leader && r->log != NULL;
}

static int fill_partition(fetcher_t *f, replica_t *r, Cairn__ReplicaFetchPartition *p)
{
    asked_t *a = &f->asked[f->n_asked];
    a->topic = strdup(r->topic);
    if (!a->topic)
        return -1;
    a->partition = r->partition;
    a->fetch_offset = plog_end_offset(r->log);
    f->n_asked++;
    cairn__replica_fetch_partition__init(p);
    p->topic = r->topic;
    p->topic_id.len = MD_UUID_LEN;
    p->topic_id.data = r->topic_id;
    p->partition = r->partition;
    p->fetch_offset = a->fetch_offset;
    p->last_fetched_epoch = plog_latest_epoch(r->log);
    p->current_leader_epoch = r->leader_epoch;
    p->durable_offset = plog_durable_offset(r->log);
    p->max_bytes = (uint32_t)f->set->cfg->replica_fetch_max_bytes;
    return 0;
}

static void on_response(int err, const uint8_t *body, size_t body_len,
                        const uint8_t *payload, size_t payload_len, void *arg);

static void fetch_send(fetcher_t *f)
{
    fetchers_t *set = f->set;
    if (f->in_flight || f->dead)
        return;
    size_t n = 0;
    for (size_t i = 0; i < replicas_count(set->rs); i++)
        n += follows(replicas_at(set->rs, i), f->leader);
    if (n == 0)
        return;                         /* idle until a sync gives it partitions */
    n = n < FETCH_PARTITIONS_MAX ? n : FETCH_PARTITIONS_MAX;
    Cairn__ReplicaFetchPartition *parts = calloc(n, sizeof *parts);
    Cairn__ReplicaFetchPartition **ptrs = calloc(n, sizeof *ptrs);
    asked_clear(f);
    f->asked = calloc(n, sizeof *f->asked);
    bool ok = parts && ptrs && f->asked;
    for (size_t i = 0; ok && i < replicas_count(set->rs) && f->n_asked < n; i++) {
        replica_t *r = replicas_at(set->rs, i);
        if (follows(r, f->leader)) {
            ptrs[f->n_asked] = &parts[f->n_asked];
            ok = fill_partition(f, r, &parts[f->n_asked]) == 0;
        }
    }
    Cairn__ReplicaFetchRequest req = CAIRN__REPLICA_FETCH_REQUEST__INIT;
    req.replica_id = set->self;
    req.max_wait_ms = (uint32_t)set->cfg->replica_fetch_wait_max_ms;
    req.min_bytes = 1;
    req.max_bytes = (uint32_t)set->cfg->replica_fetch_response_max_bytes;
    req.n_partitions = f->n_asked;
    req.partitions = ptrs;
    if (ok && rpc_client_call(f->client, CAIRN__RPC_TYPE__RPC_REPLICA_FETCH, &req.base,
                              req.max_wait_ms + FETCH_TIMEOUT_SLACK_MS, on_response, f) == 0)
        f->in_flight = true;
    else
        schedule_retry(f, FETCH_RETRY_MS);
    free(parts);
    free(ptrs);
}

/* ---- applying an answer ------------------------------------------------------ */

/* An fsync of fetched records to report to the leader. Owned by the wait. */
typedef struct progress_wait {
    fetcher_t *f;
    char *topic;
    uint32_t partition;
} progress_wait_t;

/* Tells the leader what is now durable here (one-way ReplicaProgress), so
 * its high watermark moves without waiting for our next fetch. */
static void send_progress(fetcher_t *f, const replica_t *r)
{
    Cairn__ReplicaProgressPartition p = CAIRN__REPLICA_PROGRESS_PARTITION__INIT;
    Cairn__ReplicaProgressPartition *ptrs[1] = { &p };
    p.topic = r->topic;
    p.topic_id.len = MD_UUID_LEN;
    p.topic_id.data = (uint8_t *)r->topic_id;
    p.partition = r->partition;
    p.current_leader_epoch = r->leader_epoch;
    p.durable_offset = plog_durable_offset(r->log);
    Cairn__ReplicaProgress msg = CAIRN__REPLICA_PROGRESS__INIT;
    msg.replica_id = f->set->self;
    msg.n_partitions = 1;
    msg.partitions = ptrs;
    /* Dropped when the connection is down: the next fetch carries it too. */
    (void)rpc_client_send(f->client, CAIRN__RPC_TYPE__RPC_REPLICA_PROGRESS, &msg.base, NULL, 0);
}

static void on_durable(void *arg, int err)
{
    progress_wait_t *pw = arg;
    fetcher_t *f = pw->f;
    CAIRN_ASSERT(f->durable_waits > 0);
    f->durable_waits--;
    if (f->dead) {
        fetcher_release(f);
    } else if (err == 0) {
        replica_t *r = replicas_get(f->set->rs, pw->topic, (int32_t)pw->partition);
        if (r && follows(r, f->leader))
            send_progress(f, r);
    }
    free(pw->topic);
    free(pw);
}

/* KIP-279: the leader answered (epoch E, end offset X) for our last
 * fetched epoch. If we have E too, our E ends at min(X, our end of E);
 * if our largest epoch <= E is smaller, we cut to its end and ask again
 * with it, until the two lineages agree. Never past our own end, never
 * below the log start. */
static void truncate_diverged(replica_t *r, const Cairn__ReplicaFetchResult *res)
{
    int64_t end = plog_end_offset(r->log);
    int32_t own_epoch = -1;
    int64_t own_end = plog_end_offset_for_epoch(r->log, res->diverging_epoch, &own_epoch);
    int64_t to = res->diverging_end_offset;
    if (own_end >= 0 && own_epoch == res->diverging_epoch)
        to = own_end < to ? own_end : to;
    else if (own_end >= 0)
        to = own_end;
    to = to < end ? to : end;
    to = to > plog_start_offset(r->log) ? to : plog_start_offset(r->log);
    LOG_INFO("fetcher", "%s-%u: diverged from the leader at epoch %d (ends at %lld there): "
             "truncating %lld -> %lld", r->topic, r->partition, res->diverging_epoch,
             (long long)res->diverging_end_offset, (long long)end, (long long)to);
    if (to < end && plog_truncate_to(r->log, to) != 0)
        LOG_ERROR("fetcher", "%s-%u: truncation to %lld failed", r->topic, r->partition,
                  (long long)to);
}

/* The leader no longer has our fetch offset: below its log start we start
 * over there (retention moved it); above its end, truncate to its end. */
static void out_of_range(replica_t *r, const Cairn__ReplicaFetchResult *res)
{
    int64_t end = plog_end_offset(r->log);
    if (end < res->log_start_offset) {
        LOG_INFO("fetcher", "%s-%u: offset %lld below the leader's log start %lld: starting over",
                 r->topic, r->partition, (long long)end, (long long)res->log_start_offset);
        if (plog_reset_to(r->log, res->log_start_offset) != 0)
            LOG_ERROR("fetcher", "%s-%u: cannot start over at %lld", r->topic, r->partition,
                      (long long)res->log_start_offset);
    } else if (res->log_end_offset >= 0 && end > res->log_end_offset) {
        (void)plog_truncate_to(r->log, res->log_end_offset);
    }
}

/* Appends one partition's records; returns true when an fsync is awaited. */
static bool apply_records(fetcher_t *f, replica_t *r, const Cairn__ReplicaFetchResult *res,
                          uint8_t *records)
{
    if (res->records_bytes > 0) {
        plog_append_info_t info;
        int rc = plog_append_replica(r->log, records, res->records_bytes, &info);
        if (rc != 0) {
            LOG_WARN("fetcher", "%s-%u: cannot append %u bytes from leader %d (rc %d)",
                     r->topic, r->partition, res->records_bytes, f->leader, rc);
            return false;
        }
        replica_notify_appends(r);
    }
    int64_t end = plog_end_offset(r->log);
    int64_t hw = res->high_watermark < end ? res->high_watermark : end;
    if (hw > plog_high_watermark(r->log))
        plog_set_high_watermark(r->log, hw);
    if (!r->durable || res->records_bytes == 0 || plog_durable_offset(r->log) >= end)
        return false;
    progress_wait_t *pw = calloc(1, sizeof *pw);
    char *topic = pw ? strdup(r->topic) : NULL;
    if (!topic) {
        free(pw);
        return false;                   /* the next fetch reports it instead */
    }
    pw->f = f;
    pw->topic = topic;
    pw->partition = r->partition;
    f->durable_waits++;
    if (plog_when_durable(r->log, end, on_durable, pw) != 0) {
        f->durable_waits--;
        free(topic);
        free(pw);
        return false;
    }
    return true;
}

static void apply_result(fetcher_t *f, const asked_t *a, const Cairn__ReplicaFetchResult *res,
                         uint8_t *records)
{
    replica_t *r = replicas_get(f->set->rs, a->topic, (int32_t)a->partition);
    /* Gone, now the leader, following someone else, or moved meanwhile. */
    if (!r || !follows(r, f->leader) || plog_end_offset(r->log) != a->fetch_offset)
        return;
    if (res->error_code == KAFKA_ERR_NONE && res->diverging_end_offset >= 0)
        truncate_diverged(r, res);
    else if (res->error_code == KAFKA_ERR_OFFSET_OUT_OF_RANGE)
        out_of_range(r, res);
    else if (res->error_code == KAFKA_ERR_NONE)
        (void)apply_records(f, r, res, records);
    else
        LOG_DEBUG("fetcher", "%s-%u: leader %d answered %s", r->topic, r->partition,
                  f->leader, kafka_error_name(res->error_code));
}

static int apply_response(fetcher_t *f, const Cairn__ReplicaFetchResponse *resp,
                          uint8_t *payload, size_t payload_len)
{
    if (resp->n_results != f->n_asked)
        return -1;
    size_t pos = 0;
    bool retriable_error = false;
    for (size_t i = 0; i < resp->n_results; i++) {
        const Cairn__ReplicaFetchResult *res = resp->results[i];
        if (res->records_bytes > payload_len - pos)
            return -1;
        apply_result(f, &f->asked[i], res, payload + pos);
        pos += res->records_bytes;
        retriable_error |= res->error_code != KAFKA_ERR_NONE &&
                           res->error_code != KAFKA_ERR_OFFSET_OUT_OF_RANGE;
    }
    return retriable_error ? 1 : 0;
}

static void on_response(int err, const uint8_t *body, size_t body_len,
                        const uint8_t *payload, size_t payload_len, void *arg)
{
    fetcher_t *f = arg;
    if (f->closing)
        return;
    CAIRN_ASSERT(!f->dead);             /* fetcher_release cancels the call */
    f->in_flight = false;
    Cairn__ReplicaFetchResponse *resp =
        err == CAIRN_ERR_OK ? cairn__replica_fetch_response__unpack(NULL, body_len, body) : NULL;
    int rc = -1;
    if (resp && resp->status && resp->status->code == CAIRN_ERR_OK)
        rc = apply_response(f, resp, (uint8_t *)payload, payload_len);
    if (resp)
        cairn__replica_fetch_response__free_unpacked(resp, NULL);
    if (rc < 0)
        LOG_DEBUG("fetcher", "fetch from leader %d failed: %s", f->leader,
                  err ? cairn_strerror(err) : "bad response");
    if (rc != 0)
        schedule_retry(f, FETCH_RETRY_MS);   /* wait for the leader or the metadata */
    else
        fetch_send(f);
}

/* ---- the set --------------------------------------------------------------------- */

fetchers_t *fetchers_new(struct event_base *base, const cairn_config_t *cfg, replicas_t *rs,
                         const md_image_t *img, uint32_t self)
{
    fetchers_t *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->base = base;
    fs->cfg = cfg;
    fs->rs = rs;
    fs->img = img;
    fs->self = self;
    return fs;
}

static fetcher_t *find(fetchers_t *fs, int32_t leader)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->f[i]->leader == leader)
            return fs->f[i];
    return NULL;
}

static void drop(fetchers_t *fs, size_t i)
{
    fetcher_t *f = fs->f[i];
    fs->f[i] = fs->f[--fs->n];
    LOG_INFO("fetcher", "stopped fetching from broker %d", f->leader);
    fetcher_release(f);
}

void fetchers_sync(fetchers_t *fs)
{
    /* Drop fetchers nothing follows, or whose leader moved address. */
    for (size_t i = fs->n; i-- > 0;) {
        fetcher_t *f = fs->f[i];
        bool used = false;
        for (size_t j = 0; j < replicas_count(fs->rs) && !used; j++)
            used = follows(replicas_at(fs->rs, j), f->leader);
        const md_endpoint_t *ep = replication_endpoint(fs->img, f->leader);
        char addr[CAIRN_HOST_MAX + 8] = "";
        if (ep)
            snprintf(addr, sizeof addr, "%s:%u", ep->host, ep->port);
        if (!used || !ep || strcmp(addr, f->address) != 0)
            drop(fs, i);
    }
    for (size_t j = 0; j < replicas_count(fs->rs); j++) {
        replica_t *r = replicas_at(fs->rs, j);
        if (r->leader || r->leader_id < 0 || r->leader_id == (int32_t)fs->self)
            continue;
        fetcher_t *f = find(fs, r->leader_id);
        const md_endpoint_t *ep = f ? NULL : replication_endpoint(fs->img, r->leader_id);
        if (!f && ep && fs->n < FETCHERS_MAX && (f = fetcher_new(fs, r->leader_id, ep)))
            fs->f[fs->n++] = f;
    }
    for (size_t i = 0; i < fs->n; i++)
        fetch_send(fs->f[i]);
}

void fetchers_free(fetchers_t *fs)
{
    if (!fs)
        return;
    /* A fetcher still waiting for an fsync lives on until the log's close
     * runs its waiter (which no longer looks at the set). */
    while (fs->n > 0)
        fetcher_release(fs->f[--fs->n]);
    free(fs);
}
