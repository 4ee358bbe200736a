/* ISR changes reported by partition leaders: Kafka's AlterPartition
 * (KIP-497) with KIP-841's eligibility rule, validated item by item against
 * the image and planned as one batch of guarded PartitionChangeRecords. */
#include "md_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* The partitions already accepted in this request, so a second item for
 * one of them is refused instead of producing two records whose second
 * guard would fail the whole batch. Open addressing on the pointer. */
typedef struct seen_set {
    const md_partition_t **slots;
    size_t cap;                    /* a power of two, > 2 * items */
} seen_set_t;

static int seen_init(seen_set_t *s, size_t n_items)
{
    s->cap = 16;
    while (s->cap < 2 * n_items + 2)
        s->cap *= 2;
    s->slots = calloc(s->cap, sizeof *s->slots);
    return s->slots ? CAIRN_ERR_OK : CAIRN_ERR_NOMEM;
}

/* Inserts p; returns false if it was there already. */
static bool seen_add(seen_set_t *s, const md_partition_t *p)
{
    size_t h = (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->slots[h] != NULL) {
        if (s->slots[h] == p)
            return false;
        h = (h + 1) & (s->cap - 1);
    }
    s->slots[h] = p;
    return true;
}

/* KIP-497's ISR shape: non-empty, replicas only, no duplicates, leader in. */
static int isr_shape_check(const md_partition_t *p, const md_alter_item_t *it,
                           char *why, size_t why_len)
{
    if (it->n_new_isr == 0 || it->new_isr == NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "partition %u: empty isr", p->partition);
    if (it->n_new_isr > p->n_replicas)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "partition %u: isr of %zu larger than %zu replicas",
                            p->partition, it->n_new_isr, p->n_replicas);
    for (size_t i = 0; i < it->n_new_isr; i++) {
        int32_t r = it->new_isr[i];
        if (!md_ids_contain(p->replicas, p->n_replicas, r))
            return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                                "partition %u: isr member %d is not a replica",
                                p->partition, r);
        if (md_ids_contain(it->new_isr, i, r))
            return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                                "partition %u: isr member %d listed twice", p->partition, r);
    }
    if (!md_ids_contain(it->new_isr, it->n_new_isr, p->leader))
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "partition %u: isr without its leader %d", p->partition,
                            p->leader);
    return CAIRN_ERR_OK;
}

/* KIP-841: a replica joins the ISR only while active; one that is fenced
 * or shutting down would count toward acks=all yet may never fetch. */
static int isr_additions_check(const md_image_t *img, const md_partition_t *p,
                               const md_alter_item_t *it, char *why, size_t why_len)
{
    for (size_t i = 0; i < it->n_new_isr; i++) {
        int32_t r = it->new_isr[i];
        if (md_ids_contain(p->isr, p->n_isr, r))
            continue;
        if (!md_broker_active(md_image_broker(img, (uint32_t)r)))
            return md_plan_fail(CAIRN_ERR_INELIGIBLE_REPLICA, why, why_len,
                                "partition %u: broker %d is fenced or shutting down",
                                p->partition, r);
    }
    return CAIRN_ERR_OK;
}

/* Kafka's order of checks (ReplicationControlManager): epochs before
 * leadership before the ISR itself. */
static int item_check(const md_image_t *img, uint32_t broker_id, const md_alter_item_t *it,
                      const md_topic_t **t_out, const md_partition_t **p_out,
                      char *why, size_t why_len)
{
    if (it->topic_id == NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len, "malformed topic id");
    const md_topic_t *t = md_image_topic_by_id(img, it->topic_id);
    if (t == NULL)
        return md_plan_fail(CAIRN_ERR_UNKNOWN_TOPIC, why, why_len, "unknown topic id");
    if (it->partition >= t->n_partitions)
        return md_plan_fail(CAIRN_ERR_UNKNOWN_PARTITION, why, why_len, "%s has no partition %u",
                            t->name, it->partition);
    const md_partition_t *p = &t->partitions[it->partition];
    *t_out = t;
    *p_out = p;
    if (it->leader_epoch != p->leader_epoch)
        return md_plan_fail(CAIRN_ERR_FENCED_LEADER_EPOCH, why, why_len,
                            "%s-%u: leader epoch %u, current %u", t->name, p->partition,
                            it->leader_epoch, p->leader_epoch);
    if (p->leader != (int32_t)broker_id)
        return md_plan_fail(CAIRN_ERR_NOT_LEADER_OR_FOLLOWER, why, why_len,
                            "%s-%u: broker %u is not the leader (%d)", t->name, p->partition,
                            broker_id, p->leader);
    if (it->partition_epoch != p->partition_epoch)
        return md_plan_fail(CAIRN_ERR_INVALID_UPDATE_VERSION, why, why_len,
                            "%s-%u: partition epoch %u, current %u", t->name, p->partition,
                            it->partition_epoch, p->partition_epoch);
    int rc = isr_shape_check(p, it, why, why_len);
    return rc != CAIRN_ERR_OK ? rc : isr_additions_check(img, p, it, why, why_len);
}

static bool same_members(const int32_t *a, size_t n_a, const int32_t *b, size_t n_b)
{
    if (n_a != n_b)
        return false;
    for (size_t i = 0; i < n_a; i++)
        if (!md_ids_contain(b, n_b, a[i]))
            return false;
    return true;
}

/* Validates every item into results and adds a change per accepted item
 * whose ISR differs. The first refusal's reason stays in why. */
static void plan_items(const md_image_t *img, uint32_t broker_id, const md_alter_item_t *items,
                       size_t n_items, md_alter_result_t *results, md_change_set_t *cs,
                       seen_set_t *seen, char *why, size_t why_len)
{
    bool refused = false;
    for (size_t i = 0; i < n_items; i++) {
        const md_alter_item_t *it = &items[i];
        const md_topic_t *t = NULL;
        const md_partition_t *p = NULL;
        char item_why[256];
        int rc = item_check(img, broker_id, it, &t, &p, item_why, sizeof item_why);
        if (rc == CAIRN_ERR_OK && !seen_add(seen, p))
            rc = md_plan_fail(CAIRN_ERR_INVALID_REQUEST, item_why, sizeof item_why,
                              "%s-%u given twice", t->name, p->partition);
        results[i].code = rc;
        results[i].changed = false;
        if (rc != CAIRN_ERR_OK) {
            if (!refused)
                md_plan_fail(rc, why, why_len, "%s", item_why);
            refused = true;
            continue;
        }
        if (same_members(it->new_isr, it->n_new_isr, p->isr, p->n_isr))
            continue;
        Cairn__PartitionChangeRecord *c = md_change_add(cs, t, p);
        md_change_set_isr(cs, c, it->new_isr, it->n_new_isr);
        results[i].changed = true;
    }
}

static size_t isr_slots_of(const md_alter_item_t *items, size_t n_items)
{
    size_t n = 0;
    for (size_t i = 0; i < n_items; i++)
        n += items[i].n_new_isr <= MD_REPLICAS_MAX ? items[i].n_new_isr : 0;
    return n;
}

int md_plan_alter_partition(const md_image_t *img, uint32_t broker_id, uint64_t broker_epoch,
                            const md_alter_item_t *items, size_t n_items,
                            md_alter_result_t *results, md_batch_t *out,
                            char *why, size_t why_len)
{
    if (n_items > MD_BATCH_RECORDS_MAX || (n_items > 0 && (items == NULL || results == NULL)))
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "%zu items, at most %u", n_items, MD_BATCH_RECORDS_MAX);
    /* KIP-497: only the current incarnation of an unfenced broker may
     * change an ISR; a zombie with an old broker epoch is refused. */
    const md_broker_t *b = md_image_broker(img, broker_id);
    if (b == NULL || b->fenced || b->epoch != broker_epoch)
        return md_plan_fail(CAIRN_ERR_STALE_BROKER_EPOCH, why, why_len,
                            "broker %u epoch %llu is not a registered, unfenced broker's",
                            broker_id, (unsigned long long)broker_epoch);
    md_change_set_t cs;
    seen_set_t seen = { 0 };
    int rc = md_change_set_init(&cs, 0, n_items, isr_slots_of(items, n_items));
    if (rc == CAIRN_ERR_OK)
        rc = seen_init(&seen, n_items);
    if (rc == CAIRN_ERR_OK) {
        plan_items(img, broker_id, items, n_items, results, &cs, &seen, why, why_len);
        if (cs.n_changes > 0)
            rc = md_rec_list_pack(&cs.l, out);
    }
    free(seen.slots);
    md_change_set_free(&cs);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "alter partition: %s", cairn_strerror(rc));
    return CAIRN_ERR_OK;
}
