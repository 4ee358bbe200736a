/* Helpers for the metadata unit tests: build MetadataBatch bytes record by
 * record, set up brokers, and compare image contents via snapshots. */
#ifndef CAIRN_MD_TEST_UTIL_H
#define CAIRN_MD_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "image.h"
#include "metadata.pb-c.h"
#include "plan.h"

#define TB_RECORDS_MAX 64

/* A batch under construction; every record and array it holds is owned and
 * freed by tb_apply / tb_free. */
typedef struct tbatch {
    Cairn__MetadataRecord *recs[TB_RECORDS_MAX];
    size_t n;
    void *allocs[TB_RECORDS_MAX * 8];
    size_t n_allocs;
} tbatch_t;

/* A deterministic, non-zero topic id derived from k. */
void tid(uint8_t k, uint8_t out[MD_UUID_LEN]);

void tb_init(tbatch_t *b);
void tb_free(tbatch_t *b);
/* Endpoint PLAINTEXT 127.0.0.1:(9091 + id), incarnation filled with inc. */
void tb_register(tbatch_t *b, uint32_t id, uint8_t inc, const char *rack);
void tb_fence(tbatch_t *b, uint32_t id, uint64_t epoch);
void tb_unfence(tbatch_t *b, uint32_t id, uint64_t epoch);
void tb_shutdown(tbatch_t *b, uint32_t id, uint64_t epoch);
void tb_topic(tbatch_t *b, const char *name, uint8_t k);
void tb_partition(tbatch_t *b, uint8_t k, uint32_t partition,
                  const int32_t *replicas, size_t n_replicas,
                  const int32_t *isr, size_t n_isr, int32_t leader);
/* PartitionChangeRecord; a NULL isr / replicas means "unchanged". */
void tb_change(tbatch_t *b, uint8_t k, uint32_t partition, bool leader_changed,
               int32_t leader, const int32_t *isr, size_t n_isr,
               const int32_t *replicas, size_t n_replicas);
void tb_remove_topic(tbatch_t *b, uint8_t k);
void tb_config(tbatch_t *b, uint8_t k, const char *name, const char *value, bool remove);
/* Packs, applies at md_image_last_index + 1 (term 1), frees; returns apply's rc. */
int tb_apply(tbatch_t *b, md_image_t *img);

/* Applies an owned plan batch at the next index and frees it. */
int apply_batch(md_image_t *img, md_batch_t *batch);
/* Registers brokers 1..n through the planner and unfences them. */
void setup_brokers(md_image_t *img, uint32_t n);
/* A new image with active brokers 1..n (owned by the caller). */
md_image_t *tu_cluster(uint32_t n);
/* Creates topic name through the planner and applies it; unclean, when not
 * NULL, is its unclean.leader.election.enable. Returns the topic. */
const md_topic_t *tu_topic(md_image_t *img, const char *name, int32_t partitions, int32_t rf,
                           const char *unclean);
/* Plans and applies a controller decision, asserting it is accepted. */
void tu_fence(md_image_t *img, uint32_t id, bool unclean);
void tu_unfence(md_image_t *img, uint32_t id, bool unclean);
void tu_shutdown(md_image_t *img, uint32_t id, bool unclean);
/* The broker's partition p of topic name, as the image holds it now. */
const md_partition_t *tu_part(const md_image_t *img, const char *name, uint32_t p);
bool tu_in_isr(const md_partition_t *p, int32_t id);
/* The image's snapshot with last index/term zeroed: its content only. */
void content_of(const md_image_t *img, uint8_t **out, size_t *len);
bool same_content(const md_image_t *img, const uint8_t *want, size_t want_len);

#endif
