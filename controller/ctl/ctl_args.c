/* cairnctl argument parsing: global options may appear anywhere, command
 * options are checked against the command, and the controllers default to
 * the local cluster of deploy/cluster.sh. */
#include "ctl_args.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CTL_WORDS_MAX 3

/* What the scan of argv found, before it is checked against the command. */
typedef struct ctl_scan {
    const char *words[CTL_WORDS_MAX];
    size_t n_words;
    const char *controllers;
    const char *timeout;
    const char *partitions;
    const char *replication_factor;
    bool json;
    bool under_replicated;
    bool help;
} ctl_scan_t;

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Decimal digits only (no sign, no spaces), within [min, max]. */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -1;
    }
    if (v < min)
        return -1;
    *out = v;
    return 0;
}

/* One "[id@]host:port" item of len bytes. */
static int parse_controller(const char *item, size_t len, uint32_t pos_id,
                            cairn_voter_t *v, char *err, size_t err_len)
{
    char buf[CAIRN_HOST_MAX + 32];
    if (len == 0 || len >= sizeof buf)
        return fail(err, err_len, "invalid controller address '%.*s'", (int)len, item);
    memcpy(buf, item, len);
    buf[len] = '\0';
    char *addr = buf;
    uint64_t id = pos_id;
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        if (parse_uint(buf, 1, UINT32_MAX, &id) != 0)
            return fail(err, err_len, "invalid controller id in '%s@%s'", buf, at + 1);
        addr = at + 1;
    }
    char *colon = strrchr(addr, ':');
    uint64_t port;
    if (!colon || colon == addr || parse_uint(colon + 1, 1, 65535, &port) != 0)
        return fail(err, err_len, "invalid controller address '%s' (want host:port)", addr);
    *colon = '\0';
    if (addr[0] == '[') {
        size_t hl = strlen(addr);
        if (hl < 3 || addr[hl - 1] != ']')
            return fail(err, err_len, "invalid controller host '%s'", addr);
        addr[hl - 1] = '\0';
        addr++;
    }
    if (strlen(addr) >= sizeof v->host)
        return fail(err, err_len, "controller host too long");
    v->id = (uint32_t)id;
    snprintf(v->host, sizeof v->host, "%s", addr);
    v->port = (uint16_t)port;
    return 0;
}

int ctl_parse_controllers(const char *s, cairn_voter_t *out, size_t max, size_t *n_out,
                          char *err, size_t err_len)
{
    size_t n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (n >= max)
            return fail(err, err_len, "too many controllers (at most %zu)", max);
        if (parse_controller(p, trimmed, (uint32_t)(n + 1), &out[n], err, err_len) != 0)
            return -1;
        n++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *n_out = n;
    return 0;
}

static int default_controllers(const ctl_env_t *env, ctl_args_t *out, char *err, size_t err_len)
{
    uint64_t base = CTL_BASE_PORT_DEFAULT;
    uint64_t top = 65535 - CTL_LOCAL_CONTROLLER_OFFSET - (CTL_LOCAL_CONTROLLERS - 1);
    if (env->base_port && parse_uint(env->base_port, 1, top, &base) != 0)
        return fail(err, err_len, "invalid CAIRN_BASE_PORT '%s' (want 1..%llu)",
                    env->base_port, (unsigned long long)top);
    for (uint32_t i = 0; i < CTL_LOCAL_CONTROLLERS; i++) {
        cairn_voter_t *v = &out->controllers[i];
        v->id = i + 1;
        snprintf(v->host, sizeof v->host, "127.0.0.1");
        v->port = (uint16_t)(base + CTL_LOCAL_CONTROLLER_OFFSET + i);
    }
    out->n_controllers = CTL_LOCAL_CONTROLLERS;
    return 0;
}

/* Matches argv[*i] against --name and --name=VALUE. Returns 1 with *val set
 * (consuming the next argument for the spaced form), 0 when argv[*i] is
 * another option, -1 when the value is missing. */
static int opt_value(int argc, char *const *argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

static int add_config(ctl_args_t *out, const char *kv, char *err, size_t err_len)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return fail(err, err_len, "invalid --config '%s' (want KEY=VALUE)", kv);
    size_t klen = (size_t)(eq - kv);
    if (klen >= CTL_CONFIG_KEY_MAX)
        return fail(err, err_len, "--config key too long (at most %d bytes)",
                    CTL_CONFIG_KEY_MAX - 1);
    if (out->n_configs >= CTL_CONFIGS_MAX)
        return fail(err, err_len, "too many --config (at most %d)", CTL_CONFIGS_MAX);
    for (size_t i = 0; i < out->n_configs; i++)
        if (strlen(out->configs[i].key) == klen && memcmp(out->configs[i].key, kv, klen) == 0)
            return fail(err, err_len, "duplicate --config key '%.*s'", (int)klen, kv);
    ctl_config_kv_t *c = &out->configs[out->n_configs++];
    memcpy(c->key, kv, klen);
    c->key[klen] = '\0';
    c->value = eq + 1;
    return 0;
}

/* Handles the option at argv[*i]. Returns 0, or -1 with err set. */
static int scan_option(int argc, char *const *argv, int *i, ctl_scan_t *sc,
                       ctl_args_t *out, char *err, size_t err_len)
{
    static const char *const valued[] = { "--controllers", "--timeout", "--partitions",
                                          "--replication-factor", "--config" };
    const char *a = argv[*i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        sc->help = true;
        return 0;
    }
    if (strcmp(a, "--json") == 0) {
        sc->json = true;
        return 0;
    }
    if (strcmp(a, "--under-replicated") == 0) {
        sc->under_replicated = true;
        return 0;
    }
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        const char *val = NULL;
        int m = opt_value(argc, argv, i, valued[k], &val);
        if (m < 0)
            return fail(err, err_len, "option %s needs a value", valued[k]);
        if (m == 0)
            continue;
        switch (k) {
        case 0: sc->controllers = val; return 0;
        case 1: sc->timeout = val; return 0;
        case 2: sc->partitions = val; return 0;
        case 3: sc->replication_factor = val; return 0;
        default: return add_config(out, val, err, err_len);
        }
    }
    return fail(err, err_len, "unknown option '%s'", a);
}

static int scan_argv(int argc, char *const *argv, ctl_scan_t *sc, ctl_args_t *out,
                     char *err, size_t err_len)
{
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] != '\0') {
            if (scan_option(argc, argv, &i, sc, out, err, err_len) != 0)
                return -1;
            continue;
        }
        if (sc->n_words >= CTL_WORDS_MAX)
            return fail(err, err_len, "unexpected argument '%s'", a);
        sc->words[sc->n_words++] = a;
    }
    return 0;
}

typedef struct ctl_command_spec {
    const char *group;
    const char *verb;
    ctl_cmd_t cmd;
    bool takes_name;
    bool takes_json;
    bool takes_under_replicated;
} ctl_command_spec_t;

static const ctl_command_spec_t ctl_commands[] = {
    { "cluster", "status", CTL_CMD_CLUSTER_STATUS, false, true, false },
    { "topic", "create", CTL_CMD_TOPIC_CREATE, true, false, false },
    { "topic", "list", CTL_CMD_TOPIC_LIST, false, true, true },
    { "topic", "describe", CTL_CMD_TOPIC_DESCRIBE, true, true, true },
    { "topic", "delete", CTL_CMD_TOPIC_DELETE, true, false, false },
    { "topic", "alter", CTL_CMD_TOPIC_ALTER, true, true, false },
    { "broker", "list", CTL_CMD_BROKER_LIST, false, true, false },
    { "group", "list", CTL_CMD_GROUP_LIST, false, true, false },
    { "group", "describe", CTL_CMD_GROUP_DESCRIBE, true, true, false },
};

static const ctl_command_spec_t *find_command(const ctl_scan_t *sc, char *err, size_t err_len)
{
    if (sc->n_words == 0) {
        fail(err, err_len, "missing command");
        return NULL;
    }
    bool group_known = false;
    for (size_t k = 0; k < sizeof ctl_commands / sizeof ctl_commands[0]; k++) {
        const ctl_command_spec_t *c = &ctl_commands[k];
        if (strcmp(sc->words[0], c->group) != 0)
            continue;
        group_known = true;
        if (sc->n_words >= 2 && strcmp(sc->words[1], c->verb) == 0)
            return c;
    }
    if (!group_known)
        fail(err, err_len, "unknown command '%s'", sc->words[0]);
    else if (sc->n_words < 2)
        fail(err, err_len, "'%s' needs a subcommand", sc->words[0]);
    else
        fail(err, err_len, "unknown command '%s %s'", sc->words[0], sc->words[1]);
    return NULL;
}

/* --partitions is the count for 'topic create' and the new total for
 * 'topic alter' (kafka-topics --alter --partitions); the other creation
 * options have no alter counterpart. */
static int topic_options(const ctl_scan_t *sc, ctl_cmd_t cmd, ctl_args_t *out,
                         char *err, size_t err_len)
{
    bool create = cmd == CTL_CMD_TOPIC_CREATE, alter = cmd == CTL_CMD_TOPIC_ALTER;
    if (!create && (sc->replication_factor || out->n_configs))
        return fail(err, err_len, "--replication-factor and --config apply only to "
                    "'topic create'");
    if (!create && !alter && sc->partitions)
        return fail(err, err_len, "--partitions applies only to 'topic create' and "
                    "'topic alter'");
    if (alter && !sc->partitions)
        return fail(err, err_len, "'topic alter' needs --partitions N");
    uint64_t v;
    if (sc->partitions) {
        if (parse_uint(sc->partitions, 1, INT32_MAX, &v) != 0)
            return fail(err, err_len, "invalid --partitions '%s' (want 1..%d)",
                        sc->partitions, INT32_MAX);
        out->partitions = (int32_t)v;
    }
    if (sc->replication_factor) {
        if (parse_uint(sc->replication_factor, 1, CTL_REPLICATION_FACTOR_MAX, &v) != 0)
            return fail(err, err_len, "invalid --replication-factor '%s' (want 1..%d)",
                        sc->replication_factor, CTL_REPLICATION_FACTOR_MAX);
        out->replication_factor = (int32_t)v;
    }
    return 0;
}

/* Checks the words and options found against the command's shape. */
static int apply_command(const ctl_scan_t *sc, const ctl_command_spec_t *c, ctl_args_t *out,
                         char *err, size_t err_len)
{
    size_t want = c->takes_name ? 3 : 2;
    bool is_group = strcmp(c->group, "group") == 0;
    if (sc->n_words < want)
        return fail(err, err_len, "'%s %s' needs a %s name", c->group, c->verb,
                    is_group ? "group" : "topic");
    if (sc->n_words > want)
        return fail(err, err_len, "unexpected argument '%s'", sc->words[want]);
    if (sc->json && !c->takes_json)
        return fail(err, err_len, "--json does not apply to '%s %s'", c->group, c->verb);
    if (sc->under_replicated && !c->takes_under_replicated)
        return fail(err, err_len, "--under-replicated applies only to 'topic describe' and "
                    "'topic list'");
    if (topic_options(sc, c->cmd, out, err, err_len) != 0)
        return -1;
    if (c->takes_name && is_group) {
        out->group = sc->words[2];
        if (out->group[0] == '\0')
            return fail(err, err_len, "empty group name");
        if (strlen(out->group) > CTL_GROUP_NAME_MAX)
            return fail(err, err_len, "group name too long (at most %u bytes)",
                        CTL_GROUP_NAME_MAX);
    } else if (c->takes_name) {
        out->topic = sc->words[2];
        if (out->topic[0] == '\0')
            return fail(err, err_len, "empty topic name");
    }
    out->cmd = c->cmd;
    out->json = sc->json;
    out->under_replicated = sc->under_replicated;
    return 0;
}

static int resolve_endpoints(const ctl_scan_t *sc, const ctl_env_t *env, ctl_args_t *out,
                             char *err, size_t err_len)
{
    const char *t = sc->timeout ? sc->timeout : env->timeout_ms;
    const char *what = sc->timeout ? "--timeout" : "CAIRN_TIMEOUT_MS";
    uint64_t v = CTL_TIMEOUT_MS_DEFAULT;
    if (t && parse_uint(t, 1, CTL_TIMEOUT_MS_MAX, &v) != 0)
        return fail(err, err_len, "invalid %s '%s' (want 1..%u ms)", what, t,
                    CTL_TIMEOUT_MS_MAX);
    out->timeout_ms = (uint32_t)v;

    const char *c = sc->controllers ? sc->controllers : env->controllers;
    if (c && c[0] == '\0' && !sc->controllers)
        c = NULL;      /* an empty CAIRN_CONTROLLERS counts as unset */
    if (!c)
        return default_controllers(env, out, err, err_len);
    char why[256];
    if (ctl_parse_controllers(c, out->controllers, CAIRN_MAX_VOTERS, &out->n_controllers,
                              why, sizeof why) != 0)
        return fail(err, err_len, "%s: %s", sc->controllers ? "--controllers" : "CAIRN_CONTROLLERS",
                    why);
    return 0;
}

int ctl_args_parse(int argc, char *const *argv, const ctl_env_t *env,
                   ctl_args_t *out, char *err, size_t err_len)
{
    ctl_scan_t sc;
    memset(&sc, 0, sizeof sc);
    memset(out, 0, sizeof *out);
    if (scan_argv(argc, argv, &sc, out, err, err_len) != 0)
        return -1;
    if (sc.help) {
        out->cmd = CTL_CMD_HELP;
        return 0;
    }
    const ctl_command_spec_t *c = find_command(&sc, err, err_len);
    if (!c || apply_command(&sc, c, out, err, err_len) != 0)
        return -1;
    return resolve_endpoints(&sc, env, out, err, err_len);
}

void ctl_usage(FILE *out)
{
    fputs("usage: cairnctl [--controllers H:P,...] [--timeout MS] COMMAND\n"
          "\n"
          "commands:\n"
          "  cluster status [--json]           controller quorum and brokers\n"
          "  topic create NAME [--partitions N] [--replication-factor R] [--config K=V]...\n"
          "  topic list [--json] [--under-replicated]\n"
          "  topic describe NAME [--json] [--under-replicated]\n"
          "                                    partitions, leaders, replicas, ISR, and from\n"
          "                                    each leader its high watermark and replica lag\n"
          "  topic delete NAME\n"
          "  topic alter NAME --partitions N [--json]  grow the topic to N partitions\n"
          "  broker list [--json]\n"
          "  group list [--json]               consumer groups, from every broker\n"
          "  group describe NAME [--json]      state, members and their partitions; per\n"
          "                                    partition the committed offset, log end\n"
          "                                    offset (high watermark) and lag\n"
          "\n"
          "options:\n"
          "  --controllers H:P,...  controller addresses (default $CAIRN_CONTROLLERS, else\n"
          "                         127.0.0.1 ports BASE+100..BASE+102, BASE=$CAIRN_BASE_PORT or 9092)\n"
          "  --timeout MS           give up after MS milliseconds (default $CAIRN_TIMEOUT_MS or 10000)\n"
          "  --under-replicated     only partitions (topics) whose ISR is smaller than their replicas\n"
          "  --help                 this text\n"
          "\n"
          "exit status: 0 success, 1 the operation failed, 2 usage error\n", out);
}
