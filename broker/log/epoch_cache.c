/* The leader-epoch cache (epoch_cache.h): Kafka's LeaderEpochFileCache rules
 * on a sorted array, and the leader-epoch-checkpoint text format. */
#include "epoch_cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"

#define LINE_MAX_CHARS 48                /* "<int32> <int64>\n" */

void epoch_cache_init(epoch_cache_t *c)
{
    c->v = NULL;
    c->n = c->cap = 0;
}

void epoch_cache_free(epoch_cache_t *c)
{
    free(c->v);
    epoch_cache_init(c);
}

void epoch_cache_clear(epoch_cache_t *c)
{
    c->n = 0;
}

int epoch_cache_reserve(epoch_cache_t *c, size_t more)
{
    if (c->cap - c->n >= more)
        return 0;
    size_t cap = c->cap ? c->cap : 8;
    while (cap - c->n < more)
        cap *= 2;
    epoch_entry_t *v = realloc(c->v, cap * sizeof *v);
    if (!v)
        return -1;
    c->v = v;
    c->cap = cap;
    return 0;
}

int32_t epoch_cache_latest(const epoch_cache_t *c)
{
    return c->n ? c->v[c->n - 1].epoch : EPOCH_UNDEFINED;
}

int64_t epoch_cache_start_of(const epoch_cache_t *c, int32_t epoch)
{
    for (size_t i = c->n; i > 0; i--) {
        if (c->v[i - 1].epoch == epoch)
            return c->v[i - 1].start_offset;
        if (c->v[i - 1].epoch < epoch)
            break;
    }
    return -1;
}

int epoch_cache_assign(epoch_cache_t *c, int32_t epoch, int64_t start_offset)
{
    CAIRN_ASSERT(epoch >= 0 && start_offset >= 0);
    if (c->n > 0) {
        epoch_entry_t *last = &c->v[c->n - 1];
        if (last->epoch == epoch)
            return 0;
        CAIRN_ASSERT(epoch > last->epoch);                 /* epochs strictly increase */
        CAIRN_ASSERT(start_offset >= last->start_offset);  /* so do start offsets */
        if (start_offset == last->start_offset) {
            /* Nothing was written in the last epoch (a leader that assigned
             * its epoch at election and lost it before appending): Kafka's
             * assign drops it for the new one. */
            last->epoch = epoch;
            return 1;
        }
    }
    if (epoch_cache_reserve(c, 1) != 0)
        return -1;
    c->v[c->n++] = (epoch_entry_t){epoch, start_offset};
    return 1;
}

bool epoch_cache_truncate_from_end(epoch_cache_t *c, int64_t end_offset)
{
    size_t n = c->n;
    while (c->n > 0 && c->v[c->n - 1].start_offset >= end_offset)
        c->n--;
    return c->n != n;
}

bool epoch_cache_truncate_from_start(epoch_cache_t *c, int64_t start_offset)
{
    size_t k = 0;                        /* entries starting at or before start_offset */
    while (k < c->n && c->v[k].start_offset <= start_offset)
        k++;
    if (k == 0 || (k == 1 && c->v[0].start_offset == start_offset))
        return false;
    /* Kafka's truncateFromStart: the last removed entry's epoch still covers
     * the new log start, so it comes back starting there. */
    c->v[0] = (epoch_entry_t){c->v[k - 1].epoch, start_offset};
    memmove(c->v + 1, c->v + k, (c->n - k) * sizeof *c->v);
    c->n -= k - 1;
    return true;
}

int64_t epoch_cache_end_offset_for(const epoch_cache_t *c, int32_t epoch,
                                   int64_t log_end_offset, int32_t *epoch_out)
{
    *epoch_out = EPOCH_UNDEFINED;
    if (epoch == EPOCH_UNDEFINED)
        return EPOCH_UNDEFINED_OFFSET;
    if (c->n > 0 && c->v[c->n - 1].epoch == epoch) {
        /* The epoch still being written to ends at the log end. */
        *epoch_out = epoch;
        return log_end_offset;
    }
    size_t hi = 0;                       /* first entry with a larger epoch */
    while (hi < c->n && c->v[hi].epoch <= epoch)
        hi++;
    if (hi == c->n)                      /* empty, or above every cached epoch */
        return EPOCH_UNDEFINED_OFFSET;
    /* KIP-279: answer with the largest epoch <= the requested one, ending
     * where the next one starts. Below every cached epoch, Kafka answers
     * with the requested epoch and the first cached start: that history is
     * gone (retention), so the follower replicates from the leader's start. */
    *epoch_out = hi == 0 ? epoch : c->v[hi - 1].epoch;
    return c->v[hi].start_offset;
}

bool epoch_cache_well_formed(const epoch_cache_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].epoch < 0 || c->v[i].start_offset < 0)
            return false;
        if (i > 0 && (c->v[i].epoch <= c->v[i - 1].epoch ||
                      c->v[i].start_offset <= c->v[i - 1].start_offset))
            return false;
    }
    return true;
}

char *epoch_cache_format(const epoch_cache_t *c, size_t *len)
{
    size_t cap = 32 + c->n * LINE_MAX_CHARS;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    size_t n = (size_t)snprintf(text, cap, "0\n%zu\n", c->n);
    for (size_t i = 0; i < c->n; i++)
        n += (size_t)snprintf(text + n, cap - n, "%" PRId32 " %" PRId64 "\n", c->v[i].epoch,
                              c->v[i].start_offset);
    *len = n;
    return text;
}

/* Parses decimal digits at *p (no sign) up to max; advances *p. */
static int parse_num(const char **p, const char *end, int64_t max, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (v > (max - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    if (s == *p)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* Expects the end of a line at *p (optional trailing blanks, then '\n' or
 * the end of the text); advances past it. */
static int end_of_line(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
    if (*p == end)
        return 0;
    if (**p != '\n')
        return -1;
    (*p)++;
    return 0;
}

/* One "<epoch> <start_offset>" line; fields are separated by blanks as
 * Kafka's reader splits them. */
static int parse_entry(const char **p, const char *end, epoch_entry_t *e)
{
    int64_t epoch, start;
    if (parse_num(p, end, INT32_MAX, &epoch) != 0 || *p == end || (**p != ' ' && **p != '\t'))
        return -1;
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
    if (parse_num(p, end, INT64_MAX, &start) != 0 || end_of_line(p, end) != 0)
        return -1;
    *e = (epoch_entry_t){(int32_t)epoch, start};
    return 0;
}

int epoch_cache_parse(epoch_cache_t *c, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    int64_t version, count;
    epoch_cache_clear(c);
    if (parse_num(&p, end, INT32_MAX, &version) != 0 || version != 0 ||
        end_of_line(&p, end) != 0 || parse_num(&p, end, INT32_MAX, &count) != 0 ||
        end_of_line(&p, end) != 0)
        return -1;
    /* Each entry takes at least 4 characters: a bogus count cannot make
     * us allocate more than the text justifies. */
    if ((uint64_t)count > len / 4 || epoch_cache_reserve(c, (size_t)count) != 0)
        return -1;
    for (int64_t i = 0; i < count; i++) {
        if (p == end || parse_entry(&p, end, &c->v[c->n]) != 0) {
            epoch_cache_clear(c);
            return -1;
        }
        c->n++;
    }
    if (p != end || !epoch_cache_well_formed(c)) {
        epoch_cache_clear(c);
        return -1;
    }
    return 0;
}
