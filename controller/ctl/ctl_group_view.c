/* The union of group lists, and the rows of a group's describe table:
 * offsets and assignments sorted together by partition and merged. */
#include "ctl_group_view.h"

#include <stdlib.h>
#include <string.h>

/* ---- group list ------------------------------------------------------------- */

int ctl_group_list_add(ctl_group_list_t *l, int32_t coordinator,
                       const Cairn__ListGroupsResponse *r)
{
    if (l->n_groups + r->n_groups > l->cap) {
        size_t cap = l->cap ? l->cap : 16;
        while (cap < l->n_groups + r->n_groups)
            cap *= 2;
        ctl_group_entry_t *grown = realloc(l->groups, cap * sizeof *grown);
        if (!grown)
            return -1;
        l->groups = grown;
        l->cap = cap;
    }
    for (size_t i = 0; i < r->n_groups; i++) {
        const Cairn__GroupListing *g = r->groups[i];
        l->groups[l->n_groups++] = (ctl_group_entry_t){
            .group_id = g->group_id, .protocol_type = g->protocol_type, .state = g->state,
            .coordinator = coordinator };
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const ctl_group_entry_t *x = a, *y = b;
    int c = strcmp(x->group_id, y->group_id);
    if (c != 0)
        return c;
    return x->coordinator < y->coordinator ? -1 : x->coordinator > y->coordinator;
}

static bool is_dead(const ctl_group_entry_t *e)
{
    return strcmp(e->state, "Dead") == 0;
}

void ctl_group_list_finish(ctl_group_list_t *l)
{
    if (l->n_groups == 0)
        return;
    qsort(l->groups, l->n_groups, sizeof *l->groups, cmp_entry);
    size_t kept = 1;
    for (size_t i = 1; i < l->n_groups; i++) {
        ctl_group_entry_t *last = &l->groups[kept - 1];
        if (strcmp(last->group_id, l->groups[i].group_id) != 0)
            l->groups[kept++] = l->groups[i];
        else if (is_dead(last) && !is_dead(&l->groups[i]))
            *last = l->groups[i];
    }
    l->n_groups = kept;
}

void ctl_group_list_free(ctl_group_list_t *l)
{
    free(l->groups);
    memset(l, 0, sizeof *l);
}

/* ---- group describe ------------------------------------------------------------ */

static int cmp_row(const void *a, const void *b)
{
    const ctl_group_row_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c != 0)
        return c;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    /* The offset first, then owners by member id (two owners of one
     * partition: an assignor's mistake; the first is shown). */
    if (!x->member || !y->member)
        return !x->member ? (!y->member ? 0 : -1) : 1;
    return strcmp(x->member->member_id, y->member->member_id);
}

size_t ctl_group_member_partition_count(const Cairn__GroupMemberDescription *m)
{
    size_t n = 0;
    for (size_t k = 0; k < m->n_assigned; k++)
        n += m->assigned[k]->n_partitions;
    return n;
}

/* One row per committed offset and per owned partition, unmerged. */
static size_t collect_rows(const Cairn__DescribeGroupResponse *g, ctl_group_row_t *rows)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_offsets; i++)
        rows[n++] = (ctl_group_row_t){ .topic = g->offsets[i]->topic,
                                        .partition = g->offsets[i]->partition,
                                        .offset = g->offsets[i] };
    for (size_t i = 0; i < g->n_members; i++) {
        const Cairn__GroupMemberDescription *m = g->members[i];
        for (size_t k = 0; k < m->n_assigned; k++)
            for (size_t p = 0; p < m->assigned[k]->n_partitions; p++)
                rows[n++] = (ctl_group_row_t){ .topic = m->assigned[k]->topic,
                                                .partition = m->assigned[k]->partitions[p],
                                                .member = m };
    }
    return n;
}

int ctl_group_rows_init(ctl_group_rows_t *r, const Cairn__DescribeGroupResponse *g)
{
    memset(r, 0, sizeof *r);
    size_t total = g->n_offsets + g->n_members;
    for (size_t i = 0; i < g->n_members; i++)
        total += ctl_group_member_partition_count(g->members[i]);
    r->rows = calloc(total ? total : 1, sizeof *r->rows);
    if (!r->rows)
        return -1;
    size_t n = collect_rows(g, r->rows);
    qsort(r->rows, n, sizeof *r->rows, cmp_row);
    /* Merge the rows of one partition: its offset and its (first) owner.
     * cmp_row puts an offset row first, so only the owner is taken later. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        ctl_group_row_t *cur = &r->rows[i];
        ctl_group_row_t *last = kept ? &r->rows[kept - 1] : NULL;
        if (last && strcmp(last->topic, cur->topic) == 0 && last->partition == cur->partition) {
            if (!last->member)
                last->member = cur->member;
            continue;
        }
        r->rows[kept++] = *cur;
    }
    for (size_t i = 0; i < g->n_members; i++)
        if (ctl_group_member_partition_count(g->members[i]) == 0)
            r->rows[kept++] = (ctl_group_row_t){ .member = g->members[i] };
    r->n_rows = kept;
    return 0;
}

void ctl_group_rows_free(ctl_group_rows_t *r)
{
    free(r->rows);
    memset(r, 0, sizeof *r);
}

bool ctl_group_row_committed(const ctl_group_row_t *row, int64_t *offset)
{
    if (!row->offset || row->offset->offset < 0)
        return false;
    *offset = row->offset->offset;
    return true;
}

bool ctl_group_row_lag(const ctl_group_row_t *row, int64_t *lag)
{
    int64_t committed;
    if (!row->has_log_end || !ctl_group_row_committed(row, &committed))
        return false;
    *lag = row->log_end_offset - committed;
    return true;
}
