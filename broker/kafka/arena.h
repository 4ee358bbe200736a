/* Per-request bump allocator: everything a decoded Kafka request owns
 * (strings, arrays) lives in one arena that is freed in one call when the
 * response has been written. A byte cap bounds what one request can make
 * the broker allocate. Not thread-safe; one arena per request. */
#ifndef CAIRN_KAFKA_ARENA_H
#define CAIRN_KAFKA_ARENA_H

#include <stddef.h>

typedef struct kafka_arena_chunk kafka_arena_chunk_t;

/* Fields are private; the struct is public only so it can live inside a
 * request without another allocation. */
typedef struct kafka_arena {
    kafka_arena_chunk_t *chunks;   /* newest first; owned */
    size_t cap_bytes;              /* most bytes handed out over the arena's life */
    size_t used_bytes;             /* bytes handed out so far (after alignment) */
    size_t next_chunk_bytes;       /* size of the next ordinary chunk */
} kafka_arena_t;

/* Every allocation is aligned to this. */
#define KAFKA_ARENA_ALIGN 16u
/* First chunk size; later chunks double up to KAFKA_ARENA_CHUNK_MAX. */
#define KAFKA_ARENA_CHUNK_MIN 4096u
#define KAFKA_ARENA_CHUNK_MAX (256u * 1024u)

/* An empty arena that will hand out at most cap_bytes (0: no cap). Does
 * not allocate. */
void kafka_arena_init(kafka_arena_t *a, size_t cap_bytes);

/* n bytes, aligned, uninitialised; valid until kafka_arena_free. Returns
 * NULL past the cap or when out of memory (the arena stays usable and
 * keeps what it has). n == 0 returns a valid unique pointer. */
void *kafka_arena_alloc(kafka_arena_t *a, size_t n);

/* count * size bytes, with the multiplication checked for overflow. */
void *kafka_arena_alloc_array(kafka_arena_t *a, size_t count, size_t size);

/* A NUL-terminated copy of n bytes of s. */
char *kafka_arena_strndup(kafka_arena_t *a, const char *s, size_t n);

/* Frees every chunk; a is empty again (same cap) and may be reused. */
void kafka_arena_free(kafka_arena_t *a);

size_t kafka_arena_used_bytes(const kafka_arena_t *a);

#endif
