/* Renders admin responses. JSON goes through ctl_json; human output goes
 * through a small table that pads every column to its widest cell. */
#include "ctl_print.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "ctl_group_view.h"
#include "ctl_json.h"
#include "ctl_replicas.h"

#define TABLE_COLS_MAX 9            /* kafka-consumer-groups --describe has 9 */
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

/* ---- consumer groups ------------------------------------------------------------ */

static const char *or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

int ctl_print_group_list(FILE *out, const ctl_group_list_t *l, bool json)
{
    if (json) {
        ctl_json_t j;
        ctl_json_init(&j, out);
        ctl_json_begin_object(&j);
        ctl_json_key(&j, "groups");
        ctl_json_begin_array(&j);
        for (size_t i = 0; i < l->n_groups; i++) {
            const ctl_group_entry_t *e = &l->groups[i];
            ctl_json_begin_object(&j);
            ctl_json_kv_string(&j, "group", e->group_id);
            ctl_json_kv_string(&j, "state", e->state);
            ctl_json_kv_string(&j, "protocol_type", e->protocol_type);
            ctl_json_kv_int(&j, "coordinator", e->coordinator);
            ctl_json_end_object(&j);
        }
        ctl_json_end_array(&j);
        ctl_json_end_object(&j);
        fputc('\n', out);
        return 0;
    }
    if (l->n_groups == 0) {
        fputs("No consumer groups.\n", out);
        return 0;
    }
    table_t t;
    table_init(&t, 4);
    table_row(&t, (const char *const[]){ "GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR" });
    for (size_t i = 0; i < l->n_groups; i++) {
        const ctl_group_entry_t *e = &l->groups[i];
        char id[16];
        snprintf(id, sizeof id, "%" PRId32, e->coordinator);
        table_row(&t, (const char *const[]){ e->group_id, e->state, or_dash(e->protocol_type),
                                             id });
    }
    return table_print(&t, out, "");
}

static void json_known_int(ctl_json_t *j, const char *key, bool known, int64_t v)
{
    ctl_json_key(j, key);
    if (known)
        ctl_json_int(j, v);
    else
        ctl_json_null(j);
}

/* key: s, or null for NULL or "". */
static void json_optional_string(ctl_json_t *j, const char *key, const char *s)
{
    ctl_json_key(j, key);
    if (s && s[0])
        ctl_json_string(j, s);
    else
        ctl_json_null(j);
}

static void json_group_member(ctl_json_t *j, const Cairn__GroupMemberDescription *m)
{
    ctl_json_begin_object(j);
    ctl_json_kv_string(j, "member_id", m->member_id);
    json_optional_string(j, "group_instance_id", m->group_instance_id);
    ctl_json_kv_string(j, "client_id", m->client_id);
    ctl_json_kv_string(j, "host", m->client_host);
    ctl_json_key(j, "assignments");
    ctl_json_begin_array(j);
    for (size_t k = 0; k < m->n_assigned; k++) {
        ctl_json_begin_object(j);
        ctl_json_kv_string(j, "topic", m->assigned[k]->topic);
        json_int_array(j, "partitions", m->assigned[k]->partitions, m->assigned[k]->n_partitions);
        ctl_json_end_object(j);
    }
    ctl_json_end_array(j);
    ctl_json_end_object(j);
}

static void json_group_offset(ctl_json_t *j, const ctl_group_row_t *r)
{
    int64_t committed = 0, lag = 0;
    bool has_committed = ctl_group_row_committed(r, &committed);
    bool has_lag = ctl_group_row_lag(r, &lag);
    ctl_json_begin_object(j);
    ctl_json_kv_string(j, "topic", r->topic);
    ctl_json_kv_int(j, "partition", r->partition);
    json_known_int(j, "committed_offset", has_committed, committed);
    json_known_int(j, "log_end_offset", r->has_log_end, r->log_end_offset);
    json_known_int(j, "lag", has_lag, lag);
    json_optional_string(j, "member_id", r->member ? r->member->member_id : NULL);
    ctl_json_kv_string(j, "metadata", r->offset ? r->offset->metadata : "");
    ctl_json_end_object(j);
}

static void json_group(FILE *out, const Cairn__DescribeGroupResponse *g, int32_t coordinator,
                       const ctl_group_rows_t *rows)
{
    ctl_json_t j;
    ctl_json_init(&j, out);
    ctl_json_begin_object(&j);
    ctl_json_kv_string(&j, "group", g->group_id);
    ctl_json_kv_string(&j, "state", g->state);
    ctl_json_kv_string(&j, "protocol_type", g->protocol_type);
    ctl_json_kv_string(&j, "protocol", g->protocol);
    ctl_json_kv_int(&j, "generation", g->generation);
    ctl_json_kv_int(&j, "coordinator", coordinator);
    json_optional_string(&j, "leader", g->leader);
    ctl_json_key(&j, "members");
    ctl_json_begin_array(&j);
    for (size_t i = 0; i < g->n_members; i++)
        json_group_member(&j, g->members[i]);
    ctl_json_end_array(&j);
    ctl_json_key(&j, "offsets");
    ctl_json_begin_array(&j);
    for (size_t i = 0; i < rows->n_rows; i++)
        if (rows->rows[i].topic)
            json_group_offset(&j, &rows->rows[i]);
    ctl_json_end_array(&j);
    ctl_json_end_object(&j);
    fputc('\n', out);
}

static void print_group_header(FILE *out, const Cairn__DescribeGroupResponse *g,
                               int32_t coordinator)
{
    fprintf(out, "Group: %s\tState: %s\tProtocolType: %s\tProtocol: %s\tGeneration: %" PRId32
            "\tCoordinator: %" PRId32 "\tMembers: %zu\n", g->group_id, g->state,
            or_dash(g->protocol_type), or_dash(g->protocol), g->generation, coordinator,
            g->n_members);
}

/* A cell: v, or "-" when unknown. */
static const char *num_cell(char *buf, size_t len, bool known, int64_t v)
{
    if (!known)
        return "-";
    snprintf(buf, len, "%" PRId64, v);
    return buf;
}

static void table_group_row(table_t *t, const char *group, const ctl_group_row_t *r)
{
    char part[16], cur[24], leo[24], lag[24];
    int64_t committed = 0, l = 0;
    bool has_committed = ctl_group_row_committed(r, &committed);
    bool has_lag = ctl_group_row_lag(r, &l);
    const Cairn__GroupMemberDescription *m = r->member;
    table_row(t, (const char *const[]){
        group, r->topic ? r->topic : "-",
        num_cell(part, sizeof part, r->topic != NULL, r->partition),
        num_cell(cur, sizeof cur, has_committed, committed),
        num_cell(leo, sizeof leo, r->topic && r->has_log_end, r->log_end_offset),
        num_cell(lag, sizeof lag, has_lag, l),
        m ? or_dash(m->member_id) : "-", m ? or_dash(m->client_host) : "-",
        m ? or_dash(m->client_id) : "-" });
}

/* "orders(0,1),payments(2)" as kafka-consumer-groups --members --verbose
 * shows it; a list too long for the cell ends in "...". */
static void format_assignment(char *buf, size_t len, const Cairn__GroupMemberDescription *m)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < m->n_assigned; k++) {
        char ids[TABLE_CELL_MAX];
        const Cairn__GroupTopicPartitions *tp = m->assigned[k];
        format_ids(ids, sizeof ids, tp->partitions, tp->n_partitions);
        int w = snprintf(buf + used, len - used, "%s%s(%s)", k ? "," : "", tp->topic, ids);
        if (w < 0 || (size_t)w >= len - used) {
            snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
            return;
        }
        used += (size_t)w;
    }
}

static int print_group_members(FILE *out, const Cairn__DescribeGroupResponse *g)
{
    if (g->n_members == 0) {
        fputs("No active members.\n", out);
        return 0;
    }
    table_t t;
    table_init(&t, 6);
    table_row(&t, (const char *const[]){ "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID",
                                         "#PARTITIONS", "ASSIGNMENT" });
    for (size_t i = 0; i < g->n_members; i++) {
        const Cairn__GroupMemberDescription *m = g->members[i];
        char count[24], assignment[TABLE_CELL_MAX];
        snprintf(count, sizeof count, "%zu", ctl_group_member_partition_count(m));
        format_assignment(assignment, sizeof assignment, m);
        table_row(&t, (const char *const[]){ or_dash(m->member_id), or_dash(m->group_instance_id),
                                             or_dash(m->client_host), or_dash(m->client_id),
                                             count, or_dash(assignment) });
    }
    return table_print(&t, out, "");
}

int ctl_print_group(FILE *out, const Cairn__DescribeGroupResponse *g, int32_t coordinator,
                    const ctl_group_rows_t *rows, bool json)
{
    if (json) {
        json_group(out, g, coordinator, rows);
        return 0;
    }
    print_group_header(out, g, coordinator);
    fputc('\n', out);
    int rc = 0;
    bool any_partition = false;
    for (size_t i = 0; i < rows->n_rows; i++)
        any_partition |= rows->rows[i].topic != NULL;
    if (any_partition) {
        table_t t;
        table_init(&t, 9);
        table_row(&t, (const char *const[]){ "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                             "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
                                             "CLIENT-ID" });
        for (size_t i = 0; i < rows->n_rows; i++)
            table_group_row(&t, g->group_id, &rows->rows[i]);
        rc = table_print(&t, out, "");
    } else {
        fputs("No committed offsets and no assigned partitions.\n", out);
    }
    fputc('\n', out);
    return print_group_members(out, g) | rc;
}
