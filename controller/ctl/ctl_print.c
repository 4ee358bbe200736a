/* Renders admin responses. JSON goes through ctl_json; human output goes
 * through a small table that pads every column to its widest cell. */
#include "ctl_print.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "ctl_json.h"
#include "ctl_replicas.h"

#define TABLE_COLS_MAX 8
#define TABLE_CELL_MAX 512          /* bytes per cell; longer lists end in "..." */
#define TABLE_GAP "  "

typedef struct table {
    size_t n_cols;
    size_t n_rows;
    size_t cap_rows;
    char **cells;                   /* n_rows x n_cols, owned */
    size_t width[TABLE_COLS_MAX];   /* display columns (UTF-8 code points) */
    bool failed;                    /* an allocation failed; rows were dropped */
} table_t;

static void table_init(table_t *t, size_t n_cols)
{
    CAIRN_ASSERT(n_cols > 0 && n_cols <= TABLE_COLS_MAX);
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
}

static size_t display_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}

/* Copies cells[0..n_cols) into a new row. */
static void table_row(table_t *t, const char *const *cells)
{
    if (t->failed)
        return;
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? 2 * t->cap_rows : 16;
        char **grown = realloc(t->cells, cap * t->n_cols * sizeof *grown);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->cells = grown;
        t->cap_rows = cap;
    }
    char **row = &t->cells[t->n_rows * t->n_cols];
    for (size_t c = 0; c < t->n_cols; c++) {
        row[c] = strdup(cells[c] ? cells[c] : "");
        if (!row[c]) {
            while (c > 0)
                free(row[--c]);
            t->failed = true;
            return;
        }
        size_t w = display_width(row[c]);
        if (w > t->width[c])
            t->width[c] = w;
    }
    t->n_rows++;
}

/* Prints every row after indent, then frees the table. */
static int table_print(table_t *t, FILE *out, const char *indent)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        char **row = &t->cells[r * t->n_cols];
        fputs(indent, out);
        for (size_t c = 0; c < t->n_cols; c++) {
            fputs(row[c], out);
            if (c + 1 < t->n_cols)
                fprintf(out, "%*s" TABLE_GAP, (int)(t->width[c] - display_width(row[c])), "");
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    int rc = t->failed ? -1 : 0;
    memset(t, 0, sizeof *t);
    return rc;
}

/* "1,2,3" into buf; a list too long for the cell ends in "...". */
static void format_ids(char *buf, size_t len, const int32_t *ids, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + used, len - used, "%s%" PRId32, i ? "," : "", ids[i]);
        if (w < 0 || (size_t)w >= len - used) {
            snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
            return;
        }
        used += (size_t)w;
    }
}

static void format_leader(char *buf, size_t len, int64_t leader)
{
    if (leader < 0)
        snprintf(buf, len, "none");
    else
        snprintf(buf, len, "%" PRId64, leader);
}

static void json_int_array(ctl_json_t *j, const char *key, const int32_t *v, size_t n)
{
    ctl_json_key(j, key);
    ctl_json_begin_array(j);
    for (size_t i = 0; i < n; i++)
        ctl_json_int(j, v[i]);
    ctl_json_end_array(j);
}

static void json_broker(ctl_json_t *j, const Cairn__BrokerStatus *b)
{
    ctl_json_begin_object(j);
    ctl_json_kv_uint(j, "id", b->id);
    ctl_json_kv_string(j, "address", b->address);
    ctl_json_kv_string(j, "state", b->state);
    ctl_json_kv_string(j, "rack", b->rack);
    ctl_json_kv_uint(j, "broker_epoch", b->broker_epoch);
    ctl_json_kv_string(j, "replication_address", b->replication_address);
    ctl_json_end_object(j);
}

static void json_brokers(ctl_json_t *j, Cairn__BrokerStatus *const *b, size_t n)
{
    ctl_json_key(j, "brokers");
    ctl_json_begin_array(j);
    for (size_t i = 0; i < n; i++)
        json_broker(j, b[i]);
    ctl_json_end_array(j);
}

static int print_broker_table(FILE *out, Cairn__BrokerStatus *const *b, size_t n)
{
    if (n == 0) {
        fputs("No brokers registered.\n", out);
        return 0;
    }
    table_t t;
    table_init(&t, 4);
    table_row(&t, (const char *const[]){ "BROKER", "ADDRESS", "STATE", "RACK" });
    for (size_t i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "%" PRIu32, b[i]->id);
        const char *rack = b[i]->rack && b[i]->rack[0] ? b[i]->rack : "-";
        table_row(&t, (const char *const[]){ id, b[i]->address, b[i]->state, rack });
    }
    return table_print(&t, out, "");
}

static void json_cluster_status(FILE *out, const Cairn__ClusterStatusResponse *r)
{
    ctl_json_t j;
    ctl_json_init(&j, out);
    ctl_json_begin_object(&j);
    ctl_json_key(&j, "controller");
    ctl_json_begin_object(&j);
    ctl_json_kv_uint(&j, "leader", r->leader);
    ctl_json_kv_uint(&j, "epoch", r->epoch);
    ctl_json_kv_uint(&j, "high_watermark", r->high_watermark);
    ctl_json_key(&j, "voters");
    ctl_json_begin_array(&j);
    for (size_t i = 0; i < r->n_voters; i++) {
        const Cairn__VoterStatus *v = r->voters[i];
        ctl_json_begin_object(&j);
        ctl_json_kv_uint(&j, "id", v->id);
        ctl_json_kv_string(&j, "address", v->address);
        ctl_json_kv_string(&j, "role", v->role);
        ctl_json_kv_uint(&j, "log_end_offset", v->log_end_offset);
        ctl_json_end_object(&j);
    }
    ctl_json_end_array(&j);
    ctl_json_end_object(&j);
    json_brokers(&j, r->brokers, r->n_brokers);
    ctl_json_end_object(&j);
    fputc('\n', out);
}

int ctl_print_cluster_status(FILE *out, const Cairn__ClusterStatusResponse *r, bool json)
{
    if (json) {
        json_cluster_status(out, r);
        return 0;
    }
    char leader[24];
    format_leader(leader, sizeof leader, r->leader ? (int64_t)r->leader : -1);
    fprintf(out, "Controller quorum: leader %s, epoch %" PRIu64 ", high watermark %" PRIu64 "\n\n",
            leader, r->epoch, r->high_watermark);
    table_t t;
    table_init(&t, 4);
    table_row(&t, (const char *const[]){ "VOTER", "ADDRESS", "ROLE", "LOG END OFFSET" });
    for (size_t i = 0; i < r->n_voters; i++) {
        const Cairn__VoterStatus *v = r->voters[i];
        char id[16], leo[24];
        snprintf(id, sizeof id, "%" PRIu32, v->id);
        snprintf(leo, sizeof leo, "%" PRIu64, v->log_end_offset);
        table_row(&t, (const char *const[]){ id, v->address, v->role, leo });
    }
    int rc = table_print(&t, out, "");
    fputc('\n', out);
    return print_broker_table(out, r->brokers, r->n_brokers) | rc;
}

/* Replication factor as Kafka reports it: the replica count of partition 0. */
static size_t topic_replication_factor(const Cairn__TopicDescription *t)
{
    return t->n_partitions > 0 ? t->partitions[0]->n_replicas : 0;
}

int ctl_print_topic_list(FILE *out, const Cairn__ListTopicsResponse *r, bool json)
{
    if (json) {
        ctl_json_t j;
        ctl_json_init(&j, out);
        ctl_json_begin_object(&j);
        ctl_json_key(&j, "topics");
        ctl_json_begin_array(&j);
        for (size_t i = 0; i < r->n_topics; i++) {
            const Cairn__TopicDescription *t = r->topics[i];
            ctl_json_begin_object(&j);
            ctl_json_kv_string(&j, "name", t->name);
            ctl_json_kv_string(&j, "id", t->id);
            ctl_json_kv_uint(&j, "partitions", t->n_partitions);
            ctl_json_kv_uint(&j, "replication_factor", topic_replication_factor(t));
            ctl_json_end_object(&j);
        }
        ctl_json_end_array(&j);
        ctl_json_end_object(&j);
        fputc('\n', out);
        return 0;
    }
    if (r->n_topics == 0) {
        fputs("No topics.\n", out);
        return 0;
    }
    table_t t;
    table_init(&t, 4);
    table_row(&t, (const char *const[]){ "TOPIC", "PARTITIONS", "REPLICATION FACTOR", "ID" });
    for (size_t i = 0; i < r->n_topics; i++) {
        const Cairn__TopicDescription *d = r->topics[i];
        char np[24], rf[24];
        snprintf(np, sizeof np, "%zu", d->n_partitions);
        snprintf(rf, sizeof rf, "%zu", topic_replication_factor(d));
        table_row(&t, (const char *const[]){ d->name, np, rf, d->id });
    }
    return table_print(&t, out, "");
}

/* "replica_lag": [{"id": 1, "lag": 0}, ...] in replica order; null: unknown. */
static void json_replica_lag(ctl_json_t *j, const Cairn__PartitionDescription *p,
                             const Cairn__PartitionReplicaState *s)
{
    ctl_json_key(j, "replica_lag");
    ctl_json_begin_array(j);
    for (size_t i = 0; i < p->n_replicas; i++) {
        int64_t lag;
        ctl_json_begin_object(j);
        ctl_json_kv_int(j, "id", p->replicas[i]);
        ctl_json_key(j, "lag");
        if (ctl_replica_lag(p, s, p->replicas[i], &lag))
            ctl_json_int(j, lag);
        else
            ctl_json_null(j);
        ctl_json_end_object(j);
    }
    ctl_json_end_array(j);
}

static void json_partition(ctl_json_t *j, const Cairn__PartitionDescription *p,
                           const Cairn__PartitionReplicaState *s)
{
    ctl_json_begin_object(j);
    ctl_json_kv_uint(j, "partition", p->partition);
    ctl_json_kv_int(j, "leader", p->leader);
    ctl_json_kv_uint(j, "leader_epoch", p->leader_epoch);
    json_int_array(j, "replicas", p->replicas, p->n_replicas);
    json_int_array(j, "isr", p->isr, p->n_isr);
    ctl_json_kv_uint(j, "partition_epoch", p->partition_epoch);
    if (s) {
        ctl_json_key(j, "high_watermark");
        if (s->high_watermark >= 0)
            ctl_json_int(j, s->high_watermark);
        else
            ctl_json_null(j);
        ctl_json_kv_int(j, "log_end_offset", s->log_end_offset);
        json_replica_lag(j, p, s);
    }
    ctl_json_end_object(j);
}

static void json_topic(FILE *out, const Cairn__TopicDescription *t,
                       const Cairn__PartitionReplicaState *const *states)
{
    ctl_json_t j;
    ctl_json_init(&j, out);
    ctl_json_begin_object(&j);
    ctl_json_kv_string(&j, "name", t->name);
    ctl_json_kv_string(&j, "id", t->id);
    ctl_json_key(&j, "partitions");
    ctl_json_begin_array(&j);
    for (size_t i = 0; i < t->n_partitions; i++)
        json_partition(&j, t->partitions[i], states ? states[i] : NULL);
    ctl_json_end_array(&j);
    ctl_json_key(&j, "configs");
    ctl_json_begin_object(&j);
    for (size_t i = 0; i < t->n_configs; i++)
        ctl_json_kv_string(&j, t->configs[i]->name, t->configs[i]->value);
    ctl_json_end_object(&j);
    ctl_json_end_object(&j);
    fputc('\n', out);
}

/* "1=0,2=0,3=-" into buf (replica=lag, '-' unknown); a list too long for
 * the cell ends in "...". */
static void format_lags(char *buf, size_t len, const Cairn__PartitionDescription *p,
                        const Cairn__PartitionReplicaState *s)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_replicas; i++) {
        int64_t lag;
        char v[24] = "-";
        if (ctl_replica_lag(p, s, p->replicas[i], &lag))
            snprintf(v, sizeof v, "%" PRId64, lag);
        int w = snprintf(buf + used, len - used, "%s%" PRId32 "=%s", i ? "," : "",
                         p->replicas[i], v);
        if (w < 0 || (size_t)w >= len - used) {
            snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
            return;
        }
        used += (size_t)w;
    }
}

/* One partition line; the leader's cells (s NULL: unknown) come last and
 * are left out by a six-column table. */
static void table_partition(table_t *tab, const char *name, const Cairn__PartitionDescription *p,
                            const Cairn__PartitionReplicaState *s)
{
    char topic[TABLE_CELL_MAX], part[32], leader[32], reps[TABLE_CELL_MAX],
         isr[TABLE_CELL_MAX], epoch[32], ids[TABLE_CELL_MAX - 16], hw[48], lags[TABLE_CELL_MAX];
    char lead[24];
    snprintf(topic, sizeof topic, "Topic: %s", name);
    snprintf(part, sizeof part, "Partition: %" PRIu32, p->partition);
    format_leader(lead, sizeof lead, p->leader);
    snprintf(leader, sizeof leader, "Leader: %s", lead);
    format_ids(ids, sizeof ids, p->replicas, p->n_replicas);
    snprintf(reps, sizeof reps, "Replicas: %s", ids);
    format_ids(ids, sizeof ids, p->isr, p->n_isr);
    snprintf(isr, sizeof isr, "Isr: %s", ids);
    snprintf(epoch, sizeof epoch, "LeaderEpoch: %" PRIu32, p->leader_epoch);
    if (s && s->high_watermark >= 0)
        snprintf(hw, sizeof hw, "HighWatermark: %" PRId64, s->high_watermark);
    else
        snprintf(hw, sizeof hw, "HighWatermark: -");
    if (s) {
        format_lags(ids, sizeof ids, p, s);
        snprintf(lags, sizeof lags, "ReplicaLag: %s", ids);
    } else {
        snprintf(lags, sizeof lags, "ReplicaLag: -");
    }
    table_row(tab, (const char *const[]){ topic, part, leader, reps, isr, epoch, hw, lags });
}

/* kafka-topics.sh --describe layout: a line for the whole topic, then one
 * line per partition shown with the same "Key: value" cells, padded into
 * columns. */
static int print_topic(FILE *out, const Cairn__TopicDescription *whole,
                       const Cairn__TopicDescription *t, bool with_state,
                       const Cairn__PartitionReplicaState *const *states)
{
    fprintf(out, "Topic: %s\tTopicId: %s\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: ",
            whole->name, whole->id, whole->n_partitions, topic_replication_factor(whole));
    for (size_t i = 0; i < whole->n_configs; i++)
        fprintf(out, "%s%s=%s", i ? "," : "", whole->configs[i]->name, whole->configs[i]->value);
    fputc('\n', out);
    table_t tab;
    table_init(&tab, with_state ? 8 : 6);
    for (size_t i = 0; i < t->n_partitions; i++)
        table_partition(&tab, t->name, t->partitions[i], with_state ? states[i] : NULL);
    return table_print(&tab, out, "\t");
}

int ctl_print_topic(FILE *out, const Cairn__TopicDescription *t, bool json)
{
    if (json) {
        json_topic(out, t, NULL);
        return 0;
    }
    return print_topic(out, t, t, false, NULL);
}

int ctl_print_topic_replicas(FILE *out, const Cairn__TopicDescription *whole,
                             const Cairn__TopicDescription *shown,
                             const Cairn__PartitionReplicaState *const *states, bool json)
{
    if (json) {
        json_topic(out, shown, states);
        return 0;
    }
    return print_topic(out, whole, shown, true, states);
}

int ctl_print_broker_list(FILE *out, const Cairn__ListBrokersResponse *r, bool json)
{
    if (!json)
        return print_broker_table(out, r->brokers, r->n_brokers);
    ctl_json_t j;
    ctl_json_init(&j, out);
    ctl_json_begin_object(&j);
    json_brokers(&j, r->brokers, r->n_brokers);
    ctl_json_end_object(&j);
    fputc('\n', out);
    return 0;
}
