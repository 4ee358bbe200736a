/* cairn-broker: hosts partition replicas and serves Kafka clients. It opens
 * (and recovers) its partition logs, registers with the controller quorum,
 * heartbeats, follows the metadata log as an observer, and answers the
 * Kafka protocol on its listener.
 *   cairn-broker server.properties
 *   cairn-broker --help
 *   cairn-broker --api-versions   (the Kafka APIs and versions it implements) */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "broker.h"
#include "config.h"
#include "controller_link.h"
#include "coordinator.h"
#include "daemon.h"
#include "dispatch.h"
#include "fetch_server.h"
#include "fetcher.h"
#include "handlers.h"
#include "image.h"
#include "isr.h"
#include "kafka_messages.h"
#include "log.h"
#include "log_io.h"
#include "replicas.h"
#include "server.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cairn-broker server.properties\n"
                 "       cairn-broker --api-versions\n\n"
                 "Runs a Cairn broker. Keys:\n");
    cairn_config_print_help(out, CAIRN_ROLE_BROKER);
}

#define CONTROLLED_SHUTDOWN_MAX_MS 30000u

static void on_shutdown_done(void *arg)
{
    broker_t *b = arg;
    event_base_loopbreak(b->base);
}

static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
    broker_t *b = arg;
    LOG_WARN("broker", "controlled shutdown not confirmed within %u ms: stopping anyway",
             CONTROLLED_SHUTDOWN_MAX_MS);
    event_base_loopbreak(b->base);
}

/* SIGTERM/SIGINT: controlled shutdown first (controlled.shutdown.enable),
 * so clients see leadership move instead of a dead leader; a second
 * signal, or a broker that never registered, stops at once. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    broker_t *b = arg;
    bool controlled = b->cfg->controlled_shutdown_enable && !b->shutdown_requested &&
                      controller_link_broker_epoch(b->link) != 0;
    b->shutdown_requested = true;
    if (!controlled) {
        LOG_INFO("broker", "signal %d: shutting down", (int)sig);
        event_base_loopbreak(b->base);
        return;
    }
    LOG_INFO("broker", "signal %d: controlled shutdown", (int)sig);
    b->shutdown_timer = evtimer_new(b->base, on_shutdown_timeout, b);
    struct timeval tv = { CONTROLLED_SHUTDOWN_MAX_MS / 1000, 0 };
    if (b->shutdown_timer)
        evtimer_add(b->shutdown_timer, &tv);
    controller_link_shutdown(b->link, on_shutdown_done, b);
}

/* A stable cluster id in Kafka's form (22 characters of base64url) derived
 * from the quorum's voters, so every broker reports the same one. */
static void derive_cluster_id(const char *voters, char out[32])
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(voters, strlen(voters), md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 22; i++) {
        int bit = i * 6, byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)md[byte] << 8 | md[byte + 1]) >> (10 - shift);
        out[i] = b64[v & 63];
    }
    out[22] = '\0';
}

/* The Kafka listener is the first one that is not REPLICATION. */
static int start_listeners(broker_t *b, char *err, size_t err_len)
{
    cairn_listener_t ls[CAIRN_LISTENERS_MAX];
    size_t n = 0;
    if (cairn_parse_listeners(b->cfg->listeners, ls, CAIRN_LISTENERS_MAX, &n) != 0) {
        snprintf(err, err_len, "config: bad value for 'listeners'");
        return -1;
    }
    const cairn_listener_t *repl = cairn_find_listener(ls, n, CAIRN_REPLICATION_LISTENER);
    const cairn_listener_t *client = NULL;
    for (size_t i = 0; i < n && !client; i++)
        if (&ls[i] != repl)
            client = &ls[i];
    if (!client || !repl) {
        snprintf(err, err_len, "config: bad value for 'listeners': a broker needs a Kafka "
                 "listener and a " CAIRN_REPLICATION_LISTENER "://host:port listener");
        return -1;
    }
    kafka_server_opts_t opts = {
        .request_max_bytes = (size_t)b->cfg->socket_request_max_bytes,
        .connections_max = (size_t)b->cfg->max_connections,
        .idle_timeout_ms = (uint32_t)b->cfg->connections_max_idle_ms,
    };
    b->kafka = kafka_server_new(b->base, client->host, client->port, &opts, kafka_dispatch, b);
    if (!b->kafka) {
        snprintf(err, err_len, "cannot listen on %s:%u", client->host, client->port);
        return -1;
    }
    b->repl_server = fetch_server_new(b->base, repl->host, repl->port, b->replicas, b->groups,
                                      (size_t)b->cfg->metadata_max_frame_bytes);
    if (!b->repl_server) {
        snprintf(err, err_len, "cannot listen on %s:%u", repl->host, repl->port);
        return -1;
    }
    return 0;
}

static int start(broker_t *b, char *err, size_t err_len)
{
    b->io = log_io_new(b->base);
    b->image = md_image_new();
    if (!b->io || !b->image) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    /* Recover every log before registering: the controller may make this
     * broker a leader as soon as it is unfenced. */
    b->replicas = replicas_open(b->base, b->cfg, b->io, err, err_len);
    if (!b->replicas)
        return -1;
    /* Before the listeners: every handler may count on it (broker.h). */
    b->groups = group_coord_new(b);
    if (!b->groups) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (start_listeners(b, err, err_len) != 0)
        return -1;
    b->link = controller_link_start(b->base, b->cfg, b->image, err, err_len);
    if (!b->link)
        return -1;
    b->fetchers = fetchers_new(b->base, b->cfg, b->replicas, b->image, b->id);
    b->isr = isr_manager_new(b->base, b->cfg, b->replicas, b->link, b->id);
    if (!b->fetchers || !b->isr) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    controller_link_on_metadata(b->link, broker_on_metadata, b);
    return 0;
}

/* Order matters: everything that can still call into the logs goes before
 * them; the link's end cancels the ISR manager's request, so it goes first. */
static void stop(broker_t *b)
{
    b->shutting_down = true;
    if (b->kafka)
        kafka_fetch_release_all(b);
    kafka_server_free(b->kafka);
    fetch_server_free(b->repl_server);
    group_coord_free(b->groups);       /* answers its parked requests; before the logs */
    b->groups = NULL;
    fetchers_free(b->fetchers);
    controller_link_free(b->link);
    isr_manager_free(b->isr);
    replicas_close(b->replicas);
    log_io_free(b->io);
    md_image_free(b->image);
}

static int run(const cairn_config_t *cfg)
{
    broker_t b = { .cfg = cfg, .id = (uint32_t)cfg->node_id };
    derive_cluster_id(cfg->controller_quorum_voters, b.cluster_id);
    b.base = event_base_new();
    char err[512] = "";
    if (!b.base || start(&b, err, sizeof err) != 0) {
        fprintf(stderr, "cairn-broker: %s\n", err[0] ? err : "out of memory");
        stop(&b);
        if (b.base)
            event_base_free(b.base);
        return strncmp(err, "config:", 7) == 0 ? 2 : 1;
    }
    struct event *sig_term = evsignal_new(b.base, SIGTERM, on_signal, &b);
    struct event *sig_int = evsignal_new(b.base, SIGINT, on_signal, &b);
    evsignal_add(sig_term, NULL);
    evsignal_add(sig_int, NULL);
    LOG_INFO("broker", "started; controllers %s", cfg->controller_quorum_voters);
    event_base_dispatch(b.base);
    stop(&b);
    if (b.shutdown_timer)
        event_free(b.shutdown_timer);
    event_free(sig_term);
    event_free(sig_int);
    event_base_free(b.base);
    LOG_INFO("broker", "stopped");
    return 0;
}

/* The Markdown table of docs/kafka.md: what ApiVersions advertises. */
static void print_api_versions(FILE *out)
{
    fprintf(out, "| key | API | versions | flexible versions |\n|---|---|---|---|\n");
    for (size_t i = 0; i < KAFKA_API_COUNT; i++) {
        const kafka_api_desc_t *d = &kafka_apis[i];
        if (!kafka_api_handled(d->api_key))
            continue;
        char flex[16] = "none";
        if (d->first_flexible_version >= 0 && d->first_flexible_version <= d->max_version)
            snprintf(flex, sizeof flex, "v%d–%d", d->first_flexible_version, d->max_version);
        fprintf(out, "| %d | %s | %d–%d | %s |\n", d->api_key, d->name, d->min_version,
                d->max_version, flex);
    }
}

/* Request frames and replication responses are up to a few MiB each and
 * are freed as soon as they are answered. glibc would hand such blocks back
 * to the kernel (mmap/munmap, heap trimming), so every request paid for
 * zero-filled fresh pages again. Keep up to MALLOC_KEEP_BYTES of freed heap
 * for reuse and serve blocks below MALLOC_MMAP_BYTES from the heap. */
#define MALLOC_MMAP_BYTES (8 * 1024 * 1024)
#define MALLOC_KEEP_BYTES (64 * 1024 * 1024)

static void tune_malloc(void)
{
    (void)mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_BYTES);
    (void)mallopt(M_TRIM_THRESHOLD, MALLOC_KEEP_BYTES);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--api-versions") == 0) {
        print_api_versions(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    tune_malloc();
    cairn_config_t cfg;
    int rc = cairn_daemon_init("cairn-broker", "broker", CAIRN_ROLE_BROKER, argv[1], &cfg);
    if (rc == 0)
        rc = run(&cfg);
    cairn_config_free(&cfg);
    return rc;
}
