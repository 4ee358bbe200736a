/* Small files of a partition directory: partition.metadata (Kafka's text
 * format, "version: 0\ntopic_id: <base64url>\n"), the recovery point
 * ("version: 0\nrecovery_point: <offset>\n"), the name of the leader-epoch
 * checkpoint (its text is epoch_cache.h's), and the atomic replace that
 * writes them (tmp, fsync, rename, fsync dir). Blocking unless stated. */
#ifndef CAIRN_PMETA_H
#define CAIRN_PMETA_H

#include <stddef.h>
#include <stdint.h>

#include "store_file.h"

#define PMETA_PARTITION_FILE "partition.metadata"
#define PMETA_RECOVERY_POINT_FILE "recovery-point"
#define PMETA_EPOCH_CHECKPOINT_FILE "leader-epoch-checkpoint"   /* epoch_cache.h format */
/* What store_file_replace writes before it renames. */
#define PMETA_TMP_SUFFIX STORE_FILE_TMP_SUFFIX
#define PMETA_TOPIC_ID_CHARS 22        /* base64url of 16 bytes, no padding */

/* Kafka's Uuid.toString(): base64url without padding. out gets 23 bytes. */
void pmeta_topic_id_format(const uint8_t id[16], char out[PMETA_TOPIC_ID_CHARS + 1]);
int pmeta_topic_id_parse(const char *s, size_t len, uint8_t id[16]);

/* Atomically replaces name in dir_fd with data[0..len). */
int pmeta_write_atomic(int dir_fd, const char *name, const char *data, size_t len);

/* Writes data to "<name>.tmp" in dir_fd without syncing (page cache) and
 * returns its open fd (owned by the caller), or -1. The loop thread's half
 * of an atomic replace whose fsync runs on the io thread. */
int pmeta_write_tmp(int dir_fd, const char *name, const char *data, size_t len);

/* Reads partition.metadata: 0 with id, 1 when absent, -1 when unreadable or
 * malformed. */
int pmeta_read_topic_id(int dir_fd, uint8_t id[16]);
int pmeta_write_topic_id(int dir_fd, const uint8_t id[16]);

/* The recovery-point file's text for offset rp; returns its length. */
size_t pmeta_recovery_point_text(char *buf, size_t len, int64_t rp);
/* 0 with *rp, 1 when absent, -1 when unreadable or malformed. */
int pmeta_read_recovery_point(int dir_fd, int64_t *rp);

#endif
