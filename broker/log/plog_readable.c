/* What readers of a partition log may see (plog.h): the readable offset,
 * replication's high watermark on top of it, and the on_readable listener
 * that parked Fetch requests wait on. */
#include "plog_internal.h"

#include "cairn_assert.h"

void plog_set_on_readable(plog_t *l, void (*fn)(void *arg), void *arg)
{
    l->on_readable = fn;
    l->on_readable_arg = arg;
}

int64_t plog_readable_offset(const plog_t *l)
{
    int64_t local = plog_durable_mode(l) ? l->durable_offset : l->end_offset;
    /* Consumers never see past the high watermark (DESIGN §5), nor past
     * what this replica could lose in a crash. */
    return l->high_watermark >= 0 && l->high_watermark < local ? l->high_watermark : local;
}

void plog_readable_grew(plog_t *l, int64_t before)
{
    if (l->on_readable && plog_readable_offset(l) > before)
        l->on_readable(l->on_readable_arg);
}

void plog_set_high_watermark(plog_t *l, int64_t hw)
{
    if (hw > l->end_offset)
        hw = l->end_offset;          /* a follower's HW: min(leader's HW, own log end) */
    CAIRN_ASSERT(hw >= 0);
    CAIRN_ASSERT(hw >= l->high_watermark);          /* HW never moves back */
    int64_t before = plog_readable_offset(l);
    l->high_watermark = hw;
    plog_readable_grew(l, before);
}

int64_t plog_high_watermark(const plog_t *l)
{
    return l->high_watermark;
}
