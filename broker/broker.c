/* The broker's reaction to metadata changes: the replicas follow the
 * image, then handlers waiting for a change re-check. */
#include "broker.h"

#include "coordinator.h"

#include "cairn_assert.h"
#include "fetcher.h"

void broker_md_wait(broker_t *b, broker_md_waiter_t *w)
{
    CAIRN_ASSERT(!w->linked);
    w->prev = NULL;
    w->next = b->md_waiters;
    if (w->next)
        w->next->prev = w;
    b->md_waiters = w;
    w->linked = true;
    b->n_md_waiters++;
}

void broker_md_unwait(broker_t *b, broker_md_waiter_t *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        b->md_waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->linked = false;
    b->n_md_waiters--;
}

void broker_on_metadata(void *arg)
{
    broker_t *b = arg;
    replicas_sync(b->replicas, b->image, b->id, controller_link_incarnation(b->link),
                  controller_link_caught_up(b->link));
    if (b->fetchers)
        fetchers_sync(b->fetchers);
    group_coord_sync(b->groups);
    /* A waiter may unlink itself (and others' neighbours stay valid): take
     * the next pointer first. */
    for (broker_md_waiter_t *w = b->md_waiters; w;) {
        broker_md_waiter_t *next = w->next;
        w->fn(w->arg);
        w = next;
    }
}
