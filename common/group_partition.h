/* Where Kafka puts a consumer group: GroupMetadataManager.partitionFor,
 * Utils.abs(groupId.hashCode) mod n, hashCode being Java's String.hashCode
 * over the group id's UTF-16 code units (decoded from UTF-8; each byte
 * that starts no valid sequence counts as U+FFFD, as Java's decoder does)
 * and Utils.abs mapping Integer.MIN_VALUE to 0. Shared by the broker's
 * coordinator and cairnctl, which must agree. */
#ifndef CAIRN_GROUP_PARTITION_H
#define CAIRN_GROUP_PARTITION_H

#include <stdint.h>

/* n > 0 (asserted). */
int32_t cairn_group_partition_for(const char *group, int32_t n);

#endif
