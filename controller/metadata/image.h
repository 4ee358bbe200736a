/* The metadata image: brokers, topics and partitions, built by applying
 * committed MetadataBatch entries in Raft index order (DESIGN §4). Pure: no
 * I/O, no clock. The same code runs on controllers and on brokers. */
#ifndef CAIRN_MD_IMAGE_H
#define CAIRN_MD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct md_image md_image_t;

#define MD_UUID_LEN 16
#define MD_NO_LEADER (-1)

typedef struct md_endpoint {
    char *listener;
    char *host;
    uint16_t port;
} md_endpoint_t;

typedef struct md_broker {
    uint32_t id;
    uint8_t incarnation[MD_UUID_LEN];
    md_endpoint_t *endpoints;
    size_t n_endpoints;
    char *rack;                    /* "" when none */
    uint64_t epoch;                /* Raft index of its RegisterBrokerRecord */
    bool fenced;
    bool in_controlled_shutdown;
} md_broker_t;

typedef struct md_partition {
    uint32_t partition;
    int32_t *replicas;
    size_t n_replicas;
    int32_t *isr;
    size_t n_isr;
    int32_t leader;                /* MD_NO_LEADER when offline */
    uint32_t leader_epoch;
    uint32_t partition_epoch;
} md_partition_t;

typedef struct md_config_entry {
    char *name;
    char *value;
} md_config_entry_t;

typedef struct md_topic {
    char *name;
    uint8_t id[MD_UUID_LEN];
    md_config_entry_t *configs;
    size_t n_configs;
    md_partition_t *partitions;    /* index == partition number */
    size_t n_partitions;
} md_topic_t;

/* Returns an owned, empty image (last index 0), or NULL. */
md_image_t *md_image_new(void);
void md_image_free(md_image_t *img);

/* Applies the MetadataBatch serialized in data, committed at (index, term).
 * The batch is validated first and applied all or nothing; an invalid batch
 * returns -1 (logged) and leaves the image unchanged except last index/term,
 * so every replica stays in step. index must be > md_image_last_index. */
int md_image_apply(md_image_t *img, uint64_t index, uint64_t term,
                   const uint8_t *data, size_t len);
/* Records that (index, term) was applied without metadata (leader-change
 * entries). */
void md_image_skip(md_image_t *img, uint64_t index, uint64_t term);

uint64_t md_image_last_index(const md_image_t *img);
uint64_t md_image_last_term(const md_image_t *img);

/* Serializes the whole image as a MetadataImage (proto/metadata.proto).
 * *out is owned by the caller (free()). Returns 0 or -1. */
int md_image_snapshot(const md_image_t *img, uint8_t **out, size_t *len);
/* Replaces the image's content with a serialized MetadataImage. Returns 0, or
 * -1 leaving the image unchanged. */
int md_image_load(md_image_t *img, const uint8_t *data, size_t len);

/* Lookups. Returned pointers are borrowed until the next apply/load. */
size_t md_image_broker_count(const md_image_t *img);
const md_broker_t *md_image_broker_at(const md_image_t *img, size_t i);   /* ordered by id */
const md_broker_t *md_image_broker(const md_image_t *img, uint32_t id);
size_t md_image_topic_count(const md_image_t *img);
const md_topic_t *md_image_topic_at(const md_image_t *img, size_t i);     /* ordered by name */
const md_topic_t *md_image_topic(const md_image_t *img, const char *name);
const md_topic_t *md_image_topic_by_id(const md_image_t *img, const uint8_t id[MD_UUID_LEN]);
/* active = registered, unfenced and not in controlled shutdown. */
bool md_broker_active(const md_broker_t *b);

/* Kafka's topic name rules: 1..249 characters of [a-zA-Z0-9._-], not "."
 * or "..". Returns 0, or -1 with a reason in why (may be NULL). */
int md_topic_name_check(const char *name, char *why, size_t why_len);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into out (37 bytes). */
void md_uuid_format(const uint8_t id[MD_UUID_LEN], char out[37]);

#endif
