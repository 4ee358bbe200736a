/* Partition leadership and ISR on the controller leader: the AlterPartition
 * RPC from partition leaders (KIP-497, KIP-841), answered after commit, and
 * the periodic preferred leader election (auto.leader.rebalance.enable). */
#include <stdlib.h>
#include <string.h>

#include "broker.pb-c.h"
#include "controller.h"
#include "errors.h"
#include "log.h"
#include "plan.h"

#define ALTER_ITEMS_MAX 65536      /* per request; a broker leads fewer */
#define ALTER_PENDING_MAX 1024     /* requests proposed, not yet answered */
#define REBALANCE_CHANGES_MAX 4096 /* leader changes per batch */

struct partitions {
    controller_t *c;
    size_t n_pending;
    bool rebalance_in_flight;
    struct event *rebalance_timer;
};

/* An AlterPartition waiting for its batch; keeps the request for the
 * answer's topic ids and partition numbers. */
typedef struct alter_ctx {
    partitions_t *pt;
    deferred_reply_t reply;
    Cairn__AlterPartitionRequest *req;
    md_alter_result_t *results;
} alter_ctx_t;

/* ---- AlterPartition ----------------------------------------------------- */

/* The item's partition as the image holds it now, into r (borrowing). */
static void fill_item(const md_image_t *img, const Cairn__AlterPartitionItem *it, int code,
                      Cairn__AlterPartitionItemResult *r)
{
    cairn__alter_partition_item_result__init(r);
    r->code = code;
    r->message = (char *)(code == CAIRN_ERR_OK ? "" : cairn_strerror(code));
    r->topic_id = it->topic_id;
    r->partition = it->partition;
    const md_topic_t *t = it->topic_id.len == MD_UUID_LEN
                          ? md_image_topic_by_id(img, it->topic_id.data) : NULL;
    if (!t || it->partition >= t->n_partitions)
        return;
    const md_partition_t *p = &t->partitions[it->partition];
    r->leader = p->leader;
    r->leader_epoch = p->leader_epoch;
    r->partition_epoch = p->partition_epoch;
    r->n_isr = p->n_isr;
    r->isr = p->isr;
}

/* Answers every item: with results[i].code, or with all_code when the
 * request failed as a whole (results may then be NULL). */
static void reply_alter(partitions_t *pt, deferred_reply_t *reply,
                        const Cairn__AlterPartitionRequest *req,
                        const md_alter_result_t *results, int all_code, const char *msg)
{
    Cairn__AlterPartitionResponse resp = CAIRN__ALTER_PARTITION_RESPONSE__INIT;
    Cairn__Status st;
    controller_status(pt->c, &st, all_code, msg);
    resp.status = &st;
    size_t n = req ? req->n_items : 0;
    Cairn__AlterPartitionItemResult *items = calloc(n ? n : 1, sizeof *items);
    Cairn__AlterPartitionItemResult **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    for (size_t i = 0; items && ptrs && i < n; i++) {
        int code = all_code != CAIRN_ERR_OK || !results ? all_code : results[i].code;
        fill_item(pt->c->image, req->items[i], code, &items[i]);
        ptrs[i] = &items[i];
    }
    if (items && ptrs) {
        resp.n_items = n;
        resp.items = ptrs;
    } else if (all_code == CAIRN_ERR_OK) {
        controller_status(pt->c, &st, CAIRN_ERR_NOMEM, NULL);
    }
    deferred_reply_send(reply, &resp.base);
    free(items);
    free(ptrs);
}

/* Changed items learn the batch's fate: OK once applied, or
 * INVALID_UPDATE_VERSION if the image refused it because a change committed
 * after planning touched one of its partitions (the leader retries from the
 * state in the answer). A batch not committed (NOT_LEADER, NO_QUORUM,
 * CANCELLED) fails the request as a whole, so the broker follows the new
 * controller leader and retries every item. */
static void on_alter_committed(int err, uint64_t index, int apply_rc, void *arg)
{
    alter_ctx_t *ctx = arg;
    int code = err == CAIRN_ERR_OK && apply_rc != 0 ? CAIRN_ERR_INVALID_UPDATE_VERSION : err;
    size_t changed = 0;
    for (size_t i = 0; i < ctx->req->n_items; i++) {
        if (!ctx->results[i].changed)
            continue;
        ctx->results[i].code = code;
        changed++;
    }
    if (code == CAIRN_ERR_OK)
        LOG_DEBUG("partitions", "broker %u: %zu ISR changes committed at index %llu",
                  ctx->req->broker_id, changed, (unsigned long long)index);
    else
        LOG_INFO("partitions", "broker %u: %zu ISR changes not applied: %s",
                 ctx->req->broker_id, changed, cairn_errname(code));
    reply_alter(ctx->pt, &ctx->reply, ctx->req, ctx->results, err, NULL);
    ctx->pt->n_pending--;
    cairn__alter_partition_request__free_unpacked(ctx->req, NULL);
    free(ctx->results);
    free(ctx);
}

/* Views of the request's items for the planner (borrowing req). */
static md_alter_item_t *alter_items(const Cairn__AlterPartitionRequest *req)
{
    md_alter_item_t *items = calloc(req->n_items ? req->n_items : 1, sizeof *items);
    for (size_t i = 0; items && i < req->n_items; i++) {
        const Cairn__AlterPartitionItem *it = req->items[i];
        items[i].topic_id = it->topic_id.len == MD_UUID_LEN ? it->topic_id.data : NULL;
        items[i].partition = it->partition;
        items[i].leader_epoch = it->leader_epoch;
        items[i].partition_epoch = it->partition_epoch;
        items[i].new_isr = it->new_isr;
        items[i].n_new_isr = it->n_new_isr;
    }
    return items;
}

/* Takes ctx (its request and results) and batch; answers on every path. */
static void propose_alter(partitions_t *pt, alter_ctx_t *ctx, md_batch_t *batch)
{
    uint32_t timeout_ms = (uint32_t)pt->c->cfg->controller_quorum_request_timeout_ms;
    int rc = batch->data == NULL ? CAIRN_ERR_OK
             : quorum_propose(pt->c->quorum, batch->data, batch->len, timeout_ms,
                              on_alter_committed, ctx);
    bool proposed = batch->data != NULL && rc == CAIRN_ERR_OK;
    md_batch_free(batch);
    if (proposed) {
        pt->n_pending++;
        return;
    }
    /* Nothing to commit (every item refused or a no-op), or not proposed. */
    reply_alter(pt, &ctx->reply, ctx->req, ctx->results, rc, NULL);
    cairn__alter_partition_request__free_unpacked(ctx->req, NULL);
    free(ctx->results);
    free(ctx);
}

/* Takes req. */
static void alter_partition(partitions_t *pt, deferred_reply_t *reply,
                            Cairn__AlterPartitionRequest *req)
{
    alter_ctx_t *ctx = calloc(1, sizeof *ctx);
    md_alter_item_t *items = alter_items(req);
    md_alter_result_t *results = calloc(req->n_items ? req->n_items : 1, sizeof *results);
    md_batch_t batch = { 0 };
    char why[256] = "";
    int rc = ctx && items && results ? CAIRN_ERR_OK : CAIRN_ERR_NOMEM;
    if (rc == CAIRN_ERR_OK)
        rc = md_plan_alter_partition(pt->c->image, req->broker_id, req->broker_epoch, items,
                                     req->n_items, results, &batch, why, sizeof why);
    free(items);
    if (rc != CAIRN_ERR_OK) {
        reply_alter(pt, reply, req, NULL, rc, why[0] ? why : NULL);
        cairn__alter_partition_request__free_unpacked(req, NULL);
        free(results);
        free(ctx);
        return;
    }
    if (why[0])
        LOG_DEBUG("partitions", "broker %u alter partition: %s", req->broker_id, why);
    ctx->pt = pt;
    ctx->reply = *reply;
    ctx->req = req;
    ctx->results = results;
    propose_alter(pt, ctx, &batch);
}

static void handle_alter(partitions_t *pt, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    Cairn__AlterPartitionRequest *req =
        cairn__alter_partition_request__unpack(NULL, frame->body_len, frame->body);
    deferred_reply_t reply;
    deferred_reply_init(&reply, conn, frame);
    int code = CAIRN_ERR_OK;
    const char *msg = NULL;
    if (!req || req->n_items > ALTER_ITEMS_MAX) {
        code = CAIRN_ERR_INVALID_REQUEST;
        msg = req ? "too many items" : "undecodable request";
    } else if (!quorum_leader_ready(pt->c->quorum)) {
        code = CAIRN_ERR_NOT_LEADER;
    } else if (pt->n_pending >= ALTER_PENDING_MAX) {
        code = CAIRN_ERR_QUEUE_FULL;
    }
    if (code != CAIRN_ERR_OK) {
        reply_alter(pt, &reply, req, NULL, code, msg);
        if (req)
            cairn__alter_partition_request__free_unpacked(req, NULL);
        return;
    }
    alter_partition(pt, &reply, req);
}

/* ---- preferred leader election ------------------------------------------ */

static void on_rebalance_committed(int err, uint64_t index, int apply_rc, void *arg)
{
    partitions_t *pt = arg;
    pt->rebalance_in_flight = false;
    if (err == CAIRN_ERR_OK && apply_rc == 0)
        LOG_INFO("partitions", "preferred leaders restored, committed at index %llu",
                 (unsigned long long)index);
    else
        LOG_INFO("partitions", "preferred leader election not applied (%s); retrying later",
                 err != CAIRN_ERR_OK ? cairn_errname(err) : "concurrent change");
}

static void on_rebalance_timer(evutil_socket_t fd, short what, void *arg)
{
    partitions_t *pt = arg;
    if (!pt->c->cfg->auto_leader_rebalance_enable || pt->rebalance_in_flight ||
        !quorum_leader_ready(pt->c->quorum))
        return;
    md_batch_t batch = { 0 };
    size_t n = 0;
    char why[256] = "";
    if (md_plan_preferred_leaders(pt->c->image, REBALANCE_CHANGES_MAX, &batch, &n, why,
                                  sizeof why) != CAIRN_ERR_OK) {
        LOG_WARN("partitions", "preferred leader election: %s", why);
        return;
    }
    if (n == 0)
        return;
    LOG_INFO("partitions", "moving %zu leaderships back to their preferred replicas", n);
    uint32_t timeout_ms = (uint32_t)pt->c->cfg->controller_quorum_request_timeout_ms;
    if (quorum_propose(pt->c->quorum, batch.data, batch.len, timeout_ms,
                       on_rebalance_committed, pt) == CAIRN_ERR_OK)
        pt->rebalance_in_flight = true;
    md_batch_free(&batch);
}

/* ---- module -------------------------------------------------------------- */

bool partitions_handle(partitions_t *pt, rpc_conn_t *conn, const rpc_frame_t *frame)
{
    if (frame->type != CAIRN__RPC_TYPE__RPC_ALTER_PARTITION)
        return false;
    handle_alter(pt, conn, frame);
    return true;
}

partitions_t *partitions_new(controller_t *c)
{
    partitions_t *pt = calloc(1, sizeof *pt);
    if (!pt)
        return NULL;
    pt->c = c;
    pt->rebalance_timer = event_new(c->base, -1, EV_PERSIST, on_rebalance_timer, pt);
    struct timeval tv = { (time_t)c->cfg->leader_imbalance_check_interval_seconds, 0 };
    if (!pt->rebalance_timer || event_add(pt->rebalance_timer, &tv) != 0) {
        partitions_free(pt);
        return NULL;
    }
    return pt;
}

void partitions_free(partitions_t *pt)
{
    if (!pt)
        return;
    if (pt->rebalance_timer)
        event_free(pt->rebalance_timer);
    free(pt);
}
