/* Validation rules for metadata: the structural checks every record and
 * snapshot must pass before it touches the image, and the stricter topic
 * config rules the controller applies to new topics. */
#include "md_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool uuid_is_zero(const uint8_t *id)
{
    for (size_t i = 0; i < MD_UUID_LEN; i++)
        if (id[i] != 0)
            return false;
    return true;
}

/* Kafka's Topic.validate: 1..249 characters from [a-zA-Z0-9._-], and not
 * "." or ".." (they would name the log directory's parents). */
int md_topic_name_check(const char *name, char *why, size_t why_len)
{
    if (name == NULL || name[0] == '\0')
        return md_fail(why, why_len, "topic name is empty");
    size_t len = strnlen(name, MD_TOPIC_NAME_MAX + 1);
    if (len > MD_TOPIC_NAME_MAX)
        return md_fail(why, why_len, "topic name longer than %d characters",
                       MD_TOPIC_NAME_MAX);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return md_fail(why, why_len, "topic name cannot be \"%s\"", name);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return md_fail(why, why_len,
                           "topic name \"%s\" has a character outside [a-zA-Z0-9._-]",
                           name);
    }
    return 0;
}

/* Kafka reserves the all-zero UUID to mean "no topic id". */
int md_topic_id_check(const ProtobufCBinaryData *id, char *why, size_t why_len)
{
    if (id->len != MD_UUID_LEN)
        return md_fail(why, why_len, "topic id has %zu bytes, want %d", id->len,
                       MD_UUID_LEN);
    if (uuid_is_zero(id->data))
        return md_fail(why, why_len, "topic id is the reserved zero uuid");
    return 0;
}

int md_config_entries_check(Cairn__ConfigEntry *const *c, size_t n,
                            char *why, size_t why_len)
{
    if (n > MD_CONFIGS_MAX)
        return md_fail(why, why_len, "%zu configs, at most %d", n, MD_CONFIGS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (c[i]->name[0] == '\0' || strlen(c[i]->name) > MD_STRING_MAX)
            return md_fail(why, why_len, "config name empty or too long");
        if (strlen(c[i]->value) > MD_CONFIG_VALUE_MAX)
            return md_fail(why, why_len, "config %s value too long", c[i]->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c[i]->name, c[j]->name) == 0)
                return md_fail(why, why_len, "config %s given twice", c[i]->name);
    }
    return 0;
}

int md_broker_fields_check(uint32_t id, const ProtobufCBinaryData *incarnation,
                           Cairn__Endpoint *const *eps, size_t n_eps,
                           const char *rack, char *why, size_t why_len)
{
    /* Replica lists carry broker ids as int32 (Kafka's brokerId type). */
    if (id > INT32_MAX)
        return md_fail(why, why_len, "broker id %u out of range", id);
    if (incarnation->len != MD_UUID_LEN)
        return md_fail(why, why_len, "broker %u incarnation has %zu bytes", id,
                       incarnation->len);
    if (n_eps > MD_ENDPOINTS_MAX)
        return md_fail(why, why_len, "broker %u has %zu endpoints, at most %d", id,
                       n_eps, MD_ENDPOINTS_MAX);
    for (size_t i = 0; i < n_eps; i++) {
        if (strlen(eps[i]->listener) > MD_STRING_MAX || strlen(eps[i]->host) > MD_STRING_MAX)
            return md_fail(why, why_len, "broker %u endpoint %zu: name too long", id, i);
        if (eps[i]->port > UINT16_MAX)
            return md_fail(why, why_len, "broker %u endpoint %zu: port %u", id, i,
                           eps[i]->port);
        for (size_t j = 0; j < i; j++)
            if (strcmp(eps[i]->listener, eps[j]->listener) == 0)
                return md_fail(why, why_len, "broker %u: listener %s listed twice", id,
                               eps[i]->listener);
    }
    if (strlen(rack) > MD_STRING_MAX)
        return md_fail(why, why_len, "broker %u rack too long", id);
    return 0;
}

static int ids_distinct_check(const int32_t *ids, size_t n, const char *what,
                              char *why, size_t why_len)
{
    for (size_t i = 0; i < n; i++)
        if (md_ids_contain(ids, i, ids[i]))
            return md_fail(why, why_len, "%s lists broker %d twice", what, ids[i]);
    return 0;
}

int md_partition_check(const md_state_t *st, const int32_t *replicas, size_t n_replicas,
                       const int32_t *isr, size_t n_isr, int32_t leader,
                       char *why, size_t why_len)
{
    if (n_replicas == 0 || n_replicas > MD_REPLICAS_MAX)
        return md_fail(why, why_len, "%zu replicas, want 1..%d", n_replicas,
                       MD_REPLICAS_MAX);
    if (ids_distinct_check(replicas, n_replicas, "replicas", why, why_len) != 0)
        return -1;
    for (size_t i = 0; i < n_replicas; i++)
        if (replicas[i] < 0 || md_state_broker(st, (uint32_t)replicas[i]) == NULL)
            return md_fail(why, why_len, "replica %d is not a registered broker",
                           replicas[i]);
    if (n_isr > n_replicas)
        return md_fail(why, why_len, "isr larger than replicas");
    if (ids_distinct_check(isr, n_isr, "isr", why, why_len) != 0)
        return -1;
    for (size_t i = 0; i < n_isr; i++)
        if (!md_ids_contain(replicas, n_replicas, isr[i]))
            return md_fail(why, why_len, "isr member %d is not a replica", isr[i]);
    if (leader != MD_NO_LEADER && !md_ids_contain(isr, n_isr, leader))
        return md_fail(why, why_len, "leader %d is not in the isr", leader);
    return 0;
}

/* ---- topic configs for new topics --------------------------------------- */

typedef enum { CFG_LONG, CFG_INT, CFG_BOOL, CFG_CLEANUP } cfg_type_t;

typedef struct topic_config_rule {
    const char *name;
    cfg_type_t type;
    long long min;                 /* for CFG_LONG and CFG_INT */
} topic_config_rule_t;

/* The topic configs the brokers honour, with Kafka's types and lower bounds
 * (-1 means "unlimited" for the retention settings). */
static const topic_config_rule_t topic_config_rules[] = {
    { "retention.ms",                   CFG_LONG,    -1 },
    { "retention.bytes",                CFG_LONG,    -1 },
    { "segment.bytes",                  CFG_INT,     14 },
    { "segment.ms",                     CFG_LONG,     1 },
    { "cleanup.policy",                 CFG_CLEANUP,  0 },
    { "min.insync.replicas",            CFG_INT,      1 },
    { "max.message.bytes",              CFG_INT,      0 },
    { "unclean.leader.election.enable", CFG_BOOL,     0 },
};

static int parse_integer(const char *s, long long min, long long max, long long *out)
{
    if (s[0] == '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Kafka's cleanup.policy is a list: "delete", "compact" or both. */
static bool cleanup_policy_valid(const char *v)
{
    if (strcmp(v, "delete") == 0 || strcmp(v, "compact") == 0)
        return true;
    return strcmp(v, "compact,delete") == 0 || strcmp(v, "delete,compact") == 0;
}

static bool config_value_valid(const topic_config_rule_t *r, const char *v)
{
    long long parsed;
    switch (r->type) {
    case CFG_LONG:
        return parse_integer(v, r->min, INT64_MAX, &parsed) == 0;
    case CFG_INT:
        return parse_integer(v, r->min, INT32_MAX, &parsed) == 0;
    case CFG_BOOL:
        return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
    case CFG_CLEANUP:
        return cleanup_policy_valid(v);
    }
    return false;
}

int md_topic_config_check(const char *name, const char *value, char *why, size_t why_len)
{
    if (name == NULL || value == NULL)
        return md_fail(why, why_len, "config entry without name or value");
    size_t n_rules = sizeof topic_config_rules / sizeof topic_config_rules[0];
    for (size_t i = 0; i < n_rules; i++) {
        const topic_config_rule_t *r = &topic_config_rules[i];
        if (strcmp(r->name, name) != 0)
            continue;
        if (strlen(value) > MD_CONFIG_VALUE_MAX || !config_value_valid(r, value))
            return md_fail(why, why_len, "invalid value \"%.64s\" for config %s", value,
                           name);
        return 0;
    }
    return md_fail(why, why_len, "unknown topic config %.64s", name);
}
