/* ISR changes requested by this broker's leaders (KIP-497): a timer checks
 * every leader replica for followers that fell behind for
 * replica.lag.time.max.ms or caught up again, and sends one AlterPartition
 * to the controller for all of them, guarded by partition epochs. The
 * leader applies nothing itself: the new ISR takes effect when the
 * committed change reaches the image. Runs on the broker's loop thread. */
#ifndef CAIRN_ISR_H
#define CAIRN_ISR_H

#include <event2/event.h>

#include "config.h"
#include "controller_link.h"
#include "replicas.h"

typedef struct isr_manager isr_manager_t;

/* cfg, rs and link are borrowed; free the manager after the link, whose
 * end cancels the request in flight. */
isr_manager_t *isr_manager_new(struct event_base *base, const cairn_config_t *cfg,
                               replicas_t *rs, controller_link_t *link, uint32_t self);
/* Checks now rather than at the next tick (a follower caught up). */
void isr_manager_poke(isr_manager_t *m);
void isr_manager_free(isr_manager_t *m);

#endif
