/* Per-request bump allocator: chunks, a byte cap, freed in one call. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct kafka_arena_chunk {
    kafka_arena_chunk_t *next;
    size_t size;                   /* bytes in data[] */
    size_t used;
    _Alignas(KAFKA_ARENA_ALIGN) unsigned char data[];
};

_Static_assert((KAFKA_ARENA_ALIGN & (KAFKA_ARENA_ALIGN - 1)) == 0, "alignment is a power of two");
_Static_assert(KAFKA_ARENA_CHUNK_MIN <= KAFKA_ARENA_CHUNK_MAX, "chunk bounds ordered");

void kafka_arena_init(kafka_arena_t *a, size_t cap_bytes)
{
    a->chunks = NULL;
    a->cap_bytes = cap_bytes ? cap_bytes : SIZE_MAX;
    a->used_bytes = 0;
    a->next_chunk_bytes = KAFKA_ARENA_CHUNK_MIN;
}

static kafka_arena_chunk_t *chunk_new(size_t size)
{
    kafka_arena_chunk_t *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->size = size;
    c->used = 0;
    return c;
}

/* A fresh chunk for an allocation of n bytes that does not fit the current
 * one. Large allocations get a chunk of their own behind the current one,
 * so the space left in the current chunk is not wasted. */
static void *alloc_slow(kafka_arena_t *a, size_t n)
{
    if (n > a->next_chunk_bytes / 4) {
        kafka_arena_chunk_t *c = chunk_new(n);
        if (!c)
            return NULL;
        c->used = n;
        if (a->chunks) {
            c->next = a->chunks->next;
            a->chunks->next = c;
        } else {
            c->next = NULL;
            a->chunks = c;
        }
        return c->data;
    }
    kafka_arena_chunk_t *c = chunk_new(a->next_chunk_bytes);
    if (!c)
        return NULL;
    if (a->next_chunk_bytes < KAFKA_ARENA_CHUNK_MAX)
        a->next_chunk_bytes *= 2;
    c->next = a->chunks;
    a->chunks = c;
    c->used = n;
    return c->data;
}

void *kafka_arena_alloc(kafka_arena_t *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - KAFKA_ARENA_ALIGN)
        return NULL;
    n = (n + KAFKA_ARENA_ALIGN - 1) & ~(size_t)(KAFKA_ARENA_ALIGN - 1);
    if (n > a->cap_bytes - a->used_bytes)
        return NULL;
    kafka_arena_chunk_t *c = a->chunks;
    void *p;
    if (c && c->size - c->used >= n) {
        p = c->data + c->used;
        c->used += n;
    } else {
        p = alloc_slow(a, n);
        if (!p)
            return NULL;
    }
    a->used_bytes += n;
    return p;
}

void *kafka_arena_alloc_array(kafka_arena_t *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return kafka_arena_alloc(a, count * size);
}

char *kafka_arena_strndup(kafka_arena_t *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = kafka_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void kafka_arena_free(kafka_arena_t *a)
{
    kafka_arena_chunk_t *c = a->chunks;
    while (c) {
        kafka_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->used_bytes = 0;
    a->next_chunk_bytes = KAFKA_ARENA_CHUNK_MIN;
}

size_t kafka_arena_used_bytes(const kafka_arena_t *a)
{
    return a->used_bytes;
}
