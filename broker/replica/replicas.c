/* The hosted replicas: a sorted array of (topic, partition) -> replica,
 * synchronised with the metadata image after every change. */
#include "replicas.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "kafka_error.h"
#include "leader.h"
#include "log.h"
#include "store_file.h"
#include "logdir.h"
#include "timeutil.h"

#define LOG_DIRS_MAX 16

struct replicas {
    struct event_base *base;
    const cairn_config_t *cfg;
    log_io_t *io;
    char *dirs[LOG_DIRS_MAX];
    bool dir_clean[LOG_DIRS_MAX];
    size_t n_dirs;
    replica_t **items;                 /* sorted by (topic, partition) */
    size_t n, cap;
    struct event *timer;               /* retention and page-cache flushes */
    int64_t next_retention_ms;
};

/* ---- the sorted array ---------------------------------------------------- */

static int key_cmp(const char *topic, uint32_t partition, const replica_t *r)
{
    int c = strcmp(topic, r->topic);
    if (c != 0)
        return c;
    return partition < r->partition ? -1 : partition > r->partition ? 1 : 0;
}

/* Index of the first item >= key. */
static size_t lower_bound(const replicas_t *rs, const char *topic, uint32_t partition)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(topic, partition, rs->items[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

replica_t *replicas_get(replicas_t *rs, const char *topic, int32_t partition)
{
    if (!topic || partition < 0)
        return NULL;
    size_t i = lower_bound(rs, topic, (uint32_t)partition);
    if (i < rs->n && key_cmp(topic, (uint32_t)partition, rs->items[i]) == 0)
        return rs->items[i];
    return NULL;
}

static int insert(replicas_t *rs, replica_t *r)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        replica_t **items = realloc(rs->items, cap * sizeof *items);
        if (!items)
            return -1;
        rs->items = items;
        rs->cap = cap;
    }
    size_t i = lower_bound(rs, r->topic, r->partition);
    CAIRN_ASSERT(i == rs->n || key_cmp(r->topic, r->partition, rs->items[i]) != 0);
    memmove(&rs->items[i + 1], &rs->items[i], (rs->n - i) * sizeof *rs->items);
    rs->items[i] = r;
    rs->n++;
    return 0;
}

size_t replicas_count(const replicas_t *rs)
{
    return rs->n;
}

replica_t *replicas_at(replicas_t *rs, size_t i)
{
    CAIRN_ASSERT(i < rs->n);
    return rs->items[i];
}

/* ---- watchers ------------------------------------------------------------- */

/* A watch knows its list head, so unwatch needs no other context. */
static void watch_link(replica_t *r, replica_watch_t **head, replica_watch_t *w)
{
    CAIRN_ASSERT(w->owner == NULL);
    w->owner = r;
    w->head = head;
    w->prev = NULL;
    w->next = *head;
    if (*head)
        (*head)->prev = w;
    *head = w;
}

void replica_watch(replica_t *r, replica_watch_t *w)
{
    watch_link(r, &r->watchers, w);
}

void replica_watch_appends(replica_t *r, replica_watch_t *w)
{
    watch_link(r, &r->append_watchers, w);
}

void replica_unwatch(replica_watch_t *w)
{
    if (!w->owner)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        *w->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->owner = NULL;
    w->head = NULL;
}

static void notify_list(replica_watch_t **head)
{
    /* Each callback may unwatch others or re-watch itself: take the list. */
    replica_watch_t *list = *head;
    *head = NULL;
    for (replica_watch_t *w = list; w; w = w->next) {
        w->owner = NULL;
        w->head = NULL;
    }
    while (list) {
        replica_watch_t *w = list;
        list = w->next;
        w->prev = w->next = NULL;
        w->fn(w->arg);
    }
}

void replica_notify(replica_t *r)
{
    notify_list(&r->watchers);
}

void replica_notify_appends(replica_t *r)
{
    notify_list(&r->append_watchers);
}

static void on_readable(void *arg)
{
    replica_t *r = arg;
    /* The leader's own fsync may let the high watermark move; that calls
     * back here once more, with nothing more to move. */
    replica_leader_update_hw(r);
    replica_notify(r);
}

/* ---- configuration ------------------------------------------------------- */

static const char *topic_config(const md_topic_t *t, const char *name)
{
    for (size_t i = 0; t && i < t->n_configs; i++)
        if (strcmp(t->configs[i].name, name) == 0)
            return t->configs[i].value;
    return NULL;
}

static int64_t config_i64(const md_topic_t *t, const char *name, int64_t dflt)
{
    const char *v = topic_config(t, name);
    if (!v)
        return dflt;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    return errno || !end || *end ? dflt : (int64_t)x;   /* validated by the controller */
}

/* Broker defaults overridden by the topic's configs. */
static void log_config_for(const replicas_t *rs, const md_topic_t *t, plog_config_t *c)
{
    const cairn_config_t *cfg = rs->cfg;
    plog_config_defaults(c);
    c->segment_bytes = (uint64_t)config_i64(t, "segment.bytes", cfg->log_segment_bytes);
    c->roll_ms = config_i64(t, "segment.ms", cfg->log_roll_ms);
    c->retention_ms = config_i64(t, "retention.ms", cfg->log_retention_ms);
    c->retention_bytes = config_i64(t, "retention.bytes", cfg->log_retention_bytes);
    c->index_interval_bytes = (uint32_t)cfg->log_index_interval_bytes;
    c->index_max_bytes = (uint32_t)cfg->log_index_size_max_bytes;
    c->flush_interval_messages = cfg->log_flush_interval_messages;
    c->flush_interval_ms = cfg->log_flush_interval_ms;
}

/* ---- opening ---------------------------------------------------------------- */

static void replica_free(replica_t *r)
{
    if (!r)
        return;
    if (r->leader)
        replica_leader_stop(r, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
    replica_notify(r);   /* parked fetches re-check and find it gone */
    replica_notify_appends(r);
    free(r->topic);
    free(r);
}

/* The log dir holding the fewest partitions, for a new one. */
static size_t pick_dir(const replicas_t *rs)
{
    size_t counts[LOG_DIRS_MAX] = { 0 };
    for (size_t i = 0; i < rs->n; i++)
        for (size_t d = 0; d < rs->n_dirs; d++)
            if (strncmp(plog_dir(rs->items[i]->log), rs->dirs[d], strlen(rs->dirs[d])) == 0)
                counts[d]++;
    size_t best = 0;
    for (size_t d = 1; d < rs->n_dirs; d++)
        if (counts[d] < counts[best])
            best = d;
    return best;
}

static replica_t *replica_open(replicas_t *rs, size_t dir, const char *topic,
                               uint32_t partition, const uint8_t id[MD_UUID_LEN],
                               const md_topic_t *t, char *err, size_t err_len)
{
    replica_t *r = calloc(1, sizeof *r);
    char *name = strdup(topic);
    if (!r || !name) {
        free(r);
        free(name);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    plog_config_t lc;
    log_config_for(rs, t, &lc);
    r->log = plog_open(rs->dirs[dir], topic, partition, id, &lc, rs->dir_clean[dir], rs->io,
                       err, err_len);
    if (!r->log) {
        free(name);
        free(r);
        return NULL;
    }
    r->topic = name;
    r->partition = partition;
    memcpy(r->topic_id, id, MD_UUID_LEN);
    r->leader_epoch = -1;
    r->leader_id = -1;
    r->max_message_bytes = config_i64(t, "max.message.bytes", rs->cfg->message_max_bytes);
    plog_set_on_readable(r->log, on_readable, r);
    return r;
}

typedef struct scan_ctx {
    replicas_t *rs;
    size_t dir;
    char *err;
    size_t err_len;
    int failed;
} scan_ctx_t;

static int on_found(void *arg, const logdir_entry_t *e)
{
    scan_ctx_t *sc = arg;
    if (!e->has_topic_id) {
        /* Created but never written (a crash at creation): the image decides
         * later whether this broker hosts it, and plog_open writes it then. */
        LOG_WARN("replicas", "%s has no readable partition.metadata; not opened", e->path);
        return 0;
    }
    if (replicas_get(sc->rs, e->topic, (int32_t)e->partition)) {
        LOG_WARN("replicas", "%s-%u is in two log dirs; keeping the first", e->topic,
                 e->partition);
        return 0;
    }
    replica_t *r = replica_open(sc->rs, sc->dir, e->topic, e->partition, e->topic_id, NULL,
                                sc->err, sc->err_len);
    if (!r || insert(sc->rs, r) != 0) {
        if (r)
            plog_close(r->log);
        replica_free(r);
        sc->failed = 1;
        return -1;
    }
    return 0;
}

static int open_dir(replicas_t *rs, size_t d, char *err, size_t err_len)
{
    if (store_file_mkdirs(rs->dirs[d]) != 0) {
        snprintf(err, err_len, "config: bad value for 'log.dirs': cannot create %s: %s",
                 rs->dirs[d], strerror(errno));
        return -1;
    }
    int clean = logdir_clean_marker_take(rs->dirs[d]);
    if (clean < 0) {
        snprintf(err, err_len, "cannot read the clean-shutdown marker in %s", rs->dirs[d]);
        return -1;
    }
    rs->dir_clean[d] = clean == 1;
    scan_ctx_t sc = { rs, d, err, err_len, 0 };
    uint64_t t0 = cairn_mono_ms();
    if (logdir_scan(rs->dirs[d], on_found, &sc) < 0) {
        snprintf(err, err_len, "cannot read log dir %s: %s", rs->dirs[d], strerror(errno));
        return -1;
    }
    if (sc.failed)
        return -1;
    LOG_INFO("replicas", "opened %zu partition logs in %s (%s shutdown) in %llu ms", rs->n,
             rs->dirs[d], clean ? "clean" : "unclean",
             (unsigned long long)(cairn_mono_ms() - t0));
    /* Logs created from now on are new, not recovered. */
    rs->dir_clean[d] = true;
    return 0;
}

static int parse_dirs(replicas_t *rs, const char *list, char *err, size_t err_len)
{
    char *copy = strdup(list ? list : "");
    char *save = NULL;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok == '\0')
            continue;
        if (rs->n_dirs == LOG_DIRS_MAX) {
            free(copy);
            snprintf(err, err_len, "config: bad value for 'log.dirs': more than %d dirs",
                     LOG_DIRS_MAX);
            return -1;
        }
        rs->dirs[rs->n_dirs++] = strdup(tok);
    }
    free(copy);
    if (rs->n_dirs == 0) {
        snprintf(err, err_len, "config: bad value for 'log.dirs': no directory");
        return -1;
    }
    return 0;
}

/* ---- timers ----------------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    replicas_t *rs = arg;
    int64_t mono = (int64_t)cairn_mono_ms();
    bool retention = mono >= rs->next_retention_ms;
    if (retention)
        rs->next_retention_ms = mono + rs->cfg->log_retention_check_interval_ms;
    int64_t wall = (int64_t)cairn_wall_ms();
    for (size_t i = 0; i < rs->n; i++) {
        replica_t *r = rs->items[i];
        plog_maybe_flush(r->log, mono);
        if (retention) {
            size_t n = plog_apply_retention(r->log, wall);
            if (n)
                LOG_INFO("replicas", "%s-%u: retention deleted %zu segments, log start %lld",
                         r->topic, r->partition, n, (long long)plog_start_offset(r->log));
        }
    }
}

static int start_timer(replicas_t *rs)
{
    rs->timer = event_new(rs->base, -1, EV_PERSIST, on_timer, rs);
    if (!rs->timer)
        return -1;
    int64_t period = rs->cfg->log_retention_check_interval_ms;
    if (rs->cfg->log_flush_interval_ms > 0 && rs->cfg->log_flush_interval_ms < period)
        period = rs->cfg->log_flush_interval_ms;
    if (period > 1000)
        period = 1000;
    struct timeval tv = { (time_t)(period / 1000), (suseconds_t)(period % 1000) * 1000 };
    rs->next_retention_ms = (int64_t)cairn_mono_ms() + rs->cfg->log_retention_check_interval_ms;
    return event_add(rs->timer, &tv);
}

replicas_t *replicas_open(struct event_base *base, const cairn_config_t *cfg, log_io_t *io,
                          char *err, size_t err_len)
{
    replicas_t *rs = calloc(1, sizeof *rs);
    if (!rs) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    rs->base = base;
    rs->cfg = cfg;
    rs->io = io;
    int rc = parse_dirs(rs, cfg->log_dirs, err, err_len);
    for (size_t d = 0; rc == 0 && d < rs->n_dirs; d++)
        rc = open_dir(rs, d, err, err_len);
    if (rc == 0 && start_timer(rs) != 0) {
        snprintf(err, err_len, "out of memory");
        rc = -1;
    }
    if (rc != 0) {
        for (size_t i = 0; i < rs->n; i++) {
            plog_close(rs->items[i]->log);
            replica_free(rs->items[i]);
        }
        rs->n = 0;
        for (size_t d = 0; d < rs->n_dirs; d++)
            free(rs->dirs[d]);
        if (rs->timer)
            event_free(rs->timer);
        free(rs->items);
        free(rs);
        return NULL;
    }
    return rs;
}

void replicas_close(replicas_t *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++) {
        plog_close(rs->items[i]->log);
        replica_free(rs->items[i]);
    }
    for (size_t d = 0; d < rs->n_dirs; d++) {
        if (logdir_clean_marker_write(rs->dirs[d]) != 0)
            LOG_WARN("replicas", "cannot write the clean-shutdown marker in %s", rs->dirs[d]);
        free(rs->dirs[d]);
    }
    if (rs->timer)
        event_free(rs->timer);
    free(rs->items);
    free(rs);
}

/* ---- following the image ---------------------------------------------------- */

static bool hosts(const md_partition_t *p, uint32_t self)
{
    for (size_t i = 0; i < p->n_replicas; i++)
        if (p->replicas[i] == (int32_t)self)
            return true;
    return false;
}

static size_t copy_ids(int32_t *dst, const int32_t *src, size_t n)
{
    n = n < REPLICA_MAX ? n : REPLICA_MAX;
    memcpy(dst, src, n * sizeof *dst);
    return n;
}

/* Role changes come only from the image, with its leader epoch (DESIGN §5):
 * a new leader starts tracking its followers; a deposed one fails its
 * acks=all waiters so no client is told a write it may lose is safe. */
static void change_role(replica_t *r, bool leader, int32_t epoch, int32_t leader_id)
{
    bool was_leader = r->leader;
    if (leader != was_leader || epoch != r->leader_epoch)
        LOG_INFO("replicas", "%s-%u: %s at leader epoch %d (leader %d)", r->topic,
                 r->partition, leader ? "leader" : "follower", epoch, leader_id);
    if (was_leader && (!leader || epoch != r->leader_epoch))
        replica_leader_stop(r, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
    r->leader = leader;
    r->leader_id = leader_id;
    if (leader && (!was_leader || epoch != r->leader_epoch)) {
        r->leader_epoch = epoch;
        replica_leader_start(r, cairn_mono_ms());
    }
    r->leader_epoch = epoch;
}

static void update_role(replica_t *r, const md_topic_t *t, const md_partition_t *p,
                        uint32_t self, bool lead, const replicas_t *rs)
{
    int32_t epoch = (int32_t)p->leader_epoch;
    /* The image only moves forward, so neither does a replica's epoch. */
    CAIRN_ASSERT(epoch >= r->leader_epoch);
    r->n_replicas = copy_ids(r->replicas, p->replicas, p->n_replicas);
    r->isr_size = copy_ids(r->isr, p->isr, p->n_isr);
    r->partition_epoch = p->partition_epoch;
    change_role(r, lead && p->leader == (int32_t)self, epoch, p->leader);
    r->max_message_bytes = config_i64(t, "max.message.bytes", rs->cfg->message_max_bytes);
    r->min_insync_replicas = config_i64(t, "min.insync.replicas", rs->cfg->min_insync_replicas);
    r->durable = rs->cfg->log_flush_interval_messages == 1;
    plog_config_t lc;
    log_config_for(rs, t, &lc);
    plog_set_config(r->log, &lc);
    /* A committed shrink may let the high watermark move. */
    replica_leader_update_hw(r);
}

/* The image's partition for r if it still assigns r (same topic id) to self. */
static const md_partition_t *assignment_of(const md_image_t *img, const replica_t *r,
                                           uint32_t self, const md_topic_t **topic)
{
    const md_topic_t *t = md_image_topic(img, r->topic);
    if (!t || memcmp(t->id, r->topic_id, MD_UUID_LEN) != 0 || r->partition >= t->n_partitions)
        return NULL;
    const md_partition_t *p = &t->partitions[r->partition];
    if (!hosts(p, self))
        return NULL;
    *topic = t;
    return p;
}

static void remove_at(replicas_t *rs, size_t i)
{
    replica_t *r = rs->items[i];
    LOG_INFO("replicas", "%s-%u: no longer hosted here; deleting its log", r->topic,
             r->partition);
    memmove(&rs->items[i], &rs->items[i + 1], (rs->n - i - 1) * sizeof *rs->items);
    rs->n--;
    plog_close_and_delete(r->log);
    replica_free(r);
}

/* Replicas the image no longer assigns here stop leading; once the image
 * is caught up their logs are deleted. */
static void drop_unassigned(replicas_t *rs, const md_image_t *img, uint32_t self,
                            bool caught_up)
{
    for (size_t i = rs->n; i-- > 0;) {
        replica_t *r = rs->items[i];
        const md_topic_t *t = NULL;
        if (assignment_of(img, r, self, &t))
            continue;
        change_role(r, false, r->leader_epoch, -1);
        if (caught_up)
            remove_at(rs, i);
    }
}

static void open_assigned(replicas_t *rs, const md_topic_t *t, uint32_t self, bool lead)
{
    for (size_t p = 0; p < t->n_partitions; p++) {
        const md_partition_t *mp = &t->partitions[p];
        if (!hosts(mp, self))
            continue;
        replica_t *r = replicas_get(rs, t->name, (int32_t)p);
        if (r && memcmp(r->topic_id, t->id, MD_UUID_LEN) != 0)
            continue;            /* an old incarnation of the name, not yet deleted */
        if (!r) {
            char err[256] = "";
            r = replica_open(rs, pick_dir(rs), t->name, (uint32_t)p, t->id, t, err, sizeof err);
            if (!r || insert(rs, r) != 0) {
                LOG_ERROR("replicas", "cannot open %s-%zu: %s", t->name, p,
                          err[0] ? err : "out of memory");
                if (r)
                    plog_close(r->log);
                replica_free(r);
                continue;
            }
            LOG_INFO("replicas", "%s-%zu: hosting a replica in %s", t->name, p,
                     plog_dir(r->log));
        }
        update_role(r, t, mp, self, lead, rs);
    }
}

/* Leadership is this process's only once the image holds its own
 * registration (this incarnation) unfenced: a restarted broker must not act
 * on leaderships the image still gives its previous process. */
static bool may_lead(const md_image_t *img, uint32_t self, const uint8_t *incarnation)
{
    const md_broker_t *b = md_image_broker(img, self);
    return b && !b->fenced && incarnation &&
           memcmp(b->incarnation, incarnation, MD_UUID_LEN) == 0;
}

void replicas_sync(replicas_t *rs, const md_image_t *img, uint32_t self,
                   const uint8_t *incarnation, bool caught_up)
{
    drop_unassigned(rs, img, self, caught_up);
    bool lead = may_lead(img, self, incarnation);
    for (size_t i = 0; i < md_image_topic_count(img); i++)
        open_assigned(rs, md_image_topic_at(img, i), self, lead);
}
