/* Private to controller/metadata/: the image's in-memory layout, its limits
 * and the helpers its files (image*.c, plan*.c, assign.c, topic_config.c)
 * share. Not installed for other modules; they use image.h and plan.h. */
#ifndef CAIRN_MD_INTERNAL_H
#define CAIRN_MD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "metadata.pb-c.h"
#include "plan.h"

/* Limits enforced when decoding records and snapshots and when planning.
 * MD_PARTITIONS_MAX is plan.h's 1..10000 rule; MD_TOPIC_NAME_MAX is Kafka's. */
#define MD_PARTITIONS_MAX 10000
#define MD_REPLICAS_MAX 64
#define MD_TOPIC_NAME_MAX 249
#define MD_TOPICS_MAX 100000
#define MD_BROKERS_MAX 4096
#define MD_ENDPOINTS_MAX 16
#define MD_CONFIGS_MAX 64
#define MD_STRING_MAX 255          /* listener, host, rack, config name */
#define MD_CONFIG_VALUE_MAX 4096
#define MD_BATCH_RECORDS_MAX (1u << 20)

_Static_assert(MD_PARTITIONS_MAX + MD_CONFIGS_MAX + 1 < MD_BATCH_RECORDS_MAX,
               "a topic creation must fit in one batch");

/* A topic and the capacity of its partitions array, so PartitionRecords can
 * be appended one at a time without reallocating on every record. */
typedef struct md_topic_obj {
    md_topic_t t;                  /* first member: the public view */
    size_t partitions_cap;
} md_topic_obj_t;

/* Brokers and topics as sorted pointer arrays: binary search for lookups,
 * one memmove per insertion or removal. by_id holds the same objects as
 * by_name. */
typedef struct md_state {
    md_broker_t **brokers;         /* sorted by id */
    size_t n_brokers;
    size_t brokers_cap;
    md_topic_obj_t **by_name;      /* sorted by strcmp of name */
    md_topic_obj_t **by_id;        /* sorted by memcmp of id */
    size_t n_topics;
    size_t topics_cap;
    size_t n_partitions;           /* over all topics: the assignment's rotation */
} md_state_t;

struct md_image {
    uint64_t last_index;
    uint64_t last_term;
    md_state_t st;
};

/* Allocation for the replicated state: these abort on exhaustion instead of
 * returning NULL, because a replica that skipped a committed record would
 * silently diverge from the others. */
void *md_xcalloc(size_t n, size_t size);
void *md_xrealloc(void *p, size_t n, size_t size);
char *md_xstrdup(const char *s);
int32_t *md_xdup_ids(const int32_t *ids, size_t n);

/* Writes a formatted reason into why (may be NULL) and returns -1. */
int md_fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Object lifetime. The free functions accept NULL. */
void md_broker_free(md_broker_t *b);
void md_topic_obj_free(md_topic_obj_t *o);
void md_partition_clear(md_partition_t *p);
void md_configs_free(md_config_entry_t *c, size_t n);

/* Sorted-array operations. Lookups return borrowed pointers or NULL. */
md_broker_t *md_state_broker(const md_state_t *st, uint32_t id);
/* Inserts b (taken) or replaces the broker with its id; returns the replaced
 * broker (owned by the caller) or NULL. */
md_broker_t *md_state_broker_put(md_state_t *st, md_broker_t *b);
/* Removes and returns (owned) the broker with id, which must exist. */
md_broker_t *md_state_broker_take(md_state_t *st, uint32_t id);
md_topic_obj_t *md_state_topic(const md_state_t *st, const char *name);
md_topic_obj_t *md_state_topic_by_id(const md_state_t *st, const uint8_t id[MD_UUID_LEN]);
/* Precondition: neither o's name nor its id is present. Takes o. */
void md_state_topic_insert(md_state_t *st, md_topic_obj_t *o);
/* Precondition: o is present. Ownership passes back to the caller. */
void md_state_topic_remove(md_state_t *st, md_topic_obj_t *o);
void md_state_free(md_state_t *st);

/* Record and snapshot validation shared by apply and load. Each returns 0,
 * or -1 with a reason in why. */
int md_topic_id_check(const ProtobufCBinaryData *id, char *why, size_t why_len);
int md_config_entries_check(Cairn__ConfigEntry *const *c, size_t n,
                            char *why, size_t why_len);
int md_broker_fields_check(uint32_t id, const ProtobufCBinaryData *incarnation,
                           Cairn__Endpoint *const *eps, size_t n_eps,
                           const char *rack, char *why, size_t why_len);
/* Kafka's partition invariants against the brokers registered in st:
 * replicas non-empty, distinct and registered; isr distinct and a subset of
 * replicas; leader in isr or MD_NO_LEADER. */
int md_partition_check(const md_state_t *st, const int32_t *replicas, size_t n_replicas,
                       const int32_t *isr, size_t n_isr, int32_t leader,
                       char *why, size_t why_len);

/* Constructors from decoded records (inputs already checked; borrowed). */
md_broker_t *md_broker_new(uint32_t id, const ProtobufCBinaryData *incarnation,
                           Cairn__Endpoint *const *eps, size_t n_eps,
                           const char *rack, uint64_t epoch);
md_topic_obj_t *md_topic_obj_new(const char *name, const uint8_t id[MD_UUID_LEN],
                                 Cairn__ConfigEntry *const *c, size_t n);
/* Appends partition number t->n_partitions with copies of the arrays. */
md_partition_t *md_topic_append_partition(md_topic_obj_t *o, const int32_t *replicas,
                                          size_t n_replicas, const int32_t *isr,
                                          size_t n_isr);

/* True when x is one of ids[0..n). */
bool md_ids_contain(const int32_t *ids, size_t n, int32_t x);

/* Topic config rules for new topics (topic_config.c): the name must be a
 * known topic config and the value parse as Kafka's type for it. */
int md_topic_config_check(const char *name, const char *value, char *why, size_t why_len);

/* Replica assignment (assign.c). Fills replicas[p * rf + j] for every
 * partition p and replica j from the active brokers of img. Precondition:
 * 1 <= rf <= active broker count, 1 <= partitions. */
void md_assign_replicas(const md_image_t *img, int32_t partitions, int32_t rf,
                        int32_t *replicas);
/* The same for count partitions added to t: fills replicas[i * rf + j] for
 * partition t->n_partitions + i, continuing t's round-robin from where its
 * partition 0 started. Precondition: t has at least one partition,
 * 1 <= rf <= active broker count, 1 <= count. */
void md_assign_more_replicas(const md_image_t *img, const md_topic_t *t, int32_t count,
                             int32_t rf, int32_t *replicas);
size_t md_active_broker_count(const md_image_t *img);
/* Partitions over all topics, kept up to date by apply and load. */
size_t md_image_partition_total(const md_image_t *img);

/* The records of a batch being planned; the records borrow their payloads
 * from the planner, which keeps them alive until md_rec_list_pack. */
typedef struct md_rec_list {
    Cairn__MetadataRecord *recs;
    Cairn__MetadataRecord **ptrs;
    size_t n;
    size_t cap;
} md_rec_list_t;

/* Returns CAIRN_ERR_OK, CAIRN_ERR_TOO_LARGE (cap > MD_BATCH_RECORDS_MAX) or
 * CAIRN_ERR_NOMEM. */
int md_rec_list_init(md_rec_list_t *l, size_t cap);
/* Precondition: fewer than cap records added. Returns a cleared record. */
Cairn__MetadataRecord *md_rec_list_add(md_rec_list_t *l);
/* Serializes the records into out (owned by the caller); returns a cairn_err_t. */
int md_rec_list_pack(const md_rec_list_t *l, md_batch_t *out);
void md_rec_list_free(md_rec_list_t *l);

/* The records of a plan that changes partitions (plan_elect.c): a few
 * leading records (a broker record), then PartitionChangeRecords whose ISR
 * arrays come from one pool. Every change carries the partition-epoch
 * guard, so it applies only to the partition state it was planned on. */
typedef struct md_change_set {
    md_rec_list_t l;
    Cairn__PartitionChangeRecord *changes;
    size_t n_changes;
    size_t changes_cap;
    int32_t *isr_pool;
    size_t isr_used;
    size_t isr_cap;
} md_change_set_t;

/* Room for n_lead leading records and n_changes changes whose ISRs total
 * isr_slots entries. Returns a cairn_err_t; free with md_change_set_free
 * either way. */
int md_change_set_init(md_change_set_t *cs, size_t n_lead, size_t n_changes,
                       size_t isr_slots);
void md_change_set_free(md_change_set_t *cs);
/* A cleared change of t's partition p, guarded by p's partition epoch; the
 * record borrows t->id. Precondition: fewer than n_changes added. */
Cairn__PartitionChangeRecord *md_change_add(md_change_set_t *cs, const md_topic_t *t,
                                            const md_partition_t *p);
/* Sets c's ISR to a pool copy of isr[0..n). Precondition: room in the pool. */
void md_change_set_isr(md_change_set_t *cs, Cairn__PartitionChangeRecord *c,
                       const int32_t *isr, size_t n);

/* Kafka's clean election: the first replica in assignment order that is in
 * the ISR, is not leaving and is active; MD_NO_LEADER when none is. */
int32_t md_elect_clean(const md_image_t *img, const md_partition_t *p, int32_t leaving);
/* Unclean election: the first active replica that is not leaving (it need
 * not be in the ISR); MD_NO_LEADER when none is. */
int32_t md_elect_unclean(const md_image_t *img, const md_partition_t *p, int32_t leaving);
/* The topic's unclean.leader.election.enable, or dflt when it has none. */
bool md_topic_unclean_enabled(const md_topic_t *t, bool dflt);

/* Writes a formatted reason into why (may be NULL) and returns code. */
int md_plan_fail(int code, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
