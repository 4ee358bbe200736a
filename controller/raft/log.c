/* The in-memory Raft log: entries after the snapshot base, each owning a copy
 * of its data. All index arithmetic lives here, so the rest of the core never
 * computes an array offset. */
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

void raft_log_init(raft_log_t *l, uint64_t snap_index, uint64_t snap_term)
{
    memset(l, 0, sizeof *l);
    l->snap_index = snap_index;
    l->snap_term = snap_term;
}

static void free_range(raft_log_t *l, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        free(l->ents[i].data);
}

void raft_log_free(raft_log_t *l)
{
    free_range(l, 0, l->len);
    free(l->ents);
    memset(l, 0, sizeof *l);
}

uint64_t raft_log_last_index(const raft_log_t *l)
{
    return l->snap_index + l->len;
}

uint64_t raft_log_last_term(const raft_log_t *l)
{
    return l->len ? l->ents[l->len - 1].term : l->snap_term;
}

/* The term is known for the snapshot base and every held entry; index 0 is
 * the empty prefix (term 0). */
bool raft_log_term_at(const raft_log_t *l, uint64_t index, uint64_t *term_out)
{
    if (index == l->snap_index) {
        *term_out = l->snap_term;
        return true;
    }
    if (index < l->snap_index || index > raft_log_last_index(l))
        return false;
    *term_out = l->ents[index - l->snap_index - 1].term;
    return true;
}

const raft_entry_t *raft_log_get(const raft_log_t *l, uint64_t index)
{
    if (index <= l->snap_index || index > raft_log_last_index(l))
        return NULL;
    return &l->ents[index - l->snap_index - 1];
}

static bool reserve_one(raft_log_t *l)
{
    if (l->len < l->cap)
        return true;
    size_t cap = l->cap ? l->cap * 2 : 64;
    raft_entry_t *ents = realloc(l->ents, cap * sizeof *ents);
    if (!ents)
        return false;
    l->ents = ents;
    l->cap = cap;
    return true;
}

/* Takes ownership of data (malloc'd, or NULL when len == 0) on success only. */
bool raft_log_append_owned(raft_log_t *l, uint64_t term, uint32_t type, uint8_t *data,
                           uint32_t len)
{
    CAIRN_ASSERT(term >= raft_log_last_term(l));
    CAIRN_ASSERT(len == 0 || data != NULL);
    if (!reserve_one(l))
        return false;
    raft_entry_t *e = &l->ents[l->len];
    e->term = term;
    e->index = raft_log_last_index(l) + 1;
    e->type = type;
    e->len = len;
    e->data = len ? data : NULL;
    l->len++;
    return true;
}

/* Copies e; e->index must be the next index. */
bool raft_log_append(raft_log_t *l, const raft_entry_t *e)
{
    CAIRN_ASSERT(e->index == raft_log_last_index(l) + 1);
    uint8_t *data = NULL;
    if (e->len) {
        data = malloc(e->len);
        if (!data)
            return false;
        memcpy(data, e->data, e->len);
    }
    if (!raft_log_append_owned(l, e->term, e->type, data, e->len)) {
        free(data);
        return false;
    }
    return true;
}

/* Drops from_index and everything after it. Snapshotted entries are
 * committed and can never be truncated. */
void raft_log_truncate(raft_log_t *l, uint64_t from_index)
{
    CAIRN_ASSERT(from_index > l->snap_index);
    if (from_index > raft_log_last_index(l))
        return;
    size_t keep = (size_t)(from_index - l->snap_index - 1);
    free_range(l, keep, l->len);
    l->len = keep;
}

/* Drops entries up to index, which becomes the new snapshot base. */
void raft_log_compact(raft_log_t *l, uint64_t index)
{
    CAIRN_ASSERT(index >= l->snap_index && index <= raft_log_last_index(l));
    uint64_t term;
    CAIRN_ASSERT(raft_log_term_at(l, index, &term));
    size_t drop = (size_t)(index - l->snap_index);
    free_range(l, 0, drop);
    memmove(l->ents, l->ents + drop, (l->len - drop) * sizeof *l->ents);
    l->len -= drop;
    l->snap_index = index;
    l->snap_term = term;
}

/* Replaces the whole log by a snapshot base (snapshot install). */
void raft_log_reset(raft_log_t *l, uint64_t snap_index, uint64_t snap_term)
{
    free_range(l, 0, l->len);
    l->len = 0;
    l->snap_index = snap_index;
    l->snap_term = snap_term;
}

/* Raft §5.4.1: a log is at least as up to date as ours if its last term is
 * greater, or equal with an index at least as large. */
bool raft_log_up_to_date(const raft_log_t *l, uint64_t last_index, uint64_t last_term)
{
    uint64_t my_term = raft_log_last_term(l);
    if (last_term != my_term)
        return last_term > my_term;
    return last_index >= raft_log_last_index(l);
}
