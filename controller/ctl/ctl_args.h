/* cairnctl command line (DESIGN §6): options, command words, and where the
 * controllers and the timeout come from (flag, then environment, then the
 * local cluster's defaults). Pure: no I/O besides the usage text. */
#ifndef CAIRN_CTL_ARGS_H
#define CAIRN_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define CTL_CONFIGS_MAX 64
#define CTL_CONFIG_KEY_MAX 256          /* bytes, with the terminating NUL */
#define CTL_TIMEOUT_MS_DEFAULT 10000u
#define CTL_TIMEOUT_MS_MAX 3600000u     /* one hour */
#define CTL_BASE_PORT_DEFAULT 9092u
#define CTL_LOCAL_CONTROLLERS 3u
#define CTL_LOCAL_CONTROLLER_OFFSET 100u /* controller i listens on BASE+100+i-1 */
#define CTL_REPLICATION_FACTOR_MAX 32767 /* Kafka's INT16 replication factor */
#define CTL_GROUP_NAME_MAX 32767u       /* bytes: a Kafka string */

typedef enum {
    CTL_CMD_HELP = 0,
    CTL_CMD_CLUSTER_STATUS,
    CTL_CMD_TOPIC_CREATE,
    CTL_CMD_TOPIC_LIST,
    CTL_CMD_TOPIC_DESCRIBE,
    CTL_CMD_TOPIC_DELETE,
    CTL_CMD_TOPIC_ALTER,
    CTL_CMD_BROKER_LIST,
    CTL_CMD_GROUP_LIST,
    CTL_CMD_GROUP_DESCRIBE,
} ctl_cmd_t;

typedef struct ctl_config_kv {
    char key[CTL_CONFIG_KEY_MAX];
    const char *value;             /* borrowed from argv */
} ctl_config_kv_t;

typedef struct ctl_args {
    ctl_cmd_t cmd;
    bool json;
    bool under_replicated;         /* topic describe/list: only partitions with ISR < replicas */
    const char *topic;             /* borrowed from argv; NULL unless the command names one */
    const char *group;             /* borrowed from argv; NULL unless the command names one */
    int32_t partitions;            /* create: 0 means num.partitions; alter: new total */
    int32_t replication_factor;    /* 0: the controller's default.replication.factor */
    ctl_config_kv_t configs[CTL_CONFIGS_MAX];
    size_t n_configs;
    cairn_voter_t controllers[CAIRN_MAX_VOTERS];
    size_t n_controllers;
    uint32_t timeout_ms;
} ctl_args_t;

/* The environment cairnctl reads; NULL members are unset. */
typedef struct ctl_env {
    const char *controllers;       /* $CAIRN_CONTROLLERS */
    const char *base_port;         /* $CAIRN_BASE_PORT */
    const char *timeout_ms;        /* $CAIRN_TIMEOUT_MS */
} ctl_env_t;

/* Parses argv[1..argc). argv and env are borrowed and must outlive out
 * (out points into argv). Returns 0, or -1 on a usage error with a one-line
 * reason in err (no "cairnctl: " prefix). --help anywhere gives
 * CTL_CMD_HELP. */
int ctl_args_parse(int argc, char *const *argv, const ctl_env_t *env,
                   ctl_args_t *out, char *err, size_t err_len);

/* Parses "host:port,..." (each item optionally "id@host:port"; IPv6 hosts
 * bracketed) into out[0..max). Items without an id get their 1-based
 * position, the local cluster's convention. Returns 0 or -1 with err set. */
int ctl_parse_controllers(const char *s, cairn_voter_t *out, size_t max, size_t *n_out,
                          char *err, size_t err_len);

void ctl_usage(FILE *out);

#endif
