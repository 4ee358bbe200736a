/* Storage of a file of fixed-size entries: a segment's .index or .timeindex.
 * A writable index keeps a copy of its entries in memory and appends to the
 * file; a sealed one (segment rolled) maps the file read-only on first use.
 * The file holds exactly count entries (no preallocation). Loop thread only. */
#ifndef CAIRN_INDEX_FILE_H
#define CAIRN_INDEX_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct index_file {
    int fd;                        /* owned */
    uint32_t entry_bytes;
    size_t count;                  /* entries, in memory or mapped */
    size_t written;                /* entries already written to the file */
    bool torn;                     /* the file size was not a multiple of entry_bytes */
    bool sealed;
    uint8_t *mem;                  /* writable: entries [0, count), owned */
    size_t cap;
    const uint8_t *map;            /* sealed: mapping of [0, count), or NULL until used */
} index_file_t;

/* Opens (creating if absent) name in dir_fd, sealed and not yet mapped.
 * A trailing partial entry sets torn and is not counted. */
int index_file_open(index_file_t *f, int dir_fd, const char *name, uint32_t entry_bytes);
void index_file_close(index_file_t *f);

/* Entries [0, count) or NULL when there are none (or mapping failed:
 * logged, the caller falls back to scanning). Valid until the next call
 * that changes the index. */
const uint8_t *index_file_data(index_file_t *f);

/* Writable mode: reads the entries into memory (unmapping). */
int index_file_unseal(index_file_t *f);
/* Sealed mode: frees the memory copy; precondition: everything written. */
void index_file_seal(index_file_t *f);

/* Writable mode: adds one entry in memory (not yet in the file). */
int index_file_push(index_file_t *f, const uint8_t *entry);
/* Writes the entries pushed since the last write. On failure the file is
 * cut back and the unwritten entries are dropped. */
int index_file_write(index_file_t *f);
void index_file_drop_unwritten(index_file_t *f);
/* Keeps the first count entries (memory and file). Writable mode. */
int index_file_truncate(index_file_t *f, size_t count);

#endif
