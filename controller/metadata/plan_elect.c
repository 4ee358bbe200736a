/* Leader election rules shared by every plan that changes partitions:
 * the guarded change set, clean and unclean election, and preferred leader
 * election (Kafka's auto.leader.rebalance.enable). */
#include "md_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "errors.h"

int md_change_set_init(md_change_set_t *cs, size_t n_lead, size_t n_changes,
                       size_t isr_slots)
{
    memset(cs, 0, sizeof *cs);
    if (n_changes > MD_BATCH_RECORDS_MAX || n_lead > MD_BATCH_RECORDS_MAX - n_changes)
        return CAIRN_ERR_TOO_LARGE;
    int rc = md_rec_list_init(&cs->l, n_lead + n_changes);
    if (rc != CAIRN_ERR_OK)
        return rc;
    cs->changes = calloc(n_changes + 1, sizeof *cs->changes);
    cs->isr_pool = calloc(isr_slots + 1, sizeof *cs->isr_pool);
    cs->changes_cap = n_changes;
    cs->isr_cap = isr_slots;
    return cs->changes && cs->isr_pool ? CAIRN_ERR_OK : CAIRN_ERR_NOMEM;
}

void md_change_set_free(md_change_set_t *cs)
{
    md_rec_list_free(&cs->l);
    free(cs->changes);
    free(cs->isr_pool);
    memset(cs, 0, sizeof *cs);
}

Cairn__PartitionChangeRecord *md_change_add(md_change_set_t *cs, const md_topic_t *t,
                                            const md_partition_t *p)
{
    CAIRN_ASSERT(cs->n_changes < cs->changes_cap);
    Cairn__PartitionChangeRecord *c = &cs->changes[cs->n_changes++];
    cairn__partition_change_record__init(c);
    c->topic_id.len = MD_UUID_LEN;
    c->topic_id.data = (uint8_t *)t->id;
    c->partition = p->partition;
    c->check_partition_epoch = true;
    c->expected_partition_epoch = p->partition_epoch;
    Cairn__MetadataRecord *r = md_rec_list_add(&cs->l);
    r->record_case = CAIRN__METADATA_RECORD__RECORD_PARTITION_CHANGE;
    r->partition_change = c;
    return c;
}

void md_change_set_isr(md_change_set_t *cs, Cairn__PartitionChangeRecord *c,
                       const int32_t *isr, size_t n)
{
    CAIRN_ASSERT(n <= cs->isr_cap - cs->isr_used);
    int32_t *dst = &cs->isr_pool[cs->isr_used];
    memcpy(dst, isr, n * sizeof *isr);
    cs->isr_used += n;
    c->isr_changed = true;
    c->isr = dst;
    c->n_isr = n;
}

static bool replica_active(const md_image_t *img, int32_t id)
{
    return id >= 0 && md_broker_active(md_image_broker(img, (uint32_t)id));
}

int32_t md_elect_clean(const md_image_t *img, const md_partition_t *p, int32_t leaving)
{
    for (size_t i = 0; i < p->n_replicas; i++) {
        int32_t r = p->replicas[i];
        if (r != leaving && md_ids_contain(p->isr, p->n_isr, r) && replica_active(img, r))
            return r;
    }
    return MD_NO_LEADER;
}

int32_t md_elect_unclean(const md_image_t *img, const md_partition_t *p, int32_t leaving)
{
    for (size_t i = 0; i < p->n_replicas; i++) {
        int32_t r = p->replicas[i];
        if (r != leaving && replica_active(img, r))
            return r;
    }
    return MD_NO_LEADER;
}

bool md_topic_unclean_enabled(const md_topic_t *t, bool dflt)
{
    for (size_t i = 0; i < t->n_configs; i++)
        if (strcmp(t->configs[i].name, "unclean.leader.election.enable") == 0)
            return strcmp(t->configs[i].value, "true") == 0;
    return dflt;
}

/* ---- preferred leader election ------------------------------------------ */

/* Kafka's preferred replica: the first of the assignment, when it could
 * lead cleanly right now (in the ISR, active) and does not. */
static bool wants_preferred(const md_image_t *img, const md_partition_t *p)
{
    if (p->n_replicas == 0)
        return false;
    int32_t pref = p->replicas[0];
    return p->leader != pref && md_ids_contain(p->isr, p->n_isr, pref) &&
           replica_active(img, pref);
}

static size_t count_preferred(const md_image_t *img, size_t max_changes)
{
    size_t n = 0;
    for (size_t i = 0; i < md_image_topic_count(img) && n < max_changes; i++) {
        const md_topic_t *t = md_image_topic_at(img, i);
        for (size_t k = 0; k < t->n_partitions && n < max_changes; k++)
            n += wants_preferred(img, &t->partitions[k]) ? 1 : 0;
    }
    return n;
}

int md_plan_preferred_leaders(const md_image_t *img, size_t max_changes, md_batch_t *out,
                              size_t *n_changes, char *why, size_t why_len)
{
    size_t n = count_preferred(img, max_changes);
    *n_changes = 0;
    if (n == 0)
        return CAIRN_ERR_OK;
    md_change_set_t cs;
    int rc = md_change_set_init(&cs, 0, n, 0);
    for (size_t i = 0; rc == CAIRN_ERR_OK && i < md_image_topic_count(img); i++) {
        const md_topic_t *t = md_image_topic_at(img, i);
        for (size_t k = 0; k < t->n_partitions && cs.n_changes < n; k++) {
            const md_partition_t *p = &t->partitions[k];
            if (!wants_preferred(img, p))
                continue;
            Cairn__PartitionChangeRecord *c = md_change_add(&cs, t, p);
            c->leader_changed = true;
            c->leader = p->replicas[0];
        }
    }
    if (rc == CAIRN_ERR_OK)
        rc = md_rec_list_pack(&cs.l, out);
    md_change_set_free(&cs);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "preferred leaders: %s", cairn_strerror(rc));
    *n_changes = n;
    return CAIRN_ERR_OK;
}
