/* Registration, heartbeats and the metadata observer loop of a broker. */
#include "controller_link.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "broker.pb-c.h"
#include "cairn_assert.h"
#include "ctrl_client.h"
#include "errors.h"
#include "log.h"
#include "raft.pb-c.h"

#define REGISTER_TIMEOUT_MS 5000u
#define RETRY_DELAY_MS 100u
#define FETCH_WAIT_MS 500u
#define FETCH_MAX_BYTES (1u << 20)
#define RAFT_ENTRY_NORMAL 0u

struct controller_link {
    struct event_base *base;
    const cairn_config_t *cfg;
    md_image_t *image;
    ctrl_client_t *cc;
    uint8_t incarnation[MD_UUID_LEN];
    cairn_listener_t endpoints[CAIRN_LISTENERS_MAX];   /* registered, client listener first */
    size_t n_endpoints;
    uint64_t broker_epoch;
    bool registering;
    bool heartbeat_in_flight;
    bool fenced;
    bool caught_up;
    uint64_t catch_up_target;      /* quorum commit index at the first fetch; 0: none yet */
    void (*on_metadata)(void *arg);
    void *on_metadata_arg;
    void (*on_shutdown_done)(void *arg);   /* controlled shutdown requested */
    void *on_shutdown_arg;
    struct event *heartbeat_ev;
    struct event *register_ev;
    struct event *fetch_ev;
};

static void schedule(struct event *ev, uint32_t delay_ms)
{
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    evtimer_add(ev, &tv);
}

/* Decodes a response, returning its status code (or -1 when undecodable). */
static int status_of(int err, const char *why, const uint8_t *body, size_t len,
                     const char *what)
{
    if (err != CAIRN_ERR_OK) {
        LOG_DEBUG("link", "%s failed: %s", what, why && *why ? why : cairn_strerror(err));
        return -1;
    }
    Cairn__Status *st = NULL;
    if (ctrl_client_parse_status(body, len, &st) != 0)
        return -1;
    int code = st ? st->code : CAIRN_ERR_OK;
    if (code != CAIRN_ERR_OK)
        LOG_DEBUG("link", "%s: %s (%s)", what, cairn_errname(code),
                  st && st->message ? st->message : "");
    if (st)
        cairn__status__free_unpacked(st, NULL);
    return code;
}

/* ---- registration ------------------------------------------------------ */

static void on_registered(int err, const char *why, const uint8_t *body, size_t len, void *arg)
{
    controller_link_t *l = arg;
    l->registering = false;
    int code = status_of(err, why, body, len, "registration");
    Cairn__BrokerRegisterResponse *resp =
        code == CAIRN_ERR_OK ? cairn__broker_register_response__unpack(NULL, len, body) : NULL;
    if (!resp) {
        if (code == CAIRN_ERR_DUPLICATE_REGISTRATION)
            LOG_WARN("link", "broker id %lld is held by another live process; retrying",
                     (long long)l->cfg->node_id);
        schedule(l->register_ev, code == -1 ? RETRY_DELAY_MS : RETRY_DELAY_MS * 5);
        return;
    }
    l->broker_epoch = resp->broker_epoch;
    l->fenced = true;
    LOG_INFO("link", "registered with the controller quorum, broker epoch %llu",
             (unsigned long long)l->broker_epoch);
    cairn__broker_register_response__free_unpacked(resp, NULL);
}

static void do_register(evutil_socket_t fd, short what, void *arg)
{
    controller_link_t *l = arg;
    if (l->registering)
        return;
    Cairn__Endpoint ep[CAIRN_LISTENERS_MAX];
    Cairn__Endpoint *eps[CAIRN_LISTENERS_MAX];
    for (size_t i = 0; i < l->n_endpoints; i++) {
        cairn__endpoint__init(&ep[i]);
        ep[i].listener = l->endpoints[i].name;
        ep[i].host = l->endpoints[i].host;
        ep[i].port = l->endpoints[i].port;
        eps[i] = &ep[i];
    }
    Cairn__BrokerRegisterRequest req = CAIRN__BROKER_REGISTER_REQUEST__INIT;
    req.broker_id = (uint32_t)l->cfg->node_id;
    req.incarnation.data = l->incarnation;
    req.incarnation.len = MD_UUID_LEN;
    req.n_endpoints = l->n_endpoints;
    req.endpoints = eps;
    req.rack = l->cfg->broker_rack ? l->cfg->broker_rack : (char *)"";
    l->broker_epoch = 0;
    if (ctrl_client_call(l->cc, CAIRN__RPC_TYPE__RPC_BROKER_REGISTER, &req.base,
                         REGISTER_TIMEOUT_MS, on_registered, l) == 0)
        l->registering = true;
    else
        schedule(l->register_ev, RETRY_DELAY_MS);
}

/* ---- heartbeats -------------------------------------------------------- */

static void on_heartbeat(int err, const char *why, const uint8_t *body, size_t len, void *arg)
{
    controller_link_t *l = arg;
    l->heartbeat_in_flight = false;
    int code = status_of(err, why, body, len, "heartbeat");
    if (code == CAIRN_ERR_STALE_BROKER_EPOCH || code == CAIRN_ERR_BROKER_NOT_REGISTERED) {
        LOG_INFO("link", "controller does not know broker epoch %llu (%s); registering again",
                 (unsigned long long)l->broker_epoch, cairn_errname(code));
        l->broker_epoch = 0;
        do_register(-1, 0, l);
        return;
    }
    if (code != CAIRN_ERR_OK)
        return;
    Cairn__BrokerHeartbeatResponse *resp = cairn__broker_heartbeat_response__unpack(NULL, len, body);
    if (!resp)
        return;
    if (resp->is_fenced != l->fenced)
        LOG_INFO("link", "broker is now %s (epoch %llu)", resp->is_fenced ? "fenced" : "active",
                 (unsigned long long)l->broker_epoch);
    l->fenced = resp->is_fenced;
    bool done = resp->should_shutdown && l->on_shutdown_done;
    cairn__broker_heartbeat_response__free_unpacked(resp, NULL);
    if (done) {
        void (*fn)(void *) = l->on_shutdown_done;
        l->on_shutdown_done = NULL;
        LOG_INFO("link", "controlled shutdown complete: the controller moved every leadership away");
        fn(l->on_shutdown_arg);
    }
}

static void do_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    controller_link_t *l = arg;
    if (l->broker_epoch == 0 || l->heartbeat_in_flight)
        return;
    Cairn__BrokerHeartbeatRequest req = CAIRN__BROKER_HEARTBEAT_REQUEST__INIT;
    req.broker_id = (uint32_t)l->cfg->node_id;
    req.broker_epoch = l->broker_epoch;
    req.metadata_offset = md_image_last_index(l->image);
    req.want_fence = false;
    req.want_shutdown = l->on_shutdown_done != NULL;
    /* A heartbeat that takes longer than the session is worthless anyway. */
    uint32_t timeout_ms = (uint32_t)l->cfg->broker_session_timeout_ms;
    if (ctrl_client_call(l->cc, CAIRN__RPC_TYPE__RPC_BROKER_HEARTBEAT, &req.base,
                         timeout_ms, on_heartbeat, l) == 0)
        l->heartbeat_in_flight = true;
}

/* ---- metadata observer ------------------------------------------------- */

static void apply_fetch(controller_link_t *l, const Cairn__MetadataFetchResponse *resp)
{
    if (resp->snapshot) {
        size_t len = cairn__metadata_image__get_packed_size(resp->snapshot);
        uint8_t *buf = malloc(len ? len : 1);
        if (buf) {
            cairn__metadata_image__pack(resp->snapshot, buf);
            if (md_image_load(l->image, buf, len) == 0)
                LOG_INFO("link", "loaded metadata image at index %llu",
                         (unsigned long long)md_image_last_index(l->image));
            free(buf);
        }
    }
    for (size_t i = 0; i < resp->n_entries; i++) {
        const Cairn__RaftEntry *e = resp->entries[i];
        if (e->index != md_image_last_index(l->image) + 1)
            break;              /* out of step: the next fetch asks again */
        if (e->type == RAFT_ENTRY_NORMAL)
            (void)md_image_apply(l->image, e->index, e->term, e->data.data, e->data.len);
        else
            md_image_skip(l->image, e->index, e->term);
    }
}

static void on_fetched(int err, const char *why, const uint8_t *body, size_t len, void *arg)
{
    controller_link_t *l = arg;
    int code = status_of(err, why, body, len, "metadata fetch");
    Cairn__MetadataFetchResponse *resp =
        code == CAIRN_ERR_OK ? cairn__metadata_fetch_response__unpack(NULL, len, body) : NULL;
    if (!resp) {
        schedule(l->fetch_ev, RETRY_DELAY_MS);
        return;
    }
    uint64_t before = md_image_last_index(l->image);
    apply_fetch(l, resp);
    uint64_t applied = md_image_last_index(l->image);
    if (applied != before)
        LOG_DEBUG("link", "metadata applied up to %llu (quorum commit %llu)",
                  (unsigned long long)applied, (unsigned long long)resp->high_watermark);
    if (!l->catch_up_target)
        l->catch_up_target = resp->high_watermark ? resp->high_watermark : 1;
    if (!l->caught_up && applied >= l->catch_up_target) {
        l->caught_up = true;
        LOG_INFO("link", "metadata caught up at index %llu", (unsigned long long)applied);
    }
    cairn__metadata_fetch_response__free_unpacked(resp, NULL);
    schedule(l->fetch_ev, 0);
    if (applied != before && l->on_metadata)
        l->on_metadata(l->on_metadata_arg);
}

static void do_fetch(evutil_socket_t fd, short what, void *arg)
{
    controller_link_t *l = arg;
    Cairn__MetadataFetchRequest req = CAIRN__METADATA_FETCH_REQUEST__INIT;
    req.broker_id = (uint32_t)l->cfg->node_id;
    req.fetch_offset = md_image_last_index(l->image) + 1;
    req.max_wait_ms = FETCH_WAIT_MS;
    req.max_bytes = FETCH_MAX_BYTES;
    if (ctrl_client_call(l->cc, CAIRN__RPC_TYPE__RPC_METADATA_FETCH, &req.base,
                         FETCH_WAIT_MS + 2000, on_fetched, l) != 0)
        schedule(l->fetch_ev, RETRY_DELAY_MS);
}

/* ---- lifecycle --------------------------------------------------------- */

/* The endpoints to register: advertised.listeners (else listeners) in
 * order, the client listener first, plus the REPLICATION listener from
 * listeners when the advertised list has none. */
static int parse_endpoints(controller_link_t *l, char *err, size_t err_len)
{
    const cairn_config_t *cfg = l->cfg;
    bool advertised = cfg->advertised_listeners && *cfg->advertised_listeners;
    const char *key = advertised ? "advertised.listeners" : "listeners";
    if (cairn_parse_listeners(advertised ? cfg->advertised_listeners : cfg->listeners,
                              l->endpoints, CAIRN_LISTENERS_MAX, &l->n_endpoints) != 0) {
        snprintf(err, err_len, "config: bad value for '%s'", key);
        return -1;
    }
    if (cairn_find_listener(l->endpoints, l->n_endpoints, CAIRN_REPLICATION_LISTENER))
        return 0;
    cairn_listener_t bound[CAIRN_LISTENERS_MAX];
    size_t n_bound = 0;
    const cairn_listener_t *repl = NULL;
    if (cairn_parse_listeners(cfg->listeners, bound, CAIRN_LISTENERS_MAX, &n_bound) == 0)
        repl = cairn_find_listener(bound, n_bound, CAIRN_REPLICATION_LISTENER);
    if (!repl || l->n_endpoints == CAIRN_LISTENERS_MAX) {
        snprintf(err, err_len, "config: bad value for 'listeners': a broker needs a "
                 CAIRN_REPLICATION_LISTENER "://host:port listener for its followers");
        return -1;
    }
    l->endpoints[l->n_endpoints++] = *repl;
    return 0;
}

controller_link_t *controller_link_start(struct event_base *base, const cairn_config_t *cfg,
                                         md_image_t *image, char *err, size_t err_len)
{
    cairn_voter_t voters[CAIRN_MAX_VOTERS];
    size_t n_voters = 0;
    if (cairn_parse_voters(cfg->controller_quorum_voters, voters, CAIRN_MAX_VOTERS, &n_voters) != 0) {
        snprintf(err, err_len, "config: bad value for 'controller.quorum.voters'");
        return NULL;
    }
    controller_link_t *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    l->base = base;
    l->cfg = cfg;
    l->image = image;
    if (parse_endpoints(l, err, err_len) != 0 || RAND_bytes(l->incarnation, MD_UUID_LEN) != 1) {
        free(l);
        return NULL;
    }
    /* An attempt must outlast the metadata long poll, or empty polls would
     * time out just as the leader answers. */
    ctrl_client_opts_t opts = { .attempt_timeout_ms = 2000 };
    l->cc = ctrl_client_new(base, voters, n_voters, &opts);
    l->heartbeat_ev = event_new(base, -1, EV_PERSIST, do_heartbeat, l);
    l->register_ev = evtimer_new(base, do_register, l);
    l->fetch_ev = evtimer_new(base, do_fetch, l);
    if (!l->cc || !l->heartbeat_ev || !l->register_ev || !l->fetch_ev) {
        snprintf(err, err_len, "out of memory");
        controller_link_free(l);
        return NULL;
    }
    uint32_t hb_ms = (uint32_t)cfg->broker_heartbeat_interval_ms;
    struct timeval tv = { hb_ms / 1000, (hb_ms % 1000) * 1000 };
    event_add(l->heartbeat_ev, &tv);
    schedule(l->register_ev, 0);
    schedule(l->fetch_ev, 0);
    return l;
}

void controller_link_free(controller_link_t *l)
{
    if (!l)
        return;
    ctrl_client_free(l->cc);
    if (l->heartbeat_ev)
        event_free(l->heartbeat_ev);
    if (l->register_ev)
        event_free(l->register_ev);
    if (l->fetch_ev)
        event_free(l->fetch_ev);
    free(l);
}

uint64_t controller_link_broker_epoch(const controller_link_t *l)
{
    return l->broker_epoch;
}

bool controller_link_fenced(const controller_link_t *l)
{
    return l->fenced;
}

bool controller_link_caught_up(const controller_link_t *l)
{
    return l->caught_up;
}

void controller_link_on_metadata(controller_link_t *l, void (*fn)(void *arg), void *arg)
{
    l->on_metadata = fn;
    l->on_metadata_arg = arg;
}

ctrl_client_t *controller_link_client(controller_link_t *l)
{
    return l->cc;
}

void controller_link_shutdown(controller_link_t *l, void (*done)(void *arg), void *arg)
{
    l->on_shutdown_done = done;
    l->on_shutdown_arg = arg;
    LOG_INFO("link", "controlled shutdown: asking the controller to move leaderships away");
    if (!l->heartbeat_in_flight)
        do_heartbeat(-1, 0, l);
}

const uint8_t *controller_link_incarnation(const controller_link_t *l)
{
    return l->incarnation;
}
