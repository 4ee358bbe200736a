/* Properties-file configuration driven by one declarative table (config.c):
 * the table gives each key its type, default, bounds, roles and meaning, and
 * drives parsing, validation, --help and docs/configuration.md. */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CAIRN_ROLE_CONTROLLER 1u
#define CAIRN_ROLE_BROKER     2u

#define CAIRN_MAX_VOTERS 9
#define CAIRN_HOST_MAX   256

typedef struct cairn_config {
    int64_t node_id;
    char *process_roles;
    char *listeners;
    char *advertised_listeners;
    char *controller_quorum_voters;
    char *metadata_log_dir;
    char *log_dirs;
    char *broker_rack;
    char *log_level;
    int64_t broker_session_timeout_ms;
    int64_t broker_heartbeat_interval_ms;
    int64_t controller_quorum_election_timeout_ms;
    int64_t controller_quorum_heartbeat_interval_ms;
    int64_t controller_quorum_request_timeout_ms;
    int64_t metadata_snapshot_max_new_record_bytes;
    int64_t metadata_max_frame_bytes;
    int64_t num_partitions;
    int64_t default_replication_factor;
    bool unclean_leader_election_enable;
    bool auto_leader_rebalance_enable;
    int64_t leader_imbalance_check_interval_seconds;
    /* broker: Kafka listener and partition logs */
    bool auto_create_topics_enable;
    bool controlled_shutdown_enable;
    int64_t socket_request_max_bytes;
    int64_t connections_max_idle_ms;
    int64_t max_connections;
    int64_t message_max_bytes;
    int64_t min_insync_replicas;
    int64_t log_segment_bytes;
    int64_t log_roll_ms;
    int64_t log_retention_ms;
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    int64_t log_index_interval_bytes;
    int64_t log_index_size_max_bytes;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;
    int64_t replica_lag_time_max_ms;
    int64_t replica_fetch_max_bytes;
    int64_t replica_fetch_response_max_bytes;
    int64_t replica_fetch_wait_max_ms;
    int64_t offsets_topic_num_partitions;
    int64_t offsets_topic_replication_factor;
    int64_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int64_t offsets_commit_timeout_ms;
    int64_t offsets_load_buffer_size;
    int64_t offset_metadata_max_bytes;
    int64_t group_initial_rebalance_delay_ms;
    int64_t group_min_session_timeout_ms;
    int64_t group_max_session_timeout_ms;
    int64_t group_max_size;
} cairn_config_t;

/* Sets every field to its default. Strings are owned by cfg. */
void cairn_config_defaults(cairn_config_t *cfg);

/* Reads a properties file for a process of the given role (CAIRN_ROLE_*).
 * On failure returns -1 and writes one line naming the key into err, e.g.
 * "config: unknown key 'foo.bar' (line 3)". Keys of the other role are
 * accepted, so one file can serve both processes. */
int cairn_config_load(const char *path, unsigned role, cairn_config_t *cfg,
                      char *err, size_t err_len);

/* Sets one key from text (the same validation as a file line). */
int cairn_config_set(cairn_config_t *cfg, const char *key, const char *value,
                     char *err, size_t err_len);

/* Checks the keys required by role; same error contract as load. */
int cairn_config_check_required(const cairn_config_t *cfg, unsigned role,
                                char *err, size_t err_len);

void cairn_config_free(cairn_config_t *cfg);

/* The table, for DescribeConfigs: key i's name, the roles it applies to,
 * and its current value in cfg formatted as text into buf. */
size_t cairn_config_key_count(void);
const char *cairn_config_key_name(size_t i);
unsigned cairn_config_key_roles(size_t i);
void cairn_config_key_format(const cairn_config_t *cfg, size_t i, char *buf, size_t buf_len);

/* Human help (--help) for one role, and the full Markdown reference. */
void cairn_config_print_help(FILE *out, unsigned role);
void cairn_config_print_markdown(FILE *out);

/* "1@127.0.0.1:9192,2@..." */
typedef struct cairn_voter {
    uint32_t id;
    char host[CAIRN_HOST_MAX];
    uint16_t port;
} cairn_voter_t;

int cairn_parse_voters(const char *s, cairn_voter_t *out, size_t max, size_t *n_out);

/* "host:port" → parts. Returns -1 on a malformed address. */
int cairn_parse_hostport(const char *s, char *host, size_t host_len, uint16_t *port);

/* One entry of a "NAME://host:port,..." listener list. */
typedef struct cairn_listener {
    char name[32];
    char host[CAIRN_HOST_MAX];
    uint16_t port;
} cairn_listener_t;

#define CAIRN_LISTENERS_MAX 8
/* The broker listener followers fetch from (internal RPC frames). */
#define CAIRN_REPLICATION_LISTENER "REPLICATION"

/* Every listener of the list, in order. Returns -1 on a malformed entry, a
 * repeated name, or more than max. */
int cairn_parse_listeners(const char *s, cairn_listener_t *out, size_t max, size_t *n_out);

/* The listener called name in the list, or NULL. */
const cairn_listener_t *cairn_find_listener(const cairn_listener_t *ls, size_t n,
                                            const char *name);

/* First listener of a "NAME://host:port[,...]" list. name may be NULL. */
int cairn_parse_listener(const char *s, char *name, size_t name_len,
                         char *host, size_t host_len, uint16_t *port);

#endif
