/* Brokers leaving and joining service (KIP-631 lifecycle): fence, controlled
 * shutdown and unfence, each one batch of the broker record plus the
 * PartitionChangeRecords that move leadership and ISR membership. */
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

typedef enum { LEAVE_FENCE, LEAVE_SHUTDOWN } leave_kind_t;

/* Partitions whose ISR holds the broker, and the total size of their ISRs. */
static size_t count_isr_member(const md_image_t *img, int32_t id, size_t *isr_slots)
{
    size_t n = 0;
    *isr_slots = 0;
    for (size_t i = 0; i < md_image_topic_count(img); i++) {
        const md_topic_t *t = md_image_topic_at(img, i);
        for (size_t k = 0; k < t->n_partitions; k++) {
            const md_partition_t *p = &t->partitions[k];
            if (md_ids_contain(p->isr, p->n_isr, id)) {
                n++;
                *isr_slots += p->n_isr;
            }
        }
    }
    return n;
}

/* The leaving broker leaves the ISR unless it is the last member, which
 * stays so the partition is offline rather than implying an unclean
 * election. If it led, the first other in-sync active replica leads; with
 * none, and unclean election enabled for the topic, the first active
 * out-of-sync replica leads alone (ISR = {it}). */
static void leave_partition(md_change_set_t *cs, const md_image_t *img, const md_topic_t *t,
                            const md_partition_t *p, int32_t id, bool unclean_default)
{
    int32_t isr[MD_REPLICAS_MAX];
    size_t n_isr = 0;
    for (size_t i = 0; i < p->n_isr && n_isr < MD_REPLICAS_MAX; i++)
        if (p->isr[i] != id)
            isr[n_isr++] = p->isr[i];
    if (n_isr == 0)
        isr[n_isr++] = id;
    int32_t leader = p->leader;
    if (leader == id || leader == MD_NO_LEADER) {
        leader = md_elect_clean(img, p, id);
        if (leader == MD_NO_LEADER && md_topic_unclean_enabled(t, unclean_default)) {
            leader = md_elect_unclean(img, p, id);
            if (leader != MD_NO_LEADER) {
                isr[0] = leader;
                n_isr = 1;
            }
        }
    }
    bool isr_changed = n_isr != p->n_isr || (n_isr == 1 && isr[0] != p->isr[0]);
    if (!isr_changed && leader == p->leader)
        return;
    Cairn__PartitionChangeRecord *c = md_change_add(cs, t, p);
    c->leader_changed = leader != p->leader;
    c->leader = leader;
    if (isr_changed)
        md_change_set_isr(cs, c, isr, n_isr);
}

static void add_broker_record(md_change_set_t *cs, Cairn__MetadataRecord__RecordCase kind,
                              void *msg)
{
    Cairn__MetadataRecord *r = md_rec_list_add(&cs->l);
    r->record_case = kind;
    if (kind == CAIRN__METADATA_RECORD__RECORD_FENCE_BROKER)
        r->fence_broker = msg;
    else if (kind == CAIRN__METADATA_RECORD__RECORD_BROKER_SHUTDOWN)
        r->broker_shutdown = msg;
    else
        r->unfence_broker = msg;
}

/* Fence and controlled shutdown: the broker record first, so the election
 * that follows already sees the broker as inactive, then one change per
 * partition whose ISR holds it. */
static int leave_plan(const md_image_t *img, const md_broker_t *b, leave_kind_t kind,
                      bool unclean_default, md_batch_t *out)
{
    int32_t id = (int32_t)b->id;
    size_t isr_slots;
    size_t n = count_isr_member(img, id, &isr_slots);
    md_change_set_t cs;
    int rc = md_change_set_init(&cs, 1, n, isr_slots);
    if (rc == CAIRN_ERR_OK) {
        Cairn__FenceBrokerRecord fb = CAIRN__FENCE_BROKER_RECORD__INIT;
        Cairn__BrokerShutdownRecord sb = CAIRN__BROKER_SHUTDOWN_RECORD__INIT;
        fb.broker_id = sb.broker_id = b->id;
        fb.broker_epoch = sb.broker_epoch = b->epoch;
        if (kind == LEAVE_FENCE)
            add_broker_record(&cs, CAIRN__METADATA_RECORD__RECORD_FENCE_BROKER, &fb);
        else
            add_broker_record(&cs, CAIRN__METADATA_RECORD__RECORD_BROKER_SHUTDOWN, &sb);
        for (size_t i = 0; i < md_image_topic_count(img); i++) {
            const md_topic_t *t = md_image_topic_at(img, i);
            for (size_t k = 0; k < t->n_partitions; k++)
                if (md_ids_contain(t->partitions[k].isr, t->partitions[k].n_isr, id))
                    leave_partition(&cs, img, t, &t->partitions[k], id, unclean_default);
        }
        rc = md_rec_list_pack(&cs.l, out);
    }
    md_change_set_free(&cs);
    return rc;
}

int md_plan_fence_broker(const md_image_t *img, uint32_t broker_id, bool unclean_default,
                         md_batch_t *out, char *why, size_t why_len)
{
    const md_broker_t *b = md_image_broker(img, broker_id);
    if (b == NULL)
        return md_plan_fail(CAIRN_ERR_BROKER_NOT_REGISTERED, why, why_len,
                            "broker %u is not registered", broker_id);
    if (b->fenced)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "broker %u already fenced", broker_id);
    int rc = leave_plan(img, b, LEAVE_FENCE, unclean_default, out);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "broker %u: %s", broker_id, cairn_strerror(rc));
    return CAIRN_ERR_OK;
}

/* KIP-631 controlled shutdown. A fenced broker leads nothing and is in no
 * ISR it could leave, so the controller releases it without a record. */
int md_plan_shutdown_broker(const md_image_t *img, uint32_t broker_id, bool unclean_default,
                            md_batch_t *out, char *why, size_t why_len)
{
    const md_broker_t *b = md_image_broker(img, broker_id);
    if (b == NULL)
        return md_plan_fail(CAIRN_ERR_BROKER_NOT_REGISTERED, why, why_len,
                            "broker %u is not registered", broker_id);
    if (b->fenced || b->in_controlled_shutdown)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "broker %u is %s", broker_id,
                            b->fenced ? "fenced" : "already in controlled shutdown");
    int rc = leave_plan(img, b, LEAVE_SHUTDOWN, unclean_default, out);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "broker %u: %s", broker_id, cairn_strerror(rc));
    return CAIRN_ERR_OK;
}

bool md_broker_leads_any(const md_image_t *img, uint32_t broker_id)
{
    for (size_t i = 0; i < md_image_topic_count(img); i++) {
        const md_topic_t *t = md_image_topic_at(img, i);
        for (size_t k = 0; k < t->n_partitions; k++)
            if (t->partitions[k].leader == (int32_t)broker_id)
                return true;
    }
    return false;
}

/* The returning broker's part in an offline partition: it leads from the
 * ISR (kept listed by fence for this), or, with unclean election and no
 * active ISR member, as an out-of-sync replica with ISR = {it}. *isr_reset
 * tells which. */
static bool unfence_leads(const md_image_t *img, const md_topic_t *t, const md_partition_t *p,
                          int32_t id, bool unclean_default, bool *isr_reset)
{
    *isr_reset = false;
    if (p->leader != MD_NO_LEADER || !md_ids_contain(p->replicas, p->n_replicas, id))
        return false;
    if (md_ids_contain(p->isr, p->n_isr, id))
        return true;
    if (!md_topic_unclean_enabled(t, unclean_default) ||
        md_elect_clean(img, p, MD_NO_LEADER) != MD_NO_LEADER)
        return false;
    *isr_reset = true;
    return true;
}

static size_t count_unfence(const md_image_t *img, int32_t id, bool unclean_default)
{
    size_t n = 0;
    for (size_t i = 0; i < md_image_topic_count(img); i++) {
        const md_topic_t *t = md_image_topic_at(img, i);
        for (size_t k = 0; k < t->n_partitions; k++) {
            bool reset;
            n += unfence_leads(img, t, &t->partitions[k], id, unclean_default, &reset);
        }
    }
    return n;
}

int md_plan_unfence_broker(const md_image_t *img, uint32_t broker_id, bool unclean_default,
                           md_batch_t *out, char *why, size_t why_len)
{
    const md_broker_t *b = md_image_broker(img, broker_id);
    if (b == NULL)
        return md_plan_fail(CAIRN_ERR_BROKER_NOT_REGISTERED, why, why_len,
                            "broker %u is not registered", broker_id);
    if (md_broker_active(b))
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "broker %u is not fenced", broker_id);
    int32_t id = (int32_t)broker_id;
    size_t n = count_unfence(img, id, unclean_default);
    md_change_set_t cs;
    int rc = md_change_set_init(&cs, 1, n, n);
    if (rc == CAIRN_ERR_OK) {
        Cairn__UnfenceBrokerRecord ub = CAIRN__UNFENCE_BROKER_RECORD__INIT;
        ub.broker_id = broker_id;
        ub.broker_epoch = b->epoch;
        add_broker_record(&cs, CAIRN__METADATA_RECORD__RECORD_UNFENCE_BROKER, &ub);
        for (size_t i = 0; i < md_image_topic_count(img); i++) {
            const md_topic_t *t = md_image_topic_at(img, i);
            for (size_t k = 0; k < t->n_partitions; k++) {
                bool reset;
                if (!unfence_leads(img, t, &t->partitions[k], id, unclean_default, &reset))
                    continue;
                Cairn__PartitionChangeRecord *c = md_change_add(&cs, t, &t->partitions[k]);
                c->leader_changed = true;
                c->leader = id;
                if (reset)
                    md_change_set_isr(&cs, c, &id, 1);
            }
        }
        rc = md_rec_list_pack(&cs.l, out);
    }
    md_change_set_free(&cs);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "broker %u: %s", broker_id, cairn_strerror(rc));
    return CAIRN_ERR_OK;
}
