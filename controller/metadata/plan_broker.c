/* Fencing and unfencing brokers (KIP-631 lifecycle): the broker record plus
 * the PartitionChangeRecords that move leadership and ISR membership. */
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* The PartitionChangeRecords of one plan and the ISR arrays they point to. */
typedef struct change_set {
    md_rec_list_t l;
    Cairn__PartitionChangeRecord *changes;
    size_t n_changes;
    int32_t *isr_pool;
    size_t isr_used;
} change_set_t;

/* Allocates room for a broker record plus n_changes changes whose ISRs
 * total isr_slots entries. */
static int change_set_init(change_set_t *cs, size_t n_changes, size_t isr_slots)
{
    memset(cs, 0, sizeof *cs);
    int rc = md_rec_list_init(&cs->l, n_changes + 1);
    if (rc != CAIRN_ERR_OK)
        return rc;
    cs->changes = calloc(n_changes + 1, sizeof *cs->changes);
    cs->isr_pool = calloc(isr_slots + 1, sizeof *cs->isr_pool);
    return cs->changes && cs->isr_pool ? CAIRN_ERR_OK : CAIRN_ERR_NOMEM;
}

static void change_set_free(change_set_t *cs)
{
    md_rec_list_free(&cs->l);
    free(cs->changes);
    free(cs->isr_pool);
}

static Cairn__PartitionChangeRecord *change_add(change_set_t *cs, const md_topic_t *t,
                                                const md_partition_t *p)
{
    Cairn__PartitionChangeRecord *c = &cs->changes[cs->n_changes++];
    cairn__partition_change_record__init(c);
    c->topic_id.len = MD_UUID_LEN;
    c->topic_id.data = (uint8_t *)t->id;
    c->partition = p->partition;
    Cairn__MetadataRecord *r = md_rec_list_add(&cs->l);
    r->record_case = CAIRN__METADATA_RECORD__RECORD_PARTITION_CHANGE;
    r->partition_change = c;
    return c;
}

/* Partitions whose ISR holds the broker (and, when offline_only, that have
 * no leader), and the total size of their ISRs. */
static size_t count_isr_member(const md_image_t *img, int32_t id, bool offline_only,
                               size_t *isr_slots)
{
    size_t n = 0;
    *isr_slots = 0;
    for (size_t i = 0; i < md_image_topic_count(img); i++) {
        const md_topic_t *t = md_image_topic_at(img, i);
        for (size_t k = 0; k < t->n_partitions; k++) {
            const md_partition_t *p = &t->partitions[k];
            if (offline_only && p->leader != MD_NO_LEADER)
                continue;
            if (md_ids_contain(p->isr, p->n_isr, id)) {
                n++;
                *isr_slots += p->n_isr;
            }
        }
    }
    return n;
}

/* Kafka's election from the ISR: the first replica in assignment order that
 * is in the ISR, is not the broker leaving and is active. Unclean election
 * (an out-of-sync replica) is never chosen here. */
static int32_t elect_leader(const md_image_t *img, const md_partition_t *p, int32_t leaving)
{
    for (size_t i = 0; i < p->n_replicas; i++) {
        int32_t r = p->replicas[i];
        if (r != leaving && md_ids_contain(p->isr, p->n_isr, r) &&
            md_broker_active(md_image_broker(img, (uint32_t)r)))
            return r;
    }
    return MD_NO_LEADER;
}

/* The fenced broker leaves the ISR unless it is the last member, which stays
 * so the partition is offline rather than implying an unclean election. */
static void fence_partition(change_set_t *cs, const md_image_t *img, const md_topic_t *t,
                            const md_partition_t *p, int32_t id)
{
    int32_t *isr = &cs->isr_pool[cs->isr_used];
    size_t n_isr = 0;
    for (size_t i = 0; i < p->n_isr; i++)
        if (p->isr[i] != id)
            isr[n_isr++] = p->isr[i];
    if (n_isr == 0)
        isr[n_isr++] = id;
    int32_t leader = p->leader == id ? elect_leader(img, p, id) : p->leader;
    bool isr_changed = n_isr != p->n_isr;
    if (!isr_changed && leader == p->leader)
        return;
    cs->isr_used += n_isr;
    Cairn__PartitionChangeRecord *c = change_add(cs, t, p);
    c->leader_changed = leader != p->leader;
    c->leader = leader;
    c->isr_changed = isr_changed;
    c->n_isr = isr_changed ? n_isr : 0;
    c->isr = isr_changed ? isr : NULL;
}

static void add_broker_record(change_set_t *cs, Cairn__MetadataRecord__RecordCase kind,
                              void *msg)
{
    Cairn__MetadataRecord *r = md_rec_list_add(&cs->l);
    r->record_case = kind;
    if (kind == CAIRN__METADATA_RECORD__RECORD_FENCE_BROKER)
        r->fence_broker = msg;
    else
        r->unfence_broker = msg;
}

int md_plan_fence_broker(const md_image_t *img, uint32_t broker_id,
                         md_batch_t *out, char *why, size_t why_len)
{
    const md_broker_t *b = md_image_broker(img, broker_id);
    if (b == NULL)
        return md_plan_fail(CAIRN_ERR_BROKER_NOT_REGISTERED, why, why_len,
                            "broker %u is not registered", broker_id);
    if (b->fenced)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "broker %u already fenced", broker_id);
    int32_t id = (int32_t)broker_id;
    size_t isr_slots;
    size_t n = count_isr_member(img, id, false, &isr_slots);
    change_set_t cs;
    int rc = change_set_init(&cs, n, isr_slots);
    if (rc == CAIRN_ERR_OK) {
        Cairn__FenceBrokerRecord fb = CAIRN__FENCE_BROKER_RECORD__INIT;
        fb.broker_id = broker_id;
        fb.broker_epoch = b->epoch;
        add_broker_record(&cs, CAIRN__METADATA_RECORD__RECORD_FENCE_BROKER, &fb);
        for (size_t i = 0; i < md_image_topic_count(img); i++) {
            const md_topic_t *t = md_image_topic_at(img, i);
            for (size_t k = 0; k < t->n_partitions; k++)
                if (md_ids_contain(t->partitions[k].isr, t->partitions[k].n_isr, id))
                    fence_partition(&cs, img, t, &t->partitions[k], id);
        }
        rc = md_rec_list_pack(&cs.l, out);
    }
    change_set_free(&cs);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "broker %u: %s", broker_id, cairn_strerror(rc));
    return CAIRN_ERR_OK;
}

/* An offline partition keeps its last ISR member listed (see fence), so when
 * that broker comes back it can lead again without an unclean election. */
int md_plan_unfence_broker(const md_image_t *img, uint32_t broker_id,
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
    size_t isr_slots;
    size_t n = count_isr_member(img, id, true, &isr_slots);
    change_set_t cs;
    int rc = change_set_init(&cs, n, 0);
    if (rc == CAIRN_ERR_OK) {
        Cairn__UnfenceBrokerRecord ub = CAIRN__UNFENCE_BROKER_RECORD__INIT;
        ub.broker_id = broker_id;
        ub.broker_epoch = b->epoch;
        add_broker_record(&cs, CAIRN__METADATA_RECORD__RECORD_UNFENCE_BROKER, &ub);
        for (size_t i = 0; i < md_image_topic_count(img); i++) {
            const md_topic_t *t = md_image_topic_at(img, i);
            for (size_t k = 0; k < t->n_partitions; k++) {
                const md_partition_t *p = &t->partitions[k];
                if (p->leader != MD_NO_LEADER || !md_ids_contain(p->isr, p->n_isr, id))
                    continue;
                Cairn__PartitionChangeRecord *c = change_add(&cs, t, p);
                c->leader_changed = true;
                c->leader = id;
            }
        }
        rc = md_rec_list_pack(&cs.l, out);
    }
    change_set_free(&cs);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "broker %u: %s", broker_id, cairn_strerror(rc));
    return CAIRN_ERR_OK;
}
