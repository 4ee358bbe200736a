/* The configuration table: every key Cairn reads, with its type, default,
 * bounds, the roles it applies to and what it means. Parsing, validation,
 * --help and docs/configuration.md all come from this one table. */
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

typedef enum { CFG_INT, CFG_BOOL, CFG_STRING } cfg_type_t;

typedef struct cfg_key {
    const char *name;
    cfg_type_t type;
    size_t offset;
    const char *default_value;     /* NULL: no default */
    int64_t min;
    int64_t max;
    unsigned roles;                /* where the key has an effect */
    unsigned required;             /* roles that must set it */
    const char *doc;
} cfg_key_t;

#define CTRL CAIRN_ROLE_CONTROLLER
#define BRK CAIRN_ROLE_BROKER
#define BOTH (CAIRN_ROLE_CONTROLLER | CAIRN_ROLE_BROKER)
#define OFF(field) offsetof(cairn_config_t, field)
#define I64MAX INT64_MAX

static const cfg_key_t cfg_keys[] = {
    { "node.id", CFG_INT, OFF(node_id), NULL, 1, 65535, BOTH, BOTH,
      "Id of this node. Controllers are the voters named in controller.quorum.voters; broker ids are a separate namespace." },
    { "process.roles", CFG_STRING, OFF(process_roles), NULL, 0, 0, BOTH, 0,
      "Role of the process reading the file: 'controller' or 'broker'. Optional; when set it must match the binary." },
    { "listeners", CFG_STRING, OFF(listeners), NULL, 0, 0, BOTH, BOTH,
      "Listeners to bind, NAME://host:port,... A controller has one (CONTROLLER://127.0.0.1:9192); a broker has its Kafka listener first and a REPLICATION listener for its followers (PLAINTEXT://127.0.0.1:9092,REPLICATION://127.0.0.1:9292)." },
    { "advertised.listeners", CFG_STRING, OFF(advertised_listeners), NULL, 0, 0, BRK, 0,
      "Listeners the broker registers with the controllers, for clients (the first) and followers (REPLICATION) to use. Defaults to listeners; a REPLICATION entry missing here is taken from listeners." },
    { "controller.quorum.voters", CFG_STRING, OFF(controller_quorum_voters), NULL, 0, 0, BOTH, BOTH,
      "The metadata quorum's voters as id@host:port,... — the same list on every node." },
    { "metadata.log.dir", CFG_STRING, OFF(metadata_log_dir), NULL, 0, 0, CTRL, CTRL,
      "Directory of the controller's Raft log, snapshots and quorum-state." },
    { "log.dirs", CFG_STRING, OFF(log_dirs), NULL, 0, 0, BRK, BRK,
      "Directory holding the broker's partition replicas." },
    { "broker.rack", CFG_STRING, OFF(broker_rack), "", 0, 0, BRK, 0,
      "Rack of the broker, registered with the controllers." },
    { "log.level", CFG_STRING, OFF(log_level), "info", 0, 0, BOTH, 0,
      "Log level: debug, info, warn or error." },
    { "broker.session.timeout.ms", CFG_INT, OFF(broker_session_timeout_ms), "1500", 100, 3600000, CTRL, 0,
      "A broker not heard from for this long is fenced: its leaderships move to other in-sync replicas and it leaves every ISR." },
    { "broker.heartbeat.interval.ms", CFG_INT, OFF(broker_heartbeat_interval_ms), "250", 10, 600000, BOTH, 0,
      "How often a broker heartbeats to the controller leader. The controller fences a broker whose heartbeat connection closed and who has not heartbeated for this long (plus 25 ms) — a killed process — without waiting for broker.session.timeout.ms; set the same value on both." },
    { "controller.quorum.election.timeout.ms", CFG_INT, OFF(controller_quorum_election_timeout_ms), "100", 10, 600000, CTRL, 0,
      "Base Raft election timeout; each election waits a random time in [t, 2t)." },
    { "controller.quorum.heartbeat.interval.ms", CFG_INT, OFF(controller_quorum_heartbeat_interval_ms), "30", 1, 60000, CTRL, 0,
      "How often the Raft leader sends appends to idle followers." },
    { "controller.quorum.request.timeout.ms", CFG_INT, OFF(controller_quorum_request_timeout_ms), "2000", 10, 600000, CTRL, 0,
      "How long an admin or broker write waits to be committed before it fails with 'no quorum'." },
    { "metadata.snapshot.max.new.record.bytes", CFG_INT, OFF(metadata_snapshot_max_new_record_bytes), "4194304", 1024, I64MAX, CTRL, 0,
      "Take a metadata snapshot and truncate the Raft log after this many bytes of new records." },
    { "metadata.max.frame.bytes", CFG_INT, OFF(metadata_max_frame_bytes), "67108864", 65536, 1073741824, BOTH, 0,
      "Largest internal RPC frame accepted; a peer sending more is disconnected." },
    { "num.partitions", CFG_INT, OFF(num_partitions), "1", 1, 10000, BOTH, 0,
      "Partitions of a topic created without an explicit count (by cairnctl, CreateTopics with -1, or auto-creation)." },
    { "default.replication.factor", CFG_INT, OFF(default_replication_factor), "1", 1, 16, BOTH, 0,
      "Replication factor of a topic created without an explicit one; auto-created topics use min(this, active brokers)." },
    { "unclean.leader.election.enable", CFG_BOOL, OFF(unclean_leader_election_enable), "false", 0, 0, CTRL, 0,
      "When a partition's last in-sync replica leaves and no other in-sync replica is active, let an active out-of-sync replica lead (acknowledged records may be lost); false leaves the partition offline (topic override: unclean.leader.election.enable)." },
    { "auto.leader.rebalance.enable", CFG_BOOL, OFF(auto_leader_rebalance_enable), "true", 0, 0, CTRL, 0,
      "Every leader.imbalance.check.interval.seconds, move leadership back to each partition's first replica when it is active and in the ISR." },
    { "leader.imbalance.check.interval.seconds", CFG_INT, OFF(leader_imbalance_check_interval_seconds), "300", 1, 86400, CTRL, 0,
      "How often the controller leader runs preferred leader election (auto.leader.rebalance.enable)." },
    { "auto.create.topics.enable", CFG_BOOL, OFF(auto_create_topics_enable), "true", 0, 0, BRK, 0,
      "Create a topic with the default partitions and replication factor when a client asks for an unknown one in Metadata." },
    { "controlled.shutdown.enable", CFG_BOOL, OFF(controlled_shutdown_enable), "true", 0, 0, BRK, 0,
      "On SIGTERM, ask the controller to move this broker's leaderships to other in-sync replicas first, and stop once it confirms (at most 30 s); false stops at once." },
    { "socket.request.max.bytes", CFG_INT, OFF(socket_request_max_bytes), "104857600", 1024, 1073741824, BRK, 0,
      "Largest Kafka request accepted; a client announcing a bigger one is disconnected." },
    { "connections.max.idle.ms", CFG_INT, OFF(connections_max_idle_ms), "600000", 0, 86400000, BRK, 0,
      "Kafka client connections idle this long are closed; 0 never closes them." },
    { "max.connections", CFG_INT, OFF(max_connections), "4096", 1, 1000000, BRK, 0,
      "Kafka client connections open at once; further ones are refused." },
    { "message.max.bytes", CFG_INT, OFF(message_max_bytes), "1048588", 64, 1073741824, BRK, 0,
      "Largest record batch accepted (topic override: max.message.bytes); a bigger one gets MESSAGE_TOO_LARGE." },
    { "min.insync.replicas", CFG_INT, OFF(min_insync_replicas), "1", 1, 16, BRK, 0,
      "Fewest in-sync replicas with which an acks=all produce is accepted; fewer get NOT_ENOUGH_REPLICAS (topic override: min.insync.replicas)." },
    { "log.segment.bytes", CFG_INT, OFF(log_segment_bytes), "1073741824", 1024, 2147483647, BRK, 0,
      "A segment is rolled when it would grow beyond this size (topic override: segment.bytes)." },
    { "log.roll.ms", CFG_INT, OFF(log_roll_ms), "604800000", 1, I64MAX, BRK, 0,
      "A segment is rolled when its first batch is this old (topic override: segment.ms)." },
    { "log.retention.ms", CFG_INT, OFF(log_retention_ms), "604800000", -1, I64MAX, BRK, 0,
      "Segments whose newest record is older than this are deleted; -1 keeps them (topic override: retention.ms)." },
    { "log.retention.bytes", CFG_INT, OFF(log_retention_bytes), "-1", -1, I64MAX, BRK, 0,
      "Oldest segments are deleted while a partition is larger than this; -1 for no limit (topic override: retention.bytes)." },
    { "log.retention.check.interval.ms", CFG_INT, OFF(log_retention_check_interval_ms), "300000", 10, I64MAX, BRK, 0,
      "How often the broker applies retention to its partitions." },
    { "log.index.interval.bytes", CFG_INT, OFF(log_index_interval_bytes), "4096", 1, 2147483647, BRK, 0,
      "Bytes of batches between two entries of the sparse offset index." },
    { "log.index.size.max.bytes", CFG_INT, OFF(log_index_size_max_bytes), "10485760", 4096, 2147483647, BRK, 0,
      "Largest offset index of a segment; a full index rolls the segment." },
    { "log.flush.interval.messages", CFG_INT, OFF(log_flush_interval_messages), "1", 1, I64MAX, BRK, 0,
      "1 (durable, the default): a produce with acks=1 or acks=all is answered only after its batch is fsync'd, with group commit. N > 1: Kafka's page-cache mode, fsync after N messages." },
    { "log.flush.interval.ms", CFG_INT, OFF(log_flush_interval_ms), "-1", -1, I64MAX, BRK, 0,
      "In page-cache mode, also fsync when the oldest unflushed message is this old; -1 only by message count." },
    { "replica.lag.time.max.ms", CFG_INT, OFF(replica_lag_time_max_ms), "10000", 10, 3600000, BRK, 0,
      "A follower that has not caught up with its leader for this long leaves the ISR; one that catches up rejoins." },
    { "replica.fetch.max.bytes", CFG_INT, OFF(replica_fetch_max_bytes), "1048576", 1024, 1073741824, BRK, 0,
      "Bytes a follower asks for per partition in one fetch (at least one whole batch is always sent)." },
    { "replica.fetch.response.max.bytes", CFG_INT, OFF(replica_fetch_response_max_bytes), "10485760", 1024, 1073741824, BRK, 0,
      "Bytes a follower asks for over all partitions of one fetch." },
    { "replica.fetch.wait.max.ms", CFG_INT, OFF(replica_fetch_wait_max_ms), "500", 0, 5000, BRK, 0,
      "How long a follower's fetch waits at the leader when there is nothing new." },
    { "offsets.topic.num.partitions", CFG_INT, OFF(offsets_topic_num_partitions), "50", 1, 1000, BRK, 0,
      "Partitions of __consumer_offsets, created on the first group request; a group's coordinator is the leader of its partition. Fixed once the topic exists." },
    { "offsets.topic.replication.factor", CFG_INT, OFF(offsets_topic_replication_factor), "3", 1, 16, BRK, 0,
      "Replication factor of __consumer_offsets when it is created, capped at the brokers alive then." },
    { "offsets.retention.minutes", CFG_INT, OFF(offsets_retention_minutes), "10080", 1, 52560000, BRK, 0,
      "Committed offsets of a group with no members expire this long after the group emptied (or after the commit, for groups that never had members)." },
    { "offsets.retention.check.interval.ms", CFG_INT, OFF(offsets_retention_check_interval_ms), "600000", 100, 86400000, BRK, 0,
      "How often the coordinator looks for expired offsets." },
    { "offsets.commit.timeout.ms", CFG_INT, OFF(offsets_commit_timeout_ms), "5000", 1, 300000, BRK, 0,
      "How long an offset commit or group-state write waits for __consumer_offsets' in-sync replicas before failing with COORDINATOR_NOT_AVAILABLE." },
    { "offsets.load.buffer.size", CFG_INT, OFF(offsets_load_buffer_size), "5242880", 4096, 1073741824, BRK, 0,
      "Bytes of __consumer_offsets read per step while a new coordinator loads its groups (requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS)." },
    { "offset.metadata.max.bytes", CFG_INT, OFF(offset_metadata_max_bytes), "4096", 0, 1048576, BRK, 0,
      "Largest metadata string kept with a committed offset; longer ones get OFFSET_METADATA_TOO_LARGE." },
    { "group.initial.rebalance.delay.ms", CFG_INT, OFF(group_initial_rebalance_delay_ms), "3000", 0, 300000, BRK, 0,
      "How long the first rebalance of an empty group waits for more members to join (each join restarts it, up to the rebalance timeout)." },
    { "group.min.session.timeout.ms", CFG_INT, OFF(group_min_session_timeout_ms), "6000", 1, 86400000, BRK, 0,
      "Smallest session timeout a member may ask for; below it JoinGroup gets INVALID_SESSION_TIMEOUT." },
    { "group.max.session.timeout.ms", CFG_INT, OFF(group_max_session_timeout_ms), "1800000", 1, 86400000, BRK, 0,
      "Largest session timeout a member may ask for; above it JoinGroup gets INVALID_SESSION_TIMEOUT." },
    { "group.max.size", CFG_INT, OFF(group_max_size), "1000", 1, 100000, BRK, 0,
      "Members one group may have; a further JoinGroup gets GROUP_MAX_SIZE_REACHED." },
};

#define N_KEYS (sizeof cfg_keys / sizeof cfg_keys[0])

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static const cfg_key_t *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

static int parse_int(const char *s, int64_t *out)
{
    if (*s == '\0')
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "true") == 0) { *out = true; return 0; }
    if (strcmp(s, "false") == 0) { *out = false; return 0; }
    return -1;
}

static int store_value(cairn_config_t *cfg, const cfg_key_t *k, const char *value,
                       char *err, size_t err_len)
{
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case CFG_INT: {
        int64_t v;
        if (parse_int(value, &v) != 0) {
            set_err(err, err_len, "config: bad value for '%s': '%s' is not an integer", k->name, value);
            return -1;
        }
        if (v < k->min || v > k->max) {
            set_err(err, err_len, "config: bad value for '%s': %lld is outside [%lld, %lld]",
                    k->name, (long long)v, (long long)k->min, (long long)k->max);
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case CFG_BOOL: {
        bool v;
        if (parse_bool(value, &v) != 0) {
            set_err(err, err_len, "config: bad value for '%s': '%s' is not true or false", k->name, value);
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case CFG_STRING: {
        char *copy = strdup(value);
        if (!copy) {
            set_err(err, err_len, "config: out of memory reading '%s'", k->name);
            return -1;
        }
        char *old;
        memcpy(&old, field, sizeof old);
        free(old);
        memcpy(field, &copy, sizeof copy);
        return 0;
    }
    }
    return -1;
}

void cairn_config_defaults(cairn_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++)
        if (cfg_keys[i].default_value) {
            int rc = store_value(cfg, &cfg_keys[i], cfg_keys[i].default_value, NULL, 0);
            (void)rc;
        }
}

/* Key-specific checks beyond type and range. */
static int validate_value(const cfg_key_t *k, const char *value, char *err, size_t err_len)
{
    if (strcmp(k->name, "log.level") == 0 && cairn_log_level_parse(value) < 0) {
        set_err(err, err_len, "config: bad value for 'log.level': '%s' (debug|info|warn|error)", value);
        return -1;
    }
    if (strcmp(k->name, "process.roles") == 0 && strcmp(value, "controller") != 0 &&
        strcmp(value, "broker") != 0) {
        set_err(err, err_len, "config: bad value for 'process.roles': '%s' (controller|broker)", value);
        return -1;
    }
    if (strcmp(k->name, "controller.quorum.voters") == 0) {
        cairn_voter_t voters[CAIRN_MAX_VOTERS];
        size_t n;
        if (cairn_parse_voters(value, voters, CAIRN_MAX_VOTERS, &n) != 0) {
            set_err(err, err_len, "config: bad value for 'controller.quorum.voters': '%s' (id@host:port,...)", value);
            return -1;
        }
    }
    if (strcmp(k->name, "listeners") == 0 || strcmp(k->name, "advertised.listeners") == 0) {
        cairn_listener_t ls[CAIRN_LISTENERS_MAX];
        size_t n;
        if (cairn_parse_listeners(value, ls, CAIRN_LISTENERS_MAX, &n) != 0) {
            set_err(err, err_len, "config: bad value for '%s': '%s' (NAME://host:port,... with distinct names)",
                    k->name, value);
            return -1;
        }
    }
    return 0;
}

int cairn_config_set(cairn_config_t *cfg, const char *key, const char *value,
                     char *err, size_t err_len)
{
    const cfg_key_t *k = find_key(key);
    if (!k) {
        set_err(err, err_len, "config: unknown key '%s'", key);
        return -1;
    }
    if (validate_value(k, value, err, err_len) != 0)
        return -1;
    return store_value(cfg, k, value, err, err_len);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* One "key=value" (or "key: value") line; comments and blanks are skipped. */
static int load_line(cairn_config_t *cfg, char *line, int lineno, char *err, size_t err_len)
{
    char *s = trim(line);
    if (*s == '\0' || *s == '#' || *s == '!')
        return 0;
    char *sep = strpbrk(s, "=:");
    if (!sep) {
        set_err(err, err_len, "config: line %d: expected key=value, got '%s'", lineno, s);
        return -1;
    }
    *sep = '\0';
    char *key = trim(s);
    char *value = trim(sep + 1);
    if (cairn_config_set(cfg, key, value, err, err_len) != 0) {
        size_t n = strlen(err);
        if (n + 16 < err_len)
            snprintf(err + n, err_len - n, " (line %d)", lineno);
        return -1;
    }
    return 0;
}

int cairn_config_load(const char *path, unsigned role, cairn_config_t *cfg,
                      char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, err_len, "config: cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[8192];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            set_err(err, err_len, "config: line %d is longer than %zu bytes", lineno, sizeof line - 1);
            rc = -1;
            break;
        }
        rc = load_line(cfg, line, lineno, err, err_len);
    }
    fclose(f);
    if (rc != 0)
        return -1;
    if (cfg->process_roles) {
        const char *want = role == CAIRN_ROLE_CONTROLLER ? "controller" : "broker";
        if (strcmp(cfg->process_roles, want) != 0) {
            set_err(err, err_len, "config: bad value for 'process.roles': '%s' but this is the %s",
                    cfg->process_roles, want);
            return -1;
        }
    }
    return cairn_config_check_required(cfg, role, err, err_len);
}

int cairn_config_check_required(const cairn_config_t *cfg, unsigned role,
                                char *err, size_t err_len)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const cfg_key_t *k = &cfg_keys[i];
        if (!(k->required & role))
            continue;
        const char *field = (const char *)cfg + k->offset;
        bool missing;
        if (k->type == CFG_STRING) {
            char *s;
            memcpy(&s, field, sizeof s);
            missing = s == NULL || *s == '\0';
        } else if (k->type == CFG_INT) {
            int64_t v;
            memcpy(&v, field, sizeof v);
            missing = v == 0 && k->default_value == NULL;
        } else {
            missing = false;
        }
        if (missing) {
            set_err(err, err_len, "config: missing required key '%s'", k->name);
            return -1;
        }
    }
    return 0;
}

void cairn_config_free(cairn_config_t *cfg)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (cfg_keys[i].type != CFG_STRING)
            continue;
        char *s;
        memcpy(&s, (char *)cfg + cfg_keys[i].offset, sizeof s);
        free(s);
        s = NULL;
        memcpy((char *)cfg + cfg_keys[i].offset, &s, sizeof s);
    }
}

size_t cairn_config_key_count(void)
{
    return N_KEYS;
}

const char *cairn_config_key_name(size_t i)
{
    return i < N_KEYS ? cfg_keys[i].name : NULL;
}

unsigned cairn_config_key_roles(size_t i)
{
    return i < N_KEYS ? cfg_keys[i].roles : 0;
}

void cairn_config_key_format(const cairn_config_t *cfg, size_t i, char *buf, size_t buf_len)
{
    if (i >= N_KEYS || buf_len == 0)
        return;
    const cfg_key_t *k = &cfg_keys[i];
    const char *field = (const char *)cfg + k->offset;
    if (k->type == CFG_INT) {
        int64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, buf_len, "%lld", (long long)v);
    } else if (k->type == CFG_BOOL) {
        bool v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, buf_len, "%s", v ? "true" : "false");
    } else {
        const char *v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, buf_len, "%s", v ? v : "");
    }
}

static const char *type_name(cfg_type_t t)
{
    return t == CFG_INT ? "int" : t == CFG_BOOL ? "bool" : "string";
}

static const char *roles_name(unsigned roles)
{
    return roles == BOTH ? "controller, broker" : roles == CTRL ? "controller" : "broker";
}

void cairn_config_print_help(FILE *out, unsigned role)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const cfg_key_t *k = &cfg_keys[i];
        if (!(k->roles & role))
            continue;
        fprintf(out, "  %-44s %-6s %s%s%s\n      %s\n", k->name, type_name(k->type),
                (k->required & role) ? "required" : "default: ",
                (k->required & role) ? "" : (k->default_value ? k->default_value : "(none)"),
                "", k->doc);
    }
}

void cairn_config_print_markdown(FILE *out)
{
    fprintf(out, "| key | type | default | used by | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        const cfg_key_t *k = &cfg_keys[i];
        const char *def = k->required ? "required" :
                          (k->default_value && *k->default_value ? k->default_value : "(none)");
        fprintf(out, "| `%s` | %s | %s%s%s | %s | %s |\n", k->name, type_name(k->type),
                k->required || !k->default_value || !*k->default_value ? "" : "`", def,
                k->required || !k->default_value || !*k->default_value ? "" : "`",
                roles_name(k->roles), k->doc);
    }
}

int cairn_parse_hostport(const char *s, char *host, size_t host_len, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    size_t hl = (size_t)(colon - s);
    if (hl >= host_len)
        return -1;
    int64_t p;
    if (parse_int(colon + 1, &p) != 0 || p < 1 || p > 65535)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

int cairn_parse_voters(const char *s, cairn_voter_t *out, size_t max, size_t *n_out)
{
    char buf[4096];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        char *at = strchr(tok, '@');
        if (!at || n >= max)
            return -1;
        *at = '\0';
        int64_t id;
        if (parse_int(tok, &id) != 0 || id < 1 || id > 65535)
            return -1;
        if (cairn_parse_hostport(at + 1, out[n].host, sizeof out[n].host, &out[n].port) != 0)
            return -1;
        for (size_t j = 0; j < n; j++)
            if (out[j].id == (uint32_t)id)
                return -1;
        out[n++].id = (uint32_t)id;
    }
    if (n == 0)
        return -1;
    *n_out = n;
    return 0;
}

int cairn_parse_listeners(const char *s, cairn_listener_t *out, size_t max, size_t *n_out)
{
    size_t n = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        char entry[CAIRN_HOST_MAX + 64];
        if (len == 0 || len >= sizeof entry || n >= max)
            return -1;
        memcpy(entry, s, len);
        entry[len] = '\0';
        char *e = trim(entry);
        if (cairn_parse_listener(e, out[n].name, sizeof out[n].name, out[n].host,
                                 sizeof out[n].host, &out[n].port) != 0)
            return -1;
        if (cairn_find_listener(out, n, out[n].name))
            return -1;
        n++;
        s += len;
        if (*s == ',')
            s++;
    }
    if (n == 0)
        return -1;
    *n_out = n;
    return 0;
}

const cairn_listener_t *cairn_find_listener(const cairn_listener_t *ls, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ls[i].name, name) == 0)
            return &ls[i];
    return NULL;
}

int cairn_parse_listener(const char *s, char *name, size_t name_len,
                         char *host, size_t host_len, uint16_t *port)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s)
        return -1;
    size_t nl = (size_t)(sep - s);
    if (name) {
        if (nl >= name_len)
            return -1;
        memcpy(name, s, nl);
        name[nl] = '\0';
    }
    char first[CAIRN_HOST_MAX + 16];
    const char *addr = sep + 3;
    size_t al = strcspn(addr, ",");
    if (al >= sizeof first)
        return -1;
    memcpy(first, addr, al);
    first[al] = '\0';
    return cairn_parse_hostport(first, host, host_len, port);
}
