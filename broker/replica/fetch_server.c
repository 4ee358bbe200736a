/* ReplicaFetch on the leader: per partition the checks Kafka makes (leader,
 * epoch, divergence, range), the follower's progress recorded, and records
 * from its fetch offset up to the log end — followers read past the high
 * watermark; consumers never do. DescribeReplicas (cairnctl) is answered
 * on the same listener (describe.h), and so are ListGroups and
 * DescribeGroup, from the group coordinator (group/group_rpc.h). */
#include "fetch_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "describe.h"
#include "errors.h"
#include "group/group_rpc.h"
#include "kafka_error.h"
#include "leader.h"
#include "log.h"
#include "replication.pb-c.h"
#include "rpc.h"
#include "timeutil.h"

#define FETCH_WAIT_BOUND_MS 5000u
#define FETCH_PARKED_MAX 4096u
#define FETCH_PARTITIONS_MAX 100000u

typedef struct parked parked_t;

typedef struct park_watch {
    replica_watch_t watch;
    parked_t *p;
} park_watch_t;

/* A fetch with nothing to return yet, waiting for an append or its time. */
struct parked {
    fetch_server_t *fs;
    rpc_conn_t *conn;
    uint32_t type;
    uint64_t correlation_id;
    Cairn__ReplicaFetchRequest *req;   /* owned (unpacked) */
    park_watch_t *watches;             /* one per partition */
    struct event *timer;
    parked_t *prev, *next;
};

struct fetch_server {
    struct event_base *base;
    rpc_server_t *rpc;
    replicas_t *rs;
    group_coord_t *groups;             /* borrowed */
    size_t frame_max;
    parked_t *parked;
    size_t n_parked;
    uint64_t park_seq;
};

/* ---- one partition --------------------------------------------------------- */

/* Reads whole batches [offset, end) up to max_bytes into out (grown). */
static int read_records(plog_t *log, int64_t offset, uint32_t max_bytes, uint8_t **buf,
                        size_t *len, size_t *cap)
{
    int64_t end = plog_end_offset(log);
    size_t got = 0;
    while (offset < end && got < max_bytes) {
        plog_slice_t s;
        int rc = plog_read(log, offset, end, max_bytes - (uint32_t)got, got == 0, &s);
        if (rc != 0)
            return rc;
        if (s.length == 0)
            break;
        if (*len + s.length > *cap) {
            size_t ncap = *cap ? *cap : 65536;
            while (ncap < *len + s.length)
                ncap *= 2;
            uint8_t *nb = realloc(*buf, ncap);
            if (!nb)
                return -2;
            *buf = nb;
            *cap = ncap;
        }
        ssize_t r = pread(s.fd, *buf + *len, s.length, (off_t)s.file_pos);
        if (r != (ssize_t)s.length)
            return -2;
        *len += s.length;
        got += s.length;
        offset = s.next_offset;
    }
    return 0;
}

/* KIP-101/KIP-279: when the follower's last fetched epoch ended earlier on
 * the leader (or is unknown to it), answer where it ends instead of data. */
static bool diverged(const replica_t *r, const Cairn__ReplicaFetchPartition *p,
                     Cairn__ReplicaFetchResult *res)
{
    if (p->last_fetched_epoch < 0)
        return false;
    int32_t epoch = -1;
    int64_t end = plog_end_offset_for_epoch(r->log, p->last_fetched_epoch, &epoch);
    /* An epoch the leader cannot place (above its latest: impossible for a
     * current leader, which began its epoch) is not evidence to truncate on. */
    if (end < 0 || (epoch == p->last_fetched_epoch && end >= p->fetch_offset))
        return false;
    res->diverging_epoch = epoch;
    res->diverging_end_offset = end;
    return true;
}

static int16_t check_partition(replicas_t *rs, const Cairn__ReplicaFetchPartition *p,
                               replica_t **out)
{
    replica_t *r = replicas_get(rs, p->topic, (int32_t)p->partition);
    *out = r;
    if (!r || p->topic_id.len != MD_UUID_LEN || memcmp(r->topic_id, p->topic_id.data,
                                                       MD_UUID_LEN) != 0)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!r->leader)
        return KAFKA_ERR_NOT_LEADER_OR_FOLLOWER;
    if (p->current_leader_epoch < r->leader_epoch)
        return KAFKA_ERR_FENCED_LEADER_EPOCH;
    if (p->current_leader_epoch > r->leader_epoch)
        return KAFKA_ERR_UNKNOWN_LEADER_EPOCH;
    return KAFKA_ERR_NONE;
}

typedef struct pass {
    uint8_t *buf;
    size_t len, cap;
    bool stop;                          /* an error or a divergence: answer now */
} pass_t;

static void fetch_partition(uint32_t follower, const Cairn__ReplicaFetchPartition *p,
                            uint32_t max_bytes, replicas_t *rs, Cairn__ReplicaFetchResult *res,
                            pass_t *ps)
{
    replica_t *r;
    res->error_code = check_partition(rs, p, &r);
    res->high_watermark = res->log_start_offset = res->log_end_offset = -1;
    res->diverging_epoch = -1;
    res->diverging_end_offset = -1;
    if (res->error_code != KAFKA_ERR_NONE) {
        ps->stop = true;
        return;
    }
    res->log_start_offset = plog_start_offset(r->log);
    res->log_end_offset = plog_end_offset(r->log);
    if (diverged(r, p, res)) {
        ps->stop = true;
    } else if (p->fetch_offset < res->log_start_offset || p->fetch_offset > res->log_end_offset) {
        res->error_code = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
        ps->stop = true;
    } else {
        replica_leader_fetched(r, (int32_t)follower, p->fetch_offset, p->durable_offset,
                               cairn_mono_ms());
        size_t before = ps->len;
        uint32_t want = p->max_bytes < max_bytes ? p->max_bytes : max_bytes;
        int rc = read_records(r->log, p->fetch_offset, want, &ps->buf, &ps->len, &ps->cap);
        if (rc != 0) {
            ps->len = before;
            res->error_code = rc == -1 ? KAFKA_ERR_OFFSET_OUT_OF_RANGE
                                       : KAFKA_ERR_KAFKA_STORAGE_ERROR;
            ps->stop = true;
        }
        res->records_bytes = (uint32_t)(ps->len - before);
    }
    res->high_watermark = plog_high_watermark(r->log);
}

/* ---- answering and parking ------------------------------------------------------ */

static void unpark(parked_t *p)
{
    fetch_server_t *fs = p->fs;
    for (size_t i = 0; i < p->req->n_partitions; i++)
        replica_unwatch(&p->watches[i].watch);
    if (p->timer)
        evtimer_del(p->timer);
    if (p->prev)
        p->prev->next = p->next;
    else if (fs->parked == p)
        fs->parked = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

static void parked_free(parked_t *p)
{
    if (p->timer)
        event_free(p->timer);
    rpc_conn_unref(p->conn);
    cairn__replica_fetch_request__free_unpacked(p->req, NULL);
    free(p->watches);
    free(p);
}

/* Runs one pass; answers unless it should wait and may. Returns true when
 * answered. */
static bool fetch_pass(fetch_server_t *fs, rpc_conn_t *conn, uint32_t type, uint64_t id,
                       const Cairn__ReplicaFetchRequest *req, bool may_wait)
{
    size_t n = req->n_partitions;
    Cairn__ReplicaFetchResult *res = calloc(n ? n : 1, sizeof *res);
    Cairn__ReplicaFetchResult **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    pass_t ps = { 0 };
    uint32_t budget = req->max_bytes ? req->max_bytes : (uint32_t)(fs->frame_max / 2);
    for (size_t i = 0; res && ptrs && i < n; i++) {
        cairn__replica_fetch_result__init(&res[i]);
        ptrs[i] = &res[i];
        uint32_t left = ps.len < budget ? budget - (uint32_t)ps.len : 0;
        fetch_partition(req->replica_id, req->partitions[i], left, fs->rs, &res[i], &ps);
    }
    bool answer = !res || !ptrs || ps.stop || !may_wait || ps.len >= (size_t)req->min_bytes;
    if (answer) {
        Cairn__ReplicaFetchResponse resp = CAIRN__REPLICA_FETCH_RESPONSE__INIT;
        Cairn__Status st = CAIRN__STATUS__INIT;
        st.code = res && ptrs ? CAIRN_ERR_OK : CAIRN_ERR_NOMEM;
        resp.status = &st;
        resp.n_results = res && ptrs ? n : 0;
        resp.results = ptrs;
        (void)rpc_conn_reply_to(conn, type, id, &resp.base, ps.buf, ps.len);
    }
    free(ps.buf);
    free(res);
    free(ptrs);
    return answer;
}

static void park(fetch_server_t *fs, parked_t *p);

static void on_wake_or_timeout(parked_t *p, bool expired)
{
    fetch_server_t *fs = p->fs;
    unpark(p);
    fs->n_parked--;
    bool open = rpc_conn_is_open(p->conn);
    if (!open || fetch_pass(fs, p->conn, p->type, p->correlation_id, p->req, !expired)) {
        parked_free(p);
        return;
    }
    park(fs, p);
}

static void on_wake(void *arg)
{
    on_wake_or_timeout(((park_watch_t *)arg)->p, false);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    on_wake_or_timeout(arg, true);
}

static void park(fetch_server_t *fs, parked_t *p)
{
    uint64_t mark = ++fs->park_seq;
    for (size_t i = 0; i < p->req->n_partitions; i++) {
        const Cairn__ReplicaFetchPartition *rp = p->req->partitions[i];
        replica_t *r = replicas_get(fs->rs, rp->topic, (int32_t)rp->partition);
        if (r && r->watch_mark != mark) {
            r->watch_mark = mark;
            replica_watch_appends(r, &p->watches[i].watch);
        }
    }
    p->next = fs->parked;
    if (p->next)
        p->next->prev = p;
    fs->parked = p;
    fs->n_parked++;
}

/* Parks req (taken) until an append or its max wait. */
static void park_new(fetch_server_t *fs, rpc_conn_t *conn, const rpc_frame_t *frame,
                     Cairn__ReplicaFetchRequest *req)
{
    parked_t *p = calloc(1, sizeof *p);
    park_watch_t *w = p ? calloc(req->n_partitions ? req->n_partitions : 1, sizeof *w) : NULL;
    if (p)
        p->timer = evtimer_new(fs->base, on_timer, p);
    if (!p || !w || !p->timer) {
        if (p && p->timer)
            event_free(p->timer);
        free(w);
        free(p);
        (void)fetch_pass(fs, conn, frame->type, frame->correlation_id, req, false);
        cairn__replica_fetch_request__free_unpacked(req, NULL);
        return;
    }
    p->fs = fs;
    p->conn = conn;
    rpc_conn_ref(conn);
    p->type = frame->type;
    p->correlation_id = frame->correlation_id;
    p->req = req;
    p->watches = w;
    for (size_t i = 0; i < req->n_partitions; i++) {
        w[i].p = p;
        w[i].watch.fn = on_wake;
        w[i].watch.arg = &w[i];
    }
    uint32_t ms = req->max_wait_ms < FETCH_WAIT_BOUND_MS ? req->max_wait_ms : FETCH_WAIT_BOUND_MS;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(p->timer, &tv);
    park(fs, p);
}

/* A follower's fsync completed (one-way, never answered): its durable
 * offset counts toward the high watermark at once. */
static void on_progress(fetch_server_t *fs, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__ReplicaProgress *msg =
        cairn__replica_progress__unpack(NULL, frame->body_len, frame->body);
    if (!msg || msg->n_partitions > FETCH_PARTITIONS_MAX) {
        LOG_WARN("replica", "closing connection from %s: malformed ReplicaProgress",
                 rpc_conn_peer(conn));
        if (msg)
            cairn__replica_progress__free_unpacked(msg, NULL);
        rpc_conn_close(conn);
        return;
    }
    for (size_t i = 0; i < msg->n_partitions; i++) {
        const Cairn__ReplicaProgressPartition *p = msg->partitions[i];
        replica_t *r = replicas_get(fs->rs, p->topic, (int32_t)p->partition);
        if (r && r->leader && r->leader_epoch == p->current_leader_epoch &&
            p->topic_id.len == MD_UUID_LEN && memcmp(r->topic_id, p->topic_id.data,
                                                     MD_UUID_LEN) == 0)
            replica_leader_durable(r, (int32_t)msg->replica_id, p->durable_offset);
    }
    cairn__replica_progress__free_unpacked(msg, NULL);
}

static void on_request(rpc_conn_t *conn, const rpc_frame_t *frame, void *arg)
{
    fetch_server_t *fs = arg;
    if (frame->type == CAIRN__RPC_TYPE__RPC_REPLICA_PROGRESS) {
        on_progress(fs, conn, frame);
        return;
    }
    if (frame->type == CAIRN__RPC_TYPE__RPC_DESCRIBE_REPLICAS) {
        describe_replicas_answer(fs->rs, conn, frame);
        return;
    }
    if (frame->type == CAIRN__RPC_TYPE__RPC_LIST_GROUPS) {
        group_rpc_list_answer(fs->groups, conn, frame);
        return;
    }
    if (frame->type == CAIRN__RPC_TYPE__RPC_DESCRIBE_GROUP) {
        group_rpc_describe_answer(fs->groups, conn, frame);
        return;
    }
    if (frame->type != CAIRN__RPC_TYPE__RPC_REPLICA_FETCH) {
        LOG_WARN("replica", "closing connection from %s: unexpected request type %u",
                 rpc_conn_peer(conn), frame->type);
        rpc_conn_close(conn);
        return;
    }
    Cairn__ReplicaFetchRequest *req =
        cairn__replica_fetch_request__unpack(NULL, frame->body_len, frame->body);
    if (!req || req->n_partitions > FETCH_PARTITIONS_MAX) {
        LOG_WARN("replica", "closing connection from %s: malformed ReplicaFetch",
                 rpc_conn_peer(conn));
        if (req)
            cairn__replica_fetch_request__free_unpacked(req, NULL);
        rpc_conn_close(conn);
        return;
    }
    bool may_wait = req->max_wait_ms > 0 && fs->n_parked < FETCH_PARKED_MAX;
    if (fetch_pass(fs, conn, frame->type, frame->correlation_id, req, may_wait)) {
        cairn__replica_fetch_request__free_unpacked(req, NULL);
        return;
    }
    park_new(fs, conn, frame, req);
}

fetch_server_t *fetch_server_new(struct event_base *base, const char *host, uint16_t port,
                                 replicas_t *rs, group_coord_t *gc, size_t frame_max)
{
    CAIRN_ASSERT(gc);
    fetch_server_t *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->base = base;
    fs->rs = rs;
    fs->groups = gc;
    fs->frame_max = frame_max ? frame_max : CAIRN_RPC_FRAME_MAX_DEFAULT;
    rpc_server_opts_t opts = { .frame_max = fs->frame_max };
    fs->rpc = rpc_server_new(base, host, port, &opts, on_request, fs);
    if (!fs->rpc) {
        free(fs);
        return NULL;
    }
    return fs;
}

void fetch_server_free(fetch_server_t *fs)
{
    if (!fs)
        return;
    while (fs->parked) {
        parked_t *p = fs->parked;
        unpark(p);
        fs->n_parked--;
        if (rpc_conn_is_open(p->conn))
            (void)fetch_pass(fs, p->conn, p->type, p->correlation_id, p->req, false);
        parked_free(p);
    }
    rpc_server_free(fs->rpc);
    free(fs);
}
