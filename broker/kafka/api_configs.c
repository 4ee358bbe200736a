/* DescribeConfigs (key 32): a topic's effective configs (its overrides,
 * else the broker defaults they fall back to) and this broker's own
 * configuration. */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_error.h"
#include "kafka_messages.h"

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4
#define SOURCE_DYNAMIC_TOPIC 1
#define SOURCE_STATIC_BROKER 4
#define SOURCE_DEFAULT 5
#define VALUE_MAX 1024

typedef kafka_DescribeConfigsResponse_DescribeConfigsResourceResult_t config_out_t;

/* The topic configs brokers honour and the broker key each defaults to. */
static const struct {
    const char *name;
    const char *broker_key;            /* NULL: a fixed default */
    const char *fixed;
} topic_configs[] = {
    { "cleanup.policy", NULL, "delete" },
    { "max.message.bytes", "message.max.bytes", NULL },
    { "min.insync.replicas", NULL, "1" },
    { "retention.bytes", "log.retention.bytes", NULL },
    { "retention.ms", "log.retention.ms", NULL },
    { "segment.bytes", "log.segment.bytes", NULL },
    { "segment.ms", "log.roll.ms", NULL },
    { "unclean.leader.election.enable", NULL, "false" },
};

#define N_TOPIC_CONFIGS (sizeof topic_configs / sizeof topic_configs[0])

static bool wanted(const kafka_DescribeConfigsRequest_DescribeConfigsResource_t *res,
                   const char *name)
{
    if (res->ConfigurationKeys_count < 0)
        return true;
    for (int32_t i = 0; i < res->ConfigurationKeys_count; i++)
        if (res->ConfigurationKeys[i] && strcmp(res->ConfigurationKeys[i], name) == 0)
            return true;
    return false;
}

static void broker_value(const cairn_config_t *cfg, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < cairn_config_key_count(); i++)
        if (strcmp(cairn_config_key_name(i), key) == 0)
            cairn_config_key_format(cfg, i, buf, len);
}

static int set_entry(kafka_call_t *call, config_out_t *e, const char *name, const char *value,
                     bool is_default, int8_t source, bool read_only)
{
    e->Name = (char *)name;
    e->Value = kafka_arena_strndup(&call->arena, value, strlen(value));
    e->ReadOnly = read_only;
    e->IsDefault = is_default;
    e->ConfigSource = source;
    e->IsSensitive = false;
    e->Synonyms_count = 0;
    return e->Value ? 0 : -1;
}

static int16_t describe_topic(kafka_call_t *call,
                              const kafka_DescribeConfigsRequest_DescribeConfigsResource_t *res,
                              kafka_DescribeConfigsResponse_DescribeConfigsResult_t *out)
{
    const md_topic_t *t = md_image_topic(call->b->image, res->ResourceName);
    if (!t)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    out->Configs = kafka_call_alloc(call, N_TOPIC_CONFIGS, sizeof *out->Configs);
    if (!out->Configs)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    int32_t n = 0;
    for (size_t i = 0; i < N_TOPIC_CONFIGS; i++) {
        if (!wanted(res, topic_configs[i].name))
            continue;
        const char *value = NULL;
        for (size_t j = 0; j < t->n_configs && !value; j++)
            if (strcmp(t->configs[j].name, topic_configs[i].name) == 0)
                value = t->configs[j].value;
        char buf[VALUE_MAX];
        bool overridden = value != NULL;
        if (!value && topic_configs[i].broker_key) {
            broker_value(call->b->cfg, topic_configs[i].broker_key, buf, sizeof buf);
            value = buf;
        } else if (!value) {
            value = topic_configs[i].fixed;
        }
        if (set_entry(call, &out->Configs[n++], topic_configs[i].name, value, !overridden,
                      overridden ? SOURCE_DYNAMIC_TOPIC : SOURCE_DEFAULT, false) != 0)
            return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    }
    out->Configs_count = n;
    return KAFKA_ERR_NONE;
}

static int16_t describe_broker(kafka_call_t *call,
                               const kafka_DescribeConfigsRequest_DescribeConfigsResource_t *res,
                               kafka_DescribeConfigsResponse_DescribeConfigsResult_t *out)
{
    char self[16];
    snprintf(self, sizeof self, "%u", call->b->id);
    if (res->ResourceName[0] && strcmp(res->ResourceName, self) != 0)
        return KAFKA_ERR_INVALID_REQUEST;
    size_t total = cairn_config_key_count();
    out->Configs = kafka_call_alloc(call, total, sizeof *out->Configs);
    if (!out->Configs)
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    int32_t n = 0;
    for (size_t i = 0; i < total; i++) {
        const char *name = cairn_config_key_name(i);
        if (!(cairn_config_key_roles(i) & CAIRN_ROLE_BROKER) || !wanted(res, name))
            continue;
        char buf[VALUE_MAX];
        cairn_config_key_format(call->b->cfg, i, buf, sizeof buf);
        if (set_entry(call, &out->Configs[n++], name, buf, false, SOURCE_STATIC_BROKER,
                      true) != 0)
            return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    }
    out->Configs_count = n;
    return KAFKA_ERR_NONE;
}

void kafka_handle_DescribeConfigs(kafka_call_t *call)
{
    kafka_DescribeConfigsRequest_t req;
    if (kafka_DescribeConfigsRequest_decode(&call->body, call->hdr.api_version, &call->arena,
                                            &req) != 0) {
        kafka_call_malformed(call, "malformed DescribeConfigs");
        return;
    }
    kafka_DescribeConfigsResponse_t resp;
    kafka_DescribeConfigsResponse_init(&resp);
    int32_t n = req.Resources_count > 0 ? req.Resources_count : 0;
    resp.Results = kafka_call_alloc(call, n ? (size_t)n : 1, sizeof *resp.Results);
    if (!resp.Results) {
        kafka_call_malformed(call, "DescribeConfigs request too large");
        return;
    }
    resp.Results_count = n;
    for (int32_t i = 0; i < n; i++) {
        const kafka_DescribeConfigsRequest_DescribeConfigsResource_t *res = &req.Resources[i];
        kafka_DescribeConfigsResponse_DescribeConfigsResult_t *out = &resp.Results[i];
        out->ResourceType = res->ResourceType;
        out->ResourceName = res->ResourceName;
        if (res->ResourceType == RESOURCE_TOPIC)
            out->ErrorCode = describe_topic(call, res, out);
        else if (res->ResourceType == RESOURCE_BROKER)
            out->ErrorCode = describe_broker(call, res, out);
        else
            out->ErrorCode = KAFKA_ERR_INVALID_REQUEST;
        if (out->ErrorCode != KAFKA_ERR_NONE)
            out->Configs_count = 0;
    }
    kafka_wr_t *w = kafka_call_begin_reply(call);
    kafka_DescribeConfigsResponse_encode(w, call->hdr.api_version, &resp);
    kafka_call_reply(call);
}
