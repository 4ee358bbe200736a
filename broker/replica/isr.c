/* AlterPartition requests from this broker's leaders, one in flight. */
#include "isr.h"

#include <stdlib.h>
#include <string.h>

#include "broker.pb-c.h"
#include "ctrl_client.h"
#include "errors.h"
#include "leader.h"
#include "log.h"
#include "timeutil.h"

#define ISR_ITEMS_MAX 1024
#define ISR_TICK_MAX_MS 1000u
#define ISR_TIMEOUT_MS 5000u

typedef struct sent {
    char *topic;
    uint32_t partition;
} sent_t;

struct isr_manager {
    struct event_base *base;
    const cairn_config_t *cfg;
    replicas_t *rs;
    controller_link_t *link;
    uint32_t self;
    struct event *tick;
    bool in_flight;
    bool poked;
    sent_t sent[ISR_ITEMS_MAX];
    size_t n_sent;
};

static void sent_clear(isr_manager_t *m)
{
    for (size_t i = 0; i < m->n_sent; i++)
        free(m->sent[i].topic);
    m->n_sent = 0;
}

static void check_all(isr_manager_t *m);

static void on_altered(int err, const char *why, const uint8_t *body, size_t len, void *arg)
{
    isr_manager_t *m = arg;
    m->in_flight = false;
    Cairn__AlterPartitionResponse *resp =
        err == CAIRN_ERR_OK ? cairn__alter_partition_response__unpack(NULL, len, body) : NULL;
    for (size_t i = 0; i < m->n_sent; i++) {
        replica_t *r = replicas_get(m->rs, m->sent[i].topic, (int32_t)m->sent[i].partition);
        if (r)
            r->alter_in_flight = false;
        int code = !resp ? (err ? err : CAIRN_ERR_CORRUPT)
                   : i < resp->n_items ? resp->items[i]->code : CAIRN_ERR_INVALID_REQUEST;
        if (code != CAIRN_ERR_OK)
            LOG_INFO("isr", "%s-%u: ISR change refused: %s", m->sent[i].topic,
                     m->sent[i].partition, cairn_errname(code));
    }
    if (!resp && err)
        LOG_DEBUG("isr", "AlterPartition failed: %s", why && *why ? why : cairn_strerror(err));
    if (resp)
        cairn__alter_partition_response__free_unpacked(resp, NULL);
    sent_clear(m);
    /* Cancelled: the link is being freed; send nothing more through it. */
    if (m->poked && err != CAIRN_ERR_CANCELLED)
        check_all(m);
}

typedef struct batch {
    Cairn__AlterPartitionItem items[ISR_ITEMS_MAX];
    Cairn__AlterPartitionItem *ptrs[ISR_ITEMS_MAX];
    int32_t isrs[ISR_ITEMS_MAX][REPLICA_MAX];
    size_t n;
} batch_t;

static void add_item(isr_manager_t *m, batch_t *b, replica_t *r, const int32_t *isr, size_t n)
{
    Cairn__AlterPartitionItem *it = &b->items[b->n];
    cairn__alter_partition_item__init(it);
    it->topic_id.len = MD_UUID_LEN;
    it->topic_id.data = r->topic_id;
    it->partition = r->partition;
    it->leader_epoch = (uint32_t)r->leader_epoch;
    it->partition_epoch = r->partition_epoch;
    memcpy(b->isrs[b->n], isr, n * sizeof *isr);
    it->new_isr = b->isrs[b->n];
    it->n_new_isr = n;
    b->ptrs[b->n] = it;
    /* KIP-497: meanwhile the high watermark counts the wanted members too. */
    memcpy(r->pending_isr, isr, n * sizeof *isr);
    r->n_pending_isr = n;
    r->alter_in_flight = true;
    m->sent[m->n_sent].topic = strdup(r->topic);
    m->sent[m->n_sent].partition = r->partition;
    m->n_sent++;
    b->n++;
    LOG_INFO("isr", "%s-%u: asking for ISR of %zu (now %zu) at partition epoch %u", r->topic,
             r->partition, n, r->isr_size, r->partition_epoch);
}

static void check_all(isr_manager_t *m)
{
    if (m->in_flight) {
        m->poked = true;                /* again once the answer is in */
        return;
    }
    m->poked = false;
    uint64_t epoch = controller_link_broker_epoch(m->link);
    if (epoch == 0)
        return;
    batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return;
    uint64_t now = cairn_mono_ms();
    uint64_t lag = (uint64_t)m->cfg->replica_lag_time_max_ms;
    for (size_t i = 0; i < replicas_count(m->rs) && b->n < ISR_ITEMS_MAX; i++) {
        replica_t *r = replicas_at(m->rs, i);
        int32_t isr[REPLICA_MAX];
        size_t n;
        if (r->leader && !r->alter_in_flight && replica_leader_isr_wanted(r, now, lag, isr, &n))
            add_item(m, b, r, isr, n);
    }
    if (b->n > 0) {
        Cairn__AlterPartitionRequest req = CAIRN__ALTER_PARTITION_REQUEST__INIT;
        req.broker_id = m->self;
        req.broker_epoch = epoch;
        req.n_items = b->n;
        req.items = b->ptrs;
        if (ctrl_client_call(controller_link_client(m->link), CAIRN__RPC_TYPE__RPC_ALTER_PARTITION,
                             &req.base, ISR_TIMEOUT_MS, on_altered, m) == 0) {
            m->in_flight = true;
        } else {
            for (size_t i = 0; i < m->n_sent; i++) {
                replica_t *r = replicas_get(m->rs, m->sent[i].topic, (int32_t)m->sent[i].partition);
                if (r)
                    r->alter_in_flight = false;
            }
            sent_clear(m);
        }
    }
    free(b);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    check_all(arg);
}

isr_manager_t *isr_manager_new(struct event_base *base, const cairn_config_t *cfg,
                               replicas_t *rs, controller_link_t *link, uint32_t self)
{
    isr_manager_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->base = base;
    m->cfg = cfg;
    m->rs = rs;
    m->link = link;
    m->self = self;
    m->tick = event_new(base, -1, EV_PERSIST, on_tick, m);
    uint64_t ms = (uint64_t)cfg->replica_lag_time_max_ms / 2;
    ms = ms > ISR_TICK_MAX_MS ? ISR_TICK_MAX_MS : ms ? ms : 1;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    if (!m->tick || event_add(m->tick, &tv) != 0) {
        isr_manager_free(m);
        return NULL;
    }
    return m;
}

void isr_manager_poke(isr_manager_t *m)
{
    check_all(m);
}

void isr_manager_free(isr_manager_t *m)
{
    if (!m)
        return;
    if (m->tick)
        event_free(m->tick);
    sent_clear(m);
    free(m);
}
