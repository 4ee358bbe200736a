/* cairnctl output: each admin response as JSON (shapes of DESIGN §6; fields
 * may be added, never renamed) or as aligned human tables in the style of
 * kafka-topics.sh --describe. */
#ifndef CAIRN_CTL_PRINT_H
#define CAIRN_CTL_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "admin.pb-c.h"

/* Each writes one response to out (borrowed); the response is borrowed.
 * Returns 0, or -1 when memory for a table ran out (out may hold part of
 * the output). Write errors on out are left for the caller's ferror(). */
int ctl_print_cluster_status(FILE *out, const Cairn__ClusterStatusResponse *r, bool json);
int ctl_print_topic_list(FILE *out, const Cairn__ListTopicsResponse *r, bool json);
int ctl_print_topic(FILE *out, const Cairn__TopicDescription *t, bool json);
int ctl_print_broker_list(FILE *out, const Cairn__ListBrokersResponse *r, bool json);

#endif
