/* The metadata image's storage: brokers and topics in sorted pointer arrays,
 * object lifetimes and the read-only lookups of image.h. Applying records
 * lives in image_apply.c, snapshots in image_snapshot.c. */
#include "md_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"

void *md_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    CAIRN_ASSERT(p != NULL);
    return p;
}

void *md_xrealloc(void *p, size_t n, size_t size)
{
    CAIRN_ASSERT(size == 0 || n <= SIZE_MAX / size);
    size_t bytes = n * size;
    void *q = realloc(p, bytes > 0 ? bytes : 1);
    CAIRN_ASSERT(q != NULL);
    return q;
}

char *md_xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    CAIRN_ASSERT(d != NULL);
    return d;
}

int32_t *md_xdup_ids(const int32_t *ids, size_t n)
{
    if (n == 0)
        return NULL;
    int32_t *d = md_xcalloc(n, sizeof *d);
    memcpy(d, ids, n * sizeof *d);
    return d;
}

int md_fail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why != NULL && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

bool md_ids_contain(const int32_t *ids, size_t n, int32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == x)
            return true;
    return false;
}

/* ---- object lifetime ---------------------------------------------------- */

void md_broker_free(md_broker_t *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n_endpoints; i++) {
        free(b->endpoints[i].listener);
        free(b->endpoints[i].host);
    }
    free(b->endpoints);
    free(b->rack);
    free(b);
}

void md_partition_clear(md_partition_t *p)
{
    free(p->replicas);
    free(p->isr);
    p->replicas = p->isr = NULL;
    p->n_replicas = p->n_isr = 0;
}

void md_configs_free(md_config_entry_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].name);
        free(c[i].value);
    }
    free(c);
}

void md_topic_obj_free(md_topic_obj_t *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->t.n_partitions; i++)
        md_partition_clear(&o->t.partitions[i]);
    free(o->t.partitions);
    md_configs_free(o->t.configs, o->t.n_configs);
    free(o->t.name);
    free(o);
}

md_broker_t *md_broker_new(uint32_t id, const ProtobufCBinaryData *incarnation,
                           Cairn__Endpoint *const *eps, size_t n_eps,
                           const char *rack, uint64_t epoch)
{
    CAIRN_ASSERT(incarnation->len == MD_UUID_LEN);
    md_broker_t *b = md_xcalloc(1, sizeof *b);
    b->id = id;
    memcpy(b->incarnation, incarnation->data, MD_UUID_LEN);
    b->n_endpoints = n_eps;
    b->endpoints = n_eps ? md_xcalloc(n_eps, sizeof *b->endpoints) : NULL;
    for (size_t i = 0; i < n_eps; i++) {
        b->endpoints[i].listener = md_xstrdup(eps[i]->listener);
        b->endpoints[i].host = md_xstrdup(eps[i]->host);
        b->endpoints[i].port = (uint16_t)eps[i]->port;
    }
    b->rack = md_xstrdup(rack);
    b->epoch = epoch;
    b->fenced = true;
    b->in_controlled_shutdown = false;
    return b;
}

md_topic_obj_t *md_topic_obj_new(const char *name, const uint8_t id[MD_UUID_LEN],
                                 Cairn__ConfigEntry *const *c, size_t n)
{
    md_topic_obj_t *o = md_xcalloc(1, sizeof *o);
    o->t.name = md_xstrdup(name);
    memcpy(o->t.id, id, MD_UUID_LEN);
    o->t.n_configs = n;
    o->t.configs = n ? md_xcalloc(n, sizeof *o->t.configs) : NULL;
    for (size_t i = 0; i < n; i++) {
        o->t.configs[i].name = md_xstrdup(c[i]->name);
        o->t.configs[i].value = md_xstrdup(c[i]->value);
    }
    return o;
}

md_partition_t *md_topic_append_partition(md_topic_obj_t *o, const int32_t *replicas,
                                          size_t n_replicas, const int32_t *isr,
                                          size_t n_isr)
{
    md_topic_t *t = &o->t;
    if (t->n_partitions == o->partitions_cap) {
        size_t cap = o->partitions_cap ? o->partitions_cap * 2 : 4;
        t->partitions = md_xrealloc(t->partitions, cap, sizeof *t->partitions);
        o->partitions_cap = cap;
    }
    md_partition_t *p = &t->partitions[t->n_partitions];
    memset(p, 0, sizeof *p);
    p->partition = (uint32_t)t->n_partitions;
    p->replicas = md_xdup_ids(replicas, n_replicas);
    p->n_replicas = n_replicas;
    p->isr = md_xdup_ids(isr, n_isr);
    p->n_isr = n_isr;
    p->leader = MD_NO_LEADER;
    t->n_partitions++;
    return p;
}

/* ---- sorted arrays ------------------------------------------------------ */

/* Index of the first broker with id >= the given id. */
static size_t broker_lower_bound(const md_state_t *st, uint32_t id)
{
    size_t lo = 0, hi = st->n_brokers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->brokers[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

md_broker_t *md_state_broker(const md_state_t *st, uint32_t id)
{
    size_t i = broker_lower_bound(st, id);
    return i < st->n_brokers && st->brokers[i]->id == id ? st->brokers[i] : NULL;
}

md_broker_t *md_state_broker_put(md_state_t *st, md_broker_t *b)
{
    size_t i = broker_lower_bound(st, b->id);
    if (i < st->n_brokers && st->brokers[i]->id == b->id) {
        md_broker_t *old = st->brokers[i];
        st->brokers[i] = b;
        return old;
    }
    if (st->n_brokers == st->brokers_cap) {
        st->brokers_cap = st->brokers_cap ? st->brokers_cap * 2 : 8;
        st->brokers = md_xrealloc(st->brokers, st->brokers_cap, sizeof *st->brokers);
    }
    memmove(&st->brokers[i + 1], &st->brokers[i],
            (st->n_brokers - i) * sizeof *st->brokers);
    st->brokers[i] = b;
    st->n_brokers++;
    return NULL;
}

md_broker_t *md_state_broker_take(md_state_t *st, uint32_t id)
{
    size_t i = broker_lower_bound(st, id);
    CAIRN_ASSERT(i < st->n_brokers && st->brokers[i]->id == id);
    md_broker_t *b = st->brokers[i];
    memmove(&st->brokers[i], &st->brokers[i + 1],
            (st->n_brokers - i - 1) * sizeof *st->brokers);
    st->n_brokers--;
    return b;
}

static size_t name_lower_bound(const md_state_t *st, const char *name)
{
    size_t lo = 0, hi = st->n_topics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(st->by_name[mid]->t.name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t id_lower_bound(const md_state_t *st, const uint8_t id[MD_UUID_LEN])
{
    size_t lo = 0, hi = st->n_topics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(st->by_id[mid]->t.id, id, MD_UUID_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

md_topic_obj_t *md_state_topic(const md_state_t *st, const char *name)
{
    size_t i = name_lower_bound(st, name);
    return i < st->n_topics && strcmp(st->by_name[i]->t.name, name) == 0
        ? st->by_name[i] : NULL;
}

md_topic_obj_t *md_state_topic_by_id(const md_state_t *st, const uint8_t id[MD_UUID_LEN])
{
    size_t i = id_lower_bound(st, id);
    return i < st->n_topics && memcmp(st->by_id[i]->t.id, id, MD_UUID_LEN) == 0
        ? st->by_id[i] : NULL;
}

static void ptr_insert(md_topic_obj_t **arr, size_t n, size_t at, md_topic_obj_t *o)
{
    memmove(&arr[at + 1], &arr[at], (n - at) * sizeof *arr);
    arr[at] = o;
}

static void ptr_remove(md_topic_obj_t **arr, size_t n, size_t at)
{
    memmove(&arr[at], &arr[at + 1], (n - at - 1) * sizeof *arr);
}

void md_state_topic_insert(md_state_t *st, md_topic_obj_t *o)
{
    CAIRN_ASSERT(md_state_topic(st, o->t.name) == NULL);
    CAIRN_ASSERT(md_state_topic_by_id(st, o->t.id) == NULL);
    if (st->n_topics == st->topics_cap) {
        st->topics_cap = st->topics_cap ? st->topics_cap * 2 : 16;
        st->by_name = md_xrealloc(st->by_name, st->topics_cap, sizeof *st->by_name);
        st->by_id = md_xrealloc(st->by_id, st->topics_cap, sizeof *st->by_id);
    }
    ptr_insert(st->by_name, st->n_topics, name_lower_bound(st, o->t.name), o);
    ptr_insert(st->by_id, st->n_topics, id_lower_bound(st, o->t.id), o);
    st->n_topics++;
    st->n_partitions += o->t.n_partitions;
}

void md_state_topic_remove(md_state_t *st, md_topic_obj_t *o)
{
    size_t i = name_lower_bound(st, o->t.name);
    size_t j = id_lower_bound(st, o->t.id);
    CAIRN_ASSERT(i < st->n_topics && st->by_name[i] == o);
    CAIRN_ASSERT(j < st->n_topics && st->by_id[j] == o);
    ptr_remove(st->by_name, st->n_topics, i);
    ptr_remove(st->by_id, st->n_topics, j);
    st->n_topics--;
    CAIRN_ASSERT(st->n_partitions >= o->t.n_partitions);
    st->n_partitions -= o->t.n_partitions;
}

void md_state_free(md_state_t *st)
{
    for (size_t i = 0; i < st->n_brokers; i++)
        md_broker_free(st->brokers[i]);
    for (size_t i = 0; i < st->n_topics; i++)
        md_topic_obj_free(st->by_name[i]);
    free(st->brokers);
    free(st->by_name);
    free(st->by_id);
    memset(st, 0, sizeof *st);
}

/* ---- public API --------------------------------------------------------- */

md_image_t *md_image_new(void)
{
    return calloc(1, sizeof(md_image_t));
}

void md_image_free(md_image_t *img)
{
    if (img == NULL)
        return;
    md_state_free(&img->st);
    free(img);
}

uint64_t md_image_last_index(const md_image_t *img)
{
    return img->last_index;
}

uint64_t md_image_last_term(const md_image_t *img)
{
    return img->last_term;
}

size_t md_image_broker_count(const md_image_t *img)
{
    return img->st.n_brokers;
}

const md_broker_t *md_image_broker_at(const md_image_t *img, size_t i)
{
    return i < img->st.n_brokers ? img->st.brokers[i] : NULL;
}

const md_broker_t *md_image_broker(const md_image_t *img, uint32_t id)
{
    return md_state_broker(&img->st, id);
}

size_t md_image_partition_total(const md_image_t *img)
{
    return img->st.n_partitions;
}

size_t md_image_topic_count(const md_image_t *img)
{
    return img->st.n_topics;
}

const md_topic_t *md_image_topic_at(const md_image_t *img, size_t i)
{
    return i < img->st.n_topics ? &img->st.by_name[i]->t : NULL;
}

const md_topic_t *md_image_topic(const md_image_t *img, const char *name)
{
    if (name == NULL)
        return NULL;
    md_topic_obj_t *o = md_state_topic(&img->st, name);
    return o ? &o->t : NULL;
}

const md_topic_t *md_image_topic_by_id(const md_image_t *img, const uint8_t id[MD_UUID_LEN])
{
    if (id == NULL)
        return NULL;
    md_topic_obj_t *o = md_state_topic_by_id(&img->st, id);
    return o ? &o->t : NULL;
}

bool md_broker_active(const md_broker_t *b)
{
    return b != NULL && !b->fenced && !b->in_controlled_shutdown;
}

void md_uuid_format(const uint8_t id[MD_UUID_LEN], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < MD_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[id[i] >> 4];
        out[o++] = hex[id[i] & 0xf];
    }
    out[o] = '\0';
}
